/**
 * Durable tables read lmdb in place (storage/lmdb-table.ts): a reopened store answers point gets,
 * range scans in both directions through the primary key and a secondary index, counts, updates
 * and deletes without loading its rows; a transaction's pending writes are visible to it and gone
 * after a rollback; a commit stays readable while the next transaction runs before it is durable;
 * a damaged row is reported when it is read; a store of the format before the `index`
 * sub-database has its indexes built once at open.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { open } from "lmdb";
import { afterAll, describe, expect, it } from "vitest";
import type { Executor } from "../../src/executor.js";
import type { Json } from "../../src/ir/types.js";
import { embedded } from "../../src/kernel/index.js";
import { Database } from "../../src/kernel/state/database.js";
import { TableView } from "../../src/kernel/state/table-view.js";
import { LmdbTable } from "../../src/kernel/storage/lmdb-table.js";
import { tableLiteral } from "../../src/kernel/storage/table-schema.js";
import { ENTRY_KEYS, ROW_KEYS } from "../../src/kernel/storage/store-keys.js";
import { STORE_FORMAT } from "../../src/kernel/storage/lmdb-store.js";
import { rowChecksum, tableChecksum } from "../../src/kernel/storage/checksums.js";
import { verifyDataDir } from "../../src/kernel/storage/store-verify.js";

const root = mkdtempSync(join(tmpdir(), "tc-durable-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => join(root, `d${dirs++}`);

const SCHEMA = [
  [[["id", "/state/scalar/value/number/uint/32"]], [["a", "/state/scalar/value/number/int/32"], ["b", "/state/scalar/value/string", 16]]],
  [["by_a", ["a"]]],
];
const T = "/state/app/t";
const N = 3000;
const rowOf = (i: number): [number, number, string] => [i, i % 7, `r${i}`];

async function load(ex: Executor, n = N): Promise<void> {
  await ex.request({ verb: "put", path: T, key: null, body: { "/state/collection/table": [SCHEMA, []] } as Json });
  for (let i = 0; i < n; i += 1000) {
    const rows = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) rows.push(rowOf(j));
    await ex.request({ verb: "put", path: `${T}/insert_rows`, key: null, body: rows });
  }
}

/** The rows of a view answer (a table literal `{"/state/collection/table": [schema, rows]}`). */
function rowsOf(answer: Json): unknown[] {
  return (answer as Record<string, [unknown, unknown[]]>)["/state/collection/table"]![1];
}

