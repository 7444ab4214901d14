/**
 * The durable store: tables persisted in lmdb. Two sub-databases:
 *  - `meta`: table id → `{path, schema, sum}` (msgpack; `sum`: checksum of path and schema);
 *  - `data`: `[tableId, ...keyCells]` → `[...valueCells, checksum]` (ordered-binary keys, msgpack
 *    values; the checksum covers the stored key and the value cells, see checksums.ts), so one
 *    table's rows are contiguous and come back in primary-key order (cheap bulk reload).
 *  - `counts`: table id → its number of rows after the last commit that wrote it (so rows lost to
 *    a damaged tree page are noticed).
 * Loading a row checks its checksum (`DataCorruptionError` naming the table and key when it
 * fails). Tables written before checksums existed have no `sum` and are loaded unchecked.
 * A transaction's write-set is written in ONE lmdb transaction whose promise resolves only after
 * the commit is synced to disk (sync commits, no overlapping sync, no write map): an acknowledged
 * commit survives kill -9 and a partial one never becomes visible.
 */
import { type Database as LmdbDatabase, type RootDatabase, open } from "lmdb";
import { DataCorruptionError, TcError } from "../../errors.js";
import type { Json, Link } from "../../ir/types.js";
import type { Table } from "./table-engine.js";
import { type IndexKey, type KeyCell, normCell } from "./index-keys.js";
import type { Cell, Row } from "./table-schema.js";
import { rowChecksum, tableChecksum } from "./checksums.js";

/** One change of a write-set, in log order. */
export type StoreOp =
  | { readonly kind: "create"; readonly tid: number; readonly path: string; readonly schema: Json }
  | { readonly kind: "rows"; readonly table: Table; readonly rows: readonly Row[] }
  | { readonly kind: "drop"; readonly tid: number }
  | { readonly kind: "truncate"; readonly tid: number }
  | { readonly kind: "put"; readonly table: Table; readonly key: IndexKey; readonly row: Row }
  | { readonly kind: "delete"; readonly table: Table; readonly key: IndexKey };

type StoreCell = null | boolean | number | string;
/** Key cells are never null (key columns are not nullable). */
type StoreKey = (boolean | number | string)[];

/** A table as stored: its id, link and schema JSON. */
export interface StoredTable {
  readonly tid: number;
  readonly path: string;
  readonly schema: unknown;
  /** True when the table's rows carry checksums (every table created since checksums exist). */
  readonly checked: boolean;
  /** The row count recorded by the last commit that wrote the table, if any. */
  readonly rows: number | undefined;
}

/** A table's catalog entry as stored. */
interface MetaRecord {
  path: string;
  schema: unknown;
  sum?: number;
}

/** lmdb's key size limit is 1978 bytes; leave room for the table id and type tags. */
export const MAX_KEY_BYTES = 1900;

function storeKey(tid: number, key: IndexKey): StoreKey {
  if (Array.isArray(key)) {
    const k = new Array<KeyCell>(key.length + 1);
    k[0] = tid;
    for (let i = 0; i < key.length; i++) k[i + 1] = key[i] === 0 ? 0 : key[i]!; // -0 is stored as 0
    return k as StoreKey;
  }
  return [tid, key === 0 ? 0 : (key as string)];
}

