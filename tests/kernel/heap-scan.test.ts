/**
 * A whole-table scan of the memory engine walks its B+ tree's leaves directly (no range bounds,
 * no filter): it must visit exactly the tree's rows in key order — primary key or a secondary
 * index's order — on trees of many leaves after random inserts and deletes, and stop at once when
 * the visitor asks. sorted-btree's own `valuesArray()` is the reference.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HeapTable as Table } from "../../src/kernel/storage/heap-table.js";
import { type Row, parseSchema } from "../../src/kernel/storage/table-schema.js";

const SCHEMA = [
  [[["a", "/state/scalar/value/number/int/32"]], [["v", "/state/scalar/value/number/uint/16", null, { nullable: true }]]],
  [["by_v", ["v"]]],
];

describe("whole-table scans of the memory engine", () => {
  it("visit every row in the index's order and stop when asked", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.integer({ min: -5000, max: 5000 }), fc.option(fc.integer({ min: 0, max: 300 }), { nil: null })), { selector: (r) => r[0], maxLength: 3000, size: "max" }),
        fc.array(fc.integer({ min: -5000, max: 5000 }), { maxLength: 300 }),
        fc.nat({ max: 4000 }),
        fc.boolean(),
        (rows, deletes, stopAt, bulk) => {
          const t = new Table("/state/p/t", parseSchema(SCHEMA));
          if (bulk) t.insertMany(rows, undefined);
          else for (const r of rows) t.write(t.checkRow(r), "insert", undefined);
          for (const a of deletes) t.remove([a], undefined);
          for (const plan of [t.plan([]), t.plan([], ["v"])]) {
            const want = plan.index.tree.valuesArray() as Row[];
            const all: Row[] = [];
            t.scan(plan, (row) => {
              all.push(row);
            });
            expect(all).toEqual(want);
            const some: Row[] = [];
            t.scan(plan, (row) => {
              some.push(row);
              return some.length >= stopAt;
            });
            // The visitor answers true once it holds `stopAt` rows (at least the first one).
            expect(some).toEqual(want.slice(0, want.length === 0 ? 0 : Math.max(1, Math.min(stopAt, want.length))));
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
