/**
 * The op executor (PROFILE §2): runs a planned OpDef inside one transaction.
 *
 * Every scalar of a form is compiled once into a small closure (`Evaluator`) and kept beside the
 * op's plan, so executing the same op again neither re-decodes, re-plans nor re-walks its IR.
 * Execution is synchronous from the first step to the last: no `await` between steps, so an op
 * is atomic under the state layer's transaction lock and pays no promise overhead.
 *
 * Budgets (exec-context.ts) are checked where work happens: every step and loop iteration ticks;
 * every tuple or map a step builds, and every tuple a table route answers, is checked against
 * `maxTupleLength` and charged to `maxOpBytes` as it is made (built-ins charge what they make).
 */
import { BadRequestError, NotFoundError } from "../../errors.js";
import type { AfterRef, CondRef, DeleteRef, GetRef, OpDef, PostRef, PutRef, Scalar, Subject, Verb } from "../../ir/types.js";
import { PATHS } from "../../ir/types.js";
import { BUILTIN_METHODS, CLOSURE_BUILTINS, builtin, callBuiltin, truthy, type Builtin, type BuiltinEnv, type Meter } from "./builtins.js";
import { isStatic, planOp, type OpPlan } from "./op-planner.js";
import {
  isLink,
  isMap,
  isOpDef,
  isView,
  aTypeName,
  mapBytes,
  plainValue,
  valueMap,
  type KernelValue,
  type OpResult,
} from "./kernel-value.js";
import { tableLiteral, TableView } from "../state/table-view.js";
import { BudgetExceededError, type ExecContext } from "./exec-context.js";

type Scope = Map<string, KernelValue>;
/** A compiled scalar: resolves it against a scope to a plain kernel value. */
type Evaluator = (scope: Scope, ctx: ExecContext) => KernelValue;
/** A compiled result step: may answer what a route answered as is (see `compileResult`). */
type ResultEvaluator = (scope: Scope, ctx: ExecContext) => OpResult;

/** The compiled steps of one schedule: those run for their value, in order, then the result. */
interface CompiledSchedule {
  readonly steps: readonly Evaluator[];
  readonly result: ResultEvaluator;
}

/** The compiled steps of a plan by name, the result step apart. */
interface CompiledPlan {
  readonly steps: ReadonlyMap<string, Evaluator>;
  readonly result: ResultEvaluator | undefined;
}

/** Counters for tests and benchmarks: how often scalars were compiled. */
export const executorStats = { compiledSteps: 0 };

/**
 * Runs `op` with `params` bound (key/value names or POST params) and returns the value of its
 * last step, as its route answered it (an `EncodedJson` stays wrapped: take `plainValue` to go on
 * with it). `params` becomes the op's scope (it is mutated: callers pass a fresh map).
 *
 * @example
 * ```ts
 * runOp(ctx, decodeOpDef({"/state/scalar/op/post": [["r", {"$x/add": {"r": 1}}]]}), new Map([["x", 1]])); // 2
 * ```
 */
function runOp(ctx: ExecContext, op: OpDef, params: Scope, plan: OpPlan = planOp(op)): OpResult {
  if (++ctx.depth > ctx.limits.maxDepth) {
    ctx.depth--;
    throw new BudgetExceededError("maxDepth", ctx.limits.maxDepth, "call nesting");
  }
  try {
    const schedule = plan.schedule(params);
    if (schedule.captureIsParam) return params.get(schedule.capture)!;
    const steps = schedule.steps;
    const compiled = (schedule.compiled ??= compileSchedule(plan, steps)) as CompiledSchedule;
    const evals = compiled.steps;
    // The result step comes last (every other scheduled step is one of its dependencies), and
    // nothing reads the scope after it: its value is returned without a round trip through it.
    const last = steps.length - 1;
    for (let i = 0; i < last; i++) {
      ctx.tick();
      params.set(steps[i]!, evals[i]!(params, ctx));
    }
    ctx.tick();
    return compiled.result(params, ctx);
  } finally {
    ctx.depth--;
  }
}

/**
 * Invokes an OpDef as a route handler (a library member, or `execute`): like `runOp`, but PUT
 * and DELETE OpDefs answer `null` (v2 discards their result).
 */
