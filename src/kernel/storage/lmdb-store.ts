/**
 * The durable store: tables persisted in lmdb, read in place by durable tables (lmdb-table.ts).
 * Sub-databases:
 *  - `meta`: table id → `{path, schema, sum, fill?}` (msgpack; `sum`: checksum of path, schema
 *    and fill; `fill`: `{from, cells}`, the stored cells of columns appended to the schema without
 *    a rewrite, which rows holding fewer than the schema's cells read, see `Table.fill`);
 *  - `rows`: `[tableId, ...keyCells]` → `[...valueCells, checksum]` (keys in the compact encoding
 *    of store-keys.ts, msgpack values; the checksum covers the stored key and the value cells, see
 *    checksums.ts), so one table's rows are contiguous and in primary-key order: point gets and
 *    range scans read them where they are;
 *  - `entries`: `[tableId, indexOrdinal, ...indexKeyCells]` → null, one entry per row and
 *    secondary index (its listed columns, then the key columns it does not list), so a scan
 *    through a secondary index is a range of keys, each leading to its row — except the changes
 *    a table still defers:
 *  - `ixlog`: `[tableId, seq]` → a record of one commit's secondary index changes not yet in
 *    `entries` (deferred-entries.ts), replayed at open;
 *  - `counts`: table id → its number of rows after the last commit that wrote it;
 *  - `info`: `"format"` → the store format (4 since `ixlog`; see `STORE_FORMAT` for
 *    the older ones, brought up to it once at open by data-dir.ts); `"sequence:<tid>"` → the highest key
 *    a table's generated-increment key column ever held (written with the table's rows, so a
 *    generated key is never reused, also after a crash).
 * Reading a row checks its checksum (`DataCorruptionError` naming the table and key when it
 * fails). Tables written before checksums existed have no `sum` and are read unchecked.
 * A commit's write-set is written in ONE lmdb transaction whose promise resolves only after
 * the commit is synced to disk (sync commits, no overlapping sync, no write map): an acknowledged
 * commit survives kill -9 and a partial one never becomes visible.
 */
import { type Database as LmdbDatabase, type RootDatabase, asBinary, open } from "lmdb";
import { DataCorruptionError, TcError } from "../../errors.js";
import type { Json, Link } from "../../ir/types.js";
import type { RowFill, Table } from "./table-engine.js";
import { type IndexKey, type KeyCell, keyBytes, normCell } from "./index-keys.js";
import type { Cell, Column, Row } from "./table-schema.js";
import { rowChecksum, tableChecksum } from "./checksums.js";
import { type CompactionStep, type FlushSource, type IndexEntry, type LayerTree, TOMBSTONE, type WriteLayer } from "./write-overlay.js";
import { encodeIxLog } from "./deferred-entries.js";
import { ENTRY_KEYS, ROW_KEYS, encodeStoreKey, withTrailingNulls } from "./store-keys.js";

/**
 * The store format written by this version. 1: rows in `data` (ordered-binary keys), no index
 * entries; 2: `data` and `index` (ordered-binary keys); 3: `rows` and `entries`, the same keys in
 * the compact encoding of store-keys.ts; 4: `ixlog`, index changes not yet in `entries`
 * (deferred-entries.ts), which a version reading only `entries` would miss. An older store is
 * brought up to 3 once, at open (data-dir.ts `upgradeStore`), each step in one lmdb transaction,
 * and its next commit records 4 (a store of format 3 has no index log to move); read-only (verify)
 * it is read as it is.
 */
export const STORE_FORMAT = 4;

/** One change of a write-set, in log order. */
export type StoreOp =
  | { readonly kind: "create"; readonly tid: number; readonly path: string; readonly schema: Json; readonly fill?: RowFill }
  | { readonly kind: "drop"; readonly tid: number }
  | { readonly kind: "flush"; readonly table: FlushSource }
  /** A table's deferred index changes written into `entries` (deferred-entries.ts `drain`). */
  | { readonly kind: "entries"; readonly table: FlushSource; readonly layers: readonly WriteLayer[] };

