import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BadRequestError, TcError } from "../../src/errors.js";
import {
  after,
  canonicalJson,
  cond,
  decode,
  del,
  encode,
  forEach,
  freeIds,
  get,
  id,
  link,
  map,
  OpBuilder,
  opdef,
  jsonHash,
  opHash,
  param,
  post,
  put,
  ref,
  toSubject,
  whileLoop,
  type Json,
  type OpDef,
  type Scalar,
} from "../../src/ir/index.js";

/** A realistic composite op: count users in a city, insert one, return both. */
function buildOp(city: Scalar, name: Scalar): OpDef {
  const b = OpBuilder.post();
  const users = b.step(get("/state/social/users", null));
  const filtered = b.step(post(ref(users, "where"), { city: param("city") }));
  const n = b.step("count", get(ref(filtered, "count"), null));
  const ins = b.step(put(ref(users, "insert"), [param("id")], [name, city]));
  return b.returns(after(ins, map({ before: n, city })));
}

/** Every object key and every step name in encoded JSON. */
function structuralNames(json: Json, out: string[] = []): string[] {
  if (Array.isArray(json)) {
    for (const j of json) structuralNames(j, out);
  } else if (typeof json === "object" && json !== null) {
    for (const [k, v] of Object.entries(json)) {
      out.push(k);
      if (k.startsWith("/state/scalar/op/")) {
        const args = v as Json[];
        const steps = (k.endsWith("/post") ? args : args[args.length - 1]) as [string, Json][];
        for (const [stepName] of steps) out.push(`step:${stepName}`);
      }
      structuralNames(v as Json, out);
    }
  }
  return out;
}

describe("OpBuilder", () => {
  it("is deterministic: the same calls give byte-identical JSON", () => {
    const a = JSON.stringify(encode(buildOp("Paris", "ann")));
    const b = JSON.stringify(encode(buildOp("Paris", "ann")));
    expect(a).toBe(b);
    expect(opHash(buildOp("Paris", "ann"))).toBe(opHash(buildOp("Paris", "ann")));
    expect(opHash(buildOp("Paris", "ann"))).not.toBe(opHash(buildOp("Rome", "ann")));
  });

  it("jsonHash: one hash per JSON content whatever the key order; the op's encoded JSON and a reordered copy agree", () => {
    const json = encode(buildOp("Paris", "ann")) as Record<string, unknown>;
    const reordered = JSON.parse(JSON.stringify(json), (_k, v: unknown) =>
      v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    );
    expect(jsonHash(json as never)).toBe(jsonHash(reordered));
    expect(jsonHash(json as never)).toMatch(/^[0-9a-f]{64}$/);
    expect(jsonHash(json as never)).not.toBe(jsonHash(encode(buildOp("Rome", "ann")) as never));
    expect(jsonHash({ a: [1, "1"] })).not.toBe(jsonHash({ a: ["1", 1] }));
    expect(() => jsonHash({ a: Number.NaN } as never)).toThrow(BadRequestError);
  });

  it("opHash: an op in memory, its JSON and a reordered copy of that JSON hash alike (what a host checks a prepared op's version against)", () => {
    const op = buildOp("Paris", "ann");
    const json = encode(op) as Record<string, unknown>;
    const reordered = JSON.parse(JSON.stringify(json), (_k, v: unknown) =>
      v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    );
    expect(opHash(json as never)).toBe(opHash(op));
    expect(opHash(reordered)).toBe(opHash(op));
    expect(opHash(json as never)).toBe(jsonHash(json as never));
    expect(() => opHash({ a: Number.NaN } as never)).toThrow(BadRequestError);
  });

  it("names generated steps _0, _1, … in insertion order and keeps explicit names", () => {
    const op = buildOp("Paris", "ann");
    expect(op.steps.map((s) => s[0])).toEqual(["_0", "_1", "count", "_2", "_return"]);
    expect(encode(op)).toEqual({
      "/state/scalar/op/post": [
        ["_0", { "/state/social/users": [null] }],
        ["_1", { "$_0/where": { city: { $city: [] } } }],
        ["count", { "$_1/count": [null] }],
        ["_2", { "$_0/insert": [[{ $id: [] }], ["ann", "Paris"]] }],
        ["_return", { "/state/scalar/ref/after": [{ $_2: [] }, { before: { $count: [] }, city: "Paris" }] }],
      ],
    });
  });

  it("returns() does not add a step when given the last step", () => {
    const b = OpBuilder.post();
    const x = b.step(get("/state/t", null));
    const op = b.returns(x);
    expect(op.steps).toHaveLength(1);
    expect(() => b.returns(1)).not.toThrow(); // appends _return once
    expect(() => b.returns(2)).toThrow(BadRequestError);
  });

  it("rejects bad, reserved and duplicate step names", () => {
    const b = OpBuilder.post();
    b.step("a", 1);
    expect(() => b.step("a", 2)).toThrow(/duplicate step name "a"/);
    expect(() => b.step("_0", 2)).toThrow(/reserved for generated step names/);
    expect(() => b.step("a b", 2)).toThrow(BadRequestError);
    expect(() => b.step("__proto__", 2)).toThrow(BadRequestError);
    expect(b.size).toBe(1);
  });

  it("builds GET/PUT/DELETE ops with key and value names", () => {
    const g = OpBuilder.get("id");
    g.step(get("/state/social/users", [g.key]));
    expect(encode(g.build())).toEqual({
      "/state/scalar/op/get": ["id", [["_0", { "/state/social/users": [[{ $id: [] }]] }]]],
    });
    const p = OpBuilder.put("k", "v");
    expect(encode(p.returns(put("/state/t", p.key, p.value)))).toEqual({
      "/state/scalar/op/put": ["k", "v", [["_return", { "/state/t": [{ $k: [] }, { $v: [] }] }]]],
    });
    expect(OpBuilder.delete("k").build()).toEqual({ kind: "opdef", verb: "delete", keyName: "k", steps: [] });
    expect(() => OpBuilder.put("k", "k")).toThrow(BadRequestError);
    expect(() => OpBuilder.get("_k")).toThrow(BadRequestError);
    expect(() => OpBuilder.post().key).toThrow(BadRequestError);
    expect(() => OpBuilder.post().build()).toThrow(/at least one step/);
  });

  it("builds ops whose encoding decodes back to the same op", () => {
    const op = buildOp("Paris", "ann");
    expect(decode(encode(op))).toEqual(op);
  });
});