export function invokeOp(ctx: ExecContext, op: OpDef, params: Scope): OpResult {
  const result = runOp(ctx, op, params);
  return op.verb === "put" || op.verb === "delete" ? null : result;
}

/**
 * Runs `op` as a POST closure over `scope`: its free ids are captured from `scope` (lexical
 * capture), then `bound` is applied on top.
 */
export function callClosure(
  ctx: ExecContext,
  scope: Scope,
  op: OpDef,
  bound: Readonly<Record<string, KernelValue>>,
): KernelValue {
  const plan = planOp(op);
  const params = captured(scope, plan);
  for (const key of Object.keys(bound)) params.set(key, bound[key]!);
  return plainValue(runOp(ctx, op, params, plan));
}

/** `callClosure` with one bound name (loops call this once per item). */
function callClosure1(ctx: ExecContext, scope: Scope, op: OpDef, name: string, value: KernelValue): KernelValue {
  const plan = planOp(op);
  const params = captured(scope, plan);
  params.set(name, value);
  return plainValue(runOp(ctx, op, params, plan));
}

/** A new scope holding the values of the planned op's free ids found in `scope`. */
function captured(scope: Scope, plan: OpPlan): Scope {
  const params: Scope = new Map();
  const free = plan.freeIds;
  for (let i = 0; i < free.length; i++) {
    const v = scope.get(free[i]!);
    if (v !== undefined) params.set(free[i]!, v);
  }
  return params;
}

/** The evaluators of `steps` in order, the last (the result step) apart; cached on the schedule. */
function compileSchedule(plan: OpPlan, steps: readonly string[]): CompiledSchedule {
  const compiled = compiledPlan(plan);
  const body = new Array<Evaluator>(steps.length - 1);
  for (let i = 0; i < body.length; i++) body[i] = compiled.steps.get(steps[i]!)!;
  return { steps: body, result: compiled.result! };
}

function compiledPlan(plan: OpPlan): CompiledPlan {
  let compiled = plan.compiled as CompiledPlan | undefined;
  if (!compiled) {
    const steps = new Map<string, Evaluator>();
    let result: ResultEvaluator | undefined;
    for (const [name, scalar] of plan.providers) {
      if (name === plan.capture) result = compileResult(scalar);
      else steps.set(name, compile(scalar));
    }
    executorStats.compiledSteps += plan.providers.size;
    plan.compiled = compiled = { steps, result };
  }
  return compiled;
}

function lookup(scope: Scope, name: string): KernelValue {
  const v = scope.get(name);
  if (v === undefined) throw new NotFoundError(`unknown id $${name}`);
  return v;
}

/** Compiles a scalar into a closure that resolves it against a scope. */
function compile(s: Scalar): Evaluator {
  if (isStatic(s)) {
    const value = s as KernelValue;
    return () => value;
  }
  if (Array.isArray(s)) {
    const items = (s as readonly Scalar[]).map(compile);
    return (scope, ctx) => {
      ctx.tuple(items.length, "a tuple step");
      const out = new Array<KernelValue>(items.length);
      for (let i = 0; i < items.length; i++) out[i] = items[i]!(scope, ctx);
      return out;
    };
  }
  const node = s as Exclude<Scalar, readonly Scalar[] | null | boolean | number | string | bigint | Uint8Array>;
  switch (node.kind) {
    case "link":
    case "opdef": {
      const value = node as KernelValue;
      return () => value;
    }
    case "map": {
      const entries = compileEntries(node.entries);
      const bytes = mapBytes(entries.length);
      return (scope, ctx) => {
        ctx.alloc(bytes);
        return valueMap(evalEntries(entries, scope, ctx));
      };
    }
    case "id": {
      const name = node.name;
      return (scope) => lookup(scope, name);
    }
    case "get":
    case "delete":
    case "put":
    case "post":
      return compileCallNode(node, false);
    case "cond":
      return compileCond(node, false);
    case "after":
      return compileAfter(node, false);
    case "while": {
      const cond = compile(node.cond);
      const step = compile(node.step);
      const initial = compile(node.state);
      return (scope, ctx) => {
        const condOp = cond(scope, ctx);
        const stepOp = step(scope, ctx);
        if (!isOpDef(condOp) || !isOpDef(stepOp)) {
          throw new BadRequestError(
            `while: expected OpDefs for the condition and the step, found ${aTypeName(condOp)} and ${aTypeName(stepOp)}`,
          );
        }
        let state = initial(scope, ctx);
        for (let i = 0; ; i++) {
          if (i >= ctx.limits.maxWhileIterations) {
            throw new BudgetExceededError("maxWhileIterations", ctx.limits.maxWhileIterations, "while iteration");
          }
          ctx.tick();
          if (!truthy(callClosure1(ctx, scope, condOp, "state", state), "the while condition")) return state;
          state = callClosure1(ctx, scope, stepOp, "state", state);
        }
      };
    }
    case "for_each": {
      const items = compile(node.items);
      const opE = compile(node.op);
      const itemName = node.itemName;
      return (scope, ctx) => {
        const list = items(scope, ctx);
        let seq: readonly KernelValue[];
        if (Array.isArray(list)) seq = list as readonly KernelValue[];
        else if (isMap(list)) {
          const keys = Object.keys(list.entries);
          ctx.tuple(keys.length, "for_each over a map's keys");
          seq = keys.sort();
        } else throw new BadRequestError(`for_each: expected a tuple or a map of items, found ${aTypeName(list)}`);
        const op = opE(scope, ctx);
        if (!isOpDef(op)) throw new BadRequestError(`for_each: expected an OpDef, found ${aTypeName(op)}`);
        let last: KernelValue = null;
        for (const item of seq) {
          ctx.tick();
          last = callClosure1(ctx, scope, op, itemName, item);
        }
        return last;
      };
    }
  }
}

