/**
 * The heap engine: one table on the JS heap — its B+ tree indexes (see table-index.ts), a hash
 * map for point gets on a single-column key, and every write, each reported to a `WriteLog` (the
 * transaction's undo log; before it happens when the log must hear first, see
 * `WriteLog.preservesCommitted`) and to the structures registered beside the table (`derived`,
 * see row-observer.ts) after. The tables of a database in memory use it; a durable
 * database's tables keep their rows in lmdb instead (lmdb-table.ts).
 */
import { bulkLoad } from "sorted-btree/extended/bulkLoad.js";

import { InternalError } from "../../errors.js";
import { DenseKeyMap } from "./dense-key-map.js";
import { type IndexKey, type KeyCell, compareTuples } from "./index-keys.js";
import { type IndexPass, pruneSecondaries, removePrimary, replacePrimary, updateSecondaries } from "./heap-range-writes.js";
import { forEachValue, prefixRange, treeValues } from "./prefix-walk.js";
import type { ScanPlan } from "./scan-plan.js";
import { TableBase } from "./table-base.js";
import type { RowFill, Table, TableState, WriteLog } from "./table-engine.js";
import {
  NODE_SIZE,
  type SortedBatch,
  type TableIndex,
  type Tree,
  loadAscending,
  mergedSecondary,
  newTree,
  secondaryKey,
  putEntries,
  sortedBatch,
  sortedEntries,
  sortedOrder,
} from "./table-index.js";
import type { Row, TableSchema } from "./table-schema.js";

/** Fewer rows than this are inserted one by one into a non-empty table (see `insertMany`). */
const MERGE_MIN_ROWS = 256;
/** Range updates and deletes of fewer rows than this go row by row (see `updateMany`). */
const BATCH_MIN_ROWS = 64;
const BREAK = Object.freeze({ break: true });
const TAKE = Object.freeze({ delete: true });

/** The trees of a heap table, saved by `truncate` and bulk loads for a rollback. */
interface HeapState extends TableState {
  readonly engine: "heap";
  readonly primary: Tree;
  readonly secondaries: readonly Tree[];
  readonly pointMap: DenseKeyMap<Row> | undefined;
}

/**
 * A table on the heap: schema, B+ tree indexes and rows.
 *
 * @example
 * ```ts
 * const t = new HeapTable("/state/app/t", parseSchema(schemaJson));
 * t.write(t.checkRow(["a", 5]), "insert", undefined);
 * t.get("a"); // ["a", 5]
 * ```
 */
export class HeapTable extends TableBase {
  readonly durable = false;
  pointMap: DenseKeyMap<Row> | undefined;

  constructor(path: string, schema: TableSchema) {
    super(path, schema);
    this.pointMap = this.primary.scalar ? new DenseKeyMap<Row>() : undefined;
  }

  get size(): number {
    return this.primary.tree.size;
  }

  /** The row with this primary tree key, if any. */
  get(key: IndexKey): Row | undefined {
    const row = this.pointMap !== undefined ? this.pointMap.get(key as KeyCell) : this.primary.tree.get(key);
    return row === undefined || this.fill === undefined ? row : this.full(row);
  }

  /**
   * `TableBase.write` in fewer tree descents on a table keyed by a tuple (no point map): the
   * primary insert of a new key doubles as the lookup, so an edge row written once descends the
   * primary tree once instead of twice (an upsert over a stored row twice, as before). Takes the
   * general path when rows are filled on read (`fill`) and when the log must hear of the change
   * before it is made.
   */
  override write(row: Row, mode: "insert" | "upsert", log: WriteLog | undefined): Row {
    if (!this.descendsOnce(log)) return super.write(row, mode, log);
    if (this.generatedAt >= 0) row = this.withGeneratedKey(row);
    const key = this.primaryKeyOf(row);
    this.checkWriteBytes(key, row);
    const tree = this.primary.tree;
    let old: Row | undefined;
    if (!tree.set(key, row, false)) {
      if (mode === "insert") throw this.keyExists(key, row);
      // An upsert over a stored row: one more descent finds it and puts the new one in its place.
      tree.editRange(key, key, true, (_k, stored) => {
        old = stored;
        return { value: row };
      });
    }
    log?.rowChanged(this, key, old);
    this.afterPrimaryWrite(row, old);
    this.guard?.written(this, row, old, log);
    return row;
  }

