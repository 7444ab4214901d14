/**
 * `verifyDataDir`: the checks of `tinychain-orm verify --data-dir`. Read-only: the directory is
 * locked while it is checked (a directory another kernel holds is reported, not read), the data
 * file is compared with its clean-close checksum and read through by lmdb in a child process,
 * then opened read-only and every table read through: catalog and row checksums, row counts
 * against the recorded ones, schemas parse, every row holds its schema's types, every secondary
 * index holds exactly one entry per row (the `index` sub-database compared with the rows).
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { TcError } from "../../errors.js";
import { fileChecksum } from "./checksums.js";
import { DATA_FILE, STATE_DIR, headChecksum, openTable, readCleanCloseRecord } from "./data-dir.js";
import { DataDirLock } from "./data-dir-lock.js";
import { verifyLmdbInChild } from "./lmdb-child-check.js";
import { compareTuples } from "./index-keys.js";
import { LmdbStore, type StoredTable, rowFromStore } from "./lmdb-store.js";
import type { LmdbTable } from "./lmdb-table.js";
import { secondaryKey } from "./table-index.js";

/** What `verifyDataDir` found. */
export interface VerifyReport {
  readonly dataDir: string;
  /** True when no problem was found. */
  readonly sound: boolean;
  /** What is damaged or unusable, one line each. */
  readonly problems: string[];
  /** What was checked and found sound, one line each. */
  readonly checked: string[];
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Checks a data directory without changing it (see the file comment).
 *
 * @example
 * ```ts
 * const report = await verifyDataDir("./data");
 * if (!report.sound) console.error(report.problems.join("\n"));
 * ```
 */
export async function verifyDataDir(dataDir: string): Promise<VerifyReport> {
  const problems: string[] = [];
  const checked: string[] = [];
  const report = (): VerifyReport => ({ dataDir, sound: problems.length === 0, problems, checked });
  if (dataDir === "") {
    problems.push("the data directory path is empty");
    return report();
  }
  let isDir = false;
  try {
    isDir = statSync(dataDir).isDirectory();
  } catch (e) {
    problems.push(`${dataDir}: cannot be read (${(e as NodeJS.ErrnoException).code ?? message(e)})`);
    return report();
  }
  if (!isDir) {
    problems.push(`${dataDir}: is not a directory`);
    return report();
  }
  let lock: DataDirLock;
  try {
    lock = DataDirLock.acquire(dataDir);
  } catch (e) {
    problems.push(message(e));
    return report();
  }
  try {
    checked.push("lock: no other kernel has it open");
    await verifyStore(dataDir, problems, checked);
  } finally {
    lock.release();
  }
  return report();
}

async function verifyStore(dataDir: string, problems: string[], checked: string[]): Promise<void> {
  const stateDir = join(dataDir, STATE_DIR);
  const dataFile = join(stateDir, DATA_FILE);
  const fileName = `${STATE_DIR}/${DATA_FILE}`;
  if (!existsSync(dataFile)) {
    checked.push(`${fileName}: absent (an empty data directory)`);
    return;
  }
  const record = readCleanCloseRecord(stateDir);
  try {
    const actual = fileChecksum(dataFile);
    if (!record) {
      checked.push(`${fileName}: ${actual.size} bytes; no clean-close checksum (the last kernel did not close it)`);
    } else {
      // The whole file's CRC when the record has it, else the CRC of its two meta pages.
      const got = record.crc !== undefined ? actual.crc : headChecksum(dataFile).head;
      const expected = record.crc ?? record.head!;
      if (record.size === actual.size && got === expected) {
        checked.push(`${fileName}: ${actual.size} bytes, matches its clean-close checksum`);
      } else {
        problems.push(`${fileName}: changed since its last clean close (size ${actual.size}, expected ${record.size}; CRC-32 ${got.toString(16)}, expected ${expected.toString(16)})`);
      }
    }
  } catch (e) {
    problems.push(`${fileName}: cannot be read (${(e as NodeJS.ErrnoException).code ?? message(e)})`);
    return;
  }
  try {
    const entries = await verifyLmdbInChild(dataDir, stateDir);
    checked.push(`${fileName}: lmdb reads all ${entries} entries (in a child process)`);
  } catch (e) {
    problems.push(message(e));
    return; // not safe to map in this process
  }
  let store: LmdbStore;
  try {
    store = LmdbStore.open(stateDir, dataDir, true);
  } catch (e) {
    problems.push(`${fileName}: lmdb cannot open it: ${message(e)}`);
    return;
  }
  try {
    let tables: StoredTable[];
    try {
      tables = store.tables();
    } catch (e) {
      problems.push(message(e));
      return;
    }
    checked.push(`catalog: ${tables.length} table(s), checksums match`);
    for (const stored of tables) {
      try {
        const { table } = openTable(store, stored);
        const issues = tableIssues(store, stored, table);
        if (issues.length > 0) problems.push(...issues.map((i) => `table ${stored.path}: ${i}`));
        else {
          const what = stored.checked ? "row checksums match" : "no row checksums (written by an older version)";
          checked.push(`table ${stored.path}: ${table.size} rows, ${what}, schema parses, rows fit it, ${table.indexes.length} index(es) consistent`);
        }
      } catch (e) {
        problems.push(e instanceof TcError ? e.message : `table ${stored.path}: ${message(e)}`);
      }
    }
  } finally {
    await store.close().catch(() => undefined);
  }
}

/**
 * Rows that break their schema, and secondary indexes that do not hold exactly one entry per row
 * (row checksums and the row count are checked while the rows are read).
 */
function tableIssues(store: LmdbStore, stored: StoredTable, table: LmdbTable): string[] {
  const issues: string[] = [];
  const expected = table.secondaries.map(() => [] as (readonly unknown[])[]);
  let n = 0;
  store.scanRows(stored, (key, values) => {
    n++;
    const row = rowFromStore(table, key, values, stored.checked);
    try {
      table.checkRow(row);
    } catch (e) {
      if (issues.length < 10) issues.push(`row ${JSON.stringify(key.slice(1))} does not fit the schema: ${message(e)}`);
    }
    table.secondaries.forEach((ix, i) => expected[i]!.push(secondaryKey(ix, row)));
  });
  // A store of the format before the `index` sub-database has no entries yet: the next open builds them.
  if (store.format() < 2) return issues;
  if (stored.rows === undefined) issues.push(`no row count is recorded (${n} rows found)`);
  table.secondaries.forEach((ix, i) => {
    const want = expected[i]!.sort((a, b) => compareTuples(a as never, b as never));
    let got = 0;
    let wrong = 0;
    // lmdb's entries with the index log's changes over them (deferred-entries.ts)
    table.storedIndexKeys(i, (cells) => {
      if (got >= want.length || compareTuples(cells as never, want[got] as never) !== 0) wrong++;
      got++;
    });
    if (got !== want.length) issues.push(`index ${ix.name} holds ${got} entries for ${n} rows`);
    else if (wrong > 0) issues.push(`index ${ix.name}: ${wrong} entries do not match the table's rows`);
  });
  return issues;
}
