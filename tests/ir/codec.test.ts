import { describe, expect, it } from "vitest";
import { IrDecodeError, TcError } from "../../src/errors.js";
import {
  decode,
  decodeOpDef,
  decodeValue,
  encode,
  get,
  id,
  IrEncodeError,
  link,
  map,
  MAX_DEPTH,
  post,
  put,
  ref,
  type Scalar,
} from "../../src/ir/index.js";

/** Decodes `json` and returns the IrDecodeError it must throw. */
function rejection(json: unknown, decoder: (j: unknown) => unknown = decode): IrDecodeError {
  try {
    decoder(json);
  } catch (e) {
    expect(e).toBeInstanceOf(IrDecodeError);
    return e as IrDecodeError;
  }
  throw new Error(`expected ${JSON.stringify(json)} to be rejected`);
}

function roundTrip(json: unknown): void {
  expect(JSON.stringify(encode(decode(json)))).toBe(JSON.stringify(json));
}

const POST = "/state/scalar/op/post";

describe("decode: data maps and keys", () => {
  it("rejects a non-Id map key, naming its path", () => {
    const e = rejection({ "a b": 1 });
    expect(e.path).toBe('$["a b"]');
    expect(e.expected).toContain("Id");
    expect(e.message).toContain("invalid IR at $[\"a b\"]");
  });

  it("names the full path of a nested bad key", () => {
    const e = rejection({ [POST]: [["x", 1], ["y", { ok: [1, { "a..b": 2 }] }]] });
    expect(e.path).toBe('$["/state/scalar/op/post"][1][1]["ok"][1]["a..b"]');
    expect(e.expected).toContain("'..'");
  });

  it.each(["__proto__", "constructor", "prototype"])("rejects a %s key and never pollutes prototypes", (key) => {
    const json = JSON.parse(`{"${key}": {"polluted": true}}`);
    const e = rejection(json);
    expect(e.path).toBe(`$["${key}"]`);
    expect(e.expected).toContain("reserved");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // also as POST params
    const p = rejection(JSON.parse(`{"$x/f": {"a": 1, "${key}": 2}}`));
    expect(p.path).toBe(`$["$x/f"]["${key}"]`);
  });

  it("accepts a null-prototype object as a data map", () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.b = 1;
    o.a = 2;
    expect(decode(o)).toEqual({ kind: "map", entries: { a: 2, b: 1 } });
  });

  it.each([
    [{ $x: [], a: 1 }],
    [{ a: 1, "/lib/x": [] }],
    [JSON.parse('{"1": 2, "$x": []}')], // integer-like keys are enumerated first in JS
  ])("rejects a multi-key object with a '/' or '$' key as ambiguous", (json) => {
    const e = rejection(json);
    expect(e.path).toBe("$");
    expect(e.expected).toContain("exactly one key");
  });

  it("decodes an empty object as an empty map", () => {
    expect(decode({})).toEqual({ kind: "map", entries: {} });
  });

  it("rejects a non-plain object", () => {
    expect(rejection(new Date(0)).expected).toContain("plain JSON object");
    expect(rejection(new Map()).path).toBe("$");
  });
});

