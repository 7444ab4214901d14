/**
 * `sortSlotsInto` sorts a page's slots: a bucket pass for even spreads, the built-in sort for
 * uneven ones and large sets. Whatever the path, the output is the ascending order of the input.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sortSlotsInto } from "../../src/kernel/traverse/slot-sort.js";

const MAX_SLOT = 2 ** 31 - 1;

function sortedBy(values: number[], n = values.length): number[] {
  const out = new Int32Array(n + 3).fill(-7);
  sortSlotsInto(values, n, out);
  // Nothing past n is written.
  expect([...out.subarray(n)]).toEqual([-7, -7, -7]);
  return [...out.subarray(0, n)];
}

const ascending = (values: number[]) => [...values].sort((a, b) => a - b);

describe("sortSlotsInto", () => {
  it("sorts any set of slots, spread evenly or not, with repeats, up to past the bucket limit", () => {
    const spread = fc.oneof(
      // Even: one bucket per element holds about one.
      fc.array(fc.integer({ min: 0, max: 1_200_000 }), { maxLength: 600 }),
      // The whole int32 range, and its ends.
      fc.array(fc.oneof(fc.integer({ min: 0, max: MAX_SLOT }), fc.constantFrom(0, MAX_SLOT)), { maxLength: 300 }),
      // Uneven: a tight cluster plus outliers, and heavy repeats.
      fc.tuple(fc.array(fc.integer({ min: 1000, max: 1010 }), { maxLength: 400 }), fc.array(fc.integer({ min: 0, max: MAX_SLOT }), { maxLength: 3 })).map(([a, b]) => [...a, ...b]),
      fc.array(fc.constantFrom(5, 6), { maxLength: 200 }),
    );
    fc.assert(
      fc.property(spread, (values) => {
        expect(sortedBy(values)).toEqual(ascending(values));
      }),
      { numRuns: 400 },
    );
  });

  it("sorts a prefix only, and large sets", () => {
    const values = Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 10_007);
    expect(sortedBy(values, 5000)).toEqual(ascending(values.slice(0, 5000)));
    expect(sortedBy(values)).toEqual(ascending(values));
    expect(sortedBy(values, 4096)).toEqual(ascending(values.slice(0, 4096)));
    expect(sortedBy([], 0)).toEqual([]);
    expect(sortedBy([9], 1)).toEqual([9]);
  });
});
