/**
 * The op planner (PROFILE §2, reference §2.4 "v2 algorithm"): turns an OpDef's form into a
 * dataflow graph keyed by step name, checks it for cycles, and computes — per set of bound
 * parameter names — which steps must run, in which order, to produce the last step.
 *
 * Plans are pure functions of the OpDef, so they are cached on the OpDef object (decoded OpDefs
 * are immutable and shared by the op cache), and schedules are cached per parameter-name set.
 */
import { BadRequestError, NotFoundError } from "../../errors.js";
import type { OpDef, Scalar } from "../../ir/types.js";

/** The ids a scalar needs before it can be resolved. */
export interface ScalarDeps {
  /** Ids referenced directly (`$x`, `$x/...` subjects): each must be a step or a bound name. */
  readonly hard: ReadonlySet<string>;
  /**
   * Free ids of nested OpDefs (lexical capture). They are computed first when they name a step,
   * but a name that is neither a step nor a parameter is not an error here: the closure's caller
   * binds it (`state`, a `for_each` item name, a `fold` item name).
   */
  readonly soft: ReadonlySet<string>;
}

/** What must run for one set of bound parameter names. */
export interface Schedule {
  /** Step names in dependency order; only the transitive dependencies of the result. */
  readonly steps: readonly string[];
  /** The name of the result (the last step of the form). */
  readonly capture: string;
  /** True when a bound parameter shadows the result step: the result is that parameter. */
  readonly captureIsParam: boolean;
  /** Slot for the executor's evaluators of `steps`, compiled against this schedule's frame layout. */
  compiled?: unknown;
}

/** A planned OpDef. */
export interface OpPlan {
  readonly op: OpDef;
  /** Step name → its scalar (a repeated step name keeps the last definition, as in v2). */
  readonly providers: ReadonlyMap<string, Scalar>;
  /** Step name → its dependencies. */
  readonly deps: ReadonlyMap<string, ScalarDeps>;
  /** The last step's name, or `undefined` for an empty form. */
  readonly capture: string | undefined;
  /** Ids the op references but does not define or bind itself (its parameters), sorted. */
  readonly freeIds: readonly string[];
  /** The names the op binds itself: GET/DELETE key name, PUT key and value names. */
  readonly boundNames: readonly string[];
  /**
   * Returns the schedule for the first `count` of these bound names (a name may come twice),
   * cached per ordered name list. Throws 404 on a missing id.
   */
  schedule(names: readonly string[], count?: number): Schedule;
}

const PLANS = new WeakMap<OpDef, OpPlan>();
const DEPS = new WeakMap<object, ScalarDeps>();
const EMPTY_DEPS: ScalarDeps = { hard: new Set(), soft: new Set() };
const MAX_SCHEDULES_PER_PLAN = 32;

/** Counters exposed for tests and benchmarks (how often ops were really planned). */
export const planStats = { plans: 0, schedules: 0 };

/**
 * Plans an OpDef (cached on the OpDef object). Throws `BadRequestError` when the form has a cycle.
 *
 * @example
 * ```ts
 * const plan = planOp(decodeOpDef({"/state/scalar/op/post": [["a", 1], ["b", {"$a": []}]]}));
 * plan.schedule([]).steps; // ["a", "b"]
 * ```
 */
export function planOp(op: OpDef): OpPlan {
  const cached = PLANS.get(op);
  if (cached) return cached;
  const plan = buildPlan(op);
  PLANS.set(op, plan);
  return plan;
}

/** The names an OpDef binds from its invocation (key / value names). */
function boundNamesOf(op: OpDef): string[] {
  switch (op.verb) {
    case "get":
    case "delete":
      return [op.keyName];
    case "put":
      return [op.keyName, op.valueName];
    case "post":
      return [];
  }
}

