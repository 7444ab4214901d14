/**
 * The relational select builder through its public API: which path a statement takes (single-table
 * routes or the `query` extension), the extension check before anything runs, `explain()`, the
 * plan's parameters, and typed errors for bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestError, ConflictError, MissingExtensionError } from "../../src/errors.js";
import type { Executor } from "../../src/executor.js";
import { param } from "../../src/ir/index.js";
import { embedded } from "../../src/kernel/index.js";
import { col, connect, schema, table } from "../../src/orm/index.js";

const users = table("users", { id: col.u64().key(), name: col.string(32), city: col.string(16), age: col.u32().nullable() }).index("by_city", ["city", "age"]);
const posts = table("posts", { id: col.u64().key(), author: col.u64().references(() => users, { name: "author", inverse: "posts" }), lang: col.string(8), likes: col.u32() });
const tags = table("tags", { id: col.u64().key(), label: col.string(16) });
const accounts = table("accounts", { id: col.u64().key(), email: col.string(32).unique(), nick: col.string(8).nullable().unique() });
const S = schema({ namespace: "qb", tables: { users, posts, tags, accounts } });

let executor: Executor;
beforeAll(async () => {
  executor = embedded();
  const db = await connect(S, executor);
  await db.sync();
  await db.insertInto("users").values([
    { id: 1, name: "ada", city: "paris", age: 36 },
    { id: 2, name: "bob", city: "rome", age: null },
    { id: 3, name: "cy", city: "paris", age: 17 },
  ]).execute();
  await db.insertInto("posts").values([
    { id: 10, author: 1, lang: "en", likes: 5 },
    { id: 11, author: 1, lang: "fr", likes: 5 },
    { id: 12, author: 3, lang: "en", likes: 9 },
  ]).execute();
  await db.insertInto("tags").values([{ id: 1, label: "en" }]).execute();
});
afterAll(async () => executor.close());

const opText = (c: { op: unknown }): string => JSON.stringify(c.op);

describe("paths", () => {
  it("keeps single-table selects on the table routes, and sends the new features to the query route", async () => {
    const db = await connect(S, executor);
    expect(opText(db.selectFrom("users").where("city", "=", "paris").orderBy("age").limit(2).compile())).not.toContain("/query");
    expect(opText(db.selectFrom("users").where("id", "=", 1).compile())).not.toContain("/query");
    // The core lowerings keep working (no extension at all).
    expect(opText(db.withOptions({ filter: "core", sort: "core" }).selectFrom("users").where("name", "!=", "x").orderBy("age", "desc").limit(2).compile())).not.toMatch(/\/query|\/filter|\/sort/);
    expect(opText(db.selectFrom("users").where("name", "like", "a%").compile())).toContain("/qb/users/query");
    expect(opText(db.selectFrom("users").orderBy("city").orderBy("name").compile())).toContain("/query");
    expect(opText(db.selectFrom("posts").innerJoin("users", "users.id", "posts.author").compile())).toContain("/query");
  });

  it("binds every value as a parameter: the plan text is the same whatever the values", async () => {
    const db = await connect(S, executor);
    const q = (v: string, n: number) => db.selectFrom("users").where((eb) => eb.or([eb("name", "like", v), eb("age", ">", n)])).limit(n).compile();
    const a = q("a%", 3);
    const b = q("zz", 7);
    expect(a.op).toEqual(b.op);
    expect(opText(a)).not.toContain("a%");
    expect(Object.values(a.bound)).toEqual(expect.arrayContaining(["a%", 3]));
    const named = db.selectFrom("users").where("city", "=", param("city")).orderBy("name").orderBy("id", "desc").compile();
    expect(named.params).toContain("city");
    expect(await db.selectFrom("users").where("city", "=", param("city")).orderBy("name", "desc").orderBy("id").select(["name"]).execute({ city: "paris" })).toEqual([{ name: "cy" }, { name: "ada" }]);
  });
});

describe("extensions", () => {
  const lacking = (served: string[]) => {
    let executed = 0;
    let asked = 0;
    const runner: Executor = {
      execute: (op, args) => {
        executed++;
        return executor.execute(op, args);
      },
      request: (req) => executor.request(req),
      session: () => executor.session(),
      close: async () => {},
      extensions: async () => {
        asked++;
        return new Set(served);
      },
    };
    return { runner, executed: () => executed, asked: () => asked };
  };

  it("refuses a statement needing an extension the host lacks before anything runs, naming it", async () => {
    const l = lacking(["filter", "sort"]);
    const db = await connect(S, l.runner);
    await expect(db.selectFrom("posts").innerJoin("users", "users.id", "posts.author").execute()).rejects.toThrow(MissingExtensionError);
    await expect(db.selectFrom("posts").select(["id"]).with("author").execute()).rejects.toThrow(/query/);
    await expect(db.deleteFrom("tags").where("id", "=", 1).returning(["id"]).execute()).rejects.toThrow(/returning/);
    await expect(db.batch([db.selectFrom("users"), db.selectFrom("users").distinct()])).rejects.toThrow(MissingExtensionError);
    expect(l.executed()).toBe(0);
    expect(await db.selectFrom("tags").execute()).toEqual([{ id: 1, label: "en" }]);
  });

  it("checks the host's extensions once per runner", async () => {
    const l = lacking(["query", "returning"]);
    const db = await connect(S, l.runner);
    await db.selectFrom("users").distinct().select(["city"]).execute();
    await db.selectFrom("users").orderBy("city").orderBy("id").execute();
    expect(l.asked()).toBe(1);
  });
});

describe("explain", () => {
  it("names each join's strategy and index, each nested load's index, and the order with its tiebreak", async () => {
    const db = await connect(S, executor);
    const e = db
      .selectFrom("posts")
      .innerJoin("users", "users.id", "posts.author")
      .leftJoin("tags", "tags.label", "posts.lang")
      .where("users.city", "=", "paris")
      .orderBy("posts.likes", "desc")
      .limit(20)
      .explain();
    expect(e.route).toBe("query route (extension)");
    expect(e.joins).toEqual([
      expect.objectContaining({ alias: "users", kind: "inner", strategy: "index lookup", index: "primary" }),
      expect.objectContaining({ alias: "tags", kind: "left", strategy: "hash join", index: null }),
    ]);
    expect(e.order).toBe("posts.likes desc, then primary key asc (top-k: a bounded heap)");
    const w = db.selectFrom("users").with("posts", (q) => q.orderBy("likes", "desc").limit(3)).explain();
    expect(w.with).toEqual([expect.objectContaining({ as: "posts", kind: "many", strategy: "index lookup", index: "fk_author" })]);
    const fromRange = db.selectFrom("users").where("city", "=", "paris").distinct().select(["city"]).explain();
    expect(fromRange).toMatchObject({ access: "index range", index: "by_city", order: "output columns asc" });
    // A where on the joined table's key reaches the posts through the join's equality (an inner
    // join only: a left join implies nothing for posts without their user).
    const inner = db.selectFrom("posts").innerJoin("users", "users.id", "posts.author").where("users.id", "=", 3).explain();
    expect(inner).toMatchObject({ access: "index range", index: "fk_author", served: ["author = ?"], filtered: ["users.id = ?"] });
    const left = db.selectFrom("posts").leftJoin("users", "users.id", "posts.author").where("users.id", "=", 3).explain();
    expect(left).toMatchObject({ access: "full scan", served: [] });
    expect(await db.selectFrom("posts").innerJoin("users", "users.id", "posts.author").where("users.id", "=", 1).select(["posts.id"]).execute()).toEqual(
      await db.selectFrom("posts").where("author", "=", 1).select(["id"]).execute(),
    );
  });
});

describe("results", () => {
  it("joins through a relation, loads nested rows, aggregates, and answers in a determined order", async () => {
    const db = await connect(S, executor);
    expect(await db.selectFrom("posts").innerJoinRelation("author").where("author.city", "=", "paris").orderBy("likes", "desc").select(["posts.id", "author.name"]).execute()).toEqual([
      { id: 12, name: "cy" },
      { id: 10, name: "ada" },
      { id: 11, name: "ada" },
    ]);
    expect(await db.selectFrom("users").select(["name"]).with("posts", (q) => q.where("lang", "=", "en").select(["id"])).execute()).toEqual([
      { name: "ada", posts: [{ id: 10 }] },
      { name: "bob", posts: [] },
      { name: "cy", posts: [{ id: 12 }] },
    ]);
    expect(await db.selectFrom("posts").select((eb) => ["lang", eb.fn.sum("likes").as("total"), db.fn.countAll().as("n")]).groupBy("lang").orderBy("total", "desc").execute()).toEqual([
      { lang: "en", total: 14, n: 2 },
      { lang: "fr", total: 5, n: 1 },
    ]);
    expect(await db.selectFrom("users").where((eb) => eb.not(eb.between("age", 18, 40))).select(["id"]).execute()).toEqual([{ id: 3 }]);
    expect(await db.selectFrom("users").where("id", "not in", db.selectFrom("posts").select(["author"])).select(["id"]).execute()).toEqual([{ id: 2 }]);
    const first = await db.selectFrom("users").orderBy("city").orderBy("name", "desc").executeTakeFirstOrThrow();
    expect(first.name).toBe("cy");
    const streamed: unknown[] = [];
    for await (const r of db.selectFrom("posts").orderBy("likes").orderBy("id", "desc").stream(undefined, { pageSize: 2 })) streamed.push(r);
    expect(streamed.map((r) => (r as { id: number }).id)).toEqual([11, 10, 12]);
  });
});

describe("returning on a table with unique columns", () => {
  it("checks uniqueness after the write: a violation is a ConflictError and nothing is written", async () => {
    const db = await connect(S, executor);
    expect(await db.insertInto("accounts").values([{ id: 1, email: "a@x" }, { id: 2, email: "b@x" }]).returning(["email"]).execute()).toEqual([{ email: "a@x" }, { email: "b@x" }]);
    await expect(db.insertInto("accounts").values([{ id: 3, email: "c@x" }, { id: 4, email: "a@x" }]).returning(["id"]).execute()).rejects.toThrow(ConflictError);
    await expect(db.updateTable("accounts").set({ email: "b@x" }).where("id", "=", 1).returningAll().execute()).rejects.toThrow(/email/);
    expect(await db.updateTable("accounts").set({ nick: "n" }).where("id", "=", 2).returning(["id", "nick"]).execute()).toEqual([{ id: 2, nick: "n" }]);
    expect(await db.deleteFrom("accounts").where("id", "=", 2).returning(["email"]).execute()).toEqual([{ email: "b@x" }]);
    expect(await db.selectFrom("accounts").execute()).toEqual([{ id: 1, email: "a@x", nick: null }]);
  });
});

describe("bad input", () => {
  it("gives a BadRequestError naming the problem, before anything runs", async () => {
    const db = await connect(S, executor);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const loose = db as any;
    const bad = (f: () => unknown, re: RegExp) => {
      expect(f).toThrow(BadRequestError);
      expect(f).toThrow(re);
    };
    bad(() => loose.selectFrom("posts").innerJoin("users", "users.id", "posts.author").where("id", "=", 1), /ambiguous/);
    bad(() => loose.selectFrom("posts").innerJoin("users", "users.nope", "posts.author"), /unknown column "nope"/);
    bad(() => loose.selectFrom("posts").innerJoin("nope", "nope.id", "posts.author"), /nope/);
    bad(() => loose.selectFrom("users").where("name", "like", "a\\b"), /must precede/);
    bad(() => loose.selectFrom("users").where("age", "like", "1"), /like applies to string columns/);
    bad(() => loose.selectFrom("users").where("age", ">", "x"), /age/);
    bad(() => loose.selectFrom("users").where((eb: any) => eb(eb.fn.countAll(), ">", 1)), /aggregates/);
    bad(() => loose.selectFrom("users").with("nope"), /no relation "nope"/);
    bad(() => loose.selectFrom("users").where("name", "~", "x"), /unknown operator/);
    bad(() => loose.selectFrom("users").orderBy("users.nope"), /unknown column/);
    bad(() => loose.selectFrom("users").orderBy("city").orderBy("nope"), /unknown column "nope"/);
    // A name that is no column may be a selected name: checked when the statement compiles.
    await expect(db.selectFrom("users").distinct().orderBy("nope" as never).execute()).rejects.toThrow(/unknown column "nope"/);
    await expect(db.selectFrom("users").where("id", "in", db.selectFrom("posts").select(["id", "author"])).execute()).rejects.toThrow(/exactly one column/);
  });
});
