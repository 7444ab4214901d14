/**
 * The durable engine: a table of a durable database whose rows live in lmdb (lmdb-store.ts), not
 * on the JS heap. Point gets are lmdb gets, scans lmdb range iterators (forward or reverse),
 * counts lmdb's key counting; a secondary index is a range of the `index` sub-database, each entry
 * leading to its row. Opening a table reads nothing: memory does not grow with the rows, reopen
 * is instant, and a store may be larger than the heap.
 *
 * A transaction's writes go to an in-memory overlay (write-overlay.ts) that every read merges
 * over lmdb; a commit freezes it into a committing layer, readable until its lmdb write resolves,
 * and the store writes it in one synced lmdb transaction; its secondary index changes are
 * deferred (deferred-entries.ts), another layer below those. Rollbacks restore the overlay. The
 * structures kept beside the table (`derived`, `columnGroups`) are built from one full scan on
 * first use and then hear every write, as on the heap engine.
 */
import { DataCorruptionError } from "../../errors.js";
import { rowChecksum } from "./checksums.js";
import { type IndexKey, type KeyCell, MAX, compareTuples } from "./index-keys.js";
import { DeferredEntries } from "./deferred-entries.js";
import { type LmdbStore, MAX_KEY_BYTES, type StoreOp, type StoreCell, type StoreKey, indexStoreKey, rowFromStore, storeKey } from "./lmdb-store.js";
import { boundKey, rangeEnd, storedSource } from "./stored-range.js";
import type { ScanPlan } from "./scan-plan.js";
import { TableBase, keyText } from "./table-base.js";
import { committedView } from "./committed-view.js";
import type { RowFill, Table, TableState, WriteLog } from "./table-engine.js";
import { type Compare, type SortedBatch, type TableIndex, secondaryKey, secondaryKeyOrder, sortedEntries, sortedOrder } from "./table-index.js";
import { layerInsert, layerRemove, layerUpdate } from "./lmdb-range-writes.js";
import type { Row, TableSchema } from "./table-schema.js";
import { type FlushSource, type IndexEntry, type LayerTree, type RowEntry, type Source, TOMBSTONE, WriteLayer, arraySource, layerSource, mergeSources } from "./write-overlay.js";

/** The active layer and row count saved by `truncate`, for a rollback. */
interface LmdbState extends TableState {
  readonly engine: "lmdb";
  readonly layer: WriteLayer;
  readonly size: number;
}

/** The most stored rows a scan keeps for the writes that follow it (see `LmdbTable.scanned`). */
const SCANNED_ROWS = 16_384;

/** What a stored range source yields per key: raw value cells (data) or nothing (index). */
type Raw = StoreCell[] | null | RowEntry | IndexEntry;

/**
 * A durable table. Created by the database for a durable store (`Database.newTable`), or at open
 * for each stored table (data-dir.ts).
 *
 * @example
 * ```ts
 * const t = new LmdbTable("/state/app/t", schema, store, 7, 0, true);
 * t.write(t.checkRow(["a", 5]), "insert", log); // into the overlay
 * t.get("a");                                     // ["a", 5], before the commit too
 * ```
 */
export class LmdbTable extends TableBase implements FlushSource {
  readonly durable = true;
  /** This transaction's writes. */
  private active: WriteLayer;
  /** Frozen layers whose lmdb write has not resolved yet, newest first. */
  private committing: WriteLayer[] = [];
  /** Index changes of settled commits not yet in lmdb's `entries` (deferred-entries.ts), read below the committing layers. */
  private deferred = new DeferredEntries();
  private rowCount: number;
  /**
   * The stored rows the latest scan of the primary index decoded from lmdb, by key (tables with
   * a one-column key; at most `SCANNED_ROWS`): an update or delete by range scans its rows first,
   * then writes over each, and the write asks for the row it replaces — here, instead of a second
   * lmdb get and decode. lmdb's rows change only through a commit, which freezes the active layer
   * (`freeze` forgets them), and `get` asks the layers first.
   */
  private scanned: Map<IndexKey, Row> | undefined;

