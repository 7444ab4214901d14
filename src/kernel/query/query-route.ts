/**
 * The `query` kernel extension route (PROFILE §6.11, contract in src/ir/query-plan.ts):
 *
 *   `GET /state/<ns>/<table>/query` with key `[plan_json, {param: value, …}]`
 *
 * The plan text is validated once per distinct text (`parseQueryPlan` keeps it) and compiled
 * once per text and set of tables (plan-compile.ts); each call binds the parameters (checked
 * against the kinds their uses expect), runs the plan inside the caller's transaction
 * (plan-run.ts) and answers a tuple of row tuples. Every row read is charged to the op's budget (budget.ts).
 */
import { MethodNotAllowedError, NotFoundError } from "../../errors.js";
import { remember } from "../../ir/bounded-cache.js";
import { parseQueryPlan } from "../../ir/query-plan.js";
import type { Table } from "../storage/table-engine.js";
import { plainParams } from "../traverse/table-store.js";
import { type RouteMeter, StandaloneMeter, Visits } from "./budget.js";
import { bad, type Env } from "./compiled.js";
import { compileQuery, type CompiledQuery, type ParamSpec, tablesFresh } from "./plan-compile.js";
import { runPlan } from "./plan-run.js";

const CACHE_LIMIT = 512;
/**
 * Compiled plans by the route's table (they go with it), then by `ns`, then by plan text (the
 * text string itself is the key: the same op hands the same string object each call, whose hash
 * V8 keeps, so a hit hashes nothing).
 */
const compiled = new WeakMap<Table, Map<string, Map<string, CompiledQuery>>>();


function compiledFor(text: string, lookup: (name: string) => Table | undefined, ns: string, from: Table): CompiledQuery {
  let byNs = compiled.get(from);
  if (byNs === undefined) compiled.set(from, (byNs = new Map()));
  let byText = byNs.get(ns);
  if (byText === undefined) byNs.set(ns, (byText = new Map()));
  const hit = byText.get(text);
  if (hit !== undefined) {
    if (tablesFresh(hit.tables, lookup)) return hit;
    byText.delete(text);
  }
  return remember(byText, text, compileQuery(parseQueryPlan(text), lookup, ns), CACHE_LIMIT);
}

function kindProblem(v: unknown, kind: string): boolean {
  switch (kind) {
    case "number":
      // A 64-bit integer beyond ±(2^53 − 1) arrives as a bigint.
      return typeof v === "bigint" ? false : typeof v !== "number" || !Number.isFinite(v);
    case "bytes":
      return !(v instanceof Uint8Array);
    case "string":
      return typeof v !== "string";
    case "bool":
      return typeof v !== "boolean";
    case "link":
      return typeof v !== "string" && !(typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "link");
    case "tuple":
      return !Array.isArray(v);
    case "count":
      return typeof v !== "number" || !Number.isInteger(v) || v < 0;
    default:
      return false;
  }
}

function isLink(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "link" && typeof (v as { href?: unknown }).href === "string";
}

/** A value a plan may compare or output: a cell value, or a tuple of cell values. */
function plainValue(v: unknown): boolean {
  if (v === null || typeof v !== "object") return typeof v !== "number" || Number.isFinite(v);
  if (isLink(v) || v instanceof Uint8Array) return true;
  if (!Array.isArray(v)) return false;
  for (const x of v) if (x !== null && typeof x === "object" ? !isLink(x) && !(x instanceof Uint8Array) : typeof x === "number" && !Number.isFinite(x)) return false;
  return true;
}

const KIND_NAMES: Record<string, string> = {
  number: "a number",
  string: "a string",
  bool: "a boolean",
  link: "a link",
  tuple: "a tuple",
  count: "a non-negative integer",
};

/**
 * Binds `params` into `env` for the parameters a plan reads: each must be given, and of the kind
 * its uses expect (null is every kind's unknown, except for a tuple or a count).
 *
 * @example
 * ```ts
 * bindParams(q.env, q.params, { minAge: 18 }); // 400 when minAge is missing or not a number
 * ```
 */
export function bindParams(env: Env, specs: readonly ParamSpec[], params: Readonly<Record<string, unknown>>): void {
  const p = env.p;
  p.length = specs.length;
  for (const spec of specs) {
    if (!Object.prototype.hasOwnProperty.call(params, spec.name)) throw bad(`missing parameter ${JSON.stringify(spec.name)}`);
    const v = params[spec.name];
    if (!plainValue(v)) {
      throw bad(`parameter ${JSON.stringify(spec.name)} must be null, a number, a string, a boolean, a link or a tuple of those, got ${JSON.stringify(v)?.slice(0, 60)}`);
    }
    for (const kind of spec.kinds) {
      if ((v === null && kind !== "tuple" && kind !== "count") || !kindProblem(v, kind)) continue;
      throw bad(`parameter ${JSON.stringify(spec.name)} must be ${KIND_NAMES[kind]}, got ${JSON.stringify(v)?.slice(0, 60)}`);
    }
    p[spec.index] = v;
  }
}

/**
 * The route handler (the hook the transaction's table router calls).
 *
 * @example
 * ```ts
 * // in tableRoute: case "query": return queryTableRoute((n) => host.lookup(ns, n), ns, name, verb, key, meter);
 * ```
 */
export function queryTableRoute(
  lookup: (name: string) => Table | undefined,
  ns: string,
  name: string,
  verb: string,
  key: unknown,
  meter: RouteMeter | undefined,
): unknown[][] {
  if (verb !== "get") throw new MethodNotAllowedError(`/state/${ns}/${name}/query answers GET, not ${verb.toUpperCase()}`);
  if (!Array.isArray(key) || key.length !== 2 || typeof key[0] !== "string") throw bad("the key is [plan_json, {params}]");
  const plan = parseQueryPlan(key[0]);
  if (plan.from.table !== name) throw bad(`the plan reads from ${plan.from.table}, but the route is on ${name}`);
  const from = lookup(name);
  if (from === undefined) throw new NotFoundError(`query: no table /state/${ns}/${name}`);
  const q = compiledFor(key[0], lookup, ns, from);
  bindParams(q.env, q.params, plainParams(key[1]));
  const visits = new Visits(meter ?? new StandaloneMeter());
  q.env.visits = visits;
  try {
    const rows = runPlan(q.plan, visits);
    visits.flush();
    return rows;
  } finally {
    q.env.end();
  }
}
