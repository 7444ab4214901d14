/**
 * Values a traversal takes from its caller — filter values, window bounds, execution arguments —
 * checked and turned into plan values (`{lit}` or `{param}`), so a bad value fails with a typed
 * error naming where it was given, before anything runs.
 */
import { BadRequestError } from "../errors.js";
import { idProblem } from "../ir/id.js";
import { isWellFormedString } from "../ir/well-formed.js";
import { PATHS, type Json } from "../ir/types.js";
import type { PlanValue } from "../ir/traverse-plan.js";
import { toWire } from "../orm/cell-codec.js";
import type { ColumnMeta } from "../orm/meta.js";
import { showValue } from "../ir/show-value.js";

/** A parameter reference (`param("me")` from the IR module): bound by name at execution. */
export interface ParamRef {
  readonly kind: "id";
  readonly name: string;
}

/** An execution argument: a JSON value, or a Date, bigint or bytes for a parameter compared with a column of that type. */
export type ArgValue = Json | bigint | Date | Uint8Array | readonly ArgValue[];

/** A value or a parameter. */
export type ValueOrParam<T> = T | ParamRef;

function isParam(v: unknown): v is ParamRef {
  return v !== null && typeof v === "object" && !Array.isArray(v) && (v as { kind?: unknown }).kind === "id" && typeof (v as { name?: unknown }).name === "string";
}

/** The typed forms a filter value may take once encoded for its column: bytes, a 64-bit integer. */
const TYPED_WIRE = new Set<string>([PATHS.value.bytes, PATHS.value.int64, PATHS.value.uint64]);

/** True for `{"<bytes or 64-bit integer path>": "<text>"}`: a typed value in its wire form. */
function isTypedWire(v: unknown): boolean {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && TYPED_WIRE.has(keys[0]!) && typeof (v as Record<string, unknown>)[keys[0]!] === "string";
}

/**
 * `v` as a plan literal: none, bool, a finite number within ±(2^53 − 1), a string, a typed value
 * in its wire form (bytes, a 64-bit integer: `filterEncoders` makes them), or a tuple of these.
 * Throws `BadRequestError` naming `where`.
 *
 * @example
 * ```ts
 * checkLiteral([1, "a"], "where(city)"); // [1, "a"]
 * checkLiteral(NaN, "limit()");          // throws: limit(): NaN is not a finite number
 * ```
 */
export function checkLiteral(v: unknown, where: string): Json {
  if (typeof v === "string") {
    if (!isWellFormedString(v)) throw new BadRequestError(`${where}: the string has a lone surrogate (an unpaired U+D800..U+DFFF), which no table can hold`);
    return v;
  }
  if (v === null || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new BadRequestError(`${where}: ${v} is not a finite number`);
    if (Number.isInteger(v) && !Number.isSafeInteger(v)) throw new BadRequestError(`${where}: integer ${v} is outside ±(2^53 − 1)`);
    return v;
  }
  if (Array.isArray(v)) return v.map((x, i) => checkLiteral(x, `${where}[${i}]`));
  if (isTypedWire(v)) return v as Json;
  if (v instanceof Date || typeof v === "bigint" || v instanceof Uint8Array) {
    throw new BadRequestError(`${where}: a ${v instanceof Date ? "Date" : typeof v === "bigint" ? "bigint" : "Uint8Array"} compares with a column of its type (timestamp, i64/u64, bytes) only`);
  }
  throw new BadRequestError(`${where}: expected a value (none, bool, number, string, tuple) or param(name), got ${typeof v}`);
}

/**
 * True for a value `checkLiteral` accepts as it is: none, bool, string, a finite safe number
 * (the common case of an execution argument, checked without a call).
 *
 * @example
 * ```ts
 * isPlainLiteral("paris"); // true
 * isPlainLiteral([1, 2]);  // false: checkLiteral looks inside
 * ```
 */
export function isPlainLiteral(v: unknown): boolean {
  switch (typeof v) {
    case "string":
      return isWellFormedString(v as string);
    case "boolean":
      return true;
    case "number":
      return Number.isInteger(v) ? Number.isSafeInteger(v) : Number.isFinite(v);
    default:
      return v === null;
  }
}

/**
 * A filter value as a plan value: `param(name)` (the name must be an Id) or a checked literal.
 *
 * @example
 * ```ts
 * planValue(param("me"), "match(users).id"); // { param: "me" }
 * planValue("paris", "where(city)");         // { lit: "paris" }
 * ```
 */
export function planValue(v: unknown, where: string): PlanValue {
  if (isParam(v)) {
    const problem = idProblem(v.name);
    if (problem) throw new BadRequestError(`${where}: invalid parameter name ${showValue(v.name)}: ${problem}`);
    return { param: v.name };
  }
  return { lit: checkLiteral(v, where) };
}

/**
 * A window bound (`limit`, `offset`): a non-negative safe integer or `param(name)`.
 *
 * @example
 * ```ts
 * checkCount(10, "limit()"); // { lit: 10 }
 * ```
 */
export function checkCount(n: unknown, what: string): PlanValue {
  if (isParam(n)) return planValue(n, what);
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw new BadRequestError(`${what} must be a non-negative integer or param(name), got ${showValue(n)}`);
  }
  return { lit: n };
}

/** Encodes a filter value given for one column (`where` names it in errors). */
export type FilterEncoder = (v: unknown, where: string) => unknown;

/**
 * The encoders of the columns whose filter values have a form of their own on the wire, by
 * column: a Date (timestamp: its milliseconds), a bigint (i64/u64: a number, or the typed form
 * beyond ±(2^53 − 1)), bytes (their typed form), a uuid (lowercase, as stored); each item of a
 * tuple (`in`). Other values pass unchanged, to be checked as literals.
 *
 * @example
 * ```ts
 * filterEncoders(meta.columns).at!(new Date(5), "where(at)"); // 5
 * ```
 */
export function filterEncoders(columns: readonly ColumnMeta[]): Record<string, FilterEncoder> {
  const out: Record<string, FilterEncoder> = {};
  for (const c of columns) {
    const own: ((v: unknown) => boolean) | undefined =
      c.dtype === "timestamp" ? (v) => v instanceof Date
      : c.dtype === "bytes" ? (v) => v instanceof Uint8Array
      : c.dtype === "i64" || c.dtype === "u64" ? (v) => typeof v === "bigint"
      : c.dtype === "uuid" ? (v) => typeof v === "string"
      : undefined;
    if (own === undefined) continue;
    const one = (v: unknown, where: string): unknown => {
      if (!own(v)) return v;
      if (v instanceof Date && Number.isNaN(v.getTime())) throw new BadRequestError(`${where}: an invalid Date`);
      return toWire(c, v);
    };
    out[c.name] = (v, where) => (Array.isArray(v) ? v.map((x, i) => one(x, `${where}[${i}]`)) : one(v, where));
  }
  return out;
}
