/**
 * Trail results (rows, paths, return, and their counts without `distinct`): one result per
 * trail — a path in which no relationship (one relation's row: an edge-table row, or the row
 * holding a foreign key; both directions are the same relationship) is used twice — enumerated
 * depth-first in canonical order: `[start key, hop 1, hop 2, …]`, each hop the list of
 * `[relation-row key, row key]` pairs it took.
 */
import type { PlanResult } from "../../ir/traverse-plan.js";
import type { BoundHop, BoundStep } from "./binding.js";
import { sortRows } from "./row-order.js";
import type { TraverseRow, TraverseTableShape } from "./store.js";
import { windowCount, type TraversalRun } from "./traversal-run.js";
import { matchesOp } from "./values.js";

/** A row on the current path, with its table. */
interface Node {
  readonly table: string;
  readonly row: TraverseRow;
}

/** The state of one depth-first trail enumeration. */
interface TrailState {
  readonly run: TraversalRun;
  readonly steps: readonly BoundStep[];
  readonly stopAt: number;
  readonly skip: number;
  /** False when only the number of trails is needed. */
  readonly store: boolean;
  produced: number;
  readonly collected: unknown[];
  readonly endRows: TraverseRow[];
  /** The relationships (`Neighbor.relId`) the current trail used. */
  readonly trail: Set<string>;
  readonly path: Node[];
  readonly bindings: Map<string, TraverseRow>;
  readonly returnFields: readonly (readonly [string, string])[] | null;
  readonly wantPaths: boolean;
}

/**
 * The plan's trail result from the `start` rows: end rows (projected), paths, `return` tuples,
 * or their number; without `orderBy` the enumeration stops once the page is full.
 *
 * @example
 * ```ts
 * const { startFilters, steps, endTable } = run.boundSteps();
 * trails(run, run.startRows(startFilters, "users"), "users", steps, endTable, run.shape(endTable), 0, 20);
 * ```
 */
export function trails(
  run: TraversalRun,
  start: TraverseRow[],
  startTable: string,
  steps: readonly BoundStep[],
  table: string,
  shape: TraverseTableShape,
  offset: number,
  limit: number,
): unknown {
  const result = run.plan.result as Exclude<PlanResult, { kind: "shortest" }>;
  const orderBy = result.kind === "rows" ? result.orderBy : [];
  const countOnly = result.count;
  // Without orderBy the enumeration order is the result order: stop once the page is full.
  const t: TrailState = {
    run,
    steps,
    stopAt: orderBy.length === 0 ? offset + limit : Number.POSITIVE_INFINITY,
    skip: orderBy.length === 0 ? offset : 0,
    store: !(countOnly && orderBy.length === 0),
    produced: 0,
    collected: [],
    endRows: [],
    trail: new Set(),
    path: [],
    bindings: new Map(),
    returnFields: result.kind === "return" ? result.fields : null,
    wantPaths: result.kind === "paths",
  };
  for (const row of start) {
    if (t.produced >= t.stopAt) break;
    t.path.push({ table: startTable, row });
    visit(t, 0, row);
    t.path.pop();
  }
  const produced = t.produced;
  const collected = t.collected;
  const endRows = t.endRows;

  if (countOnly && orderBy.length === 0) return windowCount(produced, offset, limit);
  if (result.kind !== "rows") return countOnly ? collected.length : collected.slice(0, limit);
  if (orderBy.length > 0) {
    sortRows(endRows, shape, run.sortKeys(table, orderBy), false);
    const page = endRows.slice(offset, offset + limit);
    return countOnly ? page.length : run.project(page, table, result.select);
  }
  const page = endRows.slice(0, limit);
  return countOnly ? page.length : run.project(page, table, result.select);
}

/** Emits the trail that reached `row` at the end of the steps. */
function emit(t: TrailState, row: TraverseRow): void {
  t.produced++;
  if (!t.store || t.produced <= t.skip) return;
  if (t.returnFields) {
    const binding = new Array<unknown>(t.returnFields.length);
    for (let i = 0; i < binding.length; i++) binding[i] = t.bindings.get(t.returnFields[i]![1]);
    t.collected.push(binding);
  } else if (t.wantPaths) {
    const steps = new Array<unknown>(t.path.length);
    for (let i = 0; i < steps.length; i++) steps[i] = [t.path[i]!.table, t.path[i]!.row];
    t.collected.push(steps);
  } else t.endRows.push(row);
}

/** Continues a trail at step `i` from `row`, depth-first. */
function visit(t: TrailState, i: number, row: TraverseRow): void {
  if (t.produced >= t.stopAt) return;
  if (i === t.steps.length) return emit(t, row);
  const step = t.steps[i]!;
  if (step.kind === "where") {
    if (matchesOp(row[step.filter.pos], step.filter.op, step.filter.value)) visit(t, i + 1, row);
    return;
  }
  if (step.kind === "as") {
    const prev = t.bindings.get(step.alias);
    t.bindings.set(step.alias, row);
    visit(t, i + 1, row);
    if (prev === undefined) t.bindings.delete(step.alias);
    else t.bindings.set(step.alias, prev);
    return;
  }
  walk(t, i, step.hop, 0, row);
}

/** Takes hop step `i` (`bh`) from `at`, which is `depth` hops into it. */
function walk(t: TrailState, i: number, bh: BoundHop, depth: number, at: TraverseRow): void {
  if (t.produced >= t.stopAt) return;
  if (depth >= bh.hop.min) visit(t, i + 1, at);
  if (depth >= bh.hop.max) return;
  const next = t.run.neighbors(bh, at, true);
  for (let k = 0; k < next.length; k++) {
    if (t.produced >= t.stopAt) return;
    const n = next[k]!;
    if (t.trail.has(n.relId)) continue;
    t.trail.add(n.relId);
    t.path.push({ table: bh.hop.target, row: n.node });
    walk(t, i, bh, depth + 1, n.node);
    t.path.pop();
    t.trail.delete(n.relId);
  }
}
