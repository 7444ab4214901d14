/**
 * Built-in methods on scalars in scope (PROFILE §2, reference §2.5): `{"$x/<method>": {params}}`
 * (POST). The v2 set `add eq gt and or xor not len slice head tail concat render get fold reduce`
 * plus the v1 methods the profile keeps: `sub mul div mod lt ge le ne`.
 *
 * A built-in that makes a string, a tuple or a map checks its size and charges it to the op's
 * memory budget (`Meter`) before making it; `eq`/`ne` count the nodes they compare as work.
 */
import { BadRequestError, NotFoundError } from "../../errors.js";
import { isId } from "../../ir/id.js";
import type { OpDef } from "../../ir/types.js";
import type { ExecContext } from "./exec-context.js";
import {
  mapBytes,
  stringBytes,
  isLink,
  isMap,
  isOpDef,
  aTypeName,
  valuesEqual,
  type KernelValue,
} from "./kernel-value.js";

/** What a built-in needs from the executor: calling an OpDef as a closure, and the budget. */
export interface BuiltinEnv {
  /** Runs `op` as a POST closure: captured free ids from the calling scope, then `bound`. */
  callClosure(op: OpDef, bound: Record<string, KernelValue>): KernelValue;
  /** `callClosure` with exactly two bound names (the common `fold` case, without a record). */
  callClosure2(op: OpDef, name1: string, value1: KernelValue, name2: string, value2: KernelValue): KernelValue;
  /** Counts one unit of work against the op's step budget. */
  tick(): void;
  /** The op's memory and time meter: sizes are checked and charged here before values are made. */
  readonly meter: Meter;
}

/** The part of an execution's budget a built-in charges (`ExecContext`). */
export type Meter = Pick<ExecContext, "alloc" | "work" | "checkString" | "tuple">;

type Params = Readonly<Record<string, KernelValue>>;

/** The names of every built-in method. */
export const BUILTIN_METHODS: ReadonlySet<string> = new Set([
  "add", "sub", "mul", "div", "mod",
  "eq", "ne", "gt", "lt", "ge", "le",
  "and", "or", "xor", "not",
  "len", "slice", "head", "tail", "concat", "render", "get", "fold", "reduce",
]);

/** The built-ins that call an OpDef as a closure over the calling scope (`BuiltinEnv.callClosure`). */
export const CLOSURE_BUILTINS: ReadonlySet<string> = new Set(["fold", "reduce"]);

/**
 * Runs the built-in `method` on `subject`. Throws `NotFoundError` naming the method when there is
 * no such built-in, `BadRequestError` on wrong operand types or missing params.
 *
 * @example
 * ```ts
 * callBuiltin("add", 1, { r: 2 }, env); // 3
 * callBuiltin("slice", [1, 2, 3], { start: -2 }, env); // [2, 3]
 * ```
 */
export function callBuiltin(method: string, subject: KernelValue, params: Params, env: BuiltinEnv): KernelValue {
  const fn = builtin(method);
  if (!fn) {
    throw new NotFoundError(
      `unknown method ${JSON.stringify(method)} on ${aTypeName(subject)} value (built-ins: ${[...BUILTIN_METHODS].join(" ")})`,
    );
  }
  return fn(subject, params, env, method);
}

/** A built-in method, for callers that resolve the method once (compiled op calls). */
export type Builtin = (subject: KernelValue, params: Params, env: BuiltinEnv, method: string) => KernelValue;

/** The built-in named `method`, or `undefined`. */
export function builtin(method: string): Builtin | undefined {
  return Object.prototype.hasOwnProperty.call(BUILTINS, method) ? BUILTINS[method] : undefined;
}

function param(params: Params, name: string, method: string): KernelValue {
  if (!Object.prototype.hasOwnProperty.call(params, name)) {
    throw new BadRequestError(`${method}: missing parameter ${JSON.stringify(name)}`);
  }
  return params[name]!;
}

/**
 * `a` then `b` in a new tuple. `Array.prototype.concat` has a fixed cost (it checks every argument
 * for `Symbol.isConcatSpreadable`) that is several times this loop's for short tuples (a `fold`
 * appending a row per item), but copies long ones in bulk, several times faster than the loop.
 */
function joinTuples(a: readonly KernelValue[], b: readonly KernelValue[]): KernelValue[] {
  if (a.length + b.length > 32) return a.concat(b);
  const out = new Array<KernelValue>(a.length + b.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]!;
  for (let i = 0; i < b.length; i++) out[a.length + i] = b[i]!;
  return out;
}