  /** `TableBase.remove` with one primary descent that finds and removes the row (see `write`). */
  override remove(key: IndexKey, log: WriteLog | undefined): boolean {
    if (!this.descendsOnce(log)) return super.remove(key, log);
    let old: Row | undefined;
    this.primary.tree.editRange(key, key, true, (_k, row) => {
      old = row;
      return TAKE;
    });
    if (old === undefined) return false;
    log?.rowChanged(this, key, old);
    this.afterPrimaryRemove(old);
    this.guard?.removed(this, old, log);
    return true;
  }

  /**
   * True when a point write may change the primary tree before the log hears of it, in one
   * descent: a tuple-keyed table (a one-column key has its point map: the lookup costs no
   * descent), rows read as stored, and a log that need not hear first (`reportsFirst`).
   */
  private descendsOnce(log: WriteLog | undefined): boolean {
    return this.pointMap === undefined && this.fill === undefined && !this.reportsFirst(log);
  }

  /**
   * True when `log` must hear of a change before it is made: a log that keeps the committed state
   * (a session's), before this table's first change in it (the committed trees are kept aside
   * then, `preserveCommitted`).
   */
  private reportsFirst(log: WriteLog | undefined): boolean {
    return log?.preservesCommitted === true && this.snapshot === undefined;
  }

  protected applyWrite(key: IndexKey, row: Row, old: Row | undefined): void {
    this.primary.tree.set(key, row);
    this.pointMap?.set(key as KeyCell, row);
    this.afterPrimaryWrite(row, old);
  }

  /** After `row` took `old`'s place (or a new one) in the primary index: the secondaries and observers. */
  private afterPrimaryWrite(row: Row, old: Row | undefined): void {
    for (const ix of this.secondaries) {
      const nk = secondaryKey(ix, row);
      if (old !== undefined) {
        const ok = secondaryKey(ix, old);
        if (compareTuples(ok, nk) !== 0) ix.tree.delete(ok);
      }
      ix.tree.set(nk, row);
    }
    for (const o of this.observers) {
      if (old !== undefined) o.replaced(old, row);
      else o.added(row);
    }
  }

  protected applyRemove(key: IndexKey, old: Row): void {
    this.primary.tree.delete(key);
    this.pointMap?.delete(key as KeyCell);
    this.afterPrimaryRemove(old);
  }

  /** After `old` left the primary index: the secondaries and observers. */
  private afterPrimaryRemove(old: Row): void {
    for (const ix of this.secondaries) ix.tree.delete(secondaryKey(ix, old));
    for (const o of this.observers) o.removed(old);
  }

  /**
   * A range update in one pass: the keys sorted once, the primary tree's values replaced in one
   * walk of its leaves across the keys' span (`editRange`), and each secondary index merged anew
   * when the rows are many compared with the table, else its entries taken out and put back in
   * key order (`updateSecondaries`, heap-range-writes.ts). The log hears of every row before anything changes,
   * the observers and the guard after every row is in place (as `write` tells them, row by row).
   * A few rows, or rows stored before a schema change (`fill`), go row by row.
   */
  override updateMany(olds: readonly Row[], rows: readonly Row[], log: WriteLog | undefined): void {
    const n = rows.length;
    if (n < BATCH_MIN_ROWS || this.fill !== undefined) {
      super.updateMany(olds, rows, log);
      return;
    }
    const batch = sortedBatch(this.primary, (row) => this.primaryKeyOf(row), olds, rows);
    const { keys } = batch;
    olds = batch.olds;
    rows = batch.rows;
    if (log !== undefined) for (let i = 0; i < n; i++) log.rowChanged(this, keys[i]!, olds[i]!);
    const { found, met } = replacePrimary(this.primary, keys, rows);
    if (found !== n) throw new InternalError(`${this.path}: a range update found ${found} of its ${n} rows`);
    const map = this.pointMap;
    if (map !== undefined) for (let i = 0; i < n; i++) map.set(keys[i] as KeyCell, rows[i]!);
    if (this.secondaries.length > 0) updateSecondaries(this.indexPass(batch, met === n));
    for (const o of this.observers) for (let i = 0; i < n; i++) o.replaced(olds[i]!, rows[i]!);
    const guard = this.guard;
    if (guard !== undefined) for (let i = 0; i < n; i++) guard.written(this, rows[i]!, olds[i]!, log);
  }

