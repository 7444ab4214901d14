/**
 * `selectFrom(t)…`: the select builder. The type is an interface; the code is a private class
 * whose every method returns a new instance (builders are immutable and can be branched).
 */
import { BadRequestError, NotFoundError } from "../errors.js";
import type { Amount, SelectNode } from "./nodes.js";
import { planRead, type Explanation } from "./planner.js";
import type { AmountOperand, ListOperand, WhereOp, WhereValue } from "./query-types.js";
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

/** Options of `stream()`. */
export interface StreamOptions {
  /** Rows fetched per op (one transaction each); default 1,000. */
  readonly pageSize?: number;
}

/**
 * A select over rows of type `R`, returning rows of type `O`.
 *
 * @example
 * ```ts
 * const adults = await db.selectFrom("users").where("age", ">=", 18)
 *   .orderBy("age", "desc").limit(10).select(["id", "name"]).execute(); // { id: number; name: string }[]
 * ```
 */
export interface SelectQueryBuilder<R, O> extends Statement<O[]> {
  /** Adds a predicate (ANDed with the others). */
  // One signature, column names written out (`keyof R & string`, not an alias): a wrong column
  // is reported as not assignable to the union of the valid ones.
  where<C extends keyof R & string, Op extends WhereOp<R[C]>>(column: C, op: Op, ...value: WhereValue<R[C], Op>): SelectQueryBuilder<R, O>;
  /** `where(column, "in", values)`. */
  whereIn<C extends keyof R & string>(column: C, values: ListOperand<R[C]>): SelectQueryBuilder<R, O>;
  /** Orders by one column; an index must serve it (after the equality-filtered columns). */
  orderBy(column: keyof R & string, direction?: "asc" | "desc"): SelectQueryBuilder<R, O>;
  limit(n: AmountOperand): SelectQueryBuilder<R, O>;
  offset(n: AmountOperand): SelectQueryBuilder<R, O>;
  /** Projects columns: the result rows hold exactly these. */
  select<K extends keyof R & string>(columns: readonly K[]): SelectQueryBuilder<R, { [P in K]: R[P] }>;
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
  /** Which index serves which predicate, and what is filtered per row afterwards. */
  explain(): Explanation;
}

/** @internal */
export class SelectQueryBuilderImpl extends StatementBase<unknown> {
  protected override get node(): SelectNode {
    return this[INTERNALS].node as SelectNode;
  }

  constructor(ctx: StatementContext, node: SelectNode) {
    super(ctx, node);
  }

  private with(patch: Partial<SelectNode>): SelectQueryBuilderImpl {
    return new SelectQueryBuilderImpl(this.ctx, { ...this.node, ...patch });
  }

  private label(): string {
    return `${this.node.table.namespace}/${this.node.table.name}`;
  }

  where(column: unknown, op: unknown, value?: unknown): SelectQueryBuilderImpl {
    // eslint-disable-next-line prefer-rest-params
    const p = makePredicate(this.label(), this.node.table.columnsByName, column, op, value, arguments.length);
    return this.with({ where: [...this.node.where, p] });
  }

  whereIn(column: unknown, values: unknown): SelectQueryBuilderImpl {
    return this.where(column, "in", values);
  }

  orderBy(column: unknown, direction: unknown = "asc"): SelectQueryBuilderImpl {
    if (typeof column !== "string" || !this.node.table.columnsByName[column]) {
      throw new BadRequestError(`${this.label()}: unknown column ${JSON.stringify(column)} in orderBy()`);
    }
    if (direction !== "asc" && direction !== "desc") throw new BadRequestError(`${this.label()}: orderBy direction must be "asc" or "desc"`);
    if (this.node.orderBy) throw new BadRequestError(`${this.label()}: orderBy() is already set (one order column per query)`);
    return this.with({ orderBy: { column, direction } });
  }

  limit(n: unknown): SelectQueryBuilderImpl {
    return this.with({ limit: amountOperand(n, `${this.label()}: limit`) });
  }

  offset(n: unknown): SelectQueryBuilderImpl {
    return this.with({ offset: amountOperand(n, `${this.label()}: offset`) });
  }

  select(columns: unknown): SelectQueryBuilderImpl {
    if (!Array.isArray(columns) || columns.length === 0) throw new BadRequestError(`${this.label()}: select() takes a non-empty array of columns`);
    const seen = new Set<string>();
    for (const c of columns) {
      if (typeof c !== "string" || !this.node.table.columnsByName[c]) {
        throw new BadRequestError(`${this.label()}: unknown column ${JSON.stringify(c)} in select()`);
      }
      if (seen.has(c)) throw new BadRequestError(`${this.label()}: column ${c} is selected twice`);
      seen.add(c);
    }
    return this.with({ columns: [...(columns as string[])] });
  }

  count(): SelectQueryBuilderImpl {
    return this.with({ count: true, columns: null });
  }

  explain(): Explanation {
    return explainOf(this);
  }

  async executeTakeFirst(args?: Args): Promise<unknown> {
    // A key lookup returns at most one row already; anything else asks for one row.
    const b = this.node.limit || this.compiled().explain?.access === "key lookup" ? this : this.with({ limit: { kind: "value", value: 1 } });
    const rows = (await b.execute(args)) as unknown[];
    return rows[0];
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
    const pageSize = options.pageSize ?? 1000;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new BadRequestError(`stream(): pageSize must be a positive integer`);
    const resolve = (a: Amount | null): number | null => {
      if (!a) return null;
      const v = a.kind === "param" ? args?.[a.name] : a.value;
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new BadRequestError(`stream(): limit/offset must be non-negative integers`);
      return v;
    };
    let remaining = resolve(this.node.limit);
    let offset = resolve(this.node.offset) ?? 0;
    // Named limit/offset parameters are replaced by their values; keep the others for the pages.
    const pageArgs: Record<string, unknown> = { ...(args ?? {}) };
    for (const a of [this.node.limit, this.node.offset]) if (a?.kind === "param") delete pageArgs[a.name];
    const stillUsed = new Set(this.node.where.flatMap((p) => (p.operand?.kind === "param" ? [p.operand.name] : [])));
    for (const k of Object.keys(pageArgs)) if (!stillUsed.has(k)) delete pageArgs[k];
    const keyset = this.keysetColumn();
    if (keyset !== null && offset === 0) {
      // Key-range pages: each op reads the next `pageSize` rows after the last key seen, so no page
      // re-reads earlier rows (offset pages would).
      let last: unknown = undefined;
      while (remaining === null || remaining > 0) {
        const n = remaining === null ? pageSize : Math.min(pageSize, remaining);
        const after = last === undefined ? [] : [{ column: keyset, op: ">" as const, operand: { kind: "value" as const, value: last } }];
        const page = this.with({ where: [...this.node.where, ...after], limit: { kind: "value", value: n }, offset: null });
        const rows = (await page.execute(pageArgs)) as Record<string, unknown>[];
        for (const row of rows) yield row;
        if (rows.length < n) return;
        last = rows[rows.length - 1]![keyset];
        if (remaining !== null) remaining -= rows.length;
      }
      return;
    }
    while (remaining === null || remaining > 0) {
      const n = remaining === null ? pageSize : Math.min(pageSize, remaining);
      const page = this.with({ limit: { kind: "value", value: n }, offset: { kind: "value", value: offset } });
      const rows = (await page.execute(pageArgs)) as unknown[];
      for (const row of rows) yield row;
      if (rows.length < n) return;
      offset += rows.length;
      if (remaining !== null) remaining -= rows.length;
    }
  }
}

