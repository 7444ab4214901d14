/**
 * The `filter` and `sort` view route extensions against their core lowerings (a `fold` filter,
 * an insertion sort by `fold`): every case runs under both on every executor and must give the
 * same rows — and the rows a plain JS evaluation gives (SQL-like nulls, stable sort, nulls first
 * ascending). Also: `onConflict("update")` sets only the given columns.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Executor } from "../../src/executor.js";
import { BadRequestError } from "../../src/errors.js";
import { col, connect, schema, table, type OrmDb } from "../../src/orm/index.js";
import { WITH_CLUSTER } from "../support/executors.js";

const items = table("items", {
  id: col.u64().key(),
  name: col.string(16),
  n: col.i32().nullable(),
  score: col.f64(),
  tag: col.string(8).nullable(),
  flag: col.bool(),
  home: col.link().nullable(),
}).index("by_tag", ["tag"]);

const lw = schema({ namespace: "lowerings", tables: { items } });

type Item = { id: number; name: string; n: number | null; score: number; tag: string | null; flag: boolean; home: string | null };

const DATA: Item[] = Array.from({ length: 40 }, (_, k) => {
  const i = k + 1;
  return {
    id: i,
    name: `nm${(i * 7) % 10}`,
    n: i % 7 === 0 ? null : ((i * 37) % 11) - 5,
    score: ((i * 13) % 9) / 2,
    tag: i % 5 === 0 ? null : ["a", "b", "c"][i % 3]!,
    flag: i % 2 === 0,
    home: i % 4 === 0 ? null : `/state/x/${i % 3}`,
  };
});

type Op = "=" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "isNull" | "isNotNull";
type Pred = [keyof Item, Op, unknown?];

/** The SQL meaning of a predicate: a null cell passes only isNull. */
function holds(row: Item, [c, op, v]: Pred): boolean {
  const x = row[c];
  if (op === "isNull") return x === null;
  if (op === "isNotNull") return x !== null;
  if (x === null) return false;
  switch (op) {
    case "=":
      return x === v;
    case "!=":
      return x !== v;
    case "<":
      return (x as number) < (v as number);
    case "<=":
      return (x as number) <= (v as number);
    case ">":
      return (x as number) > (v as number);
    case ">=":
      return (x as number) >= (v as number);
    case "in":
      return (v as unknown[]).includes(x);
  }
}

const CASES: Pred[][] = [
  [["n", ">", 0]],
  [["n", "<=", 2], ["flag", "=", true]],
  [["n", "!=", 3]],
  [["score", ">=", 2]],
  [["n", "isNull"]],
  [["n", "isNotNull"], ["score", "<", 3]],
  [["name", "=", "nm3"]],
  [["name", "!=", "nm3"]],
  [["tag", "!=", "a"]],
  [["flag", "=", false]],
  [["n", "in", [1, 2, -3]]],
  [["name", "in", ["nm1", "nm2"]]],
  [["home", "=", "/state/x/1"]],
  [["home", "!=", "/state/x/1"], ["n", "<", 0]],
  [["tag", "in", ["a", "b"]], ["n", ">", 0]], // index lookups on by_tag, then the filter
  [["tag", "=", "b"], ["n", "<", 0]], // index range on by_tag, then the filter
  [["id", ">", 10], ["n", ">=", 0], ["score", "<=", 3]], // primary range, then the filter
];

const SORTS: { where: Pred[]; column: "n" | "score" | "id"; dir: "asc" | "desc"; limit?: number; offset?: number }[] = [
  { where: [], column: "n", dir: "asc" },
  { where: [], column: "n", dir: "desc" },
  { where: [], column: "score", dir: "desc", limit: 7, offset: 3 },
  { where: [["n", ">", -2]], column: "score", dir: "asc" },
  { where: [["tag", "=", "b"]], column: "n", dir: "desc", limit: 4 },
  { where: [["flag", "=", true], ["n", "isNotNull"]], column: "n", dir: "asc", offset: 2 },
  { where: [["tag", "isNull"]], column: "score", dir: "asc", limit: 3, offset: 1 },
];

/** Stable sort in id order (the source order), nulls first ascending, last descending. */
function expectedSort(rows: Item[], column: keyof Item, dir: "asc" | "desc"): Item[] {
  const sign = dir === "desc" ? -1 : 1;
  const rank = (v: unknown): number => (v === null ? -Infinity : (v as number));
  return [...rows].sort((a, b) => {
    const x = rank(a[column]);
    const y = rank(b[column]);
    return x === y ? 0 : sign * (x < y ? -1 : 1);
  });
}

type Db = OrmDb<typeof lw>;

