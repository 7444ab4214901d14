/**
 * The durable store: tables persisted in lmdb. Two sub-databases:
 *  - `meta`: table id → `{path, schema}` (msgpack);
 *  - `data`: `[tableId, ...keyCells]` → value cells (ordered-binary keys, msgpack values), so one
 *    table's rows are contiguous and come back in primary-key order (cheap bulk reload).
 * A transaction's write-set is written in ONE lmdb transaction whose promise resolves only after
 * the commit is synced to disk (sync commits, no overlapping sync, no write map): an acknowledged
 * commit survives kill -9 and a partial one never becomes visible.
 */
import { mkdirSync } from "node:fs";
import { type Database as LmdbDatabase, type RootDatabase, open } from "lmdb";
import type { Json, Link } from "../../ir/types.js";
import type { Table } from "./table-engine.js";
import { type IndexKey, type KeyCell, normCell } from "./index-keys.js";
import type { Cell, Row } from "./table-schema.js";

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
}

/** lmdb's key size limit is 1978 bytes; leave room for the table id and type tags. */
export const MAX_KEY_BYTES = 1900;

function storeKey(tid: number, key: IndexKey): StoreKey {
  if (Array.isArray(key)) {
    const k = new Array<KeyCell>(key.length + 1);
    k[0] = tid;
    for (let i = 0; i < key.length; i++) k[i + 1] = key[i]!;
    return k as StoreKey;
  }
  return [tid, key as string];
}

function storeValues(row: Row, keyLen: number): StoreCell[] {
  const out = new Array<StoreCell>(row.length - keyLen);
  for (let i = keyLen; i < row.length; i++) out[i - keyLen] = normCell(row[i]!) as StoreCell;
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
    private readonly meta: LmdbDatabase<{ path: string; schema: unknown }, number>,
    private readonly data: LmdbDatabase<StoreCell[] | null, StoreKey>,
  ) {}

  /** Opens (creating if needed) the store in directory `dir`. */
  static open(dir: string): LmdbStore {
    mkdirSync(dir, { recursive: true });
    const env = open({
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
    const meta = env.openDB<{ path: string; schema: unknown }, number>({ name: "meta", ...msgpack } as { name: string });
    const data = env.openDB<StoreCell[] | null, StoreKey>({ name: "data", ...msgpack } as { name: string });
    return new LmdbStore(env, meta, data);
  }

  /** Every stored table. */
  tables(): StoredTable[] {
    const out: StoredTable[] = [];
    for (const { key, value } of this.meta.getRange()) out.push({ tid: key, path: value.path, schema: value.schema });
    return out;
  }

  /**
   * Calls `visit` with each row of table `tid`, in key order: the stored key (`[tid, ...key
   * cells]`) and the value cells.
   */
  scanRows(
    tid: number,
    hasValues: boolean,
    visit: (storedKey: readonly KeyCell[], values: readonly KeyCell[] | null) => void,
  ): void {
    const range = { start: [tid], end: [tid + 1] };
    if (!hasValues) {
      // Tables without value columns (edge tables) need only their keys: skip value decoding.
      for (const key of this.data.getKeys(range)) visit(key, null);
      return;
    }
    for (const { key, value } of this.data.getRange(range)) visit(key, value);
  }

  private removeTableRows(tid: number): void {
    const keys = [...this.data.getKeys({ start: [tid], end: [tid + 1] })];
    for (const k of keys) this.data.removeSync(k);
  }

  /** Writes a write-set in one lmdb transaction; resolves once it is synced to disk. */
  async write(ops: readonly StoreOp[]): Promise<void> {
    if (ops.length === 0) return;
    const { data, meta } = this;
    await this.env.transaction(() => {
      for (const op of ops) {
        switch (op.kind) {
          case "create":
            meta.putSync(op.tid, { path: op.path, schema: op.schema });
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
            for (const row of op.rows) data.putSync(storeKey(t.tid, t.primaryKeyOf(row)), storeValues(row, keyLen));
            break;
          }
          case "put":
            data.putSync(storeKey(op.table.tid, op.key), storeValues(op.row, op.table.schema.keyColumns.length));
            break;
          case "delete":
            data.removeSync(storeKey(op.table.tid, op.key));
            break;
        }
      }
    });
  }

  /** Resolves when every write so far is on disk, then closes the environment. */
  async close(): Promise<void> {
    await this.env.flushed;
    await this.env.close();
  }
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
