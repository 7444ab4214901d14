/**
 * Columns added without a rewrite (PROFILE §6.13): a migration that appends a nullable column or
 * one with a constant default keeps the stored rows as they are, and every read fills the new
 * cells in for rows stored before it — point gets, scans, index lookups (an index built on the new
 * column), the query route, relation traversals, joins, the table literal, counts, updates and
 * deletes — on every executor; rows written before and after the change, and after a second such
 * change (rows of three widths). On a durable store the change survives a reopen and the store
 * verifies.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Executor } from "../../src/executor.js";
import { embedded } from "../../src/kernel/index.js";
import { verifyDataDir } from "../../src/kernel/storage/store-verify.js";
import { PATHS } from "../../src/ir/types.js";
import { col, connect, schema, table } from "../../src/orm/index.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

const BIG = 2 ** 40;

const usersV1 = table("users", { id: col.u64().key(), name: col.string(16), city: col.string(16) }).index("by_city", ["city"]);
const usersV2 = table("users", {
  id: col.u64().key(),
  name: col.string(16),
  city: col.string(16),
  score: col.u32().default(7),
  note: col.string(16).nullable(),
  big: col.i64().default(BIG),
})
  .index("by_city", ["city"])
  .index("by_score", ["score"]);
const usersV3 = table("users", {
  id: col.u64().key(),
  name: col.string(16),
  city: col.string(16),
  score: col.u32().default(7),
  note: col.string(16).nullable(),
  big: col.i64().default(BIG),
  rank: col.f64().default(1.5),
})
  .index("by_city", ["city"])
  .index("by_score", ["score"]);

const posts = (users: typeof usersV1 | typeof usersV2 | typeof usersV3) =>
  table("posts", { id: col.u64().key(), author: col.u64().references(() => users, { name: "author", inverse: "posts" }), likes: col.u32() });

const v1 = schema({ namespace: "lz", tables: { users: usersV1, posts: posts(usersV1) } });
const v2 = schema({ namespace: "lz", tables: { users: usersV2, posts: posts(usersV2) } });
const v3 = schema({ namespace: "lz", tables: { users: usersV3, posts: posts(usersV3) } });

const before = [
  { id: 1, name: "ada", city: "paris" },
  { id: 2, name: "bob", city: "rome" },
  { id: 3, name: "cy", city: "paris" },
  { id: 4, name: "dee", city: "oslo" },
];

async function loaded(ex: Executor): Promise<void> {
  const db = await connect(v1, ex);
  await db.sync();
  await db.insertInto("users").values(before).execute();
  await db.insertInto("posts").values([
    { id: 10, author: 1, likes: 5 },
    { id: 11, author: 3, likes: 2 },
    { id: 12, author: 5, likes: 1 },
  ]).execute().catch(() => undefined); // author 5 does not exist yet: refused, inserted below
  await db.insertInto("posts").values([
    { id: 10, author: 1, likes: 5 },
    { id: 11, author: 3, likes: 2 },
  ]).execute();
}

/** The rows v2 should read: the old ones filled in, then the ones written after the change. */
const afterV2 = [
  { id: 1, name: "ada", city: "paris", score: 7, note: null, big: BIG },
  { id: 2, name: "bob", city: "rome", score: 9, note: "set", big: BIG },
  { id: 3, name: "cy", city: "paris", score: 7, note: null, big: BIG },
  { id: 5, name: "eve", city: "rome", score: 3, note: "new", big: 5 },
];