describe("a reopened durable store", () => {
  it("answers point gets, scans both ways on both indexes, counts, updates and deletes from lmdb", async () => {
    const dir = newDir();
    let ex = embedded({ dataDir: dir });
    await load(ex);
    await ex.close();

    ex = embedded({ dataDir: dir });
    expect(await ex.request({ verb: "get", path: T, key: [1234] })).toEqual(rowOf(1234));
    expect(await ex.request({ verb: "get", path: T, key: [N + 5] })).toBeNull();
    expect(await ex.request({ verb: "get", path: `${T}/count` })).toBe(N);
    const sel = [["id", [["in", 100], ["ex", 110]]]];
    const expected = Array.from({ length: 10 }, (_, i) => rowOf(100 + i));
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: sel }))).toEqual(expected);
    expect(await ex.request({ verb: "get", path: `${T}/count`, key: sel })).toBe(10);
    expect(await ex.request({ verb: "get", path: `${T}/count`, key: [["id", [["ex", 100], ["in", 110]]]] })).toBe(10);
    // a secondary index: a = 3, in (a, id) order, and the same rows reversed
    const byA = Array.from({ length: N }, (_, i) => rowOf(i)).filter((r) => r[1] === 3);
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: [["a", 3]] }))).toEqual(byA);
    expect(await ex.request({ verb: "get", path: `${T}/count`, key: [["a", 3]] })).toBe(byA.length);
    await ex.close();

    // reverse scans and writes, through the state transaction API
    const db = await Database.open({ dataDir: dir });
    let txn = await db.begin();
    const view = txn.request("get", ["app", "t"], sel, undefined) as TableView;
    expect((txn.viewRequest(view, "get", ["order"], [["id"], true], undefined) as TableView).rows()).toEqual([...expected].reverse());
    const aView = txn.request("get", ["app", "t"], [["a", [["in", 5], null]]], undefined) as TableView;
    const aDesc = Array.from({ length: N }, (_, i) => rowOf(i))
      .filter((r) => r[1] >= 5)
      .sort((x, y) => x[1] - y[1] || x[0] - y[0])
      .reverse();
    expect((txn.viewRequest(aView, "get", ["order"], [["a"], true], undefined) as TableView).rows()).toEqual(aDesc);
    txn.request("put", ["app", "t"], [["id", [["in", 0], ["ex", 5]]]], { kind: "map", entries: { b: "upd" } });
    txn.request("delete", ["app", "t"], [7], undefined);
    txn.request("put", ["app", "t"], [8], [100, "moved"]);
    await txn.commit();
    await db.close();

    ex = embedded({ dataDir: dir });
    expect(await ex.request({ verb: "get", path: T, key: [3] })).toEqual([3, 3, "upd"]);
    expect(await ex.request({ verb: "get", path: T, key: [7] })).toBeNull();
    expect(await ex.request({ verb: "get", path: `${T}/count` })).toBe(N - 1);
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: [["a", 100]] }))).toEqual([[8, 100, "moved"]]);
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: [["a", 1]] })).map((r) => (r as number[])[0])).not.toContain(8);
    await ex.close();
  }, 30_000);

  it("opens without reading rows: a damaged row is reported when it is read, naming the table and key", async () => {
    const dir = newDir();
    let ex = embedded({ dataDir: dir });
    await load(ex, 100);
    await ex.close();
    // Damage one row's value (its checksum no longer matches), as after a kill (no clean-close
    // record; lmdb's own structures are intact, so the pre-open check passes).
    const env = open({ path: join(dir, "state"), compression: false, maxDbs: 8 });
    const meta = env.openDB({ name: "meta", encoding: "msgpack", useRecords: false } as { name: string });
    const data = env.openDB({ name: "rows", encoding: "msgpack", useRecords: false, keyEncoder: ROW_KEYS } as { name: string });
    const tid = [...meta.getRange({})].find((e) => (e.value as { path: string }).path === T)!.key as number;
    const [key, value] = [...data.getRange({ start: [tid, 42], end: [tid, 43] })].map((e) => [e.key, e.value as unknown[]])[0]!;
    await data.put(key as never, [...(value as unknown[]).slice(0, -2), "tampered", (value as unknown[]).at(-1)]);
    await env.close();
    unlinkSync(join(dir, "state", "clean-close.json"));

    ex = embedded({ dataDir: dir });
    expect(await ex.request({ verb: "get", path: T, key: [41] })).toEqual(rowOf(41));
    await expect(ex.request({ verb: "get", path: T, key: [42] })).rejects.toMatchObject({
      name: "DataCorruptionError",
      message: expect.stringMatching(/table \/state\/app\/t, row \[42\]: checksum mismatch/),
    });
    await expect(ex.request({ verb: "get", path: T, key: [["id", [["in", 40], ["ex", 50]]]] })).rejects.toMatchObject({ name: "DataCorruptionError" });
    await ex.close().catch(() => undefined);
  });
});

