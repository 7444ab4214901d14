/**
 * The op executor (PROFILE §2): runs a planned OpDef inside one transaction.
 *
 * Every scalar of a form is compiled once into a small closure (`Evaluator`) and kept beside the
 * op's schedule, so executing the same op again neither re-decodes, re-plans nor re-walks its IR.
 * A running op keeps its values in a frame, an array with a slot per bound name and per step
 * (`Layout`, fixed by the schedule): ids are resolved to slots when they are compiled, and a loop
 * calling a closure per item makes one small array per call, not a map.
 * Execution is synchronous from the first step to the last: no `await` between steps, so an op
 * is atomic under the state layer's transaction lock and pays no promise overhead.
 *
 * Budgets (exec-context.ts) are checked where work happens: every step and loop iteration ticks;
 * every tuple or map a step builds, and every tuple a table route answers, is checked against
 * `maxTupleLength` and charged to `maxOpBytes` as it is made (built-ins charge what they make).
 */
import { BadRequestError, InternalError, NotFoundError } from "../../errors.js";
import type { AfterRef, CondRef, DeleteRef, GetRef, OpDef, PostRef, PutRef, Scalar, Subject, Verb } from "../../ir/types.js";
import { PATHS } from "../../ir/types.js";
import { CLOSURE_BUILTINS, builtin, callBuiltin, truthy, type Builtin, type BuiltinEnv, type Meter } from "./builtins.js";
import { isStatic, planOp, type OpPlan, type Schedule } from "./op-planner.js";
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

/** The bound names and values an op is invoked with (an execution's arguments, a member's params). */
type Params = ReadonlyMap<string, KernelValue>;
/**
 * A running op's values: slot `i < bound` holds the i-th bound name's value, slot `bound + j` the
 * j-th scheduled step's once it ran (`undefined` before).
 */
type Frame = KernelValue[];
/** Where each name of one schedule lives in its frames. */
type Layout = ReadonlyMap<string, number>;
/** A compiled scalar: resolves it against a frame to a plain kernel value. */
type Evaluator = (frame: Frame, ctx: ExecContext) => KernelValue;
/** A compiled result step: may answer what a route answered as is (see `compileResult`). */
type ResultEvaluator = (frame: Frame, ctx: ExecContext) => OpResult;

/** The compiled steps of one schedule: those run for their value, in order, then the result. */
interface CompiledSchedule {
  readonly layout: Layout;
  /** Slots in a frame: the bound names', then the steps run before the result. */
  readonly size: number;
  readonly bound: number;
  readonly steps: readonly Evaluator[];
  /** The result step, or the slot of the bound name that shadows it. */
  readonly result: ResultEvaluator | number;
}

/** Counters for tests and benchmarks: how often scalars were compiled. */
export const executorStats = { compiledSteps: 0 };

/*
 * The names and values an op is about to be called with, gathered here and copied into its frame
 * once its schedule says how large the frame is. Only `bind` and `runBound` touch them, and
 * nothing runs between the first `bind` of a call and its `runBound`, so nested calls never see
 * a half-gathered call.
 */
const pending = { names: [] as string[], values: [] as KernelValue[], count: 0 };
const KEPT_PENDING = 1024;

/**
 * Binds `name` for the next `runBound`. A name bound twice (a closure's own binding over a
 * captured one) keeps both slots; the frame's layout reads the later, so the later binding wins.
 */
function bind(name: string, value: KernelValue): void {
  const n = pending.count;
  // Entries of earlier calls are overwritten, not truncated (a shrunk array gives up its storage);
  // only arrays grown past KEPT_PENDING are dropped, after their call (`runBound`).
  pending.names[n] = name;
  pending.values[n] = value;
  pending.count = n + 1;
}

/** `bind` in the argument order of `Map.forEach` (a for-of over a map makes an entry per item). */
function bindEntry(value: KernelValue, name: string): void {
  bind(name, value);
}

/**
 * Runs the planned op with the names gathered by `bind` bound and returns the value of its last
 * step, as its route answered it (an `EncodedJson` stays wrapped: take `plainValue` to go on with
 * it).
 */