/**
 * Compiles an op's result step. A route call in result position (the step itself, a `cond`
 * branch, the `then` of an `after`) hands back what the route answered, `EncodedJson` included,
 * so a result already in JSON form reaches the kernel uncopied; anywhere else (`compile`) a call
 * answers the plain value.
 */
function compileResult(s: Scalar): ResultEvaluator {
  if (s === null || typeof s !== "object" || Array.isArray(s)) return compile(s);
  const node = s as Exclude<Scalar, readonly Scalar[] | null | boolean | number | string | bigint | Uint8Array>;
  switch (node.kind) {
    case "get":
    case "delete":
    case "put":
    case "post":
      return isStatic(s) ? compile(s) : compileCallNode(node, true);
    case "cond":
      return compileCond(node, true);
    case "after":
      return compileAfter(node, true);
    default:
      return compile(s);
  }
}

function compileCallNode(node: GetRef | DeleteRef | PutRef | PostRef, result: false): Evaluator;
function compileCallNode(node: GetRef | DeleteRef | PutRef | PostRef, result: boolean): ResultEvaluator;
function compileCallNode(node: GetRef | DeleteRef | PutRef | PostRef, result: boolean): ResultEvaluator {
  switch (node.kind) {
    case "get":
    case "delete":
      return compileCall(node.kind, node.subject, compile(node.key), undefined, result);
    case "put":
      return compileCall("put", node.subject, compile(node.key), compile(node.value), result);
    case "post": {
      const entries = compileEntries(node.params);
      const subject = node.subject;
      if (subject.kind === "ref" && subject.path.length === 1) {
        const method = subject.path[0]!;
        const fn = builtin(method);
        if (fn) return compileBuiltinCall(subject.name, method, fn, entries);
      }
      const params: Evaluator = (scope, ctx) => valueMap(evalEntries(entries, scope, ctx));
      return compileCall("post", subject, () => null, params, result);
    }
  }
}

function compileCond(node: CondRef, result: false): Evaluator;
function compileCond(node: CondRef, result: boolean): ResultEvaluator;
function compileCond(node: CondRef, result: boolean): ResultEvaluator {
  const cond = compile(node.cond);
  const then = compileBranch(node.then, result);
  const otherwise = compileBranch(node.else, result);
  return (scope, ctx) => {
    const c = cond(scope, ctx);
    if (c === null) throw new BadRequestError("expected the cond condition to be a boolean, found none");
    return truthy(c, "the cond condition") ? then(scope, ctx) : otherwise(scope, ctx);
  };
}

function compileAfter(node: AfterRef, result: false): Evaluator;
function compileAfter(node: AfterRef, result: boolean): ResultEvaluator;
function compileAfter(node: AfterRef, result: boolean): ResultEvaluator {
  const when = compile(node.when);
  const then = result ? compileResult(node.then) : compile(node.then);
  return (scope, ctx) => {
    when(scope, ctx);
    return then(scope, ctx);
  };
}

