/**
 * Planning through the public builders (`explain()`, `compile()`): which index serves which
 * predicate, what is filtered after, how orders are served or refused. No executor needed.
 */
import { describe, expect, it } from "vitest";
import type { Executor } from "../../src/executor.js";
import { param } from "../../src/ir/index.js";
import { col, connect, schema, table } from "../../src/orm/index.js";

const events = table("events", {
  tenant: col.u32().key(),
  seq: col.u64().key(),
  kind: col.string(16),
  at: col.u64(),
  score: col.f64().nullable(),
  label: col.string(32),
})
  .index("by_kind_at", ["kind", "at"])
  .index("by_score", ["score"])
  .index("by_label", ["label"]);
const s = schema({ namespace: "plan", tables: { events } });
const noop: Executor = {
  execute: async () => null,
  request: async () => null,
  session: async () => {
    throw new Error("unused");
  },
  close: async () => {},
};
const db = await connect(s, noop);
const q = () => db.selectFrom("events");

describe("zod validators", () => {
  it("check rows the way inserts do", () => {
    const v = s.validators("events");
    expect(v.select.safeParse({ tenant: 1, seq: 2, kind: "k", at: 3, score: null, label: "l" }).success).toBe(true);
    expect(v.insert.safeParse({ tenant: 1, seq: 2, kind: "k", at: 3, label: "l" }).success).toBe(true);
    expect(v.insert.safeParse({ tenant: -1, seq: 2, kind: "k", at: 3, label: "l" }).success).toBe(false);
    expect(v.update.safeParse({ tenant: 1 }).success).toBe(false);
    expect(v.update.safeParse({ kind: "x".repeat(17) }).success).toBe(false);
  });
});

describe("planner", () => {
  it("uses the key for a full-key equality, and a primary range for a key prefix", () => {
    expect(q().where("tenant", "=", 1).where("seq", "=", 2).explain()).toMatchObject({ access: "key lookup", index: "primary" });
    expect(q().where("tenant", "=", 1).where("seq", ">", 2).explain()).toMatchObject({
      access: "index range",
      index: "primary",
      served: ["tenant = ?", "seq > ?"],
      filtered: [],
    });
    // A lookup plus another predicate is a range on the primary index with a filter after.
    expect(q().where("tenant", "=", 1).where("seq", "=", 2).where("at", ">", 5).explain()).toMatchObject({
      index: "primary",
      served: ["tenant = ?", "seq = ?"],
      filtered: ["at > ?"],
    });
  });

  it("prefers the index serving the most predicates, equality before range", () => {
    expect(q().where("at", ">", 1).where("kind", "=", "x").explain()).toMatchObject({ index: "by_kind_at", served: ["kind = ?", "at > ?"], filtered: [] });
    expect(q().where("at", ">=", 1).where("at", "<", 9).where("kind", "=", "x").explain().served).toEqual(["kind = ?", "at >= ?", "at < ?"]);
    // Two lower bounds on one column: one is the range, the other is filtered.
    expect(q().where("kind", "=", "x").where("at", ">", 1).where("at", ">", param("min")).explain().filtered).toEqual(["at > $min"]);
  });

  it("serves an order after the equality prefix, reversed for desc, and refuses an unserved one", () => {
    // Descending: the index is read forwards and sorted stably, so ties come by key ascending.
    expect(q().where("kind", "=", "x").orderBy("at", "desc").explain()).toMatchObject({ index: "by_kind_at", order: "kind, at desc (order route on by_kind_at, then the sort route: ties by key ascending)" });
    expect(q().orderBy("tenant").explain()).toMatchObject({ index: "primary", access: "full scan" });
    expect(q().where("tenant", "=", 3).orderBy("seq", "desc").explain().order).toBe("tenant, seq desc (order route on primary, then the sort route: ties by key ascending)");
    // No index serves these orders: the rows are sorted after filtering (the sort route).
    expect(q().orderBy("at").explain()).toMatchObject({ access: "full scan", order: "at asc (sort route (extension))" });
    expect(q().where("label", "=", "a").orderBy("at", "desc").explain()).toMatchObject({ order: "at desc (sort route (extension))" });
  });

  it("excludes nulls from an open-below range on a nullable column", () => {
    expect(q().where("score", "<", 0.5).explain()).toMatchObject({ index: "by_score", served: ["score < ?"], filtered: ["score isNotNull"] });
    expect(q().where("score", ">", 0.5).explain().filtered).toEqual([]);
  });

  it("filters a string range that no index serves, in both lowerings", () => {
    expect(q().where("tenant", "=", 1).where("kind", ">", "m").explain()).toMatchObject({ filtered: ["kind > ?"] });
    expect(() => q().where("tenant", "=", 1).where("kind", ">", "m").compile()).not.toThrow();
    expect(q().where("label", ">", "m").explain()).toMatchObject({ index: "by_label", served: ["label > ?"] });
  });

  it("gives every same-shape query the same op object, and a different shape another", () => {
    const a = q().where("kind", "=", "a").where("at", ">", 1).compile();
    const b = q().where("kind", "=", "b").where("at", ">", 2).compile();
    const c = q().where("kind", "=", "b").where("at", ">=", 2).compile();
    expect(a.op).toBe(b.op);
    expect(a.bound).not.toEqual(b.bound);
    expect(c.op).not.toEqual(a.op);
  });
});