describe("writes over scanned rows", () => {
  it("read the row a scan just decoded, and never a stale one once a commit changed it", async () => {
    const dir = newDir();
    const ex = embedded({ dataDir: dir });
    await load(ex, 200);
    const range = [["id", [["in", 10], ["ex", 20]]]];
    // an update by range: each write replaces a row the scan read
    await ex.request({ verb: "put", path: T, key: range, body: { a: 100 } });
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: range })).map((r) => (r as number[])[1])).toEqual(Array(10).fill(100));
    // the scan above read rows 10..19 from lmdb; a later commit changes row 15 by key
    await ex.request({ verb: "put", path: T, key: [15], body: [5, "changed"] });
    expect(await ex.request({ verb: "get", path: T, key: [15] })).toEqual([15, 5, "changed"]);
    await ex.request({ verb: "delete", path: T, key: [16] });
    expect(await ex.request({ verb: "get", path: T, key: [16] })).toBeNull();
    await ex.request({ verb: "delete", path: T, key: range });
    expect(await ex.request({ verb: "get", path: `${T}/count` })).toBe(190);
    await ex.close();
  });
});

describe("pending writes", () => {
  it("are visible inside their session, gone after its rollback, and kept by its commit", async () => {
    const dir = newDir();
    const ex = embedded({ dataDir: dir });
    await load(ex, 50);
    const s = await ex.session();
    await s.request({ verb: "put", path: T, key: [1000], body: [3, "new"] });
    await s.request({ verb: "delete", path: T, key: [3] });
    await s.request({ verb: "put", path: `${T}/insert_rows`, key: null, body: [rowOf(2000), rowOf(2001)] });
    expect(await s.request({ verb: "get", path: T, key: [1000] })).toEqual([1000, 3, "new"]);
    expect(await s.request({ verb: "get", path: `${T}/count` })).toBe(52);
    expect(await s.request({ verb: "get", path: `${T}/count`, key: [["id", [["in", 0], ["ex", 10]]]] })).toBe(9);
    const a3 = rowsOf(await s.request({ verb: "get", path: T, key: [["a", 3]] })).map((r) => (r as number[])[0]);
    expect(a3).toEqual([10, 17, 24, 31, 38, 45, 1000]);
    await s.rollback();
    expect(await ex.request({ verb: "get", path: T, key: [1000] })).toBeNull();
    expect(await ex.request({ verb: "get", path: T, key: [3] })).toEqual(rowOf(3));
    expect(await ex.request({ verb: "get", path: `${T}/count` })).toBe(50);
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: [["a", 3]] })).map((r) => (r as number[])[0])).toEqual([3, 10, 17, 24, 31, 38, 45]);

    const s2 = await ex.session();
    await s2.request({ verb: "delete", path: T, key: [] });
    expect(await s2.request({ verb: "get", path: `${T}/count` })).toBe(0);
    await s2.request({ verb: "put", path: T, key: [5], body: [1, "after truncate"] });
    expect(rowsOf(await s2.request({ verb: "get", path: T, key: null }))).toEqual([[5, 1, "after truncate"]]);
    await s2.commit();
    expect(await ex.request({ verb: "get", path: `${T}/count` })).toBe(1);
    await ex.close();
    const again = embedded({ dataDir: dir });
    expect(rowsOf(await again.request({ verb: "get", path: T, key: null }))).toEqual([[5, 1, "after truncate"]]);
    await again.close();
  });

  it("a failed request undoes its own writes only; the transaction's earlier writes stay", async () => {
    const db = await Database.open({ dataDir: newDir() });
    let txn = await db.begin();
    txn.request("put", ["app", "t"], null, tableLiteral(SCHEMA, [rowOf(1), rowOf(2)]));
    await txn.commit();
    txn = await db.begin();
    txn.request("put", ["app", "t"], [10], [1, "kept"]);
    txn.request("put", ["app", "t"], [["id", [["in", 1], ["in", 2]]]], { kind: "map", entries: { b: "x" } });
    // a request that fails: none of its rows is written, the writes before it stay
    expect(() => txn.request("put", ["app", "t", "insert_rows"], null, [rowOf(20), rowOf(2)])).toThrow(/exists/);
    expect(txn.request("get", ["app", "t"], [20], undefined)).toBeNull();
    expect(txn.request("get", ["app", "t"], [10], undefined)).toEqual([10, 1, "kept"]);
    expect(txn.request("get", ["app", "t"], [1], undefined)).toEqual([1, 1, "x"]);
    await txn.commit();
    await db.close();
  });

  it("a bulk insert merged into a transaction's writes replaces a key it deleted, and reads back the same after a reopen", async () => {
    const dir = newDir();
    let db = await Database.open({ dataDir: dir });
    let txn = await db.begin();
    txn.request("put", ["app", "t"], null, tableLiteral(SCHEMA, [rowOf(1), rowOf(2), rowOf(3)]));
    await txn.commit();
    txn = await db.begin();
    txn.request("delete", ["app", "t"], [2], undefined);
    txn.request("put", ["app", "t"], [40], [5, "single"]);
    // merged into the layer's trees: key 2 (a tombstone there) comes back, 30 and 31 are new
    txn.request("put", ["app", "t", "insert_rows"], null, [[31, 5, "b31"], [2, 5, "again"], [30, 6, "b30"]]);
    const all = (): unknown =>
      txn.viewRequest(txn.request("get", ["app", "t"], null, undefined) as TableView, "get", ["rows"], null, undefined);
    const byA5 = (): unknown =>
      txn.viewRequest(txn.request("get", ["app", "t"], [["a", 5]], undefined) as TableView, "get", ["rows"], null, undefined);
    const want = [rowOf(1), [2, 5, "again"], rowOf(3), [30, 6, "b30"], [31, 5, "b31"], [40, 5, "single"]];
    expect(all()).toEqual(want);
    expect(byA5()).toEqual([[2, 5, "again"], [31, 5, "b31"], [40, 5, "single"]]);
    expect(txn.request("get", ["app", "t", "count"], null, undefined)).toBe(6);
    await txn.commit();
    await db.close();
    db = await Database.open({ dataDir: dir });
    txn = await db.begin();
    expect(all()).toEqual(want);
    expect(byA5()).toEqual([[2, 5, "again"], [31, 5, "b31"], [40, 5, "single"]]);
    txn.rollback();
    await db.close();
  });

  it("a commit stays readable, and a committed-state read excludes the open transaction, before the commit is durable", async () => {
    const dir = newDir();
    const db = await Database.open({ dataDir: dir });
    let txn = await db.begin();
    txn.request("put", ["app", "t"], null, tableLiteral(SCHEMA, []));
    await txn.commit();
    const t1 = await db.begin();
    t1.request("put", ["app", "t", "insert_rows"], null, [rowOf(1), rowOf(2), rowOf(3)]);
    const durable1 = t1.commit();
    const t2 = await db.begin(); // the lock is free before t1's write resolves
    let settled = false;
    void durable1.then(() => (settled = true));
    expect(settled).toBe(false);
    expect(t2.request("get", ["app", "t"], [2], undefined)).toEqual(rowOf(2));
    t2.request("delete", ["app", "t"], [2], undefined);
    t2.request("put", ["app", "t"], [4], [4, "r4"]);
    const table = (db as unknown as { lookup(ns: string, n: string): unknown }).lookup("app", "t");
    expect(table).toBeInstanceOf(LmdbTable);
    const lt = table as LmdbTable;
    // the committed state: t1's rows, without t2's delete and insert
    expect(lt.committedGet(2)).toEqual(rowOf(2));
    expect(lt.committedGet(4)).toBeUndefined();
    const committed: unknown[] = [];
    lt.committedScan(lt.plan([]), (r) => {
      committed.push(r);
    });
    expect(committed).toEqual([rowOf(1), rowOf(2), rowOf(3)]);
    expect((t2.request("get", ["app", "t"], null, undefined) as TableView).rows()).toEqual([rowOf(1), rowOf(3), [4, 4, "r4"]]);
    await Promise.all([durable1, t2.commit()]);
    await db.close();
    const again = embedded({ dataDir: dir });
    expect(rowsOf(await again.request({ verb: "get", path: T, key: null }))).toEqual([rowOf(1), rowOf(3), [4, 4, "r4"]]);
    await again.close();
  });
});