/** A cond branch: an OpDef runs as a POST closure (lazily); anything else is resolved. */
function compileBranch(s: Scalar, result: boolean): ResultEvaluator {
  if (s !== null && typeof s === "object" && !Array.isArray(s) && (s as { kind: string }).kind === "opdef") {
    const op = s as OpDef;
    return (scope, ctx) => callClosure(ctx, scope, op, {});
  }
  return result ? compileResult(s) : compile(s);
}

type CompiledEntries = readonly (readonly [string, Evaluator])[];

function compileEntries(entries: Readonly<Record<string, Scalar>>): CompiledEntries {
  return Object.keys(entries).map((k) => [k, compile(entries[k]!)] as const);
}

function evalEntries(entries: CompiledEntries, scope: Scope, ctx: ExecContext): Record<string, KernelValue> {
  const out: Record<string, KernelValue> = {};
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    out[entry[0]] = entry[1](scope, ctx);
  }
  return out;
}

/**
 * A call on a link or on `$name/path`. In result position (`result`) the closure answers what the
 * route answered; elsewhere its plain value (`plainValue`).
 */
function compileCall(verb: Verb, subject: Subject, key: Evaluator, value: Evaluator | undefined, result: boolean): ResultEvaluator {
  if (subject.kind === "link") {
    const href = subject.href;
    if (href === PATHS.table) {
      if (verb !== "put") {
        // Thrown when the step runs, not when it compiles: a dead step must never fail an op.
        return () => {
          throw new BadRequestError(
            `a table literal is a PUT on ${PATHS.table}: {"${PATHS.table}": [schema, rows]}, not a ${verb.toUpperCase()}`,
          );
        };
      }
      return (scope, ctx) => tableLiteral(key(scope, ctx), value!(scope, ctx));
    }
    if (href.startsWith("/state/")) {
      // A table route may read rows into a tuple: charged once it is made.
      if (result) {
        if (value === undefined) return (scope, ctx) => chargeRead(ctx, ctx.routeLink(ctx, verb, href, key(scope, ctx), undefined));
        return (scope, ctx) => chargeRead(ctx, ctx.routeLink(ctx, verb, href, key(scope, ctx), value(scope, ctx)));
      }
      if (value === undefined) return (scope, ctx) => chargeRead(ctx, plainValue(ctx.routeLink(ctx, verb, href, key(scope, ctx), undefined)));
      return (scope, ctx) => chargeRead(ctx, plainValue(ctx.routeLink(ctx, verb, href, key(scope, ctx), value(scope, ctx))));
    }
    if (result) {
      if (value === undefined) return (scope, ctx) => ctx.routeLink(ctx, verb, href, key(scope, ctx), undefined);
      return (scope, ctx) => ctx.routeLink(ctx, verb, href, key(scope, ctx), value(scope, ctx));
    }
    if (value === undefined) return (scope, ctx) => plainValue(ctx.routeLink(ctx, verb, href, key(scope, ctx), undefined));
    return (scope, ctx) => plainValue(ctx.routeLink(ctx, verb, href, key(scope, ctx), value(scope, ctx)));
  }
  const name = subject.name;
  const path = subject.path;
  return (scope, ctx) => {
    const target = lookup(scope, name);
    const k = key(scope, ctx);
    const v = value === undefined ? undefined : value(scope, ctx);
    const answer = callOnValue(ctx, scope, name, target, path, verb, k, v);
    return result ? answer : plainValue(answer);
  };
}

/**
 * `{"$x/<built-in>": {params}}`: the method is resolved once. A table view in `$x` still gets the
 * route (views come first, as in `callOnValue`).
 */
