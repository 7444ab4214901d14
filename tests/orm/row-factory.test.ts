/**
 * Row objects made from result tuples: the compiled factory (identifier names) and the loop (any
 * other name) both give plain objects with exactly the columns as own, enumerable properties.
 */
import { describe, expect, it } from "vitest";
import { rowDecoder, rowFactory } from "../../src/orm/row-factory.js";

describe("rowFactory", () => {
  it("makes { name: cell } objects, one function per names array", () => {
    const names = ["id", "name", "$x", "_y"];
    const make = rowFactory(names);
    expect(make([1, "ada", null, [2]])).toEqual({ id: 1, name: "ada", $x: null, _y: [2] });
    expect(Object.keys(make([1, 2, 3, 4]))).toEqual(names);
    expect(rowFactory(names)).toBe(make);
    expect(Object.getPrototypeOf(make([1, 2, 3, 4]))).toBe(Object.prototype);
  });

  it("names that are not identifiers, or would touch the prototype, are own properties too", () => {
    const names = ["__proto__", "my col", "constructor", "0", "ü"];
    const row = rowFactory(names)(["p", 1, 2, 3, 4]);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.keys(row).sort()).toEqual([...names].sort());
    expect(Object.getOwnPropertyDescriptor(row, "__proto__")).toMatchObject({ value: "p", enumerable: true, writable: true });
    expect(row["my col"]).toBe(1);
    expect(row["constructor"]).toBe(2);
    expect(JSON.parse(JSON.stringify(row))).toEqual({ ["__proto__"]: "p", "my col": 1, constructor: 2, "0": 3, ü: 4 });
  });

  it("picks cells by position, fills a missing one with null, and returns link cells as hrefs", () => {
    expect(rowFactory(["name", "id"], [1, 0])([7, "ada"])).toEqual({ name: "ada", id: 7 });
    expect(rowFactory(["id", "name"])([7])).toEqual({ id: 7, name: null });
    const decode = rowDecoder(["id", "home", "site"], ["home", "site"]);
    expect(decode([1, { "/state/app/x": [] }, { "http://example.com/a": [] }])).toEqual({ id: 1, home: "/state/app/x", site: "http://example.com/a" });
    expect(decode([2, null, { "/lib/y": [] }])).toEqual({ id: 2, home: null, site: "/lib/y" });
  });

  it("decodes cells by column, picked by position, a missing cell passed to its decoder as null", () => {
    const calls: unknown[] = [];
    const twice = (v: unknown) => {
      calls.push(v);
      return v === null ? "none" : (v as number) * 2;
    };
    const decode = rowDecoder(["b", "a", "c"], { a: twice, c: (v) => `<${String(v)}>` }, [1, 0, 2]);
    expect(decode([1, "x"])).toEqual({ b: "x", a: 2, c: "<null>" });
    expect(decode([null, "y", 5])).toEqual({ b: "y", a: "none", c: "<5>" });
    expect(calls).toEqual([1, null]);
    const row = decode([3, "z", 1]);
    expect(Object.keys(row)).toEqual(["b", "a", "c"]);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    // Names that are not identifiers take the loop, with the same result.
    expect(rowDecoder(["my b", "a"], { a: (v) => String(v).toUpperCase() })([4, "q"])).toEqual({ "my b": 4, a: "Q" });
  });

  it("two decoders for the same columns are kept apart (the compiled code is shared, not the decoders)", () => {
    const plus = rowDecoder(["id"], { id: (v) => (v as number) + 1 });
    const minus = rowDecoder(["id"], { id: (v) => (v as number) - 1 });
    expect(plus([10])).toEqual({ id: 11 });
    expect(minus([10])).toEqual({ id: 9 });
  });
});