describe("the clean-close record", () => {
  it("is checked in O(1) (size and meta pages); a record of the previous format (whole-file CRC) is still checked", async () => {
    const dir = newDir();
    let ex = embedded({ dataDir: dir });
    await load(ex, 10);
    await ex.close();
    const file = join(dir, "state", "clean-close.json");
    const record = JSON.parse(readFileSync(file, "utf8")) as { size: number; head: number; crc: number };
    expect(Object.keys(record).sort()).toEqual(["closedAt", "crc", "head", "size"]);
    // the previous format: size and whole-file CRC only
    writeFileSync(file, JSON.stringify({ size: record.size, crc: record.crc }));
    ex = embedded({ dataDir: dir });
    expect(await ex.request({ verb: "get", path: `${T}/count` })).toBe(10);
    await ex.close();
    const next = JSON.parse(readFileSync(file, "utf8")) as { size: number; crc: number };
    writeFileSync(file, JSON.stringify({ size: next.size, crc: (next.crc + 1) >>> 0 }));
    ex = embedded({ dataDir: dir });
    await expect(ex.request({ verb: "get", path: `${T}/count` })).rejects.toMatchObject({
      name: "DataCorruptionError",
      message: expect.stringMatching(/state\/data\.mdb: it changed since its last clean close/),
    });
    await ex.close().catch(() => undefined);
  });
});

