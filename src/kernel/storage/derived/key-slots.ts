/**
 * Dense integer slots for the keys of a one-column-key table: every key the table has held, or
 * that a relation has pointed at, is interned once and keeps its slot for the life of the table
 * (a deleted row leaves its slot empty; the key coming back gets the same slot). Relations
 * between tables can then be stored as arrays of slots (see link-index.ts), and a traversal
 * walks them with array reads and a stamp array for its visited set — the layout of a CSR
 * adjacency, kept up to date by the table's writes instead of rebuilt.
 */
import { InternalError } from "../../../errors.js";
import type { KeyCell } from "../index-keys.js";
import { normCell } from "../index-keys.js";
import type { RowObserver } from "../row-observer.js";
import type { Table } from "../table-engine.js";
import type { Row } from "../table-schema.js";
import { ColumnCodes, NO_ROW } from "./column-codes.js";
import { ColumnNumbers } from "./column-vector.js";

/** What the slot space of a table is registered under beside it (see `Table.derived`). */
const KEY_SLOTS = "key-slots";
const makeKeySlots = (rows: readonly Row[]): KeySlots => new KeySlots(rows);

/**
 * When a slot space keeps no rows (see `KeySlots.lazy`): a durable table with at least
 * `lazyRowsFrom` rows when its slot space is made (0: every durable table). Its rows stay in
 * lmdb, off the JS heap; the slot space keeps liveness and keys per slot, the columns a traversal
 * used as typed arrays (codes, numbers), and reads a row with `table.get` where those do not give
 * the cells. Memory tables, and smaller durable ones, keep their rows in the slot space. Settable
 * (tests set 0 to run every durable traversal the lazy way).
 */
export const keySlotsPolicy = { lazyRowsFrom: 100_000 };

