/**
 * `Table.equalityLookup` (the prepared lookup the graph traversal uses, walking the B+ tree leaves
 * directly) must return exactly what the engine's own `plan` + `scan` return for the same
 * equality constraints, in the same order — on trees deep enough to span many leaves, after
 * random inserts and deletes, for primary prefixes, full keys, secondary indexes, any column order.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HeapTable as Table } from "../../src/kernel/storage/heap-table.js";
import { rowMatches } from "../../src/kernel/storage/scan-plan.js";
import { type IndexKey, type KeyCell, normCell } from "../../src/kernel/storage/index-keys.js";
import { type Row, parseSchema } from "../../src/kernel/storage/table-schema.js";
import type { TableState, WriteLog } from "../../src/kernel/storage/table-engine.js";
import type { ColumnConstraint } from "../../src/kernel/storage/scan-plan.js";

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

/**
 * The reference: every row (a full scan of the primary tree) that matches, sorted by the key of the
 * index `plan` picks — independent of the hash groups, which both `equalityLookup` and a one-column
 * selector's scan now use.
 */
function viaPlan(t: Table, cols: readonly string[], cells: readonly KeyCell[]): unknown[] {
  const constraints: ColumnConstraint[] = cols.map((c, i) => ({ column: t.schema.column(c)!, eq: true, value: cells[i]! }));
  const all: Row[] = [];
  t.scan(t.plan([]), (row) => {
    all.push(row);
  });
  if (cols.length === 0) return all;
  const ix = t.plan(constraints).index;
  const keyOf = (r: Row): IndexKey => (ix.scalar ? normCell(r[ix.keyPositions[0]!]!) : ix.keyPositions.map((p) => normCell(r[p]!)));
  return all.filter((r) => rowMatches(constraints, r)).sort((a, b) => ix.compare(keyOf(a), keyOf(b)));
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

  // One-column lookups answer from a hash multi-index built on first use and kept in step with
  // writes; probing between random writes, truncates, bulk loads and rollbacks checks that upkeep.
  // Small tables: groups change in place. Large ones (over 64 rows per `v`/`w` value): groups
  // take changes lazily and are settled on their next read.
  it.each([
    ["small tables", 12, 30, 120, 150, 0, 1],
    ["large groups", 150, 40, 200, 40, 400, 0],
  ] as const)("stays equal to plan + scan while rows change, including rollbacks and bulk changes (%s)", (_name, maxA, bulkMax, maxChanges, numRuns, preload, truncateWeight) => {
    type Change =
      | { kind: "insert" | "upsert"; row: [number, string, number | null, string] }
      | { kind: "delete"; a: number; b: string }
      | { kind: "truncate" }
      | { kind: "bulk"; rows: [number, string, number | null, string][] }
      | { kind: "probe"; cols: readonly string[]; cells: [number, string, number | null, string] }
      | { kind: "begin" }
      | { kind: "rollback" };
    const small = fc.integer({ min: 0, max: maxA });
    const row = fc.tuple(small, fc.constantFrom("a", "b", "c"), vArb, wArb);
    const change: fc.Arbitrary<Change> = fc.oneof(
      { weight: 6, arbitrary: row.map((r) => ({ kind: "insert" as const, row: r })) },
      { weight: 4, arbitrary: row.map((r) => ({ kind: "upsert" as const, row: r })) },
      { weight: 3, arbitrary: fc.tuple(small, fc.constantFrom("a", "b", "c")).map(([a, b]) => ({ kind: "delete" as const, a, b })) },
      { weight: truncateWeight, arbitrary: fc.constant({ kind: "truncate" as const }) },
      { weight: 1, arbitrary: fc.uniqueArray(row, { selector: (r) => `${r[0]}|${r[1]}`, maxLength: bulkMax }).map((rows) => ({ kind: "bulk" as const, rows })) },
      { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...LOOKUPS), row).map(([cols, cells]) => ({ kind: "probe" as const, cols, cells })) },
      { weight: 2, arbitrary: fc.constant({ kind: "begin" as const }) },
      { weight: 2, arbitrary: fc.constant({ kind: "rollback" as const }) },
    );
    fc.assert(
      fc.property(fc.array(change, { maxLength: maxChanges }), fc.uniqueArray(row, { selector: (r) => `${r[0]}|${r[1]}`, minLength: preload, maxLength: preload }), (changes, initial) => {
        const t = new Table("/state/p/t", parseSchema(SCHEMA));
        if (initial.length > 0) t.insertMany(initial.map((r) => t.checkRow(r)), undefined);
        // An undo log like the transaction's: row changes restored newest first, bulk changes by state.
        let undo: (() => void)[] | undefined;
        const log: WriteLog = {
          rowChanged: (_t: Table, key: IndexKey, old: Row | undefined) => undo?.push(() => t.restoreRow(key, old)),
          truncated: (_t: Table, saved: TableState) => undo?.push(() => t.restoreState(saved)),
          bulkLoaded: (_t: Table, saved: TableState) => undo?.push(() => t.restoreState(saved)),
        };
        const probe = (cols: readonly string[], r: readonly unknown[]): void => {
          const byName: Record<string, KeyCell> = { a: r[0] as KeyCell, b: r[1] as KeyCell, v: r[2] as KeyCell, w: r[3] as KeyCell };
          const cells = cols.map((c) => byName[c]!);
          const got: unknown[] = [];
          t.equalityLookup(cols)(cells, got as never[]);
          expect(got).toEqual(viaPlan(t, cols, cells));
        };
        for (const c of changes) {
          if (c.kind === "insert" || c.kind === "upsert") {
            try {
              t.write(t.checkRow(c.row), c.kind, log);
            } catch {
              // a duplicate insert: refused, nothing written
            }
          } else if (c.kind === "delete") t.remove([c.a, c.b], log);
          else if (c.kind === "truncate") t.truncate(log);
          else if (c.kind === "bulk") {
            try {
              t.insertMany(c.rows, log);
            } catch {
              // a key already present: the rows written so far are in the undo log
            }
          } else if (c.kind === "begin") undo = [];
          else if (c.kind === "rollback" && undo !== undefined) {
            for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
            undo = undefined;
          } else if (c.kind === "probe") probe(c.cols, c.cells);
        }
        // Every one-column lookup, for every value present, at the end.
        for (const r of viaPlan(t, [], []) as unknown[][]) for (const cols of LOOKUPS) probe(cols, r);
      }),
      // Shrinking hundreds of rows takes minutes; report the first counterexample as found.
      { numRuns, endOnFailure: preload > 0 },
    );
  });

  it("refuses a lookup no index serves, like plan", () => {
    const t = new Table("/state/p/t", parseSchema(SCHEMA));
    expect(() => t.equalityLookup(["b"])).toThrow(/no index which supports/);
  });
});
