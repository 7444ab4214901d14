/**
 * `distinctOn(cols)` — the first row, in the query's order (order keys, then primary key), of each
 * distinct value of the columns, before offset and limit — against SQLite's `ROW_NUMBER() OVER
 * (PARTITION BY … ORDER BY …, id) = 1`, on random rows (nulls and ties), random orders and pages,
 * with and without an index serving the order, on every executor and the cluster.
 */
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { BadRequestError } from "../../src/errors.js";
import { col, connect, schema, table } from "../../src/orm/index.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

const t = table("t", { id: col.u32().key(), g: col.u32().nullable(), h: col.string(4), v: col.i32().nullable() }).index("by_v", ["v"]);
const S = schema({ namespace: "don", tables: { t } });
type R = { id: number; g: number | null; h: string; v: number | null };

const rowArb = fc.uniqueArray(
  fc.record({ id: fc.nat({ max: 200 }), g: fc.option(fc.nat({ max: 3 }), { nil: null }), h: fc.constantFrom("a", "b", "c"), v: fc.option(fc.integer({ min: -3, max: 3 }), { nil: null }) }),
  { selector: (r) => r.id, maxLength: 40 },
);
const queryArb = fc.record({
  on: fc.constantFrom(["g"], ["h"], ["g", "h"], ["v"]) as fc.Arbitrary<("g" | "h" | "v")[]>,
  order: fc.constantFrom(null, "v", "g", "h") as fc.Arbitrary<"v" | "g" | "h" | null>,
  desc: fc.boolean(),
  offset: fc.option(fc.nat({ max: 4 }), { nil: null }),
  limit: fc.option(fc.nat({ max: 5 }), { nil: null }),
});

describe.each(WITH_CLUSTER)("distinctOn on $name", (factory) => {
  const create = executorsFor(factory, afterAll);

  it("keeps the first row of each value in the query's order, as SQLite's ROW_NUMBER() = 1 does", async () => {
    const db = await connect(S, await create());
    await db.sync();
    await fc.assert(
      fc.asyncProperty(rowArb, fc.array(queryArb, { minLength: 1, maxLength: 4 }), async (rows, queries) => {
        await db.deleteFrom("t").execute();
        if (rows.length > 0) await db.insertInto("t").values(rows).execute();
        const lite = new Database(":memory:");
        lite.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, g INTEGER, h TEXT NOT NULL, v INTEGER)");
        const ins = lite.prepare("INSERT INTO t VALUES (?, ?, ?, ?)");
        for (const r of rows) ins.run(r.id, r.g, r.h, r.v);
        for (const q of queries) {
          let b = db.selectFrom("t").distinctOn(q.on);
          if (q.order) b = b.orderBy(q.order, q.desc ? "desc" : "asc");
          if (q.offset !== null) b = b.offset(q.offset);
          if (q.limit !== null) b = b.limit(q.limit);
          const order = q.order ? `${q.order} ${q.desc ? "DESC" : "ASC"}, id` : "id";
          const page = q.limit !== null ? ` LIMIT ${q.limit} OFFSET ${q.offset ?? 0}` : q.offset !== null ? ` LIMIT -1 OFFSET ${q.offset}` : "";
          const want = lite.prepare(`SELECT id, g, h, v FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY ${q.on.join(", ")} ORDER BY ${order}) AS rn FROM t) WHERE rn = 1 ORDER BY ${order}${page}`).all() as R[];
          expect([q, await b.execute()]).toEqual([q, want]);
        }
        lite.close();
      }),
      { numRuns: factory.name === "cluster" ? 8 : 20 },
    );
  });

  it("refuses distinctOn with grouping or distinct", async () => {
    const db = await connect(S, await create());
    await db.sync();
    await expect(db.selectFrom("t").distinct().distinctOn("g").execute()).rejects.toThrow(BadRequestError);
    await expect(db.selectFrom("t").select((eb) => ["g", eb.fn.count("id").as("n")]).groupBy("g").distinctOn("g").execute()).rejects.toThrow(/distinctOn/);
    expect(() => db.selectFrom("t").distinctOn([])).toThrow(/at least one column/);
  });
});
