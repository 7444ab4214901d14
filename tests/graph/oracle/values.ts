/**
 * The reference oracle's value semantics, written from the specification (src/graph/README.md)
 * and sharing no code with the kernel: the total order of cells and keys, and what `col op value`
 * means in a start filter, a `where` and a shortest path's target.
 *
 * Order: none < bool < number < string < link < tuple. Booleans false < true, numbers
 * numerically, strings by Unicode code point (not by UTF-16 unit), links by their href (a link
 * without one by its JSON text), tuples element by element with a prefix first.
 */
import type { CmpOp } from "../../../src/ir/traverse-plan.js";

/** The kind of a value, in the order the kinds sort. */
const KINDS = ["none", "bool", "number", "string", "link", "tuple"] as const;
type Kind = (typeof KINDS)[number];

function kindOf(v: unknown): Kind {
  if (v === null || v === undefined) return "none";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return "number";
  if (typeof v === "string") return "string";
  if (Array.isArray(v)) return "tuple";
  return "link";
}

/** The code points of `s`, one number per character (a pair of surrogates is one character). */
function codePoints(s: string): number[] {
  return Array.from(s, (ch) => ch.codePointAt(0)!);
}

function compareText(a: string, b: string): number {
  const x = codePoints(a);
  const y = codePoints(b);
  for (let i = 0; i < x.length && i < y.length; i++) {
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

/** What a link is compared by: its href, or its JSON text when it has none. */
function linkText(link: unknown): string {
  const href = (link as { href?: unknown }).href;
  return typeof href === "string" ? href : JSON.stringify(link);
}

/**
 * The total order of values: -1, 0 or 1.
 *
 * @example
 * ```ts
 * order(null, false) // -1: none sorts first
 * order("\u{1F600}", "\uFFFF") // 1: by code point (UTF-16 units would say -1)
 * order([1], [1, 0]) // -1: a prefix first
 * ```
 */
export function order(a: unknown, b: unknown): number {
  const ka = KINDS.indexOf(kindOf(a));
  const kb = KINDS.indexOf(kindOf(b));
  if (ka !== kb) return ka < kb ? -1 : 1;
  switch (kindOf(a)) {
    case "none":
      return 0;
    case "bool":
      return a === b ? 0 : a === false ? -1 : 1;
    case "number":
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case "string":
      return compareText(a as string, b as string);
    case "link":
      return compareText(linkText(a), linkText(b));
    case "tuple": {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < x.length && i < y.length; i++) {
        const c = order(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
    }
  }
}

/**
 * Equality of two non-null values as `=` sees it: the same primitive, or a link and a string
 * that is its href, or two links / two tuples the order calls equal.
 *
 * @example
 * ```ts
 * same({ href: "/a" }, "/a") // true
 * same(1, "1") // false
 * ```
 */
export function same(a: unknown, b: unknown): boolean {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka === "link" && kb === "string") return linkText(a) === b;
  if (ka === "string" && kb === "link") return a === linkText(b);
  if ((ka === "link" || ka === "tuple") && ka === kb) return order(a, b) === 0;
  return a === b;
}

/**
 * `cell op value`. Anything compared with null (either side) is false; `<`, `<=`, `>`, `>=` need
 * a number, string or boolean on both sides, of the same type, or a link and a link or string
 * (compared by href, by code point); `in` needs a tuple and holds when some non-null element is
 * `=` to the cell.
 *
 * @example
 * ```ts
 * holds(null, "!=", 3) // false
 * holds(5, "in", [1, 5]) // true
 * holds("5", "<", 6) // false: not the same type
 * holds({ href: "/a" }, "<", "/b") // true: a link by its href
 * ```
 */
export function holds(cell: unknown, op: CmpOp, value: unknown): boolean {
  if (kindOf(cell) === "none") return false;
  if (op === "in") return Array.isArray(value) && value.some((v) => kindOf(v) !== "none" && same(cell, v));
  if (kindOf(value) === "none") return false;
  if (op === "=") return same(cell, value);
  if (op === "!=") return !same(cell, value);
  const kinds = [kindOf(cell), kindOf(value)];
  let c: number;
  if (kinds.includes("link")) {
    // A link is ordered by its href, against a link or a string.
    if (!kinds.every((k) => k === "link" || k === "string")) return false;
    c = compareText(kinds[0] === "link" ? linkText(cell) : (cell as string), kinds[1] === "link" ? linkText(value) : (value as string));
  } else {
    if (kinds[0] !== kinds[1] || !["bool", "number", "string"].includes(kinds[0]!)) return false;
    c = order(cell, value);
  }
  if (op === "<") return c < 0;
  if (op === "<=") return c <= 0;
  if (op === ">") return c > 0;
  return c >= 0;
}
