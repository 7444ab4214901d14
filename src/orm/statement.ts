/**
 * What every builder shares: where it runs (a `Runner`: the executor or a session), its node,
 * a memoized compile, and argument checking at execution.
 */
import { BadRequestError, ConflictError, TcError } from "../errors.js";
import type { Runner } from "../executor.js";
import type { IdRef, Json } from "../ir/types.js";
import type { Compiled, CompiledQuery, ParamUse } from "./compile-types.js";
import { compileNode } from "./compiler.js";
import type { ColumnMeta } from "./meta.js";
import type { Operand, Operator, Predicate } from "./nodes.js";
import type { StatementNode } from "./query-node.js";
import { requireExtensions } from "../executor.js";
import { OPERATORS } from "./nodes.js";
import { toWire } from "./param-binder.js";
import type { Explanation } from "./planner.js";
import type { AnySchema } from "./schema.js";
import { checkValue, checkValues } from "./value-check.js";
import { UNIQUE_MARKER } from "./write-compiler.js";
import { nameOp } from "../ir/op-name.js";
import { describeNode, emit, rowCount, type BoundLog } from "./query-log.js";
import { showValue } from "../ir/show-value.js";

/** Named arguments of an execution: `{ me: 1, city: "paris" }` for `param("me")`, `param("city")`. */
export type Args = Readonly<Record<string, unknown>>;

/** Anything that compiles to one op and maps its result to `T`. */
export interface Statement<T> {
  /** Runs the statement (one op, one transaction) with the named parameters' values. */
  execute(args?: Args): Promise<T>;
  /** The IR of the statement: `{ op, params, bound }`. */
  compile(): CompiledQuery;
}

/** Where builders run, and against which schema. */
export interface StatementContext {
  readonly schema: AnySchema;
  readonly runner: Runner;
  /** `true`: multi-row inserts use the core lowering (`for_each` of `insert`), not `insert_rows`. */
  readonly coreInsert: boolean;
  /** `true`: per-row filters by a core `fold`, not the `filter` route. */
  readonly coreFilter?: boolean;
  /** `true`: unserved orders by a core insertion sort, not the `sort` route. */
  readonly coreSort?: boolean;
  /** Where executed statements are logged (`connect(…, { log })`). */
  readonly log?: BoundLog;
}

/** @internal the hidden side of every statement, used by batches */
export interface StatementInternals {
  readonly node: StatementNode;
  readonly ctx: StatementContext;
}

export const INTERNALS: unique symbol = Symbol("tinychain-orm.statement");

/** True when `x` is a `param("name")` reference. */
function isParamRef(x: unknown): x is IdRef {
  return typeof x === "object" && x !== null && (x as { kind?: unknown }).kind === "id" && typeof (x as { name?: unknown }).name === "string";
}

export function operandOf(x: unknown): Operand {
  return isParamRef(x) ? { kind: "param", name: x.name } : { kind: "value", value: x };
}

function checkAmount(value: unknown, what: string): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new BadRequestError(`${what} must be a non-negative integer, got ${showValue(value)}`);
  }
}

/** Validates a `where` call's arguments (for callers without the type checker) and builds the predicate. */
export function makePredicate(tableLabel: string, columns: Readonly<Record<string, ColumnMeta>>, column: unknown, op: unknown, value: unknown, argc: number): Predicate {
  const c = typeof column === "string" ? columns[column] : undefined;
  if (!c) throw new BadRequestError(`${tableLabel}: unknown column ${showValue(column)} in where()`);
  if (typeof op !== "string" || !OPERATORS.has(op)) {
    throw new BadRequestError(`${tableLabel}: unknown operator ${showValue(op)} (operators: = != < <= > >= in isNull isNotNull)`);
  }
  const operator = op as Operator;
  if (operator === "isNull" || operator === "isNotNull") {
    if (argc > 2 && value !== undefined) throw new BadRequestError(`${tableLabel}: ${operator} takes no value`);
    return { column: c.name, op: operator, operand: null };
  }
  if (argc < 3 || value === undefined) throw new BadRequestError(`${tableLabel}: where(${c.name}, ${operator}) needs a value`);
  if (isParamRef(value)) return { column: c.name, op: operator, operand: { kind: "param", name: value.name } };
  if (operator === "in") {
    if (!Array.isArray(value)) throw new BadRequestError(`${tableLabel}: where(${c.name}, "in", …) takes an array`);
    checkValues(tableLabel, c, value, (i) => `in-list item ${i}`);
    return { column: c.name, op: operator, operand: { kind: "value", value: [...value] } };
  }
  if (value === null) throw new BadRequestError(`${tableLabel}: compare ${c.name} with null using "isNull" / "isNotNull"`);
  if ((c.dtype === "bool") && operator !== "=" && operator !== "!=") {
    throw new BadRequestError(`${tableLabel}: operator ${operator} does not apply to bool column ${c.name}`);
  }
  checkValue(tableLabel, c, value, "where value");
  return { column: c.name, op: operator, operand: { kind: "value", value } };
}

