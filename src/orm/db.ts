/**
 * `connect(schema, executor)` → an `OrmDb`: the entry point of the builders, `sync()`, batches
 * and sessions. The db never sees a transaction id: a batch is one op (one transaction), a session
 * is an object whose lifetime is a callback.
 */
import { remember } from "../ir/bounded-cache.js";
import { BadRequestError } from "../errors.js";
import type { Executor, Runner } from "../executor.js";
import { after, cond, opdef, ref, type JsonSteps } from "../ir/json.js";
import type { Json } from "../ir/types.js";
import { compileNode } from "./compiler.js";
import { FN } from "./expr.js";
import type { AggregateFunctions } from "./select-types.js";
import { nameOp } from "../ir/op-name.js";
import { DeleteQueryBuilderImpl, type DeleteQueryBuilder } from "./delete-builder.js";
import { InsertIntoImpl, type InsertInto } from "./insert-builder.js";
import type { TableMeta } from "./meta.js";
import type { AnySchema } from "./schema.js";
import { SelectQueryBuilderImpl, type SelectQueryBuilder } from "./select-builder.js";
import { bindArgs, checkExtensions, INTERNALS, uniqueViolation, type Args, type Statement, type StatementContext, type StatementInternals } from "./statement.js";
import { syncSchema, type SyncReport } from "./sync.js";
import { migrateSchema, type MigrationResult } from "./migrate.js";
import { planMigration, type MigrationPlan } from "./migration-plan.js";
import type { AnyTable } from "./table.js";
import { UpdateQueryBuilderImpl, type UpdateQueryBuilder } from "./update-builder.js";
import { boundLog, describeNode, emit, type BoundLog, type LogOptions } from "./query-log.js";
import { showValue } from "../ir/show-value.js";

/** Table names of schema `S`. */
export type TableName<S extends AnySchema> = keyof S["tables"] & string;
/** The declaration of table `K` of schema `S`. */
export type TableOf<S extends AnySchema, K extends TableName<S>> = S["tables"][K];
/** Any table declaration of schema `S`. */
export type AnyTableOf<S extends AnySchema> = S["tables"][TableName<S>];
type RowFor<S extends AnySchema, K extends TableName<S>> = S["tables"][K]["$row"];

/** Options of a db (see `connect` and `withOptions`). */
export interface OrmOptions extends LogOptions {
  /**
   * How multi-row inserts are sent: `"extension"` (default) uses the `insert_rows` bulk route;
   * `"core"` lowers them to core IR (a `for_each` of `insert` requests) for hosts without the
   * extension. Both insert all rows or none.
   */
  readonly bulkInsert?: "extension" | "core";
  /**
   * How predicates no index serves are evaluated per row: `"extension"` (default) uses the
   * `filter` view route; `"core"` a `fold` in core IR (same results, ~7× slower per row).
   */
  readonly filter?: "extension" | "core";
  /**
   * How an `orderBy` no index serves is done: `"extension"` (default) uses the `sort` view route;
   * `"core"` an insertion sort in core IR (O(n²), numeric columns only; same results).
   */
  readonly sort?: "extension" | "core";
}

/** The results of a batch, in order. */
export type BatchResults<B extends readonly Statement<unknown>[]> = { -readonly [I in keyof B]: B[I] extends Statement<infer T> ? T : never };

/**
 * A connected database: builders for the tables of schema `S`, run on an executor (or, inside
 * `session()`, on a session).
 *
 * @example
 * ```ts
 * const db = await connect(social, embedded());
 * await db.sync();
 * const ada = await db.selectFrom("users").where("id", "=", 1).executeTakeFirst();
 * ```
 */
export class OrmDb<S extends AnySchema> {
  readonly schema: S;
  readonly executor: Executor;
  /** Where statements run: the executor, or the session of `session()`. */
  readonly runner: Runner;
  readonly options: OrmOptions;
  readonly #ctx: StatementContext;
  readonly #inSession: boolean;
  readonly #log: BoundLog | undefined;