/** A stored cell (bytes are stored as their key string, see `bytesKey`). */
export type StoreCell = null | boolean | number | bigint | string;
/**
 * A stored key: the table id, then key cells (index keys may hold null cells, and 64-bit integer
 * cells bigints, which lmdb's key encoding takes and orders with numbers although its types do not
 * say so).
 */
export type StoreKey = (boolean | number | string)[];

/** A table as stored: its id, link and schema JSON. */
export interface StoredTable {
  readonly tid: number;
  readonly path: string;
  readonly schema: unknown;
  /** True when the table's rows carry checksums (every table created since checksums exist). */
  readonly checked: boolean;
  /** The row count recorded by the last commit that wrote the table, if any. */
  readonly rows: number | undefined;
  /** The stored fill (cells in their stored form, see `fillFromStore`), if any. */
  readonly fill: StoredFill | undefined;
}

/** A table's fill as stored: cells in their stored form (links as hrefs, bytes as key strings). */
export interface StoredFill {
  readonly from: number;
  readonly cells: readonly StoreCell[];
}

/** The stored form of a fill. */
export function fillToStore(fill: RowFill): StoredFill {
  return { from: fill.from, cells: fill.cells.map((c) => normCell(c) as StoreCell) };
}

/** A stored fill read back against the table's columns (`schema.columns`). */
export function fillFromStore(stored: StoredFill, columns: readonly Column[]): RowFill {
  const cells = stored.cells.map((c, i): Cell => {
    const col = columns[stored.from + i];
    if (col === undefined || typeof c !== "string") {
      return typeof c === "number" && col?.bigMin !== undefined && !Number.isSafeInteger(c) ? BigInt(c) : (c as Cell);
    }
    if (col.kind === "link") return { kind: "link", href: c } as Link;
    if (col.kind === "bytes") return keyBytes(c);
    return c;
  });
  return { from: stored.from, cells };
}

/** A table's catalog entry as stored. */
interface MetaRecord {
  path: string;
  schema: unknown;
  sum?: number;
  fill?: StoredFill;
}

/** lmdb's key size limit is 1978 bytes; leave room for the table id and type tags. */
export const MAX_KEY_BYTES = 1900;

/** The `data` key of a row: `[tid, ...primary key cells]`. */
export function storeKey(tid: number, key: IndexKey): StoreKey {
  if (Array.isArray(key)) {
    const k = new Array<KeyCell>(key.length + 1);
    k[0] = tid;
    for (let i = 0; i < key.length; i++) k[i + 1] = key[i] === 0 ? 0 : key[i]!; // -0 is stored as 0
    return k as StoreKey;
  }
  return [tid, key === 0 ? 0 : (key as string)];
}

/** The stored value of a row: its value cells, then the checksum of stored key and values. */
export function storeValues(storedKey: StoreKey, row: Row, keyLen: number): StoreCell[] {
  const n = row.length - keyLen;
  const out = new Array<StoreCell>(n + 1);
  for (let i = keyLen; i < row.length; i++) out[i - keyLen] = normCell(row[i]!) as StoreCell;
  out[n] = rowChecksum(storedKey, out, n);
  return out;
}

/**
 * An lmdb environment holding tables.
 *
 * @example
 * ```ts
 * const store = LmdbStore.open("/tmp/data/state");
 * for (const t of store.tables()) store.scanRows(t, (key, values) => {});
 * await store.write(ops);
 * ```
 */