/** Checks a limit/offset given directly. */
export function amountOperand(value: unknown, what: string): Operand {
  if (isParamRef(value)) return { kind: "param", name: value.name };
  checkAmount(value, what);
  return { kind: "value", value };
}

/**
 * Base of the builders' private classes: memoized compile, argument binding, execution.
 */
export abstract class StatementBase<T> implements Statement<T> {
  /** @internal */
  readonly [INTERNALS]: StatementInternals;
  #compiled: Compiled | undefined;

  constructor(ctx: StatementContext, node: StatementNode) {
    this[INTERNALS] = { ctx, node };
  }

  protected get node(): StatementNode {
    return this[INTERNALS].node;
  }
  protected get ctx(): StatementContext {
    return this[INTERNALS].ctx;
  }

  /** @internal */
  compiled(): Compiled {
    if (this.#compiled === undefined) {
      const c = compileNode(this.node, { coreInsert: this.ctx.coreInsert, coreFilter: this.ctx.coreFilter, coreSort: this.ctx.coreSort });
      const node = this.node;
      nameOp(c.op as object, () => describeNode(node, {}, () => undefined).shape);
      this.#compiled = c;
    }
    return this.#compiled;
  }

  compile(): CompiledQuery {
    const c = this.compiled();
    return { op: c.op, params: c.params, bound: c.bound };
  }

  execute(args?: Args): Promise<T> {
    // Without a log, the statement's own promise is returned: no second async frame per call.
    const log = this.ctx.log;
    return log === undefined ? this.run(args) : this.logged(log, args);
  }

  private async logged(log: BoundLog, args: Args | undefined): Promise<T> {
    const t0 = performance.now();
    const done = (rows: number | null, error?: unknown): void => {
      const d = describeNode(this.node, args ?? {}, log.redact);
      const durationMs = performance.now() - t0;
      emit(log, { kind: this.node.kind === "query" ? "select" : this.node.kind === "returning" ? this.node.write.kind : this.node.kind, ...d, durationMs, rows, ...(error !== undefined ? { error: error instanceof Error ? error.message : String(error) } : {}) });
    };
    try {
      const out = await this.run(args);
      done(this.node.kind === "select" || this.node.kind === "query" ? rowCount(out) : typeof out === "number" ? out : rowCount(out));
      return out;
    } catch (e) {
      done(null, e);
      throw e;
    }
  }

  /** The value a unique violation of `column` is about, when the statement names one value. */
  private uniqueKey(column: string): unknown[] | undefined {
    const node = this.node;
    const c = node.table.columnsByName[column];
    if (c === undefined) return undefined;
    if (node.kind === "insert" && node.rows.length === 1) return [node.rows[0]![c.position]];
    if (node.kind === "update") {
      const set = node.set.find(([name]) => name === column);
      if (set !== undefined && set[1].kind === "value") return [set[1].value];
    }
    return undefined;
  }

  // A promise chain, not an async function: one statement is one kernel promise and one `then`.
  private run(args: Args | undefined): Promise<T> {
    let c: Compiled;
    let bound: Record<string, Json>;
    try {
      c = this.compiled();
      bound = bindArgs(c, args, `${this.node.table.namespace}/${this.node.table.name}`);
    } catch (e) {
      return Promise.reject(e);
    }
    if (c.needs) {
      return checkExtensions(this.ctx.runner, c.needs)
        .then(() => this.ctx.runner.execute(c.op, bound))
        .then((result) => c.decode(result) as T, (e) => this.failed(e));
    }
    let pending: Promise<Json>;
    try {
      pending = this.ctx.runner.execute(c.op, bound);
    } catch (e) {
      return Promise.reject(e).catch((x) => this.failed(x));
    }
    return pending.then((result) => c.decode(result) as T, (e) => this.failed(e));
  }

