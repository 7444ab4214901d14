/**
 * Opening and closing a data directory: the path checked (typed `DataDirPathError` instead of a
 * raw ENOTDIR/EACCES), the exclusive lock taken (data-dir-lock.ts), the lmdb data file checked
 * before lmdb maps it, the store opened and every table loaded with its checksums checked.
 *
 * The file check: a clean close records the data file's size and CRC-32 in
 * `state/clean-close.json`. At open, a file with that record must match it (else
 * `DataCorruptionError`: it changed since it was closed); the record is removed before anything
 * is written. A file without one (the last kernel did not close: killed, crashed) is first read
 * through by lmdb in a child process (store-verify.ts), so damage that would crash lmdb crashes
 * the child, and is reported here as a `DataCorruptionError`.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, accessSync, constants } from "node:fs";
import { join } from "node:path";
import { DataCorruptionError, DataDirPathError } from "../../errors.js";
import { fileChecksum } from "./checksums.js";
import { DataDirLock } from "./data-dir-lock.js";
import { LmdbStore, MAX_KEY_BYTES, rowFromStore, type StoredTable } from "./lmdb-store.js";
import { verifyLmdbInChild } from "./lmdb-child-check.js";
import { Table } from "./table-engine.js";
import { parseSchema } from "./table-schema.js";
import type { Row } from "./table-schema.js";

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

/** A table loaded from the store. */
export interface LoadedTable {
  readonly ns: string;
  readonly name: string;
  readonly table: Table;
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
 * The data file's size and CRC-32 recorded at the last clean close, if there is a readable record.
 *
 * @example
 * ```ts
 * readCleanCloseRecord("./data/state"); // { size: 45056, crc: 3624937830 } or undefined
 * ```
 */
export function readCleanCloseRecord(stateDir: string): { size: number; crc: number } | undefined {
  const record = join(stateDir, CLEAN_CLOSE_FILE);
  if (!existsSync(record)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(record, "utf8")) as { size?: unknown; crc?: unknown };
    if (typeof parsed.size === "number" && typeof parsed.crc === "number") return { size: parsed.size, crc: parsed.crc };
  } catch {
    // an unreadable record is no record: the file is checked the long way
  }
  return undefined;
}

/**
 * Checks the lmdb data file before lmdb maps it (see the file comment); removes the clean-close
 * record. True when the file matched that record: every byte is as the last clean close left it,
 * so the rows' own checksums need not be checked again while loading.
 */
async function checkDataFile(dataDir: string, stateDir: string): Promise<boolean> {
  const dataFile = join(stateDir, DATA_FILE);
  const record = join(stateDir, CLEAN_CLOSE_FILE);
  if (!existsSync(dataFile)) {
    if (existsSync(record)) unlinkSync(record);
    return false;
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
      actual = fileChecksum(dataFile);
    } catch (e) {
      throw new DataCorruptionError(dataDir, `${STATE_DIR}/${DATA_FILE}`, `cannot be read (${errno(e)})`);
    }
    if (actual.size !== expected.size || actual.crc !== expected.crc) {
      throw new DataCorruptionError(
        dataDir,
        `${STATE_DIR}/${DATA_FILE}`,
        `it changed since its last clean close (size ${actual.size}, expected ${expected.size}; CRC-32 ${actual.crc.toString(16)}, expected ${expected.crc.toString(16)})`,
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
  return expected !== undefined;
}

/**
 * Loads every stored table (row counts checked, schemas parsed; row checksums too unless
 * `fileVouched`: the whole file's checksum already matched its clean-close record).
 */
export function loadTables(store: LmdbStore, fileVouched = false): LoadedTable[] {
  const out: LoadedTable[] = [];
  for (const stored of store.tables()) out.push(loadTable(store, stored, !fileVouched));
  return out;
}

/** Loads one stored table (row count checked, row checksums when `checkRows`; schema parsed). */
export function loadTable(store: LmdbStore, stored: StoredTable, checkRows = true): LoadedTable {
  const segments = stored.path.split("/");
  if (segments.length !== 4 || segments[1] !== "state" || !segments[2] || !segments[3]) {
    throw new DataCorruptionError(store.dataDir, `catalog entry ${stored.tid}`, `not a table path: ${JSON.stringify(stored.path)}`);
  }
  let table: Table;
  try {
    table = new Table(stored.path, parseSchema(stored.schema));
  } catch (e) {
    throw new DataCorruptionError(store.dataDir, `table ${stored.path}`, `its stored schema does not parse: ${(e as Error).message}`);
  }
  table.tid = stored.tid;
  table.keyByteLimit = MAX_KEY_BYTES;
  const rows: Row[] = [];
  store.scanRows(
    stored,
    (key, values) => {
      rows.push(rowFromStore(table, key, values));
    },
    checkRows,
  );
  table.loadTrusted(rows);
  return { ns: segments[2], name: segments[3], table };
}

/**
 * Opens a data directory for a kernel: checks the path, takes the lock, checks the data file,
 * opens the store and loads every table. Throws `DataDirPathError`, `DataDirLockedError` or
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
    const fileVouched = await checkDataFile(dataDir, stateDir);
    try {
      store = LmdbStore.open(stateDir, dataDir);
    } catch (e) {
      throw new DataCorruptionError(dataDir, `${STATE_DIR}/${DATA_FILE}`, `lmdb cannot open it: ${(e as Error).message}`);
    }
    return { lock, store, tables: loadTables(store, fileVouched) };
  } catch (e) {
    if (store) await store.close().catch(() => undefined);
    lock.release();
    throw e;
  }
}

/**
 * Closes a data directory: waits for the store's writes, closes it, records the data file's
 * clean-close checksum when `clean` (the store never failed), and releases the lock.
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
      const sum = fileChecksum(join(stateDir, DATA_FILE));
      writeFileSync(`${record}.tmp`, `${JSON.stringify({ ...sum, closedAt: new Date().toISOString() })}\n`);
      renameSync(`${record}.tmp`, record);
    } catch {
      // No record: the next open checks the file the long way.
    }
  } finally {
    lock.release();
  }
}
