/**
 * Child process of the generated-key test: opens the durable database in argv[2], inserts
 * argv[3] rows whose increment key the kernel generates, deletes the row with the largest key,
 * prints the keys it saw as JSON once that commit is acknowledged, and kills itself with SIGKILL
 * (no clean close).
 */
import { Database } from "../../../src/kernel/state/database.js";
import { tableLiteral } from "../../../src/kernel/storage/table-schema.js";

export const SEQ_TABLE = ["seq", "items"];
export const SEQ_SCHEMA = [[[["id", "/state/scalar/value/number/uint/64", null, { generated: "increment" }]], [["v", "/state/scalar/value/string"]]], []];

const [dir, countArg] = process.argv.slice(2);
if (dir !== undefined) {
  const db = await Database.open({ dataDir: dir });
  const txn = await db.begin();
  txn.request("put", SEQ_TABLE, null, tableLiteral(SEQ_SCHEMA, []));
  for (let i = 0; i < Number(countArg); i++) txn.request("put", [...SEQ_TABLE, "insert"], [null], [`row ${i}`]);
  const rows = txn.request("get", [...SEQ_TABLE, "rows"], null, undefined) as unknown as [number, string][];
  const keys = rows.map((r) => r[0]);
  txn.request("delete", SEQ_TABLE, [Math.max(...keys)], undefined);
  await txn.commit();
  process.stdout.write(`${JSON.stringify(keys)}\n`);
  process.kill(process.pid, "SIGKILL");
}
