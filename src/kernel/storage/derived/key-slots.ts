/**
 * Dense integer slots for the keys of a one-column-key table: every key the table has held, or
 * that a relation has pointed at, is interned once and keeps its slot for the life of the table
 * (a deleted row leaves its slot empty; the key coming back gets the same slot). Relations
 * between tables can then be stored as arrays of slots (see link-index.ts), and a traversal
 * walks them with array reads and a stamp array for its visited set — the layout of a CSR
 * adjacency, kept up to date by the table's writes instead of rebuilt.
 */
import type { KeyCell } from "../index-keys.js";
import { normCell } from "../index-keys.js";
import type { RowObserver } from "../row-observer.js";
import type { Table } from "../table-engine.js";
import type { Row } from "../table-schema.js";
import { ColumnCodes } from "./column-codes.js";

/** What the slot space of a table is registered under beside it (see `Table.derived`). */
const KEY_SLOTS = "key-slots";
const makeKeySlots = (rows: readonly Row[]): KeySlots => new KeySlots(rows);

/**
 * The slot space of a one-column-key table, made on first use and kept current by every write
 * from then on; `undefined` for a composite key.
 *
 * @example
 * ```ts
 * const slots = keySlotsOf(users)!;
 * slots.rows[slots.slotOf(7)!]; // user 7's row
 * ```
 */
export function keySlotsOf(table: Table): KeySlots | undefined {
  return table.schema.keyColumns.length === 1 ? table.derived(KEY_SLOTS, makeKeySlots) : undefined;
}

/** The dense key table's size before any key is interned, and its slack over the slot count. */
const DENSE_MIN = 1024;
const DENSE_SLACK = 4;

/**
 * The slot space of one table (its key column is the row's first cell).
 *
 * @example
 * ```ts
 * const slots = keySlotsOf(users)!;
 * const s = slots.slotOf(7);  // the slot of user 7 (undefined if never seen)
 * slots.rows[s!];             // user 7's row, or undefined when it does not exist now
 * ```
 */
export class KeySlots implements RowObserver {
  private readonly slotByKey = new Map<KeyCell, number>();
  /**
   * `slot + 1` by key (0: no slot) while every key interned so far is a small non-negative
   * integer (below `DENSE_SLACK` × the slot count, plus `DENSE_MIN`): `slotOf` is then one typed
   * array read instead of a hash probe. The first key outside that drops it for good; the map
   * stays the source of truth either way.
   */
  private dense: Int32Array | undefined = new Int32Array(DENSE_MIN);
  /** The row at each slot (undefined: the key exists only as a reference, or was deleted). */
  readonly rows: (Row | undefined)[] = [];
  /**
   * Column vectors: the cells of one column by slot (`undefined` where the slot has no row), made
   * on first use and kept with the rows. A filter over a set of slots reads one array instead of
   * one scattered row object per slot.
   */
  private readonly columns = new Map<number, unknown[]>();
  /**
   * Dictionary-coded columns by position (see column-codes.ts), made on first use; `null` marks a
   * column that does not qualify (until the next reset, which starts every coding over).
   */
  private readonly coded = new Map<number, ColumnCodes | null>();
  /** Visit stamps per slot for traversal sets (compared with an epoch; never cleared). */
  private stamps = new Int32Array(0);
  private epoch = 0;
  /**
   * Bumped whenever a slot gains or loses its row (not when a row is replaced): a snapshot that
   * folded "which targets exist" into its arrays (`LinkIndex.packed`) is current while this holds.
   */
  liveVersion = 0;
  /**
   * True while every key interned so far is a number greater than all before it: slot order is
   * then key order, and a set of slots sorts by key as plain integers (no key reads). A table
   * loaded in key order and appended to with growing ids keeps it.
   */
  keysAscending = true;
  private lastKey = -Infinity;
  /**
   * While defined, the key of slot `s` is `s + keyBase`: every key interned so far was the integer
   * one past the one before (ids handed out in sequence, loaded in order). A page of results then
   * gets its key cells from its slots, with no read of the key column.
   */
  keyBase: number | undefined = 0;

  constructor(rows: Iterable<Row>) {
    for (const row of rows) this.added(row);
  }

  /** The slot of a key cell (normalized), allocating one for a key never seen. */
  intern(cell: KeyCell): number {
    // Every write to a relation interns both of its keys: the dense table first, when there is one.
    let s = this.dense !== undefined ? this.slotOf(cell) : this.slotByKey.get(cell);
    if (s === undefined) {
      s = this.rows.length;
      if (typeof cell === "number" && cell > this.lastKey) this.lastKey = cell;
      else this.keysAscending = false;
      if (s === 0) this.keyBase = Number.isSafeInteger(cell) && !Object.is(cell, -0) ? (cell as number) : undefined;
      else if (this.keyBase !== undefined && cell !== s + this.keyBase) this.keyBase = undefined;
      this.slotByKey.set(cell, s);
      this.rows.push(undefined);
      if (this.dense !== undefined) this.denseAdd(cell, s);
    }
    return s;
  }

