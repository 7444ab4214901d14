/**
 * What the IR decoder (`decode.ts`) and encoder (`encode.ts`) share (PROFILE §1; reference
 * wire-format §1, §2.2, §2.3): the nesting and number limits, JSON paths and value descriptions
 * for error messages, and `isRef`.
 */
import type { Json, Ref, Scalar } from "./types.js";

/** Objects and arrays may nest at most this deep; deeper input fails cleanly (no stack overflow). */
export const MAX_DEPTH = 256;

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;
const INT64_DIGITS = /^-?(?:0|[1-9][0-9]{0,19})$/;

/** The 64-bit integer a typed-number string or number denotes, or `undefined` (out of range, not an integer). */
export function parseInt64(v: unknown): bigint | undefined {
  let n: bigint;
  if (typeof v === "string" && INT64_DIGITS.test(v)) n = BigInt(v);
  else if (typeof v === "number" && Number.isSafeInteger(v)) n = BigInt(v);
  else return undefined;
  return n >= I64_MIN && n <= U64_MAX ? n : undefined;
}

/** True for a bigint in the range 64-bit columns hold (−2^63 … 2^64 − 1). */
export function isInt64(n: bigint): boolean {
  return n >= I64_MIN && n <= U64_MAX;
}

/**
 * The JSON of a 64-bit integer: a plain number within ±(2^53 − 1), else the typed map
 * `{"/state/scalar/value/number/int/64": "-9223372036854775808"}`, or `…/uint/64` above 2^63 − 1
 * (v1's typed number maps; the digits are a string, as JSON numbers stop being exact at 2^53).
 */
export function int64Json(n: bigint): Json {
  if (n >= -9007199254740991n && n <= 9007199254740991n) return Number(n);
  const path = n > 9223372036854775807n ? "/state/scalar/value/number/uint/64" : "/state/scalar/value/number/int/64";
  return { [path]: n.toString() } as Json;
}

/** Base64 (standard alphabet, no padding: v1's bytes encoding) of `b`. */
export function bytesToBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64").replace(/=+$/, "");
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The bytes of a base64 string (padding optional), or `undefined` when it is not base64. */
export function base64ToBytes(s: string): Uint8Array | undefined {
  if (!BASE64.test(s) || s.replace(/=+$/, "").length % 4 === 1) return undefined;
  return new Uint8Array(Buffer.from(s, "base64"));
}

/** One step of a JSON path: an object key or an array index. */
export type PathSeg = string | number;

/**
 * A JSON path as error messages print it.
 *
 * @example
 * ```ts
 * formatPath(["/state/scalar/op/post", 1, 0]); // '$["/state/scalar/op/post"][1][0]'
 * ```
 */
export function formatPath(segs: readonly PathSeg[]): string {
  let out = "$";
  for (const s of segs) out += typeof s === "number" ? `[${s}]` : `[${JSON.stringify(s)}]`;
  return out;
}

/**
 * A short, safe description of an arbitrary value for error messages.
 *
 * @example
 * ```ts
 * describe([1, 2]);     // "an array of 2"
 * describe({ a: 1 });   // 'an object with keys "a"'
 * ```
 */
export function describe(x: unknown): string {
  try {
    if (x === null) return "null";
    if (Array.isArray(x)) return `an array of ${x.length}`;
    if (x instanceof Uint8Array) return `${x.length} bytes`;
    switch (typeof x) {
      case "string":
        return x.length > 60 ? `${JSON.stringify(x.slice(0, 60))}…` : JSON.stringify(x);
      case "number":
      case "boolean":
      case "bigint":
        return String(x);
      case "object": {
        const keys = Object.keys(x as object);
        const shown = keys.slice(0, 3).map((k) => JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k));
        return keys.length === 0 ? "{}" : `an object with keys ${shown.join(", ")}${keys.length > 3 ? ", …" : ""}`;
      }
      default:
        return typeof x;
    }
  } catch {
    return "an unreadable value";
  }
}

const REF_KINDS = new Set(["id", "get", "put", "post", "delete", "cond", "after", "while", "for_each"]);

/**
 * True when `s` is a reference (IdRef, op call or TCRef): resolving it needs a scope.
 *
 * @example
 * ```ts
 * isRef(id("x"));       // true
 * isRef(link("/lib/x")); // false — a link is a value
 * ```
 */
export function isRef(s: Scalar): s is Ref {
  return typeof s === "object" && s !== null && !Array.isArray(s) && REF_KINDS.has((s as { kind: string }).kind);
}