export class LmdbStore {
  private constructor(
    private readonly env: RootDatabase,
    private readonly meta: LmdbDatabase<MetaRecord, number>,
    /** Rows: `[tid, ...key cells]` → `[...value cells, checksum]` (`data` before format 3). */
    private rowsDb: LmdbDatabase<StoreCell[] | null, StoreKey>,
    private readonly counts: LmdbDatabase<number, number> | undefined,
    /** Secondary index entries: `[tid, ordinal, ...index key cells]` → null (`index` before format 3). */
    private entriesDb: LmdbDatabase<null, StoreKey> | undefined,
    private readonly info: LmdbDatabase<unknown, string> | undefined,
    /** Index log records: `[tid, seq]` → a record of deferred index changes (deferred-entries.ts). */
    private readonly ixlog: LmdbDatabase<Buffer, StoreKey> | undefined,
    /** The data directory, for error messages. */
    readonly dataDir: string,
    /** True while the rows are in the sub-databases of a format before 3 (`data`, `index`). */
    private legacy: boolean,
  ) {}

  /** `entries` with its keys as stored bytes (see `removeIndexEntries`). */
  private entriesRaw: LmdbDatabase<Buffer, Buffer> | undefined;

  /** The rows: `[tid, ...key cells]` → `[...value cells, checksum]`. */
  get data(): LmdbDatabase<StoreCell[] | null, StoreKey> {
    return this.rowsDb;
  }

  /** The secondary index entries: `[tid, ordinal, ...index key cells]` → null. */
  get index(): LmdbDatabase<null, StoreKey> | undefined {
    return this.entriesDb;
  }

  /**
   * Opens (creating if needed) the store in the existing directory `dir`; `dataDir` names the
   * data directory in error messages. The caller has checked the file first (data-dir.ts).
   */
  static open(dir: string, dataDir = dir, readOnly = false): LmdbStore {
    const env = open({
      readOnly,
      path: dir,
      // Durability: every commit is synced before its promise resolves.
      noSync: false,
      noMetaSync: false,
      overlappingSync: false,
      // No writable map: with one, a full disk kills the process (SIGBUS when a write reaches a
      // sparse page of the map; without it the commit fails with an error and the database stops).
      // Measured and not taken, storage/README.md: it would keep ~30 MB less of glibc heap after a
      // chunked load (lmdb keeps every malloc'd dirty page it freed for reuse).
      useWritemap: false,
      compression: false,
      maxDbs: 8,
    });
    // Plain msgpack (no shared record structures): values are small arrays and one object per table.
    const msgpack = { encoding: "msgpack", useRecords: false } as const;
    const meta = env.openDB<MetaRecord, number>({ name: "meta", ...msgpack } as { name: string });
    // Read-only on a store written by an older format: a sub-database it lacks is absent.
    const optional = <V, K extends import("lmdb").Key>(name: string, create = !readOnly, extra = {}): LmdbDatabase<V, K> | undefined => {
      try {
        return env.openDB<V, K>({ name, ...msgpack, ...extra, create } as { name: string }) ?? undefined;
      } catch (e) {
        if (create) throw e;
        return undefined;
      }
    };
    const counts = optional<number, number>("counts");
    const info = optional<unknown, string>("info");
    const ixlogOf = () => optional<Buffer, StoreKey>("ixlog", !readOnly, { keyEncoder: ENTRY_KEYS, encoding: "binary" });
    // A store of a format before 3 keeps its rows in `data` and `index` until `reencode` moves them.
    const format = info?.get("format");
    const legacyData = typeof format === "number" && format >= 3 ? undefined : optional<StoreCell[] | null, StoreKey>("data", false);
    if (legacyData !== undefined) {
      return new LmdbStore(env, meta, legacyData, counts, optional<null, StoreKey>("index", !readOnly), info, ixlogOf(), dataDir, true);
    }
    const rows = optional<StoreCell[] | null, StoreKey>("rows", !readOnly, { keyEncoder: ROW_KEYS });
    const entries = optional<null, StoreKey>("entries", !readOnly, { keyEncoder: ENTRY_KEYS });
    if (rows === undefined) {
      // read-only on a directory no version ever opened for writing (every writable open creates it)
      throw new DataCorruptionError(dataDir, "state/data.mdb", "it holds no rows sub-database");
    }
    const store = new LmdbStore(env, meta, rows, counts, entries, info, ixlogOf(), dataDir, false);
    if (!readOnly) store.entriesRaw = rawEntries(env);
    return store;
  }

