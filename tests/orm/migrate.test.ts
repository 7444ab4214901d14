/**
 * `db.planMigration()` / `db.migrate()` on every executor: each supported change, applied in one
 * transaction, with the data checked after; refusals (unsupported changes, unique conflicts
 * listing the keys) that change nothing; idempotence and the older-declaration error; `sync()`
 * inside a session.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ConflictError } from "../../src/errors.js";
import type { Executor } from "../../src/executor.js";
import { col, connect, schema, table } from "../../src/orm/index.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

const v1 = schema({
  namespace: "app",
  tables: {
    people: table("people", { id: col.u64().key(), name: col.string(16), email: col.string(32), legacy: col.u8() }).index("by_name", ["name"]),
  },
});

const v2 = schema({
  namespace: "app",
  tables: {
    users: table("users", {
      id: col.u64().key(),
      full_name: col.string(64).renamedFrom("name"),
      email: col.string(32).unique(),
      age: col.u32().nullable(),
      city: col.string(16).default("paris"),
      slug: col.string(32).backfill((row) => String(row.name).toLowerCase()),
    })
      .index("by_city", ["city"])
      .renamedFrom("people"),
  },
});

const rows1 = [
  { id: 1, name: "Ada", email: "ada@x", legacy: 1 },
  { id: 2, name: "Bob", email: "bob@x", legacy: 2 },
  { id: 3, name: "Cy", email: "cy@x", legacy: 3 },
];

async function loaded(ex: Executor) {
  const db = await connect(v1, ex);
  await db.sync();
  await db.insertInto("people").values(rows1).execute();
  return db;
}

describe.each(WITH_CLUSTER)("migrations on $name", (factory) => {
  const create = executorsFor(factory, afterAll);

  it("plans readable steps, applies them in one op, and records them", async () => {
    const ex = await create();
    await loaded(ex);
    const db2 = await connect(v2, ex);
    const plan = await db2.planMigration();
    expect(plan.steps).toEqual([
      "rename table /state/app/people → /state/app/users",
      "users: rename column name → full_name",
      "users: widen string(16) → string(64) column full_name",
      "users: add column age u32 nullable (null)",
      'users: add column city string(16) (default "paris")',
      "users: add column slug string(32) (backfill function)",
      "users: drop column legacy",
      "users: add index by_city (city), built over the existing rows",
      "users: add unique on email (index unique_email; refused if existing rows repeat a value), built over the existing rows",
      "users: drop index by_name (full_name)",
    ]);
    expect(String(plan)).toContain(`migration of app ${plan.from} → ${plan.to} (10 steps):`);
    const result = await db2.migrate();
    expect(result).toMatchObject({ applied: true, from: plan.from, to: plan.to, steps: plan.steps });
    expect(await db2.selectFrom("users").orderBy("id").execute()).toEqual([
      { id: 1, full_name: "Ada", email: "ada@x", age: null, city: "paris", slug: "ada" },
      { id: 2, full_name: "Bob", email: "bob@x", age: null, city: "paris", slug: "bob" },
      { id: 3, full_name: "Cy", email: "cy@x", age: null, city: "paris", slug: "cy" },
    ]);
    // The new index serves a lookup; the old table is gone.
    expect(await db2.selectFrom("users").where("city", "=", "paris").count().execute()).toBe(3);
    const tables = (await ex.request({ verb: "get", path: "/host/tables", key: null })) as string[];
    expect(tables.filter((t) => t.startsWith("/state/app/"))).toEqual(["/state/app/_migrations", "/state/app/users"]);
    // sync() accepts the result; a second migrate() is a no-op.
    expect(await db2.sync()).toEqual({ created: [], unchanged: ["users"] });
    expect(await db2.migrate()).toMatchObject({ applied: false, steps: [] });
    expect((await db2.planMigration()).history).toMatchObject([{ seq: 1, from: plan.from, to: plan.to, steps: plan.steps }]);
  });

  it("adds a 64-bit column whose default is a bigint, and backfills dates, in their TinyChain forms", async () => {
    const ex = await create();
    const v1 = table("big", { id: col.u64().key() });
    const db1 = await connect(schema({ namespace: "mbig", tables: { big: v1 } }), ex);
    await db1.sync();
    await db1.insertInto("big").values([{ id: 1 }, { id: 2 }]).execute();
    const v2 = table("big", {
      id: col.u64().key(),
      n: col.i64({ mode: "bigint" }).default(2n ** 60n),
      at: col.timestamp().backfill((row) => new Date(Number(row.id) * 1000)),
    });
    const db2 = await connect(schema({ namespace: "mbig", tables: { big: v2 } }), ex);
    expect((await db2.planMigration()).steps).toContain('big: add column n i64 (default "1152921504606846976n")');
    await db2.migrate();
    expect(await db2.selectFrom("big").orderBy("id").execute()).toEqual([
      { id: 1, n: 2n ** 60n, at: new Date(1000) },
      { id: 2, n: 2n ** 60n, at: new Date(2000) },
    ]);
  });

  it("hands backfill and transform functions the stored cells as row values (dates, JSON, bytes, bigints, links)", async () => {
    const ex = await create();
    const base = { id: col.u32().key(), at: col.timestamp(), doc: col.json<{ a: number }>(), raw: col.bytes(), big: col.u64({ mode: "bigint" }), url: col.link().nullable() };
    const db1 = await connect(schema({ namespace: "mrich", tables: { t: table("t", { ...base, n: col.u64() }) } }), ex);
    await db1.sync();
    const row = { id: 1, at: new Date(Date.UTC(2031, 4, 6)), doc: { a: 7 }, raw: new Uint8Array([3, 4]), big: 2n ** 60n + 1n, url: "/state/x/y", n: 2 ** 40 + 2 };
    await db1.insertInto("t").values([row]).execute();
    const seen: Record<string, unknown>[] = [];
    const v2 = table("t", {
      ...base,
      n: col.string(24).transform((old) => `n=${typeof old}:${String(old)}`),
      year: col.u32().backfill((r) => {
        seen.push(r);
        return (r.at as Date).getUTCFullYear();
      }),
    });
    const db2 = await connect(schema({ namespace: "mrich", tables: { t: v2 } }), ex);
    await db2.migrate();
    expect(seen).toEqual([row]);
    expect(seen[0]!.raw).toBeInstanceOf(Uint8Array);
    expect(await db2.selectFrom("t").execute()).toEqual([{ ...row, n: `n=number:${2 ** 40 + 2}`, year: 2031 }]);
  });

  it("refuses an older declaration after a migration, naming both hashes", async () => {
    const ex = await create();
    await loaded(ex);
    const db2 = await connect(v2, ex);
    const { from, to } = await db2.migrate();
    const old = await connect(v1, ex);
    const err = await old.migrate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toContain(`this process declares schema ${from}, an older declaration: the database was migrated from ${from} to ${to}`);
    const syncErr = await old.sync().catch((e: unknown) => e);
    expect(syncErr).toBeInstanceOf(ConflictError);
    expect((syncErr as Error).message).toContain(`migrated from ${from} to ${to}`);
  });

  it("refuses unsupported changes, naming the table, the column and what to declare", async () => {
    const ex = await create();
    await loaded(ex);
    const bad = schema({
      namespace: "app",
      tables: {
        people: table("people", { id: col.string(8).key(), name: col.u32(), email: col.string(8), legacy: col.u8(), extra: col.u8() }),
      },
    });
    const err = await (await connect(bad, ex)).planMigration().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    const m = (err as Error).message;
    expect(m).toContain("people.id: key column stored u64, declared string(8)");
    expect(m).toContain("people.name: stored string(16), declared u32; declare .transform((old) => value)");
    expect(m).toContain("people.email: stored string(32), declared string(8); declare .transform");
    expect(m).toContain("people.extra: a new column needs a value in the existing rows: declare .nullable(), .default(value) or .backfill((row) => value)");
    const db1 = await connect(v1, ex);
    expect(await db1.sync()).toEqual({ created: [], unchanged: ["people"] });
  });

  it("changes a type with a transform, and refuses a unique column whose rows repeat a value, listing the keys", async () => {
    const ex = await create();
    const db1 = await loaded(ex);
    await db1.insertInto("people").values({ id: 4, name: "Ada", email: "ada@x", legacy: 9 }).execute();
    const uniq = schema({
      namespace: "app",
      tables: { people: table("people", { id: col.u64().key(), name: col.string(16), email: col.string(32).unique(), legacy: col.string(8).transform((o) => `v${String(o)}`) }).index("by_name", ["name"]) },
    });
    const db = await connect(uniq, ex);
    const err = await db.migrate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toContain('cannot make column email unique: existing rows repeat 1 value(s): "ada@x" at keys [1], [4]');
    // Nothing changed: the old schema still syncs, every row is there.
    expect(await db1.sync()).toEqual({ created: [], unchanged: ["people"] });
    expect(await db1.selectFrom("people").count().execute()).toBe(4);
    await db1.deleteFrom("people").where("id", "=", 4).execute();
    expect((await db.migrate()).applied).toBe(true);
    expect(await db.selectFrom("people").select(["id", "legacy"]).orderBy("id").execute()).toEqual([
      { id: 1, legacy: "v1" },
      { id: 2, legacy: "v2" },
      { id: 3, legacy: "v3" },
    ]);
    await expect(db.insertInto("people").values({ id: 5, name: "Z", email: "bob@x", legacy: "x" }).execute()).rejects.toThrow(ConflictError);
  });

  it("creates new tables and runs inside a session: sync() and migrate()", async () => {
    const ex = await create();
    await loaded(ex);
    const extra = schema({ namespace: "side", tables: { notes: table("notes", { id: col.u64().key(), text: col.string(64) }) } });
    await (await connect(extra, ex)).session(async (s) => {
      expect(await s.sync()).toEqual({ created: ["notes"], unchanged: [] });
      await s.insertInto("notes").values({ id: 1, text: "hi" }).execute();
      expect(await s.sync()).toEqual({ created: [], unchanged: ["notes"] });
    });
    expect(await (await connect(extra, ex)).selectFrom("notes").count().execute()).toBe(1);
    const db2 = await connect(v2, ex);
    await db2.session(async (s) => {
      expect((await s.migrate()).applied).toBe(true);
      expect(await s.selectFrom("users").count().execute()).toBe(3);
    });
    expect(await db2.selectFrom("users").select(["slug"]).orderBy("id").execute()).toEqual([{ slug: "ada" }, { slug: "bob" }, { slug: "cy" }]);
  });
});