function buildPlan(op: OpDef): OpPlan {
  planStats.plans++;
  const providers = new Map<string, Scalar>();
  for (const [name, scalar] of op.steps) {
    providers.delete(name); // keep the LAST definition, at its last position
    providers.set(name, scalar);
  }
  const capture = op.steps.length > 0 ? op.steps[op.steps.length - 1]![0] : undefined;
  const deps = new Map<string, ScalarDeps>();
  for (const [name, scalar] of providers) {
    const d = scalarDeps(scalar);
    // A nested OpDef that mentions its own step's name is not a cycle: that name is bound by
    // whoever calls the closure (e.g. a step named `state` whose fold op reads `$state`).
    if (d.soft.has(name) && !d.hard.has(name)) {
      const soft = new Set(d.soft);
      soft.delete(name);
      deps.set(name, { hard: d.hard, soft });
    } else {
      deps.set(name, d);
    }
  }
  const order = topologicalOrder(providers, deps);
  const boundNames = boundNamesOf(op);

  const free = new Set<string>();
  for (const d of deps.values()) {
    for (const id of d.hard) free.add(id);
    for (const id of d.soft) free.add(id);
  }
  for (const name of providers.keys()) free.delete(name);
  for (const name of boundNames) free.delete(name);
  const freeIds = [...free].sort();

  const schedules = new Map<string, Schedule | Error>();
  // The names of the previous call: executions of one op usually bind the same names in the
  // same order, so this avoids building a key string on the hot path.
  let lastNames: string[] | undefined;
  let lastSchedule: Schedule | Error | undefined;
  const plan: OpPlan = {
    op,
    providers,
    deps,
    capture,
    freeIds,
    boundNames,
    schedule(names: readonly string[], count = names.length): Schedule {
      if (lastNames !== undefined && count === lastNames.length) {
        let same = true;
        for (let i = 0; i < count; i++) {
          if (names[i] !== lastNames[i]) {
            same = false;
            break;
          }
        }
        if (same) {
          if (lastSchedule instanceof Error) throw lastSchedule;
          return lastSchedule!;
        }
      }
      const list = names.slice(0, count);
      let key = "";
      for (const name of list) key += name + "\u0000";
      let s = schedules.get(key);
      if (s === undefined) {
        try {
          s = buildSchedule(providers, deps, order, capture, new Set(list));
        } catch (e) {
          s = e as Error;
        }
        if (schedules.size >= MAX_SCHEDULES_PER_PLAN) schedules.clear();
        schedules.set(key, s);
      }
      lastNames = list;
      lastSchedule = s;
      if (s instanceof Error) throw s;
      return s;
    },
  };
  return plan;
}

/** Kahn's algorithm over step → step edges; leftover steps form a cycle (400). */
function topologicalOrder(
  providers: ReadonlyMap<string, Scalar>,
  deps: ReadonlyMap<string, ScalarDeps>,
): string[] {
  const indegree = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const name of providers.keys()) indegree.set(name, 0);
  for (const [name, d] of deps) {
    for (const dep of allDeps(d)) {
      if (!providers.has(dep)) continue;
      indegree.set(name, indegree.get(name)! + 1);
      let list = dependents.get(dep);
      if (!list) dependents.set(dep, (list = []));
      list.push(name);
    }
  }
  const ready: string[] = [];
  for (const [name, n] of indegree) if (n === 0) ready.push(name);
  const order: string[] = [];
  while (ready.length > 0) {
    const name = ready.shift()!;
    order.push(name);
    for (const next of dependents.get(name) ?? []) {
      const n = indegree.get(next)! - 1;
      indegree.set(next, n);
      if (n === 0) ready.push(next);
    }
  }
  if (order.length < providers.size) {
    const stuck = [...indegree].filter(([, n]) => n > 0).map(([name]) => name);
    throw new BadRequestError(
      `op definition has circular dependencies between steps ${stuck.map((s) => JSON.stringify(s)).join(", ")}`,
    );
  }
  return order;
}

function* allDeps(d: ScalarDeps): Iterable<string> {
  yield* d.hard;
  yield* d.soft;
}

