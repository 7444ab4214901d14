import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TcError } from "../../src/errors.js";
import {
  after,
  canonicalJson,
  cond,
  decode,
  decodeOpDef,
  decodeValue,
  del,
  encode,
  forEach,
  get,
  id,
  isId,
  link,
  map,
  opdef,
  post,
  put,
  ref,
  whileLoop,
  type OpDef,
  type Ref,
  type Scalar,
  type Step,
  type Subject,
} from "../../src/ir/index.js";

// ---------------------------------------------------------------------------------------------
// Arbitraries

const name = fc.stringMatching(/^[A-Za-z_é][A-Za-z0-9_.é-]{0,7}$/).filter((s) => isId(s));
const segment = name.filter((s) => s !== ".");
const primitive: fc.Arbitrary<Scalar> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 }),
  fc.string({ maxLength: 12 }),
  fc.constantFrom("$x", "/state/x", "{\"$x\": []}", "__proto__", "a/b"), // hostile strings stay strings
);
const linkArb = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 4 }).map((segs) => link(`/${segs.join("/")}`)),
  fc
    .tuple(fc.constantFrom("http", "https"), fc.constantFrom("127.0.0.1", "host.example", "[::1]"), fc.integer({ min: 1, max: 65535 }), fc.array(segment, { maxLength: 3 }))
    .map(([scheme, host, port, segs]) => link(`${scheme}://${host}:${port}${segs.map((s) => `/${s}`).join("")}`)),
  fc.constantFrom(link("/state/scalar/ref/cond"), link("/state/scalar/value/none"), link("/state/scalar/op/post")),
);
const subjectArb: fc.Arbitrary<Subject> = fc.oneof(
  fc.tuple(name, fc.array(segment, { maxLength: 3 })).map(([n, path]) => ref(n, ...path)),
  linkArb,
);
const explicitly = <T extends { explicit: boolean }>(r: T, e: boolean): T => (e ? { ...r, explicit: true } : r);

function uniqueSteps(values: fc.Arbitrary<Scalar>): fc.Arbitrary<Step[]> {
  return fc.uniqueArray(fc.tuple(name, values), { selector: (s) => s[0], minLength: 1, maxLength: 4 }) as fc.Arbitrary<Step[]>;
}

const { scalar } = fc.letrec<{ scalar: Scalar; ref: Ref; op: OpDef }>((tie) => ({
  scalar: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    primitive,
    linkArb,
    fc.array(tie("scalar"), { maxLength: 4 }),
    fc.dictionary(name, tie("scalar"), { maxKeys: 4 }).map((d) => map(d)),
    tie("ref"),
    tie("op"),
  ),
  ref: fc.oneof(
    { depthSize: "small" },
    name.map((n) => id(n)),
    fc.tuple(subjectArb, tie("scalar"), fc.boolean()).map(([s, k, e]) => explicitly(get(s, k), e)),
    fc.tuple(subjectArb, tie("scalar"), tie("scalar"), fc.boolean()).map(([s, k, v, e]) => explicitly(put(s, k, v), e)),
    fc.tuple(subjectArb, fc.dictionary(name, tie("scalar"), { maxKeys: 3 }), fc.boolean()).map(([s, p, e]) => explicitly(post(s, p), e)),
    fc.tuple(subjectArb, tie("scalar")).map(([s, k]) => del(s, k)),
    fc.tuple(tie("ref"), tie("scalar"), tie("scalar")).map(([c, t, f]) => cond(c, t, f)),
    fc.tuple(tie("scalar"), tie("scalar")).map(([w, t]) => after(w, t)),
    fc.tuple(tie("scalar"), tie("scalar"), tie("scalar")).map(([c, s, st]) => whileLoop(c, s, st)),
    fc.tuple(tie("scalar"), tie("scalar"), name).map(([i, o, n]) => forEach(i, o, n)),
  ),
  op: fc.oneof(
    { depthSize: "small" },
    uniqueSteps(tie("scalar")).map((s) => opdef.post(s)),
    fc.tuple(name, uniqueSteps(tie("scalar"))).map(([k, s]) => opdef.get(k, s)),
    fc.tuple(name, name, uniqueSteps(tie("scalar"))).map(([k, v, s]) => opdef.put(k, v, s)),
    fc.tuple(name, uniqueSteps(tie("scalar"))).map(([k, s]) => opdef.delete(k, s)),
  ),
}));

/** Always at least 4 levels: an OpDef containing a cond containing op refs containing maps/tuples. */
const deepIr: fc.Arbitrary<Scalar> = fc
  .tuple(subjectArb, subjectArb, name, name, fc.dictionary(name, fc.array(scalar, { maxLength: 3 }), { minKeys: 1, maxKeys: 3 }), scalar, scalar)
  .map(([s1, s2, stepName, paramName, data, x, y]) =>
    opdef.post([
      [
        stepName,
        cond(
          get(s1, [map(data), x]),
          post(s2, { [paramName]: map({ nested: [map(data), after(id(stepName), y)] }) }),
          opdef.get("k", [["r", put(s1, id("k"), [x, y])]]),
        ),
      ],
    ]),
  );