/** Every read path over the users table after the first change and its writes. */
async function checkV2(ex: Executor): Promise<void> {
  const db = await connect(v2, ex);
  // scan, point, index (built over the old rows from their fill cells), counts
  expect(await db.selectFrom("users").orderBy("id").execute()).toEqual(afterV2);
  expect(await db.selectFrom("users").where("id", "=", 1).execute()).toEqual([afterV2[0]]);
  expect(await db.selectFrom("users").where("score", "=", 7).orderBy("score").execute()).toEqual([afterV2[0], afterV2[2]]);
  expect(await db.selectFrom("users").where("score", ">", 5).orderBy("score").select(["id"]).execute()).toEqual([{ id: 1 }, { id: 3 }, { id: 2 }]);
  expect(await db.selectFrom("users").where("score", "=", 7).count().execute()).toBe(2);
  expect(await db.selectFrom("users").where("city", "=", "paris").orderBy("city").select(["id", "score"]).execute()).toEqual([
    { id: 1, score: 7 },
    { id: 3, score: 7 },
  ]);
  // the query route: a filter it evaluates, an order on two columns, a relation, a join
  expect(await db.selectFrom("users").where("name", "like", "%e%").orderBy("id").select(["id", "score", "big"]).execute()).toEqual([
    { id: 5, score: 3, big: 5 },
  ]);
  expect(await db.selectFrom("users").where("note", "is", null).orderBy("score").orderBy("id", "desc").select(["id"]).execute()).toEqual([{ id: 3 }, { id: 1 }]);
  const withPosts = await db.selectFrom("users").where("id", "<", 4).orderBy("id").select(["id", "score"]).with("posts", (q) => q.select(["id"])).execute();
  expect(withPosts).toEqual([
    { id: 1, score: 7, posts: [{ id: 10 }] },
    { id: 2, score: 9, posts: [] },
    { id: 3, score: 7, posts: [{ id: 11 }] },
  ]);
  const joined = await db.selectFrom("posts").innerJoin("users", "users.id", "posts.author").select(["posts.id", "users.score", "users.big"]).orderBy("posts.id").execute();
  expect(joined).toEqual([
    { id: 10, score: 7, big: BIG },
    { id: 11, score: 7, big: BIG },
    { id: 12, score: 3, big: 5 },
  ]);
  // the table literal (export)
  const lit = (await ex.request({ verb: "get", path: "/state/lz/users", key: null })) as Record<string, unknown[]>;
  const rows = lit[PATHS.table]![1] as unknown[][];
  expect(rows.length).toBe(4);
  expect(rows[0]!.slice(0, 5)).toEqual([1, "ada", "paris", 7, null]);
}

describe.each(WITH_CLUSTER)("columns added without a rewrite, on $name", (factory) => {
  const create = executorsFor(factory, afterAll);

  it("reads the new columns' cells in rows stored before the change, through every read path", async () => {
    const ex = await create();
    await loaded(ex);
    const db = await connect(v2, ex);
    const plan = await db.planMigration();
    expect(plan.steps).toContain("users: add column score u32 (default 7)");
    await db.migrate();
    // writes after the change: an update of an old row, a delete, a new row pointing at by a post
    await db.updateTable("users").set({ score: 9, note: "set" }).where("id", "=", 2).execute();
    await db.deleteFrom("users").where("id", "=", 4).execute();
    await db.insertInto("users").values({ id: 5, name: "eve", city: "rome", score: 3, note: "new", big: 5 }).execute();
    await db.insertInto("posts").values({ id: 12, author: 5, likes: 1 }).execute();
    await checkV2(ex);

    // A second change: rows of three widths now (before v2, between, after v3).
    const db3 = await connect(v3, ex);
    await db3.migrate();
    await db3.insertInto("users").values({ id: 6, name: "fay", city: "oslo", score: 7, note: null, big: 6, rank: 2.5 }).execute();
    const got = await db3.selectFrom("users").orderBy("id").execute();
    expect(got).toEqual([...afterV2.map((r) => ({ ...r, rank: 1.5 })), { id: 6, name: "fay", city: "oslo", score: 7, note: null, big: 6, rank: 2.5 }]);
    expect(await db3.selectFrom("users").where("score", "=", 7).orderBy("score").select(["id", "rank"]).execute()).toEqual([
      { id: 1, rank: 1.5 },
      { id: 3, rank: 1.5 },
      { id: 6, rank: 2.5 },
    ]);
    // Dropping a column still rewrites the rows: the filled cells become stored ones.
    const v4 = schema({
      namespace: "lz",
      tables: {
        users: table("users", { id: col.u64().key(), name: col.string(16), city: col.string(16), score: col.u32().default(7), rank: col.f64().default(1.5) }).index("by_score", ["score"]),
        posts: table("posts", { id: col.u64().key(), author: col.u64().references(() => usersV1, { name: "author", inverse: "posts" }), likes: col.u32() }),
      },
    });
    const db4 = await connect(v4, ex);
    await db4.migrate();
    expect(await db4.selectFrom("users").where("score", "=", 7).select(["id", "rank"]).orderBy("score").execute()).toEqual([
      { id: 1, rank: 1.5 },
      { id: 3, rank: 1.5 },
      { id: 6, rank: 2.5 },
    ]);
  });

  it("rolls a change back inside a session: the old table and its rows are back", async () => {
    const ex = await create();
    await loaded(ex);
    const rolledBack = new Error("roll back");
    const err = await (await connect(v2, ex))
      .session(async (s) => {
        await s.migrate();
        expect(await s.selectFrom("users").where("score", "=", 7).count().execute()).toBe(4);
        await s.insertInto("users").values({ id: 9, name: "zed", city: "rome", score: 7, note: null, big: 1 }).execute();
        expect(await s.selectFrom("users").where("score", "=", 7).count().execute()).toBe(5);
        throw rolledBack;
      })
      .catch((e: unknown) => e);
    expect(err).toBe(rolledBack);
    const old = await connect(v1, ex);
    expect(await old.selectFrom("users").orderBy("id").execute()).toEqual(before);
    expect(await old.selectFrom("users").where("id", "=", 3).execute()).toEqual([before[2]]);
    expect(await old.selectFrom("users").where("city", "=", "paris").count().execute()).toBe(2);
    // and it migrates afterwards
    const after = await connect(v2, ex);
    await after.migrate();
    expect(await after.selectFrom("users").where("id", "=", 4).execute()).toEqual([{ id: 4, name: "dee", city: "oslo", score: 7, note: null, big: BIG }]);
  });
});