  /** A `DataCorruptionError` for `damaged`; an error lmdb or the decoder threw becomes one. */
  corruption(damaged: string, problem: unknown): TcError {
    if (problem instanceof TcError) return problem;
    const text = problem instanceof Error ? problem.message : String(problem);
    return new DataCorruptionError(this.dataDir, damaged, text);
  }

  /** The store format recorded in it (1: before the `index` sub-database). */
  format(): number {
    const f = this.info?.get("format");
    return typeof f === "number" ? f : 1;
  }

  /** Every stored table (each catalog entry's checksum checked). */
  tables(): StoredTable[] {
    const out: StoredTable[] = [];
    try {
      for (const { key, value } of this.meta.getRange()) {
        const entry = `catalog entry ${key} (state/data.mdb, sub-database "meta")`;
        if (typeof key !== "number" || value === null || typeof value !== "object" || typeof value.path !== "string") {
          throw new DataCorruptionError(this.dataDir, entry, "not a table entry");
        }
        if (value.sum !== undefined && value.sum !== tableChecksum(value.path, value.schema, value.fill)) {
          throw new DataCorruptionError(this.dataDir, `${entry}, table ${value.path}`, "checksum mismatch");
        }
        const rows = this.counts?.get(key);
        out.push({ tid: key, path: value.path, schema: value.schema, checked: value.sum !== undefined, rows: typeof rows === "number" ? rows : undefined, fill: value.fill });
      }
    } catch (e) {
      throw this.corruption('the table catalog (state/data.mdb, sub-database "meta")', e);
    }
    return out;
  }

  /**
   * Calls `visit` with each row of `table`, in key order: the stored key (`[tid, ...key cells]`)
   * and the value cells (the checksum cell last). Checks each row's checksum when the table has
   * them and `checkRows`; checks the row count against the recorded one when `checkCount`. Throws
   * `DataCorruptionError` naming the table and row when one fails. Used by verify, by the
   * one-time index build of an older store and by a schema change's index build
   * (`LmdbTable.adoptRows`), never by reads.
   */
  scanRows(
    table: StoredTable,
    visit: (storedKey: readonly KeyCell[], values: readonly KeyCell[] | null) => void,
    checkRows = true,
    checkCount = true,
  ): void {
    const check = checkRows && table.checked;
    const range = { start: [table.tid], end: [table.tid + 1] };
    let last: readonly KeyCell[] | undefined;
    let n = 0;
    try {
      for (const { key, value } of this.data.getRange(range)) {
        last = key as KeyCell[];
        n++;
        if (check) {
          const n = Array.isArray(value) ? value.length - 1 : -1;
          if (n < 0 || value![n] !== rowChecksum(key, value!, n)) {
            throw new DataCorruptionError(this.dataDir, rowName(table, key as KeyCell[]), "checksum mismatch");
          }
        }
        visit(key as KeyCell[], value);
      }
      if (checkCount && table.rows !== undefined && n !== table.rows) {
        throw new DataCorruptionError(this.dataDir, `table ${table.path}`, `${n} rows found, ${table.rows} were committed`);
      }
    } catch (e) {
      throw this.corruption(last ? `table ${table.path}, after row ${JSON.stringify(last.slice(1))}` : `table ${table.path}`, e);
    }
  }

  /** Number of rows stored for table `tid` (counted in lmdb, no row decoded). */
  countRows(tid: number): number {
    return this.data.getCount({ start: [tid], end: [tid + 1] });
  }

