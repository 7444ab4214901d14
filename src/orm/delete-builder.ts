/**
 * `deleteFrom(t).where(...)`: deletes the selected rows (all rows without a `where`).
 */
import type { DeleteNode } from "./nodes.js";
import type { Explanation } from "./planner.js";
import type { ListOperand, WhereOp, WhereValue } from "./query-types.js";
import { explainOf, INTERNALS, makePredicate, StatementBase, type Statement } from "./statement.js";
import { returningOf, type ReturningStatementImpl } from "./query-builder.js";

/**
 * A delete of rows `R`; `execute()` resolves to the number of rows deleted (SQL's `changes()`).
 *
 * @example
 * ```ts
 * await db.deleteFrom("users").where("city", "=", "paris").execute();
 * ```
 */
export interface DeleteQueryBuilder<R> extends Statement<number> {
  // One signature, column names written out (`keyof R & string`, not an alias): a wrong column
  // is reported as not assignable to the union of the valid ones.
  where<C extends keyof R & string, Op extends WhereOp<R[C]>>(column: C, op: Op, ...value: WhereValue<R[C], Op>): DeleteQueryBuilder<R>;
  whereIn<C extends keyof R & string>(column: C, values: ListOperand<R[C]>): DeleteQueryBuilder<R>;
  explain(): Explanation;
  /** Answers the deleted rows (as they were, in key order) projected on `columns`, instead of a count. */
  returning<K extends keyof R & string>(columns: readonly K[]): Statement<{ [P in K]: R[P] }[]>;
  /** `returning` every column. */
  returningAll(): Statement<R[]>;
}

/** @internal */
export class DeleteQueryBuilderImpl extends StatementBase<number> {
  protected override get node(): DeleteNode {
    return this[INTERNALS].node as DeleteNode;
  }

  where(column: unknown, op: unknown, value?: unknown): DeleteQueryBuilderImpl {
    const label = `${this.node.table.namespace}/${this.node.table.name}`;
    const p = makePredicate(label, this.node.table.columnsByName, column, op, value, arguments.length);
    return new DeleteQueryBuilderImpl(this.ctx, { ...this.node, where: [...this.node.where, p] });
  }

  whereIn(column: unknown, values: unknown): DeleteQueryBuilderImpl {
    return this.where(column, "in", values);
  }

  explain(): Explanation {
    return explainOf(this);
  }

  returning(columns: unknown): ReturningStatementImpl {
    return returningOf(this.ctx, this.node, columns);
  }

  returningAll(): ReturningStatementImpl {
    return returningOf(this.ctx, this.node, null);
  }
}
