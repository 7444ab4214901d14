/**
 * `ColumnGroups` (the hash multi-index of one column) against a plain list of rows: for cells of
 * every kind — small non-negative integers (kept in an array indexed by the cell), negatives,
 * non-integers, large integers, bigints, strings, `-0` — added and removed in any order, including
 * a cell first kept in the Map and later passed by the array's growth, `rowsOf` answers the rows
 * holding the cell, in key order.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ColumnGroups } from "../../src/kernel/storage/column-groups.js";
import { compareTuples, type IndexKey, type KeyCell, normCell } from "../../src/kernel/storage/index-keys.js";
import type { Cell, Row } from "../../src/kernel/storage/table-schema.js";

/** Rows `[id, cell]`, grouped by the cell (position 1), in id order. */
function groupsOver(rows: Row[]): ColumnGroups {
  return new ColumnGroups(1, {
    rowsInOrder: () => [...rows].sort((a, b) => (a[0] as number) - (b[0] as number)),
    keyOf: (row) => [row[0] as KeyCell] as IndexKey,
    compare: compareTuples as (a: IndexKey, b: IndexKey) => number,
  });
}

const cellArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 60 }) },
  // Above the array's first reach (1,024), below what it reaches once it holds enough groups.
  { weight: 3, arbitrary: fc.integer({ min: 1_024, max: 1_200 }) },
  { weight: 1, arbitrary: fc.integer({ min: -5, max: -1 }) },
  { weight: 1, arbitrary: fc.constantFrom(0.5, 2.5, -0, 2 ** 31 - 1, 2 ** 40, Number.MAX_SAFE_INTEGER) },
  { weight: 1, arbitrary: fc.constantFrom(2n ** 60n, "a", "7", "") },
);

describe("ColumnGroups", () => {
  it("answers the rows of each cell as a list of rows does, whatever the cells and the order of changes", () => {
    fc.assert(
      fc.property(
        fc.array(cellArb, { maxLength: 40 }),
        fc.array(fc.oneof(fc.record({ add: cellArb }), fc.record({ remove: fc.nat() }), fc.record({ many: fc.integer({ min: 0, max: 400 }) })), { maxLength: 120 }),
        (initial, changes) => {
          let nextId = 0;
          const rows: Row[] = initial.map((c) => [nextId++, c] as Row);
          const groups = groupsOver(rows);
          const probe = (cell: unknown): void => {
            // Cells equal as a Map's keys are (`-0` is `0`).
            const want = rows.filter((r) => normCell(r[1] as Cell) === normCell(cell as Cell)).sort((a, b) => (a[0] as number) - (b[0] as number));
            expect(groups.rowsOf(normCell(cell as Cell))).toEqual(want);
          };
          for (const c of changes) {
            if ("add" in c) {
              const row = [nextId++, c.add] as Row;
              rows.push(row);
              groups.added(row);
              probe(c.add);
            } else if ("remove" in c) {
              if (rows.length === 0) continue;
              const [row] = rows.splice(c.remove % rows.length, 1);
              groups.removed(row!);
              probe(row![1]);
            } else {
              // Many small cells at once: the array's reach grows past cells the Map holds.
              for (let i = 0; i < c.many; i++) {
                const row = [nextId++, 100 + i] as Row;
                rows.push(row);
                groups.added(row);
              }
            }
          }
          for (const r of rows) probe(r[1]);
          for (const cell of [0, -0, 1_100, 2.5, "a", 2n ** 60n, 99_999]) probe(cell);
        },
      ),
      { numRuns: 150 },
    );
  });
});
