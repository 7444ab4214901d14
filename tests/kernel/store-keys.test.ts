/**
 * The compact key encoding of the durable store (store-keys.ts): every cell kind round-trips, with
 * extremes, and stored keys sort exactly as they did under ordered-binary (the previous format),
 * which is the order `compareCells` and the range bounds rely on.
 */
import fc from "fast-check";
import { toBufferKey } from "ordered-binary";
import { describe, expect, it } from "vitest";
import { ENTRY_KEYS, ROW_KEYS, encodeStoreKey } from "../../src/kernel/storage/store-keys.js";

const CELLS: unknown[] = [
  null, false, true, 0, 1, -1, 0.5, -0.5, 2 ** 53 - 1, -(2 ** 53 - 1), 1e308, -1e308, Number.MIN_VALUE,
  2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, "", "a", "ab", "\u0000", "\u0001\u0002\u00ff", "\u{1F600}", "\uFFFF", "x".repeat(300),
];
const LEADS = [0, 1, 247, 248, 255, 256, 65_535, 65_536, 2 ** 24 - 1, 2 ** 24, 2 ** 32 - 1];

/** A bigint that a double holds exactly reads back as that number (as under ordered-binary). */
const read = (c: unknown): unknown => (typeof c === "bigint" && BigInt(Number(c)) === c ? Number(c) : c);

function decode(lead: number, bytes: Buffer): unknown[] {
  return (lead === 1 ? ROW_KEYS : ENTRY_KEYS).readKey(bytes, 0, bytes.length);
}

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

describe("the compact store key encoding", () => {
  it("round-trips every cell kind, with extremes, after every leading integer form", () => {
    for (const tid of LEADS) {
      for (const c of CELLS) {
        expect(decode(1, encodeStoreKey([tid, c], 1))).toEqual([tid, read(c)]);
        expect(decode(2, encodeStoreKey([tid, 3, c, 42], 2))).toEqual([tid, 3, read(c), 42]);
      }
      expect(decode(2, encodeStoreKey([7, tid, null, null], 2))).toEqual([7, tid, null, null]);
    }
  });

  it("is shorter than ordered-binary for the leading integers", () => {
    expect(encodeStoreKey([5, 123_456], 1).length).toBe(11);
    expect(toBufferKey([5, 123_456]).length).toBe(19);
    expect(encodeStoreKey([5, 0, 456_789, 123_456], 2).length).toBe(22);
  });

  it("refuses a key that does not start with non-negative integer ids", () => {
    expect(() => encodeStoreKey(["t", 1], 1)).toThrow(/table ids/);
    expect(() => encodeStoreKey([-1, 1], 1)).toThrow(/table ids/);
    expect(() => encodeStoreKey([2 ** 32, 1], 1)).toThrow(/table ids/);
  });

  it("orders keys as ordered-binary does, and a prefix's range end after every key extending it", () => {
    const cell = fc.oneof(
      fc.constantFrom(...CELLS),
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
      fc.string({ maxLength: 8 }),
    );
    const lead = fc.oneof(fc.constantFrom(...LEADS), fc.integer({ min: 0, max: 70_000 }));
    const key = fc.tuple(lead, lead, fc.array(cell, { minLength: 1, maxLength: 3 }));
    fc.assert(
      fc.property(key, key, ([t1, o1, c1], [t2, o2, c2]) => {
        const a = [t1, o1, ...c1].map((c) => (Object.is(c, -0) ? 0 : c));
        const b = [t2, o2, ...c2].map((c) => (Object.is(c, -0) ? 0 : c));
        const ours = sign(Buffer.compare(encodeStoreKey(a, 2), encodeStoreKey(b, 2)));
        const theirs = sign(Buffer.compare(toBufferKey(a as never), toBufferKey(b as never)));
        expect(ours).toBe(theirs);
        // the range end of `a`'s [tid, ordinal] prefix sorts after `a` and before the next ordinal
        const end = Buffer.concat([encodeStoreKey(a.slice(0, 2), 2), Buffer.from([0, 0xff])]);
        expect(Buffer.compare(encodeStoreKey(a, 2), end)).toBe(-1);
        if (o1 < 2 ** 32 - 1) expect(Buffer.compare(end, encodeStoreKey([a[0], o1 + 1], 2))).toBe(-1);
      }),
      { numRuns: 2000 },
    );
  });
});
