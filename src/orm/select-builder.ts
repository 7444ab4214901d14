/**
 * `selectFrom(t)…`: the select builder. The type is an interface; the code is a private class
 * whose every method returns a new instance (builders are immutable and can be branched).
 */
import { BadRequestError, NotFoundError } from "../errors.js";
import type { SelectNode } from "./nodes.js";
import { offsetPages, streamStart } from "./stream-pages.js";
import { planRead, type Explanation } from "./planner.js";
import type { AliasedExpression, Expression } from "./expr.js";
import { QueryBuilderImpl } from "./query-builder.js";
import { fromSelectNode } from "./query-node.js";
import type { AmountOperand, ListOperand } from "./query-types.js";
import type { RelationsOf, RelationTarget } from "./relation-types.js";
import type { AliasOf, ColumnRef, ColumnType, ExprArgs, ExpressionBuilder, ExprOp, Plain, Nullable, Selected, TableOfRef } from "./select-types.js";
import {
  amountOperand,
  INTERNALS,
  explainOf,
  makePredicate,
  StatementBase,
  type Args,
  type Statement,
  type StatementContext,
} from "./statement.js";
import { showValue } from "../ir/show-value.js";

/** Options of `stream()`. */
export interface StreamOptions {
  /** Rows fetched per op (one transaction each); default 1,000. */
  readonly pageSize?: number;
}

/** A schema as the builder's types read it: tables with row types. */
export interface SchemaTypes {
  readonly tables: { readonly [name: string]: { readonly $row: object } };
}

type RowIn<DB extends SchemaTypes, K extends string> = DB["tables"][K & keyof DB["tables"]]["$row"];
// Plain names are checked against the tables; `"table as alias"` by its table part only when used.
type TableRef<DB extends SchemaTypes> = (keyof DB["tables"] & string) | `${string} as ${string}`;
type JoinedScope<DB extends SchemaTypes, Sc, J extends string, Nul extends boolean> = Sc &
  (J extends `${infer N} as ${infer A}`
    ? { [X in A]: Nul extends true ? Nullable<RowIn<DB, N>> : RowIn<DB, N> }
    : { [X in J]: Nul extends true ? Nullable<RowIn<DB, J>> : RowIn<DB, J> });
type Rels<DB extends SchemaTypes, T extends string> = RelationsOf<DB, T>;
type RelName<DB extends SchemaTypes, T extends string> = (keyof Rels<DB, T> & string) | `${keyof Rels<DB, T> & string} as ${string}`;
type RelTarget<DB extends SchemaTypes, T extends string, N extends string> =
  Rels<DB, T>[TableOfRef<N> & keyof Rels<DB, T>] extends RelationTarget<infer X, boolean> ? X : string;
type RelMany<DB extends SchemaTypes, T extends string, N extends string> =
  Rels<DB, T>[TableOfRef<N> & keyof Rels<DB, T>] extends RelationTarget<string, infer M> ? M : boolean;
type Single<DB extends SchemaTypes, K extends string> = { [A in K]: RowIn<DB, K> };

/**
 * A select from table `T` of schema `DB`, with aliases `Sc` in scope (alias → row type), returning
 * rows of type `O`. Single-table statements compile to the table's index routes; joins, `with`,
 * expressions (`eb`), `like`/`between`/`not in`, aggregates, `distinct` and several order keys
 * compile to one plan of the kernel's `query` extension (src/ir/query-plan.ts).
 *
 * @example
 * ```ts
 * const adults = await db.selectFrom("users").where("age", ">=", 18)
 *   .orderBy("age", "desc").limit(10).select(["id", "name"]).execute(); // { id: number; name: string }[]
 * const feed = await db.selectFrom("posts").innerJoin("users", "users.id", "posts.author")
 *   .where("users.city", "=", "paris").orderBy("posts.id", "desc").limit(20)
 *   .select(["posts.id as postId", "users.name"]).execute(); // { postId: number; name: string }[]
 * ```
 */
