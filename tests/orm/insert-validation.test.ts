/**
 * An insert's rows are checked without zod when every cell passes its column's quick check; any
 * other row goes to zod. The two paths must accept exactly the same rows: random rows (well and
 * badly typed cells, unknown and missing columns, nulls) are accepted by `insertInto(…).compile()`
 * exactly when the table's zod insert schema accepts them with the defaults filled in.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { col, connect, schema, table } from "../../src/orm/index.js";

const counter = table("counter", {
  id: col.u32().key().autoIncrement(),
  small: col.i8(),
  big: col.u64(),
  ratio: col.f64().nullable(),
  flag: col.bool().default(false),
  label: col.string(4),
  note: col.string(64).nullable(),
});
const plain = table("plain", { id: col.i32().key(), label: col.string(3).nullable(), n: col.u16().default(7) });
const app = schema({ namespace: "insval", tables: { counter, plain } });

const cell = fc.oneof(
  fc.integer({ min: -300, max: 70_000 }),
  fc.constantFrom(0, -0, 1.5, 2 ** 53, -1, 127, 128, Number.NaN, Number.POSITIVE_INFINITY, 1e300),
  fc.boolean(),
  fc.constantFrom(null, undefined),
  fc.string({ maxLength: 6 }),
  fc.constantFrom("\ud800", "ab\ud83d\ude00", "😀😀😀😀", "😀😀😀😀😀", "abcd", "abcde"),
  fc.constant(10n),
  fc.constant([1]),
);

/** Values each column takes (a few of them out of range), mixed with any cell now and then. */
const GOOD: Record<string, fc.Arbitrary<unknown>> = {
  id: fc.integer({ min: -5, max: 1_000 }),
  small: fc.integer({ min: -130, max: 130 }),
  big: fc.oneof(fc.nat(), fc.constant(2 ** 53 - 1)),
  ratio: fc.double(),
  flag: fc.boolean(),
  label: fc.string({ maxLength: 5 }),
  note: fc.string({ maxLength: 70 }),
  n: fc.integer({ min: -1, max: 70_000 }),
};

function rowOf(names: readonly string[]) {
  const entries = names.map((n) => [n, fc.oneof({ arbitrary: GOOD[n]!, weight: 40 }, { arbitrary: cell, weight: 1 })] as const);
  // Mostly every column given (so that many rows pass), sometimes any of them left out.
  const row = fc.oneof({ arbitrary: fc.record(Object.fromEntries(entries)), weight: 3 }, { arbitrary: fc.record(Object.fromEntries(entries), { requiredKeys: [] }), weight: 1 });
  // Now and then a key that is no column.
  const extra = fc.oneof({ arbitrary: fc.constant(null), weight: 12 }, { arbitrary: cell, weight: 1 });
  return fc.tuple(row, extra).map(([row, extra]) =>
    extra === null ? row : { ...row, extra },
  );
}

describe("insert row checks", () => {
  it("accept exactly the rows the zod insert schema accepts", async () => {
    const db = await connect(app, { request: async () => null, execute: async () => null, close: async () => undefined } as never);
    for (const [name, defaults, nullable] of [
      ["counter", { flag: false }, ["ratio", "note"]],
      ["plain", { n: 7 }, ["label"]],
    ] as const) {
      const names = Object.keys(name === "counter" ? counter.columns : plain.columns);
      const v = app.validators(name);
      const zodSchema = name === "counter" ? v.insert : v.select;
      let accepts = 0;
      fc.assert(
        fc.property(rowOf(names), (row) => {
          const filled: Record<string, unknown> = { ...row };
          for (const [k, d] of Object.entries(defaults)) if (filled[k] === undefined) filled[k] = d;
          for (const k of nullable) if (filled[k] === undefined) filled[k] = null;
          const zodAccepts = zodSchema.safeParse(filled).success;
          if (zodAccepts) accepts++;
          let accepted = true;
          try {
            db.insertInto(name as "counter").values(row as never).compile();
          } catch (e) {
            expect((e as { kind?: string }).kind).toBe("bad_request");
            accepted = false;
          }
          expect(accepted, JSON.stringify(row, (_k, x) => (typeof x === "bigint" ? `${x}n` : x))).toBe(zodAccepts);
        }),
        { numRuns: 3_000 },
      );
      // Both outcomes were tried, many times.
      expect(accepts, name).toBeGreaterThan(100);
      expect(accepts, name).toBeLessThan(2_900);
    }
  });
});
