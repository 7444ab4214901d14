/**
 * A dictionary-coded column vector over a table's key slots: each distinct primitive cell of the
 * column gets a small integer code, and `codes[slot]` holds the code of the row at that slot
 * (`NO_ROW` where the slot has no row). An equality filter over a set of slots then compares
 * integers from one typed array instead of reading a string per slot from scattered memory.
 *
 * Only low-cardinality columns of primitive cells are coded: a column that takes an object cell
 * (a link, bytes) or more than `MAX_CODES` distinct values gives up (the caller then drops the
 * coding and falls back to the plain column vector).
 */

/** The code of a slot that has no row. */
export const NO_ROW = 255;
/**
 * Past this many distinct values a column is not coded: codes are bytes, so the vector of a
 * 300k-row table is 300 KB and a filter's scattered reads stay in cache.
 */
const MAX_CODES = 255;

/**
 * @example
 * ```ts
 * const langs = ColumnCodes.build(users.rows, 2);      // undefined if the column does not qualify
 * const en = langs?.codeOf("en");                      // undefined: no row has "en"
 * langs!.codes[slot] === en;                           // the row at `slot` has lang "en"
 * ```
 */
export class ColumnCodes {
  private readonly byValue = new Map<unknown, number>();
  /** Code by slot; grown as slots are added. */
  codes: Uint8Array;
  /**
   * The value of each code, for reading cells back from `codes`; `undefined` once a `-0` was coded
   * (the map keys it with `0`, so its code could not give back which of the two a row holds).
   */
  values: unknown[] | undefined = [];
  /**
   * Bumped whenever a slot's code changes: a copy of the codes made in another order
   * (`LinkIndex.entryCodes`) is current while this holds, and can be brought up to date from
   * `changes` while that still goes back to its version.
   */
  version = 0;
  /**
   * The slots whose code changed, in order: `changes[i]` took `version` from `changesFrom + i` to
   * one more. Started over (`changesFrom` = `version`) once longer than an eighth of the slots,
   * when a copy is as cheap to make again as to patch.
   */
  changes: number[] = [];
  changesFrom = 0;

  private constructor(
    /** The column's position in the rows. */
    readonly pos: number,
    size: number,
  ) {
    this.codes = new Uint8Array(Math.max(size, 16)).fill(NO_ROW);
  }

  /** A coding of the column at `pos` in which no slot has a row yet (filled by `set`). */
  static empty(pos: number, size: number): ColumnCodes {
    return new ColumnCodes(pos, size);
  }

  /** Codes the column at `pos` of `rows` (by slot), or `undefined` when it does not qualify. */
  static build(rows: readonly (readonly unknown[] | undefined)[], pos: number): ColumnCodes | undefined {
    const coded = new ColumnCodes(pos, rows.length);
    for (let s = 0; s < rows.length; s++) {
      const row = rows[s];
      if (row !== undefined && !coded.set(s, row[pos])) return undefined;
    }
    return coded;
  }

  /** The code of a value, or `undefined` when no row has held it since the coding began. */
  codeOf(value: unknown): number | undefined {
    return this.byValue.get(value);
  }

  /**
   * Records the cell of the row at `slot`; false when the column no longer qualifies (the caller
   * then drops this coding).
   */
  set(slot: number, cell: unknown): boolean {
    if (cell !== null && (typeof cell === "object" || typeof cell === "function")) return false;
    // NaN is never `=` to anything, but a Map would match it with itself: keep it out.
    if (cell !== cell) return false;
    let code = this.byValue.get(cell);
    if (code === undefined) {
      if (this.byValue.size >= MAX_CODES) return false;
      code = this.byValue.size;
      this.byValue.set(cell, code);
      this.values?.push(cell);
    }
    if (cell === 0 && 1 / cell < 0) this.values = undefined;
    if (slot >= this.codes.length) {
      const grown = new Uint8Array(Math.max(slot + 1, this.codes.length * 2)).fill(NO_ROW);
      grown.set(this.codes);
      this.codes = grown;
    }
    if (this.codes[slot] !== code) {
      this.codes[slot] = code;
      this.changed(slot);
    }
    return true;
  }

  /** Counts a change of the code at `slot` (see `version`, `changes`). */
  private changed(slot: number): void {
    this.version++;
    if (this.changes.length >= Math.max(64, this.codes.length >> 3)) {
      this.changes = [];
      this.changesFrom = this.version - 1;
    }
    this.changes.push(slot);
  }

  /** The slot lost its row. */
  clear(slot: number): void {
    if (slot < this.codes.length && this.codes[slot] !== NO_ROW) {
      this.codes[slot] = NO_ROW;
      this.changed(slot);
    }
  }
}
