/**
 * Opening and closing a data directory: the path checked (typed `DataDirPathError` instead of a
 * raw ENOTDIR/EACCES), the exclusive lock taken (data-dir-lock.ts), the lmdb data file checked
 * before lmdb maps it, and the store opened with one durable table (lmdb-table.ts) per catalog
 * entry. No row is read at open: its time does not depend on the number of rows.
 *
 * What is checked where:
 *  - at a clean open (the last kernel closed cleanly and left `state/clean-close.json`): the data
 *    file's size and the CRC-32 of its first two pages (lmdb's two meta pages, which name the
 *    root of every tree and the last commit) must match the record — O(1), whatever the file's
 *    size. A record of the previous format (a CRC of the whole file only) is checked the old way
 *    once. The record also holds the whole file's CRC-32 (computed at close), which verify checks.
 *  - after an unclean shutdown (no record): lmdb reads the whole file in a child process first
 *    (lmdb-child-check.ts), so damage that would crash lmdb crashes the child and is reported
 *    here as a `DataCorruptionError`.
 *  - on every read: each row's checksum (lmdb-table.ts), and a full scan's row count against the
 *    committed count — `DataCorruptionError` naming the table and row.
 *  - `tinychain-orm verify` (store-verify.ts): everything, including the whole file's CRC-32, every
 *    row's checksum and schema, row counts, and every secondary index entry against its row.
 * A store of an older format is brought up to this one once, at open (`upgradeStore`): format 1
 * (no `index` sub-database) has its secondary indexes built, format 2 its keys re-encoded
 * (store-keys.ts), each step in one lmdb transaction that also records the format it reached.
 */
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DataCorruptionError, DataDirPathError } from "../../errors.js";
import { crc32Of, fileChecksum } from "./checksums.js";
import { DataDirLock } from "./data-dir-lock.js";
import { LmdbStore, STORE_FORMAT, type StoreKey, type StoredTable, fillFromStore, indexStoreKey, rowFromStore } from "./lmdb-store.js";
import { LmdbTable } from "./lmdb-table.js";
import { verifyLmdbInChild } from "./lmdb-child-check.js";
import { secondaryKey } from "./table-index.js";
import { parseSchema } from "./table-schema.js";

/** The lmdb environment's folder inside a data directory. */
export const STATE_DIR = "state";
/** lmdb's data file inside the state folder. */
export const DATA_FILE = "data.mdb";
/** The clean-close record inside the state folder. */
export const CLEAN_CLOSE_FILE = "clean-close.json";

/** An open data directory: its lock, its store, the tables it held. */
export interface OpenDataDir {
  readonly lock: DataDirLock;
  readonly store: LmdbStore;
  readonly tables: readonly LoadedTable[];
}

/** A table opened from the store (its rows stay in lmdb). */
export interface LoadedTable {
  readonly ns: string;
  readonly name: string;
  readonly table: LmdbTable;
}

/** Bytes of the data file the clean-close record covers: lmdb's two meta pages. */
export const HEAD_BYTES = 2 * 4096;

/** The clean-close record: the data file's size and a CRC-32 of its head (or, before, of all of it). */
export interface CleanCloseRecord {
  readonly size: number;
  /** CRC-32 of the first `HEAD_BYTES` bytes: what an open checks (absent in records of the previous format). */
  readonly head?: number | undefined;
  /** CRC-32 of the whole file: what `verify` checks (and an open, for a record without `head`). */
  readonly crc?: number | undefined;
}

/** Size and CRC-32 of the first `HEAD_BYTES` bytes of a file (read, never mapped). */
export function headChecksum(path: string): { size: number; head: number } {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const n = readSync(fd, buf, 0, HEAD_BYTES, 0);
    const size = statSync(path).size;
    return { size, head: crc32Of(buf.subarray(0, n)) };
  } finally {
    closeSync(fd);
  }
}

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

/** Makes `dir` (and its parents) a usable directory, or throws `DataDirPathError`. */
function ensureDirectory(dataDir: string, dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = errno(e);
    if (code === "ENOTDIR") throw new DataDirPathError(dataDir, `a component of ${JSON.stringify(dir)} is a file, not a directory`);
    if (code === "EEXIST") throw new DataDirPathError(dataDir, `${JSON.stringify(dir)} is a file, not a directory`);
    if (code === "EACCES" || code === "EPERM") throw new DataDirPathError(dataDir, `permission denied creating ${JSON.stringify(dir)}`);
    throw new DataDirPathError(dataDir, `cannot create ${JSON.stringify(dir)} (${code})`);
  }
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    throw new DataDirPathError(dataDir, `cannot read ${JSON.stringify(dir)} (${errno(e)})`);
  }
  if (!isDir) throw new DataDirPathError(dataDir, `${JSON.stringify(dir)} is not a directory`);
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    throw new DataDirPathError(dataDir, `${JSON.stringify(dir)} is not readable and writable by this process`);
  }
}

