/**
 * Cell values as a traversal compares them: the total order used for keys and `orderBy`, and
 * the filter test `col op value` (any comparison with `null` is false).
 */
import type { CmpOp } from "../../ir/traverse-plan.js";
import { compareStrings } from "../storage/index-keys.js";

function typeRank(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === "boolean") return 1;
  if (typeof v === "number" || typeof v === "bigint") return 2;
  if (typeof v === "string") return 3;
  if (v instanceof Uint8Array) return 6;
  if (Array.isArray(v)) return 5;
  return 4; // links and other objects: compared by their JSON text
}

/**
 * The total order used for keys and `orderBy`: none < bool < number < string < link < tuple;
 * strings and links by code point (the table engine's order); tuples lexicographically (a prefix
 * first).
 *
 * @example
 * ```ts
 * compareValues(2, "1"); // < 0: numbers before strings
 * compareValues([1], [1, 0]); // < 0: a prefix first
 * ```
 */
export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return 0;
    case 1:
    case 2:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 6:
      return Math.sign(Buffer.compare(a as Uint8Array, b as Uint8Array));
    case 3:
      // By code point, as the table engine orders keys (JS `<` compares UTF-16 units).
      return Math.sign(compareStrings(a as string, b as string));
    case 5: {
      const x = a as readonly unknown[];
      const y = b as readonly unknown[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    default: {
      return Math.sign(compareStrings(linkText(a), linkText(b)));
    }
  }
}

function linkText(v: unknown): string {
  const href = (v as { href?: unknown }).href;
  return typeof href === "string" ? href : JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x));
}

function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") {
    if (typeof a === "string" && b !== null && typeof b === "object") return a === linkText(b);
    if (typeof b === "string" && a !== null && typeof a === "object") return b === linkText(a);
    return false;
  }
  return compareValues(a, b) === 0;
}

/**
 * `col op value` as the traversal evaluates it: any comparison involving `null` is false;
 * ordering comparisons need both sides of the same type (numbers, strings or booleans), except
 * that a link is ordered by its href against a link or a string (code point order, as `=`
 * compares a link with a string); `in` takes a tuple and matches when one element is `=`.
 *
 * @example
 * ```ts
 * matchesOp(3, "in", [1, 3]); // true
 * matchesOp(null, "!=", 1); // false
 * matchesOp({ href: "/a" }, "=", "/a"); // true: a link equals its href
 * matchesOp({ href: "/a" }, "<", "/b"); // true: a link is ordered by its href
 * ```
 */
export function matchesOp(cell: unknown, op: CmpOp, value: unknown): boolean {
  if (cell === null || cell === undefined) return false;
  switch (op) {
    case "=":
      return value !== null && valuesEqual(cell, value);
    case "!=":
      return value !== null && !valuesEqual(cell, value);
    case "in":
      return Array.isArray(value) && value.some((v) => v !== null && valuesEqual(cell, v));
    default: {
      if (value === null) return false;
      let c: number;
      if (typeof cell === "object" || (typeof value === "object" && !Array.isArray(value))) {
        // A link is ordered by its href, against a link or a string (as `=` compares them).
        const a = orderedText(cell);
        const b = orderedText(value);
        if (a === undefined || b === undefined) return false;
        c = compareStrings(a, b);
      } else {
        if (typeof cell !== typeof value) return false;
        c = compareValues(cell, value);
      }
      return op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : c >= 0;
    }
  }
}

/** What an ordered comparison with a link compares: a string itself, a link's text; else nothing. */
function orderedText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  return linkText(v);
}

/**
 * `matchesOp(cell, op, value)` as a one-argument test, specialized once per filter: equality with
 * a number, string or boolean is a strict comparison (a link cell, an object, still goes through
 * `matchesOp`, which compares a link by its href).
 *
 * @example
 * ```ts
 * const adult = cellTest(">=", 18);
 * adult(20); // true
 * ```
 */
export function cellTest(op: CmpOp, value: unknown): (cell: unknown) => boolean {
  if (op === "=" && value !== null && typeof value !== "object") {
    return (cell) => cell === value || (typeof cell === "object" && cell !== null && matchesOp(cell, op, value));
  }
  return (cell) => matchesOp(cell, op, value);
}
