/**
 * `DenseKeyMap` (a table's point map and a column's groups) against a `Map`: any sequence of sets
 * (new keys and overwrites), deletes and lookups of cells of every kind — small non-negative
 * integers (kept in the array), integers above the array's first reach (kept in the Map until the
 * array grows past them, then moved on their next set), negatives, non-integers, `-0`, large
 * numbers, bigints, strings — answers every `get`, `has`, `delete` and `size` as the Map does.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DenseKeyMap } from "../../src/kernel/storage/dense-key-map.js";
import type { KeyCell } from "../../src/kernel/storage/index-keys.js";

const keyArb: fc.Arbitrary<KeyCell> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 80 }) },
  { weight: 3, arbitrary: fc.integer({ min: 1_022, max: 1_034 }) },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: -1 }) },
  { weight: 1, arbitrary: fc.constantFrom<KeyCell>(0.5, 3.25, -0, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER, 2n ** 60n, "a", "5", "", true) },
) as fc.Arbitrary<KeyCell>;

type Op = { k: "set"; key: KeyCell; v: number } | { k: "del"; key: KeyCell } | { k: "get"; key: KeyCell } | { k: "many"; from: number; n: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant("set" as const), key: keyArb, v: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("del" as const), key: keyArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("get" as const), key: keyArb }) },
  // A run of consecutive ids (a load), which grows the array past keys the Map holds.
  { weight: 1, arbitrary: fc.record({ k: fc.constant("many" as const), from: fc.integer({ min: 0, max: 300 }), n: fc.integer({ min: 700, max: 1_100 }) }) },
);

describe("DenseKeyMap", () => {
  it("answers as a Map does, for any keys in any order", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        const m = new DenseKeyMap<number>();
        const ref = new Map<KeyCell, number>();
        const same = (what: string, a: unknown, b: unknown): void => {
          if (!Object.is(a, b)) throw new Error(`${what}: ${String(a)} where a Map answers ${String(b)}`);
        };
        for (const op of ops) {
          if (op.k === "set") {
            m.set(op.key, op.v);
            ref.set(op.key, op.v);
          } else if (op.k === "del") {
            same(`delete ${String(op.key)}`, m.delete(op.key), ref.delete(op.key));
          } else if (op.k === "get") {
            same(`get ${String(op.key)}`, m.get(op.key), ref.get(op.key));
            same(`has ${String(op.key)}`, m.has(op.key), ref.has(op.key));
          } else {
            for (let i = op.from; i < op.from + op.n; i++) {
              m.set(i, -i);
              ref.set(i, -i);
            }
          }
          same("size", m.size, ref.size);
        }
        for (const key of ref.keys()) same(`get ${String(key)}`, m.get(key), ref.get(key));
        for (let i = -2; i < 1_400; i++) same(`get ${i}`, m.get(i), ref.get(i));
      }),
      { numRuns: 300 },
    );
  });

  it("keeps consecutive ids in its array and sparse ones in its Map", () => {
    const m = new DenseKeyMap<string>();
    for (let i = 0; i < 5_000; i++) m.set(i, `r${i}`);
    m.set(1e12, "far");
    m.set("k", "text");
    expect([m.get(0), m.get(4_999), m.get(1e12), m.get("k"), m.get(5_000), m.size]).toEqual(["r0", "r4999", "far", "text", undefined, 5_002]);
    m.clear();
    expect([m.get(0), m.get(1e12), m.size]).toEqual([undefined, undefined, 0]);
  });
});