  /**
   * Builds the secondary index entries of tables stored without them (a store of format 1), records
   * missing row counts, and format 2, in one synced lmdb transaction (`reencode` follows).
   */
  async upgrade(entries: (put: (key: StoreKey) => void, putCount: (tid: number, n: number) => void) => void): Promise<void> {
    const { index, counts, info } = this;
    await settleCommit(this.env.transaction(() => {
      entries(
        (key) => index!.putSync(key, null),
        (tid, n) => counts!.putSync(tid, n),
      );
      info!.putSync("format", 2);
    }));
  }

  /** True while the rows are in the sub-databases of a format before 3 (see `reencode`). */
  get isLegacy(): boolean {
    return this.legacy;
  }

  /**
   * Moves the rows and index entries of a store of format 2 from `data` and `index` (ordered-binary
   * keys) to `rows` and `entries` (store-keys.ts), drops the old sub-databases and records format
   * 3, in one synced lmdb transaction: a crash leaves format 2 as it was, and the next open does it
   * again. The keys read back alike, and the order is the same, so each sub-database is appended.
   * `widthOf` gives a secondary index's cell count, so an entry read back short of its trailing
   * nulls is written whole (store-keys.ts `withTrailingNulls`).
   */
  async reencode(widthOf: (tid: number, ordinal: number) => number | undefined): Promise<void> {
    if (!this.legacy) return;
    const { env, info } = this;
    const oldRows = this.rowsDb;
    const oldEntries = this.entriesDb;
    const msgpack = { encoding: "msgpack", useRecords: false } as const;
    const rows = env.openDB<StoreCell[] | null, StoreKey>({ name: "rows", ...msgpack, keyEncoder: ROW_KEYS } as { name: string });
    const entries = env.openDB<null, StoreKey>({ name: "entries", ...msgpack, keyEncoder: ENTRY_KEYS } as { name: string });
    await settleCommit(env.transaction(() => {
      const putRow = sortedPuts(rows, Infinity);
      for (const { key, value } of oldRows.getRange()) putRow(key, value);
      if (oldEntries !== undefined) {
        const putEntry = sortedPuts(entries, Infinity);
        for (const key of oldEntries.getKeys()) {
          const [tid, ordinal, ...cells] = key as StoreCell[];
          const width = widthOf(tid as number, ordinal as number);
          putEntry(width === undefined ? key : ([tid, ordinal, ...withTrailingNulls(cells, width)] as StoreKey), null);
        }
        oldEntries.dropSync();
      }
      oldRows.dropSync();
      info!.putSync("format", STORE_FORMAT);
    }));
    this.rowsDb = rows;
    this.entriesDb = entries;
    this.entriesRaw = rawEntries(env);
    this.legacy = false;
  }

  /** Table `tid`'s index log records, `[seq, record]` in sequence order (deferred-entries.ts). */
  *ixLogRecords(tid: number): Generator<[number, Uint8Array]> {
    if (!this.ixlog) return;
    for (const { key, value } of this.ixlog.getRange({ start: [tid], end: [tid + 1] })) yield [(key as number[])[1]!, value];
  }

  /**
   * A writer of `n` changes to secondary index `ordinal` of table `tid` given in key order (an
   * entry put, or removed for `TOMBSTONE`): one key array refilled per change (lmdb encodes the key
   * during the put), the stored null given as bytes, the puts a sorted run (`sortedPuts`).
   */
  private entryWriter(tid: number, ordinal: number, n: number): (key: IndexKey, entry: IndexEntry) => void {
    const index = this.index!;
    const k: StoreCell[] = [tid, ordinal];
    const put = sortedPuts(index as unknown as LmdbDatabase<unknown, StoreKey>, n);
    return (key, entry) => {
      entryKeyInto(k, key as readonly KeyCell[]);
      if (entry === TOMBSTONE) index.removeSync(k as StoreKey);
      else put(k as StoreKey, NULL_VALUE);
    };
  }

  /** Writes index changes (`ix` of a layer) into `entries`: one sorted run per index. */
  private writeEntries(tid: number, ix: readonly (LayerTree<IndexEntry> | undefined)[]): void {
    ix.forEach((tree, ordinal) => {
      if (tree !== undefined) tree.forEachPair(this.entryWriter(tid, ordinal, tree.size));
    });
  }