  constructor(schema: S, executor: Executor, runner?: Runner, options: OrmOptions = {}) {
    this.schema = schema;
    this.executor = executor;
    this.runner = runner ?? executor;
    this.options = Object.freeze({ ...options });
    for (const name of ["bulkInsert", "filter", "sort"] as const) {
      const v = options[name];
      if (v !== undefined && v !== "extension" && v !== "core") {
        throw new BadRequestError(`${name} must be "extension" or "core", got ${showValue(v)}`);
      }
    }
    this.#inSession = runner !== undefined && runner !== executor;
    const log = boundLog(options);
    this.#log = log;
    this.#ctx = { schema, runner: this.runner, coreInsert: options.bulkInsert === "core", coreFilter: options.filter === "core", coreSort: options.sort === "core", ...(log ? { log } : {}) };
  }

  /**
   * The same db with other options (same executor, schema and session).
   *
   * @example
   * ```ts
   * const portable = db.withOptions({ bulkInsert: "core" }); // for hosts without insert_rows
   * ```
   */
  withOptions(options: OrmOptions): OrmDb<S> {
    return new OrmDb(this.schema, this.executor, this.runner === this.executor ? undefined : this.runner, { ...this.options, ...options });
  }

  #meta(table: unknown): TableMeta {
    if (typeof table === "string") return this.schema.meta(table);
    if (table && typeof table === "object" && typeof (table as AnyTable).name === "string") {
      const name = (table as AnyTable).name;
      const meta = this.schema.meta(name);
      if (this.schema.tables[name] !== table) {
        throw new BadRequestError(`table object ${name} is not the one declared in schema ${this.schema.namespace}`);
      }
      return meta;
    }
    throw new BadRequestError(`expected a table name or a table declaration, got ${showValue(table)}`);
  }

  /** A select over a table (by name or declaration). */
  selectFrom<K extends TableName<S>>(table: K): SelectQueryBuilder<S, K, { [A in K]: RowFor<S, K> }, RowFor<S, K>>;
  selectFrom<T extends AnyTableOf<S>>(table: T): SelectQueryBuilder<S, T["name"], { [A in T["name"]]: T["$row"] }, T["$row"]>;
  selectFrom(table: unknown): unknown {
    const node = { kind: "select", table: this.#meta(table), where: [], orderBy: null, limit: null, offset: null, columns: null, count: false } as const;
    return new SelectQueryBuilderImpl(this.#ctx, node);
  }

  /**
   * Aggregate functions for `select()` / `having()` (as `eb.fn`): `db.fn.count("id").as("n")`.
   * Column names are checked when a builder takes the expression.
   */
  get fn(): AggregateFunctions<Record<string, Record<string, unknown>>> {
    return FN as unknown as AggregateFunctions<Record<string, Record<string, unknown>>>;
  }

  /** An insert into a table. */
  insertInto<K extends TableName<S>>(table: K): InsertInto<S["tables"][K]["$insert"], RowFor<S, K>>;
  insertInto<T extends AnyTableOf<S>>(table: T): InsertInto<T["$insert"], T["$row"]>;
  insertInto(table: unknown): unknown {
    return new InsertIntoImpl(this.#ctx, this.#meta(table));
  }

  /** An update of a table's rows. */
  updateTable<K extends TableName<S>>(table: K): UpdateQueryBuilder<RowFor<S, K>, S["tables"][K]["$update"]>;
  updateTable<T extends AnyTableOf<S>>(table: T): UpdateQueryBuilder<T["$row"], T["$update"]>;
  updateTable(table: unknown): unknown {
    const node = { kind: "update", table: this.#meta(table), set: [], where: [] } as const;
    return new UpdateQueryBuilderImpl(this.#ctx, node);
  }

  /** A delete of a table's rows. */
  deleteFrom<K extends TableName<S>>(table: K): DeleteQueryBuilder<RowFor<S, K>>;
  deleteFrom<T extends AnyTableOf<S>>(table: T): DeleteQueryBuilder<T["$row"]>;
  deleteFrom(table: unknown): unknown {
    const node = { kind: "delete", table: this.#meta(table), where: [] } as const;
    return new DeleteQueryBuilderImpl(this.#ctx, node);
  }

  /**
   * Creates the declared tables that are missing; accepts identical existing ones; refuses (with a
   * column-by-column `ConflictError`, changing nothing) when an existing table differs.
   */
  async sync(): Promise<SyncReport> {
    return syncSchema(this.schema, this.runner);
  }

  /**
   * The migration plan from the tables the host stores under this schema's namespace to the
   * declared ones: readable steps (`plan.steps`, `String(plan)`). Throws `ConflictError` listing
   * every change that cannot be migrated (and what to declare instead), or when this declaration
   * is older than the database's last migration.
   *
   * @example
   * ```ts
   * console.log(String(await db.planMigration()));
   * ```
   */
  async planMigration(): Promise<MigrationPlan> {
    return planMigration(this.schema, this.runner);
  }

  /**
   * Applies the migration plan in ONE transaction (all of it or nothing, also on a durable
   * store) and records it in `/state/<namespace>/_migrations`; a no-op (`applied: false`) when
   * the stored schema already is the declared one.
   *
   * @example
   * ```ts
   * const { applied, steps } = await db.migrate();
   * ```
   */
  async migrate(): Promise<MigrationResult> {
    return migrateSchema(this.schema, this.executor, this.runner);
  }

  /**
   * Runs statements as ONE op (one transaction, one round trip), in order, and returns their
   * results in order. If one fails, none of their writes happen.
   *
   * @example
   * ```ts
   * const [n, rows] = await db.batch([db.insertInto("users").values(row), db.selectFrom("users")]);
   * ```
   */
  async batch<const B extends readonly Statement<unknown>[]>(statements: B, args?: Args): Promise<BatchResults<B>> {
    if (!Array.isArray(statements) || statements.length === 0) throw new BadRequestError("batch() takes a non-empty array of statements");
    const ops: Json[] = [];
    const decoders: ((r: Json) => unknown)[] = [];
    const bound: Record<string, Json> = {};
    const userParams = new Map();
    const needs = new Set<string>();
    statements.forEach((s, i) => {
      const internals = (s as unknown as { [INTERNALS]?: StatementInternals })[INTERNALS];
      if (!internals) throw new BadRequestError(`batch(): item ${i} is not a statement built by this library`);
      if (internals.ctx.schema !== this.schema) throw new BadRequestError(`batch(): item ${i} belongs to another schema`);
      const c = compileNode(internals.node, { prefix: `_b${i}_`, coreInsert: internals.ctx.coreInsert, coreFilter: internals.ctx.coreFilter, coreSort: internals.ctx.coreSort });
      Object.assign(bound, c.bound);
      for (const n of c.needs ?? []) needs.add(n);
      for (const [k, v] of c.userParams) if (!userParams.has(k)) userParams.set(k, v);
      decoders.push(c.decode);
      ops.push(c.op);
    });
    const all = bindArgs({ bound, userParams }, args, `batch`);
    if (needs.size > 0) await checkExtensions(this.runner, [...needs]);
    const t0 = this.#log ? performance.now() : 0;
    let result: Json[];
    try {
      const op = batchOp(ops);
      nameOp(op as object, () => `batch [${statements.map((s) => describeNode((s as unknown as { [INTERNALS]: StatementInternals })[INTERNALS].node, {}, () => undefined).shape).join("; ")}]`);
      result = (await this.runner.execute(op, all)) as Json[];
    } catch (e) {
      this.#logBatch(statements, args, t0, e);
      throw uniqueViolation(e, ["batch"]);
    }
    this.#logBatch(statements, args, t0);
    return decoders.map((d, i) => d(result[i] ?? null)) as BatchResults<B>;
  }

  #logBatch(statements: readonly Statement<unknown>[], args: Args | undefined, t0: number, error?: unknown): void {
    const log = this.#log;
    if (!log) return;
    const params: Record<string, unknown> = {};
    const shapes = statements.map((s, i) => {
      const d = describeNode((s as unknown as { [INTERNALS]: StatementInternals })[INTERNALS].node, args ?? {}, log.redact);
      for (const [k, v] of Object.entries(d.params)) params[`${i}.${k}`] = v;
      return d.shape;
    });
    emit(log, {
      kind: "batch",
      table: null,
      shape: `batch [${shapes.join("; ")}]`,
      params,
      durationMs: performance.now() - t0,
      rows: error === undefined ? statements.length : null,
      ...(error !== undefined ? { error: error instanceof Error ? error.message : String(error) } : {}),
    });
  }

  /**
   * Runs `fn` with a db whose statements all run in one transaction: committed when `fn`
   * returns, rolled back when it throws (the error is rethrown).
   *
   * @example
   * ```ts
   * await db.session(async (s) => {
   *   const n = await s.selectFrom("users").count().execute();
   *   await s.insertInto("users").values({ id: n + 1, name: "bob", city: "rome" }).execute();
   * });
   * ```
   */
  async session<T>(fn: (s: OrmDb<S>) => Promise<T>): Promise<T> {
    if (this.#inSession) throw new BadRequestError("session(): sessions do not nest; use the session's db directly");
    const outer = this.#log;
    const t0 = outer ? performance.now() : 0;
    let statements = 0;
    const ended = (how: string, error?: unknown): void => {
      if (!outer) return;
      emit(outer, {
        kind: "session",
        table: null,
        shape: `session ${how} (${statements} statement${statements === 1 ? "" : "s"})`,
        params: {},
        durationMs: performance.now() - t0,
        rows: statements,
        ...(error !== undefined ? { error: error instanceof Error ? error.message : String(error) } : {}),
      });
    };
    const session = await this.executor.session();
    // Statements inside are logged as they run, and counted for the session's own entry.
    const options = outer ? { ...this.options, log: (e: Parameters<BoundLog["log"]>[0]) => (statements++, outer.log(e)) } : this.options;
    const db = new OrmDb(this.schema, this.executor, session, options);
    let result: T;
    try {
      result = await fn(db);
    } catch (e) {
      try {
        await session.rollback();
      } catch {
        // The original error matters more than a failed rollback (the host rolls back on timeout).
      }
      ended("rolled back", e);
      throw e;
    }
    try {
      await session.commit();
    } catch (e) {
      ended("failed to commit", e);
      throw e;
    }
    ended("committed");
    return result;
  }

  /** Closes the executor. */
  async close(): Promise<void> {
    await this.executor.close();
  }
}

/**
 * Connects a schema to an executor. Call `db.sync()` to create the tables.
 *
 * @example
 * ```ts
 * const db = await connect(social, embedded());
 * ```
 */
export async function connect<S extends AnySchema>(schema: S, executor: Executor, options: OrmOptions = {}): Promise<OrmDb<S>> {
  if (!schema || typeof schema.meta !== "function") throw new BadRequestError("connect() takes a schema() as its first argument");
  if (!executor || typeof executor.execute !== "function") throw new BadRequestError("connect() takes an Executor as its second argument");
  return new OrmDb(schema, executor, undefined, options);
}

/** An id per statement op object (statements of one shape share their op object). */
const OP_IDS = new WeakMap<object, number>();
let nextOpId = 0;
/** Batch ops by the ids of their statements' ops, in order (the latest 512). */
const BATCH_OPS = new Map<string, Json>();

/**
 * The op of a batch of statement ops: each runs as a closure with its own step names, `after`
 * keeps them in order. A batch of the statements of one shape gets the same op object each time
 * (the executor's op cache then hits by identity: it hashed and decoded a new op per call).
 */
function batchOp(ops: readonly Json[]): Json {
  let key = "";
  for (const op of ops) {
    let id = OP_IDS.get(op as object);
    if (id === undefined) OP_IDS.set(op as object, (id = nextOpId++));
    key += `${id},`;
  }
  let op = BATCH_OPS.get(key);
  if (op === undefined) {
    const steps: JsonSteps = [["_true", true]];
    ops.forEach((inner, i) => {
      const run = cond(ref("_true"), inner, null);
      steps.push([`_q${i}`, i === 0 ? run : after(ref(`_q${i - 1}`), run)]);
    });
    steps.push(["_r", ops.map((_, i) => ref(`_q${i}`))]);
    op = remember(BATCH_OPS, key, opdef(steps), 512);
  }
  return op;
}
