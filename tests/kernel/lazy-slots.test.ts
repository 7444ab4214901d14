/**
 * A lazy slot space (storage/derived/key-slots.ts, `KeySlots.lazy`) keeps no rows: per slot only
 * liveness, and the key where `keyBase` cannot give it. Whatever keys were interned and rows
 * added, replaced or removed, it must answer `slotOf`, `keyOf`, liveness and `row` exactly as a
 * slot space that keeps its rows does. The codings and numeric vectors it makes of the columns
 * used (from one scan of the table) must hold the table's cells through every change after.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NO_ROW } from "../../src/kernel/storage/derived/column-codes.js";
import { ColumnNumbers, NUM_NO_ROW } from "../../src/kernel/storage/derived/column-vector.js";
import { KeySlots } from "../../src/kernel/storage/derived/key-slots.js";
import type { KeyCell } from "../../src/kernel/storage/index-keys.js";
import type { Table } from "../../src/kernel/storage/table-engine.js";
import type { Row } from "../../src/kernel/storage/table-schema.js";

const key: fc.Arbitrary<KeyCell> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 5000, max: 2 ** 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(-3, 0.5, "a", "b", "7") },
);
/** A cell of the columns after the key: numbers (NaN and -0 among them), null, few strings, a rare bigint or object. */
const cell: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(NaN, -0, 0.5, 2 ** 60)) },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom("en", "fr") },
  { weight: 1, arbitrary: fc.constantFrom(2n ** 60n, { href: "/x" }) },
);
type Change =
  | { kind: "put"; key: KeyCell; v: number; w: unknown }
  | { kind: "remove"; key: KeyCell }
  | { kind: "ref"; key: KeyCell }
  /** A reader uses the columns: the lazy slot space makes what it keeps of them. */
  | { kind: "use"; positions: number[] };
const change: fc.Arbitrary<Change> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("put" as const), key, v: fc.integer(), w: cell }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("remove" as const), key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("ref" as const), key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("use" as const), positions: fc.subarray([1, 2], { minLength: 1 }) }) },
);

/** A table over `stored` as far as a lazy slot space reads it: `get`, and a scan of every row. */
function tableOver(stored: Map<KeyCell, Row>): Table {
  return {
    path: "/state/t",
    get: (k: KeyCell) => stored.get(k),
    plan: () => ({}),
    scan: (_plan: unknown, visit: (row: Row) => boolean | void) => {
      for (const row of stored.values()) if (visit(row) === true) return;
    },
  } as unknown as Table;
}

/** What the lazy slot space keeps of column `pos` holds exactly the table's cells there. */
function expectColumnsMatch(lazy: KeySlots, eager: KeySlots, pos: number): void {
  const numbers = lazy.numbersIfMade(pos);
  const coded = lazy.codesIfMade(pos);
  for (let s = 0; s < eager.rows.length; s++) {
    const want = eager.rows[s]?.[pos];
    expect(lazy.cellOf(s, pos)).toBe(want);
    if (numbers !== undefined) expect(numbers.cell(s)).toBe(want);
    if (coded !== undefined) {
      const code = s < coded.codes.length ? coded.codes[s] : NO_ROW;
      if (want === undefined) expect(code).toBe(NO_ROW);
      else {
        expect(code).toBe(coded.codeOf(want));
        if (coded.values !== undefined) expect(coded.values[code!]).toBe(want);
      }
    }
  }
}

