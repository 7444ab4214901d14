/**
 * Wrong results found by comparing with SQLite on random data, each checked on every executor
 * and, where SQLite has the same semantics, against better-sqlite3: a `-0` key, `.unique()` on
 * updates that filter per row, a string range no index serves, and the count `onConflict`
 * returns. (Graph link ordering: `tests/graph/link-order.test.ts`.)
 */
import Database from "better-sqlite3";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConflictError } from "../../src/errors.js";
import { embedded } from "../../src/kernel/index.js";
import { param } from "../../src/ir/index.js";
import { col, connect, schema, table, type OrmDb } from "../../src/orm/index.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

const zeros = table("zeros", { id: col.i32().key(), v: col.string(8).nullable() });
const uzeros = table("uzeros", { id: col.u32().key(), v: col.string(8).nullable() });
const fzeros = table("fzeros", { id: col.f64().key(), v: col.string(8).nullable(), f: col.f64().nullable() });
const uniq = table("uniq", { id: col.u32().key(), c1: col.i32().nullable(), c4: col.i32().nullable().unique() });
const words = table("words", {
  id: col.u32().key(),
  s: col.string(8).nullable(),
  l: col.link().nullable(),
  b: col.bool().nullable(),
  n: col.i32(),
});
const kv = table("kv", { id: col.u32().key(), a: col.i32().nullable(), b: col.string(8).nullable() });
const S = schema({ namespace: "diff", tables: { zeros, uzeros, fzeros, uniq, words, kv } });
type Db = OrmDb<typeof S>;