describe("a store of the format before the index sub-database", () => {
  it("has its secondary indexes built once at open, then answers through them", async () => {
    const dir = newDir();
    const env = open({ path: join(dir, "state"), compression: false, maxDbs: 8 });
    const msgpack = { encoding: "msgpack", useRecords: false } as const;
    const meta = env.openDB({ name: "meta", ...msgpack } as { name: string });
    const data = env.openDB({ name: "data", ...msgpack } as { name: string });
    const counts = env.openDB({ name: "counts", ...msgpack } as { name: string });
    await env.transaction(() => {
      // no `sum`: rows without checksums, as written before checksums existed
      meta.putSync(1, { path: "/state/app/t", schema: SCHEMA });
      for (let i = 0; i < 20; i++) data.putSync([1, i], [i % 7, `r${i}`]);
      counts.putSync(1, 20);
    });
    await env.close();
    expect(existsSync(join(dir, "state", "clean-close.json"))).toBe(false);

    let ex = embedded({ dataDir: dir });
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: [["a", 2]] }))).toEqual([rowOf(2), rowOf(9), rowOf(16)]);
    await ex.request({ verb: "put", path: T, key: [30], body: [2, "r30"] });
    await ex.close();

    const check = open({ path: join(dir, "state"), compression: false, maxDbs: 8, readOnly: true });
    const info = check.openDB({ name: "info", ...msgpack } as { name: string });
    const index = check.openDB({ name: "entries", ...msgpack, keyEncoder: ENTRY_KEYS } as { name: string });
    expect(info.get("format")).toBe(STORE_FORMAT);
    expect(index.getCount({ start: [1], end: [2] })).toBe(21);
    await check.close();

    ex = embedded({ dataDir: dir });
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: [["a", 2]] }))).toEqual([rowOf(2), rowOf(9), rowOf(16), [30, 2, "r30"]]);
    expect(await ex.request({ verb: "get", path: `${T}/count` })).toBe(21);
    await ex.close();
  });
});

