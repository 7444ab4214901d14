/**
 * Dictionary-coded columns (storage/derived/column-codes.ts): a low-cardinality column of primitive cells is coded
 * and kept with the rows; a column that takes an object cell, NaN, or more distinct values than a
 * byte holds is not, and comes back coded only after the table starts over (a truncate).
 */
import { describe, expect, it } from "vitest";
import { ColumnCodes, NO_ROW } from "../../src/kernel/storage/derived/column-codes.js";
import { keySlotsOf } from "../../src/kernel/storage/derived/key-slots.js";
import { HeapTable as Table } from "../../src/kernel/storage/heap-table.js";
import { parseSchema } from "../../src/kernel/storage/table-schema.js";

const U32 = "/state/scalar/value/number/uint/32";
const STR = "/state/scalar/value/string";

describe("ColumnCodes", () => {
  it("codes equal cells alike and leaves slots without a row as NO_ROW", () => {
    const coded = ColumnCodes.build([[1, "en"], undefined, [3, "fr"], [4, "en"], [5, null]], 1)!;
    expect(coded.codeOf("en")).toBeDefined();
    expect(coded.codes[0]).toBe(coded.codeOf("en"));
    expect(coded.codes[3]).toBe(coded.codeOf("en"));
    expect(coded.codes[2]).toBe(coded.codeOf("fr"));
    expect(coded.codes[2]).not.toBe(coded.codes[0]);
    expect(coded.codes[1]).toBe(NO_ROW);
    expect(coded.codes[4]).toBe(coded.codeOf(null));
    expect(coded.codeOf("de")).toBeUndefined();
    coded.clear(0);
    expect(coded.codes[0]).toBe(NO_ROW);
    // A slot past the end grows the vector.
    expect(coded.set(1000, "de")).toBe(true);
    expect(coded.codes[1000]).toBe(coded.codeOf("de"));
    expect(coded.codes[999]).toBe(NO_ROW);
  });

  it("gives each code's value back, except once a -0 was coded (the map cannot tell it from 0)", () => {
    const coded = ColumnCodes.build([[1, "en"], [2, 0], [3, null], [4, true], [5, "en"]], 1)!;
    for (const slot of [0, 1, 2, 3, 4]) {
      const cell = [["en"], [0], [null], [true], ["en"]][slot]![0];
      expect(coded.values![coded.codes[slot]!]).toBe(cell);
    }
    expect(coded.set(5, -0)).toBe(true);
    expect(coded.codes[5]).toBe(coded.codeOf(0));
    expect(coded.values).toBeUndefined();
    const negativeFirst = ColumnCodes.build([[1, -0], [2, 0]], 1)!;
    expect(negativeFirst.values).toBeUndefined();
  });

  it("refuses object cells, NaN and a 256th distinct value", () => {
    expect(ColumnCodes.build([[1, { href: "/x" }]], 1)).toBeUndefined();
    expect(ColumnCodes.build([[1, NaN]], 1)).toBeUndefined();
    const rows = Array.from({ length: 255 }, (_, i) => [i, `v${i}`]);
    const coded = ColumnCodes.build(rows, 1)!;
    expect(coded).toBeDefined();
    expect(coded.set(255, "v0")).toBe(true);
    expect(coded.set(256, "one too many")).toBe(false);
    expect(ColumnCodes.build([...rows, [255, "v255"]], 1)).toBeUndefined();
  });

  it("a table's coded column is dropped when it stops qualifying and made again after a truncate", () => {
    const t = new Table("/state/p/t", parseSchema([[[["id", U32]], [["tag", STR]]], []]));
    for (let i = 0; i < 10; i++) t.write(t.checkRow([i, `t${i % 3}`]), "upsert", undefined);
    const slots = keySlotsOf(t)!;
    const coded = slots.codes(1)!;
    expect(coded.codes[slots.slotOf(4)!]).toBe(coded.codeOf("t1"));
    // An update keeps the coding in step.
    t.write(t.checkRow([4, "t2"]), "upsert", undefined);
    expect(slots.codes(1)!.codes[slots.slotOf(4)!]).toBe(coded.codeOf("t2"));
    for (let i = 10; i < 300; i++) t.write(t.checkRow([i, `distinct ${i}`]), "upsert", undefined);
    expect(slots.codes(1)).toBeUndefined();
    t.truncate(undefined);
    t.write(t.checkRow([1, "again"]), "upsert", undefined);
    expect(slots.codes(1)!.codes[slots.slotOf(1)!]).toBe(slots.codes(1)!.codeOf("again"));
  });
});