function select(db: Db, where: Pred[]) {
  let q = db.selectFrom("items");
  for (const [c, op, v] of where) {
    q = op === "isNull" || op === "isNotNull" ? q.where(c as "n", op) : q.where(c as "n", op as "=", v as number);
  }
  return q;
}

describe.each(WITH_CLUSTER)("filter and sort lowerings on $name", (factory) => {
  let executor: Executor;
  let ext: Db;
  let core: Db;

  beforeAll(async () => {
    executor = await factory.create();
    ext = await connect(lw, executor);
    core = ext.withOptions({ filter: "core", sort: "core" });
    await ext.sync();
    await ext.insertInto("items").values(DATA).execute();
  });
  afterAll(async () => {
    await executor.close();
    await factory.cleanup?.();
  });

  it("filters: the filter route and the core fold give the same rows as SQL semantics", async () => {
    for (const where of CASES) {
      const expected = DATA.filter((r) => where.every((p) => holds(r, p)));
      const a = select(ext, where);
      const b = select(core, where);
      expect(a.explain().filter, JSON.stringify(where)).toBe("filter route (extension)");
      expect(b.explain().filter).toBe("fold (core)");
      const ra = await a.execute();
      // Index lookups (`in` on an indexed column) return rows in list order; others in id order.
      expect([...ra].sort((x, y) => x.id - y.id), JSON.stringify(where)).toEqual(expected);
      expect(await b.execute()).toEqual(ra);
      expect(await a.count().execute()).toBe(expected.length);
      expect(await b.count().execute()).toBe(expected.length);
      const page = await a.limit(3).offset(2).select(["id", "n"]).execute();
      expect(page).toEqual(ra.slice(2, 5).map((r) => ({ id: r.id, n: r.n })));
      expect(await b.limit(3).offset(2).select(["id", "n"]).execute()).toEqual(page);
    }
  });

  it("`in` on the key: the listed rows in key order under both lowerings (duplicates and missing keys ignored)", async () => {
    const lists: { ids: number[]; more?: Pred }[] = [
      { ids: [30, 4, 17, 4, 99] },
      { ids: [12, 3, 40, 3], more: ["flag", "=", true] },
      // A second list on the key: the lookup reads the first, the second is still tested.
      { ids: [5, 6, 7, 8], more: ["id", "in", [6, 8, 9]] },
      { ids: [] },
      { ids: [1000, 2000] },
    ];
    for (const { ids, more } of lists) {
      const where: Pred[] = [["id", "in", ids], ...(more ? [more] : [])];
      const expected = DATA.filter((r) => where.every((p) => holds(r, p)));
      expect(select(ext, where).explain().access).toBe("index lookups");
      expect(await select(ext, where).execute(), JSON.stringify(where)).toEqual(expected);
      expect(await select(core, where).execute(), JSON.stringify(where)).toEqual(expected);
      expect(await select(ext, where).count().execute()).toBe(expected.length);
      expect(await select(ext, where).limit(1).offset(1).execute()).toEqual(expected.slice(1, 2));
    }
  });

  it("filters in a batch and in a session the same way", async () => {
    const where = CASES[1]!;
    const [x, y] = await ext.batch([select(ext, where), select(core, where)]);
    expect(x).toEqual(y);
    await ext.session(async (s) => {
      expect(await select(s, where).execute()).toEqual(x);
      expect(await select(s.withOptions({ filter: "core" }), where).execute()).toEqual(x);
    });
  });

  it("sorts: the sort route and the core insertion sort agree (stable, nulls first ascending), after filter, before offset/limit", async () => {
    for (const s of SORTS) {
      const rows = DATA.filter((r) => s.where.every((p) => holds(r, p)));
      const sorted = expectedSort(rows, s.column, s.dir);
      const start = s.offset ?? 0;
      const expected = sorted.slice(start, s.limit === undefined ? undefined : start + s.limit);
      const build = (db: Db) => {
        let q = select(db, s.where).orderBy(s.column, s.dir);
        if (s.limit !== undefined) q = q.limit(s.limit);
        if (s.offset !== undefined) q = q.offset(s.offset);
        return q;
      };
      const a = build(ext);
      const label = JSON.stringify(s);
      // A page (limit/offset) of an unserved order comes from the query route (top-k with a limit).
      expect(a.explain().order, label).toMatch(s.limit !== undefined || s.offset !== undefined ? /then primary key asc/ : /sort route \(extension\)/);
      expect(build(core).explain().order).toMatch(/insertion sort \(core\)/);
      // A core filter forces the core sort (the rows are a tuple by then).
      expect(await a.execute(), label).toEqual(expected);
      expect(await build(core).execute(), label).toEqual(expected);
      expect(await build(ext.withOptions({ filter: "core" })).execute(), label).toEqual(expected);
      expect(await build(ext.withOptions({ sort: "core" })).execute(), label).toEqual(expected);
    }
  });

  it("uses the order route when an index serves the order, and sorts strings only by the extension", async () => {
    expect(ext.selectFrom("items").where("n", ">", 0).orderBy("tag").explain()).toMatchObject({ order: "tag asc (order route on by_tag)", filter: "filter route (extension)" });
    const byName = await ext.selectFrom("items").orderBy("name").select(["id", "name"]).execute();
    const expected = [...DATA].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((r) => ({ id: r.id, name: r.name }));
    expect(byName).toEqual(expected);
    expect(() => core.selectFrom("items").orderBy("name").compile()).toThrow(BadRequestError);
    const served = await ext.selectFrom("items").where("n", ">", 0).orderBy("tag", "desc").execute();
    // Ties come by key ascending, as without the index.
    expect(served.map((r) => r.id)).toEqual(
      expectedSort(DATA.filter((r) => r.n !== null && r.n > 0), "id", "asc")
        .sort((x, y) => (x.tag === y.tag ? 0 : x.tag === null ? 1 : y.tag === null ? -1 : x.tag < y.tag ? 1 : -1))
        .map((r) => r.id),
    );
    // The core lowering reads the index forwards and puts the runs of equal tags in reverse (a
    // string order has no core sort): the same rows in the same order, ties by key ascending.
    const coreServed = await core.selectFrom("items").where("n", ">", 0).orderBy("tag", "desc").execute();
    expect(coreServed).toEqual(served);
    for (const db of [core, ext.withOptions({ sort: "core" })]) {
      const page = await db.selectFrom("items").orderBy("tag", "desc").offset(3).limit(12).select(["id", "tag"]).execute();
      const all = await ext.selectFrom("items").orderBy("tag", "desc").select(["id", "tag"]).execute();
      expect(page).toEqual(all.slice(3, 15));
      expect(await db.selectFrom("items").orderBy("tag", "desc").execute()).toEqual(await ext.selectFrom("items").orderBy("tag", "desc").execute());
    }
  });

  it("streams a filtered, sorted query in pages with the same rows as execute()", async () => {
    const q = ext.selectFrom("items").where("n", "!=", 0).orderBy("score", "desc").offset(1).limit(25);
    const all = await q.execute();
    const streamed: unknown[] = [];
    for await (const row of q.stream(undefined, { pageSize: 4 })) streamed.push(row);
    expect(streamed).toEqual(all);
    expect(all.length).toBe(25);
  });

  it("sorts strings by code point, like the indexes (U+FFFF before U+1F600)", async () => {
    const extra = [
      { id: 1001, name: "😀", score: 0, flag: true },
      { id: 1002, name: "\uFFFF", score: 0, flag: true },
      { id: 1003, name: "a", score: 0, flag: true },
    ];
    await ext.insertInto("items").values(extra).execute();
    const got = await ext.selectFrom("items").where("id", ">", 1000).orderBy("name", "desc").select(["name"]).execute();
    expect(got.map((r) => r.name)).toEqual(["😀", "\uFFFF", "a"]);
    expect(await ext.deleteFrom("items").where("id", ">", 1000).execute()).toBe(3);
  });

  it("the routes refuse bad keys with a BadRequestError and chain like other views", async () => {
    const run = (steps: [string, unknown][]) => executor.execute({ "/state/scalar/op/post": steps } as never, {});
    const t = "/state/lowerings/items";
    for (const key of [[["nope", "=", 1]], [["n", "~", 1]], [["n", "=", null]], [["n", "<", "x"]], [["n", "in", 3]], "n", [["n"]]]) {
      await expect(run([["_r", { [`${t}/filter`]: [key] }]]), JSON.stringify(key)).rejects.toBeInstanceOf(BadRequestError);
    }
    for (const key of [[["n"]], [[], false], [["nope"], true], "n"]) {
      await expect(run([["_r", { [`${t}/sort`]: [key] }]]), JSON.stringify(key)).rejects.toBeInstanceOf(BadRequestError);
    }
    await expect(run([["_p", { [`${t}/select`]: [["id"]] }], ["_r", { "$_p/filter": [[["n", ">", 0]]] }]])).rejects.toThrow(/not selected/);
    await expect(run([["_f", { [`${t}/filter`]: [[["n", ">", 0]]] }], ["_r", { "$_f/order": [[["id"], false]] }]])).rejects.toThrow(/use sort/);
    const chained = await run([
      ["_f", { [`${t}/filter`]: [[["n", ">", 0]]] }],
      ["_s", { "$_f/sort": [[["score", "id"], true]] }],
      ["_g", { "$_s/filter": [[["flag", "=", true]]] }],
      ["_l", { "$_g/limit": [3] }],
      ["_p", { "$_l/select": [["id"]] }],
      ["_r", [{ "$_p/rows": [null] }, { "$_g/count": [null] }, { "$_l/is_empty": [null] }]],
    ]);
    const want = expectedSort(
      DATA.filter((r) => r.n !== null && r.n > 0 && r.flag).sort((x, y) => y.id - x.id),
      "score",
      "desc",
    );
    expect(chained).toEqual([want.slice(0, 3).map((r) => [r.id]), want.length, false]);
  });

  it("updates and deletes through a filter the same way under both lowerings", async () => {
    const snapshots: unknown[] = [];
    for (const db of [ext, core]) {
      await db.deleteFrom("items").execute();
      await db.insertInto("items").values(DATA).execute();
      const u = db.updateTable("items").set({ score: 99 }).where("n", ">", 2).where("flag", "=", true);
      expect(u.explain().filter).toBe(db === ext ? "filter route (extension)" : "fold (core)");
      expect(await u.execute()).toBe(DATA.filter((r) => r.n !== null && r.n > 2 && r.flag).length);
      expect(await db.deleteFrom("items").where("tag", "!=", "a").execute()).toBe(DATA.filter((r) => r.tag !== null && r.tag !== "a").length);
      snapshots.push(await db.selectFrom("items").execute());
    }
    expect(snapshots[0]).toEqual(snapshots[1]);
    expect((snapshots[0] as Item[]).map((r) => r.id)).toEqual(DATA.filter((r) => r.tag === null || r.tag === "a").map((r) => r.id));
    await ext.deleteFrom("items").execute();
    await ext.insertInto("items").values(DATA).execute();
  });

  it("onConflict(\"update\") sets only the given columns; a new key is inserted with defaults", async () => {
    const before = DATA[2]!;
    expect(await ext.insertInto("items").values({ id: before.id, name: "renamed", score: 1, flag: before.flag }).onConflict("update").execute()).toBe(1);
    // Explicit null is a given value; n, tag and home were not given and keep their values.
    expect(await ext.insertInto("items").values([{ id: 4, name: "four", score: 2, flag: true, tag: null }, { id: 900, name: "new", score: 5, flag: false }]).onConflict("update").execute()).toBe(2);
    const rows = await ext.selectFrom("items").whereIn("id", [before.id, 4, 900]).execute();
    expect(rows).toEqual([
      { ...before, name: "renamed", score: 1 },
      { ...DATA[3]!, name: "four", score: 2, flag: true, tag: null },
      { id: 900, name: "new", n: null, score: 5, tag: null, flag: false, home: null },
    ]);
    // The core bulk lowering does the same.
    await ext.withOptions({ bulkInsert: "core" }).insertInto("items").values([{ id: 900, name: "again", score: 6, flag: true }, { id: 5, name: "five", score: 0, flag: true }]).onConflict("update").execute();
    expect(await ext.selectFrom("items").whereIn("id", [5, 900]).select(["id", "name", "n", "home"]).execute()).toEqual([
      { id: 5, name: "five", n: DATA[4]!.n, home: DATA[4]!.home },
      { id: 900, name: "again", n: null, home: null },
    ]);
  });
});

