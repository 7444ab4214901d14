/**
 * Compilation of a checked plan to one composite op, and the binding of its parameters: literals
 * become parameters `lit_<n>` (no user value inside the op), the plan goes into one GET on the
 * `traverse` extension route (or through the core lowering), and execution arguments are checked
 * against the parameters before anything runs.
 */
import { remember } from "../ir/bounded-cache.js";
import { BadRequestError } from "../errors.js";
import { get, opdef, ref } from "../ir/json.js";
import type { Json } from "../ir/types.js";
import type { PlanFilter, PlanResult, PlanStep, PlanValue, TraversePlan } from "../ir/traverse-plan.js";
import type { Catalog } from "./catalog.js";
import { lowerToCore } from "./lower/index.js";
import { type ArgValue, checkLiteral, type FilterEncoder, isPlainLiteral } from "./plan-values.js";
import { showValue } from "../ir/show-value.js";

/** How a graph compiles: through the `traverse` kernel extension, or to core IR forms only. */
export type Lowering = "extension" | "core";

/** What `compile()` returns. */
export interface CompiledTraversal {
  /** The composite op (a POST OpDef) as IR JSON. No user value appears in it. */
  readonly op: Json;
  /** The parameters the caller binds (`param(name)`), sorted. */
  readonly params: readonly string[];
  /**
   * The literal values of the traversal (filters, limits), bound as parameters `lit_0`, `lit_1`, …
   * at execution: the op itself is the same for every value, and holds none of them.
   */
  readonly literals: Readonly<Record<string, Json>>;
  /** The plan the op carries (extension) or was lowered from (core), literals as parameters. */
  readonly plan: TraversePlan;
}

/** What the traversals of one shape (one plan but for its literals) compile to. */
interface Shape {
  readonly op: Json;
  readonly plan: TraversePlan;
  readonly params: readonly string[];
}

/** Compiled shapes by catalog, then lowering and parameterized plan text (the latest 512). */
const SHAPES = new WeakMap<Catalog, Map<string, Shape>>();
const MAX_SHAPES = 512;

/**
 * Compiles a plan a builder made to its op, for `lowering`: literals become parameters, and the
 * plan is checked with `check` only when no plan of its shape (the same plan with other literals)
 * was checked and compiled before. A traversal built anew
 * for every call (`db.graph.match("users", { id }).out("follows")…`) then sends the op object
 * of its shape (the executor's op cache hits by identity) and is not checked again: the check
 * reads no literal (plan-values.ts checks those as the builder takes them).
 *
 * @example
 * ```ts
 * const compiled = compileBuilt(plan, catalog, "extension", checkPlan);
 * ```
 */
export function compileBuilt(built: TraversePlan, catalog: Catalog, lowering: Lowering, check: (plan: TraversePlan) => void): CompiledTraversal {
  let params: string[];
  let lifted: ReturnType<typeof parameterize>;
  let text: string;
  try {
    params = paramsOf(built);
    lifted = parameterize(built, params);
    text = JSON.stringify(lifted.plan);
  } catch (e) {
    // Not a plan a builder makes: the check words what is wrong.
    check(built);
    throw e;
  }
  const literals = Object.freeze(lifted.literals);
  let byText = SHAPES.get(catalog);
  if (byText === undefined) SHAPES.set(catalog, (byText = new Map()));
  const key = `${lowering}\n${text}`;
  let shape = byText.get(key);
  if (shape === undefined) {
    check(built);
    const plan = lifted.plan;
    const op = lowering === "core" ? lowerToCore(plan, catalog) : extensionOp(plan, text, catalog.namespace, paramsOf(plan));
    shape = remember(byText, key, { op, plan, params: Object.freeze(params) }, MAX_SHAPES);
  }
  return Object.freeze({ op: shape.op, params: shape.params, literals, plan: shape.plan });
}

/** The parameter names of a plan, sorted. */
function paramsOf(plan: TraversePlan): string[] {
  const names = new Set<string>();
  const see = (v: PlanValue | null): void => {
    if (v && "param" in v) names.add(v.param);
  };
  for (const f of plan.start.filters) see(f.value);
  for (const s of plan.steps) if (s.kind === "where") see(s.filter.value);
  if (plan.result.kind === "shortest") for (const f of plan.result.to) see(f.value);
  see(plan.offset);
  see(plan.limit);
  return [...names].sort();
}

/** Replaces every literal of a plan by a parameter `lit_<n>` (avoiding the plan's own names, `params`). */
function parameterize(plan: TraversePlan, params: readonly string[]): { plan: TraversePlan; literals: Record<string, Json> } {
  const taken = new Set(params);
  const literals: Record<string, Json> = {};
  let n = 0;
  const lift = (v: PlanValue): PlanValue => {
    if ("param" in v) return v;
    let name = `lit_${n++}`;
    while (taken.has(name)) name = `lit_${n++}`;
    literals[name] = v.lit as Json;
    return { param: name };
  };
  const filter = (f: PlanFilter): PlanFilter => ({ ...f, value: lift(f.value) });
  const steps = plan.steps.map((s): PlanStep => (s.kind === "where" ? { ...s, filter: filter(s.filter) } : s));
  const result: PlanResult = plan.result.kind === "shortest" ? { ...plan.result, to: plan.result.to.map(filter) } : plan.result;
  return {
    plan: {
      ...plan,
      start: { ...plan.start, filters: plan.start.filters.map(filter) },
      steps,
      result,
      offset: plan.offset ? lift(plan.offset) : null,
      limit: plan.limit ? lift(plan.limit) : null,
    },
    literals,
  };
}

