/**
 * A numeric column vector over a table's key slots: the cell of each slot's row as a double in a
 * `Float64Array`, and beside it one byte per slot saying whether the slot has a row and whether
 * its cell is null. It is what a lazy slot space (key-slots.ts, `KeySlots.lazy`) keeps of a
 * column whose cells are all numbers or null, so a filter, a page or a foreign-key hop reads a
 * cell from two typed arrays off the JS heap (9 bytes a slot) instead of a row from lmdb.
 *
 * A double holds any number cell exactly, NaN and `-0` included. A column that takes any other
 * cell (a bigint beyond 2^53, a string, an object) gives up (`set` answers false and the caller
 * drops the vector), as `ColumnCodes` does.
 */

/** `ColumnNumbers.kinds[slot]` of a slot without a row. */
export const NUM_NO_ROW = 0;
/** `ColumnNumbers.kinds[slot]` of a slot whose cell is null. */
export const NUM_NULL = 1;
/** `ColumnNumbers.kinds[slot]` of a slot whose cell is the number at `values[slot]`. */
export const NUM_VALUE = 2;

/**
 * @example
 * ```ts
 * const ages = ColumnNumbers.empty(3, slots.rows.length);
 * ages.set(slot, 41);          // false when the cell is not a number or null
 * ages.cell(slot);             // 41 (null for a null cell, undefined for a slot without a row)
 * ages.kinds[slot] === NUM_VALUE && ages.values[slot] > 40;
 * ```
 */
export class ColumnNumbers {
  /** The cell by slot where `kinds` is `NUM_VALUE` (0 elsewhere); grown as slots are added. */
  values: Float64Array;
  /** `NUM_NO_ROW`, `NUM_NULL` or `NUM_VALUE` by slot. */
  kinds: Uint8Array;

  private constructor(
    /** The column's position in the rows. */
    readonly pos: number,
    size: number,
  ) {
    this.values = new Float64Array(Math.max(size, 16));
    this.kinds = new Uint8Array(this.values.length);
  }

  /** A vector of the column at `pos` in which no slot has a row yet (filled by `set`). */
  static empty(pos: number, size: number): ColumnNumbers {
    return new ColumnNumbers(pos, size);
  }

  /**
   * Records the cell of the row at `slot`; false when the cell is neither a number nor null (the
   * column no longer qualifies: the caller drops this vector).
   */
  set(slot: number, cell: unknown): boolean {
    const number = typeof cell === "number";
    if (!number && cell !== null) return false;
    if (slot >= this.values.length) this.grow(slot + 1);
    if (number) {
      this.values[slot] = cell;
      this.kinds[slot] = NUM_VALUE;
    } else {
      this.values[slot] = 0;
      this.kinds[slot] = NUM_NULL;
    }
    return true;
  }

  /** The slot lost its row. */
  clear(slot: number): void {
    if (slot < this.kinds.length) this.kinds[slot] = NUM_NO_ROW;
  }

  /** The cell at `slot`: a number, null, or `undefined` when the slot has no row. */
  cell(slot: number): number | null | undefined {
    const kind = slot < this.kinds.length ? this.kinds[slot] : NUM_NO_ROW;
    return kind === NUM_VALUE ? this.values[slot]! : kind === NUM_NULL ? null : undefined;
  }

  private grow(size: number): void {
    const n = Math.max(size, this.values.length * 2);
    const values = new Float64Array(n);
    values.set(this.values);
    const kinds = new Uint8Array(n);
    kinds.set(this.kinds);
    this.values = values;
    this.kinds = kinds;
  }
}