/** A new lmdb environment in `dir`/state with the sub-databases of a store of format 2, to fill by hand. */
function formatTwoStore(dir: string) {
  const env = open({ path: join(dir, "state"), compression: false, maxDbs: 8 });
  const msgpack = { encoding: "msgpack", useRecords: false } as const;
  const db = (name: string) => env.openDB({ name, ...msgpack } as { name: string });
  return { env, msgpack, meta: db("meta"), data: db("data"), index: db("index"), counts: db("counts"), info: db("info") };
}

/** Opens the data directory, runs `fn`, closes it, and expects `verify` to find it sound. */
async function thenSound(dir: string, fn: (ex: Executor) => Promise<unknown>): Promise<void> {
  const ex = embedded({ dataDir: dir });
  await fn(ex);
  await ex.close();
  expect((await verifyDataDir(dir)).problems).toEqual([]);
}

describe("a store of format 2 (ordered-binary keys in `data` and `index`)", () => {
  it("has its keys re-encoded once at open, keeps its rows and indexes, and verifies sound", async () => {
    const dir = newDir();
    const { env, meta, data, index, counts, info, msgpack } = formatTwoStore(dir);
    // tid 300: its id takes the wide form of the compact encoding
    const tid = 300;
    await env.transaction(() => {
      meta.putSync(tid, { path: T, schema: SCHEMA, sum: tableChecksum(T, SCHEMA) });
      for (let i = 0; i < 50; i++) {
        const values = [i % 7, `r${i}`];
        data.putSync([tid, i], [...values, rowChecksum([tid, i], values, 2)]);
        index.putSync([tid, 0, i % 7, i], null);
      }
      counts.putSync(tid, 50);
      info.putSync("format", 2);
    });
    await env.close();
    // verify reads it where it is, read-only, without upgrading it
    const before = await verifyDataDir(dir);
    expect(before.problems).toEqual([]);
    expect(before.checked.join("\n")).toMatch(/table \/state\/app\/t: 50 rows, row checksums match.*2 index\(es\) consistent/);

    let ex = embedded({ dataDir: dir });
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: [["a", 3]] }))).toEqual([3, 10, 17, 24, 31, 38, 45].map(rowOf));
    expect(await ex.request({ verb: "get", path: T, key: [49] })).toEqual(rowOf(49));
    await ex.request({ verb: "put", path: T, key: [60], body: [3, "r60"] });
    await ex.request({ verb: "delete", path: T, key: [10] });
    await ex.close();

    const check = open({ path: join(dir, "state"), compression: false, maxDbs: 8, readOnly: true });
    expect(check.openDB({ name: "info", ...msgpack } as { name: string }).get("format")).toBe(STORE_FORMAT);
    const entries = check.openDB({ name: "entries", ...msgpack, keyEncoder: ENTRY_KEYS } as { name: string });
    expect([...entries.getKeys({ start: [tid, 0, 3], end: [tid, 0, 4] })]).toEqual([3, 17, 24, 31, 38, 45, 60].map((i) => [tid, 0, 3, i]));
    // the old sub-databases are gone
    expect(check.openDB({ name: "data", ...msgpack, create: false } as { name: string })).toBeFalsy();
    expect(check.openDB({ name: "index", ...msgpack, create: false } as { name: string })).toBeFalsy();
    await check.close();

    const report = await verifyDataDir(dir);
    expect(report.problems).toEqual([]);
    ex = embedded({ dataDir: dir });
    expect(await ex.request({ verb: "get", path: `${T}/count` })).toBe(50);
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: [["a", 3]] })).map((r) => (r as number[])[0])).toEqual([3, 17, 24, 31, 38, 45, 60]);
    await ex.close();
  });
});

