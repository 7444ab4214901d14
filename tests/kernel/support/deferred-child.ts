/**
 * Child process of the deferred index tests (argv: data directory, `crash` or `close`, and
 * optionally `add` or `rebuild`: a schema change after the workload, see below): with
 * a deferred-entries cap of a few entries, commits a fixed mix of inserts, updates of the indexed
 * column and deletes to table /state/d/t (index `by_w`), so index changes are deferred, compacted
 * slice by slice and flushed whole; prints the table's rows in `by_w` order as JSON, then
 * `crash`: `ready` and waits to be killed (the log records stay), or `close`: closes and exits.
 */
import { Database } from "../../../src/kernel/state/database.js";
import type { TableView } from "../../../src/kernel/state/table-view.js";
import { deferredEntriesPolicy } from "../../../src/kernel/storage/deferred-entries.js";
import { tableLiteral } from "../../../src/kernel/storage/table-schema.js";
import { D_ALTERED, D_SCHEMA, D_TABLE, deferredWorkload } from "./deferred-shared.js";

Object.assign(deferredEntriesPolicy, { min: 12, max: 12, fraction: 0 });
const [dir, mode, alter] = process.argv.slice(2);
const db = await Database.open({ dataDir: dir! });
let txn = await db.begin();
txn.request("put", D_TABLE, null, tableLiteral(D_SCHEMA, []));
await txn.commit();
for (const writes of deferredWorkload()) {
  txn = await db.begin();
  for (const [k, w] of writes) {
    if (w === undefined) txn.request("delete", D_TABLE, [k], undefined);
    else txn.request("put", D_TABLE, [k], [w]);
  }
  await txn.commit();
}
if (alter !== undefined) {
  // a schema change with index changes deferred: an index added at a new ordinal (the deferred
  // changes of the others stay deferred), or the deferred index rebuilt on other columns (they
  // are written first); then more commits defer changes to the new indexes
  txn = await db.begin();
  txn.request("put", [...D_TABLE, "alter"], null, { schema: D_ALTERED[alter as keyof typeof D_ALTERED], columns: { k: ["column", "k"], w: ["column", "w"] }, expect: D_SCHEMA });
  await txn.commit();
  for (const writes of deferredWorkload().slice(0, 6)) {
    txn = await db.begin();
    for (const [k, w] of writes) {
      if (w === undefined) txn.request("delete", D_TABLE, [k], undefined);
      else txn.request("put", D_TABLE, [k], [`x${w}`]);
    }
    await txn.commit();
  }
}
txn = await db.begin();
const ordered = txn.request("get", [...D_TABLE, "order"], [["w"], false], undefined) as TableView;
process.stdout.write(`${JSON.stringify(ordered.rows())}\n`);
txn.rollback();
if (mode === "close") {
  await db.close();
  process.exit(0);
}
process.stdout.write("ready\n");
setInterval(() => undefined, 1000);