  /** A failure of the statement's op, a unique violation named as such. */
  private failed(e: unknown): never {
    throw uniqueViolation(e, [this.node.table.namespace + "/" + this.node.table.name], this.node.table.path, (column) => this.uniqueKey(column));
  }
}

/** Runners whose host was found to serve the extensions named (checked once per runner and name). */
const SERVED = new WeakMap<Runner, Set<string>>();

/**
 * Refuses, before anything runs, a statement needing extensions the runner's host lacks
 * (`MissingExtensionError`); a successful check is remembered per runner.
 *
 * @example
 * ```ts
 * await checkExtensions(db.runner, ["query"]);
 * ```
 */
export async function checkExtensions(runner: Runner, needs: readonly string[]): Promise<void> {
  const served = SERVED.get(runner);
  if (served && needs.every((n) => served.has(n))) return;
  await requireExtensions(runner, needs);
  const set = served ?? new Set<string>();
  for (const n of needs) set.add(n);
  SERVED.set(runner, set);
}

/** Merges generated bindings with checked named arguments. */
export function bindArgs(c: Pick<Compiled, "bound" | "userParams">, args: Args | undefined, label: string): Record<string, Json> {
  if (c.userParams.size === 0) {
    if (args && Object.keys(args).length > 0) {
      throw new BadRequestError(`${label}: unexpected argument(s) ${Object.keys(args).join(", ")}; the statement has no parameters`);
    }
    return c.bound as Record<string, Json>;
  }
  const out: Record<string, Json> = { ...c.bound };
  const given = args ?? {};
  for (const name of Object.keys(given)) {
    if (!c.userParams.has(name)) {
      throw new BadRequestError(`${label}: unknown argument ${showValue(name)}; parameters: ${[...c.userParams.keys()].join(", ")}`);
    }
  }
  for (const [name, use] of c.userParams) {
    if (!Object.prototype.hasOwnProperty.call(given, name)) throw new BadRequestError(`${label}: missing argument for parameter ${name}`);
    out[name] = checkArg(label, name, use, given[name]);
  }
  return out;
}

function checkArg(label: string, name: string, use: ParamUse, value: unknown): Json {
  if (use.shape === "amount") {
    checkAmount(value, `${label}: parameter ${name}`);
    return value as Json;
  }
  const c = use.column;
  if (use.shape === "list") {
    if (!Array.isArray(value)) throw new BadRequestError(`${label}: parameter ${name} must be an array`);
    if (c) checkValues(label, c, value, (i) => `parameter ${name}[${i}]`);
    return [...new Set(value)].map((v) => toWire(c, v)) as Json;
  }
  if (c) checkValue(label, c, value, `parameter ${name}`);
  return toWire(c, value);
}

/** The explanation of a read or write plan. */
export function explainOf(s: StatementBase<unknown>): Explanation {
  const e = s.compiled().explain;
  if (!e) throw new BadRequestError("explain(): an insert has no read plan");
  return e;
}

/**
 * Turns the failure of a uniqueness check (a `bad_request` whose message carries the marker) into
 * a `ConflictError` naming the column; any other error is returned as it is.
 */
export function uniqueViolation(e: unknown, tables: readonly string[], table?: string, keyOf?: (column: string) => unknown[] | undefined): unknown {
  if (e instanceof TcError && e.kind === "bad_request") {
    const at = e.message.indexOf(UNIQUE_MARKER);
    if (at >= 0) {
      const column = /^[^"\s]*/.exec(e.message.slice(at + UNIQUE_MARKER.length))?.[0] ?? "?";
      const key = keyOf?.(column);
      const shown = key === undefined ? "the value" : `the value ${JSON.stringify(key[0], (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`;
      return new ConflictError(`${tables.join(", ")}: column ${column} is unique and ${shown} already exists; nothing was written`, {
        cause: e,
        table,
        columns: [column],
        key,
      });
    }
  }
  return e;
}