  constructor(
    path: string,
    schema: TableSchema,
    private readonly store: LmdbStore,
    tid: number,
    /** Rows stored in lmdb (the committed row count). */
    rows: number,
    /** True when stored rows carry checksums (false only for tables of the first format). */
    private checked = true,
    /** The cells of trailing columns that rows stored before a schema change lack. */
    fill?: RowFill,
  ) {
    super(path, schema);
    this.tid = tid;
    this.keyByteLimit = MAX_KEY_BYTES;
    this.rowCount = rows;
    this.fill = fill;
    this.active = this.newLayer(false);
    this.deferred.replay(store.ixLogRecords(tid), tid, this.secondaries.map((ix) => ix.keyPositions.length), store.dataDir, `table ${path}`);
    // A generated-increment key's sequence is stored with the rows (lmdb-store.ts `sequenceOf`).
    if (schema.keyColumns.some((c) => c.generated === "increment")) this.sequence = store.sequenceOf(tid);
  }

  get size(): number {
    return this.rowCount;
  }

  private newLayer(truncated: boolean): WriteLayer {
    return new WriteLayer(this.primary.compare, this.secondaries.length, truncated);
  }

  // ---- reading rows -----------------------------------------------------------------------------

  get(key: IndexKey): Row | undefined {
    const found = this.active.rows.get(key);
    if (found !== undefined) return found === TOMBSTONE ? undefined : this.full(found);
    if (this.active.truncated) return undefined;
    for (const layer of this.committing) {
      const e = layer.rows.get(key);
      if (e !== undefined) return e === TOMBSTONE ? undefined : this.full(e);
      if (layer.truncated) return undefined;
    }
    return this.scanned?.get(key) ?? this.storedRow(key);
  }

  /**
   * True when a row has this key: the layers, then lmdb's key alone (no row decoded; the row's
   * checksum is checked when the row is read).
   */
  override has(key: IndexKey): boolean {
    const found = this.active.rows.get(key);
    if (found !== undefined) return found !== TOMBSTONE;
    if (this.active.truncated) return false;
    for (const layer of this.committing) {
      const e = layer.rows.get(key);
      if (e !== undefined) return e !== TOMBSTONE;
      if (layer.truncated) return false;
    }
    try {
      return this.store.data.doesExist(storeKey(this.tid, key));
    } catch (e) {
      throw this.store.corruption(`table ${this.path}, row ${keyText(key)}`, e);
    }
  }

  /** The committed row with this key, read from lmdb (checksum checked). */
  private storedRow(key: IndexKey): Row | undefined {
    const k = storeKey(this.tid, key);
    let values: StoreCell[] | null | undefined;
    try {
      values = this.store.data.get(k);
    } catch (e) {
      throw this.store.corruption(`table ${this.path}, row ${keyText(key)}`, e);
    }
    if (values === undefined) return undefined;
    return this.decode(k, values);
  }

  private decode(storedKey: readonly StoreCell[], values: StoreCell[] | null): Row {
    if (this.checked) {
      const n = Array.isArray(values) ? values.length - 1 : -1;
      if (n < 0 || values![n] !== rowChecksum(storedKey as KeyCell[], values as KeyCell[], n)) {
        throw new DataCorruptionError(this.store.dataDir, `table ${this.path}, row ${JSON.stringify(storedKey.slice(1))}`, "checksum mismatch");
      }
    }
    return rowFromStore(this, storedKey as KeyCell[], values as KeyCell[] | null, this.checked);
  }

  /** The layers a read merges, newest first, down to the first truncated one; and whether lmdb is below. */
  private readLayers(committedOnly: boolean): { layers: WriteLayer[]; withStore: boolean } {
    const layers: WriteLayer[] = [];
    const all = committedOnly ? this.committing : [this.active, ...this.committing];
    for (const layer of all) {
      layers.push(layer);
      if (layer.truncated) return { layers, withStore: false };
    }
    this.deferred.pushLayers(layers);
    return { layers, withStore: true };
  }

  scan(plan: ScanPlan, visit: (row: Row) => boolean | void): void {
    const filter = plan.filter;
    if (plan.point !== undefined) {
      const row = this.get(plan.point);
      if (row !== undefined && (!filter || filter(row))) visit(row);
      return;
    }
    if (plan.low !== undefined || plan.high !== undefined) {
      this.scanRange(plan, false, (row) => (filter && !filter(row) ? false : visit(row)));
      return;
    }
    // A whole-table scan also checks the rows it met against the table's row count, so rows lost
    // to a damaged lmdb page are noticed.
    let n = 0;
    let stopped = false;
    this.scanRange(plan, false, (row) => {
      n++;
      if (filter && !filter(row)) return false;
      if (visit(row)) return (stopped = true);
      return false;
    });
    if (!stopped && n !== this.rowCount) {
      throw new DataCorruptionError(this.store.dataDir, `table ${this.path}`, `${n} rows found, ${this.rowCount} were committed`);
    }
  }