  /** Removes table `tid`'s index log records (those below sequence `below`, if given). */
  private removeIxLog(tid: number, below?: number): void {
    if (!this.ixlog) return;
    const keys = [...this.ixlog.getKeys({ start: [tid], end: below === undefined ? [tid + 1] : [tid, below] })];
    for (const k of keys) this.ixlog.removeSync(k);
  }

  /** Writes a compaction's slice into `entries`; its last slice removes the log records it covers. */
  private compact(tid: number, step: CompactionStep): void {
    for (const { ordinal, keys, values } of step.slices) {
      const write = this.entryWriter(tid, ordinal, keys.length);
      for (let i = 0; i < keys.length; i++) write(keys[i]!, values[i]!);
    }
    if (step.logBelow !== undefined) this.removeIxLog(tid, step.logBelow);
  }

  /**
   * Removes the `entries` keys from `start` up to (not including) `end` (`[tid, ordinal?]`). They
   * are listed and removed as their stored bytes: a key read back as cells may have lost trailing
   * nulls (store-keys.ts `withTrailingNulls`), and one written again from those cells would be
   * another key, leaving the entry behind.
   */
  private removeIndexEntries(start: StoreKey, end: StoreKey): void {
    const raw = this.entriesRaw;
    if (!raw) return;
    const keys = [...raw.getKeys({ start: encodeStoreKey(start, 2), end: encodeStoreKey(end, 2) })];
    for (const k of keys) raw.removeSync(k);
  }

  private removeTableRows(tid: number): void {
    const keys = [...this.data.getKeys({ start: [tid], end: [tid + 1] })];
    for (const k of keys) this.data.removeSync(k);
    this.removeIndexEntries([tid], [tid + 1]);
    this.removeIxLog(tid);
  }

  /**
   * Writes a write-set in one lmdb transaction; resolves once it is synced to disk. The pending
   * writes of each flushed table are frozen now, synchronously (so the next transaction starts
   * on an empty overlay while this one's writes stay readable), and dropped once lmdb holds them.
   */
  async write(ops: readonly StoreOp[]): Promise<void> {
    if (ops.length === 0) return;
    if (this.legacy) throw new Error("a store of an older format is written only after its upgrade (data-dir.ts)");
    const { data, meta, counts, info, ixlog } = this;
    const layers: [FlushSource, WriteLayer][] = [];
    for (const op of ops) if (op.kind === "flush") layers.push([op.table, op.table.freeze()]);
    else if (op.kind === "entries") for (const layer of op.layers) layers.push([op.table, layer]);
    let layerAt = 0;
    await settleCommit(this.env.transaction(() => {
      if (info!.get("format") !== STORE_FORMAT) info!.putSync("format", STORE_FORMAT);
      for (const op of ops) {
        switch (op.kind) {
          case "create": {
            const fill = op.fill === undefined ? undefined : fillToStore(op.fill);
            const record: MetaRecord = { path: op.path, schema: op.schema, sum: tableChecksum(op.path, op.schema, fill) };
            if (fill !== undefined) record.fill = fill;
            meta.putSync(op.tid, record);
            break;
          }
          case "drop":
            meta.removeSync(op.tid);
            counts!.removeSync(op.tid);
            info!.removeSync(sequenceKey(op.tid));
            this.removeTableRows(op.tid);
            break;
          case "flush": {
            const [src, layer] = layers[layerAt++]!;
            const tid = src.tid;
            const keyLen = src.keyLen;
            if (layer.truncated) this.removeTableRows(tid);
            if (layer.flushing !== undefined) {
              // the deferred index changes of earlier commits, written before this layer's own
              for (const older of layer.flushing) this.writeEntries(tid, older.ix);
              this.removeIxLog(tid);
            }
            if (layer.compaction !== undefined) this.compact(tid, layer.compaction);
            // Index entries of indexes dropped, then indexes built, by a schema change: the built
            // ones are written as one sorted pass of puts.
            if (layer.clearIndexesFrom !== undefined) this.removeIndexEntries([tid, layer.clearIndexesFrom], [tid + 1]);
            layer.ixBase.forEach((keys, ordinal) => {
              if (keys === undefined) return;
              if (!layer.truncated) this.removeIndexEntries([tid, ordinal], [tid, ordinal + 1]);
              const write = this.entryWriter(tid, ordinal, keys.length);
              for (let i = 0; i < keys.length; i++) write(keys[i]!, true);
            });
            const putRow = sortedPuts(data, layer.rows.size);
            layer.rows.forEachPair((key, entry) => {
              const k = storeKey(tid, key);
              if (entry === TOMBSTONE) data.removeSync(k);
              else putRow(k, storeValues(k, entry, keyLen));
            });
            if (layer.deferSeq === undefined) this.writeEntries(tid, layer.ix);
            else {
              const record = encodeIxLog(tid, layer.ix);
              if (record !== undefined) ixlog!.putSync([tid, layer.deferSeq], record);
            }
            counts!.putSync(tid, layer.size);
            if (src.sequence !== undefined) info!.putSync(sequenceKey(tid), src.sequence);
            break;
          }
          case "entries":
            layerAt += op.layers.length;
            for (const older of op.layers) this.writeEntries(op.table.tid, older.ix);
            this.removeIxLog(op.table.tid);
            break;
        }
      }
    }));
    for (const [src, layer] of layers) src.settled(layer);
  }