/**
 * Checks a data-directory option: a non-empty path string, without NUL bytes, that is (or can be
 * created as) a readable and writable directory. Throws `DataDirPathError` otherwise.
 *
 * @example
 * ```ts
 * checkDataDir("./data"); // creates it when missing
 * checkDataDir("");       // throws DataDirPathError
 * ```
 */
export function checkDataDir(dataDir: unknown): asserts dataDir is string {
  if (typeof dataDir !== "string") throw new DataDirPathError(String(dataDir), `a data directory is a path string, got ${typeof dataDir}`);
  if (dataDir === "") throw new DataDirPathError(dataDir, "the path is empty");
  if (dataDir.includes("\0")) throw new DataDirPathError(dataDir, "the path contains a NUL byte");
  ensureDirectory(dataDir, dataDir);
}

/**
 * The data file's size and head CRC-32 recorded at the last clean close, if there is a readable
 * record.
 *
 * @example
 * ```ts
 * readCleanCloseRecord("./data/state"); // { size: 45056, head: 3624937830 } or undefined
 * ```
 */
export function readCleanCloseRecord(stateDir: string): CleanCloseRecord | undefined {
  const record = join(stateDir, CLEAN_CLOSE_FILE);
  if (!existsSync(record)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(record, "utf8")) as { size?: unknown; crc?: unknown; head?: unknown };
    if (typeof parsed.size !== "number") return undefined;
    const head = typeof parsed.head === "number" ? parsed.head : undefined;
    const crc = typeof parsed.crc === "number" ? parsed.crc : undefined;
    if (head !== undefined || crc !== undefined) return { size: parsed.size, head, crc };
  } catch {
    // an unreadable record is no record: the file is checked the long way
  }
  return undefined;
}

/**
 * Checks the lmdb data file before lmdb maps it (see the file comment); removes the clean-close
 * record.
 */
async function checkDataFile(dataDir: string, stateDir: string): Promise<void> {
  const dataFile = join(stateDir, DATA_FILE);
  const record = join(stateDir, CLEAN_CLOSE_FILE);
  if (!existsSync(dataFile)) {
    if (existsSync(record)) unlinkSync(record);
    return;
  }
  let st;
  try {
    st = statSync(dataFile);
  } catch (e) {
    throw new DataCorruptionError(dataDir, `${STATE_DIR}/${DATA_FILE}`, `cannot be read (${errno(e)})`);
  }
  if (!st.isFile()) throw new DataCorruptionError(dataDir, `${STATE_DIR}/${DATA_FILE}`, "is not a regular file");
  const expected = readCleanCloseRecord(stateDir);
  if (expected) {
    let actual: { size: number; crc: number };
    try {
      actual = expected.head !== undefined ? (({ size, head }) => ({ size, crc: head }))(headChecksum(dataFile)) : fileChecksum(dataFile);
    } catch (e) {
      throw new DataCorruptionError(dataDir, `${STATE_DIR}/${DATA_FILE}`, `cannot be read (${errno(e)})`);
    }
    const crc = expected.head ?? expected.crc!;
    if (actual.size !== expected.size || actual.crc !== crc) {
      const what = expected.head !== undefined ? "CRC-32 of its meta pages" : "CRC-32";
      throw new DataCorruptionError(
        dataDir,
        `${STATE_DIR}/${DATA_FILE}`,
        `it changed since its last clean close (size ${actual.size}, expected ${expected.size}; ${what} ${actual.crc.toString(16)}, expected ${crc.toString(16)})`,
      );
    }
  } else {
    // lmdb's lock file holds only its reader table; with the directory locked it is unused, and
    // a damaged one must not be trusted: lmdb makes a new one.
    const lmdbLock = join(stateDir, "lock.mdb");
    if (existsSync(lmdbLock)) unlinkSync(lmdbLock);
    await verifyLmdbInChild(dataDir, stateDir);
  }
  // From here on the file will change: only the next clean close vouches for it again.
  if (existsSync(record)) unlinkSync(record);
}

/** Opens a table per catalog entry (schemas parsed; no row read). */
export function openTables(store: LmdbStore): LoadedTable[] {
  const out: LoadedTable[] = [];
  for (const stored of store.tables()) out.push(openTable(store, stored));
  return out;
}

/** Opens one stored table: its schema parsed, its rows left in lmdb. */
export function openTable(store: LmdbStore, stored: StoredTable): LoadedTable {
  const segments = stored.path.split("/");
  if (segments.length !== 4 || segments[1] !== "state" || !segments[2] || !segments[3]) {
    throw new DataCorruptionError(store.dataDir, `catalog entry ${stored.tid}`, `not a table path: ${JSON.stringify(stored.path)}`);
  }
  let schema;
  try {
    schema = parseSchema(stored.schema);
  } catch (e) {
    throw new DataCorruptionError(store.dataDir, `table ${stored.path}`, `its stored schema does not parse: ${(e as Error).message}`);
  }
  const rows = stored.rows ?? store.countRows(stored.tid);
  const fill = stored.fill === undefined ? undefined : fillFromStore(stored.fill, schema.columns);
  const table = new LmdbTable(stored.path, schema, store, stored.tid, rows, stored.checked, fill);
  return { ns: segments[2], name: segments[3], table };
}