function num(v: KernelValue, method: string, what: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  throw new BadRequestError(`${method}: expected a number as ${what}, found ${aTypeName(v)}`);
}

function strictNum(v: KernelValue, method: string, what: string): number {
  if (typeof v === "number") return v;
  throw new BadRequestError(`${method}: expected a number as ${what}, found ${aTypeName(v)}`);
}

function finite(n: number, method: string): number {
  if (!Number.isFinite(n)) throw new BadRequestError(`${method}: the result ${n} is not a finite number`);
  return n;
}

/** Integer arithmetic must stay exact: past ±(2^53 − 1) a JS number silently rounds. */
function exact(a: number, b: number, n: number, method: string): number {
  finite(n, method);
  if (Number.isInteger(a) && Number.isInteger(b) && !Number.isSafeInteger(n)) {
    throw new BadRequestError(`${method}: the integer result ${n} is outside ±(2^53 − 1) and cannot be exact`);
  }
  return n;
}

/** Truthiness of a condition: bool, or a number (non-zero = true). */
export function truthy(v: KernelValue, what: string): boolean {
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  throw new BadRequestError(`expected ${what} to be a boolean or a number, found ${aTypeName(v)}`);
}

function tuple(v: KernelValue, method: string): readonly KernelValue[] {
  if (Array.isArray(v)) return v as readonly KernelValue[];
  throw new BadRequestError(`${method}: expected a tuple, found ${aTypeName(v)}`);
}

function arith(op: (a: number, b: number) => number): Builtin {
  return (subject, params, _env, method) => {
    const a = strictNum(subject, method, "the subject");
    const b = strictNum(param(params, "r", method), method, "r");
    return exact(a, b, op(a, b), method);
  };
}

/** A number or a 64-bit integer (a `bigint`): JS compares the two exactly. */
function comparable(v: KernelValue, method: string, what: string): number {
  if (typeof v === "bigint") return v as unknown as number;
  return strictNum(v, method, what);
}

function compare(op: (a: number, b: number) => boolean): Builtin {
  return (subject, params, _env, method) =>
    op(comparable(subject, method, "the subject"), comparable(param(params, "r", method), method, "r"));
}

function logic(op: (a: boolean, b: boolean) => boolean): Builtin {
  return (subject, params, _env, method) =>
    op(truthy(subject, `the subject of ${method}`), truthy(param(params, "r", method), `r of ${method}`));
}

/** Python-style index normalisation with clamping. */
function clampIndex(i: number, len: number): number {
  if (i < 0) i += len;
  return Math.min(Math.max(i, 0), len);
}

function integer(v: KernelValue, method: string, what: string): number {
  const n = num(v, method, what);
  if (!Number.isInteger(n)) throw new BadRequestError(`${method}: ${what} must be an integer, found ${n}`);
  return n;
}

/** `a + b` for strings, checked and charged before it is made. */
function joinStrings(a: string, b: string, meter: Meter, what: string): string {
  const n = a.length + b.length;
  meter.checkString(n, what);
  meter.alloc(stringBytes(n));
  return a + b;
}

function renderPiece(v: KernelValue, key: string): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (isLink(v)) return v.href;
  throw new BadRequestError(`render: parameter ${JSON.stringify(key)} must be a string, number or link, found ${aTypeName(v)}`);
}

