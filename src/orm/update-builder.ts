/**
 * `updateTable(t).set({...}).where(...)`: sets value columns of the selected rows. The set values
 * are validated (zod) when `set()` is called and bound as parameters.
 */
import { BadRequestError } from "../errors.js";
import type { UpdateNode } from "./nodes.js";
import type { Explanation } from "./planner.js";
import type { ListOperand, WhereOp, WhereValue } from "./query-types.js";
import { explainOf, INTERNALS, makePredicate, operandOf, StatementBase, type Statement } from "./statement.js";
import { updateEntries } from "./validate.js";
import { returningOf, type ReturningStatementImpl } from "./query-builder.js";

/**
 * An update of rows `R` with value columns `U`; `execute()` resolves to the number of rows updated:
 * every row the `where` matches, also one whose new values equal its stored ones (SQL's
 * `changes()`).
 *
 * @example
 * ```ts
 * await db.updateTable("users").set({ city: "rome" }).where("id", "=", 1).execute(); // 1
 * ```
 */
export interface UpdateQueryBuilder<R, U> extends Statement<number> {
  /** The new values (value columns only; merged with earlier `set()` calls). */
  set(values: U): UpdateQueryBuilder<R, U>;
  // One signature, column names written out (`keyof R & string`, not an alias): a wrong column
  // is reported as not assignable to the union of the valid ones.
  where<C extends keyof R & string, Op extends WhereOp<R[C]>>(column: C, op: Op, ...value: WhereValue<R[C], Op>): UpdateQueryBuilder<R, U>;
  whereIn<C extends keyof R & string>(column: C, values: ListOperand<R[C]>): UpdateQueryBuilder<R, U>;
  explain(): Explanation;
  /** Answers the updated rows (after the update, in key order) projected on `columns`, instead of a count. */
  returning<K extends keyof R & string>(columns: readonly K[]): Statement<{ [P in K]: R[P] }[]>;
  /** `returning` every column. */
  returningAll(): Statement<R[]>;
}

/** @internal */
export class UpdateQueryBuilderImpl extends StatementBase<number> {
  protected override get node(): UpdateNode {
    return this[INTERNALS].node as UpdateNode;
  }
  private label(): string {
    return `${this.node.table.namespace}/${this.node.table.name}`;
  }

  set(values: unknown): UpdateQueryBuilderImpl {
    const entries = updateEntries(this.node.table, this.ctx.schema.validators(this.node.table.name), values);
    const merged = new Map(this.node.set.map(([c, o]) => [c, o] as const));
    for (const [c, v] of entries) merged.set(c, operandOf(v));
    const set = this.node.table.columns.filter((c) => merged.has(c.name)).map((c) => [c.name, merged.get(c.name)!] as const);
    return new UpdateQueryBuilderImpl(this.ctx, { ...this.node, set });
  }

  where(column: unknown, op: unknown, value?: unknown): UpdateQueryBuilderImpl {
    const p = makePredicate(this.label(), this.node.table.columnsByName, column, op, value, arguments.length);
    return new UpdateQueryBuilderImpl(this.ctx, { ...this.node, where: [...this.node.where, p] });
  }

  whereIn(column: unknown, values: unknown): UpdateQueryBuilderImpl {
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

  override compiled(): ReturnType<StatementBase<number>["compiled"]> {
    if (this.node.set.length === 0) throw new BadRequestError(`update ${this.label()}: call set({...}) before executing`);
    return super.compiled();
  }
}
