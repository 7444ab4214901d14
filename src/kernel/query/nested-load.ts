/**
 * Nested loading (`with`): per output row, each nested plan runs with that row as its parent
 * (`outer` references read it), its own `where`/`orderBy`/`limit` applying per parent. An
 * equality between a nested column and an outer reference is served by an index as any other
 * bound of `from` is (plan-compile.ts), so a nested load is one index lookup per parent row.
 */
import type { Visits } from "./budget.js";
import type { CompiledPlan, Slots } from "./compiled.js";

/**
 * Fills the `with` cells of `row` (after its select cells) for the parent rows `slots`.
 *
 * @example
 * ```ts
 * loadNested(plan, item.slots, row, visits, runPlan); // row = [id, name, [[postId, title], …]]
 * ```
 */
export function loadNested(
  plan: CompiledPlan,
  slots: Slots,
  row: unknown[],
  visits: Visits,
  runPlan: (plan: CompiledPlan, visits: Visits) => unknown[][],
): void {
  const base = plan.select.length;
  for (let i = 0; i < plan.withs.length; i++) {
    const w = plan.withs[i]!;
    w.plan.box.slots = slots;
    const rows = runPlan(w.plan, visits);
    row[base + i] = w.many ? rows : (rows[0] ?? null);
  }
}
