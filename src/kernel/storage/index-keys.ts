/**
 * Index keys and their order. Index keys hold *normalized* cells: links become their href string,
 * everything else is itself; a composite key is an array of such cells. Order: `null` first, then
 * per column type — numbers numerically, strings by code point, `false` before `true`. `MAX` is a
 * sentinel above every cell, used to build range bounds over key prefixes.
 */
import type { Cell, Column } from "./table-schema.js";

const SAFE_BIG_KEY = BigInt(Number.MAX_SAFE_INTEGER);

/** A normalized cell (links as href strings, bytes as `bytesKey` strings) or the `MAX` sentinel. */
export type KeyCell = null | boolean | number | bigint | string | typeof MAX;
/** An index key: one cell (single-column primary key) or a tuple of cells. */
export type IndexKey = KeyCell | readonly KeyCell[];

/** The sentinel that sorts after every cell. */
export const MAX: { readonly max: true } = Object.freeze({ max: true as const });

/** The key form of a stored cell. */
export function normCell(c: Cell): KeyCell {
  if (typeof c !== "object" || c === null) return c;
  return c instanceof Uint8Array ? bytesKey(c) : c.href;
}

/**
 * The key form of bytes: a string of one code unit (0–255) per byte, so strings compare as the
 * bytes do (lexicographically, a prefix first) and equal bytes are equal keys.
 */
export function bytesKey(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode.apply(null, b.subarray(i, i + 4096) as unknown as number[]);
  return s;
}

/** The bytes of a `bytesKey` string. */
export function keyBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

function rank(a: KeyCell): number {
  if (a === null) return 0;
  switch (typeof a) {
    case "boolean":
      return 1;
    case "number":
    case "bigint":
      return 2;
    case "string":
      return 3;
    default:
      return 4;
  }
}

/** Compares strings by Unicode code point (JS `<` compares UTF-16 units, which differs above U+FFFF). */
export function compareStrings(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // A surrogate (U+D800–DFFF, part of a code point above U+FFFF) sorts after U+E000–FFFF.
        const xs = x <= 0xdfff;
        const ys = y <= 0xdfff;
        if (xs !== ys) return xs ? 1 : -1;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Total order on key cells. */
export function compareCells(a: KeyCell, b: KeyCell): number {
  if (a === b) return 0;
  const ta = typeof a;
  if (ta === "number" && typeof b === "number") return (a as number) < b ? -1 : 1;
  if (ta === "string" && typeof b === "string") return compareStrings(a as string, b);
  // A 64-bit integer beyond ±(2^53 − 1) is a bigint: JS compares it with a number exactly.
  if ((ta === "bigint" || ta === "number") && (typeof b === "bigint" || typeof b === "number")) return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  if (a === MAX) return 1;
  if (b === MAX) return -1;
  if (ta === "boolean" && typeof b === "boolean") return a ? 1 : -1;
  return rank(a) - rank(b);
}

/** Lexicographic order on key tuples; a proper prefix sorts first. */
export function compareTuples(a: readonly KeyCell[], b: readonly KeyCell[]): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) {
      const c = compareCells(x, y);
      if (c !== 0) return c;
    }
  }
  return a.length - b.length;
}

/**
 * A comparison operand as the index compares it with `column`'s cells (`KeyCell` form), or
 * `undefined` when it cannot be compared: numbers for numeric columns (a 64-bit one also takes a
 * bigint; a float/32 one rounds the operand as it rounds cells), strings for string columns (a
 * uuid in lowercase), bytes as their key string, links as their href.
 *
 * @example
 * ```ts
 * operandKey(schema.column("id")!, 2n ** 60n); // 1152921504606846976n
 * ```
 */
export function operandKey(column: Column, v: unknown): KeyCell | undefined {
  switch (column.kind) {
    case "int":
      if (typeof v === "bigint") return v >= -SAFE_BIG_KEY && v <= SAFE_BIG_KEY ? Number(v) : v;
      return typeof v === "number" && Number.isFinite(v) ? v : undefined;
    case "float":
    case "number":
      if (typeof v !== "number" || !Number.isFinite(v)) return undefined;
      return column.f32 === true && Math.abs(v) <= column.max ? Math.fround(v) : v;
    case "string":
      if (typeof v !== "string") return undefined;
      return column.format === "uuid" ? v.toLowerCase() : v;
    case "bool":
      return typeof v === "boolean" ? v : undefined;
    case "bytes":
      return v instanceof Uint8Array ? bytesKey(v) : undefined;
    case "link":
      if (typeof v === "string") return v;
      if (typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "link") return (v as { href: string }).href;
      return undefined;
  }
}
