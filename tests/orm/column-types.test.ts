/**
 * The column types beyond numbers and strings — timestamp, json, bytes, enum, uuid, 64-bit
 * integers in bigint mode — and floats of any finite magnitude, on every executor: random values
 * (extremes included) come back exactly, `where` compares and orders them as documented
 * (PROFILE §3), and bad values are refused with one clear, typed message.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { BadRequestError } from "../../src/errors.js";
import { param } from "../../src/ir/index.js";
import { col, connect, schema, table, type OrmDb } from "../../src/orm/index.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

const things = table("things", {
  id: col.u64({ mode: "bigint" }).key(),
  at: col.timestamp(),
  doc: col.json<unknown>(),
  raw: col.bytes(),
  state: col.enum(["open", "closed", "späť"]),
  u: col.uuid(),
  i: col.i64({ mode: "bigint" }),
  f: col.f64(),
  g: col.f32(),
  n: col.i64().nullable(),
})
  .index("by_at", ["at"])
  .index("by_raw", ["raw"])
  .index("by_i", ["i"]);
const tags = table("tags", {
  id: col.u32().key(),
  thing: col.u64({ mode: "bigint" }).references(() => things, { name: "thing", inverse: "tags" }),
  at: col.timestamp(),
});
const S = schema({ namespace: "types", tables: { things, tags } });
type Thing = {
  id: bigint;
  at: Date;
  doc: unknown;
  raw: Uint8Array;
  state: "open" | "closed" | "späť";
  u: string;
  i: bigint;
  f: number;
  g: number;
  n: number | null;
};

const U64_MAX = 2n ** 64n - 1n;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** True when `v` holds -0 anywhere: JSON text has no -0 (`JSON.stringify([-0])` is "[0]"), so a JSON column cannot keep one. */
const hasNegativeZero = (v: unknown): boolean =>
  Object.is(v, -0) || (typeof v === "object" && v !== null && Object.values(v).some(hasNegativeZero));
const json = fc.jsonValue({ maxDepth: 2 }).filter((v) => !hasNegativeZero(v));
const finite = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(1e308, -1e308, 2 ** 53, -(2 ** 53), 2 ** 53 + 2, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 0.1),
);
const thing = (id: fc.Arbitrary<bigint>): fc.Arbitrary<Thing> =>
  fc.record({
    id,
    at: fc.integer({ min: -8.64e15, max: 8.64e15 }).map((ms) => new Date(ms)),
    doc: json,
    raw: fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.constant(new Uint8Array(0))),
    state: fc.constantFrom("open" as const, "closed" as const, "späť" as const),
    u: fc.uuid(),
    i: fc.oneof(fc.bigInt(I64_MIN, I64_MAX), fc.constantFrom(I64_MIN, I64_MAX, 0n, 2n ** 53n, -(2n ** 53n) - 1n)),
    f: finite,
    g: fc.float({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x)),
    n: fc.oneof(fc.constant(null), fc.maxSafeInteger()),
  });