  /**
   * Visits the rows of a plan's key range on its index, merged over every layer (`committedOnly`:
   * the committing layers only, not this transaction's), in plan order.
   */
  private scanRange(plan: ScanPlan, committedOnly: boolean, visit: (row: Row) => boolean | void): void {
    const ix = plan.index;
    const { low, high, lowInclusive, highInclusive, reverse } = plan;
    const cmp = ix.compare;
    const ordinal = ix.primary ? -1 : this.secondaries.indexOf(ix);
    const { layers, withStore: belowLayers } = this.readLayers(committedOnly);
    let withStore = belowLayers;
    const sources: Source<Raw>[] = [];
    const start = reverse ? high : low;
    for (const layer of layers) {
      // (a layer of the table this one took its rows from may lack an index it added)
      const tree: LayerTree<Raw> | undefined = ordinal < 0 ? layer.rows : layer.ix[ordinal];
      if (tree !== undefined && tree.size !== 0) sources.push(layerSource<Raw>(tree, start, reverse));
      const base = ordinal < 0 ? undefined : layer.ixBase[ordinal];
      if (base !== undefined) {
        // an index built by a schema change: nothing below it is read
        if (base.length !== 0) sources.push(arraySource<Raw>(base, true, cmp, start, reverse));
        withStore = false;
        break;
      }
    }
    const storeAt = withStore ? sources.length : -1;
    if (withStore) sources.push(storedSource<Raw>(this.store, this.path, this.tid, ordinal, ordinal < 0 && this.primary.scalar, start, reverse, ix.keyPositions.length));
    const scanned = storeAt >= 0 && ordinal < 0 && this.keyLen === 1 ? new Map<IndexKey, Row>() : undefined;
    if (scanned !== undefined) this.scanned = scanned;
    mergeSources(sources, cmp, reverse, (key, value, from) => {
      if (!reverse) {
        if (low !== undefined && !lowInclusive && cmp(key, low) === 0) return false;
        if (high !== undefined) {
          const c = cmp(key, high);
          if (c > 0 || (c === 0 && !highInclusive)) return true;
        }
      } else {
        if (high !== undefined && !highInclusive && cmp(key, high) === 0) return false;
        if (low !== undefined) {
          const c = cmp(key, low);
          if (c < 0 || (c === 0 && !lowInclusive)) return true;
        }
      }
      if (value === TOMBSTONE) return false;
      let row: Row | undefined;
      if (ordinal < 0) {
        if (from === storeAt) {
          row = this.decode(storeKey(this.tid, key), value as StoreCell[] | null);
          if (scanned !== undefined && scanned.size < SCANNED_ROWS) scanned.set(key, row);
        } else row = this.full(value as Row);
      } else {
        const pk = this.primaryKeyOfIndexKey(ix, key as readonly KeyCell[]);
        row = committedOnly ? this.committedGet(pk) : this.get(pk);
        if (row === undefined) {
          throw new DataCorruptionError(this.store.dataDir, `table ${this.path}, index ${ix.name}`, `entry ${JSON.stringify(key)} has no row`);
        }
      }
      return visit(row);
    });
  }

  /** The primary key of the row an index key leads to (the key cells sit at their row positions). */
  private primaryKeyOfIndexKey(ix: TableIndex, key: readonly KeyCell[]): IndexKey {
    const n = this.keyLen;
    const pos = ix.keyPositions;
    if (n === 1) {
      for (let i = 0; i < pos.length; i++) if (pos[i] === 0) return key[i]!;
    }
    const pk = new Array<KeyCell>(n);
    for (let i = 0; i < pos.length; i++) if (pos[i]! < n) pk[pos[i]!] = key[i]!;
    return pk;
  }