function compileBuiltinCall(name: string, method: string, fn: Builtin, entries: CompiledEntries): Evaluator {
  const path = [method];
  // Only a built-in that calls closures needs the calling scope; the others share one env per
  // execution (a call per loop item would otherwise make one).
  const closures = CLOSURE_BUILTINS.has(method);
  return (scope, ctx) => {
    const target = lookup(scope, name);
    const params = evalEntries(entries, scope, ctx);
    if (target instanceof TableView) return chargeRead(ctx, ctx.txn.viewRequest(target, "post", path, null, valueMap(params)));
    return fn(target, params, closures ? new ScopeEnv(ctx, scope) : unscopedEnv(ctx), method);
  };
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A call whose subject is `$name/path`: a view route, a built-in, or a forwarded link call. */
function callOnValue(
  ctx: ExecContext,
  scope: Scope,
  name: string,
  target: KernelValue,
  path: readonly string[],
  verb: Verb,
  key: KernelValue,
  value: KernelValue | undefined,
): OpResult {
  if (isView(target)) return chargeRead(ctx, ctx.txn.viewRequest(target, verb, path, key, value));
  if (verb === "post" && path.length === 1 && BUILTIN_METHODS.has(path[0]!)) {
    return callBuiltin(path[0]!, target, isMap(value) ? value.entries : {}, builtinEnv(ctx, scope));
  }
  const href = isLink(target) ? target.href : typeof target === "string" && (target.startsWith("/") || ABSOLUTE.test(target)) ? target : undefined;
  if (href !== undefined) {
    const full = path.length === 0 ? href : `${href.replace(/\/+$/, "")}/${path.join("/")}`;
    const answer = ctx.routeLink(ctx, verb, full, key, value);
    return full.startsWith("/state/") ? chargeRead(ctx, answer) : answer;
  }
  if (path.length === 0) {
    throw new BadRequestError(`cannot ${verb.toUpperCase()} $${name}: ${aTypeName(target)} value is not callable`);
  }
  if (verb === "post" && path.length === 1) {
    return callBuiltin(path[0]!, target, {}, builtinEnv(ctx, scope)); // throws 404 naming the method
  }
  throw new NotFoundError(
    `no ${verb.toUpperCase()} method ${JSON.stringify(path.join("/"))} on $${name} (${aTypeName(target)}); built-in methods are called with POST`,
  );
}

/**
 * Charges what a table route answered: the tuple of rows a read made (`rows`, a range read) is
 * checked against `maxTupleLength` and charged as one tuple, plus 8 bytes a cell for its rows
 * (an upper estimate: rows of a whole-row read are the table's own, shared). The size is known
 * only once the rows are read; a read is bounded by the table it reads.
 */
function chargeRead<T extends OpResult>(ctx: ExecContext, answer: T): T {
  if (Array.isArray(answer)) {
    const n = (answer as readonly KernelValue[]).length;
    ctx.tuple(n, "a table read");
    const first = (answer as readonly KernelValue[])[0];
    if (Array.isArray(first)) ctx.alloc(n * 8 * (first as readonly KernelValue[]).length);
  }
  return answer;
}

/** What a built-in may call back into: closures over the calling scope, and the budget. */
class ScopeEnv implements BuiltinEnv {
  readonly meter: Meter;
  constructor(
    private readonly ctx: ExecContext,
    private readonly scope: Scope,
  ) {
    this.meter = ctx;
  }
  callClosure(op: OpDef, bound: Readonly<Record<string, KernelValue>>): KernelValue {
    return callClosure(this.ctx, this.scope, op, bound);
  }
  callClosure2(op: OpDef, name1: string, value1: KernelValue, name2: string, value2: KernelValue): KernelValue {
    const plan = planOp(op);
    const params = captured(this.scope, plan);
    params.set(name1, value1);
    params.set(name2, value2);
    return plainValue(runOp(this.ctx, op, params, plan));
  }
  tick(): void {
    this.ctx.tick();
  }
}

function builtinEnv(ctx: ExecContext, scope: Scope): BuiltinEnv {
  return new ScopeEnv(ctx, scope);
}

const NO_SCOPE: Scope = new Map();

/** The env of built-ins that call no closure: the budget only, one per execution. */
function unscopedEnv(ctx: ExecContext): BuiltinEnv {
  return (ctx.unscopedEnv ??= new ScopeEnv(ctx, NO_SCOPE)) as BuiltinEnv;
}

/** Refuses absolute links: the embedded kernel has no egress (404: no route to another host here). */
export function refuseEgress(href: string): never {
  throw new NotFoundError(
    `cannot call ${href}: the embedded kernel does not call other hosts (no egress); install the op here or run it on that host`,
  );
}

/** True when `href` is an absolute URL rather than a path. */
export function isAbsoluteHref(href: string): boolean {
  return ABSOLUTE.test(href);
}