const BUILTINS: Readonly<Record<string, Builtin>> = {
  add: arith((a, b) => a + b),
  sub: arith((a, b) => a - b),
  mul: arith((a, b) => a * b),
  div: (subject, params, _env, method) => {
    const a = strictNum(subject, method, "the subject");
    const b = strictNum(param(params, "r", method), method, "r");
    if (b === 0) throw new BadRequestError("div: division by zero");
    return finite(a / b, method);
  },
  mod: (subject, params, _env, method) => {
    const a = strictNum(subject, method, "the subject");
    const b = strictNum(param(params, "r", method), method, "r");
    if (b === 0) throw new BadRequestError("mod: division by zero");
    return finite(a % b, method);
  },
  eq: (subject, params, env, method) => valuesEqual(subject, param(params, "r", method), env.meter),
  ne: (subject, params, env, method) => !valuesEqual(subject, param(params, "r", method), env.meter),
  gt: compare((a, b) => a > b),
  lt: compare((a, b) => a < b),
  ge: compare((a, b) => a >= b),
  le: compare((a, b) => a <= b),
  and: logic((a, b) => a && b),
  or: logic((a, b) => a || b),
  xor: logic((a, b) => a !== b),
  not: (subject) => !truthy(subject, "the subject of not"),
  len: (subject) => {
    if (Array.isArray(subject)) return subject.length;
    if (isMap(subject)) return Object.keys(subject.entries).length;
    throw new BadRequestError(`len: expected a tuple or a map, found ${aTypeName(subject)}`);
  },
  slice: (subject, params, env, method) => {
    const items = tuple(subject, method);
    const start = params.start === undefined || params.start === null ? 0 : integer(params.start, method, "start");
    const stop =
      params.stop === undefined || params.stop === null ? items.length : integer(params.stop, method, "stop");
    const from = clampIndex(start, items.length);
    const to = clampIndex(stop, items.length);
    if (from >= to) return [];
    env.meter.tuple(to - from, "slice");
    return items.slice(from, to);
  },
  head: (subject, _params, _env, method) => {
    const items = tuple(subject, method);
    if (items.length === 0) throw new BadRequestError("head: the tuple is empty");
    return items[0]!;
  },
  tail: (subject, _params, env, method) => {
    const items = tuple(subject, method);
    if (items.length > 1) env.meter.tuple(items.length - 1, "tail");
    return items.slice(1);
  },
  concat: (subject, params, env, method) => {
    const r = param(params, "r", method);
    if (typeof subject === "string" && typeof r === "string") return joinStrings(subject, r, env.meter, "concat");
    if (Array.isArray(subject) && Array.isArray(r)) {
      env.meter.tuple(subject.length + r.length, "concat");
      return joinTuples(subject as readonly KernelValue[], r as readonly KernelValue[]);
    }
    throw new BadRequestError(`concat: expected two strings or two tuples, found ${aTypeName(subject)} and ${aTypeName(r)}`);
  },
  render: (subject, params, env) => {
    if (typeof subject !== "string") {
      throw new BadRequestError(`render: expected a string template, found ${aTypeName(subject)}`);
    }
    // The output's length is counted piece by piece, so an oversized result is refused before
    // it is joined.
    let length = subject.length;
    const out = subject.replace(/\{\{([^{}]*)\}\}/g, (whole, key: string) => {
      const name = key.trim();
      if (!Object.prototype.hasOwnProperty.call(params, name)) return whole;
      const piece = renderPiece(params[name]!, name);
      length += piece.length - whole.length;
      env.meter.checkString(length, "render");
      return piece;
    });
    env.meter.alloc(stringBytes(out.length));
    return out;
  },
  get: (subject, params, _env, method) => {
    const i = param(params, "i", method);
    if (Array.isArray(subject)) {
      const index = integer(i, method, "i");
      const at = index < 0 ? index + subject.length : index;
      if (at < 0 || at >= subject.length) {
        throw new BadRequestError(`get: index ${index} is out of range for a tuple of length ${subject.length}`);
      }
      return subject[at] as KernelValue;
    }
    if (isMap(subject)) {
      if (typeof i !== "string") throw new BadRequestError(`get: a map key must be a string, found ${aTypeName(i)}`);
      if (!Object.prototype.hasOwnProperty.call(subject.entries, i)) {
        throw new BadRequestError(`get: the map has no key ${JSON.stringify(i)}`);
      }
      return subject.entries[i]!;
    }
    throw new BadRequestError(`get: expected a tuple or a map, found ${aTypeName(subject)}`);
  },
  fold,
  reduce: fold,
};

/**
 * `fold`/`reduce`: for each item, params = the accumulator as a map (a non-map value becomes
 * `{state: value}`) plus `{<item_name>: item}`; the op's result is the next accumulator.
 */
function fold(subject: KernelValue, params: Params, env: BuiltinEnv, method: string): KernelValue {
  const items = tuple(subject, method);
  const itemName = param(params, "item_name", method);
  if (typeof itemName !== "string" || !isId(itemName)) {
    throw new BadRequestError(`${method}: item_name must be an Id string, found ${JSON.stringify(itemName)}`);
  }
  const op = param(params, "op", method);
  if (!isOpDef(op)) throw new BadRequestError(`${method}: op must be an OpDef, found ${aTypeName(op)}`);
  let value = param(params, "value", method);
  for (const item of items) {
    env.tick();
    if (isMap(value)) {
      env.meter.alloc(mapBytes(Object.keys(value.entries).length + 1));
      const bound: Record<string, KernelValue> = { ...value.entries };
      bound[itemName] = item;
      value = env.callClosure(op, bound);
    } else {
      value = env.callClosure2(op, "state", value, itemName, item);
    }
  }
  return value;
}

