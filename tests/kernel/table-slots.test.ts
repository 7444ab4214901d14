/**
 * Key slots (storage/derived/key-slots.ts): `slotOf` answers from a dense table while every key is a small
 * non-negative integer, and from the key map once one is not. Either way it must give exactly the
 * slots the interning gave, and nothing for a key never interned.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KeySlots } from "../../src/kernel/storage/derived/key-slots.js";
import type { KeyCell } from "../../src/kernel/storage/index-keys.js";

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

describe("KeySlots.keyBase", () => {
  /** Whether `keys` (in interning order, repeats dropped) are consecutive safe integers, not -0. */
  function consecutive(keys: readonly KeyCell[]): boolean {
    return keys.every((k, i) => Number.isSafeInteger(k) && !Object.is(k, -0) && (i === 0 || k === (keys[0] as number) + i));
  }

  it("is defined exactly while the keys came in sequence, and then gives each slot's key", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 2 ** 40 }),
        fc.array(fc.oneof({ weight: 12, arbitrary: fc.constant("next" as const) }, { weight: 1, arbitrary: anyKey }), { maxLength: 60 }),
        (start, steps) => {
          const slots = new KeySlots([]);
          const order: KeyCell[] = [];
          let next = start;
          for (const step of [start as KeyCell, ...steps]) {
            const key = step === "next" ? next : step;
            if (slots.slotOf(key) === undefined && !order.some((k) => Object.is(k, key) || k === key)) order.push(key);
            slots.intern(key);
            if (typeof key === "number") next = key + 1;
            expect(slots.keyBase !== undefined).toBe(consecutive(order));
            if (slots.keyBase !== undefined) order.forEach((k, s) => expect(s + slots.keyBase!).toBe(k));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("is undefined once -0 follows a sequence that reached it (a seed fast-check found)", () => {
    const slots = new KeySlots([]);
    for (const k of [-3, -2, -1]) slots.intern(k);
    expect(slots.keyBase).toBe(-3);
    slots.intern(-0);
    expect(slots.keyBase).toBeUndefined();
    expect(slots.slotOf(-1)).toBe(2);
  });

  it("starts over from nothing: -0, a fraction or a string as the first key leave it undefined", () => {
    for (const first of [-0, 0.5, "a", 2 ** 53]) {
      const slots = new KeySlots([]);
      slots.intern(first);
      slots.intern(1);
      expect(slots.keyBase).toBeUndefined();
    }
    const slots = new KeySlots([]);
    [1, 2, 3].forEach((k) => slots.intern(k));
    expect(slots.keyBase).toBe(1);
    slots.intern(2); // already interned: no change
    expect(slots.keyBase).toBe(1);
    slots.intern(5); // a gap
    expect(slots.keyBase).toBeUndefined();
    slots.intern(6);
    expect(slots.keyBase).toBeUndefined();
  });
});

