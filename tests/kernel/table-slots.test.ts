/**
 * Key slots (table-slots.ts): `slotOf` answers from a dense table while every key is a small
 * non-negative integer, and from the key map once one is not. Either way it must give exactly the
 * slots the interning gave, and nothing for a key never interned.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KeySlots } from "../../src/client/embedded/table-slots.js";
import type { KeyCell } from "../../src/client/embedded/table-keys.js";

const smallInt = fc.integer({ min: 0, max: 3000 });
const anyKey: fc.Arbitrary<KeyCell> = fc.oneof(
  { weight: 8, arbitrary: smallInt },
  { weight: 1, arbitrary: fc.integer({ min: 5000, max: 2 ** 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: -50, max: -1 }) },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 3000, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, -0, 0.5, 2 ** 53) },
  { weight: 1, arbitrary: fc.string({ maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom("7", "", true, false, null) },
);

describe("KeySlots.slotOf", () => {
  it("gives the interned slot of every key and nothing for others, dense or not", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ weight: 6, arbitrary: smallInt }, { weight: 1, arbitrary: anyKey }), { maxLength: 300 }),
        fc.array(anyKey, { maxLength: 100 }),
        (interned, probes) => {
          const slots = new KeySlots([]);
          const reference = new Map<KeyCell, number>();
          for (const key of interned) {
            const s = slots.intern(key);
            if (!reference.has(key)) reference.set(key, reference.size);
            expect(s).toBe(reference.get(key));
            // Every key interned so far, probed after each step (the dense table grows and may drop).
            for (const [k, slot] of reference) expect(slots.slotOf(k)).toBe(slot);
          }
          for (const key of [...probes, ...interned.map((k) => (typeof k === "number" ? k + 0.5 : k)), 1e9, -1]) {
            expect(slots.slotOf(key)).toBe(reference.get(key));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keys interned in scrambled order, -0 as 0, and a string key after thousands of integers", () => {
    const slots = new KeySlots([]);
    const keys = Array.from({ length: 5000 }, (_, i) => (i * 7919) % 5000);
    keys.forEach((k, i) => expect(slots.intern(k)).toBe(i));
    keys.forEach((k, i) => expect(slots.slotOf(k)).toBe(i));
    expect(slots.slotOf(-0)).toBe(slots.slotOf(0));
    expect(slots.slotOf(5000)).toBeUndefined();
    expect(slots.slotOf("0")).toBeUndefined();
    // A string key moves lookups to the map; every earlier key keeps its slot.
    expect(slots.intern("x")).toBe(5000);
    keys.forEach((k, i) => expect(slots.slotOf(k)).toBe(i));
    expect(slots.slotOf("x")).toBe(5000);
  });
});