  count(plan: ScanPlan): number {
    if (plan.point !== undefined || plan.filter) {
      let n = 0;
      this.scan(plan, () => {
        n++;
      });
      return n;
    }
    if (plan.low === undefined && plan.high === undefined) return this.rowCount;
    const ix = plan.index;
    const ordinal = ix.primary ? -1 : this.secondaries.indexOf(ix);
    const { layers, withStore } = this.readLayers(false);
    if (ordinal >= 0 && layers.some((l) => l.ixBase[ordinal] !== undefined)) {
      // an index built by a schema change, not yet in lmdb: counted by visiting its entries
      let n = 0;
      this.scanRange(plan, false, () => {
        n++;
      });
      return n;
    }
    const prefix: StoreCell[] = ordinal < 0 ? [this.tid] : [this.tid, ordinal];
    const db = ordinal < 0 ? this.store.data : this.store.index!;
    let n = 0;
    if (withStore) {
      const start = plan.low === undefined ? prefix : boundKey(prefix, plan.low, !plan.lowInclusive);
      const end = plan.high === undefined ? rangeEnd(prefix) : boundKey(prefix, plan.high, plan.highInclusive);
      try {
        n = (db as typeof this.store.data).getCount({ start: start as StoreKey, end: end as StoreKey });
      } catch (e) {
        throw this.store.corruption(`table ${this.path}`, e);
      }
    }
    // Each pending entry in range: +1 for a row, -1 for the stored entry it shadows.
    const sources: Source<Raw>[] = [];
    for (const layer of layers) {
      const tree: LayerTree<Raw> | undefined = ordinal < 0 ? layer.rows : layer.ix[ordinal];
      if (tree !== undefined && tree.size !== 0) sources.push(layerSource<Raw>(tree, plan.low, false));
    }
    if (sources.length === 0) return n;
    const cmp = ix.compare;
    const { low, high, lowInclusive, highInclusive } = plan;
    mergeSources(sources, cmp, false, (key, value) => {
      if (low !== undefined && !lowInclusive && cmp(key, low) === 0) return false;
      if (high !== undefined) {
        const c = cmp(key, high);
        if (c > 0 || (c === 0 && !highInclusive)) return true;
      }
      if (value !== TOMBSTONE) n++;
      if (withStore) {
        const k = ordinal < 0 ? storeKey(this.tid, key) : indexStoreKey(this.tid, ordinal, key as readonly KeyCell[]);
        if ((db as typeof this.store.data).doesExist(k)) n--;
      }
      return false;
    });
    return n;
  }

  prefixRows(ix: TableIndex, prefix: readonly KeyCell[], out: Row[]): void {
    const plan = this.plan([]);
    this.scanRange({ ...plan, index: ix, low: prefix, lowInclusive: true, high: [...prefix, MAX], highInclusive: false, reverse: false }, false, (row) => {
      out.push(row);
    });
  }

  protected allRows(): Row[] {
    const out: Row[] = [];
    this.scanRange(this.plan([]), false, (row) => {
      out.push(row);
    });
    return out;
  }

  protected rowsInOrder(ix: TableIndex): Iterable<Row> {
    const out: Row[] = [];
    this.scanRange({ ...this.plan([]), index: ix }, false, (row) => {
      out.push(row);
    });
    return out;
  }

  protected rowIdentity(): (row: Row) => unknown {
    if (this.keyLen === 1) return (row) => this.primaryKeyOf(row);
    return (row) => JSON.stringify(this.primaryKeyOf(row));
  }

