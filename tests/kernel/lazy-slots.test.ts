/**
 * A lazy slot space (storage/derived/key-slots.ts, `KeySlots.lazy`) keeps no rows: per slot only
 * liveness, and the key where `keyBase` cannot give it. Whatever keys were interned and rows
 * added, replaced or removed, it must answer `slotOf`, `keyOf`, liveness and `row` exactly as a
 * slot space that keeps its rows does.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KeySlots } from "../../src/kernel/storage/derived/key-slots.js";
import type { KeyCell } from "../../src/kernel/storage/index-keys.js";
import type { Table } from "../../src/kernel/storage/table-engine.js";
import type { Row } from "../../src/kernel/storage/table-schema.js";

const key: fc.Arbitrary<KeyCell> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 5000, max: 2 ** 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(-3, 0.5, "a", "b", "7") },
);
type Change = { kind: "put"; key: KeyCell; v: number } | { kind: "remove"; key: KeyCell } | { kind: "ref"; key: KeyCell };
const change: fc.Arbitrary<Change> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("put" as const), key, v: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("remove" as const), key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("ref" as const), key }) },
);

describe("a lazy KeySlots", () => {
  it("answers slots, keys, liveness and rows as an eager one does", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 30 }), fc.array(change, { maxLength: 120 }), (initial, changes) => {
        // The table: rows by key (what a lazy slot space reads with `get`).
        const stored = new Map<KeyCell, Row>();
        for (const k of [...new Set(initial)].sort((a, b) => a - b)) stored.set(k, [k, `v${k}`] as unknown as Row);
        const table = { get: (k: KeyCell) => stored.get(k) } as unknown as Table;
        const eager = new KeySlots([...stored.values()]);
        const lazy = new KeySlots([...stored.values()], table);
        expect(lazy.lazy).toBe(true);
        expect(eager.lazy).toBe(false);
        for (const c of changes) {
          if (c.kind === "ref") {
            expect(lazy.intern(c.key)).toBe(eager.intern(c.key));
          } else if (c.kind === "put") {
            const row = [c.key, c.v] as unknown as Row;
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
        // Start over from the table's rows (a truncate, a bulk load, a rollback of either).
        const rows = [...stored.values()];
        eager.reset(rows);
        lazy.reset(rows);
        for (let s = 0; s < eager.rows.length; s++) expect(lazy.row(s)).toEqual(eager.row(s));
      }),
      { numRuns: 300 },
    );
  });

  it("keeps no column vectors or codings", () => {
    const lazy = new KeySlots([[1, "x"] as unknown as Row], { get: () => undefined } as unknown as Table);
    expect(lazy.codes(1)).toBeUndefined();
    expect(lazy.codesIfMade(1)).toBeUndefined();
    expect(() => lazy.column(1)).toThrow();
  });
});