  private denseAdd(cell: KeyCell, s: number): void {
    let dense = this.dense!;
    if (typeof cell !== "number" || !(cell >= 0) || Math.floor(cell) !== cell || cell >= DENSE_SLACK * this.rows.length + DENSE_MIN) {
      this.dense = undefined;
      return;
    }
    if (cell >= dense.length) {
      const grown = new Int32Array(Math.max(cell + 1, dense.length * 2));
      grown.set(dense);
      this.dense = dense = grown;
    }
    dense[cell] = s + 1;
  }

  /** The slot of a key cell, if it was ever interned. */
  slotOf(cell: KeyCell): number | undefined {
    const dense = this.dense;
    if (dense !== undefined) {
      // Every interned key is a small integer: anything else has no slot.
      if (typeof cell !== "number" || !(cell >= 0) || cell >= dense.length) return undefined;
      const s = dense[cell]!;
      // A fractional cell reads a truncated index: only an exact match counts.
      return s !== 0 && Math.floor(cell) === cell ? s - 1 : undefined;
    }
    return this.slotByKey.get(cell);
  }

  added(row: Row): void {
    const s = this.intern(normCell(row[0]!));
    if (this.rows[s] === undefined) this.liveVersion++;
    this.store(s, row);
  }

  replaced(_old: Row, row: Row): void {
    // Same key, so the same slot, and it keeps a row: liveness does not change.
    this.store(this.intern(normCell(row[0]!)), row);
  }

  /** Puts `row` at slot `s`, with its cells in the column vectors and codings. */
  private store(s: number, row: Row): void {
    this.rows[s] = row;
    if (this.columns.size > 0) for (const [pos, column] of this.columns) column[s] = row[pos];
    if (this.coded.size > 0) {
      for (const [pos, codes] of this.coded) {
        if (codes !== null && !codes.set(s, row[pos])) this.coded.set(pos, null);
      }
    }
  }

  removed(row: Row): void {
    const s = this.slotByKey.get(normCell(row[0]!));
    if (s === undefined || this.rows[s] === undefined) return;
    this.liveVersion++;
    this.rows[s] = undefined;
    if (this.columns.size > 0) for (const column of this.columns.values()) column[s] = undefined;
    if (this.coded.size > 0) for (const codes of this.coded.values()) codes?.clear(s);
  }

  reset(rows: readonly Row[]): void {
    this.liveVersion++;
    this.rows.fill(undefined);
    for (const column of this.columns.values()) column.fill(undefined);
    this.coded.clear();
    for (const row of rows) this.added(row);
  }

  /** The column at row position `pos` as a vector by slot (see `columns`). */
  column(pos: number): readonly unknown[] {
    let column = this.columns.get(pos);
    if (column === undefined) {
      const rows = this.rows;
      column = new Array<unknown>(rows.length);
      for (let s = 0; s < rows.length; s++) column[s] = rows[s]?.[pos];
      this.columns.set(pos, column);
    }
    return column;
  }

  /** The coding of the column at `pos` if one was made already (see `codes`); never makes one. */
  codesIfMade(pos: number): ColumnCodes | undefined {
    return this.coded.get(pos) ?? undefined;
  }

  /**
   * The column at row position `pos` dictionary-coded by slot, or `undefined` when it does not
   * qualify (object cells, or too many distinct values).
   */
  codes(pos: number): ColumnCodes | undefined {
    let codes = this.coded.get(pos);
    if (codes === undefined) {
      codes = ColumnCodes.build(this.rows, pos) ?? null;
      this.coded.set(pos, codes);
    }
    return codes ?? undefined;
  }

  /**
   * Starts a new visited set over the slots: returns the stamp array (sized to every slot) and
   * the epoch that marks membership in this set. Slots interned later are past the array's end:
   * callers only stamp slots that existed when the set started, or check the bound.
   */
  newSet(): { stamps: Int32Array; epoch: number } {
    if (this.stamps.length < this.rows.length) {
      const grown = new Int32Array(Math.max(this.rows.length, this.stamps.length * 2, 64));
      grown.set(this.stamps);
      this.stamps = grown;
    }
    if (this.epoch === 0x7fffffff) {
      this.stamps.fill(0);
      this.epoch = 0;
    }
    return { stamps: this.stamps, epoch: ++this.epoch };
  }
}