/** The IR JSON of a plan run by the `traverse` extension: one GET on the start table, the plan as its text `text`. */
function extensionOp(plan: TraversePlan, text: string, namespace: string, params: readonly string[]): Json {
  const bound: Record<string, Json> = {};
  for (const p of params) bound[p] = ref(p);
  // A reserved step name (parameter names never start with "_"): `result` would shadow a parameter of that name.
  return opdef([["_result", get(`/state/${namespace}/${plan.start.table}/traverse`, [text, bound])]]);
}

// ---------------------------------------------------------------------------------------------
// Binding the parameters at execution.

/** A parameter used where only some values make sense. */
export interface ShapedParam {
  readonly name: string;
  readonly role: "offset" | "limit" | "in";
}

/**
 * The parameters of `plan` used as `offset`/`limit` or as the list of an `in` filter.
 *
 * @example
 * ```ts
 * shapedParams(compiled.plan); // e.g. [{ name: "lit_1", role: "limit" }]
 * ```
 */
export function shapedParams(plan: TraversePlan): ShapedParam[] {
  const out: ShapedParam[] = [];
  if (plan.offset !== null && "param" in plan.offset) out.push({ name: plan.offset.param, role: "offset" });
  if (plan.limit !== null && "param" in plan.limit) out.push({ name: plan.limit.param, role: "limit" });
  const filters = [...plan.start.filters, ...plan.steps.flatMap((s) => (s.kind === "where" ? [s.filter] : []))];
  if (plan.result.kind === "shortest") filters.push(...plan.result.to);
  for (const f of filters) if (f.op === "in" && "param" in f.value) out.push({ name: f.value.param, role: "in" });
  return out;
}

/** A parameter compared with a column whose values have a wire form of their own. */
export interface EncodedParam {
  readonly name: string;
  readonly encode: FilterEncoder;
}

/**
 * The parameters of `plan` compared with a column of a typed value (timestamp, i64/u64, bytes,
 * uuid): their execution values are encoded as literals of that column are (`filterEncoders`).
 *
 * @example
 * ```ts
 * encodedParams(plan, catalog); // [{ name: "since", encode }] for where("at", ">", param("since"))
 * ```
 */
export function encodedParams(plan: TraversePlan, catalog: Catalog): EncodedParam[] {
  const out: EncodedParam[] = [];
  const see = (table: string, f: PlanFilter): void => {
    if (!("param" in f.value)) return;
    const encode = catalog.table(table).encoders[f.col];
    if (encode !== undefined) out.push({ name: f.value.param, encode });
  };
  let table = plan.start.table;
  for (const f of plan.start.filters) see(table, f);
  for (const s of plan.steps) {
    if (s.kind === "hop") table = s.target;
    else if (s.kind === "where") see(table, s.filter);
  }
  if (plan.result.kind === "shortest") for (const f of plan.result.to) see(table, f);
  return out;
}

/** `args` with the values of `encoded` parameters in their wire form (a new object only when one changes). */
export function encodeArgs(encoded: readonly EncodedParam[], args: Readonly<Record<string, ArgValue>>): Readonly<Record<string, ArgValue>> {
  let out: Record<string, ArgValue> | undefined;
  for (const { name, encode } of encoded) {
    const v = (args as Record<string, unknown>)[name];
    if (v === undefined) continue;
    const w = encode(v, `parameter ${name}`);
    if (w !== v) (out ??= { ...args })[name] = w as ArgValue;
  }
  return out ?? args;
}

/**
 * Checks the shapes the plan needs before anything runs, so that both lowerings refuse the same
 * values with the same typed error (the core lowering's built-ins would otherwise fail with their
 * own messages, or take a negative window bound as a count from the end).
 *
 * @example
 * ```ts
 * checkShapes([{ name: "n", role: "limit" }], { n: -1 }); // throws BadRequestError
 * ```
 */
export function checkShapes(shaped: readonly ShapedParam[], args: Readonly<Record<string, Json>>): void {
  for (const { name, role } of shaped) {
    const v = args[name];
    if (v === undefined) continue; // a literal: checked when the traversal was built
    if (role === "in") {
      if (!Array.isArray(v)) throw new BadRequestError(`execute(): parameter ${name} is the list of an "in" filter and must be a list, got ${showValue(v)}`);
    } else if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      throw new BadRequestError(`execute(): parameter ${name} is the ${role} and must be a non-negative integer, got ${showValue(v)}`);
    }
  }
}

/**
 * Checks execution arguments against the traversal's parameters (typed errors, no partial run).
 *
 * @example
 * ```ts
 * checkArgs(["me"], { me: 1 });  // ok
 * checkArgs(["me"], {});         // throws: execute(): missing parameter me
 * ```
 */
export function checkArgs(params: readonly string[], args: Readonly<Record<string, Json>>): void {
  if (args === null || typeof args !== "object" || Array.isArray(args)) throw new BadRequestError("execute(args): args must be an object");
  for (let i = 0; i < params.length; i++) {
    if (!Object.prototype.hasOwnProperty.call(args, params[i]!)) throw new BadRequestError(`execute(): missing parameter ${params[i]}`);
  }
  const keys = Object.keys(args);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (!params.includes(k)) {
      throw new BadRequestError(`execute(): unknown parameter ${k}; this traversal takes ${params.length ? params.join(", ") : "none"}`);
    }
    const v = args[k];
    if (!isPlainLiteral(v)) checkLiteral(v, `parameter ${k}`);
  }
}