describe("a durable store after columns were added without a rewrite", () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it("reopens with the new schema and the filled cells, and verifies", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tc-lazy-"));
    dirs.push(dir);
    let ex = embedded({ dataDir: dir });
    await loaded(ex);
    const db = await connect(v2, ex);
    await db.migrate();
    await db.updateTable("users").set({ score: 9, note: "set" }).where("id", "=", 2).execute();
    await db.deleteFrom("users").where("id", "=", 4).execute();
    await db.insertInto("users").values({ id: 5, name: "eve", city: "rome", score: 3, note: "new", big: 5 }).execute();
    await db.insertInto("posts").values({ id: 12, author: 5, likes: 1 }).execute();
    await ex.close();
    const report = await verifyDataDir(dir);
    expect(report.problems).toEqual([]);
    ex = embedded({ dataDir: dir });
    await checkV2(ex);
    expect(await (await connect(v2, ex)).migrate()).toMatchObject({ applied: false });
    // a second change after the reopen, then another reopen
    await (await connect(v3, ex)).migrate();
    await ex.close();
    expect((await verifyDataDir(dir)).problems).toEqual([]);
    ex = embedded({ dataDir: dir });
    const got = await (await connect(v3, ex)).selectFrom("users").orderBy("id").execute();
    expect(got).toEqual(afterV2.map((r) => ({ ...r, rank: 1.5 })));
    // Dropping columns rewrites the rows over the stored ones (same keys) and moves an index to
    // another ordinal: the store verifies and reads the same after a reopen.
    const v4 = schema({
      namespace: "lz",
      tables: {
        users: table("users", { id: col.u64().key(), name: col.string(16), city: col.string(16), score: col.u32().default(7), rank: col.f64().default(1.5) }).index("by_score", ["score"]),
        posts: table("posts", { id: col.u64().key(), author: col.u64().references(() => usersV1, { name: "author", inverse: "posts" }), likes: col.u32() }),
      },
    });
    await (await connect(v4, ex)).migrate();
    await ex.close();
    expect((await verifyDataDir(dir)).problems).toEqual([]);
    ex = embedded({ dataDir: dir });
    const db4 = await connect(v4, ex);
    const want = afterV2.map(({ id, name, city, score }) => ({ id, name, city, score, rank: 1.5 }));
    expect(await db4.selectFrom("users").orderBy("id").execute()).toEqual(want);
    expect(await db4.selectFrom("users").where("score", "=", 7).orderBy("score").select(["id"]).execute()).toEqual([{ id: 1 }, { id: 3 }]);
    await ex.close();
  });
});

describe("generated keys across a change that keeps the rows", () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it("never reuses a key of a deleted row, before and after a reopen", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tc-lazy-seq-"));
    dirs.push(dir);
    const a = schema({ namespace: "sq", tables: { t: table("t", { id: col.u64().key().autoIncrement(), name: col.string(8) }) } });
    const b = schema({ namespace: "sq", tables: { t: table("t", { id: col.u64().key().autoIncrement(), name: col.string(8), n: col.u32().default(1) }) } });
    let ex = embedded({ dataDir: dir });
    const db = await connect(a, ex);
    await db.sync();
    await db.insertInto("t").values([{ name: "a" }, { name: "b" }, { name: "c" }]).execute();
    await db.deleteFrom("t").where("id", "=", 3).execute();
    await ex.close();
    ex = embedded({ dataDir: dir });
    const db2 = await connect(b, ex);
    await db2.migrate();
    const [row] = await db2.insertInto("t").values({ name: "d", n: 2 }).returning(["id"]).execute();
    expect(row).toEqual({ id: 4 });
    await ex.close();
    ex = embedded({ dataDir: dir });
    expect(await (await connect(b, ex)).selectFrom("t").orderBy("id").execute()).toEqual([
      { id: 1, name: "a", n: 1 },
      { id: 2, name: "b", n: 1 },
      { id: 4, name: "d", n: 2 },
    ]);
    await ex.close();
  });
});