  /**
   * Takes over the rows of `from`, a durable table of the same store, without copying them (the
   * caller has checked that its row layout is a prefix of this one's; `fill` gives the cells of
   * the columns its rows lack): this table takes `from`'s table id, row count, key sequence and
   * the layers it is committing, so it reads the same stored rows. Secondary indexes on the same
   * column positions at the same ordinal keep their stored entries; every other one is built now
   * from one scan into sorted keys (`WriteLayer.ixBase`), which the commit writes in place of
   * that ordinal's stored entries; stored entries of ordinals past this table's indexes are
   * removed then. The commit rewrites the catalog entry of the same id (undo-log.ts `writeSet`),
   * so the new schema, the index entries and the row count land in one lmdb transaction. Returns
   * false (nothing done) when `from` is of another engine or store, or has pending writes in this
   * transaction (then the caller copies the rows).
   */
  adoptRows(from: Table, fill: RowFill | undefined): boolean {
    if (!this.canTakeOver(from) || from.schema.columns.length > this.schema.columns.length) return false;
    // A table stored without checksums (the first format) may hold rows with and without the
    // checksum cell, so a short row cannot be told from one ending in a checksum: copied instead.
    if (!from.checked && from.schema.columns.length !== this.schema.columns.length) return false;
    this.takeOver(from);
    this.fill = fill;
    const layer = this.active;
    const build: number[] = [];
    this.secondaries.forEach((ix, j) => {
      const twin = from.secondaries[j];
      if (twin === undefined || twin.keyPositions.join(",") !== ix.keyPositions.join(",")) build.push(j);
    });
    if (build.length !== 0) {
      const keys = build.map(() => [] as KeyCell[][]);
      const collect = (row: Row): void => {
        for (let b = 0; b < build.length; b++) keys[b]!.push(secondaryKey(this.secondaries[build[b]!]!, row));
      };
      if (this.committing.length === 0) {
        // Every row is in lmdb (no layer above it): read there, each decoded once under this
        // table's schema and fill, with its checksum and the row count checked as a scan does.
        const stored = { tid: this.tid, path: this.path, schema: null, checked: this.checked, rows: this.rowCount, fill: undefined };
        this.store.scanRows(stored, (key, values) => collect(rowFromStore(this, key, values, this.checked)));
      } else from.scanRange(from.plan([]), false, (stored) => collect(this.full(stored)));
      build.forEach((j, b) => {
        const ix = this.secondaries[j]!;
        const k = keys[b]!;
        for (const key of k) this.checkKeyBytes(key);
        // The keys came in primary key order: sorting them by the listed cells, stably, sorts
        // them (a counting sort for small integers, see `secondaryOrder`).
        const order = secondaryKeyOrder(ix, k);
        const sorted = new Array<IndexKey>(k.length);
        for (let i = 0; i < k.length; i++) sorted[i] = k[order[i]!]!;
        layer.ixBase[j] = sorted;
      });
    }
    if (from.secondaries.length > this.secondaries.length) layer.clearIndexesFrom = this.secondaries.length;
    return true;
  }

  /** True when this new, empty table can take over `from`'s stored rows (see `adoptRows`). */
  private canTakeOver(from: Table): from is LmdbTable {
    return from instanceof LmdbTable && from.store === this.store && this.rowCount === 0 && from.active.empty;
  }

  /** Takes `from`'s table id, row count, key sequence and committing layers. */
  private takeOver(from: LmdbTable): void {
    this.tid = from.tid;
    this.rowCount = from.rowCount;
    this.checked = from.checked;
    // (a sequence never goes down: the stored one when `from` has not read it)
    this.sequence = from.sequence ?? this.store.sequenceOf(from.tid);
    // The same array: a commit of `from` still being written settles out of it for both.
    this.committing = from.committing;
    // (shared too: only a commit changes it, and only one of the two tables will commit)
    this.deferred = from.deferred;
  }

  /**
   * Takes over `from`'s table id with `rows` in place of its rows: a schema change that rewrites
   * every row but keeps the key columns as they are, so the new rows have exactly the old rows'
   * keys. `rows` are in primary key order; `unchanged[p]` is true when the cells at row position
   * `p` are the old rows' cells. The rows go into the overlay in one bulk build and the commit
   * puts each over the stored row of the same key (no removal of the old rows, unlike a new
   * table). A secondary index on unchanged positions at the same ordinal keeps its stored entries;
   * the others are built into sorted keys (`WriteLayer.ixBase`) as in `adoptRows`. Returns false
   * (nothing done) when it cannot take `from` over; the caller then inserts the rows.
   */
  replaceRows(from: Table, rows: readonly Row[], unchanged: readonly boolean[]): boolean {
    if (!this.canTakeOver(from) || rows.length !== from.rowCount) return false;
    const n = rows.length;
    const keys = new Array<IndexKey>(n);
    for (let i = 0; i < n; i++) keys[i] = this.primaryKeyOf(rows[i]!);
    const build: number[] = [];
    this.secondaries.forEach((ix, j) => {
      const twin = from.secondaries[j];
      const kept = twin !== undefined && twin.keyPositions.join(",") === ix.keyPositions.join(",") && ix.keyPositions.every((p) => unchanged[p] === true);
      if (!kept) build.push(j);
    });
    const bases = build.map((j) => {
      const keys = sortedEntries(this.secondaries[j]!, rows).keys;
      for (const k of keys) this.checkKeyBytes(k);
      return keys;
    });
    this.takeOver(from);
    const layer = this.active;
    layer.rows = WriteLayer.addSorted(layer.rows, keys, rows as RowEntry[], this.primary.compare);
    build.forEach((j, b) => (layer.ixBase[j] = bases[b]));
    if (from.secondaries.length > this.secondaries.length) layer.clearIndexesFrom = this.secondaries.length;
    return true;
  }