/** What a stored row reads back as: -0 is stored as 0 (as SQLite does), a uuid in lowercase, f32 rounded. */
function stored(t: Thing): Thing {
  return { ...t, u: t.u.toLowerCase(), f: t.f === 0 ? 0 : t.f, g: Math.fround(t.g) === 0 ? 0 : Math.fround(t.g) };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

describe.each(WITH_CLUSTER)("column types on $name", (factory) => {
  const create = executorsFor(factory, afterAll);
  let db: OrmDb<typeof S>;
  const fresh = async (): Promise<OrmDb<typeof S>> => {
    db = await connect(S, await create());
    await db.sync();
    return db;
  };

  it("round-trips random values of every type exactly, extremes included", async () => {
    await fresh();
    let next = 0n;
    const ids = fc.constantFrom(0n, U64_MAX, 2n ** 53n + 1n).chain((base) => fc.constant(base));
    await fc.assert(
      fc.asyncProperty(fc.array(thing(ids), { minLength: 1, maxLength: 6 }), async (rows) => {
        await db.deleteFrom("things").execute();
        // Distinct keys: spread the drawn bases apart.
        const withIds = rows.map((r, k) => ({ ...r, id: r.id === U64_MAX ? U64_MAX - BigInt(k) : r.id + BigInt(k) + (next += 7n) }));
        await db.insertInto("things").values(withIds).execute();
        const back = await db.selectFrom("things").execute();
        const want = withIds.map(stored).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        expect(back).toEqual(want);
        for (const r of back) expect(r.raw).toBeInstanceOf(Uint8Array);
      }),
      { numRuns: 12 },
    );
  });

  it("compares timestamps and bigints numerically, bytes lexicographically, uuids as strings", async () => {
    await fresh();
    const rows = fc.sample(thing(fc.bigInt(0n, U64_MAX)), { numRuns: 40, seed: 17 });
    const unique = [...new Map(rows.map((r) => [r.id, r])).values()];
    await db.insertInto("things").values(unique).execute();
    const all = unique.map(stored);
    const pivot = all[Math.floor(all.length / 2)]!;
    const ids = (xs: readonly Thing[]): bigint[] => xs.map((r) => r.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

    expect(ids(await db.selectFrom("things").where("at", ">=", pivot.at).execute())).toEqual(ids(all.filter((r) => r.at.getTime() >= pivot.at.getTime())));
    expect(ids(await db.selectFrom("things").where("i", "<", pivot.i).execute())).toEqual(ids(all.filter((r) => r.i < pivot.i)));
    expect(ids(await db.selectFrom("things").where("id", ">", pivot.id).execute())).toEqual(ids(all.filter((r) => r.id > pivot.id)));
    expect(ids(await db.selectFrom("things").where("raw", "<=", pivot.raw).execute())).toEqual(ids(all.filter((r) => compareBytes(r.raw, pivot.raw) <= 0)));
    expect(ids(await db.selectFrom("things").where("u", "=", pivot.u.toUpperCase()).execute())).toEqual(ids(all.filter((r) => r.u === pivot.u)));
    expect(ids(await db.selectFrom("things").where("f", ">", pivot.f).execute())).toEqual(ids(all.filter((r) => r.f > pivot.f)));
    expect(ids(await db.selectFrom("things").where("state", "=", "späť").execute())).toEqual(ids(all.filter((r) => r.state === "späť")));
    // `in` lists of 64-bit integers beyond ±2^53, given literally and as a parameter, on the key
    // (an index lookup) and on a plain column (tested row by row).
    const some = all.slice(0, 3);
    const someI = new Set(some.map((r) => r.i));
    expect(ids(await db.selectFrom("things").where("id", "in", some.map((r) => r.id)).execute())).toEqual(ids(some));
    expect(ids(await db.selectFrom("things").where("i", "in", [...someI]).execute())).toEqual(ids(all.filter((r) => someI.has(r.i))));
    expect(ids(await db.selectFrom("things").where("id", "in", param("ids")).execute({ ids: some.map((r) => r.id) }))).toEqual(ids(some));
    expect(ids(await db.selectFrom("things").where("i", "not in", param("is")).execute({ is: [...someI] }))).toEqual(ids(all.filter((r) => !someI.has(r.i))));

    const byAt = await db.selectFrom("things").orderBy("at").execute();
    expect(byAt.map((r) => r.at.getTime())).toEqual(all.map((r) => r.at.getTime()).sort((a, b) => a - b));
    const byRaw = await db.selectFrom("things").orderBy("raw").execute();
    expect(byRaw.map((r) => Buffer.from(r.raw).toString("hex"))).toEqual(all.map((r) => r.raw).sort(compareBytes).map((b) => Buffer.from(b).toString("hex")));
    const byI = await db.selectFrom("things").orderBy("i", "desc").execute();
    expect(byI.map((r) => r.i)).toEqual(all.map((r) => r.i).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)));
  });

  it("rich cells come back as row values through joins, with, expression filters, aggregates and not in", async () => {
    await fresh();
    const rows = fc.sample(thing(fc.bigInt(0n, U64_MAX)), { numRuns: 12, seed: 29 });
    const all = [...new Map(rows.map((r) => [r.id, r])).values()].map(stored).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    await db.insertInto("things").values(all).execute();
    const [a, b, c] = all as [Thing, Thing, Thing];
    const tagRows = [
      { id: 1, thing: a.id, at: new Date(1_000) },
      { id: 2, thing: a.id, at: new Date(-2_000) },
      { id: 3, thing: c.id, at: new Date(3_000) },
    ];
    await db.insertInto("tags").values(tagRows).execute();
    const byId = (x: { id: bigint }, y: { id: bigint }) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);

    const either = await db.selectFrom("things").where((eb) => eb.or([eb("id", "=", a.id), eb("i", "=", b.i), eb("at", "=", c.at)])).execute();
    expect([...either].sort(byId)).toEqual(all.filter((r) => r.id === a.id || r.i === b.i || r.at.getTime() === c.at.getTime()));
    const notIn = await db.selectFrom("things").where("i", "not in", param("is")).execute({ is: [a.i, b.i] });
    expect([...notIn].sort(byId)).toEqual(all.filter((r) => r.i !== a.i && r.i !== b.i));

    const joined = await db.selectFrom("tags").innerJoin("things", "things.id", "tags.thing").orderBy("tags.id")
      .select(["tags.id", "tags.at as tagAt", "things.at", "things.doc", "things.raw", "things.i", "things.u", "things.state"]).execute();
    const thingOf = (id: bigint) => all.find((r) => r.id === id)!;
    expect(joined).toEqual(tagRows.map((t) => {
      const r = thingOf(t.thing);
      return { id: t.id, tagAt: t.at, at: r.at, doc: r.doc, raw: r.raw, i: r.i, u: r.u, state: r.state };
    }));
    for (const j of joined) expect(j.raw).toBeInstanceOf(Uint8Array);

    const nested = await db.selectFrom("things").where("id", "in", [a.id, c.id]).with("tags", (q) => q.orderBy("id")).execute();
    expect([...nested].sort(byId)).toEqual([a, c].sort(byId).map((r) => ({ ...r, tags: tagRows.filter((t) => t.thing === r.id) })));

    const [agg] = await db.selectFrom("things").select((eb) => [eb.fn.max("at").as("latest"), eb.fn.min("i").as("least"), eb.fn.max("id").as("top")]).execute();
    expect(agg).toEqual({
      latest: new Date(Math.max(...all.map((r) => r.at.getTime()))),
      least: all.map((r) => r.i).reduce((x, y) => (y < x ? y : x)),
      top: all[all.length - 1]!.id,
    });
  });

  it("returning answers rich cells as row values, on insert, update and delete", async () => {
    await fresh();
    const [a, b] = fc.sample(thing(fc.bigInt(2n ** 53n, U64_MAX)), { numRuns: 2, seed: 31 }).map(stored) as [Thing, Thing];
    b.id = a.id === U64_MAX ? a.id - 1n : a.id + 1n;
    expect(await db.insertInto("things").values([a, b]).returningAll().execute()).toEqual([a, b]);
    const at = new Date(-1_234_567);
    expect(await db.updateTable("things").set({ at, i: I64_MIN }).where("id", "=", a.id).returning(["id", "at", "i", "raw", "doc"]).execute())
      .toEqual([{ id: a.id, at, i: I64_MIN, raw: a.raw, doc: a.doc }]);
    expect(await db.deleteFrom("things").where("id", "=", b.id).returningAll().execute()).toEqual([b]);
  });

  it("stores and compares floats of any finite magnitude in insert, set() and where; rounds f32 with Math.fround", async () => {
    await fresh();
    const base = { at: new Date(0), doc: null, raw: new Uint8Array([1]), state: "open" as const, u: "00000000-0000-4000-8000-000000000000", i: 0n, n: null };
    await db.insertInto("things").values([
      { ...base, id: 1n, f: 1e300, g: 3.4e38 },
      { ...base, id: 2n, f: 2 ** 53 + 2, g: 0.1 },
      { ...base, id: 3n, f: -1e308, g: -0 },
    ]).execute();
    await db.updateTable("things").set({ f: 1.7976931348623157e308 }).where("f", "=", 1e300).execute();
    const rows = await db.selectFrom("things").where("f", ">=", 2 ** 53).execute();
    expect(rows.map((r) => [r.id, r.f, r.g])).toEqual([
      [1n, 1.7976931348623157e308, Math.fround(3.4e38)],
      [2n, 2 ** 53 + 2, Math.fround(0.1)],
    ]);
    expect((await db.selectFrom("things").where("g", "=", 0.1).execute()).map((r) => r.id)).toEqual([2n]);
    expect((await db.selectFrom("things").where("id", "=", 3n).executeTakeFirst())?.g).toBe(0);
  });

  it("refuses NaN, infinities and values of the wrong type with one typed message each", async () => {
    await fresh();
    const ok = { id: 9n, at: new Date(5), doc: { a: 1 }, raw: new Uint8Array(0), state: "open" as const, u: "00000000-0000-4000-8000-000000000000", i: 1n, f: 1, g: 1, n: null };
    const refused = async (row: Record<string, unknown>, text: string): Promise<void> => {
      // Checked when the statement is built (values()), before anything is sent.
      const e = await (async () => db.insertInto("things").values(row as never).execute())().then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(BadRequestError);
      const message = (e as Error).message;
      expect(message).toContain(text);
      // One problem, said once.
      expect(message.indexOf(text)).toBe(message.lastIndexOf(text));
    };
    await refused({ ...ok, f: Number.NaN }, "column f: expected a finite number");
    await refused({ ...ok, f: Number.POSITIVE_INFINITY }, "column f: expected a finite number");
    await refused({ ...ok, g: 1e39 }, "column g: expected a float32");
    await refused({ ...ok, n: 2 ** 60 }, 'beyond ±(2^53−1), where JS numbers are not exact; declare the column col.i64({ mode: "bigint" })');
    await refused({ ...ok, n: 5n }, "expected a number, got the bigint 5");
    await refused({ ...ok, i: 2n ** 63n }, "column i: expected a i64 within");
    await refused({ ...ok, i: 5 }, "column i: expected a bigint");
    await refused({ ...ok, at: 5 }, "column at: expected a Date");
    await refused({ ...ok, at: new Date(Number.NaN) }, "Invalid Date");
    await refused({ ...ok, raw: [1, 2] }, "column raw: expected a Uint8Array");
    await refused({ ...ok, state: "shut" }, 'column state: expected one of "open", "closed", "späť", got the string "shut"');
    await refused({ ...ok, u: "not-a-uuid" }, "column u: expected a uuid");
    await refused({ ...ok, doc: { x: Number.NaN } }, "column doc: expected a JSON value");
    await expect((async () => db.selectFrom("things").where("f", "=", Number.NaN).execute())()).rejects.toThrow(BadRequestError);
    expect(await db.selectFrom("things").count().execute()).toBe(0);
  });

  it("validates json values against a zod schema and returns unicode JSON exactly", async () => {
    const { z } = await import("zod");
    const notes = table("notes", { id: col.u32().key(), body: col.json(z.object({ title: z.string(), tags: z.array(z.string()) })) });
    const N = schema({ namespace: "jsonz", tables: { notes } });
    const ndb = await connect(N, await create());
    await ndb.sync();
    const body = { title: "naïve 😀 \u2028", tags: ["日本", ""] };
    await ndb.insertInto("notes").values({ id: 1, body }).execute();
    expect((await ndb.selectFrom("notes").executeTakeFirst())?.body).toEqual(body);
    await expect((async () => ndb.insertInto("notes").values({ id: 2, body: { title: 5 } as never }).execute())()).rejects.toThrow(/column body: the JSON value does not match the column's schema: title/);
  });
});
