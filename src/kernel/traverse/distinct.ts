/**
 * `distinct` results, set-at-a-time: every hop maps a set of rows to a set of rows; a
 * variable-length hop `[min, max]` takes `min` exact steps (one deduplicated set per level), then
 * a breadth-first search with a visited set for the remaining levels. The slot path
 * (slot-distinct.ts) runs when the store and every hop allow it; the lookup path here otherwise.
 */
import type { PlanResult } from "../../ir/traverse-plan.js";
import type { BoundFilter, BoundHop, BoundStep } from "./binding.js";
import { slotRowsPage } from "./pages.js";
import { keyId, sortRows } from "./row-order.js";
import { slotDistinct } from "./slot-distinct.js";
import type { TraverseRow, TraverseTableShape } from "./store.js";
import { windowCount, type TraversalRun } from "./traversal-run.js";
import { matchesOp } from "./values.js";

/**
 * The distinct end rows of `steps` from the start rows: a page of them (projected), or their
 * number, in key order or by `orderBy`.
 *
 * @example
 * ```ts
 * const { startFilters, steps, endTable } = run.boundSteps();
 * distinct(run, startFilters, "users", steps, endTable, run.shape(endTable), result, 0, 20);
 * ```
 */
export function distinct(
  run: TraversalRun,
  startFilters: readonly BoundFilter[],
  startTable: string,
  steps: readonly BoundStep[],
  table: string,
  shape: TraverseTableShape,
  result: Extract<PlanResult, { kind: "rows" }>,
  offset: number,
  limit: number,
): unknown {
  const countOnly = result.count && result.orderBy.length === 0;
  // The cells a page built from slots reads (see `slotRowsPage`).
  const pageCells = !result.count && result.orderBy.length === 0 && shape.keyCount === 1 ? run.cellPositions(table, shape, result.select) : undefined;
  const reached = slotDistinct(run, startFilters, startTable, steps, countOnly, pageCells);
  if (reached !== undefined) {
    if (countOnly) return windowCount(reached.count, offset, limit);
    return slotRowsPage(run, reached, table, shape, result, offset, limit, pageCells);
  }
  let current = new Map<unknown, TraverseRow>();
  const startKeys = run.shape(startTable).keyCount;
  for (const r of run.startRows(startFilters, startTable)) current.set(keyId(r, startKeys), r);
  for (const step of steps) {
    if (step.kind === "where") {
      const f = step.filter;
      for (const [id, r] of current) if (!matchesOp(r[f.pos], f.op, f.value)) current.delete(id);
    } else if (step.kind === "hop") {
      current = expandSet(run, current, step.hop);
    }
    if (current.size === 0) break;
  }
  if (result.count && result.orderBy.length === 0) return windowCount(current.size, offset, limit);
  let rows: TraverseRow[];
  if (result.orderBy.length === 0 && shape.keyCount === 1 && (rows = byNumericId(current)).length === current.size) {
    // Sorted by a numeric one-column key already (the ids are the key cells).
  } else {
    rows = [...current.values()];
    sortRows(rows, shape, run.sortKeys(table, result.orderBy));
  }
  const page = rows.slice(offset, offset + limit);
  if (result.count) return page.length;
  return run.project(page, table, result.select);
}

/** One hop over a set: `min` exact levels, then BFS with a visited set up to `max`. */
function expandSet(run: TraversalRun, from: Map<unknown, TraverseRow>, bh: BoundHop): Map<unknown, TraverseRow> {
  const { min, max } = bh.hop;
  let level = from;
  for (let i = 0; i < min && level.size > 0; i++) {
    const next = new Map<unknown, TraverseRow>();
    for (const [id, row] of level) expandOne(run, bh, id, row, next, undefined);
    level = next;
  }
  if (max === min) return level;
  const reached = new Map(level);
  // The frontier as pairs: id, row, id, row, …
  let frontier: unknown[] = [];
  for (const [id, row] of level) frontier.push(id, row);
  for (let i = min; i < max && frontier.length > 0; i++) {
    const next: unknown[] = [];
    for (let k = 0; k < frontier.length; k += 2) expandOne(run, bh, frontier[k], frontier[k + 1] as TraverseRow, reached, next);
    frontier = next;
  }
  return reached;
}

/**
 * Adds to `set` (id → row) every row one hop reaches from the row `id`/`row` that `set` lacks,
 * and appends each added id and row to `added` when given. Every row a lookup returns counts
 * as touched — also when a lookup is skipped because its row is already in `set`.
 */
function expandOne(
  run: TraversalRun,
  bh: BoundHop,
  id: unknown,
  row: TraverseRow,
  set: Map<unknown, TraverseRow>,
  added: unknown[] | undefined,
): void {
  const kc = bh.targetShape.keyCount;
  // A one-column key's id is the cell itself, except for links (ids tagged "\u0003…").
  const simpleId = typeof id === "number" || (typeof id === "string" && id.charCodeAt(0) !== 3);
  for (const alt of bh.alts) {
    const l1 = alt.lookups[0]!;
    const out = alt.lookups.length === 1 ? bh.buf2 : bh.buf1;
    out.length = 0;
    if (alt.fromKey && simpleId) run.lookupValue(l1, id, out);
    else run.lookup(l1, row, out);
    if (alt.lookups.length === 1) {
      addUnreached(out, kc, set, added);
      continue;
    }
    const l2 = alt.lookups[1]!;
    const found = bh.buf2;
    for (let e = 0; e < out.length; e++) {
      const edge = out[e]!;
      if (alt.toKey) {
        const v = edge[l2.fromPos[0]!];
        if ((typeof v === "number" || (typeof v === "string" && v.charCodeAt(0) !== 3)) && set.has(v)) {
          // Already reached: the point lookup would return that row again.
          run.count(1);
          continue;
        }
      }
      found.length = 0;
      run.lookup(l2, edge, found);
      addUnreached(found, kc, set, added);
    }
  }
}

/** Adds to `set` (id → row) each of `rows` it lacks, appending each added id and row to `added`. */
function addUnreached(rows: readonly TraverseRow[], keyCount: number, set: Map<unknown, TraverseRow>, added: unknown[] | undefined): void {
  for (let j = 0; j < rows.length; j++) {
    const n = rows[j]!;
    const nid = keyId(n, keyCount);
    if (!set.has(nid)) {
      set.set(nid, n);
      added?.push(nid, n);
    }
  }
}

/**
 * The rows of a set keyed by a one-column key, in key order, when every id is a number (ids are
 * then the key cells, and numbers compare numerically); else an empty array.
 */
function byNumericId(set: ReadonlyMap<unknown, TraverseRow>): TraverseRow[] {
  const ids = new Float64Array(set.size);
  let n = 0;
  for (const id of set.keys()) {
    if (typeof id !== "number" || id !== id) return [];
    ids[n++] = id;
  }
  ids.sort();
  const rows = new Array<TraverseRow>(n);
  for (let i = 0; i < n; i++) rows[i] = set.get(ids[i]!)!;
  return rows;
}
