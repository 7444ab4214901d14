/**
 * Values a traversal takes from its caller — filter values, window bounds, execution arguments —
 * checked and turned into plan values (`{lit}` or `{param}`), so a bad value fails with a typed
 * error naming where it was given, before anything runs.
 */
import { BadRequestError } from "../errors.js";
import { idProblem } from "../ir/id.js";
import { isWellFormedString } from "../ir/well-formed.js";
import type { Json } from "../ir/types.js";
import type { PlanValue } from "../ir/traverse-plan.js";

/** A parameter reference (`param("me")` from the IR module): bound by name at execution. */
export interface ParamRef {
  readonly kind: "id";
  readonly name: string;
}

/** A value or a parameter. */
export type ValueOrParam<T> = T | ParamRef;

function isParam(v: unknown): v is ParamRef {
  return v !== null && typeof v === "object" && !Array.isArray(v) && (v as { kind?: unknown }).kind === "id" && typeof (v as { name?: unknown }).name === "string";
}

/**
 * `v` as a plan literal: none, bool, a finite number within ±(2^53 − 1), a string, or a tuple of
 * these. Throws `BadRequestError` naming `where`.
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
    if (problem) throw new BadRequestError(`${where}: invalid parameter name ${JSON.stringify(v.name)}: ${problem}`);
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
    throw new BadRequestError(`${what} must be a non-negative integer or param(name), got ${JSON.stringify(n)}`);
  }
  return { lit: n };
}