/**
 * Brings a store of an older format up to this one, once: a store of format 1 gets the secondary
 * index entries of every table built from its rows (row checksums checked) and its missing row
 * counts recorded, in one lmdb transaction (format 2); a store of format 2 gets its keys
 * re-encoded, in another (`LmdbStore.reencode`, format 3); a store of format 3 is read as it is
 * (the index log of format 4 is empty in it) and its next commit records format 4.
 */
async function upgradeStore(store: LmdbStore, tables: readonly LoadedTable[]): Promise<void> {
  if (store.format() > STORE_FORMAT) {
    // its rows may be where this version does not look: refused before anything is read or written
    throw new DataCorruptionError(store.dataDir, `${STATE_DIR}/${DATA_FILE}`, `it is of store format ${store.format()}, written by a newer version (this one reads formats 1 to ${STORE_FORMAT})`);
  }
  // A new store, or one of format 3, has nothing to move: its next commit records the format.
  if (store.format() === STORE_FORMAT || !store.isLegacy) return;
  // (the cell count of each secondary index: the re-encoding writes entries whole, see `reencode`)
  const widths = new Map(tables.map(({ table }) => [table.tid, table.secondaries.map((ix) => ix.keyPositions.length)]));
  const widthOf = (tid: number, ordinal: number): number | undefined => widths.get(tid)?.[ordinal];
  if (store.format() >= 2) {
    // format 2: the keys re-encoded
    await store.reencode(widthOf);
    return;
  }
  const stored = new Map(store.tables().map((t) => [t.tid, t]));
  await store.upgrade((put, putCount) => {
    for (const { table } of tables) {
      const entry = stored.get(table.tid)!;
      let n = 0;
      store.scanRows(
        entry,
        (key, values) => {
          n++;
          if (table.secondaries.length === 0) return;
          const row = rowFromStore(table, key, values, entry.checked);
          table.secondaries.forEach((ix, ordinal) => put(indexStoreKey(table.tid, ordinal, secondaryKey(ix, row)) as StoreKey));
        },
        true,
        false,
      );
      if (entry.rows === undefined) putCount(table.tid, n);
    }
  });
  await store.reencode(widthOf);
}

/**
 * Opens a data directory for a kernel: checks the path, takes the lock, checks the data file,
 * opens the store and its tables (no row is read). Throws `DataDirPathError`, `DataDirLockedError` or
 * `DataCorruptionError` (the lock is released again on failure).
 *
 * @example
 * ```ts
 * const { store, lock, tables } = await openDataDir("./data");
 * // ...
 * await closeDataDir(store, lock, true);
 * ```
 */
export async function openDataDir(dataDir: string): Promise<OpenDataDir> {
  checkDataDir(dataDir);
  const lock = DataDirLock.acquire(dataDir);
  let store: LmdbStore | undefined;
  try {
    const stateDir = join(dataDir, STATE_DIR);
    ensureDirectory(dataDir, stateDir);
    await checkDataFile(dataDir, stateDir);
    try {
      store = LmdbStore.open(stateDir, dataDir);
    } catch (e) {
      throw new DataCorruptionError(dataDir, `${STATE_DIR}/${DATA_FILE}`, `lmdb cannot open it: ${(e as Error).message}`);
    }
    let tables: LoadedTable[];
    try {
      tables = openTables(store);
      await upgradeStore(store, tables);
    } catch (e) {
      throw store.corruption(`${STATE_DIR}/${DATA_FILE}`, e);
    }
    return { lock, store, tables };
  } catch (e) {
    if (store) await store.close().catch(() => undefined);
    lock.release();
    throw e;
  }
}

/**
 * Closes a data directory: waits for the store's writes, closes it, records the data file's size,
 * head checksum (checked at open) and whole-file checksum (checked by verify) when `clean` (the
 * store never failed), and releases the lock.
 *
 * @example
 * ```ts
 * await closeDataDir(store, lock, true);
 * ```
 */
export async function closeDataDir(store: LmdbStore, lock: DataDirLock, clean: boolean): Promise<void> {
  try {
    try {
      await store.close();
    } catch {
      clean = false;
    }
    if (!clean) return;
    const stateDir = join(lock.dataDir, STATE_DIR);
    const record = join(stateDir, CLEAN_CLOSE_FILE);
    try {
      const file = join(stateDir, DATA_FILE);
      const { size, crc } = fileChecksum(file);
      const { head } = headChecksum(file);
      writeFileSync(`${record}.tmp`, `${JSON.stringify({ size, head, crc, closedAt: new Date().toISOString() })}\n`);
      renameSync(`${record}.tmp`, record);
    } catch {
      // No record: the next open checks the file the long way.
    }
  } finally {
    lock.release();
  }
}