/** A deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ["a", "b", "B", "é", "\u{1F600}", "\uFFFF", "/", "z"];
const LINK_ALPHABET = ["a", "b", "B", "z", "_", "0"];
function word(r: () => number, alphabet: readonly string[] = ALPHABET): string {
  const n = 1 + Math.floor(r() * 3);
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)]!;
  return s;
}

function sqliteWords(rows: readonly { id: number; s: string | null; l: string | null; b: boolean | null; n: number }[]): Database.Database {
  const lite = new Database(":memory:");
  lite.exec("create table words (id integer primary key, s text, l text, b integer, n integer)");
  const ins = lite.prepare("insert into words values (?, ?, ?, ?, ?)");
  for (const r of rows) ins.run(r.id, r.s, r.l, r.b === null ? null : r.b ? 1 : 0, r.n);
  return lite;
}

describe("SQLite stores -0 as 0", () => {
  it("in an INTEGER key and a REAL column", () => {
    const lite = new Database(":memory:");
    lite.exec("create table t (id integer primary key, r real)");
    lite.prepare("insert into t values (?, ?)").run(-0, -0);
    const row = lite.prepare("select id, r from t").get() as { id: number; r: number };
    expect(Object.is(row.id, 0)).toBe(true);
    expect(Object.is(row.r, 0)).toBe(true);
  });
});

describe("a -0 key after a durable reopen", () => {
  it("reads back as the key 0 (i32, u32, f64 keys)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tc-orm-negzero-"));
    try {
      let ex = embedded({ dataDir: dir });
      let db = await connect(S, ex);
      await db.sync();
      await db.insertInto("zeros").values({ id: -0, v: "a" }).execute();
      await db.insertInto("uzeros").values({ id: -0, v: "b" }).execute();
      await db.insertInto("fzeros").values([{ id: -0, v: "c", f: -0 }, { id: 1.5, v: "d", f: null }]).execute();
      await ex.close();
      ex = embedded({ dataDir: dir });
      db = await connect(S, ex);
      expect(await db.selectFrom("zeros").execute()).toEqual([{ id: 0, v: "a" }]);
      expect(await db.selectFrom("uzeros").execute()).toEqual([{ id: 0, v: "b" }]);
      const f = await db.selectFrom("fzeros").execute();
      expect(f).toEqual([{ id: 0, v: "c", f: 0 }, { id: 1.5, v: "d", f: null }]);
      expect(Object.is(f[0]!.id, 0) && Object.is(f[0]!.f, 0)).toBe(true);
      await ex.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.each(WITH_CLUSTER)("wrong results vs SQLite on $name", (factory) => {
  const create = executorsFor(factory, afterAll);
  const fresh = async (): Promise<Db> => {
    const db = await connect(S, await create());
    await db.sync();
    return db;
  };

  it("stores a -0 key and value as 0: the row is found by 0, and reads back +0", async () => {
    const db = await fresh();
    await db.insertInto("zeros").values({ id: -0, v: "a" }).execute();
    await db.insertInto("fzeros").values({ id: -0, v: "c", f: -0 }).execute();
    await expect(db.insertInto("zeros").values({ id: 0, v: "x" }).execute()).rejects.toBeInstanceOf(ConflictError);
    const [z] = await db.selectFrom("zeros").where("id", "=", 0).execute();
    expect(z).toEqual({ id: 0, v: "a" });
    expect(Object.is(z!.id, 0)).toBe(true);
    const [f] = await db.selectFrom("fzeros").execute();
    expect(Object.is(f!.id, 0) && Object.is(f!.f, 0)).toBe(true);
  });

  it("answers a key in-list (unsorted, repeated, absent, -0) once per row in key order, as SQLite's order by id", async () => {
    const ex = await create();
    const db = await connect(S, ex);
    await db.sync();
    const r = rng(23);
    const ids = [...new Set(Array.from({ length: 60 }, () => Math.floor(r() * 200) - 100))];
    const fids = ids.map((i) => i / 4);
    await db.insertInto("zeros").values(ids.map((id) => ({ id, v: null }))).execute();
    await db.insertInto("fzeros").values(fids.map((id) => ({ id, v: null, f: null }))).execute();
    const lite = new Database(":memory:");
    lite.exec("create table zeros (id integer primary key); create table fzeros (id real primary key)");
    for (const id of ids) lite.prepare("insert into zeros values (?)").run(id);
    for (const id of fids) lite.prepare("insert into fzeros values (?)").run(id);
    for (let round = 0; round < 6; round++) {
      const list = Array.from({ length: 1 + Math.floor(r() * 40) }, () => Math.floor(r() * 240) - 120);
      if (round === 0) list.push(-0, 0, -0);
      const want = (t: string, xs: number[]): number[] =>
        (lite.prepare(`select id from ${t} where id in (${xs.map(() => "?").join(",")}) order by id`).all(...xs) as { id: number }[]).map((x) => x.id);
      // A parameter's list reaches the host as given (a literal one is sorted when compiled).
      const q = db.selectFrom("zeros").where("id", "in", param("ids"));
      expect(q.explain().access).toBe("index lookups");
      expect((await q.execute({ ids: list })).map((x) => x.id)).toEqual(want("zeros", list));
      // The same op with the list sent as it is (the builder drops repeats before sending it).
      const { op, params } = q.compile();
      const raw = (await ex.execute(op, { [params[0]!]: list })) as unknown[][];
      expect(raw.map((row) => row[0])).toEqual(want("zeros", list));
      expect((await db.selectFrom("zeros").where("id", "in", list).execute()).map((x) => x.id)).toEqual(want("zeros", list));
      const flist = list.map((i) => i / 4);
      const fq = db.selectFrom("fzeros").where("id", "in", param("ids"));
      expect((await fq.execute({ ids: flist })).map((x) => x.id)).toEqual(want("fzeros", flist));
    }
  });

  for (const filter of ["extension", "core"] as const) {
    it(`refuses a .unique() violation on an update that filters per row (${filter}), writing nothing`, async () => {
      const db = (await fresh()).withOptions({ filter });
      const rows = [{ id: 1, c1: null, c4: 1 }, { id: 2, c1: null, c4: 2 }, { id: 3, c1: 5, c4: 3 }];
      await db.insertInto("uniq").values(rows).execute();
      const lite = new Database(":memory:");
      lite.exec("create table uniq (id integer primary key, c1 integer, c4 integer unique)");
      for (const r of rows) lite.prepare("insert into uniq values (?, ?, ?)").run(r.id, r.c1, r.c4);
      const cases = [
        [db.updateTable("uniq").set({ c4: 9 }).where("c1", "isNull"), 9, "c1 is null"],
        [db.updateTable("uniq").set({ c4: 9 }).where("c4", "!=", 2), 9, "c4 != 2"],
        [db.updateTable("uniq").set({ c4: 9 }).where("c4", "in", [1, 3]), 9, "c4 in (1, 3)"],
        [db.updateTable("uniq").set({ c4: 9 }).where("c4", ">=", 2), 9, "c4 >= 2"],
        [db.updateTable("uniq").set({ c4: 3 }).where("c1", "isNull"), 3, "c1 is null"],
      ] as const;
      for (const [q, value, where] of cases) {
        expect(() => lite.prepare(`update uniq set c4 = ? where ${where}`).run(value)).toThrow(/UNIQUE/);
        await expect(q.execute()).rejects.toBeInstanceOf(ConflictError);
        expect(await db.selectFrom("uniq").execute()).toEqual(rows);
      }
      // One row: no violation, as in SQLite.
      expect(lite.prepare("update uniq set c4 = 9 where c1 = 5").run().changes).toBe(1);
      expect(await db.updateTable("uniq").set({ c4: 9 }).where("c1", "=", 5).execute()).toBe(1);
      expect(await db.updateTable("uniq").set({ c4: null }).where("c1", "isNull").execute()).toBe(2);
    });

    it(`filters a string or link range no index serves as SQLite does (${filter}), with or without an in-lookup`, async () => {
      const db = (await fresh()).withOptions({ filter });
      const r = rng(filter === "core" ? 7 : 11);
      const rows = Array.from({ length: 24 }, (_, i) => ({
        id: i + 1,
        s: r() < 0.2 ? null : word(r),
        l: r() < 0.2 ? null : `/state/x/${word(r, LINK_ALPHABET)}`,
        b: r() < 0.2 ? null : r() < 0.5,
        n: Math.floor(r() * 4),
      }));
      await db.insertInto("words").values(rows).execute();
      const lite = sqliteWords(rows);
      const ids = (xs: readonly { id: number }[]): number[] => xs.map((x) => x.id).sort((a, b) => a - b);
      const sqlIds = (sql: string, ...args: unknown[]): number[] =>
        (lite.prepare(`select id from words where ${sql} order by id`).all(...args) as { id: number }[]).map((x) => x.id);
      const inList = [2, 3, 5, 8, 13, 21];
      for (const op of ["<", "<=", ">", ">="] as const) {
        for (let k = 0; k < 3; k++) {
          const s = word(r);
          const l = `/state/x/${word(r, LINK_ALPHABET)}`;
          expect(ids(await db.selectFrom("words").where("s", op, s).execute())).toEqual(sqlIds(`s ${op} ?`, s));
          expect(ids(await db.selectFrom("words").where("n", "=", 1).where("s", op, s).execute())).toEqual(sqlIds(`n = 1 and s ${op} ?`, s));
          const lookup = db.selectFrom("words").where("id", "in", inList).where("s", op, s);
          expect(lookup.explain().access).toBe("index lookups");
          expect(ids(await lookup.execute())).toEqual(sqlIds(`id in (${inList.join(",")}) and s ${op} ?`, s));
          expect(ids(await db.selectFrom("words").where("l", op, l).execute())).toEqual(sqlIds(`l ${op} ?`, l));
        }
      }
      // Writes through the same filter: the count and the rows written agree with SQLite.
      const s = "b";
      const expected = lite.prepare("update words set n = 9 where n != 9 and s >= ?").run(s).changes;
      expect(await db.updateTable("words").set({ n: 9 }).where("n", "!=", 9).where("s", ">=", s).execute()).toBe(expected);
      expect(ids(await db.selectFrom("words").where("n", "=", 9).execute())).toEqual(sqlIds("n = 9"));
    });
  }

  for (const bulkInsert of ["extension", "core"] as const) {
    it(`counts onConflict writes as SQLite's changes() does (${bulkInsert})`, async () => {
      const db = (await fresh()).withOptions({ bulkInsert });
      const lite = new Database(":memory:");
      lite.exec("create table kv (id integer primary key, a integer, b text)");
      const r = rng(bulkInsert === "core" ? 3 : 5);
      const row = () => ({ id: 1 + Math.floor(r() * 6), a: r() < 0.3 ? null : Math.floor(r() * 3), b: r() < 0.5 ? "x" : "y" });
      for (let round = 0; round < 12; round++) {
        const batch = Array.from({ length: 1 + Math.floor(r() * 4) }, row);
        const action = r() < 0.5 ? "update" : "ignore";
        const clause = action === "update" ? "on conflict(id) do update set a = excluded.a, b = excluded.b" : "on conflict do nothing";
        const values = batch.map(() => "(?, ?, ?)").join(", ");
        const changes = lite.prepare(`insert into kv values ${values} ${clause}`).run(...batch.flatMap((x) => [x.id, x.a, x.b])).changes;
        expect(await db.insertInto("kv").values(batch).onConflict(action).execute()).toBe(changes);
        expect(await db.selectFrom("kv").execute()).toEqual(lite.prepare("select * from kv order by id").all());
      }
      // Values equal to the stored ones still count, as in SQLite.
      const [first] = (await db.selectFrom("kv").limit(1).execute()) as { id: number; a: number | null; b: string | null }[];
      expect(lite.prepare("insert into kv values (?, ?, ?) on conflict(id) do update set a = excluded.a, b = excluded.b").run(first!.id, first!.a, first!.b).changes).toBe(1);
      expect(await db.insertInto("kv").values(first!).onConflict("update").execute()).toBe(1);
      expect(await db.insertInto("kv").values(first!).onConflict("ignore").execute()).toBe(0);
    });
  }

  it("counts update, delete and count() with limit/offset as SQL does", async () => {
    const db = await fresh();
    await db.insertInto("kv").values([1, 2, 3, 4, 5].map((id) => ({ id, a: id % 2, b: "x" }))).execute();
    // An update counts every row it matches, also when the new value equals the old one.
    expect(await db.updateTable("kv").set({ b: "x" }).where("a", "=", 1).execute()).toBe(3);
    expect(await db.selectFrom("kv").offset(1).limit(2).count().execute()).toBe(2);
    expect(await db.selectFrom("kv").offset(4).limit(2).count().execute()).toBe(1);
    expect(await db.deleteFrom("kv").where("a", "=", 0).execute()).toBe(2);
    expect(await db.deleteFrom("kv").where("a", "=", 0).execute()).toBe(0);
  });
});
