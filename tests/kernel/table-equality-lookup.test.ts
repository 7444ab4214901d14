/**
 * `Table.equalityLookup` (the prepared lookup the graph traversal uses, walking the B+ tree leaves
 * directly) must return exactly what the engine's own `plan` + `scan` return for the same
 * equality constraints, in the same order — on trees deep enough to span many leaves, after
 * random inserts and deletes, for primary prefixes, full keys, secondary indexes, any column order.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Table } from "../../src/client/embedded/table-engine.js";
import type { KeyCell } from "../../src/client/embedded/table-keys.js";
import { parseSchema } from "../../src/client/embedded/table-schema.js";
import type { ColumnConstraint } from "../../src/client/embedded/selector.js";

const SCHEMA = [
  [
    [["a", "/state/scalar/value/number/int/32"], ["b", "/state/scalar/value/string", 8]],
    [["v", "/state/scalar/value/number/uint/8", null, { nullable: true }], ["w", "/state/scalar/value/string", 8]],
  ],
  [["by_v", ["v"]], ["by_w_v", ["w", "v"]]],
];

const aArb = fc.integer({ min: 0, max: 200 });
const bArb = fc.constantFrom("", "a", "ab", "b", "c", "\u{1F600}", "\uFFFF", "z");
const vArb = fc.option(fc.integer({ min: 0, max: 6 }), { nil: null });
const wArb = fc.constantFrom("x", "y", "");

function viaPlan(t: Table, cols: readonly string[], cells: readonly KeyCell[]): unknown[] {
  const constraints: ColumnConstraint[] = cols.map((c, i) => ({ column: t.schema.column(c)!, eq: true, value: cells[i]! }));
  const out: unknown[] = [];
  t.scan(t.plan(constraints), (row) => {
    out.push(row);
  });
  return out;
}

const LOOKUPS: readonly (readonly string[])[] = [["a"], ["a", "b"], ["b", "a"], ["v"], ["w"], ["w", "v"], ["v", "w"]];

describe("Table.equalityLookup", () => {
  it("matches plan + scan on random tables (many leaves, after deletes)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(aArb, bArb, vArb, wArb), { selector: (r) => `${r[0]}|${r[1]}`, minLength: 0, maxLength: 600, size: "max" }),
        fc.array(fc.tuple(aArb, bArb), { maxLength: 60 }),
        fc.array(fc.tuple(fc.constantFrom(...LOOKUPS), aArb, bArb, vArb, wArb), { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        (rows, deletes, probes, bulk) => {
          const t = new Table("/state/p/t", parseSchema(SCHEMA));
          if (bulk) t.insertMany(rows, undefined);
          else for (const r of rows) t.write(t.checkRow(r), "insert", undefined);
          for (const [a, b] of deletes) t.remove([a, b], undefined);
          for (const [cols, a, b, v, w] of probes) {
            const byName: Record<string, KeyCell> = { a, b, v, w };
            const cells = cols.map((c) => byName[c]!);
            const got: unknown[] = [];
            t.equalityLookup(cols)(cells, got as never[]);
            expect(got).toEqual(viaPlan(t, cols, cells));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("refuses a lookup no index serves, like plan", () => {
    const t = new Table("/state/p/t", parseSchema(SCHEMA));
    expect(() => t.equalityLookup(["b"])).toThrow(/no index which supports/);
  });
});