  /**
   * A range delete in one pass: the primary tree's entries taken out in one walk across the
   * rows' span (`pruneRange`: every leaf compacted once), then each secondary index's in one walk
   * (`pruneSecondaries`). Row by row when a removal must be guarded (rows of other tables
   * reference this one: a cascade may remove rows of the range itself), for a few rows, and for
   * rows stored before a schema change.
   */
  override removeMany(olds: readonly Row[], log: WriteLog | undefined): void {
    const n = olds.length;
    if (n < BATCH_MIN_ROWS || this.fill !== undefined || this.guard?.watchesRemovals(this) === true) {
      super.removeMany(olds, log);
      return;
    }
    const batch = sortedBatch(this.primary, (row) => this.primaryKeyOf(row), olds, undefined);
    const { keys } = batch;
    olds = batch.olds;
    if (log !== undefined) for (let i = 0; i < n; i++) log.rowChanged(this, keys[i]!, olds[i]!);
    const { found, met } = removePrimary(this.primary, keys, olds);
    if (found !== n) throw new InternalError(`${this.path}: a range delete found ${found} of its ${n} rows`);
    const map = this.pointMap;
    if (map !== undefined) for (let i = 0; i < n; i++) map.delete(keys[i] as KeyCell);
    if (this.secondaries.length > 0) pruneSecondaries(this.indexPass(batch, met === n));
    for (const o of this.observers) for (let i = 0; i < n; i++) o.removed(olds[i]!);
  }

  /**
   * The secondary pass of a range write over `batch` (see heap-range-writes.ts). `many`: an
   * eighth of the table or more, where a pass over each whole index (O(table)) beats editing it
   * entry by entry (two descents per row).
   */
  private indexPass(batch: SortedBatch, wholeSpan: boolean): IndexPass {
    const many = batch.olds.length >= Math.max(BATCH_MIN_ROWS, this.size >> 3);
    return { path: this.path, primary: this.primary, secondaries: this.secondaries, batch, wholeSpan, many };
  }

  /** Removes every row at once (saving the trees in the log so a rollback restores them). */
  protected truncateRows(log: WriteLog | undefined): void {
    log?.truncated(this, this.saveState());
    this.primary.tree = newTree(this.primary.compare);
    for (const ix of this.secondaries) ix.tree = newTree(ix.compare);
    if (this.pointMap) this.pointMap = new DenseKeyMap<Row>();
    for (const o of this.observers) o.reset([]);
  }

  private saveState(): HeapState {
    return {
      engine: "heap",
      primary: this.primary.tree,
      secondaries: this.secondaries.map((ix) => ix.tree),
      pointMap: this.pointMap,
    };
  }

  /** Reinstates trees saved by `truncate`. */
  restoreState(state: TableState): void {
    const saved = state as HeapState;
    this.primary.tree = saved.primary;
    this.secondaries.forEach((ix, i) => (ix.tree = saved.secondaries[i]!));
    this.pointMap = saved.pointMap;
    this.notifyReset();
  }

  /** The committed state while a session writes (see `preserveCommitted`). */
  private snapshot: HeapTable | undefined;