  /** The key sequence stored for table `tid` (see `sequenceKey`), if any. */
  sequenceOf(tid: number): number | bigint | undefined {
    const v = this.info?.get(sequenceKey(tid));
    return typeof v === "number" || typeof v === "bigint" ? v : undefined;
  }

  /** Resolves when every write so far is on disk, then closes the environment. */
  async close(): Promise<void> {
    await this.env.flushed;
    await this.env.close();
  }
}

/**
 * An index entry's value as its stored bytes (msgpack `null`), given to lmdb as they are: the same
 * bytes the entries' encoder writes for `null`, without a call of the encoder per entry (about a
 * fifth of a put).
 */
const NULL_VALUE = asBinary(Buffer.from([0xc0]));

/** Fewer puts than this in one sorted run are not tried as appends (see `sortedPuts`). */
const APPEND_FROM = 1024;
const APPEND = { append: true };

/**
 * A put for a run of `n` keys given in ascending order, inside a write transaction. A long run
 * that lands after every key of the sub-database (a new table's rows, an index of the table with
 * the highest id) is appended (lmdb's MDB_APPEND: no descent, pages filled in order, about twice
 * as fast); lmdb refuses an append whose key is not past the last one (`putSync` answers false,
 * nothing written), and from then on the run is put normally.
 */
function sortedPuts<V>(db: LmdbDatabase<V, StoreKey>, n: number): (key: StoreKey, value: V) => void {
  let append = n >= APPEND_FROM;
  return (key, value) => {
    if (append) {
      // lmdb's declarations type `putSync` as void; it answers whether it wrote
      if ((db as unknown as { putSync(k: StoreKey, v: V, o: typeof APPEND): boolean }).putSync(key, value, APPEND)) return;
      append = false;
    }
    db.putSync(key, value);
  };
}

/** How long a failed commit waits for lmdb-js to say why (see `settleCommit`). */
const COMMIT_CAUSE_MS = 1000;

/**
 * `commit` (any write transaction of the store), failing with lmdb's reason when lmdb-js gives
 * it. lmdb-js rejects a failed commit ("Commit failed") with a `commitError` promise that it
 * rejects afterwards with the cause (a full disk: an I/O error); nobody else handles that
 * rejection, and an unhandled rejection ends the process. It is handled here, and its reason (if
 * it comes within `COMMIT_CAUSE_MS`) put in the error thrown.
 */
