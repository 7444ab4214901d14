/**
 * Quick state-layer measurement (not a test): the benchmark dataset (100k users / 1M follows /
 * 300k posts) through `Database`/`StateTxn` directly, beside better-sqlite3 in memory.
 * Run: `npx tsx tests/kernel/support/state-bench.ts [users]`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSqlite, openSqlite, prepareQueries } from "../../../bench/baselines/sqlite.js";
import { CITIES, LANGS, generate, sampleUserIds, userName } from "../../../bench/dataset.js";
import { Database, type StateTxn } from "../../../src/client/embedded/database.js";
import { tableLiteral } from "../../../src/client/embedded/table-schema.js";
import type { TableView } from "../../../src/client/embedded/table-view.js";

const U64 = "/state/scalar/value/number/uint/64";
const STR = "/state/scalar/value/string";
const SCHEMAS: Record<string, unknown> = {
  users: [[[["id", U64]], [["name", STR, 64], ["city", STR, 32], ["age", "/state/scalar/value/number/uint/32", null, { nullable: true }]]], [["by_city", ["city"]]]],
  follows: [[[["follower", U64], ["followee", U64]], []], [["by_followee", ["followee"]]]],
  posts: [[[["id", U64]], [["author", U64], ["lang", STR, 8]]], [["by_author", ["author"]]]],
};

const users = Number(process.argv[2] ?? 100_000);
const d = generate({ users });
const userRows = Array.from({ length: d.userCount }, (_, i) => [i, userName(i), CITIES[d.userCity[i]!]!, d.userAge[i]!]);
const followRows = Array.from({ length: d.followCount }, (_, e) => [d.follower[e]!, d.followee[e]!]);
const postRows = Array.from({ length: d.postCount }, (_, p) => [p, d.postAuthor[p]!, LANGS[d.postLang[p]!]!]);
const total = userRows.length + followRows.length + postRows.length;
const ids = sampleUserIds(d, 1000);

function ms(t0: number): number {
  return performance.now() - t0;
}

async function load(db: Database, batch: number): Promise<number> {
  const t0 = performance.now();
  const txn = await db.begin();
  for (const [name, rows] of [["users", userRows], ["follows", followRows], ["posts", postRows]] as const) {
    txn.request("put", ["social", name], null, tableLiteral(SCHEMAS[name], []));
    for (let i = 0; i < rows.length; i += batch) txn.request("put", ["social", name, "insert_rows"], null, rows.slice(i, i + batch));
  }
  await txn.commit();
  return ms(t0);
}

function pointGets(txn: StateTxn, n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) txn.request("get", ["social", "users"], [ids[i % ids.length]!], undefined);
  return (ms(t0) * 1000) / n;
}

function oneHop(txn: StateTxn, n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const v = txn.request("get", ["social", "follows"], [["follower", ids[i % ids.length]!]], undefined) as TableView;
    const out = [];
    for (const r of v.rows()) out.push(txn.request("get", ["social", "users"], [r[1]], undefined));
  }
  return (ms(t0) * 1000) / n;
}

const lines: string[] = [];
const say = (s: string) => {
  lines.push(s);
  console.log(s);
};
say(`dataset: ${d.userCount} users, ${d.followCount} follows, ${d.postCount} posts (${total} rows)`);

// SQLite baseline
{
  const db = openSqlite();
  let t0 = performance.now();
  loadSqlite(db, d);
  const loadMs = ms(t0);
  say(`sqlite memory bulk insert: ${loadMs.toFixed(0)} ms = ${((total / loadMs) * 1000).toFixed(0)} rows/s`);
  const q = prepareQueries(db);
  for (let w = 0; w < 2; w++) {
    t0 = performance.now();
    for (let i = 0; i < 200_000; i++) q.pointGet(ids[i % ids.length]!);
    const pg = (ms(t0) * 1000) / 200_000;
    t0 = performance.now();
    for (let i = 0; i < 20_000; i++) q.oneHop(ids[i % ids.length]!);
    const oh = (ms(t0) * 1000) / 20_000;
    if (w === 1) say(`sqlite point get: ${pg.toFixed(2)} µs; 1-hop: ${oh.toFixed(2)} µs`);
  }
  db.close();
}

for (const batch of [total, 10_000]) {
  const db = await Database.open({});
  const loadMs = await load(db, batch);
  say(`memory bulk insert (insert_rows batches of ${Math.min(batch, total)}): ${loadMs.toFixed(0)} ms = ${((total / loadMs) * 1000).toFixed(0)} rows/s`);
  if (batch === total) {
    const txn = db.tryBegin()!;
    pointGets(txn, 100_000);
    oneHop(txn, 5000);
    say(`memory point get (StateTxn.request): ${pointGets(txn, 200_000).toFixed(2)} µs; 1-hop (range view + point gets): ${oneHop(txn, 20_000).toFixed(2)} µs`);
    txn.rollback();
  }
  await db.close();
}

const dir = mkdtempSync(join(tmpdir(), "tc-bench-"));
try {
  let db = await Database.open({ dataDir: dir });
  const loadMs = await load(db, total);
  say(`durable bulk insert (one commit): ${loadMs.toFixed(0)} ms = ${((total / loadMs) * 1000).toFixed(0)} rows/s`);
  await db.close();
  const t0 = performance.now();
  db = await Database.open({ dataDir: dir });
  say(`durable reopen of ${total} rows (tables + all indexes rebuilt): ${ms(t0).toFixed(0)} ms`);
  const txn = db.tryBegin()!;
  say(`after reopen: users count ${txn.request("get", ["social", "users", "count"], null, undefined)}, follows by followee 0: ${txn.request("get", ["social", "follows", "count"], [["followee", 0]], undefined)}`);
  const t1 = performance.now();
  for (let i = 0; i < 200; i++) {
    const t = db.tryBegin() ?? txn;
    t.request("put", ["social", "users"], [i], [userName(i), "paris", 30]);
  }
  txn.rollback();
  const wtxnStart = performance.now();
  for (let i = 0; i < 100; i++) {
    const w = await db.begin();
    w.request("put", ["social", "users"], [i], [userName(i), "paris", 31]);
    await w.commit();
  }
  say(`durable single-row commits: ${((performance.now() - wtxnStart) / 100).toFixed(2)} ms each (sync to disk)`);
  void t1;
  await db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
