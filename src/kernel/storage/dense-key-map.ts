/**
 * A map from cells to values that keeps small non-negative integer keys — ids, the usual keys and
 * referenced columns — in an array indexed by the key, and any other key in a Map. An array read
 * is one load, and ids given in order sit side by side; a probe of a Map of a large table is
 * several dependent cache misses, on lookups and on inserts alike (the Map's buckets are random
 * for consecutive ids). The primary point map of a table and the groups of a column
 * (column-groups.ts) are kept in one.
 */
import type { KeyCell } from "./index-keys.js";

/** The array starts at this many slots and grows to at most twice its entries plus this. */
const SLACK = 1024;

/**
 * A cell → value map (values are never `undefined`). A key lives in one of the two stores: the
 * array takes an integer below its length, or one it can reach by growing to at most twice the
 * entries it holds (plus `SLACK`), so a few large ids do not make it sparse; the Map takes the rest.
 * Keys compare as a Map's do (`-0` is `0`).
 *
 * @example
 * ```ts
 * const m = new DenseKeyMap<string>();
 * m.set(3, "three"); m.set("x", "ex"); m.set(1e12, "far");
 * m.get(3); // "three" (the array); m.get(1e12); // "far" (the Map)
 * ```
 */
export class DenseKeyMap<V> {
  private dense: (V | undefined)[] = [];
  private denseCount = 0;
  private readonly other = new Map<KeyCell, V>();

  /** Number of keys. */
  get size(): number {
    return this.denseCount + this.other.size;
  }

  get(cell: KeyCell): V | undefined {
    if (typeof cell === "number" && cell >= 0 && cell < this.dense.length) {
      // A non-integer number below the length reads no element (undefined): the Map has it.
      const v = this.dense[cell];
      if (v !== undefined) return v;
    }
    return this.other.size === 0 ? undefined : this.other.get(cell);
  }

  has(cell: KeyCell): boolean {
    return this.get(cell) !== undefined;
  }

  /** Sets the value of `cell`, a new key or one it has. */
  set(cell: KeyCell, value: V): void {
    const dense = this.dense;
    if (typeof cell === "number" && cell >= 0 && Number.isInteger(cell) && (cell < dense.length || cell < 2 * this.denseCount + SLACK)) {
      while (dense.length <= cell) dense.push(undefined);
      if (dense[cell] === undefined) {
        this.denseCount++;
        // Put in the Map when the array was shorter: it moves.
        if (this.other.size > 0) this.other.delete(cell);
      }
      dense[cell] = value;
      return;
    }
    this.other.set(cell, value);
  }

  /** Removes `cell`; false when it had no value. */
  delete(cell: KeyCell): boolean {
    if (typeof cell === "number" && cell >= 0 && cell < this.dense.length && this.dense[cell] !== undefined) {
      this.dense[cell] = undefined;
      this.denseCount--;
      return true;
    }
    return this.other.delete(cell);
  }

  clear(): void {
    this.dense = [];
    this.denseCount = 0;
    this.other.clear();
  }
}