describe("a lazy KeySlots", () => {
  it("answers slots, keys, liveness and rows as an eager one does", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 30 }), fc.array(change, { maxLength: 120 }), (initial, changes) => {
        // The table: rows by key (what a lazy slot space reads with `get`).
        const stored = new Map<KeyCell, Row>();
        for (const k of [...new Set(initial)].sort((a, b) => a - b)) stored.set(k, [k, k % 3, null] as unknown as Row);
        const table = tableOver(stored);
        const eager = new KeySlots([...stored.values()]);
        const lazy = new KeySlots([...stored.values()], table);
        expect(lazy.lazy).toBe(true);
        expect(eager.lazy).toBe(false);
        for (const c of changes) {
          if (c.kind === "use") {
            lazy.prepareColumns(c.positions);
            for (const pos of c.positions) expectColumnsMatch(lazy, eager, pos);
          } else if (c.kind === "ref") {
            expect(lazy.intern(c.key)).toBe(eager.intern(c.key));
          } else if (c.kind === "put") {
            const row = [c.key, c.v, c.w] as unknown as Row;
            const old = stored.get(c.key);
            stored.set(c.key, row);
            for (const s of [eager, lazy]) {
              if (old !== undefined) s.replaced(old, row);
              else s.added(row);
            }
          } else {
            const old = stored.get(c.key);
            if (old === undefined) continue;
            stored.delete(c.key);
            eager.removed(old);
            lazy.removed(old);
          }
          expect(lazy.rows.length).toBe(eager.rows.length);
          expect(lazy.liveVersion).toBe(eager.liveVersion);
          expect(lazy.keyBase).toBe(eager.keyBase);
        }
        for (let s = 0; s < eager.rows.length; s++) {
          expect(lazy.rows[s] === undefined).toBe(eager.rows[s] === undefined);
          expect(lazy.row(s)).toEqual(eager.row(s));
          if (eager.rows[s] !== undefined) expect(lazy.keyOf(s)).toBe(eager.keyOf(s));
          expect(eager.slotOf(lazy.keyOf(s))).toBe(s);
          expect(lazy.slotOf(lazy.keyOf(s))).toBe(s);
        }
        for (const k of [-3, 0, 1, 7, 39, 0.5, "a", "b", "7", "zz", 2 ** 41]) expect(lazy.slotOf(k)).toBe(eager.slotOf(k));
        for (const pos of [1, 2]) expectColumnsMatch(lazy, eager, pos);
        // Start over from the table's rows (a truncate, a bulk load, a rollback of either).
        const rows = [...stored.values()];
        eager.reset(rows);
        lazy.reset(rows);
        for (let s = 0; s < eager.rows.length; s++) expect(lazy.row(s)).toEqual(eager.row(s));
        for (const pos of [1, 2]) expectColumnsMatch(lazy, eager, pos);
        // A truncate, then the rollback that puts the rows back.
        stored.clear();
        eager.reset([]);
        lazy.reset([]);
        for (const pos of [1, 2]) expectColumnsMatch(lazy, eager, pos);
        for (const row of rows) stored.set(row[0] as KeyCell, row);
        eager.reset(rows);
        lazy.reset(rows);
        for (const pos of [1, 2]) expectColumnsMatch(lazy, eager, pos);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps no column vectors; codes and numbers are made on first use, in one scan for all columns asked", () => {
    const stored = new Map<KeyCell, Row>();
    for (let k = 0; k < 300; k++) stored.set(k, [k, k % 2 === 0 ? "en" : "fr", k * 1.5, `text ${k}`, k === 7 ? null : -k] as unknown as Row);
    const table = tableOver(stored);
    let scans = 0;
    const scan = table.scan.bind(table);
    table.scan = (plan, visit) => {
      scans++;
      scan(plan, visit);
    };
    const lazy = KeySlots.lazyOver(table);
    scans = 0;
    expect(() => lazy.column(1)).toThrow();
    expect(lazy.codesIfMade(1)).toBeUndefined();
    expect(lazy.numbersIfMade(2)).toBeUndefined();
    lazy.prepareColumns([1, 2, 3, 4]);
    expect(scans).toBe(1);
    // A low-cardinality string column is coded; numeric columns of 300 distinct values get
    // vectors and no coding; strings of as many values get neither.
    expect(lazy.codes(1)!.values).toEqual(["en", "fr"]);
    expect(lazy.numbers(1)).toBeUndefined();
    expect(lazy.numbers(2)).toBeInstanceOf(ColumnNumbers);
    expect(lazy.codes(2)).toBeUndefined();
    expect(lazy.codes(3)).toBeUndefined();
    expect(lazy.numbers(3)).toBeUndefined();
    expect(lazy.numbers(4)!.cell(lazy.slotOf(7)!)).toBeNull();
    expect(lazy.numbers(4)!.cell(lazy.slotOf(8)!)).toBe(-8);
    expect(lazy.numbers(4)!.kinds[5000]).toBeUndefined();
    expect(scans).toBe(1);
    // Asking again scans nothing; a new column scans once more.
    lazy.prepareColumns([2, 4]);
    expect(scans).toBe(1);
    lazy.codes(0);
    expect(scans).toBe(2);
    // A removed row leaves its slot without a cell.
    const gone = stored.get(9)!;
    stored.delete(9);
    lazy.removed(gone);
    expect(lazy.numbers(4)!.kinds[lazy.slotOf(9)!]).toBe(NUM_NO_ROW);
    expect(lazy.codes(1)!.codes[lazy.slotOf(9)!]).toBe(NO_ROW);
    expect(lazy.cellOf(lazy.slotOf(9)!, 2)).toBeUndefined();
  });

  it("stops the scan once every column asked for gave up", () => {
    const stored = new Map<KeyCell, Row>();
    for (let k = 0; k < 1000; k++) stored.set(k, [k, k === 3 ? { href: "/x" } : k] as unknown as Row);
    const table = tableOver(stored);
    const lazy = KeySlots.lazyOver(table);
    let visited = 0;
    const scan = table.scan.bind(table);
    table.scan = (plan, visit) =>
      scan(plan, (row) => {
        visited++;
        return visit(row);
      });
    expect(lazy.numbers(1)).toBeUndefined();
    expect(lazy.codes(1)).toBeUndefined();
    expect(visited).toBe(4);
    // Read from the rows then.
    expect(lazy.cellOf(lazy.slotOf(3)!, 1)).toEqual({ href: "/x" });
    expect(lazy.cellOf(lazy.slotOf(500)!, 1)).toBe(500);
  });
});