  preserveCommitted(): void {
    if (this.snapshot !== undefined) return;
    const t = new HeapTable(this.path, this.schema);
    t.tid = this.tid;
    t.fill = this.fill;
    t.attached = this.attached;
    t.keyByteLimit = this.keyByteLimit;
    // `clone()` shares every node and marks them shared: whichever tree writes next copies the
    // nodes on its path, so the snapshot costs O(1) now and O(log n) per later write.
    t.primary.tree = this.primary.tree.clone();
    t.secondaries.forEach((ix, i) => (ix.tree = this.secondaries[i]!.tree.clone()));
    t.pointMap = undefined;
    this.snapshot = t;
  }

  committed(): HeapTable {
    return this.snapshot ?? this;
  }

  releaseCommitted(): void {
    this.snapshot = undefined;
  }

  protected allRows(): Row[] {
    return this.fullRows(this.primary.tree.valuesArray());
  }

  protected rowsInOrder(ix: TableIndex): Iterable<Row> {
    return this.fullRows(ix.tree.valuesArray());
  }

  /** `rows` (an array of its own) with the cells `fill` gives filled in where they lack them. */
  private fullRows(rows: Row[]): Row[] {
    if (this.fill !== undefined) for (let i = 0; i < rows.length; i++) rows[i] = this.full(rows[i]!);
    return rows;
  }

  /**
   * The row object itself, unless rows stored before a schema change are filled in on each read
   * (`fill`): then, as on the lmdb engine, the primary key.
   */
  protected rowIdentity(): ((row: Row) => unknown) | undefined {
    if (this.fill === undefined) return undefined;
    if (this.keyLen === 1) return (row) => this.primaryKeyOf(row);
    return (row) => JSON.stringify(this.primaryKeyOf(row));
  }

  prefixRows(ix: TableIndex, prefix: readonly KeyCell[], out: Row[]): void {
    const start = out.length;
    prefixRange(ix.tree, prefix, ix.keyPositions, out);
    if (this.fill !== undefined) for (let i = start; i < out.length; i++) out[i] = this.full(out[i]!);
  }

  /**
   * Inserts many checked rows. Refuses (409, nothing written) if a key exists or repeats.
   * An empty table is bulk-loaded (sorted once, trees built in O(n)); rows that are many compared
   * with the table (an eighth of it in memory, a quarter in a durable store, where a rebuild
   * rewrites the table's rows) are merged with the existing ones and the trees rebuilt, O(n + m);
   * fewer go in one by one.
   */
  protected insertManyRows(rows: readonly Row[], log: WriteLog | undefined): void {
    if (rows.length === 0) return;
    const n = rows.length;
    const keys = new Array<IndexKey>(n);
    for (let i = 0; i < n; i++) keys[i] = this.primaryKeyOf(rows[i]!);
    if (this.keyByteLimit !== undefined) for (const k of keys) this.checkKeyBytes(k);
    const cmp = this.primary.compare;
    const order = sortedOrder(keys, cmp);
    const sortedKeys = order ? order.map((i) => keys[i]!) : keys;
    const sortedRows = order ? order.map((i) => rows[i]!) : (rows as Row[]);
    for (let i = 1; order !== undefined && i < n; i++) {
      if (cmp(sortedKeys[i - 1]!, sortedKeys[i]!) === 0) {
        throw this.keyExists(sortedKeys[i]!, undefined, "appears twice in the inserted rows");
      }
    }
    if (this.size === 0) {
      log?.bulkLoaded(this, this.saveState());
      this.loadSorted(sortedKeys, sortedRows);
      return;
    }
    const mergeFrom = Math.max(MERGE_MIN_ROWS, this.size >> (this.keyByteLimit === undefined ? 3 : 2));
    if (n >= mergeFrom) {
      this.mergeSorted(sortedKeys, sortedRows, log);
      return;
    }
    if (log === undefined) {
      for (const k of sortedKeys) {
        if (this.get(k) !== undefined) throw this.keyExists(k, undefined);
      }
    }
    // One descent per row: the primary insert doubles as the conflict check. On a conflict the
    // rows inserted so far are in the log, and the failed request is undone up to its start.
    const tree = this.primary.tree;
    const map = this.pointMap;
    let done = 0;
    try {
      for (; done < n; done++) {
        const key = sortedKeys[done]!;
        const row = sortedRows[done]!;
        // A log that must hear of the table's first change before it happens (`reportsFirst`):
        // the first row is looked up, inserted only after.
        const first = done === 0 && this.reportsFirst(log);
        if (map !== undefined || first ? this.get(key) !== undefined : !tree.set(key, row, false)) {
          throw this.keyExists(key, undefined);
        }
        log?.rowChanged(this, key, undefined);
        if (map !== undefined || first) tree.set(key, row);
        if (map !== undefined) map.set(key as KeyCell, row);
        for (const o of this.observers) o.added(row);
      }
    } finally {
      // The rows in, also when a conflict stopped the loop: each row stored is in every index.
      const stored = done < n ? sortedRows.slice(0, done) : sortedRows;
      for (const ix of this.secondaries) putEntries(ix, stored);
    }
  }