function buildSchedule(
  providers: ReadonlyMap<string, Scalar>,
  deps: ReadonlyMap<string, ScalarDeps>,
  order: readonly string[],
  capture: string | undefined,
  params: { has(name: string): boolean },
): Schedule {
  planStats.schedules++;
  if (capture === undefined) throw new NotFoundError("missing provider for id _result: the op has no steps");
  if (params.has(capture)) return { steps: [], capture, captureIsParam: true };
  const required = new Set<string>();
  const stack = [capture];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (required.has(name)) continue;
    required.add(name);
    const d = deps.get(name) ?? EMPTY_DEPS;
    for (const dep of d.hard) {
      if (params.has(dep)) continue;
      if (!providers.has(dep)) {
        throw new NotFoundError(`unknown id $${dep} (referenced by step ${JSON.stringify(name)})`);
      }
      stack.push(dep);
    }
    for (const dep of d.soft) {
      if (!params.has(dep) && providers.has(dep)) stack.push(dep);
    }
  }
  return { steps: order.filter((name) => required.has(name)), capture, captureIsParam: false };
}

/**
 * The ids a scalar depends on (cached per node object). Nested OpDefs contribute their free ids
 * as soft dependencies; `cond` depends on its condition and both branches (v2), but only the
 * selected branch is evaluated.
 */
function scalarDeps(s: Scalar): ScalarDeps {
  if (s === null || typeof s !== "object" || s instanceof Uint8Array) return EMPTY_DEPS;
  const cached = DEPS.get(s);
  if (cached) return cached;
  const hard = new Set<string>();
  const soft = new Set<string>();
  collect(s, hard, soft);
  const d = hard.size === 0 && soft.size === 0 ? EMPTY_DEPS : { hard, soft };
  DEPS.set(s, d);
  return d;
}

function collect(s: Scalar, hard: Set<string>, soft: Set<string>): void {
  if (s === null || typeof s !== "object" || s instanceof Uint8Array) return;
  if (Array.isArray(s)) {
    for (const item of s as readonly Scalar[]) collect(item, hard, soft);
    return;
  }
  const node = s as Exclude<Scalar, readonly Scalar[] | null | boolean | number | string | bigint | Uint8Array>;
  switch (node.kind) {
    case "link":
      return;
    case "map":
      for (const v of Object.values(node.entries)) collect(v, hard, soft);
      return;
    case "id":
      hard.add(node.name);
      return;
    case "get":
    case "delete":
      if (node.subject.kind === "ref") hard.add(node.subject.name);
      collect(node.key, hard, soft);
      return;
    case "put":
      if (node.subject.kind === "ref") hard.add(node.subject.name);
      collect(node.key, hard, soft);
      collect(node.value, hard, soft);
      return;
    case "post":
      if (node.subject.kind === "ref") hard.add(node.subject.name);
      for (const v of Object.values(node.params)) collect(v, hard, soft);
      return;
    case "cond":
      collect(node.cond, hard, soft);
      collect(node.then, hard, soft);
      collect(node.else, hard, soft);
      return;
    case "after":
      collect(node.when, hard, soft);
      collect(node.then, hard, soft);
      return;
    case "while":
      collect(node.cond, hard, soft);
      collect(node.step, hard, soft);
      collect(node.state, hard, soft);
      return;
    case "for_each":
      collect(node.items, hard, soft);
      collect(node.op, hard, soft);
      return;
    case "opdef":
      for (const id of planOp(node).freeIds) soft.add(id);
      return;
  }
}

/** True when a scalar contains no reference at all (it is its own value). */
export function isStatic(s: Scalar): boolean {
  if (s === null || typeof s !== "object" || s instanceof Uint8Array) return true;
  const d = scalarDeps(s);
  if (d.hard.size > 0) return false;
  // A subtree without ids may still hold link op calls, cond, after… — check the shape.
  return !containsRef(s);
}

const STATIC = new WeakMap<object, boolean>();

function containsRef(s: Scalar): boolean {
  if (s === null || typeof s !== "object" || s instanceof Uint8Array) return false;
  const known = STATIC.get(s);
  if (known !== undefined) return !known;
  let found: boolean;
  if (Array.isArray(s)) {
    found = (s as readonly Scalar[]).some(containsRef);
  } else {
    const node = s as Exclude<Scalar, readonly Scalar[] | null | boolean | number | string | bigint | Uint8Array>;
    switch (node.kind) {
      case "link":
      case "opdef":
        found = false;
        break;
      case "map":
        found = Object.values(node.entries).some(containsRef);
        break;
      default:
        found = true;
    }
  }
  STATIC.set(s, !found);
  return found;
}