/** The stored value of a row: its value cells, then the checksum of stored key and values. */
function storeValues(storedKey: StoreKey, row: Row, keyLen: number): StoreCell[] {
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
 * for (const t of store.tables()) store.scanRows(t.tid, (key, values) => {});
 * await store.write(ops);
 * ```
 */
export class LmdbStore {
  private constructor(
    private readonly env: RootDatabase,
    private readonly meta: LmdbDatabase<MetaRecord, number>,
    private readonly data: LmdbDatabase<StoreCell[] | null, StoreKey>,
    private readonly counts: LmdbDatabase<number, number> | undefined,
    /** The data directory, for error messages. */
    readonly dataDir: string,
  ) {}

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
      useWritemap: false,
      compression: false,
      maxDbs: 8,
    });
    // Plain msgpack (no shared record structures): values are small arrays and one object per table.
    const msgpack = { encoding: "msgpack", useRecords: false } as const;
    const meta = env.openDB<MetaRecord, number>({ name: "meta", ...msgpack } as { name: string });
    const data = env.openDB<StoreCell[] | null, StoreKey>({ name: "data", ...msgpack } as { name: string });
    let counts: LmdbDatabase<number, number> | undefined;
    try {
      counts = env.openDB<number, number>({ name: "counts", ...msgpack } as { name: string });
    } catch (e) {
      // read-only on a store written before row counts existed: there is no such sub-database
      if (!readOnly) throw e;
    }
    return new LmdbStore(env, meta, data, counts, dataDir);
  }

  /** A `DataCorruptionError` for `damaged`; an error lmdb or the decoder threw becomes one. */
  corruption(damaged: string, problem: unknown): TcError {
    if (problem instanceof TcError) return problem;
    const text = problem instanceof Error ? problem.message : String(problem);
    return new DataCorruptionError(this.dataDir, damaged, text);
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
        if (value.sum !== undefined && value.sum !== tableChecksum(value.path, value.schema)) {
          throw new DataCorruptionError(this.dataDir, `${entry}, table ${value.path}`, "checksum mismatch");
        }
        const rows = this.counts?.get(key);
        out.push({ tid: key, path: value.path, schema: value.schema, checked: value.sum !== undefined, rows: typeof rows === "number" ? rows : undefined });
      }
    } catch (e) {
      throw this.corruption('the table catalog (state/data.mdb, sub-database "meta")', e);
    }
    return out;
  }

  /**
   * Calls `visit` with each row of `table`, in key order: the stored key (`[tid, ...key cells]`)
   * and the value cells (the checksum cell last). Checks each row's checksum when the table has
   * them and `checkRows` (a caller that verified the whole file passes false); throws
   * `DataCorruptionError` naming the table and row when one fails. The row count is always checked.
   */
  scanRows(table: StoredTable, visit: (storedKey: readonly KeyCell[], values: readonly KeyCell[] | null) => void, checkRows = true): void {
    const check = checkRows && table.checked;
    const range = { start: [table.tid], end: [table.tid + 1] };
    let last: readonly KeyCell[] | undefined;
    let n = 0;
    try {
      for (const { key, value } of this.data.getRange(range)) {
        last = key;
        n++;
        if (check) {
          const n = Array.isArray(value) ? value.length - 1 : -1;
          if (n < 0 || value![n] !== rowChecksum(key, value!, n)) {
            throw new DataCorruptionError(this.dataDir, rowName(table, key), "checksum mismatch");
          }
        }
        visit(key, value);
      }
      if (table.rows !== undefined && n !== table.rows) {
        throw new DataCorruptionError(this.dataDir, `table ${table.path}`, `${n} rows found, ${table.rows} were committed`);
      }
    } catch (e) {
      throw this.corruption(last ? `table ${table.path}, after row ${JSON.stringify(last.slice(1))}` : `table ${table.path}`, e);
    }
  }

  private removeTableRows(tid: number): void {
    const keys = [...this.data.getKeys({ start: [tid], end: [tid + 1] })];
    for (const k of keys) this.data.removeSync(k);
  }

  /** Writes a write-set in one lmdb transaction; resolves once it is synced to disk. */
  async write(ops: readonly StoreOp[]): Promise<void> {
    if (ops.length === 0) return;
    const { data, meta, counts } = this;
    // Row counts are taken now, while the tables hold exactly this write-set's state (the next
    // transaction cannot run before this call returns its promise).
    const rowCounts = rowCountsOf(ops);
    await this.env.transaction(() => {
      for (const op of ops) {
        switch (op.kind) {
          case "create":
            meta.putSync(op.tid, { path: op.path, schema: op.schema, sum: tableChecksum(op.path, op.schema) });
            break;
          case "drop":
            meta.removeSync(op.tid);
            this.removeTableRows(op.tid);
            break;
          case "truncate":
            this.removeTableRows(op.tid);
            break;
          case "rows": {
            const t = op.table;
            const keyLen = t.schema.keyColumns.length;
            for (const row of op.rows) {
              const k = storeKey(t.tid, t.primaryKeyOf(row));
              data.putSync(k, storeValues(k, row, keyLen));
            }
            break;
          }
          case "put": {
            const k = storeKey(op.table.tid, op.key);
            data.putSync(k, storeValues(k, op.row, op.table.schema.keyColumns.length));
            break;
          }
          case "delete":
            data.removeSync(storeKey(op.table.tid, op.key));
            break;
        }
      }
      for (const [tid, rows] of rowCounts) {
        if (rows === undefined) counts?.removeSync(tid);
        else counts?.putSync(tid, rows);
      }
    });
  }

  /** Resolves when every write so far is on disk, then closes the environment. */
  async close(): Promise<void> {
    await this.env.flushed;
    await this.env.close();
  }
}

/** Each written table's row count after a write-set (`undefined`: the table was dropped). */
function rowCountsOf(ops: readonly StoreOp[]): Map<number, number | undefined> {
  const tables = new Map<number, Table | null | undefined>();
  for (const op of ops) {
    switch (op.kind) {
      case "create":
      case "truncate":
        if (!tables.get(op.tid)) tables.set(op.tid, null);
        break;
      case "drop":
        tables.set(op.tid, undefined);
        break;
      default:
        tables.set(op.table.tid, op.table);
    }
  }
  const out = new Map<number, number | undefined>();
  for (const [tid, t] of tables) out.set(tid, t === undefined ? undefined : t === null ? 0 : t.size);
  return out;
}

function rowName(table: StoredTable, storedKey: readonly KeyCell[]): string {
  return `table ${table.path}, row ${JSON.stringify(storedKey.slice(1))}`;
}

/**
 * Rebuilds a stored row from its stored key (`[tid, ...key cells]`) and value cells; link columns
 * come back as link values.
 */
export function rowFromStore(table: Table, storedKey: readonly KeyCell[], values: readonly KeyCell[] | null): Row {
  const cols = table.schema.columns;
  const keyLen = storedKey.length - 1;
  const row = new Array<Cell>(cols.length);
  for (let i = 0; i < keyLen; i++) row[i] = storedKey[i + 1] as Cell;
  for (let i = keyLen; i < cols.length; i++) row[i] = (values?.[i - keyLen] ?? null) as Cell;
  if (table.hasLinks) {
    for (let i = 0; i < cols.length; i++) {
      const c = row[i];
      if (cols[i]!.kind === "link" && typeof c === "string") row[i] = { kind: "link", href: c } as Link;
    }
  }
  return row;
}