  /**
   * Merges rows sorted by primary key (strictly ascending) with the table's rows and rebuilds the
   * trees; a key already present is refused (409) before anything changes.
   */
  private mergeSorted(keys: readonly IndexKey[], rows: readonly Row[], log: WriteLog | undefined): void {
    const tree = this.primary.tree;
    const oldKeys = tree.keysArray();
    const oldRows = this.fullRows(tree.valuesArray());
    const cmp = this.primary.compare;
    const total = oldKeys.length + keys.length;
    const mergedKeys = new Array<IndexKey>(total);
    const mergedRows = new Array<Row>(total);
    let i = 0;
    let j = 0;
    for (let k = 0; k < total; k++) {
      if (j >= keys.length || (i < oldKeys.length && cmp(oldKeys[i]!, keys[j]!) < 0)) {
        mergedKeys[k] = oldKeys[i]!;
        mergedRows[k] = oldRows[i++]!;
        continue;
      }
      if (i < oldKeys.length && cmp(oldKeys[i]!, keys[j]!) === 0) {
        throw this.keyExists(keys[j]!, undefined);
      }
      mergedKeys[k] = keys[j]!;
      mergedRows[k] = rows[j++]!;
    }
    log?.bulkLoaded(this, this.saveState());
    if (this.fill !== undefined) {
      this.loadSorted(mergedKeys, mergedRows);
      return;
    }
    // Each secondary index merged from its own sorted entries and the new rows (sorted alone),
    // instead of every row sorted and keyed anew: the kept entries' keys are reused, so the
    // merge allocates keys for the new rows only (less to sort, less for the collector to copy).
    this.loadPrimary(mergedKeys, mergedRows);
    for (const ix of this.secondaries) ix.tree = mergedSecondary(ix, undefined, rows);
    for (const o of this.observers) o.reset(mergedRows);
  }

  /**
   * Loads rows that should already be sorted by primary key and unique (a durable store's scan);
   * falls back to the checked bulk insert if they are not.
   */
  loadTrusted(rows: Row[]): void {
    if (rows.length === 0) return;
    const keys = new Array<IndexKey>(rows.length);
    for (let i = 0; i < rows.length; i++) keys[i] = this.primaryKeyOf(rows[i]!);
    try {
      this.loadSorted(keys, rows);
    } catch {
      this.insertMany(rows, undefined);
    }
  }

  /**
   * Replaces the (empty) trees with ones built from rows sorted by primary key, strictly
   * ascending. Used for bulk inserts, table literals and reopening a durable store.
   */
  loadSorted(keys: IndexKey[], rows: Row[]): void {
    this.loadPrimary(keys, rows);
    for (const ix of this.secondaries) this.buildSecondary(ix, rows);
    for (const o of this.observers) o.reset(rows);
  }

  /** The primary tree and point map of `loadSorted`. */
  private loadPrimary(keys: IndexKey[], rows: Row[]): void {
    this.primary.tree = bulkLoad(keys, rows, NODE_SIZE, this.primary.compare) as Tree;
    if (this.pointMap) {
      const map = new DenseKeyMap<Row>();
      for (let i = 0; i < keys.length; i++) map.set(keys[i] as KeyCell, rows[i]!);
      this.pointMap = map;
    }
  }

