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
import { Database, type StateTxn } from "../../../src/kernel/state/database.js";
import { tableLiteral } from "../../../src/kernel/storage/table-schema.js";
import type { TableView } from "../../../src/kernel/state/table-view.js";

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

const say = (s: string) => console.log(s);
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
say(`dataset: ${d.userCount} users, ${d.followCount} follows, ${d.postCount} posts (${total} rows)`);
say("(SQLite and ours measured interleaved, round by round; medians; the machine is shared)");

// Bulk loads, alternating SQLite and ours; best of 2 each.
const sqliteLoads: number[] = [];
const oursLoads: number[] = [];
let sqlite = openSqlite();
let ours = await Database.open({});
for (let round = 0; round < 2; round++) {
  if (round > 0) {
    sqlite.close();
    sqlite = openSqlite();
    await ours.close();
    ours = await Database.open({});
  }
  let t0 = performance.now();
  loadSqlite(sqlite, d);
  sqliteLoads.push(ms(t0));
  oursLoads.push(await load(ours, total));
}
const sq = Math.min(...sqliteLoads);
const ou = Math.min(...oursLoads);
say(`bulk insert, memory, one transaction: sqlite ${sq.toFixed(0)} ms (${((total / sq) * 1000).toFixed(0)} rows/s), ours ${ou.toFixed(0)} ms (${((total / ou) * 1000).toFixed(0)} rows/s) → rate ratio ${(sq / ou).toFixed(2)}×`);

const q = prepareQueries(sqlite);
const txn = ours.tryBegin()!;
const pgS: number[] = [];
const pgO: number[] = [];
const hopS: number[] = [];
const hopO: number[] = [];
for (let round = 0; round < 7; round++) {
  let t0 = performance.now();
  for (let i = 0; i < 50_000; i++) q.pointGet(ids[i % ids.length]!);
  pgS.push((ms(t0) * 1000) / 50_000);
  pgO.push(pointGets(txn, 50_000));
  t0 = performance.now();
  for (let i = 0; i < 5000; i++) q.oneHop(ids[i % ids.length]!);
  hopS.push((ms(t0) * 1000) / 5000);
  hopO.push(oneHop(txn, 5000));
}
say(`point get: sqlite ${median(pgS).toFixed(2)} µs, ours ${median(pgO).toFixed(2)} µs → ${(median(pgO) / median(pgS)).toFixed(2)}× SQLite's time`);
say(`1-hop (follows of one user, then those users): sqlite ${median(hopS).toFixed(2)} µs, ours ${median(hopO).toFixed(2)} µs → ${(median(hopO) / median(hopS)).toFixed(2)}×`);
txn.rollback();
await ours.close();
sqlite.close();

const dir = mkdtempSync(join(tmpdir(), "tc-bench-"));
try {
  let db = await Database.open({ dataDir: dir });
  const loadMs = await load(db, total);
  say(`durable bulk insert (one commit): ${loadMs.toFixed(0)} ms = ${((total / loadMs) * 1000).toFixed(0)} rows/s`);
  await db.close();
  const t0 = performance.now();
  db = await Database.open({ dataDir: dir });
  say(`durable reopen of ${total} rows (tables + all indexes rebuilt): ${ms(t0).toFixed(0)} ms`);
  const wStart = performance.now();
  for (let i = 0; i < 100; i++) {
    const w = await db.begin();
    w.request("put", ["social", "users"], [i], [userName(i), "paris", 31]);
    await w.commit();
  }
  say(`durable single-row commits: ${((performance.now() - wStart) / 100).toFixed(2)} ms each (synced to disk)`);
  await db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