describe("a store of a newer format", () => {
  it("is refused at open, before anything is read or written", async () => {
    const dir = newDir();
    let ex = embedded({ dataDir: dir });
    await load(ex, 10);
    await ex.close();
    const env = open({ path: join(dir, "state"), compression: false, maxDbs: 8 });
    await env.openDB({ name: "info", encoding: "msgpack", useRecords: false } as { name: string }).put("format", STORE_FORMAT + 1);
    await env.close();
    unlinkSync(join(dir, "state", "clean-close.json"));
    ex = embedded({ dataDir: dir });
    await expect(ex.request({ verb: "get", path: `${T}/count` })).rejects.toMatchObject({
      name: "DataCorruptionError",
      message: expect.stringMatching(new RegExp(`store format ${STORE_FORMAT + 1}, written by a newer version`)),
    });
    await ex.close().catch(() => undefined);
  });
});

/** A table whose index lists the key before two nullable columns: its entries may end in nulls. */
const NULLS = [
    [[["k", "/state/scalar/value/number/uint/32"]], [["b", "/state/scalar/value/number/bool"], ["v", "/state/scalar/value/number/uint/8", null, { nullable: true }], ["w", "/state/scalar/value/number/uint/8", null, { nullable: true }]]],
  [["k_v_w", ["k", "v", "w"]], ["k_b_v_w", ["k", "b", "v", "w"]]],
];
const P = "/state/app/nulls";

describe("an index listing the key before nullable columns (stored keys ending in null cells)", () => {
  // ordered-binary reads a key ending in two nulls back one null short; the entries must still
  // match their rows, and a truncate must remove them all
  it("verifies sound after commits, a reopen, deletes and a truncate, and reads its rows back", async () => {
    const dir = newDir();
    await thenSound(dir, async (ex) => {
      await ex.request({ verb: "put", path: P, key: null, body: { "/state/collection/table": [NULLS, []] } as Json });
      await ex.request({ verb: "put", path: `${P}/insert_rows`, key: null, body: [[1, false, null, null], [2, true, null, null], [3, false, 4, null], [4, true, null, 5], [5, false, 6, 7]] });
    });
    await thenSound(dir, (ex) => ex.request({ verb: "delete", path: P, key: [2] }));
    // a truncate (the table keeps its id, so an entry left behind would be counted)
    await thenSound(dir, async (ex) => {
      await ex.request({ verb: "delete", path: P, key: [] });
      await ex.request({ verb: "put", path: `${P}/insert_rows`, key: null, body: [[1, true, 1, 1], [6, false, null, null]] });
    });
    await thenSound(dir, async (ex) => expect(rowsOf(await ex.request({ verb: "get", path: P }))).toEqual([[1, true, 1, 1], [6, false, null, null]]));
  });
});

describe("a store of format 2 whose index entries end in null cells", () => {
  it("is re-encoded with every cell of its entries: it verifies sound, and a delete or a truncate leaves no entry behind", async () => {
    const dir = newDir();
    const { env, meta, data, index, counts, info } = formatTwoStore(dir);
    const tid = 7;
    const rows: [number, boolean, number | null, number | null][] = [[1, false, null, null], [2, true, 3, null], [3, true, null, null]];
    await env.transaction(() => {
      meta.putSync(tid, { path: P, schema: NULLS, sum: tableChecksum(P, NULLS) });
      for (const [k, ...values] of rows) {
        data.putSync([tid, k], [...values, rowChecksum([tid, k], values, 3)]);
        index.putSync([tid, 0, k, values[1], values[2]] as never, null);
        index.putSync([tid, 1, k, ...values] as never, null);
      }
      counts.putSync(tid, rows.length);
      info.putSync("format", 2);
    });
    await env.close();
    await thenSound(dir, async (ex) => expect(rowsOf(await ex.request({ verb: "get", path: P }))).toEqual(rows));
    // a row deleted alone: its entries are removed by their keys
    await thenSound(dir, (ex) => ex.request({ verb: "delete", path: P, key: [1] }));
    await thenSound(dir, async (ex) => {
      await ex.request({ verb: "delete", path: P, key: [] });
      await ex.request({ verb: "put", path: `${P}/insert_rows`, key: null, body: [[1, true, 1, 1]] });
    });
  });
});
