/**
 * The `traverse` kernel extension route: runs a whole compiled graph traversal (a `TraversePlan`,
 * contract in src/ir/traverse-plan.ts) inside the current transaction, against the namespace's
 * tables (a `TraverseStore`).
 *
 *   `GET /state/<ns>/<start table>/traverse` with key `[plan_json, {param: value, …}]`
 *
 * `plan_json` is the plan as a JSON string (static per query: `parsePlan` validates a text once);
 * the map binds the plan's parameters. Semantics: README.md in this folder.
 */
import { BadRequestError } from "../../errors.js";
import { parsePlan, type TraversePlan } from "../../ir/traverse-plan.js";
import type { BoundHop } from "./binding.js";
import { distinct } from "./distinct.js";
import { shortestPath } from "./shortest-path.js";
import type { TraverseStore } from "./store.js";
import { TraversalRun } from "./traversal-run.js";
import { trails } from "./trails.js";

/**
 * The route handler: `key` is `[plan_json, params]` (params a plain record, already resolved).
 * Returns plain JSON-able data: rows are tuples; see `runPlan`.
 *
 * @example
 * ```ts
 * traverseRoute(store, "users", [planJson, { me: 1 }], { me: 1 });
 * ```
 */
export function traverseRoute(store: TraverseStore, startTable: string, key: unknown, params: Readonly<Record<string, unknown>>): unknown {
  if (!Array.isArray(key) || key.length !== 2) {
    throw new BadRequestError("traverse: the key is [plan_json, {params}]");
  }
  const plan = parsePlan(key[0]);
  if (plan.start.table !== startTable) {
    throw new BadRequestError(`traverse: the plan starts at ${plan.start.table}, but the route is on ${startTable}`);
  }
  return runPlan(store, plan, params);
}

/**
 * Runs a plan. Results:
 * - rows: a tuple of row tuples (all columns, or the selected ones in `select` order);
 * - paths: a tuple of paths, each a tuple of `[table, row]` pairs from start to end;
 * - return: a tuple of tuples, one row per returned alias in `fields` order;
 * - count: a number; shortest: one path or `null`.
 *
 * @example
 * ```ts
 * runPlan(store, parsePlan(planJson), { me: 1 }); // e.g. [[2, "bob"], [3, "cy"]]
 * ```
 */
export function runPlan(store: TraverseStore, plan: TraversePlan, params: Readonly<Record<string, unknown>>): unknown {
  const run = new TraversalRun(store, plan, params);
  const { startFilters, steps, endTable } = run.boundSteps();
  const startTable = plan.start.table;
  const endShape = run.shape(endTable);
  const { offset, limit } = run.window();
  const result = plan.result;

  if (result.kind === "shortest") {
    const to = result.to.map((f) => run.bindFilter(endTable, f));
    return shortestPath(run, run.startRows(startFilters, startTable), (steps[0] as { hop: BoundHop }).hop, to);
  }
  if (result.kind === "rows" && result.distinct) {
    return distinct(run, startFilters, startTable, steps, endTable, endShape, result, offset, limit);
  }
  return trails(run, run.startRows(startFilters, startTable), startTable, steps, endTable, endShape, offset, limit);
}