  // ---- the committed state only ---------------------------------------------------------------

  private view: Table | undefined;

  /** Nothing to keep: the open transaction's writes are in its own layer, apart from lmdb. */
  preserveCommitted(): void {}

  /** A read-only table of the committed state (committed-view.ts). */
  committed(): Table {
    return (this.view ??= committedView(this));
  }

  releaseCommitted(): void {}

  /** The committed row with this key (committing layers, then lmdb), ignoring this transaction's writes. */
  committedGet(key: IndexKey): Row | undefined {
    for (const layer of this.committing) {
      const e = layer.rows.get(key);
      if (e !== undefined) return e === TOMBSTONE ? undefined : this.full(e);
      if (layer.truncated) return undefined;
    }
    return this.storedRow(key);
  }

  /**
   * Scans a plan over the committed state only — what a reader isolated from the open
   * transaction sees: lmdb and the commits not yet durable, without this transaction's overlay.
   */
  committedScan(plan: ScanPlan, visit: (row: Row) => boolean | void): void {
    const filter = plan.filter;
    if (plan.point !== undefined) {
      const row = this.committedGet(plan.point);
      if (row !== undefined && (!filter || filter(row))) visit(row);
      return;
    }
    this.scanRange(plan, true, (row) => (filter && !filter(row) ? false : visit(row)));
  }

  // ---- writing (into the active layer) ----------------------------------------------------------

  protected override checkWriteBytes(key: IndexKey, row: Row): void {
    this.checkKeyBytes(key);
    this.checkIndexKeyBytes(row);
  }

  /** Refuses a row whose secondary index key is too large for lmdb (checked before any change). */
  private checkIndexKeyBytes(row: Row): void {
    for (const ix of this.secondaries) this.checkKeyBytes(secondaryKey(ix, row));
  }

  protected applyWrite(key: IndexKey, row: Row, old: Row | undefined): void {
    const layer = this.active;
    for (let i = 0; i < this.secondaries.length; i++) {
      const ix = this.secondaries[i]!;
      const nk = secondaryKey(ix, row);
      if (old !== undefined) {
        const ok = secondaryKey(ix, old);
        if (compareTuples(ok, nk) === 0) continue;
        layer.ix[i]!.set(ok, TOMBSTONE);
      }
      layer.ix[i]!.set(nk, true);
    }
    layer.rows.set(key, row);
    if (old === undefined) this.rowCount++;
    this.notifyWrite(old, row);
  }

  protected applyRemove(key: IndexKey, old: Row): void {
    const layer = this.active;
    for (let i = 0; i < this.secondaries.length; i++) layer.ix[i]!.set(secondaryKey(this.secondaries[i]!, old), TOMBSTONE);
    layer.rows.set(key, TOMBSTONE);
    this.rowCount--;
    this.notifyRemove(old);
  }

  protected override applyWrites(batch: SortedBatch): void {
    layerUpdate(this.active, this.primary, this.secondaries, batch);
    for (let i = 0; i < batch.rows.length; i++) this.notifyWrite(batch.olds[i]!, batch.rows[i]!);
  }

  protected override applyRemoves(batch: SortedBatch): void {
    layerRemove(this.active, this.primary, this.secondaries, batch);
    this.rowCount -= batch.olds.length;
    for (const old of batch.olds) this.notifyRemove(old);
  }

  protected truncateRows(log: WriteLog | undefined): void {
    const saved: LmdbState = { engine: "lmdb", layer: this.active, size: this.rowCount };
    log?.truncated(this, saved);
    this.active = this.newLayer(true);
    this.rowCount = 0;
    for (const o of this.observers) o.reset([]);
  }