describe("decode: numbers", () => {
  it("accepts the safe integer range and floats", () => {
    expect(decode(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
    expect(decode(-Number.MAX_SAFE_INTEGER)).toBe(-Number.MAX_SAFE_INTEGER);
    expect(decode(1.5)).toBe(1.5);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])("rejects %d", (n) => {
    const e = rejection({ [POST]: [["x", [n]]] });
    expect(e.path).toBe('$["/state/scalar/op/post"][0][1][0]');
  });

  it.each([2 ** 53, -(2 ** 53), 1e300, -1.7976931348623157e308, 5e-324])("accepts the finite double %d exactly", (n) => {
    expect(decode(n)).toBe(n);
    expect(encode(decode([n]))).toEqual([n]);
  });

  it("decodes 64-bit integers from v1's typed number maps: a number within ±(2^53−1), a bigint beyond", () => {
    expect(decode({ "/state/scalar/value/number/uint/64": "18446744073709551615" })).toBe(18446744073709551615n);
    expect(decode({ "/state/scalar/value/number/int/64": "-9223372036854775808" })).toBe(-9223372036854775808n);
    expect(decode({ "/state/scalar/value/number/int/64": "42" })).toBe(42);
    expect(encode(decode([{ "/state/scalar/value/number/uint/64": "18446744073709551615" }]))).toEqual([
      { "/state/scalar/value/number/uint/64": "18446744073709551615" },
    ]);
    expect(encode(-9223372036854775808n)).toEqual({ "/state/scalar/value/number/int/64": "-9223372036854775808" });
    expect(encode(7n)).toBe(7);
    expect(rejection({ "/state/scalar/value/number/uint/64": "18446744073709551616" }).expected).toContain("64-bit integer");
    expect(rejection({ "/state/scalar/value/number/int/64": 1.5 }).expected).toContain("64-bit integer");
  });

  it("decodes bytes from base64 (padded or not) and encodes them without padding", () => {
    expect(decode({ "/state/scalar/value/bytes": "AQID" })).toEqual(new Uint8Array([1, 2, 3]));
    expect(decode({ "/state/scalar/value/bytes": "" })).toEqual(new Uint8Array([]));
    expect(encode(new Uint8Array([255, 0]))).toEqual({ "/state/scalar/value/bytes": "/wA" });
    expect(decode({ "/state/scalar/value/bytes": "/wA=" })).toEqual(new Uint8Array([255, 0]));
    expect(rejection({ "/state/scalar/value/bytes": "a b" }).expected).toContain("base64");
  });
});

describe("decode: op refs", () => {
  it.each([
    [{ "/lib/a/b/0.1.0/x": [1, 2, 3] }, '$["/lib/a/b/0.1.0/x"]'],
    [{ $x: [1, 2, 3] }, '$["$x"]'],
    [{ "/state/scalar/ref/op/get": ["/lib/x", 1, 2] }, '$["/state/scalar/ref/op/get"]'],
    [{ "/state/scalar/ref/op/put": ["/lib/x", 1] }, '$["/state/scalar/ref/op/put"]'],
    [{ "/state/scalar/ref/op/post": ["/lib/x"] }, '$["/state/scalar/ref/op/post"]'],
    [{ "/state/scalar/ref/op/delete": ["/lib/x", 1, 2] }, '$["/state/scalar/ref/op/delete"]'],
  ])("rejects wrong arity %j", (json, path) => {
    const e = rejection(json);
    expect(e.path).toBe(path);
  });

  it("explains the implicit arities", () => {
    const e = rejection({ "/lib/x": [1, 2, 3] });
    expect(e.expected).toContain("GET [key] or PUT [key, value]");
    expect(e.message).toContain("3 arguments");
  });

  it("rejects [] on a path under a reference, pointing at [null]", () => {
    const e = rejection({ "$x/a": [] });
    expect(e.path).toBe('$["$x/a"]');
    expect(e.expected).toContain("[null]");
  });

  it("rejects args that are neither array nor object", () => {
    expect(rejection({ "/lib/x": 5 }).expected).toContain("op-call arguments");
    expect(rejection({ $x: "s" }).path).toBe('$["$x"]');
  });

  it("requires the DELETE subject to be a string", () => {
    const e = rejection({ "/state/scalar/ref/op/delete": [{ $x: [] }, 1] });
    expect(e.path).toBe('$["/state/scalar/ref/op/delete"]');
    expect(e.expected).toContain("subject");
    expect(e.message).toContain("[0]");
  });

  it("requires explicit POST params to be an object with Id keys", () => {
    expect(rejection({ "/state/scalar/ref/op/post": ["/lib/x", [1]] }).path).toBe('$["/state/scalar/ref/op/post"][1]');
    expect(rejection({ "/state/scalar/ref/op/post": ["/lib/x", { "a b": 1 }] }).path).toBe(
      '$["/state/scalar/ref/op/post"][1]["a b"]',
    );
  });

  it("keeps the explicit forms so re-encoding is byte-identical", () => {
    const forms = [
      { "/state/scalar/ref/op/get": ["/lib/acme/foo/1.0.0", "k"] },
      { "/state/scalar/ref/op/put": ["$t/insert", [1], ["ann"]] },
      { "/state/scalar/ref/op/post": ["$x/add", { r: 1 }] },
      { "/state/scalar/ref/op/delete": ["/state/social/users", [1]] },
      { "/state/scalar/ref/op/get": ["http://127.0.0.1:8702/lib/x/y/0.1.0", null] },
    ];
    for (const f of forms) roundTrip(f);
    expect(decode(forms[0])).toMatchObject({ kind: "get", explicit: true });
    expect(decode({ "/lib/x": [1] })).toMatchObject({ kind: "get", explicit: false });
  });

  it("decodes subjects into name and path", () => {
    expect(decode({ "$users/count/x": [null] })).toEqual({
      kind: "get",
      subject: { kind: "ref", name: "users", path: ["count", "x"] },
      key: null,
      explicit: false,
    });
  });
});

describe("decode: subjects and links", () => {
  it.each([
    [{ "/a//b": [1] }, '$["/a//b"]'],
    [{ "/a/./b": [1] }, '$["/a/./b"]'],
    [{ "/a/b/": [1] }, '$["/a/b/"]'],
    [{ "/a/b c": [1] }, '$["/a/b c"]'],
    [{ "/": [] }, '$["/"]'],
    [{ $: [] }, '$["$"]'],
    [{ "$a b": [] }, '$["$a b"]'],
    [{ "$x//y": [1] }, '$["$x//y"]'],
    [{ "/state/scalar/ref/op/get": ["x/y", 1] }, '$["/state/scalar/ref/op/get"][0]'],
    [{ "/state/scalar/ref/op/get": ["ftp://h/x", 1] }, '$["/state/scalar/ref/op/get"][0]'],
    [{ "/state/scalar/ref/op/get": ["http://ho st/x", 1] }, '$["/state/scalar/ref/op/get"][0]'],
    [{ "/state/scalar/ref/op/get": ["http://h:99999/x", 1] }, '$["/state/scalar/ref/op/get"][0]'],
    [{ "/state/scalar/ref/op/delete": ["$x/a?b", 1] }, '$["/state/scalar/ref/op/delete"][0]'],
  ])("rejects the bad subject in %j", (json, path) => {
    expect(rejection(json).path).toBe(path);
  });

  it("rejects an absolute link used as a key (not a v2 form), naming the key", () => {
    const e = rejection({ "http://h:1/lib/x": [] });
    expect(e.path).toBe('$["http://h:1/lib/x"]');
    expect(e.expected).toContain("/state/scalar/value/link");
  });

  it("decodes links and round-trips them", () => {
    expect(decode({ "/state/social/users": [] })).toEqual({ kind: "link", href: "/state/social/users" });
    roundTrip({ "/state/social/users": [] });
    roundTrip({ "/state/scalar/value/link": "http://127.0.0.1:8702/lib/x/y/0.1.0" });
    roundTrip({ "/state/scalar/value/link": "/state/scalar/ref/cond" });
  });
});

describe("decode: TCRefs", () => {
  it("rejects a cond whose condition is not a ref", () => {
    for (const c of [true, 1, "flag", { "/lib/x": [] }, { a: 1 }]) {
      const e = rejection({ "/state/scalar/ref/cond": [c, 1, 2] });
      expect(e.path).toBe('$["/state/scalar/ref/cond"][0]');
      expect(e.expected).toContain("reference");
    }
  });

  it("accepts any ref as a cond condition", () => {
    roundTrip({ "/state/scalar/ref/cond": [{ "$x/gt": { r: 1 } }, "a", "b"] });
    roundTrip({ "/state/scalar/ref/cond": [{ "/state/scalar/ref/after": [{ $w: [] }, { $c: [] }] }, 1, 2] });
  });

  it.each([
    ["/state/scalar/ref/cond", [{ $c: [] }, 1]],
    ["/state/scalar/ref/cond", [{ $c: [] }, 1, 2, 3]],
    ["/state/scalar/ref/after", [1]],
    ["/state/scalar/ref/after", [1, 2, 3]],
    ["/state/scalar/ref/while", [1, 2]],
    ["/state/scalar/ref/for_each", [[1], { [POST]: [] }]],
    ["/state/scalar/ref/cond", { a: 1 }],
  ])("rejects %s with args %j", (key, args) => {
    const e = rejection({ [key]: args });
    expect(e.path).toBe(`$["${key}"]`);
    expect(e.expected.startsWith("[")).toBe(true);
  });

  it("rejects a for_each item name that is not an Id", () => {
    const e = rejection({ "/state/scalar/ref/for_each": [[1], { [POST]: [] }, "a b"] });
    expect(e.path).toBe('$["/state/scalar/ref/for_each"][2]');
    expect(e.expected).toContain("item name");
    expect(rejection({ "/state/scalar/ref/for_each": [[1], { [POST]: [] }, 7] }).path).toBe(
      '$["/state/scalar/ref/for_each"]',
    );
  });

  it("round-trips while", () => {
    roundTrip({
      "/state/scalar/ref/while": [
        { [POST]: [["c", { "$state/lt": { r: 10 } }]] },
        { [POST]: [["s", { "$state/add": { r: 1 } }]] },
        0,
      ],
    });
  });

  it.each(["if", "case", "with"])("rejects the v1-only /state/scalar/ref/%s, naming cond", (form) => {
    const e = rejection({ [`/state/scalar/ref/${form}`]: [{ $c: [] }, 1, 2] });
    expect(e.path).toBe(`$["/state/scalar/ref/${form}"]`);
    expect(e.message).toContain("/state/scalar/ref/cond");
    expect(e.message).toContain("v1-only");
  });

  it("rejects unknown reserved reference and OpDef paths", () => {
    expect(rejection({ "/state/scalar/ref/xyz": [1] }).expected).toContain("known reference form");
    expect(rejection({ "/state/scalar/op/patch": [] }).expected).toContain("OpDef kind");
  });
});

describe("decode: OpDefs", () => {
  it.each([
    [{ "/state/scalar/op/get": ["a b", []] }, '$["/state/scalar/op/get"][0]', "key name"],
    [{ "/state/scalar/op/put": ["k", "v v", []] }, '$["/state/scalar/op/put"][1]', "value name"],
    [{ "/state/scalar/op/delete": ["$k", []] }, '$["/state/scalar/op/delete"][0]', "key name"],
    [{ [POST]: [["a b", 1]] }, '$["/state/scalar/op/post"][0][0]', "step name"],
    [{ "/state/scalar/op/get": ["k", [["x", 1], ["__proto__", 1]]] }, '$["/state/scalar/op/get"][1][1][0]', "step name"],
  ])("rejects bad names in %j", (json, path, what) => {
    const e = rejection(json);
    expect(e.path).toBe(path);
    expect(e.expected).toContain(what);
  });

  it.each([
    [{ [POST]: [["x"]] }, '$["/state/scalar/op/post"][0]'],
    [{ [POST]: ["x"] }, '$["/state/scalar/op/post"][0]'],
    [{ [POST]: [[1, 2]] }, '$["/state/scalar/op/post"][0]'],
    [{ [POST]: [["x", 1, 2]] }, '$["/state/scalar/op/post"][0]'],
    [{ [POST]: { x: 1 } }, '$["/state/scalar/op/post"]'],
    [{ "/state/scalar/op/get": ["k"] }, '$["/state/scalar/op/get"]'],
    [{ "/state/scalar/op/get": ["k", 5] }, '$["/state/scalar/op/get"]'],
    [{ "/state/scalar/op/put": ["k", []] }, '$["/state/scalar/op/put"]'],
  ])("rejects malformed steps/arguments %j", (json, path) => {
    const e = rejection(json);
    expect(e.path).toBe(path);
    expect(e.expected).toMatch(/\[/);
  });

  it("rejects duplicate step names and says why", () => {
    const e = rejection({ [POST]: [["x", 7], ["x", 8]] });
    expect(e.path).toBe('$["/state/scalar/op/post"][1][0]');
    expect(e.expected).toContain("unique step name");
    expect(e.expected).toContain("replace");
  });

  it("decodeOpDef accepts OpDefs only", () => {
    expect(decodeOpDef({ [POST]: [["x", 7]] })).toEqual({ kind: "opdef", verb: "post", steps: [["x", 7]] });
    const e = rejection({ $x: [] }, decodeOpDef);
    expect(e.path).toBe("$");
    expect(e.expected).toContain("OpDef");
  });
});

describe("decode: typed values", () => {
  it("decodes typed values to plain values", () => {
    expect(decode({ "/state/scalar/value/none": null })).toBeNull();
    expect(decode({ "/state/scalar/value/none": [] })).toBeNull();
    expect(decode({ "/state/scalar/value/number": 5 })).toBe(5);
    expect(decode({ "/state/scalar/value/number": "2.5" })).toBe(2.5);
    expect(decode({ "/state/scalar/value/string": "hi" })).toBe("hi");
    expect(decode({ "/state/scalar/value/link": "/lib/x" })).toEqual({ kind: "link", href: "/lib/x" });
    expect(decode({ "/state/scalar/value/tuple": [1, { $x: [] }] })).toEqual([1, { kind: "id", name: "x" }]);
  });

  it.each([
    [{ "/state/scalar/value/number": "abc" }],
    [{ "/state/scalar/value/number": "9007199254740993" }],
    [{ "/state/scalar/value/string": 5 }],
    [{ "/state/scalar/value/link": 5 }],
    [{ "/state/scalar/value/link": "$x" }],
    [{ "/state/scalar/value/link": "/a//b" }],
    [{ "/state/scalar/value/tuple": {} }],
  ])("rejects a malformed typed value %j", (json) => {
    expect(rejection(json).path).toBe(`$["${Object.keys(json)[0]}"]`);
  });

  it.each(["foo", "number/float/64", "id"])("rejects the unknown /state/scalar/value/%s", (t) => {
    const e = rejection({ [`/state/scalar/value/${t}`]: 1 });
    expect(e.expected).toContain("none,number,string,link,tuple,bytes");
  });
});

describe("decode: robustness", () => {
  it("fails cleanly beyond the depth limit instead of overflowing the stack", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const e = rejection(deep);
    expect(e.expected).toContain(`${MAX_DEPTH}`);
    let objs: unknown = 1;
    for (let i = 0; i < 100_000; i++) objs = { a: objs };
    expect(rejection(objs).expected).toContain("nesting");
    expect(rejection(deep, decodeValue).expected).toContain("nesting");
  });

  it("accepts nesting up to the limit", () => {
    let ok: unknown = 1;
    for (let i = 0; i < MAX_DEPTH - 1; i++) ok = [ok];
    expect(() => decode(ok)).not.toThrow();
  });

  it("throws only TcErrors for hostile values", () => {
    const throwing = Object.defineProperty({}, "a", {
      enumerable: true,
      get() {
        throw new Error("boom");
      },
    });
    const proxy = new Proxy({}, { ownKeys: () => { throw new Error("trap"); } });
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    const hostile: unknown[] = [undefined, 10n, () => 1, Symbol("s"), throwing, proxy, cyclic, [1, , 2], new Uint8Array(2)];
    for (const h of hostile) {
      for (const fn of [decode, decodeValue, decodeOpDef]) {
        let caught: unknown;
        try {
          fn(h);
        } catch (e) {
          caught = e;
        }
        expect(caught).toBeInstanceOf(TcError);
      }
    }
  });
});

describe("decodeValue: arguments are data", () => {
  it("passes primitives and flat tuples through (as a copy)", () => {
    expect(decodeValue(5)).toBe(5);
    expect(decodeValue("$x")).toBe("$x"); // a string stays a string
    const flat = [1, "a", null, true];
    const out = decodeValue(flat);
    expect(out).toEqual(flat);
    expect(out).not.toBe(flat);
  });

  it.each([
    [{ $x: [] }, '$["$x"]'],
    [{ "$x/a": [1] }, '$["$x/a"]'],
    [{ "/lib/x": [1] }, '$["/lib/x"]'],
    [{ "/lib/x": { a: 1 } }, '$["/lib/x"]'],
    [[1, { a: { $y: [] } }], '$[1]["a"]["$y"]'],
    [{ "/state/scalar/ref/cond": [{ $c: [] }, 1, 2] }, '$["/state/scalar/ref/cond"]'],
    [{ "/state/scalar/ref/after": [1, 2] }, '$["/state/scalar/ref/after"]'],
    [{ "/state/scalar/ref/op/delete": ["/lib/x", 1] }, '$["/state/scalar/ref/op/delete"]'],
    [{ "/state/scalar/value/tuple": [{ $x: [] }] }, '$["/state/scalar/value/tuple"][0]["$x"]'],
  ])("rejects the reference in %j", (json, path) => {
    const e = rejection(json, decodeValue);
    expect(e.path).toBe(path);
    expect(e.expected).toContain("never code");
  });

  it("accepts links, maps, typed values, and OpDefs (code as a value) with refs inside", () => {
    expect(decodeValue({ "/state/social/users": [] })).toEqual({ kind: "link", href: "/state/social/users" });
    expect(decodeValue({ a: [1, { b: "x" }] })).toEqual({
      kind: "map",
      entries: { a: [1, { kind: "map", entries: { b: "x" } }] },
    });
    expect(decodeValue({ "/state/scalar/value/number": 3 })).toBe(3);
    const op = { [POST]: [["r", { "$x/add": { r: { $y: [] } } }]] };
    expect(JSON.stringify(encode(decodeValue(op)))).toBe(JSON.stringify(op));
  });

  it("rejects non-finite numbers even on the fast path", () => {
    expect(decodeValue([1, 2 ** 53])).toEqual([1, 2 ** 53]);
    expect(rejection(Number.NaN, decodeValue).path).toBe("$");
  });
});

describe("encode", () => {
  it("emits plain JSON objects (strictly equal to literals)", () => {
    expect(encode(get("$x/a", 1))).toStrictEqual({ "$x/a": [1] });
    expect(encode(map({ a: id("y") }))).toStrictEqual({ a: { $y: [] } });
  });

  it("emits data-map and params keys sorted", () => {
    expect(JSON.stringify(encode(map({ b: 1, a: 2, c: map({ z: 1, y: 2 }) })))).toBe(
      '{"a":2,"b":1,"c":{"y":2,"z":1}}',
    );
    expect(JSON.stringify(encode(post("$x/f", { z: 1, a: 2 })))).toBe('{"$x/f":{"a":2,"z":1}}');
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2n ** 64n])("rejects %s with its path", (n) => {
    let caught: unknown;
    try {
      encode(map({ a: [1, n] }));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(IrEncodeError);
    expect((caught as IrEncodeError).path).toBe('$["a"][1]');
  });

  it("refuses in-memory nodes that decode would reject", () => {
    const bad: unknown[] = [
      { kind: "map", entries: JSON.parse('{"__proto__": 1}') },
      { kind: "id", name: "a b" },
      { kind: "nope" },
      { $x: [] }, // raw JSON is not an IR node
      { kind: "opdef", verb: "post", steps: [["x", 1], ["x", 2]] },
      { kind: "get", subject: { kind: "ref", name: "x", path: ["a/b"] }, key: null, explicit: false },
      { kind: "cond", cond: true, then: 1, else: 2 },
      undefined,
    ];
    for (const b of bad) expect(() => encode(b as Scalar)).toThrow(IrEncodeError);
    const cyclic: Scalar[] = [];
    cyclic.push(cyclic);
    expect(() => encode(cyclic)).toThrow(IrEncodeError);
  });

  it("writes links that cannot be keys in the typed form, and calls on them explicitly", () => {
    expect(encode(link("http://h:8702/lib/a"))).toEqual({ "/state/scalar/value/link": "http://h:8702/lib/a" });
    expect(encode(get("http://h:8702/lib/a", 1))).toEqual({ "/state/scalar/ref/op/get": ["http://h:8702/lib/a", 1] });
    expect(encode(put("/state/scalar/ref/cond", 1, 2))).toEqual({
      "/state/scalar/ref/op/put": ["/state/scalar/ref/cond", 1, 2],
    });
    for (const s of [link("http://h:8702/lib/a"), get("/state/scalar/value/x", 1), put(ref("x"), 1, 2), id("y")]) {
      expect(decode(encode(s))).toEqual(s);
    }
  });
});
