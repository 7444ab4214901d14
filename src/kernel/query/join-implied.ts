/**
 * Conditions an inner join's equalities imply on the `from` table's columns, for its access path:
 * with `from.x = j.y` in the `on` of an inner join `j`, a `where` condition on `j.y` against a
 * value (`=`, a range, `between`, `in`) holds for `from.x` as well. `posts ⋈ users on
 * posts.author = users.id where users.id = ?` then reads one author's posts through an index on
 * `posts.author` instead of every post (SQLite finds the same plan by transitivity).
 */
import type { QueryExpr, QueryPlan } from "../../ir/query-plan.js";
import type { Table } from "../storage/table-engine.js";
import { kindOf } from "./expr-eval.js";

/**
 * `plan` with the conditions its inner joins imply on `from`'s columns added to `where`. Only
 * `from`'s access path reads them: every condition of the plan is still tested where it was, and
 * an implied one holds for every row the plan answers (equal cells of one kind compare alike).
 *
 * @example
 * ```ts
 * withJoinImplied(plan, (alias) => tables.get(alias)).where; // … and posts.author = ?
 * ```
 */
export function withJoinImplied(plan: QueryPlan, tableOf: (alias: string) => Table | undefined): QueryPlan {
  const from = tableOf(plan.from.as);
  if (from === undefined || plan.where === null) return plan;
  // alias → (its column → the `from` column it equals)
  const equal = new Map<string, Map<string, string>>();
  for (const j of plan.joins) {
    const joined = j.kind === "inner" ? tableOf(j.as) : undefined;
    if (joined === undefined) continue;
    for (const c of conjuncts(j.on)) {
      if (c.t !== "cmp" || c.op !== "=") continue;
      for (const [mine, theirs] of [
        [c.l, c.r],
        [c.r, c.l],
      ] as const) {
        if (mine.t !== "col" || mine.src !== plan.from.as || theirs.t !== "col" || theirs.src !== j.as) continue;
        const x = from.schema.column(mine.col);
        const y = joined.schema.column(theirs.col);
        if (x === undefined || y === undefined || kindOf(x) !== kindOf(y)) continue;
        let cols = equal.get(j.as);
        if (cols === undefined) equal.set(j.as, (cols = new Map()));
        cols.set(theirs.col, mine.col);
      }
    }
  }
  if (equal.size === 0) return plan;
  const onFrom = (e: QueryExpr): QueryExpr | undefined => {
    if (e.t !== "col") return undefined;
    const col = equal.get(e.src)?.get(e.col);
    return col === undefined ? undefined : { t: "col", src: plan.from.as, col };
  };
  const implied: QueryExpr[] = [];
  for (const c of conjuncts(plan.where)) {
    if (c.t === "cmp" && c.op !== "!=") {
      const l = onFrom(c.l);
      const r = l === undefined ? onFrom(c.r) : undefined;
      if (l !== undefined) implied.push({ ...c, l });
      else if (r !== undefined) implied.push({ ...c, r });
    } else if ((c.t === "between" || c.t === "in") && !c.negate) {
      const e = onFrom(c.e);
      if (e !== undefined) implied.push({ ...c, e });
    }
  }
  return implied.length === 0 ? plan : { ...plan, where: { t: "and", of: [...conjuncts(plan.where), ...implied] } };
}

/** The conditions `e` is the conjunction of (an `and` flattened). */
export function conjuncts(e: QueryExpr | null): readonly QueryExpr[] {
  if (e === null) return [];
  return e.t === "and" ? e.of.flatMap((x) => conjuncts(x)) : [e];
}
