/**
 * `connect(schema, executor, { log, redact })`: one entry per executed statement — selects,
 * writes, batches, sessions and graph traversals — with kind, table, readable shape, parameters
 * (redactable), duration and row count.
 */
import { describe, expect, it } from "vitest";
import { col, connect, embedded, param, schema, table, type QueryLogEntry } from "../../src/index.js";

const users = table("users", { id: col.u64().key(), name: col.string(64), email: col.string(64), city: col.string(32), age: col.u32().nullable() }).index("by_city", ["city"]);
const follows = table("follows", {
  follower: col.u64().key().references(() => users),
  followee: col.u64().key().references(() => users),
}).edge("follows", { from: "follower", to: "followee", inverse: "followers" });
const app = schema({ namespace: "app", tables: { users, follows } });

async function setup(redact?: boolean | readonly string[]) {
  const entries: QueryLogEntry[] = [];
  const db = await connect(app, embedded(), { log: (e) => entries.push(e), ...(redact !== undefined ? { redact } : {}) });
  await db.sync();
  return { db, entries };
}

describe("query log", () => {
  it("logs selects, writes, batches and sessions with shape, params, duration and rows", async () => {
    const { db, entries } = await setup();
    await db.insertInto("users").values([
      { id: 1, name: "ada", email: "ada@x", city: "paris", age: 36 },
      { id: 2, name: "bob", email: "bob@x", city: "rome", age: null },
    ]).execute();
    await db.selectFrom("users").where("city", "=", "paris").where("age", ">=", 18).orderBy("id", "desc").limit(10).select(["id", "name"]).execute();
    await db.selectFrom("users").where("id", "=", param("me")).executeTakeFirst({ me: 2 });
    await db.updateTable("users").set({ city: "oslo" }).where("id", "=", 2).execute();
    await db.deleteFrom("users").where("age", "isNull").execute();
    await db.batch([db.selectFrom("users").count(), db.selectFrom("users")]);
    await db.session(async (s) => {
      await s.selectFrom("users").execute();
      await s.graph.match("users", { id: 1 }).out("follows").execute();
    });
    await expect(db.session(async (s) => {
      await s.insertInto("users").values({ id: 3, name: "cy", email: "c@x", city: "lima" }).execute();
      throw new Error("boom");
    })).rejects.toThrow("boom");

    const view = entries.map((e) => ({ kind: e.kind, table: e.table, shape: e.shape, params: e.params, rows: e.rows }));
    expect(view).toEqual([
      {
        kind: "insert",
        table: "app/users",
        shape: "insert into app.users (id, name, email, city, age) values $rows (2 rows)",
        params: { rows: [{ id: 1, name: "ada", email: "ada@x", city: "paris", age: 36 }, { id: 2, name: "bob", email: "bob@x", city: "rome", age: null }] },
        rows: 2,
      },
      { kind: "select", table: "app/users", shape: "select id, name from app.users where city = $city and age >= $age order by id desc limit $limit", params: { city: "paris", age: 18, limit: 10 }, rows: 1 },
      { kind: "select", table: "app/users", shape: "select * from app.users where id = $me", params: { me: 2 }, rows: 1 },
      { kind: "update", table: "app/users", shape: "update app.users set city = $city where id = $id", params: { city: "oslo", id: 2 }, rows: 1 },
      { kind: "delete", table: "app/users", shape: "delete from app.users where age is null", params: {}, rows: 1 },
      { kind: "batch", table: null, shape: "batch [select count(*) from app.users; select * from app.users]", params: {}, rows: 2 },
      { kind: "select", table: "app/users", shape: "select * from app.users", params: {}, rows: 1 },
      { kind: "traversal", table: "app/users", shape: "match(app.users {id = $id}).out(follows)", params: { id: 1 }, rows: 0 },
      { kind: "session", table: null, shape: "session committed (2 statements)", params: {}, rows: 2 },
      expect.objectContaining({ kind: "insert", rows: 1 }),
      expect.objectContaining({ kind: "session", shape: "session rolled back (1 statement)", rows: 1 }),
    ]);
    expect(entries.at(-1)!.error).toBe("boom");
    for (const e of entries) expect(e.durationMs).toBeGreaterThanOrEqual(0);
    await db.close();
  });

  it("logs graph traversals as builder chains with their parameters, and failures with their error", async () => {
    const { db, entries } = await setup();
    await db.insertInto("users").values([1, 2, 3].map((id) => ({ id, name: `u${id}`, email: `${id}@x`, city: id === 3 ? "paris" : "rome" }))).execute();
    await db.insertInto("follows").values([{ follower: 1, followee: 2 }, { follower: 2, followee: 3 }]).execute();
    entries.length = 0;
    const fof = db.graph.match("users", { id: param("me") }).out("follows").out("follows").distinct().where("city", "=", param("city"));
    expect(await fof.execute({ me: 1, city: "paris" })).toHaveLength(1);
    await db.graph.match("users", { id: 1 }).out("follows", { hops: [1, 3] }).distinct().count().execute();
    await expect(db.selectFrom("users").where("id", "=", param("me")).execute({})).rejects.toThrow(/missing argument/);
    expect(entries.map((e) => [e.kind, e.shape, e.params, e.rows])).toEqual([
      ["traversal", "match(app.users {id = $me}).out(follows).out(follows).where(city = $city).distinct()", { me: 1, city: "paris" }, 1],
      ["traversal", "match(app.users {id = $id}).out(follows, hops 1..3).distinct().count()", { id: 1 }, 1],
      ["select", "select * from app.users where id = $me", { me: undefined }, null],
    ]);
    expect(entries[2]!.error).toMatch(/missing argument for parameter me/);
    await db.close();
  });

  it("redacts every value, or the listed columns and parameters", async () => {
    const all = await setup(true);
    await all.db.selectFrom("users").where("email", "=", "ada@x").execute();
    expect(all.entries.at(-1)!.params).toEqual({ email: "[redacted]" });
    const some = await setup(["email"]);
    await some.db.insertInto("users").values({ id: 1, name: "ada", email: "ada@x", city: "paris" }).execute();
    await some.db.selectFrom("users").where("email", "=", "ada@x").where("city", "=", "paris").execute();
    expect(some.entries.at(-2)!.params).toEqual({ rows: [{ id: 1, name: "ada", email: "[redacted]", city: "paris", age: null }] });
    expect(some.entries.at(-1)!.params).toEqual({ email: "[redacted]", city: "paris" });
    expect(JSON.stringify(some.entries)).not.toContain("ada@x");
    await all.db.close();
    await some.db.close();
  });

  it("a logger that throws does not break the statement", async () => {
    const db = await connect(app, embedded(), { log: () => { throw new Error("logger down"); } });
    await db.sync();
    expect(await db.selectFrom("users").execute()).toEqual([]);
    await db.close();
  });
});
