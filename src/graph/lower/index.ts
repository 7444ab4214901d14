/**
 * Core lowering of a traversal plan: the same result built only from core IR forms (`while`,
 * `cond`, the `fold`/`slice`/`concat`/`eq`/`len`/`add`/`gt`/`lt` … built-ins, point GETs,
 * index-range selectors, and the table's `schema` and `count` routes), for hosts without the
 * `traverse` extension. Tests prove it returns what the extension returns, in the same order, and
 * touches the same rows (so it fails the visit budget exactly where the extension does).
 *
 * Covered: every plan the builder makes, with every relation kind and direction, variable-length
 * hops, `where`, `select`, `offset`/`limit` and the visit budget:
 * - distinct rows and counts (distinct.ts): a set per hop, `min` exact levels then breadth-first;
 * - trails — non-distinct rows and counts, `paths()`, `as()`/`return()` (trails.ts): the
 *   extension's depth-first enumeration replayed by one `while` loop over an explicit stack;
 * - `orderBy` on both: a stable insertion sort whose cell comparisons are index-range counts on
 *   the table (core `lt` compares numbers only; the table engine orders every cell type);
 * - `shortestPath()` (shortest-path.ts): the extension's breadth-first search.
 * Start rows, lookups, neighbor order and `orderBy` are shared (base.ts); the step combinators
 * (sorts, membership, tuple comparison) are in steps.ts, on the IR JSON builders of src/ir/json.ts.
 * Sets, visited sets and trails are tuples, so membership is a linear fold and sorts are insertion
 * sorts: the lowering is quadratic or worse — a fallback for small graphs, not a replacement for
 * the extension.
 */
import type { Json } from "../../ir/types.js";
import type { TraversePlan } from "../../ir/traverse-plan.js";
import type { Catalog } from "../catalog.js";
import { DistinctLowering } from "./distinct.js";
import { ShortestLowering } from "./shortest-path.js";
import { TrailLowering } from "./trails.js";

/**
 * Lowers a plan to a POST OpDef of core forms (IR JSON).
 *
 * @example
 * ```ts
 * const op = lowerToCore(compiled.plan, graph.catalog); // runs on any host, extension or not
 * ```
 */
export function lowerToCore(plan: TraversePlan, catalog: Catalog): Json {
  const r = plan.result;
  if (r.kind === "shortest") return new ShortestLowering(plan, catalog).program();
  if (r.kind === "rows" && r.distinct) return new DistinctLowering(plan, catalog).program();
  return new TrailLowering(plan, catalog).program();
}