describe("param and freeIds", () => {
  it("param validates the name", () => {
    expect(encode(param("me"))).toEqual({ $me: [] });
    for (const bad of ["", "a b", "a/b", "$x", "__proto__", "constructor", "_0", "_secret", "a..b"]) {
      expect(() => param(bad)).toThrow(BadRequestError);
    }
  });

  it("finds the free names of an op, sorted", () => {
    expect(freeIds(buildOp("Paris", "ann"))).toEqual(["city", "id"]);
    expect(freeIds(opdef.post([["r", post(ref("a", "add"), { r: param("b") })]]))).toEqual(["a", "b"]);
  });

  it("does not count step names and key/value names", () => {
    const op = opdef.put("k", "v", [
      ["x", put("/state/t", id("k"), id("v"))],
      ["y", get(ref("x", "len"), id("z"))],
    ]);
    expect(freeIds(op)).toEqual(["z"]);
  });

  it("counts names a nested OpDef captures, minus those it defines or the loop binds", () => {
    const op = opdef.post([
      ["rows", get("/state/t", null)],
      [
        "ins",
        forEach(
          id("rows"),
          opdef.post([["r", put(ref("table", "insert"), post(ref("row", "slice"), { start: 0, end: param("n") }), id("row"))]]),
          "row",
        ),
      ],
      [
        "loop",
        whileLoop(
          opdef.post([["c", post(ref("state", "lt"), { r: param("limit") })]]),
          opdef.post([["s", post(ref("state", "add"), { r: 1 })]]),
          0,
        ),
      ],
      ["pick", cond(id("flag"), opdef.post([["r", id("rows")]]), opdef.get("k", [["r", id("k")]]))],
    ]);
    expect(freeIds(op)).toEqual(["flag", "limit", "n", "table"]);
  });

  it("counts DELETE subjects and cond conditions", () => {
    expect(freeIds(opdef.post([["d", del("$t/rows", param("key"))]]))).toEqual(["key", "t"]);
  });
});