  /** Builds secondary index `ix` from `rows` (every row of the table). */
  private buildSecondary(ix: TableIndex, rows: readonly Row[]): void {
    const { keys: ixKeys, rows: ixRows } = sortedEntries(ix, rows);
    // Strictly ascending: sorted by the listed cells, ties in key order, each key ending in the row's key.
    ix.tree = loadAscending(ixKeys, ixRows, ix.compare);
  }

  /**
   * Takes every row of `from` into this empty table when `from` is a heap table (the caller has
   * checked that its row layout is a prefix of this one's; `fill` gives the cells of the columns
   * its rows lack): its primary tree and the trees of indexes on the same column positions are
   * shared copy-on-write (`clone()`, O(1)), the other indexes built from its rows. The point map
   * moves to this table: `from`'s point gets then read its primary tree (it is only read again if
   * a rollback puts it back). Returns false (nothing done) when `from` is not a heap table.
   */
  adoptRows(from: Table, fill: RowFill | undefined): boolean {
    if (!(from instanceof HeapTable) || this.size !== 0 || from.schema.columns.length > this.schema.columns.length) return false;
    this.fill = fill;
    this.primary.tree = from.primary.tree.clone();
    if (this.pointMap !== undefined) {
      if (from.pointMap !== undefined) {
        this.pointMap = from.pointMap;
        from.pointMap = undefined;
      } else {
        const keys = from.primary.tree.keysArray();
        const rows = treeValues(from.primary.tree);
        const map = new DenseKeyMap<Row>();
        for (let i = 0; i < keys.length; i++) map.set(keys[i] as KeyCell, rows[i]!);
        this.pointMap = map;
      }
    }
    // The index trees may hold the rows as stored: every read fills them in.
    let stored: Row[] | undefined;
    let rows: Row[] | undefined;
    for (const ix of this.secondaries) {
      const pos = ix.keyPositions.join(",");
      const twin = from.secondaries.find((f) => f.keyPositions.join(",") === pos);
      if (twin !== undefined) ix.tree = twin.tree.clone();
      else if (fill === undefined || ix.keyPositions.every((p) => p < fill.from)) this.buildSecondary(ix, (stored ??= treeValues(from.primary.tree)));
      // an index on filled columns is keyed by the filled rows
      else this.buildSecondary(ix, (rows ??= this.fullRows(treeValues(from.primary.tree))));
    }
    return true;
  }

  /**
   * Fills this new, empty table with `rows` in place of `from`'s rows, one per row of `from`
   * with the same key, in the same (primary key) order (see `Table.replaceRows`). The primary
   * tree is built over `from`'s own key array; `from`'s point map moves here and has its values
   * replaced (no new map is grown; `from`'s point gets then read its tree); the secondary
   * indexes are built from `rows`. Returns false (nothing done) when `from` is not a heap table.
   */
  replaceRows(from: Table, rows: readonly Row[], _unchanged: readonly boolean[]): boolean {
    if (!(from instanceof HeapTable) || this.size !== 0 || rows.length !== from.size) return false;
    const keys = from.primary.tree.keysArray();
    const n = rows.length;
    this.primary.tree = bulkLoad(keys, rows as Row[], NODE_SIZE, this.primary.compare) as Tree;
    if (this.pointMap !== undefined) {
      let map = from.pointMap;
      from.pointMap = undefined;
      map ??= new DenseKeyMap<Row>();
      for (let i = 0; i < n; i++) map.set(keys[i] as KeyCell, rows[i]!);
      this.pointMap = map;
    }
    // Every index is built anew: an index on unchanged cells could reuse its twin's sorted keys,
    // but finding each key's new row is a random point-map lookup per entry, which measured
    // slower than sorting and keying again (secondaryOrder is a counting sort).
    for (const ix of this.secondaries) this.buildSecondary(ix, rows);
    return true;
  }