export interface SelectQueryBuilder<DB extends SchemaTypes, T extends string, Sc, O> extends Statement<O[]> {
  /**
   * Adds a condition (ANDed with the others): `where(col, op, value)` — operators `=`, `!=`,
   * `<>`, `<`, `<=`, `>`, `>=`, `in`, `not in` (a list, a `param()` or a one-column select),
   * `like`, `not like` (`%` any run, `_` one character, `\` escapes them), `isNull`,
   * `isNotNull`, `is`/`is not` null — or `where((eb) => …)` with the expression builder.
   */
  // Column names written out (not an alias): a wrong column is reported with the valid ones.
  where<C extends { [A in keyof Sc & string]: (keyof Sc[A] & string) | `${A}.${keyof Sc[A] & string}` }[keyof Sc & string], Op extends ExprOp<ColumnType<Sc, C>>>(column: C, op: Op, ...value: ExprArgs<ColumnType<Sc, C>, Op>): SelectQueryBuilder<DB, T, Sc, O>;
  where(build: (eb: ExpressionBuilder<Sc>) => Expression<boolean>): SelectQueryBuilder<DB, T, Sc, O>;
  /** `where(column, "in", values)`. */
  whereIn<C extends ColumnRef<Sc>>(column: C, values: ListOperand<ColumnType<Sc, C>>): SelectQueryBuilder<DB, T, Sc, O>;
  /**
   * Joins `table` (or `"table as alias"`) on `left = right`; its columns are named
   * `"alias.column"` (or bare when unambiguous). An index on the joined column makes it an index
   * lookup per row, otherwise a hash join (see `explain()`).
   */
  innerJoin<J extends TableRef<DB>>(table: J, left: ColumnRef<JoinedScope<DB, Sc, J, false>>, right: ColumnRef<JoinedScope<DB, Sc, J, false>>): SelectQueryBuilder<DB, T, JoinedScope<DB, Sc, J, false>, O>;
  /** As `innerJoin`, keeping rows without a partner: the joined columns are then null (and typed nullable). */
  leftJoin<J extends TableRef<DB>>(table: J, left: ColumnRef<JoinedScope<DB, Sc, J, false>>, right: ColumnRef<JoinedScope<DB, Sc, J, false>>): SelectQueryBuilder<DB, T, JoinedScope<DB, Sc, J, true>, O>;
  /**
   * Joins through relation `name` of the `from` table (a foreign key, its inverse, or an edge
   * relation through its edge table), aliased as the relation's name (or `"name as alias"`).
   */
  innerJoinRelation<N extends RelName<DB, T>>(relation: N): SelectQueryBuilder<DB, T, Sc & { [A in AliasOf<N>]: RowIn<DB, RelTarget<DB, T, N>> }, O>;
  leftJoinRelation<N extends RelName<DB, T>>(relation: N): SelectQueryBuilder<DB, T, Sc & { [A in AliasOf<N>]: Nullable<RowIn<DB, RelTarget<DB, T, N>>> }, O>;
  /**
   * Loads the rows related through relation `name` into each result row (one op): an array for
   * a to-many relation, the row or `null` for a to-one; `build` refines the nested select
   * (`where`, `orderBy`, `limit` per parent row, `select`, further `with`).
   */
  with<N extends RelName<DB, T>, Q = RowIn<DB, RelTarget<DB, T, N>>>(
    relation: N,
    build?: (q: SelectQueryBuilder<DB, RelTarget<DB, T, N>, Single<DB, RelTarget<DB, T, N>>, RowIn<DB, RelTarget<DB, T, N>>>) => Statement<Q[]>,
  ): SelectQueryBuilder<DB, T, Sc, Plain<O & { [K in AliasOf<N>]: RelMany<DB, T, N> extends true ? Q[] : Q | null }>>;
  /**
   * Adds an order key (call again for the next key). Ties are always broken by the primary key
   * ascending, whatever the plan or the indexes.
   */
  orderBy(column: { [A in keyof Sc & string]: (keyof Sc[A] & string) | `${A}.${keyof Sc[A] & string}` }[keyof Sc & string] | (keyof O & string) | Expression<unknown>, direction?: "asc" | "desc"): SelectQueryBuilder<DB, T, Sc, O>;
  limit(n: AmountOperand): SelectQueryBuilder<DB, T, Sc, O>;
  offset(n: AmountOperand): SelectQueryBuilder<DB, T, Sc, O>;
  /** The result rows hold exactly these: columns, `"col as name"`, named expressions (`eb.fn.count("id").as("n")`). */
  select<const P extends readonly ({ [A in keyof Sc & string]: (keyof Sc[A] & string) | `${A}.${keyof Sc[A] & string}` }[keyof Sc & string] | `${ColumnRef<Sc>} as ${string}` | AliasedExpression<string, unknown>)[]>(selection: P | ((eb: ExpressionBuilder<Sc>) => P)): SelectQueryBuilder<DB, T, Sc, Plain<Selected<Sc, P[number]>>>;
  /** Every column of `alias` (default: the `from` table). */
  selectAll<A extends keyof Sc & string = T & keyof Sc & string>(alias?: A): SelectQueryBuilder<DB, T, Sc, Plain<Sc[A]>>;
  /** Distinct result rows. */
  distinct(): SelectQueryBuilder<DB, T, Sc, O>;
  /**
   * The first row (in the query's order: order keys, then primary key) of each distinct value of
   * these columns — Postgres's `DISTINCT ON`; applied before `offset`/`limit`.
   */
  distinctOn(columns: ColumnRef<Sc> | readonly ColumnRef<Sc>[]): SelectQueryBuilder<DB, T, Sc, O>;
  /** Groups rows: `select` then holds group columns and aggregates. */
  groupBy(columns: ColumnRef<Sc> | readonly ColumnRef<Sc>[]): SelectQueryBuilder<DB, T, Sc, O>;
  /** A condition on groups (aggregates allowed): `having((eb) => eb(eb.fn.count("id"), ">", 2))`. */
  having<C extends ColumnRef<Sc>, Op extends ExprOp<ColumnType<Sc, C>>>(column: C, op: Op, ...value: ExprArgs<ColumnType<Sc, C>, Op>): SelectQueryBuilder<DB, T, Sc, O>;
  having<V, Op extends ExprOp<V>>(expr: Expression<V>, op: Op, ...value: ExprArgs<V, Op>): SelectQueryBuilder<DB, T, Sc, O>;
  having(build: (eb: ExpressionBuilder<Sc>) => Expression<boolean>): SelectQueryBuilder<DB, T, Sc, O>;
  /**
   * Counts the selected rows instead of returning them: the rows of the page when `offset`/`limit`
   * are set (`SELECT count(*) FROM (… LIMIT n OFFSET m)`), e.g. 5 rows, `offset(4).limit(2)` → 1.
   */
  count(): Statement<number> & { explain(): Explanation };
  /** The first row, or `undefined`. */
  executeTakeFirst(args?: Args): Promise<O | undefined>;
  /** The first row; `NotFoundError` when there is none. */
  executeTakeFirstOrThrow(args?: Args): Promise<O>;
  /** Iterates over the result a page at a time (`pageSize` rows per op) without holding all of it. */
  stream(args?: Args, options?: StreamOptions): AsyncIterableIterator<O>;
  /** Which index serves which predicate, how each join runs, and what is filtered per row. */
  explain(): Explanation;
}