/** Nesting depth of an IR value (primitives and links are 0). */
function depth(s: Scalar): number {
  if (typeof s !== "object" || s === null) return 0;
  if (Array.isArray(s)) return 1 + Math.max(0, ...s.map(depth));
  const n = s as Exclude<Scalar, readonly Scalar[] | null | boolean | number | string | bigint | Uint8Array>;
  const kids: Scalar[] = [];
  switch (n.kind) {
    case "map":
      kids.push(...Object.values(n.entries));
      break;
    case "link":
    case "id":
      return 0;
    case "get":
    case "delete":
      kids.push(n.key);
      break;
    case "put":
      kids.push(n.key, n.value);
      break;
    case "post":
      kids.push(...Object.values(n.params));
      break;
    case "cond":
      kids.push(n.cond, n.then, n.else);
      break;
    case "after":
      kids.push(n.when, n.then);
      break;
    case "while":
      kids.push(n.cond, n.step, n.state);
      break;
    case "for_each":
      kids.push(n.items, n.op);
      break;
    case "opdef":
      kids.push(...n.steps.map((st) => st[1]));
      break;
  }
  return 1 + Math.max(0, ...kids.map(depth));
}

// ---------------------------------------------------------------------------------------------

describe("codec properties", () => {
  it("generates IR nested at least 4 deep", () => {
    fc.assert(fc.property(deepIr, (x) => depth(x) >= 4), { numRuns: 100 });
  });

  it("decode(encode(x)) equals x and encode is stable, for deep IR", () => {
    fc.assert(
      fc.property(deepIr, (x) => {
        const json = encode(x);
        expect(decode(json)).toEqual(x);
        expect(encode(decode(json))).toEqual(json);
        // and through JSON text
        const text = JSON.stringify(json);
        expect(canonicalJson(encode(decode(JSON.parse(text))))).toBe(canonicalJson(json));
      }),
      { numRuns: 100 },
    );
  });

  it("decode(encode(x)) equals x for arbitrary IR", () => {
    fc.assert(
      fc.property(scalar, (x) => {
        const json = encode(x);
        expect(decode(json)).toEqual(x);
        expect(JSON.stringify(encode(decode(json)))).toBe(JSON.stringify(json));
      }),
      { numRuns: 400 },
    );
  });

  it("canonicalJson of IR equals canonicalJson of its JSON (keys sorted, integer-like ones too)", () => {
    const withIndexKeys = fc.dictionary(fc.oneof(name, fc.nat({ max: 20 }).map(String)), scalar, { maxKeys: 4 }).map((d) => map(d));
    fc.assert(
      fc.property(fc.oneof(scalar, withIndexKeys), (x) => {
        const text = canonicalJson(x);
        expect(text).toBe(canonicalJson(encode(x)));
        expect(text).toBe(canonicalJson(JSON.parse(text)));
        expect(canonicalJson(decode(JSON.parse(text)))).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  it("decodeValue accepts exactly the IR with no ref outside an OpDef", () => {
    const hasBareRef = (s: Scalar): boolean => {
      if (typeof s !== "object" || s === null) return false;
      if (Array.isArray(s)) return s.some(hasBareRef);
      const n = s as { kind: string; entries?: Record<string, Scalar> };
      if (n.kind === "map") return Object.values(n.entries!).some(hasBareRef);
      return n.kind !== "link" && n.kind !== "opdef";
    };
    fc.assert(
      fc.property(scalar, (x) => {
        const json = encode(x);
        if (hasBareRef(x)) expect(() => decodeValue(json)).toThrow(TcError);
        else expect(decodeValue(json)).toEqual(x);
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile input

const HOSTILE_KEYS = [
  "/", "$", "$x", "$x/y", "$x//y", "a", "b", "a b", "1", "__proto__", "constructor", "prototype", "toString",
  "/state/scalar/ref/cond", "/state/scalar/ref/if", "/state/scalar/op/post", "/state/scalar/op/get",
  "/state/scalar/ref/op/delete", "/state/scalar/ref/op/post", "/state/scalar/value/tuple",
  "/state/scalar/value/link", "/state/scalar/value/bogus", "/state/scalar/ref/for_each", "/lib/x", "http://h/x",
];

/** Builds an object with own properties only (so `__proto__` is a key, never a prototype). */
function own(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

const { hostile } = fc.letrec<{ hostile: unknown }>((tie) => ({
  hostile: fc.oneof(
    { depthSize: "small" },
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(2 ** 53, -(2 ** 60), Number.NaN, Number.POSITIVE_INFINITY, undefined, 1n, ""),
    fc.array(tie("hostile"), { maxLength: 4 }),
    fc.array(fc.tuple(fc.constantFrom(...HOSTILE_KEYS), tie("hostile")), { maxLength: 3 }).map(own),
  ),
}));

describe("hostile input", () => {
  function onlyTcErrors(input: unknown): void {
    for (const fn of [decode, decodeValue, decodeOpDef]) {
      let out: Scalar | undefined;
      try {
        out = fn(input);
      } catch (e) {
        expect(e).toBeInstanceOf(TcError);
        continue;
      }
      // anything accepted re-encodes and decodes to the same IR
      expect(decode(encode(out))).toEqual(out);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("x");
  }

  it("random JSON never throws anything but TcError", () => {
    fc.assert(fc.property(fc.jsonValue(), onlyTcErrors), { numRuns: 300 });
  });

  it("hostile objects with '/', '$' and prototype keys never throw anything but TcError", () => {
    fc.assert(fc.property(hostile, onlyTcErrors), { numRuns: 500 });
  });

  it("JSON text containing __proto__ keys cannot pollute prototypes", () => {
    fc.assert(
      fc.property(fc.constantFrom(...HOSTILE_KEYS), fc.jsonValue({ maxDepth: 1 }), (key, v) => {
        const text = `{"a": {${JSON.stringify(key)}: {"polluted": ${JSON.stringify(v) ?? "null"}}}}`;
        onlyTcErrors(JSON.parse(text));
      }),
      { numRuns: 200 },
    );
  });
});
