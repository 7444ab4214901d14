/**
 * What the IR decoder (`decode.ts`) and encoder (`encode.ts`) share (PROFILE §1; reference
 * wire-format §1, §2.2, §2.3): the nesting and number limits, JSON paths and value descriptions
 * for error messages, and `isRef`.
 */
import type { Ref, Scalar } from "./types.js";

/** Objects and arrays may nest at most this deep; deeper input fails cleanly (no stack overflow). */
export const MAX_DEPTH = 256;

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;
export const SAFE_RANGE = "a number within ±(2^53−1) (larger integers would be silently rounded)";

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