describe("constructors", () => {
  it("build every form", () => {
    expect(encode(id("x"))).toEqual({ $x: [] });
    expect(encode(link("/state/social/users"))).toEqual({ "/state/social/users": [] });
    expect(encode(get(ref("x", "sub"), 1))).toEqual({ "$x/sub": [1] });
    expect(encode(get(id("x")))).toEqual({ $x: [null] });
    expect(encode(put("/lib/a/b/0.1.0/x", "k", 1))).toEqual({ "/lib/a/b/0.1.0/x": ["k", 1] });
    expect(encode(post("$x/add", new Map([["r", id("y")]])))).toEqual({ "$x/add": { r: { $y: [] } } });
    expect(encode(del("/lib/a/b/0.1.0/x", "k"))).toEqual({ "/state/scalar/ref/op/delete": ["/lib/a/b/0.1.0/x", "k"] });
    expect(encode(cond(id("flag"), opdef.post([["result", 1]]), opdef.post([["result", 0]])))).toEqual({
      "/state/scalar/ref/cond": [{ $flag: [] }, { "/state/scalar/op/post": [["result", 1]] }, { "/state/scalar/op/post": [["result", 0]] }],
    });
    expect(encode(forEach([1, 2], opdef.post([["result", id("item")]]), "item"))).toEqual({
      "/state/scalar/ref/for_each": [[1, 2], { "/state/scalar/op/post": [["result", { $item: [] }]] }, "item"],
    });
    expect(encode(opdef.delete("key", [["_return", null]]))).toEqual({ "/state/scalar/op/delete": ["key", [["_return", null]]] });
    expect(encode(opdef.get("k", new Map([["r", id("k")]])))).toEqual({ "/state/scalar/op/get": ["k", [["r", { $k: [] }]]] });
  });

  it("accept every subject spelling", () => {
    const want = { kind: "ref", name: "x", path: ["a"] };
    expect(toSubject("$x/a")).toEqual(want);
    expect(toSubject(ref("x", "a"))).toEqual(want);
    expect(toSubject(id("x"))).toEqual({ kind: "ref", name: "x", path: [] });
    expect(toSubject(link("/state/t"))).toEqual({ kind: "link", href: "/state/t" });
    expect(toSubject("http://127.0.0.1:8702/lib/x")).toEqual({ kind: "link", href: "http://127.0.0.1:8702/lib/x" });
  });

  it("validate names and reject bad input with BadRequestError", () => {
    const bad: (() => unknown)[] = [
      () => id("a b"),
      () => link("/a//b"),
      () => link("$x"),
      () => ref("x", "a/b"),
      () => ref("x", ".."),
      () => ref("x", "."),
      () => ref("", "a"),
      () => toSubject("x/y"),
      () => toSubject("$x/a b"),
      () => map({ "a/b": 1 }),
      () => map(JSON.parse('{"__proto__": 1}')),
      () => map([["k", 1], ["k", 2]]),
      () => post("$x/f", JSON.parse('{"constructor": 1}')),
      () => cond(true, 1, 2),
      () => cond(link("/state/t"), 1, 2),
      () => forEach([], opdef.post([["r", 1]]), "a b"),
      () => opdef.post([["x", 1], ["x", 2]]),
      () => opdef.get("a b", [["x", 1]]),
      () => opdef.put("k", "$v", []),
      () => opdef.post([["x"] as never]),
    ];
    for (const f of bad) expect(f).toThrow(BadRequestError);
  });

  it("never produce a prototype-polluting map", () => {
    const m = map([["a", 1]]);
    expect(Object.getPrototypeOf(m.entries)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).a).toBeUndefined();
  });
});

describe("injection: values never become subjects or names", () => {
  const hostile = fc.oneof(
    fc.string(),
    fc.constantFrom(
      "$x",
      "$x/delete",
      "/state/scalar/ref/op/delete",
      "/state/social/users",
      '{"$x": []}',
      "__proto__",
      "_0",
      "count",
      "a/../b",
    ),
  );

  it("a hostile string passed as a value stays a string literal", () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const withValue = encode(buildOp(s, s));
        const withPlaceholder = encode(buildOp("PLACEHOLDER", "PLACEHOLDER"));
        // same structure: keys, subjects and step names do not depend on the value
        expect(structuralNames(withValue)).toEqual(structuralNames(withPlaceholder));
        // and decoding gives the string back as a string
        const decoded = decode(withValue) as OpDef;
        const last = decoded.steps[decoded.steps.length - 1]![1] as { then: { entries: Record<string, Scalar> } };
        expect(last.then.entries.city).toBe(s);
      }),
      { numRuns: 300 },
    );
  });

  it("a hostile string as a step value or map value is never a name", () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const b = OpBuilder.post();
        const r = b.step(s);
        b.step(map({ v: s }));
        const op = b.build();
        expect(r).toEqual({ kind: "id", name: "_0" });
        expect(op.steps.map((st) => st[0])).toEqual(["_0", "_1"]);
        expect(freeIds(op)).toEqual([]);
        expect(decode(encode(op))).toEqual(op);
      }),
      { numRuns: 200 },
    );
  });

  it("hostile names are rejected, never spliced", () => {
    fc.assert(
      fc.property(hostile, (s) => {
        for (const f of [() => param(s), () => ref("x", s), () => OpBuilder.post().step(s, 1), () => map({ [s]: 1 })]) {
          try {
            f();
          } catch (e) {
            expect(e).toBeInstanceOf(TcError);
          }
        }
        // a name that got through is a valid Id: one segment, no '/', '$' or reserved word
        try {
          const p = param(s);
          expect(p.name).not.toMatch(/[/$]/);
          expect(["__proto__", "constructor", "prototype"]).not.toContain(p.name);
        } catch (e) {
          expect(e).toBeInstanceOf(BadRequestError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("canonicalJson and opHash", () => {
  it("give the same text and hash for IR and its JSON", () => {
    const op = buildOp("Paris", "ann");
    expect(canonicalJson(op)).toBe(canonicalJson(encode(op)));
    expect(opHash(op)).toBe(opHash(encode(op)));
    expect(opHash(op)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("sort every key, integer-like keys included", () => {
    expect(canonicalJson({ b: 1, 10: 2, 9: 3, a: [{ z: 1, y: 2 }] })).toBe('{"10":2,"9":3,"a":[{"y":2,"z":1}],"b":1}');
    expect(canonicalJson(map({ b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
    expect(canonicalJson(map({ b: 1, 10: 2, 9: map({ 2: 0, 1: 0 }) }))).toBe('{"10":2,"9":{"1":0,"2":0},"b":1}');
  });

  it("reject what JSON cannot hold", () => {
    expect(() => canonicalJson({ a: Number.NaN } as never)).toThrow(BadRequestError);
    expect(() => canonicalJson({ a: undefined } as never)).toThrow(BadRequestError);
  });
});