function firstRow(rows: unknown): unknown {
  return (rows as unknown[])[0];
}

/** The operators the single-table path serves; others need the relational plan. */
const LEGACY_OPS: ReadonlySet<string> = new Set(["=", "!=", "<", "<=", ">", ">=", "in", "isNull", "isNotNull"]);

/** @internal */
export class SelectQueryBuilderImpl extends StatementBase<unknown> {
  protected override get node(): SelectNode {
    return this[INTERNALS].node as SelectNode;
  }

  constructor(ctx: StatementContext, node: SelectNode) {
    super(ctx, node);
  }

  private patched(patch: Partial<SelectNode>): SelectQueryBuilderImpl {
    return new SelectQueryBuilderImpl(this.ctx, { ...this.node, ...patch });
  }

  private label(): string {
    return `${this.node.table.namespace}/${this.node.table.name}`;
  }

  /** The same statement as a relational select (for the features only that path has). */
  private relational(): QueryBuilderImpl {
    return new QueryBuilderImpl(this.ctx, fromSelectNode(this.node));
  }

  where(column: unknown, op: unknown, value?: unknown): SelectQueryBuilderImpl | QueryBuilderImpl {
    const subquery = op === "in" && typeof value === "object" && value !== null && !Array.isArray(value) && (value as { kind?: unknown }).kind !== "id";
    if (typeof column !== "string" || column.includes(".") || (typeof op === "string" && !LEGACY_OPS.has(op)) || subquery) {
      // eslint-disable-next-line prefer-rest-params
      return (this.relational().where as (...a: unknown[]) => QueryBuilderImpl)(...arguments);
    }
    // eslint-disable-next-line prefer-rest-params
    const p = makePredicate(this.label(), this.node.table.columnsByName, column, op, value, arguments.length);
    return this.patched({ where: [...this.node.where, p] });
  }