function runBound(ctx: ExecContext, plan: OpPlan): OpResult {
  if (++ctx.depth > ctx.limits.maxDepth) {
    ctx.depth--;
    pending.count = 0;
    throw new BudgetExceededError("maxDepth", ctx.limits.maxDepth, "call nesting");
  }
  try {
    let compiled: CompiledSchedule;
    let frame: Frame;
    try {
      const schedule = plan.schedule(pending.names, pending.count);
      compiled = (schedule.compiled ??= compileSchedule(plan, schedule, pending.names.slice(0, pending.count))) as CompiledSchedule;
      frame = new Array<KernelValue>(compiled.size);
      const values = pending.values;
      for (let i = 0; i < pending.count; i++) {
        frame[i] = values[i]!;
        values[i] = null; // not kept alive here
      }
    } finally {
      pending.count = 0;
      // A call with many arguments does not leave arrays that large behind.
      if (pending.names.length > KEPT_PENDING) pending.names = [];
      if (pending.values.length > KEPT_PENDING) pending.values = [];
    }
    const result = compiled.result;
    if (typeof result === "number") return frame[result]!;
    const evals = compiled.steps;
    // The result step comes last (every other scheduled step is one of its dependencies), and
    // nothing reads the frame after it: its value is returned without a round trip through it.
    const first = compiled.bound;
    for (let i = 0; i < evals.length; i++) {
      ctx.tick();
      frame[first + i] = evals[i]!(frame, ctx);
    }
    ctx.tick();
    return result(frame, ctx);
  } finally {
    ctx.depth--;
  }
}

/**
 * Invokes an OpDef as a route handler (a library member, or `execute`) with `params` bound (key
 * and value names, or POST params): PUT and DELETE OpDefs answer `null` (v2 discards their
 * result), others the value of their last step.
 *
 * @example
 * ```ts
 * invokeOp(ctx, decodeOpDef({"/state/scalar/op/post": [["r", {"$x/add": {"r": 1}}]]}), new Map([["x", 1]])); // 2
 * ```
 */
export function invokeOp(ctx: ExecContext, op: OpDef, params: Params): OpResult {
  const plan = planOp(op);
  params.forEach(bindEntry);
  const result = runBound(ctx, plan);
  return op.verb === "put" || op.verb === "delete" ? null : result;
}

/**
 * Binds the values of `op`'s free ids found in a frame of `layout` (lexical capture): the first
 * bindings of a closure call, made before its own.
 */
function capture(layout: Layout, frame: Frame, plan: OpPlan): void {
  const free = plan.freeIds;
  for (let i = 0; i < free.length; i++) {
    const slot = layout.get(free[i]!);
    if (slot === undefined) continue;
    const v = frame[slot];
    if (v !== undefined) bind(free[i]!, v);
  }
}

/**
 * Runs `op` as a POST closure over a frame of `layout`: its free ids are captured from the frame,
 * then `bound` is applied on top.
 */
function callClosure(
  ctx: ExecContext,
  layout: Layout,
  frame: Frame,
  op: OpDef,
  bound: Readonly<Record<string, KernelValue>>,
): KernelValue {
  const plan = planOp(op);
  capture(layout, frame, plan);
  for (const key of Object.keys(bound)) bind(key, bound[key]!);
  return plainValue(runBound(ctx, plan));
}

/** `callClosure` with one bound name (loops call this once per item). */
function callClosure1(ctx: ExecContext, layout: Layout, frame: Frame, op: OpDef, name: string, value: KernelValue): KernelValue {
  const plan = planOp(op);
  capture(layout, frame, plan);
  bind(name, value);
  return plainValue(runBound(ctx, plan));
}

/**
 * The evaluators of a schedule's steps in order, the last (the result step) apart, compiled
 * against the layout of its frames: the bound names in `names` order (a name listed twice at its
 * later slot), then the steps. Cached on the schedule (one per ordered list of bound names).
 */
function compileSchedule(plan: OpPlan, schedule: Schedule, names: readonly string[]): CompiledSchedule {
  const layout = new Map<string, number>();
  for (let i = 0; i < names.length; i++) layout.set(names[i]!, i);
  if (schedule.captureIsParam) {
    return { layout, size: names.length, bound: names.length, steps: [], result: layout.get(schedule.capture)! };
  }
  const steps = schedule.steps;
  const last = steps.length - 1;
  for (let i = 0; i < last; i++) layout.set(steps[i]!, names.length + i);
  const body = new Array<Evaluator>(last);
  for (let i = 0; i < last; i++) body[i] = compile(plan.providers.get(steps[i]!)!, layout);
  const result = compileResult(plan.providers.get(steps[last]!)!, layout);
  executorStats.compiledSteps += steps.length;
  return { layout, size: names.length + last, bound: names.length, steps: body, result };
}

