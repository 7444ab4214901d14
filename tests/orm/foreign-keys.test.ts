/**
 * Enforced foreign keys (restrict, cascade, set null), generated keys and structured conflicts on
 * every executor. The enforcement is checked against SQLite with `PRAGMA foreign_keys=ON` on
 * random statement sequences: the same statements succeed and fail, and the same rows remain.
 */
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { ConflictError, ForeignKeyError } from "../../src/errors.js";
import { col, connect, schema, table, type OrmDb } from "../../src/orm/index.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

const a = table("a", { id: col.u32().key(), v: col.i32() });
const b = table("b", { id: col.u32().key(), a_id: col.u32().nullable().references(() => a, { onDelete: "cascade" }), v: col.i32() });
const c = table("c", {
  id: col.u32().key(),
  a_id: col.u32().nullable().references(() => a, { name: "a_ref", onDelete: "set null" }),
  b_id: col.u32().nullable().references(() => b, { onDelete: "restrict" }),
  v: col.i32(),
});
const S = schema({ namespace: "fkdiff", tables: { a, b, c } });

const SQLITE = `
  CREATE TABLE a (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);
  CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a(id) ON DELETE CASCADE, v INTEGER NOT NULL);
  CREATE TABLE c (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a(id) ON DELETE SET NULL, b_id INTEGER REFERENCES b(id) ON DELETE RESTRICT, v INTEGER NOT NULL);
`;

type Op =
  | { kind: "insert"; t: "a" | "b" | "c"; id: number; a: number | null; b: number | null; v: number }
  | { kind: "update"; t: "b" | "c"; col: "a_id" | "b_id"; id: number; to: number | null }
  | { kind: "delete"; t: "a" | "b" | "c"; id: number }
  | { kind: "deleteWhere"; t: "a" | "b" | "c"; below: number };

const small = fc.integer({ min: 0, max: 4 });
const ref = fc.oneof(small, fc.constant(null));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("insert" as const), t: fc.constantFrom("a" as const, "b" as const, "c" as const), id: small, a: ref, b: ref, v: fc.integer({ min: 0, max: 9 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("update" as const), t: fc.constantFrom("b" as const, "c" as const), col: fc.constantFrom("a_id" as const, "b_id" as const), id: small, to: ref }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), t: fc.constantFrom("a" as const, "b" as const, "c" as const), id: small }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteWhere" as const), t: fc.constantFrom("a" as const, "b" as const, "c" as const), below: fc.integer({ min: 0, max: 9 }) }) },
);

function sqliteRun(sql: Database.Database, o: Op): boolean {
  try {
    if (o.kind === "insert") {
      if (o.t === "a") sql.prepare("INSERT INTO a VALUES (?, ?)").run(o.id, o.v);
      else if (o.t === "b") sql.prepare("INSERT INTO b VALUES (?, ?, ?)").run(o.id, o.a, o.v);
      else sql.prepare("INSERT INTO c VALUES (?, ?, ?, ?)").run(o.id, o.a, o.b, o.v);
    } else if (o.kind === "update") {
      const column = o.t === "b" ? "a_id" : o.col;
      sql.prepare(`UPDATE ${o.t} SET ${column} = ? WHERE id = ?`).run(o.to, o.id);
    } else if (o.kind === "delete") {
      sql.prepare(`DELETE FROM ${o.t} WHERE id = ?`).run(o.id);
    } else {
      sql.prepare(`DELETE FROM ${o.t} WHERE v < ?`).run(o.below);
    }
    return true;
  } catch (e) {
    if (!/constraint/i.test(String(e))) throw e;
    return false;
  }
}

async function ormRun(db: OrmDb<typeof S>, o: Op): Promise<boolean> {
  try {
    if (o.kind === "insert") {
      if (o.t === "a") await db.insertInto("a").values({ id: o.id, v: o.v }).execute();
      else if (o.t === "b") await db.insertInto("b").values({ id: o.id, a_id: o.a, v: o.v }).execute();
      else await db.insertInto("c").values({ id: o.id, a_id: o.a, b_id: o.b, v: o.v }).execute();
    } else if (o.kind === "update") {
      if (o.t === "b") await db.updateTable("b").set({ a_id: o.to }).where("id", "=", o.id).execute();
      else await db.updateTable("c").set({ [o.col]: o.to }).where("id", "=", o.id).execute();
    } else if (o.kind === "delete") {
      await db.deleteFrom(o.t).where("id", "=", o.id).execute();
    } else {
      await db.deleteFrom(o.t).where("v", "<", o.below).execute();
    }
    return true;
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e;
    return false;
  }
}

