/**
 * The builder suite, run once per executor (embedded memory, embedded durable, http when it
 * lands): declarations → sync → inserts → every select shape → updates/deletes → batch/session.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Executor } from "../../src/executor.js";
import { BadRequestError, ConflictError, NotFoundError } from "../../src/errors.js";
import { decodeOpDef, param } from "../../src/ir/index.js";
import { col, connect, schema, table, type OrmDb } from "../../src/orm/index.js";
import { WITH_CLUSTER } from "../support/executors.js";
import { PEOPLE, social } from "./fixtures/social.js";

const ids = (rows: readonly { id: number }[]): number[] => rows.map((r) => r.id);

describe.each(WITH_CLUSTER)("ORM builders on $name", (factory) => {
  let executor: Executor;
  let db: OrmDb<typeof social>;

  beforeAll(async () => {
    executor = await factory.create();
    db = await connect(social, executor);
    expect(await db.sync()).toEqual({ created: ["users", "follows", "posts"], unchanged: [] });
    expect(await db.insertInto("users").values([...PEOPLE]).execute()).toBe(6);
  });
  afterAll(async () => {
    await executor.close();
    await factory.cleanup?.();
  });

  describe("select", () => {
    it("returns all rows in key order with defaults applied and nulls kept", async () => {
      const rows = await db.selectFrom("users").execute();
      expect(ids(rows)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(rows[0]).toEqual({ id: 1, name: "ada", age: 36, city: "paris", active: true });
      expect(rows[2]!.age).toBeNull();
      expect(rows[3]!.active).toBe(false);
    });

    it("looks a row up by key, with a value or a parameter", async () => {
      const q = db.selectFrom("users").where("id", "=", 2);
      expect(q.explain().access).toBe("key lookup");
      expect(await q.execute()).toEqual([{ id: 2, name: "bob", age: 17, city: "rome", active: true }]);
      const p = db.selectFrom("users").where("id", "=", param("me"));
      expect(p.compile().params).toEqual(["me"]);
      expect(ids(await p.execute({ me: 5 }))).toEqual([5]);
      expect(await p.execute({ me: 99 })).toEqual([]);
    });

    it("serves an equality prefix and a range from one index, in that index's order", async () => {
      const q = db.selectFrom("users").where("city", "=", "rome").where("age", ">=", 18);
      expect(q.explain()).toMatchObject({ access: "index range", index: "by_city", served: ["city = ?", "age >= ?"], filtered: [] });
      expect(ids(await q.execute())).toEqual([5, 6]);
    });

    it("filters what no index serves, after the best range", async () => {
      const q = db.selectFrom("users").where("city", "=", "rome").where("name", "!=", "bob");
      expect(q.explain()).toMatchObject({ index: "by_city", served: ["city = ?"], filtered: ["name != ?"] });
      expect(ids(await q.execute())).toEqual([5, 6]);
      const scan = db.selectFrom("users").where("active", "=", false);
      expect(scan.explain()).toMatchObject({ access: "full scan", filtered: ["active = ?"] });
      expect(ids(await scan.execute())).toEqual([4]);
    });

    it("supports every operator", async () => {
      const run = async (q: { execute(): Promise<{ id: number }[]> }) => ids(await q.execute()).sort((a, b) => a - b);
      const u = () => db.selectFrom("users");
      expect(await run(u().where("age", "=", 30))).toEqual([6]);
      expect(await run(u().where("age", "!=", 30))).toEqual([1, 2, 4, 5]);
      expect(await run(u().where("age", "<", 21))).toEqual([2]);
      expect(await run(u().where("age", "<=", 21))).toEqual([2, 5]);
      expect(await run(u().where("age", ">", 36))).toEqual([4]);
      expect(await run(u().where("age", ">=", 36))).toEqual([1, 4]);
      expect(await run(u().where("name", "in", ["bob", "fay", "zed"]))).toEqual([2, 6]);
      expect(await run(u().whereIn("id", [1, 3]))).toEqual([1, 3]);
      expect(await run(u().where("age", "isNull"))).toEqual([3]);
      expect(await run(u().where("age", "isNotNull"))).toEqual([1, 2, 4, 5, 6]);
      // Filtered (not index-served) comparisons on a nullable column never match null.
      expect(await run(u().where("name", "!=", "x").where("age", "<", 30))).toEqual([2, 5]);
    });

    it("serves `in` on an indexed column by one index range per value", async () => {
      const q = db.selectFrom("users").where("id", "in", [5, 1, 5, 42]).where("active", "=", true);
      expect(q.explain()).toMatchObject({ access: "index lookups", index: "primary", served: ["id in ?"], filtered: ["active = ?"] });
      expect(ids(await q.execute())).toEqual([1, 5]); // key order, as a scan gives it
      const byParam = db.selectFrom("users").where("city", "in", param("cities")).select(["id"]);
      expect(byParam.explain().index).toBe("by_city");
      expect(ids(await byParam.execute({ cities: ["oslo", "rome", "oslo"] })).sort()).toEqual([2, 4, 5, 6]);
      expect(await db.selectFrom("users").where("id", "in", [1, 2, 3]).count().execute()).toBe(3);
      // A write with `in` never uses lookups: it filters, and touches only the listed rows.
      expect(await db.updateTable("users").set({ active: true }).where("id", "in", [4]).execute()).toBe(1);
      expect(await db.updateTable("users").set({ active: false }).where("id", "in", [4]).execute()).toBe(1);
      expect(ids(await db.selectFrom("users").where("active", "=", false).execute())).toEqual([4]);
    });

    it("serves `in` on the leading column of a composite key in key order", async () => {
      await db.insertInto("follows").values([
        { follower: 7, followee: 3 }, { follower: 7, followee: 1 }, { follower: 9, followee: 2 }, { follower: 8, followee: 5 },
      ]).execute();
      const q = db.selectFrom("follows").where("follower", "in", [9, 7, 11, 7]);
      expect(q.explain().access).toBe("index lookups");
      expect(await q.execute()).toEqual([
        { follower: 7, followee: 1 }, { follower: 7, followee: 3 }, { follower: 9, followee: 2 },
      ]);
      expect(await q.where("followee", ">", 1).count().execute()).toBe(2);
      await db.deleteFrom("follows").where("follower", "in", [7, 8, 9]).execute();
    });

    it("binds named list and limit parameters", async () => {
      const q = db.selectFrom("users").where("name", "in", param("names")).limit(param("n"));
      expect(q.compile().params).toEqual(["n", "names"]);
      expect(ids(await q.execute({ names: ["ada", "cy", "fay"], n: 2 }))).toEqual([1, 3]);
      await expect(q.execute({ names: ["ada"] })).rejects.toThrow(/missing argument for parameter n/);
      await expect(q.execute({ names: [1], n: 1 })).rejects.toBeInstanceOf(BadRequestError);
      await expect(q.execute({ names: [], n: 1, extra: 1 })).rejects.toThrow(/unknown argument "extra"/);
    });

    it("orders by an index, both directions, with limit and offset", async () => {
      const q = db.selectFrom("users").where("age", ">=", 18).orderBy("age", "desc").limit(3).select(["id", "name"]);
      expect(await q.execute()).toEqual([
        { id: 4, name: "dee" },
        { id: 1, name: "ada" },
        { id: 6, name: "fay" },
      ]);
      expect(ids(await db.selectFrom("users").where("age", ">", 0).orderBy("age").offset(1).limit(2).execute())).toEqual([5, 6]);
      expect(ids(await db.selectFrom("users").where("city", "=", "rome").orderBy("age", "desc").execute())).toEqual([6, 5, 2]);
      expect(ids(await db.selectFrom("users").orderBy("id", "desc").limit(2).execute())).toEqual([6, 5]);
      expect(ids(await db.selectFrom("users").where("name", "!=", "ada").orderBy("id").offset(2).limit(2).execute())).toEqual([4, 5]);
    });

    it("sorts by an order no index serves (sort extension); the core lowering refuses a string column, naming the index", async () => {
      // With a limit, the page is the query route's top-k (a bounded heap, ties by key ascending).
      const q = db.selectFrom("users").orderBy("name", "desc").limit(2).offset(1);
      expect(q.explain()).toMatchObject({ route: "query route (extension)", order: "users.name desc, then primary key asc (top-k: a bounded heap)" });
      expect(db.selectFrom("users").orderBy("name", "desc").explain().order).toBe("name desc (sort route (extension))");
      expect(ids(await q.execute())).toEqual([5, 4]);
      const core = db.withOptions({ sort: "core" }).selectFrom("users").orderBy("name");
      expect(() => core.compile()).toThrow(BadRequestError);
      expect(() => core.compile()).toThrow(/index\("by_name", \["name"\]\)/);
    });

    it("projects columns and counts", async () => {
      expect(await db.selectFrom("users").where("id", "=", 1).select(["name", "city"]).execute()).toEqual([{ name: "ada", city: "paris" }]);
      // The select route keeps the requested column order.
      expect(await db.selectFrom("users").where("age", ">", 30).select(["age", "id"]).execute()).toEqual([
        { age: 36, id: 1 },
        { age: 50, id: 4 },
      ]);
      expect(await db.selectFrom("users").count().execute()).toBe(6);
      expect(await db.selectFrom("users").where("city", "=", "rome").count().execute()).toBe(3);
      expect(await db.selectFrom("users").where("name", "!=", "ada").count().execute()).toBe(5);
      expect(await db.selectFrom("users").where("id", "=", 4).count().execute()).toBe(1);
    });

    it("takes the first row, or throws NotFoundError", async () => {
      // by_city orders by (city, age): the null age of cy comes first.
      expect((await db.selectFrom("users").where("city", "=", "paris").executeTakeFirst())?.id).toBe(3);
      expect(await db.selectFrom("users").where("city", "=", "lima").executeTakeFirst()).toBeUndefined();
      await expect(db.selectFrom("users").where("city", "=", "lima").executeTakeFirstOrThrow()).rejects.toBeInstanceOf(NotFoundError);
    });

    it("streams page by page", async () => {
      const seen: number[] = [];
      for await (const row of db.selectFrom("users").stream(undefined, { pageSize: 2 })) seen.push(row.id);
      expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
      const some: number[] = [];
      for await (const row of db.selectFrom("users").where("name", "!=", "bob").offset(1).limit(3).stream({}, { pageSize: 2 })) some.push(row.id);
      expect(some).toEqual([3, 4, 5]);
    });

    it("streams by key ranges when the query reads the primary index, else by offsets", async () => {
      const ops: string[] = [];
      const recording: Executor = { ...executor, execute: (op, args) => (ops.push(JSON.stringify(op)), executor.execute(op, args)), request: (r) => executor.request(r), session: () => executor.session(), close: async () => {} };
      const rdb = await connect(social, recording);
      const got: number[] = [];
      for await (const row of rdb.selectFrom("users").where("active", "=", true).stream({}, { pageSize: 2 })) got.push(row.id);
      expect(got).toEqual([1, 2, 3, 5, 6]);
      expect(ops).toHaveLength(3);
      expect(ops[1]).toContain('"/state/social/users":[[["id",[["ex",');
      ops.length = 0;
      const byAge: number[] = [];
      for await (const row of rdb.selectFrom("users").where("age", ">", 0).orderBy("age").stream({}, { pageSize: 4 })) byAge.push(row.id);
      expect(byAge).toEqual([2, 5, 6, 1, 4]);
      expect(ops[1]).toContain("/slice");
    });

    it("compiles to valid IR and never puts values in the op", () => {
      const a = db.selectFrom("users").where("city", "=", "rome").where("age", ">", 18).limit(5).compile();
      const b = db.selectFrom("users").where("city", "=", "oslo").where("age", ">", 99).limit(7).compile();
      expect(a.op).toEqual(b.op);
      expect(Object.values(a.bound).sort()).toEqual([18, 5, "rome"].sort());
      expect(() => decodeOpDef(a.op)).not.toThrow();
      expect(JSON.stringify(a.op)).not.toContain("rome");
    });

    it("rejects bad input with typed errors before running anything", () => {
      const u = db.selectFrom("users") as unknown as { where(...a: unknown[]): unknown; select(c: unknown): unknown; limit(n: unknown): unknown };
      expect(() => u.where("nope", "=", 1)).toThrow(/unknown column "nope"/);
      expect(() => u.where("age", "~", 1)).toThrow(/unknown operator/);
      expect(() => u.where("age", "=", "x")).toThrow(BadRequestError);
      expect(() => u.where("age", "=", null)).toThrow(/isNull/);
      expect(() => u.where("active", "<", true)).toThrow(/does not apply to bool/);
      expect(() => u.select(["id", "zzz"])).toThrow(/unknown column "zzz"/);
      expect(() => u.limit(-1)).toThrow(BadRequestError);
      expect(() => db.selectFrom("nope" as "users")).toThrow(/unknown table "nope"/);
      expect(() => db.selectFrom("users").where("id", "=", param("_0")).compile()).toThrow(BadRequestError);
    });
  });

  describe("insert", () => {
    it("validates rows with zod, naming table, column and problem", () => {
      const ins = db.insertInto("users") as unknown as { values(v: unknown): unknown };
      expect(() => ins.values({ id: 7, name: "x".repeat(65) })).toThrow(/insert into social\/users: column name:/);
      expect(() => ins.values({ id: -1, name: "x" })).toThrow(/column id:/);
      // Lengths count characters (code points), as the tables do: 64 non-BMP characters fit.
      expect(() => ins.values({ id: 7, name: "😀".repeat(64) })).not.toThrow();
      expect(() => ins.values({ id: 7, name: "😀".repeat(65) })).toThrow(/at most 64 characters/);
      expect(() => ins.values({ id: 2 ** 53, name: "x" })).toThrow(/column id:/);
      expect(() => ins.values({ id: 7, name: "x", nope: 1 })).toThrow(/unknown column\(s\) "nope"/);
      expect(() => ins.values({ name: "x" })).toThrow(/column id:/);
      expect(() => ins.values([{ id: 7, name: "ok" }, { id: 8, name: 5 }])).toThrow(/\(row 1\): column name/);
      expect(() => ins.values([])).toThrow(BadRequestError);
    });

    it("refuses an existing key and writes nothing of the batch", async () => {
      await expect(db.insertInto("users").values({ id: 1, name: "again" }).execute()).rejects.toBeInstanceOf(ConflictError);
      await expect(db.insertInto("users").values([{ id: 7, name: "new" }, { id: 2, name: "dup" }]).execute()).rejects.toBeInstanceOf(ConflictError);
      expect(await db.selectFrom("users").where("id", "=", 7).execute()).toEqual([]);
    });

    it("ignores or updates existing keys on request", async () => {
      expect(await db.insertInto("users").values([{ id: 1, name: "x" }, { id: 7, name: "gil", age: 40 }]).onConflict("ignore").execute()).toBe(1);
      expect((await db.selectFrom("users").where("id", "=", 1).executeTakeFirstOrThrow()).name).toBe("ada");
      expect(await db.insertInto("users").values({ id: 7, name: "gil2", age: 41, active: false }).onConflict("update").execute()).toBe(1);
      // Only the given columns change on an existing row (active keeps false); a new row gets defaults.
      expect(await db.insertInto("users").values([{ id: 7, name: "gil3", age: 42 }, { id: 8, name: "hal" }]).onConflict("update").execute()).toBe(2);
      const rows = await db.selectFrom("users").where("id", ">=", 7).execute();
      expect(rows).toEqual([
        { id: 7, name: "gil3", age: 42, city: "nowhere", active: false },
        { id: 8, name: "hal", age: null, city: "nowhere", active: true },
      ]);
    });

    it("gives the core lowering and the insert_rows extension the same table", async () => {
      const rows = [
        { id: 100, author: 1, lang: "en" },
        { id: 101, author: 2, lang: "fr", reviewer: 1, parent: 100 },
      ];
      const core = db.withOptions({ bulkInsert: "core" });
      expect(JSON.stringify(db.insertInto("posts").values(rows).compile().op)).toContain("/insert_rows");
      expect(JSON.stringify(core.insertInto("posts").values(rows).compile().op)).not.toContain("/insert_rows");
      expect(await db.insertInto("posts").values(rows).execute()).toBe(2);
      const viaExtension = await db.selectFrom("posts").execute();
      expect(await db.deleteFrom("posts").execute()).toBe(2);
      expect(await core.insertInto("posts").values(rows).execute()).toBe(2);
      expect(await db.selectFrom("posts").execute()).toEqual(viaExtension);
      expect(viaExtension[1]).toEqual({ id: 101, author: 2, reviewer: 1, lang: "fr", score: 0, parent: 100 });
      // Both refuse an existing key and write none of the rows.
      for (const d of [db, core]) {
        await expect(d.insertInto("posts").values([{ id: 102, author: 1, lang: "de" }, { id: 100, author: 1, lang: "de" }]).execute()).rejects.toBeInstanceOf(ConflictError);
        expect(await d.selectFrom("posts").count().execute()).toBe(2);
      }
    });
  });

  describe("update and delete", () => {
    it("updates through an index range or a filter and reports the count", async () => {
      expect(await db.updateTable("users").set({ city: "nice" }).where("id", "=", 8).execute()).toBe(1);
      expect(await db.updateTable("users").set({ age: 43 }).where("name", "=", "gil3").execute()).toBe(1);
      expect(await db.updateTable("users").set({ active: false }).where("city", "=", "nice").execute()).toBe(1);
      const rows = await db.selectFrom("users").where("id", ">=", 7).select(["id", "age", "city", "active"]).execute();
      expect(rows).toEqual([
        { id: 7, age: 43, city: "nowhere", active: false },
        { id: 8, age: null, city: "nice", active: false },
      ]);
    });

    it("validates set() and refuses key columns", () => {
      const up = db.updateTable("users") as unknown as { set(v: unknown): unknown };
      expect(() => up.set({ id: 3 })).toThrow(/key column/);
      expect(() => up.set({ age: "old" })).toThrow(/update social\/users: column age/);
      expect(() => db.updateTable("users").where("id", "=", 1).compile()).toThrow(/set\(/);
    });

    it("deletes through a range or a filter and reports the count", async () => {
      expect(await db.deleteFrom("users").where("name", "=", "gil3").execute()).toBe(1);
      expect(await db.deleteFrom("users").where("id", "=", 8).execute()).toBe(1);
      expect(await db.deleteFrom("users").where("id", "=", 8).execute()).toBe(0);
      expect(ids(await db.selectFrom("users").execute())).toEqual([1, 2, 3, 4, 5, 6]);
    });
  });

  describe("batch and session", () => {
    it("runs a batch as one op and returns results in order", async () => {
      const [n, rows, count] = await db.batch([
        db.insertInto("follows").values([{ follower: 1, followee: 2 }, { follower: 2, followee: 1 }]),
        db.selectFrom("follows").where("followee", "=", param("who")),
        db.selectFrom("follows").count(),
      ], { who: 1 });
      expect(n).toBe(2);
      expect(rows).toEqual([{ follower: 2, followee: 1 }]);
      expect(count).toBe(2);
    });

    it("sends one op object for batches of the same statement shapes, each with its own values", async () => {
      const sent: unknown[] = [];
      const spy = new Proxy(executor, {
        get(target, key) {
          const v = Reflect.get(target, key) as unknown;
          if (key !== "execute" || typeof v !== "function") return typeof v === "function" ? v.bind(target) : v;
          return (op: unknown, args?: unknown) => {
            sent.push(op);
            return (v as (op: unknown, args?: unknown) => Promise<unknown>).call(target, op, args);
          };
        },
      });
      const spied = await connect(social, spy as Executor);
      const pair = (a: number, b: number) => spied.batch([spied.selectFrom("follows").where("follower", "=", a), spied.selectFrom("follows").where("followee", "=", b).count()]);
      expect(await pair(1, 1)).toEqual([[{ follower: 1, followee: 2 }], 1]);
      expect(await pair(2, 2)).toEqual([[{ follower: 2, followee: 1 }], 1]);
      expect(await pair(3, 3)).toEqual([[], 0]);
      await spied.batch([spied.selectFrom("follows").where("followee", "=", 1).count(), spied.selectFrom("follows").where("follower", "=", 1)]);
      expect(sent).toHaveLength(4);
      expect(sent[1]).toBe(sent[0]);
      expect(sent[2]).toBe(sent[0]);
      expect(sent[3]).not.toBe(sent[0]);
    });

    it("rolls a whole batch back when one statement fails", async () => {
      await expect(
        db.batch([db.insertInto("follows").values({ follower: 3, followee: 1 }), db.insertInto("follows").values({ follower: 1, followee: 2 })]),
      ).rejects.toBeInstanceOf(ConflictError);
      expect(await db.selectFrom("follows").count().execute()).toBe(2);
    });

    it("commits a session when the callback returns, rolls back when it throws", async () => {
      const got = await db.session(async (s) => {
        await s.insertInto("follows").values({ follower: 5, followee: 6 }).execute();
        return s.selectFrom("follows").count().execute();
      });
      expect(got).toBe(3);
      await expect(
        db.session(async (s) => {
          await s.insertInto("follows").values({ follower: 6, followee: 5 }).execute();
          throw new Error("changed my mind");
        }),
      ).rejects.toThrow("changed my mind");
      expect(await db.selectFrom("follows").count().execute()).toBe(3);
    });
  });

  describe("unique columns", () => {
    const accounts = table("accounts", { id: col.u64().key(), email: col.string(64).unique(), nick: col.string(16).nullable().unique() });
    const uniq = schema({ namespace: "uniq", tables: { accounts } });

    it("refuses a repeated value on insert and update, writing nothing; nulls may repeat", async () => {
      const u = await connect(uniq, executor);
      await u.sync();
      expect(uniq.meta("accounts").indexes.map((i) => i.name)).toEqual(["unique_email", "unique_nick"]);
      await u.insertInto("accounts").values([{ id: 1, email: "a@x" }, { id: 2, email: "b@x" }, { id: 3, email: "c@x" }]).execute();
      const conflict = async (p: Promise<unknown>) => {
        const e = await p.catch((x: unknown) => x);
        expect(e).toBeInstanceOf(ConflictError);
        expect((e as Error).message).toMatch(/column email is unique/);
      };
      await conflict(u.insertInto("accounts").values({ id: 4, email: "a@x" }).execute());
      await conflict(u.insertInto("accounts").values([{ id: 4, email: "d@x" }, { id: 5, email: "d@x" }]).execute());
      await conflict(u.insertInto("accounts").values([{ id: 6, email: "e@x" }, { id: 1, email: "b@x" }]).onConflict("update").execute());
      await conflict(u.updateTable("accounts").set({ email: "c@x" }).where("id", "=", 1).execute());
      await conflict(u.updateTable("accounts").set({ email: "z@x" }).where("id", ">", 1).execute());
      await conflict(u.batch([u.insertInto("accounts").values({ id: 9, email: "y@x" }), u.insertInto("accounts").values({ id: 10, email: "y@x" })]));
      expect(await u.insertInto("accounts").values({ id: 1, email: "a@x", nick: "ada" }).onConflict("update").execute()).toBe(1);
      expect(await u.updateTable("accounts").set({ email: "q@x" }).where("id", "=", 3).execute()).toBe(1);
      expect(await u.selectFrom("accounts").execute()).toEqual([
        { id: 1, email: "a@x", nick: "ada" },
        { id: 2, email: "b@x", nick: null },
        { id: 3, email: "q@x", nick: null },
      ]);
    });
  });

  describe("sync", () => {
    it("accepts the identical schema again", async () => {
      expect(await db.sync()).toEqual({ created: [], unchanged: ["users", "follows", "posts"] });
    });
  });
});
