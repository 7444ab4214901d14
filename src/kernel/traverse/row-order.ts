/**
 * Rows as a traversal identifies and orders them: a key's identity for sets and trails, and the
 * sorts behind canonical order (by key) and `orderBy`.
 */
import { compareValues } from "./values.js";
import type { TraverseRow, TraverseTableShape } from "./store.js";

/**
 * A stable identity for a row's key, usable as a Map key: the cell itself for a one-column
 * number or string key (Map tells 1 from "1"), else a string standing for the whole key.
 *
 * @example
 * ```ts
 * keyId([7, "ann"], 1); // 7
 * keyId([7, "x", 1], 2); // one string for the key [7, "x"]
 * ```
 */
export function keyId(row: TraverseRow, keyCount: number): unknown {
  if (keyCount === 1) {
    const k = row[0];
    if (typeof k === "number" || typeof k === "string" || typeof k === "bigint") return k;
  }
  // Composite keys of numbers and plain strings: a tagged join (cheaper than JSON); else JSON.
  let id = "\u0000";
  for (let i = 0; i < keyCount; i++) {
    const c = row[i];
    if (typeof c === "number" || typeof c === "bigint") id += c + "\u0001";
    else if (typeof c === "string" && !/[\u0000-\u0003]/.test(c)) id += "\u0002" + c + "\u0001";
    else return "\u0003" + JSON.stringify(row.slice(0, keyCount), (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v));
  }
  return id;
}

/** Compares two rows by their first `n` cells. */
export function compareKeys(a: TraverseRow, b: TraverseRow, n: number): number {
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/** An `orderBy` key resolved to a row position. */
export interface SortKey {
  readonly pos: number;
  readonly desc: boolean;
}

/** Stable sort by the order keys; by default ties (and no keys) fall back to the row key. */
export function sortRows(rows: TraverseRow[], shape: TraverseTableShape, keys: readonly SortKey[], keyFallback = true): void {
  const kc = shape.keyCount;
  rows.sort((a, b) => {
    for (const k of keys) {
      const c = compareValues(a[k.pos], b[k.pos]);
      if (c !== 0) return k.desc ? -c : c;
    }
    return keyFallback ? compareKeys(a, b, kc) : 0;
  });
}

/** Sorts rows by a numeric one-column key (the first cell); false, untouched, if a key is not a number. */
export function sortByNumericKey(rows: TraverseRow[]): boolean {
  for (let i = 0; i < rows.length; i++) {
    const k = rows[i]![0];
    if (typeof k !== "number" || k !== k) return false;
  }
  rows.sort((a, b) => (a[0] as number) - (b[0] as number));
  return true;
}