describe("sort lowerings on random small inputs", () => {
  const nums = table("nums", { id: col.u64().key(), v: col.i32().nullable(), w: col.f64() });
  const ns = schema({ namespace: "sortprop", tables: { nums } });

  it("the sort route and the core insertion sort give identical results", async () => {
    const executor = await WITH_CLUSTER[0]!.create();
    try {
      const db = await connect(ns, executor);
      await db.sync();
      const core = db.withOptions({ sort: "core" });
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.record({ id: fc.integer({ min: 0, max: 200 }), v: fc.option(fc.integer({ min: -3, max: 3 })), w: fc.double({ min: -5, max: 5, noNaN: true }) }), { selector: (r) => r.id, maxLength: 12 }),
          fc.constantFrom("v" as const, "w" as const),
          fc.boolean(),
          async (rows, column, desc) => {
            await db.deleteFrom("nums").execute();
            if (rows.length) await db.insertInto("nums").values(rows.map((r) => ({ ...r, w: r.w === 0 ? 0 : r.w }))).execute();
            const dir = desc ? "desc" : "asc";
            const a = await db.selectFrom("nums").orderBy(column, dir).execute();
            const b = await core.selectFrom("nums").orderBy(column, dir).execute();
            expect(b).toEqual(a);
            const inKeyOrder = [...a].sort((x, y) => x.id - y.id);
            expect(a).toEqual(expectedSort(inKeyOrder as unknown as Item[], column as keyof Item, dir));
          },
        ),
        { numRuns: 25 },
      );
    } finally {
      await executor.close();
      await WITH_CLUSTER[0]!.cleanup?.();
    }
  });
});