async function settleCommit(commit: Promise<unknown>): Promise<void> {
  try {
    await commit;
  } catch (e) {
    const later = (e as { commitError?: unknown } | null)?.commitError;
    if (!(later instanceof Promise)) throw e;
    const cause = await Promise.race([
      later.then(
        () => undefined,
        (why: unknown) => why,
      ),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), COMMIT_CAUSE_MS).unref()),
    ]);
    if (cause === undefined) throw e;
    throw new Error(`${(e as Error).message}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** `entries` opened with its keys as stored bytes (`LmdbStore.removeIndexEntries`). */
function rawEntries(env: RootDatabase): LmdbDatabase<Buffer, Buffer> {
  return env.openDB<Buffer, Buffer>({ name: "entries", encoding: "binary", keyEncoding: "binary" } as { name: string });
}

/** The `info` key of a table's key sequence (the highest generated-increment key it ever held). */
function sequenceKey(tid: number): string {
  return `sequence:${tid}`;
}

/**
 * `k` (`[tid, ordinal, …]`) with the cells of `key` after its first two: an entry's stored key
 * (`indexStoreKey`), written into an array a run of puts reuses.
 */
function entryKeyInto(k: StoreCell[], key: readonly KeyCell[]): StoreKey {
  // (the length setter is a slow call: only when the width changes)
  if (k.length !== key.length + 2) k.length = key.length + 2;
  for (let i = 0; i < key.length; i++) k[i + 2] = key[i] === 0 ? 0 : (key[i] as StoreCell);
  return k as StoreKey;
}

/** The `index` key of a secondary index entry: `[tid, ordinal, ...index key cells]`. */
export function indexStoreKey(tid: number, ordinal: number, key: readonly KeyCell[]): StoreKey {
  const k = new Array<StoreCell>(key.length + 2);
  k[0] = tid;
  k[1] = ordinal;
  return entryKeyInto(k, key);
}

function rowName(table: StoredTable, storedKey: readonly KeyCell[]): string {
  return `table ${table.path}, row ${JSON.stringify(storedKey.slice(1))}`;
}

/**
 * Rebuilds a stored row from its stored key (`[tid, ...key cells]`) and value cells (`checked`:
 * followed by the checksum cell); link columns come back as link values, and columns appended
 * after the row was stored (`Table.fill`) get their fill cells.
 */
export function rowFromStore(table: Table, storedKey: readonly KeyCell[], values: readonly KeyCell[] | null, checked: boolean): Row {
  const cols = table.schema.columns;
  const keyLen = storedKey.length - 1;
  const row = new Array<Cell>(cols.length);
  for (let i = 0; i < keyLen; i++) row[i] = storedKey[i + 1] as Cell;
  const stored = values === null ? keyLen : keyLen + values.length - (checked ? 1 : 0);
  for (let i = keyLen; i < cols.length; i++) row[i] = (i < stored ? values![i - keyLen] : null) as Cell;
  // A row stored before columns were appended without a rewrite reads their cells (`Table.fill`).
  const fill = table.fill;
  if (fill !== undefined) for (let i = Math.max(stored, fill.from); i < cols.length; i++) row[i] = fill.cells[i - fill.from]!;
  if (table.hasLinks) {
    for (let i = 0; i < cols.length; i++) {
      const c = row[i];
      const col = cols[i]!;
      if (typeof c === "string") {
        if (col.kind === "link") row[i] = { kind: "link", href: c } as Link;
        else if (col.kind === "bytes") row[i] = keyBytes(c);
      } else if (typeof c === "number" && col.bigMin !== undefined && !Number.isSafeInteger(c)) {
        // lmdb's key encoding reads a large integer that a double holds exactly as a number.
        row[i] = BigInt(c);
      }
    }
  }
  return row;
}