describe.each(WITH_CLUSTER)("foreign keys on $name", (factory) => {
  const create = executorsFor(factory, afterAll);

  it("enforces restrict, cascade and set null exactly as SQLite does (random statements)", async () => {
    const db = await connect(S, await create());
    await db.sync();
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        for (const t of ["c", "b", "a"] as const) await db.deleteFrom(t).execute();
        const sql = new Database(":memory:");
        sql.pragma("foreign_keys = ON");
        sql.exec(SQLITE);
        for (const o of ops) expect([o, await ormRun(db, o)]).toEqual([o, sqliteRun(sql, o)]);
        for (const t of ["a", "b", "c"] as const) {
          const want = sql.prepare(`SELECT * FROM ${t} ORDER BY id`).all();
          expect(await db.selectFrom(t).orderBy("id").execute()).toEqual(want);
        }
        sql.close();
      }),
      // A cluster runs every statement over several hosts: fewer rounds there, the same checks.
      { numRuns: factory.name === "cluster" ? 12 : 25 },
    );
  });

  it("says which reference failed: ForeignKeyError with table, columns, key and references", async () => {
    const db = await connect(S, await create());
    await db.sync();
    await db.insertInto("a").values({ id: 1, v: 0 }).execute();
    await db.insertInto("b").values({ id: 1, a_id: 1, v: 0 }).execute();
    await db.insertInto("c").values({ id: 1, a_id: null, b_id: 1, v: 0 }).execute();

    const missing = await db.insertInto("b").values({ id: 2, a_id: 777, v: 0 }).execute().catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ForeignKeyError);
    expect(missing).toMatchObject({ table: "/state/fkdiff/b", columns: ["a_id"], column: "a_id", key: [777], references: { table: "/state/fkdiff/a", columns: ["id"] } });
    expect((missing as Error).message).toContain("references no row of /state/fkdiff/a");

    const bulk = await db.insertInto("b").values([{ id: 5, a_id: 1, v: 0 }, { id: 6, a_id: 1, v: 0 }, { id: 7, a_id: 778, v: 0 }]).execute().catch((e: unknown) => e);
    expect(bulk).toMatchObject({ name: "ForeignKeyError", columns: ["a_id"], key: [778] });
    expect(await db.selectFrom("b").count().execute()).toBe(1);

    const restricted = await db.deleteFrom("a").where("id", "=", 1).execute().catch((e: unknown) => e);
    expect(restricted).toBeInstanceOf(ForeignKeyError);
    expect(restricted).toMatchObject({ table: "/state/fkdiff/c", columns: ["b_id"], key: [1], references: { table: "/state/fkdiff/b", columns: ["id"] } });
    // All or nothing: the cascade to b was undone with the refused delete.
    expect(await db.selectFrom("b").count().execute()).toBe(1);
    expect(await db.selectFrom("a").count().execute()).toBe(1);

    const dup = await db.insertInto("a").values({ id: 1, v: 0 }).execute().catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(ConflictError);
    expect(dup).toMatchObject({ table: "/state/fkdiff/a", columns: ["id"], key: [1] });
  });

  it("names the table, column and value of a unique violation", async () => {
    const users = table("users", { id: col.u32().key(), email: col.string(40).unique() });
    const U = schema({ namespace: "uniq17", tables: { users } });
    const db = await connect(U, await create());
    await db.sync();
    await db.insertInto("users").values({ id: 1, email: "a@b.c" }).execute();
    const e = await db.insertInto("users").values({ id: 2, email: "a@b.c" }).execute().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConflictError);
    expect(e).toMatchObject({ table: "/state/uniq17/users", columns: ["email"], column: "email", key: ["a@b.c"] });
  });

  it("skips references declared with { enforce: false }", async () => {
    const parents = table("parents", { id: col.u32().key() });
    const kids = table("kids", { id: col.u32().key(), parent: col.u32().references(() => parents, { enforce: false }) });
    const K = schema({ namespace: "loose", tables: { parents, kids } });
    expect(K.json().kids![0][1][0]).toEqual(["parent", "/state/scalar/value/number/uint/32"]);
    const db = await connect(K, await create());
    await db.sync();
    await db.insertInto("kids").values({ id: 1, parent: 99 }).execute();
    expect(await db.selectFrom("kids").execute()).toEqual([{ id: 1, parent: 99 }]);
  });

  it("generates increment keys that are never reused, and random uuid keys", async () => {
    const issues = table("issues", { id: col.u64().key().autoIncrement(), title: col.string(20) });
    const sessions = table("sessions", { id: col.uuid().key().defaultRandom(), issue: col.u64().references(() => issues, { onDelete: "cascade" }) });
    const G = schema({ namespace: "gen", tables: { issues, sessions } });
    const db = await connect(G, await create());
    await db.sync();
    await db.insertInto("issues").values([{ title: "a" }, { title: "b" }, { title: "c" }]).execute();
    expect((await db.selectFrom("issues").execute()).map((r) => r.id)).toEqual([1, 2, 3]);
    await db.deleteFrom("issues").where("id", "=", 3).execute();
    await db.insertInto("issues").values({ title: "d" }).execute();
    await db.insertInto("issues").values({ id: 10, title: "given" }).execute();
    await db.insertInto("issues").values({ title: "e" }).execute();
    expect((await db.selectFrom("issues").execute()).map((r) => r.id)).toEqual([1, 2, 4, 10, 11]);
    await db.insertInto("sessions").values([{ issue: 1 }, { issue: 1 }]).execute();
    const ids = (await db.selectFrom("sessions").execute()).map((r) => r.id);
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await db.deleteFrom("issues").where("id", "=", 1).execute();
    expect(await db.selectFrom("sessions").count().execute()).toBe(0);
  });
});