  /**
   * Calls `visit` for each row of the plan, in its order; `visit` returns `true` to stop.
   */
  scan(plan: ScanPlan, visit: (row: Row) => boolean | void): void {
    if (this.fill !== undefined && plan.point === undefined) {
      // Rows stored before a schema change are filled in before the filter sees them.
      const filter = plan.filter;
      this.scanTrees({ ...plan, filter: undefined }, (row) => {
        const r = this.full(row);
        return filter && !filter(r) ? false : visit(r);
      });
      return;
    }
    this.scanTrees(plan, visit);
  }

  /** Every row as stored (maybe without the trailing cells `fill` gives), in primary key order. */
  scanStored(visit: (row: Row) => void): void {
    this.scanTrees(this.plan([]), visit);
  }

  /** `scan` over the rows as the trees hold them. */
  private scanTrees(plan: ScanPlan, visit: (row: Row) => boolean | void): void {
    const filter = plan.filter;
    if (plan.point !== undefined) {
      const row = this.get(plan.point);
      if (row !== undefined && (!filter || filter(row))) visit(row);
      return;
    }
    const ix = plan.index;
    if (plan.group !== undefined) {
      const rows = this.columnGroups(ix).rowsOf(plan.group.cell);
      if (!plan.reverse) {
        for (let i = 0; i < rows.length; i++) if ((!filter || filter(rows[i]!)) && visit(rows[i]!)) return;
      } else {
        for (let i = rows.length - 1; i >= 0; i--) if ((!filter || filter(rows[i]!)) && visit(rows[i]!)) return;
      }
      return;
    }
    const tree = ix.tree;
    if (tree.size === 0) return;
    const cmp = ix.compare;
    const { low, high, lowInclusive, highInclusive } = plan;
    if (!plan.reverse) {
      if (low === undefined && high === undefined && !filter) {
        forEachValue(tree, visit);
        return;
      }
      const from = low === undefined ? tree.minKey()! : low;
      const to = high === undefined ? tree.maxKey()! : high;
      const includeTo = high === undefined ? true : highInclusive;
      const skipLow = low !== undefined && !lowInclusive;
      if (cmp(from, to) > 0) return;
      tree.forRange(from, to, includeTo, (k: IndexKey, row: Row) => {
        if (skipLow && cmp(k, from) === 0) return;
        if (filter && !filter(row)) return;
        if (visit(row)) return BREAK;
      });
      return;
    }
    const it = tree.entriesReversed(high, [] as unknown as [IndexKey, Row], high !== undefined && !highInclusive);
    for (let r = it.next(); !r.done; r = it.next()) {
      const k = r.value[0];
      const row = r.value[1];
      if (low !== undefined) {
        const c = cmp(k, low);
        if (c < 0 || (c === 0 && !lowInclusive)) break;
      }
      if (filter && !filter(row)) continue;
      if (visit(row)) break;
    }
  }

  /** Number of rows a plan yields (no row visits when the whole table is selected). */
  count(plan: ScanPlan): number {
    if (plan.group !== undefined && !plan.filter) return this.columnGroups(plan.index).rowsOf(plan.group.cell).length;
    if (plan.point === undefined && plan.low === undefined && plan.high === undefined && !plan.filter) {
      return plan.index.tree.size;
    }
    if (plan.point === undefined && !plan.filter) {
      // Count leaves without visiting rows one by one.
      const tree = plan.index.tree;
      if (tree.size === 0) return 0;
      const cmp = plan.index.compare;
      const from = plan.low === undefined ? tree.minKey()! : plan.low;
      const to = plan.high === undefined ? tree.maxKey()! : plan.high;
      if (cmp(from, to) > 0) return 0;
      const includeTo = plan.high === undefined ? true : plan.highInclusive;
      let n = tree.forRange(from, to, includeTo);
      // An exclusive low bound (single-column keys only) was counted if present and in range.
      if (plan.low !== undefined && !plan.lowInclusive && tree.has(plan.low) && (includeTo || cmp(from, to) < 0)) n--;
      return n;
    }
    let n = 0;
    this.scan(plan, () => {
      n++;
    });
    return n;
  }
}
