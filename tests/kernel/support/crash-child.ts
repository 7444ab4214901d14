/**
 * Child process of the crash test: opens the durable database in argv[2] and commits
 * transactions in a loop for round argv[3]. Transaction `seq` writes `rowsPerCommit(seq)` rows
 * `[round, seq, j]` plus the round's marker row `[round] → seq`, then prints `ack <seq>` once the
 * commit is acknowledged (durable). The parent kills it with SIGKILL at a random moment, with index
 * changes deferred in the index log (storage/deferred-entries.ts) or being compacted.
 */
import { Database } from "../../../src/kernel/state/database.js";
import { deferredEntriesPolicy } from "../../../src/kernel/storage/deferred-entries.js";
import { tableLiteral } from "../../../src/kernel/storage/table-schema.js";
import { CRASH_LOG, CRASH_MARK, LOG_SCHEMA, MARK_SCHEMA, rowsPerCommit } from "./crash-shared.js";

// A small cap: index changes deferred, compacted slice by slice and flushed whole between kills.
Object.assign(deferredEntriesPolicy, { min: 64, max: 64, fraction: 0 });
const [dir, roundArg] = process.argv.slice(2);
const round = Number(roundArg);
const db = await Database.open({ dataDir: dir! });
{
  const txn = await db.begin();
  txn.request("put", CRASH_LOG, null, tableLiteral(LOG_SCHEMA, []));
  txn.request("put", CRASH_MARK, null, tableLiteral(MARK_SCHEMA, []));
  await txn.commit();
}
process.stdout.write("ready\n");
for (let seq = 0; ; seq++) {
  const txn = await db.begin();
  const n = rowsPerCommit(seq);
  const rows = [];
  for (let j = 0; j < n; j++) rows.push([round, seq, j, `r${round}-s${seq}-j${j}`]);
  txn.request("put", [...CRASH_LOG, "insert_rows"], null, rows);
  txn.request("put", CRASH_MARK, [round], [seq]);
  await txn.commit();
  process.stdout.write(`ack ${seq}\n`);
}