  restoreState(state: TableState): void {
    const saved = state as LmdbState;
    this.active = saved.layer;
    this.rowCount = saved.size;
    this.notifyReset();
  }

  /**
   * Inserts many checked rows into the overlay, sorted (so the commit writes them in key order).
   * Refuses (409, nothing written) if a key exists or repeats.
   */
  protected insertManyRows(rows: readonly Row[], log: WriteLog | undefined): void {
    const n = rows.length;
    if (n === 0) return;
    const keys = new Array<IndexKey>(n);
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      keys[i] = this.primaryKeyOf(row);
      this.checkKeyBytes(keys[i]!);
      if (this.secondaries.length !== 0) this.checkIndexKeyBytes(row);
    }
    const cmp = this.primary.compare;
    const order = sortedOrder(keys, cmp);
    const sortedKeys = order ? order.map((i) => keys[i]!) : keys;
    const sortedRows = order ? order.map((i) => rows[i]!) : rows;
    for (let i = 1; order !== undefined && i < n; i++) {
      if (cmp(sortedKeys[i - 1]!, sortedKeys[i]!) === 0) {
        throw this.keyExists(sortedKeys[i]!, undefined, "appears twice in the inserted rows");
      }
    }
    const wasEmpty = this.rowCount === 0;
    // Rows that all sort after the table's last key (an append, as chunked loads are) cannot
    // conflict: one reverse step instead of a get per row.
    if (!wasEmpty && !this.allAfterLastKey(sortedKeys[0]!)) {
      for (const k of sortedKeys) if (this.has(k)) throw this.keyExists(k, undefined);
    }
    if (log !== undefined) for (let i = 0; i < n; i++) log.rowChanged(this, sortedKeys[i]!, undefined);
    layerInsert(this.active, this.primary, this.secondaries, sortedKeys, sortedRows);
    this.rowCount += n;
    if (this.observers.length === 0) return;
    if (wasEmpty) this.notifyReset(sortedRows);
    else for (const row of sortedRows) this.notifyWrite(undefined, row);
  }

  /** True when `key` sorts after every key of the table. */
  private allAfterLastKey(key: IndexKey): boolean {
    let last: IndexKey | undefined;
    this.scanRange({ ...this.plan([]), reverse: true }, false, (row) => {
      last = this.primaryKeyOf(row);
      return true;
    });
    return last === undefined || this.primary.compare(key, last) > 0;
  }

  // ---- commit (FlushSource) ---------------------------------------------------------------------

  freeze(): WriteLayer {
    this.scanned = undefined;
    const layer = this.active;
    layer.size = this.rowCount;
    this.committing.unshift(layer);
    this.active = this.newLayer(false);
    // Index changes are deferred, or this commit writes the deferred ones too: those stay
    // readable, below every other layer, until it has settled.
    const flushing = this.deferred.take(layer, this.rowCount);
    if (flushing !== undefined) this.committing.push(...flushing);
    return layer;
  }

  settled(layer: WriteLayer): void {
    for (const done of [layer, ...(layer.flushing ?? [])]) {
      const at = this.committing.indexOf(done);
      if (at >= 0) this.committing.splice(at, 1);
    }
    this.deferred.settled(layer);
  }

  /** The store op writing the deferred index changes into `entries` (at close), if any; readable until it settles. */
  drainDeferred(): StoreOp | undefined {
    const layers = this.deferred.drain();
    if (layers === undefined) return undefined;
    this.committing.push(...layers);
    return { kind: "entries", table: this, layers };
  }

  /** Visits the committed keys of secondary index `ordinal`: lmdb's, the deferred changes applied (verify). */
  storedIndexKeys(ordinal: number, visit: (key: readonly KeyCell[]) => void): void {
    const sources: Source<Raw>[] = [];
    const { layers, withStore } = this.readLayers(true);
    for (const d of layers) if ((d.ix[ordinal]?.size ?? 0) !== 0) sources.push(layerSource<Raw>(d.ix[ordinal]!, undefined, false));
    if (withStore) sources.push(storedSource<Raw>(this.store, this.path, this.tid, ordinal, false, undefined, false, this.secondaries[ordinal]!.keyPositions.length));
    mergeSources(sources, compareTuples as Compare, false, (key, value) => void (value !== TOMBSTONE && visit(key as readonly KeyCell[])));
  }
}