/** The slot of `$name` in frames of `layout`, or -1 (a 404 when the id is read: `lookup`). */
function slotOf(layout: Layout, name: string): number {
  const slot = layout.get(name);
  return slot === undefined ? -1 : slot;
}

function lookup(frame: Frame, slot: number, name: string): KernelValue {
  const v = slot < 0 ? undefined : frame[slot];
  if (v === undefined) throw new NotFoundError(`unknown id $${name}`);
  return v;
}

/** Compiles a scalar into a closure that resolves it against a frame of `layout`. */
function compile(s: Scalar, layout: Layout): Evaluator {
  if (isStatic(s)) {
    const value = s as KernelValue;
    return () => value;
  }
  if (Array.isArray(s)) {
    const items = (s as readonly Scalar[]).map((item) => compile(item, layout));
    return (frame, ctx) => {
      ctx.tuple(items.length, "a tuple step");
      const out = new Array<KernelValue>(items.length);
      for (let i = 0; i < items.length; i++) out[i] = items[i]!(frame, ctx);
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
      const entries = compileEntries(node.entries, layout);
      const bytes = mapBytes(entries.length);
      return (frame, ctx) => {
        ctx.alloc(bytes);
        return valueMap(evalEntries(entries, frame, ctx));
      };
    }
    case "id": {
      const name = node.name;
      const slot = slotOf(layout, name);
      return (frame) => lookup(frame, slot, name);
    }
    case "get":
    case "delete":
    case "put":
    case "post":
      return compileCallNode(node, layout, false);
    case "cond":
      return compileCond(node, layout, false);
    case "after":
      return compileAfter(node, layout, false);
    case "while": {
      const cond = compile(node.cond, layout);
      const step = compile(node.step, layout);
      const initial = compile(node.state, layout);
      return (frame, ctx) => {
        const condOp = cond(frame, ctx);
        const stepOp = step(frame, ctx);
        if (!isOpDef(condOp) || !isOpDef(stepOp)) {
          throw new BadRequestError(
            `while: expected OpDefs for the condition and the step, found ${aTypeName(condOp)} and ${aTypeName(stepOp)}`,
          );
        }
        let state = initial(frame, ctx);
        for (let i = 0; ; i++) {
          if (i >= ctx.limits.maxWhileIterations) {
            throw new BudgetExceededError("maxWhileIterations", ctx.limits.maxWhileIterations, "while iteration");
          }
          ctx.tick();
          if (!truthy(callClosure1(ctx, layout, frame, condOp, "state", state), "the while condition")) return state;
          state = callClosure1(ctx, layout, frame, stepOp, "state", state);
        }
      };
    }
    case "for_each": {
      const items = compile(node.items, layout);
      const opE = compile(node.op, layout);
      const itemName = node.itemName;
      return (frame, ctx) => {
        const list = items(frame, ctx);
        let seq: readonly KernelValue[];
        if (Array.isArray(list)) seq = list as readonly KernelValue[];
        else if (isMap(list)) {
          const keys = Object.keys(list.entries);
          ctx.tuple(keys.length, "for_each over a map's keys");
          seq = keys.sort();
        } else throw new BadRequestError(`for_each: expected a tuple or a map of items, found ${aTypeName(list)}`);
        const op = opE(frame, ctx);
        if (!isOpDef(op)) throw new BadRequestError(`for_each: expected an OpDef, found ${aTypeName(op)}`);
        let last: KernelValue = null;
        for (const item of seq) {
          ctx.tick();
          last = callClosure1(ctx, layout, frame, op, itemName, item);
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
function compileResult(s: Scalar, layout: Layout): ResultEvaluator {
  if (s === null || typeof s !== "object" || Array.isArray(s)) return compile(s, layout);
  const node = s as Exclude<Scalar, readonly Scalar[] | null | boolean | number | string | bigint | Uint8Array>;
  switch (node.kind) {
    case "get":
    case "delete":
    case "put":
    case "post":
      return isStatic(s) ? compile(s, layout) : compileCallNode(node, layout, true);
    case "cond":
      return compileCond(node, layout, true);
    case "after":
      return compileAfter(node, layout, true);
    default:
      return compile(s, layout);
  }
}

function compileCallNode(node: GetRef | DeleteRef | PutRef | PostRef, layout: Layout, result: false): Evaluator;
function compileCallNode(node: GetRef | DeleteRef | PutRef | PostRef, layout: Layout, result: boolean): ResultEvaluator;
function compileCallNode(node: GetRef | DeleteRef | PutRef | PostRef, layout: Layout, result: boolean): ResultEvaluator {
  switch (node.kind) {
    case "get":
    case "delete":
      return compileCall(node.kind, node.subject, layout, compile(node.key, layout), undefined, result);
    case "put":
      return compileCall("put", node.subject, layout, compile(node.key, layout), compile(node.value, layout), result);
    case "post": {
      const subject = node.subject;
      if (subject.kind === "ref" && subject.path.length === 1) {
        const method = subject.path[0]!;
        const fn = builtin(method);
        if (fn) return compileBuiltinCall(subject.name, layout, method, fn, node.params);
      }
      const entries = compileEntries(node.params, layout);
      const params: Evaluator = (frame, ctx) => valueMap(evalEntries(entries, frame, ctx));
      return compileCall("post", subject, layout, () => null, params, result);
    }
  }
}

function compileCond(node: CondRef, layout: Layout, result: false): Evaluator;
function compileCond(node: CondRef, layout: Layout, result: boolean): ResultEvaluator;
function compileCond(node: CondRef, layout: Layout, result: boolean): ResultEvaluator {
  const cond = compile(node.cond, layout);
  const then = compileBranch(node.then, layout, result);
  const otherwise = compileBranch(node.else, layout, result);
  return (frame, ctx) => {
    const c = cond(frame, ctx);
    if (c === null) throw new BadRequestError("expected the cond condition to be a boolean, found none");
    return truthy(c, "the cond condition") ? then(frame, ctx) : otherwise(frame, ctx);
  };
}

function compileAfter(node: AfterRef, layout: Layout, result: false): Evaluator;
function compileAfter(node: AfterRef, layout: Layout, result: boolean): ResultEvaluator;
function compileAfter(node: AfterRef, layout: Layout, result: boolean): ResultEvaluator {
  const when = compile(node.when, layout);
  const then = result ? compileResult(node.then, layout) : compile(node.then, layout);
  return (frame, ctx) => {
    when(frame, ctx);
    return then(frame, ctx);
  };
}

/** A cond branch: an OpDef runs as a POST closure (lazily); anything else is resolved. */
function compileBranch(s: Scalar, layout: Layout, result: boolean): ResultEvaluator {
  if (s !== null && typeof s === "object" && !Array.isArray(s) && (s as { kind: string }).kind === "opdef") {
    const op = s as OpDef;
    return (frame, ctx) => callClosure(ctx, layout, frame, op, {});
  }
  return result ? compileResult(s, layout) : compile(s, layout);
}

type CompiledEntries = readonly (readonly [string, Evaluator])[];

function compileEntries(entries: Readonly<Record<string, Scalar>>, layout: Layout): CompiledEntries {
  return Object.keys(entries).map((k) => [k, compile(entries[k]!, layout)] as const);
}

function evalEntries(entries: CompiledEntries, frame: Frame, ctx: ExecContext): Record<string, KernelValue> {
  const out: Record<string, KernelValue> = {};
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    out[entry[0]] = entry[1](frame, ctx);
  }
  return out;
}

/**
 * A call on a link or on `$name/path`. In result position (`result`) the closure answers what the
 * route answered; elsewhere its plain value (`plainValue`).
 */
function compileCall(
  verb: Verb,
  subject: Subject,
  layout: Layout,
  key: Evaluator,
  value: Evaluator | undefined,
  result: boolean,
): ResultEvaluator {
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
      return (frame, ctx) => tableLiteral(key(frame, ctx), value!(frame, ctx));
    }
    if (href.startsWith("/state/")) {
      // A table route may read rows into a tuple: charged once it is made.
      if (result) {
        if (value === undefined) return (frame, ctx) => chargeRead(ctx, ctx.routeLink(ctx, verb, href, key(frame, ctx), undefined));
        return (frame, ctx) => chargeRead(ctx, ctx.routeLink(ctx, verb, href, key(frame, ctx), value(frame, ctx)));
      }
      if (value === undefined) return (frame, ctx) => chargeRead(ctx, plainValue(ctx.routeLink(ctx, verb, href, key(frame, ctx), undefined)));
      return (frame, ctx) => chargeRead(ctx, plainValue(ctx.routeLink(ctx, verb, href, key(frame, ctx), value(frame, ctx))));
    }
    if (result) {
      if (value === undefined) return (frame, ctx) => ctx.routeLink(ctx, verb, href, key(frame, ctx), undefined);
      return (frame, ctx) => ctx.routeLink(ctx, verb, href, key(frame, ctx), value(frame, ctx));
    }
    if (value === undefined) return (frame, ctx) => plainValue(ctx.routeLink(ctx, verb, href, key(frame, ctx), undefined));
    return (frame, ctx) => plainValue(ctx.routeLink(ctx, verb, href, key(frame, ctx), value(frame, ctx)));
  }
  const name = subject.name;
  const slot = slotOf(layout, name);
  const path = subject.path;
  return (frame, ctx) => {
    const target = lookup(frame, slot, name);
    const k = key(frame, ctx);
    const v = value === undefined ? undefined : value(frame, ctx);
    const answer = callOnValue(ctx, name, target, path, verb, k, v);
    return result ? answer : plainValue(answer);
  };
}

/**
 * The params of a call as one record made now, when none of them reads the frame (`{"i": 1}` of a
 * `get`): built-ins and view routes only read their params, so every call can share it.
 */
function staticParams(params: Readonly<Record<string, Scalar>>): Readonly<Record<string, KernelValue>> | undefined {
  const out: Record<string, KernelValue> = {};
  for (const k of Object.keys(params)) {
    const v = params[k]!;
    if (!isStatic(v)) return undefined;
    out[k] = v as KernelValue;
  }
  return Object.freeze(out);
}

/**
 * `{"$x/<built-in>": {params}}`: the method is resolved once. A table view in `$x` still gets the
 * route (views come first, as in `callOnValue`).
 */
function compileBuiltinCall(name: string, layout: Layout, method: string, fn: Builtin, scalars: Readonly<Record<string, Scalar>>): Evaluator {
  const path = [method];
  const fixed = staticParams(scalars);
  const entries = fixed === undefined ? compileEntries(scalars, layout) : [];
  const slot = slotOf(layout, name);
  // Only a built-in that calls closures needs the calling frame; the others share one env per
  // execution (a call per loop item would otherwise make one).
  const closures = CLOSURE_BUILTINS.has(method);
  return (frame, ctx) => {
    const target = lookup(frame, slot, name);
    const params = fixed ?? evalEntries(entries, frame, ctx);
    if (target instanceof TableView) return chargeRead(ctx, ctx.txn.viewRequest(target, "post", path, null, valueMap(params)));
    return fn(target, params, closures ? new FrameEnv(ctx, layout, frame) : budgetEnv(ctx), method);
  };
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * A call whose subject is `$name/path` and no built-in (those are compiled apart,
 * `compileBuiltinCall`): a view route, or a forwarded link call.
 */
function callOnValue(
  ctx: ExecContext,
  name: string,
  target: KernelValue,
  path: readonly string[],
  verb: Verb,
  key: KernelValue,
  value: KernelValue | undefined,
): OpResult {
  if (isView(target)) return chargeRead(ctx, ctx.txn.viewRequest(target, verb, path, key, value));
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
    return callBuiltin(path[0]!, target, {}, budgetEnv(ctx)); // throws 404 naming the method
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

/** What a built-in may call back into: closures over the calling frame, and the budget. */
class FrameEnv implements BuiltinEnv {
  readonly meter: Meter;
  constructor(
    private readonly ctx: ExecContext,
    private readonly layout: Layout,
    private readonly frame: Frame,
  ) {
    this.meter = ctx;
  }
  callClosure(op: OpDef, bound: Readonly<Record<string, KernelValue>>): KernelValue {
    return callClosure(this.ctx, this.layout, this.frame, op, bound);
  }
  callClosure2(op: OpDef, name1: string, value1: KernelValue, name2: string, value2: KernelValue): KernelValue {
    const plan = planOp(op);
    capture(this.layout, this.frame, plan);
    bind(name1, value1);
    bind(name2, value2);
    return plainValue(runBound(this.ctx, plan));
  }
  tick(): void {
    this.ctx.tick();
  }
}

/**
 * The env of built-ins that call no closure (not in `CLOSURE_BUILTINS`): the budget only, one per
 * execution. It has no frame to capture from, so a closure call through it is a bug, refused.
 */
class BudgetEnv implements BuiltinEnv {
  readonly meter: Meter;
  constructor(private readonly ctx: ExecContext) {
    this.meter = ctx;
  }
  callClosure(): KernelValue {
    throw new InternalError("a built-in called a closure without its caller's frame: list it in CLOSURE_BUILTINS");
  }
  callClosure2(): KernelValue {
    return this.callClosure();
  }
  tick(): void {
    this.ctx.tick();
  }
}

function budgetEnv(ctx: ExecContext): BuiltinEnv {
  return (ctx.budgetEnv ??= new BudgetEnv(ctx)) as BuiltinEnv;
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
