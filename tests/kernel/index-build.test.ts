/**
 * A secondary index built in bulk (a bulk insert into an empty table, or one merged into a table
 * of comparable size, and a range write rebuilding it) orders its rows by a sort chosen by the
 * values it meets (`secondaryOrder`: a counting sort over a small integer range, integers packed
 * with their positions and sorted natively, else grouping by distinct value). Whatever the values,
 * the index must list the rows as the value order then the key order says.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Database } from "../../src/kernel/state/database.js";
import { TableView, tableLiteral } from "../../src/kernel/state/table-view.js";

const SCHEMA = [[[["id", "/state/scalar/value/number/int/32"]], [["v", "/state/scalar/value/number/float/64"]]], [["by_v", ["v"]]]];
const T = ["p", "t"];

// Values of each kind the sort tells apart: a small integer range, a wide one (beyond 2n + 1024),
// huge integers (too wide to pack with the positions), and fractions; with repeats.
const valueArb = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.integer({ min: -3_000_000, max: 3_000_000 }),
  fc.constantFrom(2 ** 52, -(2 ** 52), 2 ** 40 + 1),
  fc.double({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x)),
);
const kindArb = fc.constantFrom("small", "wide", "any");

describe("secondary indexes built in bulk", () => {
  it("list rows in value order, then key order, whatever the values", async () => {
    await fc.assert(
      fc.asyncProperty(kindArb, fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), valueArb), { minLength: 1, maxLength: 400 }), fc.integer({ min: 0, max: 3 }), async (kind, raw, split) => {
        // `+ 0` turns a -0 into 0 (the column stores -0 as 0).
        const pick = (v: number) => (kind === "small" ? Math.round(v) % 6 : kind === "wide" ? Math.trunc(v) : v) + 0;
        const byId = new Map<number, number>();
        for (const [id, v] of raw) byId.set(id, pick(v));
        const rows = [...byId].map(([id, v]) => [id, v] as [number, number]);
        const db = await Database.open({});
        try {
          const txn = await db.begin();
          txn.request("put", T, null, tableLiteral(SCHEMA, []));
          // The first part loads the empty table; the rest is merged into it (when as many).
          const cut = Math.floor((rows.length * split) / 4);
          txn.request("put", [...T, "insert_rows"], null, rows.slice(0, cut));
          txn.request("put", [...T, "insert_rows"], null, rows.slice(cut));
          const view = txn.request("get", T, [["v", [null, null]]], undefined) as TableView;
          expect(view).toBeInstanceOf(TableView);
          const want = [...rows].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
          expect(view.rows()).toEqual(want);
          await txn.commit();
        } finally {
          await db.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