  whereIn(column: unknown, values: unknown): SelectQueryBuilderImpl | QueryBuilderImpl {
    return this.where(column, "in", values);
  }

  innerJoin(table: unknown, l: unknown, r: unknown): QueryBuilderImpl {
    return this.relational().innerJoin(table, l, r);
  }
  leftJoin(table: unknown, l: unknown, r: unknown): QueryBuilderImpl {
    return this.relational().leftJoin(table, l, r);
  }
  innerJoinRelation(relation: unknown): QueryBuilderImpl {
    return this.relational().innerJoinRelation(relation);
  }
  leftJoinRelation(relation: unknown): QueryBuilderImpl {
    return this.relational().leftJoinRelation(relation);
  }
  with(relation: unknown, build?: unknown): QueryBuilderImpl {
    return this.relational().with(relation, build);
  }
  selectAll(alias?: unknown): QueryBuilderImpl {
    return this.relational().selectAll(alias);
  }
  distinct(): QueryBuilderImpl {
    return this.relational().distinct();
  }
  distinctOn(columns: unknown): QueryBuilderImpl {
    return this.relational().distinctOn(columns);
  }
  groupBy(columns: unknown): QueryBuilderImpl {
    return this.relational().groupBy(columns);
  }
  having(...args: unknown[]): QueryBuilderImpl {
    return (this.relational().having as (...x: unknown[]) => QueryBuilderImpl)(...args);
  }

  orderBy(column: unknown, direction: unknown = "asc"): SelectQueryBuilderImpl | QueryBuilderImpl {
    if (this.node.orderBy || typeof column !== "string" || !this.node.table.columnsByName[column]) {
      if (direction !== "asc" && direction !== "desc") throw new BadRequestError(`${this.label()}: orderBy direction must be "asc" or "desc"`);
      if (typeof column === "string" && !column.includes(".") && !this.node.table.columnsByName[column]) {
        throw new BadRequestError(`${this.label()}: unknown column ${showValue(column)} in orderBy()`);
      }
      return this.relational().orderBy(column, direction);
    }
    if (typeof column !== "string" || !this.node.table.columnsByName[column]) {
      throw new BadRequestError(`${this.label()}: unknown column ${showValue(column)} in orderBy()`);
    }
    if (direction !== "asc" && direction !== "desc") throw new BadRequestError(`${this.label()}: orderBy direction must be "asc" or "desc"`);
    if (this.node.orderBy) throw new BadRequestError(`${this.label()}: orderBy() is already set (one order column per query)`);
    return this.patched({ orderBy: { column, direction } });
  }

  limit(n: unknown): SelectQueryBuilderImpl {
    return this.patched({ limit: amountOperand(n, `${this.label()}: limit`) });
  }

  offset(n: unknown): SelectQueryBuilderImpl {
    return this.patched({ offset: amountOperand(n, `${this.label()}: offset`) });
  }

