/**
 * `insertInto(t).values(row | rows)`: rows are validated (zod) and defaults applied before any IR
 * is built. One row is an `insert` (or upsert) request; several rows use the `insert_rows` bulk
 * extension (`onConflict("error")`) or a `for_each` over the rows (`"ignore"`, `"update"`).
 */
import { BadRequestError } from "../errors.js";
import type { ConflictAction, InsertNode } from "./nodes.js";
import { INTERNALS, StatementBase, type Statement, type StatementContext } from "./statement.js";
import type { TableMeta } from "./meta.js";
import { insertTuple } from "./validate.js";
import { returningOf, type ReturningStatementImpl } from "./query-builder.js";
import { showValue } from "../ir/show-value.js";

/**
 * An insert; `execute()` resolves to the number of rows written, as SQL's `changes()` counts
 * them: `"error"` — every row; `"ignore"` — the rows inserted (a row whose key exists, also from
 * an earlier row of the same call, counts 0); `"update"` — the rows inserted plus the existing rows
 * updated, each counting 1 even when its new values equal the stored ones (as SQLite and
 * PostgreSQL report `INSERT … ON CONFLICT DO UPDATE`), so always the number of rows given.
 *
 * @example
 * ```ts
 * await db.insertInto("users").values([{ id: 1, name: "ada", city: "paris" }]).onConflict("ignore").execute();
 * ```
 */
export interface InsertQueryBuilder<R = Record<string, unknown>> extends Statement<number> {
  /**
   * What to do when a row's key already exists: `"error"` (default: `ConflictError`, nothing
   * written), `"ignore"` (skip that row), `"update"` (set the value columns this row gives; the others keep
   * their stored values — like `ON CONFLICT DO UPDATE SET col = excluded.col` for the given
   * columns; a new key is inserted with defaults).
   */
  onConflict(action: ConflictAction): InsertQueryBuilder<R>;
  /**
   * Answers the rows as written (generated values included) instead of a count, projected on
   * `columns`, in the order given; rows skipped by `onConflict("ignore")` are left out. One op
   * (the host's `returning` extension).
   */
  returning<K extends keyof R & string>(columns: readonly K[]): Statement<{ [P in K]: R[P] }[]>;
  /** `returning` every column. */
  returningAll(): Statement<R[]>;
}

/** `insertInto(t)`, before `values()`. */
export interface InsertInto<I, R = Record<string, unknown>> {
  /** The row(s) to insert. */
  values(rows: I | readonly I[]): InsertQueryBuilder<R>;
}

/** @internal */
class InsertQueryBuilderImpl extends StatementBase<number> {
  protected override get node(): InsertNode {
    return this[INTERNALS].node as InsertNode;
  }

  onConflict(action: unknown): InsertQueryBuilderImpl {
    if (action !== "error" && action !== "ignore" && action !== "update") {
      throw new BadRequestError(`onConflict() takes "error", "ignore" or "update", got ${showValue(action)}`);
    }
    return new InsertQueryBuilderImpl(this.ctx, { ...this.node, onConflict: action });
  }

  returning(columns: unknown): ReturningStatementImpl {
    return returningOf(this.ctx, this.node, columns);
  }

  returningAll(): ReturningStatementImpl {
    return returningOf(this.ctx, this.node, null);
  }
}

/** @internal */
export class InsertIntoImpl {
  constructor(
    private readonly ctx: StatementContext,
    private readonly meta: TableMeta,
  ) {}

  values(rows: unknown): InsertQueryBuilderImpl {
    const list = Array.isArray(rows) ? rows : [rows];
    if (list.length === 0) throw new BadRequestError(`insert into ${this.meta.namespace}/${this.meta.name}: values() needs at least one row`);
    const v = this.ctx.schema.validators(this.meta.name);
    const tuples = list.map((row, i) => insertTuple(this.meta, v, row, list.length > 1 ? i : undefined));
    const provided = list.map((row) => this.meta.valueColumns.filter((c) => (row as Record<string, unknown>)[c] !== undefined));
    return new InsertQueryBuilderImpl(this.ctx, { kind: "insert", table: this.meta, rows: tuples, provided, onConflict: "error" });
  }
}