/** What `KeySlots.rows` holds at a live slot of a lazy slot space: the row itself is not kept. */
const LIVE: Row = Object.freeze([]) as unknown as Row;

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
  if (table.schema.keyColumns.length !== 1) return undefined;
  // Made once: whichever mode the table's size chose then, the registered one is returned after.
  if (table.durable && table.size >= keySlotsPolicy.lazyRowsFrom) return table.derivedBy(KEY_SLOTS, () => KeySlots.lazyOver(table));
  return table.derived(KEY_SLOTS, makeKeySlots);
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
 * slots.rows[s!];             // undefined when user 7 does not exist now
 * slots.row(s!);              // user 7's row (read from the table in a lazy slot space)
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
  /**
   * The row at each slot (undefined: the key exists only as a reference, or was deleted). In a
   * lazy slot space a live slot holds `LIVE`, an empty row, instead: test liveness against
   * `undefined`, and read cells through `row(s)`.
   */
  readonly rows: (Row | undefined)[] = [];
  /**
   * The table whose rows a lazy slot space reads (`row`); `undefined` when the slot space keeps
   * its rows. A lazy slot space keeps no `unknown[]` column vectors (`column` refuses): what it
   * keeps of a column is its coding and its numeric vector (`numbers`), made together from one
   * scan of this table when the column is first used (`prepareColumns`).
   */
  private readonly source: Table | undefined;
  /**
   * Lazy mode only, once `keyBase` no longer gives them: the key by slot. (A lazy slot space also
   * leaves `slotByKey` empty while `dense` answers `slotOf`.)
   */
  private keys: KeyCell[] | undefined;
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
  /**
   * Lazy mode only: numeric column vectors by position (see column-vector.ts), `null` where the
   * column does not qualify. A lazy slot space decides a column's coding and vector together: a
   * position is in `numbered` exactly when it is in `coded`.
   */
  private readonly numbered = new Map<number, ColumnNumbers | null>();
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

  /**
   * `keyBase` when row position `pos` is the key (the first column of a one-column key) and the
   * key of slot `s` is `s + keyBase`; else `undefined` (the cell is read from the column).
   */
  keyBaseAt(pos: number): number | undefined {
    return pos === 0 ? this.keyBase : undefined;
  }

  constructor(rows: Iterable<Row>, source?: Table) {
    this.source = source;
    for (const row of rows) this.added(row);
  }

  /**
   * The slot space of `table` that keeps no rows (see `source`): made from one scan of the table,
   * which hands over one row at a time and keeps none.
   */
  static lazyOver(table: Table): KeySlots {
    const slots = new KeySlots([], table);
    table.scan(table.plan([]), (row) => {
      slots.added(row);
    });
    return slots;
  }

  /** True when the slot space keeps no rows (`rows` holds liveness only; see `row`). */
  get lazy(): boolean {
    return this.source !== undefined;
  }

  /** The row at slot `s` (`undefined` when none): the kept one, or in lazy mode the table's. */
  row(s: number): Row | undefined {
    const row = this.rows[s];
    return row === LIVE ? this.source!.get(this.keyOf(s)) : row;
  }

  /** The key of slot `s` (a live slot, or any slot in lazy mode). */
  keyOf(s: number): KeyCell {
    if (this.keyBase !== undefined) return s + this.keyBase;
    if (this.keys !== undefined) return this.keys[s]!;
    return normCell(this.rows[s]![0]!);
  }

  /** The slot of a key cell (normalized), allocating one for a key never seen. */
  intern(cell: KeyCell): number {
    // Every write to a relation interns both of its keys: the dense table first, when there is one.
    let s = this.dense !== undefined ? this.slotOf(cell) : this.slotByKey.get(cell);
    if (s === undefined) {
      s = this.rows.length;
      if (typeof cell === "number" && cell > this.lastKey) this.lastKey = cell;
      else this.keysAscending = false;
      const base = this.keyBase;
      if (s === 0) this.keyBase = Number.isSafeInteger(cell) && !Object.is(cell, -0) ? (cell as number) : undefined;
      // A slot whose key is -0 must give -0 back, which `s + keyBase` (0) would not.
      else if (base !== undefined && (cell !== s + base || Object.is(cell, -0))) this.keyBase = undefined;
      this.rows.push(undefined);
      if (this.dense !== undefined) this.denseAdd(cell, s);
      if (this.source === undefined) this.slotByKey.set(cell, s);
      else {
        // Lazy: the map only once `dense` is gone (`denseAdd` moved its keys over), the keys by
        // slot only once `keyBase` is.
        if (this.dense === undefined) this.slotByKey.set(cell, s);
        if (this.keyBase === undefined) {
          if (this.keys === undefined) {
            this.keys = new Array<KeyCell>(s);
            for (let i = 0; i < s; i++) this.keys[i] = i + base!;
          }
          this.keys.push(cell);
        }
      }
    }
    return s;
  }

  private denseAdd(cell: KeyCell, s: number): void {
    let dense = this.dense!;
    if (typeof cell !== "number" || !(cell >= 0) || Math.floor(cell) !== cell || cell >= DENSE_SLACK * this.rows.length + DENSE_MIN) {
      this.dense = undefined;
      if (this.source !== undefined) {
        // A lazy slot space kept its keys in `dense` only: the map takes them over.
        for (let k = 0; k < dense.length; k++) if (dense[k] !== 0) this.slotByKey.set(k, dense[k]! - 1);
      }
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

  /**
   * Puts `row` at slot `s`, with its cells in the column vectors, codings and numeric vectors (a
   * lazy slot space keeps only the latter two of the row).
   */
  private store(s: number, row: Row): void {
    this.rows[s] = this.source === undefined ? row : LIVE;
    if (this.columns.size > 0) for (const [pos, column] of this.columns) column[s] = row[pos];
    if (this.coded.size > 0) {
      for (const [pos, codes] of this.coded) {
        if (codes !== null && !codes.set(s, row[pos])) this.coded.set(pos, null);
      }
    }
    if (this.numbered.size > 0) {
      for (const [pos, numbers] of this.numbered) {
        if (numbers !== null && !numbers.set(s, row[pos])) this.numbered.set(pos, null);
      }
    }
  }

  removed(row: Row): void {
    const s = this.source === undefined ? this.slotByKey.get(normCell(row[0]!)) : this.slotOf(normCell(row[0]!));
    if (s === undefined || this.rows[s] === undefined) return;
    this.liveVersion++;
    this.rows[s] = undefined;
    if (this.columns.size > 0) for (const column of this.columns.values()) column[s] = undefined;
    if (this.coded.size > 0) for (const codes of this.coded.values()) codes?.clear(s);
    if (this.numbered.size > 0) for (const numbers of this.numbered.values()) numbers?.clear(s);
  }

  reset(rows: readonly Row[]): void {
    this.liveVersion++;
    this.rows.fill(undefined);
    for (const column of this.columns.values()) column.fill(undefined);
    if (this.source === undefined) this.coded.clear();
    else {
      // `rows` is every row of the table: the columns decided so far (those that gave up too)
      // start over from them here, rather than from another scan of the table on next use.
      const size = this.rows.length;
      for (const pos of this.coded.keys()) {
        this.coded.set(pos, ColumnCodes.empty(pos, size));
        this.numbered.set(pos, ColumnNumbers.empty(pos, size));
      }
    }
    for (const row of rows) this.added(row);
  }

  /** The column at row position `pos` as a vector by slot (see `columns`). */
  column(pos: number): readonly unknown[] {
    if (this.source !== undefined) throw new InternalError(`a lazy slot space keeps no column vectors (column ${pos})`);
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
   * qualify (object cells, or too many distinct values). A lazy slot space makes it with the
   * column's numeric vector, from a scan of the table (`prepareColumns`).
   */
  codes(pos: number): ColumnCodes | undefined {
    let codes = this.coded.get(pos);
    if (codes === undefined) {
      if (this.source !== undefined) {
        this.prepareColumns([pos]);
        codes = this.coded.get(pos)!;
      } else {
        codes = ColumnCodes.build(this.rows, pos) ?? null;
        this.coded.set(pos, codes);
      }
    }
    return codes ?? undefined;
  }

  /**
   * Lazy mode: the column at row position `pos` as a numeric vector by slot (made on first use,
   * see `prepareColumns`), or `undefined` when some cell of it is neither a number nor null.
   * Always `undefined` when the slot space keeps its rows (read `column` there).
   */
  numbers(pos: number): ColumnNumbers | undefined {
    if (this.source === undefined) return undefined;
    if (!this.coded.has(pos)) this.prepareColumns([pos]);
    return this.numbered.get(pos) ?? undefined;
  }

  /** The numeric vector of the column at `pos` if one was made already (see `numbers`). */
  numbersIfMade(pos: number): ColumnNumbers | undefined {
    return this.numbered.get(pos) ?? undefined;
  }

  /**
   * Lazy mode: makes the coding and numeric vector of each column at `positions` not used
   * before, all from one scan of the table (every row read once, none kept). Each gives up on the
   * first cell it cannot hold, and the scan stops once all have. Does nothing when the slot space
   * keeps its rows.
   *
   * @example
   * ```ts
   * slots.prepareColumns([1, 2]); // one scan for both columns of a page
   * slots.numbersIfMade(1);       // author ids by slot, unless some author is not a number
   * ```
   */
  prepareColumns(positions: readonly number[]): void {
    const table = this.source;
    if (table === undefined) return;
    const fresh: number[] = [];
    for (const pos of positions) if (!this.coded.has(pos) && !fresh.includes(pos)) fresh.push(pos);
    if (fresh.length === 0) return;
    const size = this.rows.length;
    const codes: (ColumnCodes | null)[] = fresh.map((pos) => ColumnCodes.empty(pos, size));
    const numbers: (ColumnNumbers | null)[] = fresh.map((pos) => ColumnNumbers.empty(pos, size));
    let open = 2 * fresh.length;
    table.scan(table.plan([]), (row) => {
      const s = this.slotOf(normCell(row[0]!));
      // The slot space hears every write to the table: each of its rows has a live slot.
      if (s === undefined || this.rows[s] === undefined) throw new InternalError(`${table.path}: a row of the table has no live slot`);
      for (let i = 0; i < fresh.length; i++) {
        const cell = row[fresh[i]!];
        const c = codes[i];
        if (c && !c.set(s, cell)) {
          codes[i] = null;
          open--;
        }
        const n = numbers[i];
        if (n && !n.set(s, cell)) {
          numbers[i] = null;
          open--;
        }
      }
      return open === 0;
    });
    for (let i = 0; i < fresh.length; i++) {
      this.coded.set(fresh[i]!, codes[i]!);
      this.numbered.set(fresh[i]!, numbers[i]!);
    }
  }

  /**
   * The cell at row position `pos` of the row at slot `s` (`undefined` when there is none): in a
   * lazy slot space the key from `keyBase`, or the cell from the column's numeric vector or coding
   * when it has one (made on first use), else from the row read from the table.
   */
  cellOf(s: number, pos: number): unknown {
    if (this.source === undefined) return this.rows[s]?.[pos];
    const base = this.keyBaseAt(pos);
    if (base !== undefined) return this.rows[s] === undefined ? undefined : s + base;
    const numbers = this.numbers(pos);
    if (numbers !== undefined) return numbers.cell(s);
    const coded = this.coded.get(pos);
    const values = coded?.values;
    if (values !== undefined) {
      const code = coded!.codes[s];
      return code === undefined || code === NO_ROW ? undefined : values[code];
    }
    return this.row(s)?.[pos];
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