  select(columns: unknown): SelectQueryBuilderImpl | QueryBuilderImpl {
    if (typeof columns === "function" || (Array.isArray(columns) && columns.some((c) => typeof c !== "string" || /[. ]/.test(c)))) {
      return this.relational().select(columns);
    }
    if (!Array.isArray(columns) || columns.length === 0) throw new BadRequestError(`${this.label()}: select() takes a non-empty array of columns`);
    const seen = new Set<string>();
    for (const c of columns) {
      if (typeof c !== "string" || !this.node.table.columnsByName[c]) {
        throw new BadRequestError(`${this.label()}: unknown column ${showValue(c)} in select()`);
      }
      if (seen.has(c)) throw new BadRequestError(`${this.label()}: column ${c} is selected twice`);
      seen.add(c);
    }
    return this.patched({ columns: [...(columns as string[])] });
  }

  count(): SelectQueryBuilderImpl {
    return this.patched({ count: true, columns: null });
  }

  explain(): Explanation {
    return explainOf(this);
  }

  executeTakeFirst(args?: Args): Promise<unknown> {
    try {
      // A key lookup returns at most one row already; anything else asks for one row.
      const b = this.node.limit || this.compiled().explain?.access === "key lookup" ? this : this.patched({ limit: { kind: "value", value: 1 } });
      return b.execute(args).then(firstRow);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async executeTakeFirstOrThrow(args?: Args): Promise<unknown> {
    const row = await this.executeTakeFirst(args);
    if (row === undefined) throw new NotFoundError(`${this.label()}: no row matches the query`);
    return row;
  }

  /**
   * The key column to page by, when key-range pages give the same rows in the same order as the
   * query: one key column, no order other than key order, no predicate on the key (so the added
   * `key > last` is the only range), the rows read from the primary index, the key selected.
   */
  private keysetColumn(): string | null {
    const meta = this.node.table;
    if (meta.keyColumns.length !== 1 || this.node.orderBy) return null;
    const key = meta.keyColumns[0]!;
    if (this.node.where.some((p) => p.column === key)) return null;
    if (this.node.columns && !this.node.columns.includes(key)) return null;
    const plan = planRead(meta, this.node.where, null);
    return plan.index.name === "primary" && plan.selector.length === 0 ? key : null;
  }

  async *stream(args?: Args, options: StreamOptions = {}): AsyncIterableIterator<unknown> {
    if (this.node.count) throw new BadRequestError(`${this.label()}: stream() does not apply to count()`);
    const start = streamStart(this.node.limit, this.node.offset, args, options.pageSize);
    const { pageSize, pageArgs } = start;
    let { remaining } = start;
    // Arguments no predicate uses are left out of the pages.
    const stillUsed = new Set(this.node.where.flatMap((p) => (p.operand?.kind === "param" ? [p.operand.name] : [])));
    for (const k of Object.keys(pageArgs)) if (!stillUsed.has(k)) delete pageArgs[k];
    const keyset = this.keysetColumn();
    if (keyset !== null && start.offset === 0) {
      // Key-range pages: each op reads the next `pageSize` rows after the last key seen, so no page
      // re-reads earlier rows (offset pages would).
      let last: unknown = undefined;
      while (remaining === null || remaining > 0) {
        const n = remaining === null ? pageSize : Math.min(pageSize, remaining);
        const after = last === undefined ? [] : [{ column: keyset, op: ">" as const, operand: { kind: "value" as const, value: last } }];
        const page = this.patched({ where: [...this.node.where, ...after], limit: { kind: "value", value: n }, offset: null });
        const rows = (await page.execute(pageArgs)) as Record<string, unknown>[];
        for (const row of rows) yield row;
        if (rows.length < n) return;
        last = rows[rows.length - 1]![keyset];
        if (remaining !== null) remaining -= rows.length;
      }
      return;
    }
    yield* offsetPages(start, (n, offset) =>
      this.patched({ limit: { kind: "value", value: n }, offset: { kind: "value", value: offset } }).execute(pageArgs) as Promise<unknown[]>,
    );
  }
}

