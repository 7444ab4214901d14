/**
 * JSON → IR: the decoder of TinyChain IR (PROFILE §1; reference wire-format §1, §2.2, §2.3).
 *
 * Decoding applies rule zero: an object whose (only) key starts with `/` or `$` is a typed value,
 * an OpDef, a TCRef, an op call or a link — never a data map; any other object is a data map whose
 * keys must all be `Id`s. Everything is validated on the way in and every failure is an
 * `IrDecodeError` naming the JSON path of the problem (`$["/state/scalar/op/post"][1][0]`) and
 * what was expected there. Nothing but a `TcError` ever escapes, whatever the input.
 *
 * The decoder is hand-written: it runs on every request, and many ops are decoded once (a
 * migration, a query's first run), so nothing in it pays a first-use cost of its own.
 */
import { IrDecodeError, TcError } from "../errors.js";
import { base64ToBytes, describe, formatPath, isRef, MAX_DEPTH, parseInt64, type PathSeg } from "./codec.js";
import { idIssue, parseSubject } from "./subject.js";
import { PATHS, type OpDef, type Scalar, type ScalarMap, type Step, type Subject, type Verb } from "./types.js";

const NO_REFS =
  "data (execution arguments are values, never code: a reference may only appear inside an OpDef)";

function isPlainObject(x: object): x is Record<string, unknown> {
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

// -------------------------------------------------------------------------------------------------
// Argument shapes of the reserved forms: a tuple of fixed length whose items are strings, arrays
// or anything, or an array of anything. Checked by hand (`Decoder.shape`): a schema library's first
// check of each shape cost more than the rest of an op's decode, and an op is often decoded once.

/** What one item of a tuple shape must be. */
type ShapeItem = "string" | "array" | "any";
/** A tuple shape (`items`), or an array of any length (`items` undefined), and how it reads in errors. */
interface Shape {
  readonly items?: readonly ShapeItem[];
  readonly expected: string;
}

/** The values a shape's check lets through: its items' types, in order. */
type ShapeOf<S extends Shape> = S extends { readonly items: infer T extends readonly ShapeItem[] }
  ? { readonly [K in keyof T]: T[K] extends "string" ? string : T[K] extends "array" ? readonly unknown[] : unknown }
  : readonly unknown[];

const STEPS = "[[id, scalar], …]";
const SHAPES = {
  getOp: { items: ["string", "array"], expected: `["key_name", ${STEPS}]` },
  putOp: { items: ["string", "string", "array"], expected: `["key_name", "value_name", ${STEPS}]` },
  postOp: { expected: STEPS },
  deleteOp: { items: ["string", "array"], expected: `["key_name", ${STEPS}]` },
  step: { items: ["string", "any"], expected: "a step [id, scalar]" },
  explicitGet: { items: ["string", "any"], expected: `["<subject>", key]` },
  explicitPut: { items: ["string", "any", "any"], expected: `["<subject>", key, value]` },
  explicitPost: { items: ["string", "any"], expected: `["<subject>", {params}]` },
  explicitDelete: { items: ["string", "any"], expected: `["<subject>", key] (the subject is a string)` },
  cond: { items: ["any", "any", "any"], expected: "[<ref>, then, else]" },
  after: { items: ["any", "any"], expected: "[when, then]" },
  while: { items: ["any", "any", "any"], expected: "[cond_opdef, step_opdef, state]" },
  forEach: { items: ["any", "any", "string"], expected: `[items, opdef, "item_name"]` },
} as const satisfies Record<string, Shape>;

const ABSOLUTE_KEY = /^https?:\/\//;
const VALUE_TYPES = new Set(["none", "number", "string", "link", "tuple", "bytes", "number/int/64", "number/uint/64"]);
const NUMERIC_STRING = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

class Decoder {
  private readonly path: PathSeg[] = [];
  private depth = 0;
  /** > 0 while inside an OpDef (where references are allowed even when decoding a value). */
  private inOpDef = 0;

  constructor(private readonly refsAllowed: boolean) {}

  fail(expected: string, found?: string, at?: PathSeg): never {
    const segs = at === undefined ? this.path : [...this.path, at];
    throw new IrDecodeError(formatPath(segs), expected, found);
  }

  scalar(x: unknown): Scalar {
    switch (typeof x) {
      case "string":
      case "boolean":
        return x;
      case "number":
        return this.number(x);
      case "object":
        if (x === null) return null;
        if (Array.isArray(x)) return this.tuple(x);
        return this.object(x);
      default:
        return this.fail("a JSON value", typeof x);
    }
  }

  number(n: number): number {
    // Any finite double is exact as JSON (the shortest round-trip form); integers past
    // ±(2^53 − 1) travel as typed maps (`typedValue`), which integer columns require.
    if (!Number.isFinite(n)) this.fail("a finite number", String(n));
    return n;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail(`nesting at most ${MAX_DEPTH} levels deep`, "deeper nesting");
  }

  tuple(arr: readonly unknown[]): Scalar[] {
    this.enter();
    const n = arr.length;
    const out = new Array<Scalar>(n);
    const path = this.path;
    path.push(0);
    for (let i = 0; i < n; i++) {
      path[path.length - 1] = i;
      out[i] = this.scalar(arr[i]);
    }
    path.pop();
    this.depth--;
    return out;
  }

  private object(o: object): Scalar {
    if (!isPlainObject(o)) this.fail("a plain JSON object", describe(o));
    this.enter();
    const keys = Object.keys(o);
    let result: Scalar;
    if (keys.length === 1 && isMarked(keys[0]!)) {
      const key = keys[0]!;
      this.path.push(key);
      result = key.charCodeAt(0) === 36 ? this.scoped(key, o[key]) : this.slashed(key, o[key]);
      this.path.pop();
    } else {
      result = this.dataMap(o, keys);
    }
    this.depth--;
    return result;
  }

  /** A data map: every key must be an Id (which also keeps `__proto__` and friends out). */
  private dataMap(o: Record<string, unknown>, keys: readonly string[]): ScalarMap {
    const entries: Record<string, Scalar> = {};
    const path = this.path;
    for (const key of keys) {
      if (isMarked(key)) {
        this.fail(
          "an object with exactly one key when that key starts with '/' or '$' (such a key marks a reference, " +
            "an op call or a typed value, so the object cannot also be a data map)",
          `${keys.length} keys including ${JSON.stringify(key)}`,
        );
      }
      const problem = idIssue(key);
      if (problem) {
        if (ABSOLUTE_KEY.test(key)) {
          this.fail(
            'a path link or "$name" key (an absolute link cannot be a key in v2: write ' +
              '{"/state/scalar/value/link": "<url>"} for the link, or an explicit /state/scalar/ref/op/<verb> call)',
            JSON.stringify(key),
            key,
          );
        }
        this.fail(`an Id as a map key (${problem})`, JSON.stringify(key), key);
      }
      path.push(key);
      entries[key] = this.scalar(o[key]);
      path.pop();
    }
    return { kind: "map", entries };
  }

  /** Params of a POST call: a data map with Id keys. */
  private params(v: unknown): Record<string, Scalar> {
    if (typeof v !== "object" || v === null || Array.isArray(v) || !isPlainObject(v)) {
      this.fail("a params object {name: value, …}", describe(v));
    }
    this.enter();
    const map = this.dataMap(v, Object.keys(v));
    this.depth--;
    return map.entries;
  }

  private noRefsHere(): void {
    if (!this.refsAllowed && this.inOpDef === 0) this.fail(NO_REFS, "a reference");
  }

  /** `{"$name[/path]": args}`: an Id reference or an op call on a value in scope. */
  private scoped(key: string, v: unknown): Scalar {
    const parsed = parseSubject(key);
    if (!parsed.ok) this.fail("a reference $name or $name/path with Id segments", parsed.problem);
    this.noRefsHere();
    return this.call(parsed.subject, v);
  }

  /** Args after a subject key: `[]` (id or link), `[key]` GET, `[key, value]` PUT, `{…}` POST. */
  private call(subject: Subject, v: unknown): Scalar {
    if (Array.isArray(v)) {
      switch (v.length) {
        case 0:
          if (subject.kind === "link") return subject;
          if (subject.path.length === 0) return { kind: "id", name: subject.name };
          return this.fail(
            "[key] for a GET on a path under a reference (write [null] for no key); [] is only for $name or a link",
            "[]",
          );
        case 1:
          this.noRefsHere();
          return { kind: "get", subject, key: this.arg(v, 0), explicit: false };
        case 2:
          this.noRefsHere();
          return { kind: "put", subject, key: this.arg(v, 0), value: this.arg(v, 1), explicit: false };
        default:
          return this.fail("1 or 2 op-call arguments (GET [key] or PUT [key, value])", `${v.length} arguments`);
      }
    }
    if (typeof v === "object" && v !== null) {
      this.noRefsHere();
      return { kind: "post", subject, params: this.params(v), explicit: false };
    }
    return this.fail("op-call arguments: [] (link or id), [key], [key, value] or {params}", describe(v));
  }

  private arg(arr: readonly unknown[], i: number): Scalar {
    this.path.push(i);
    const s = this.scalar(arr[i]);
    this.path.pop();
    return s;
  }

  /** Checks `v` against a shape; the error names the form, and the item when one is wrong. */
  private shape<S extends Shape>(shape: S, v: unknown): ShapeOf<S> {
    if (!Array.isArray(v)) return this.fail(shape.expected, describe(v));
    const items = shape.items;
    if (items === undefined) return v as unknown as ShapeOf<S>;
    if (v.length !== items.length) return this.fail(`${shape.expected} (${items.length} items)`, describe(v));
    for (let i = 0; i < items.length; i++) {
      const want = items[i]!;
      const item: unknown = v[i];
      if (want === "any" || (want === "string" ? typeof item === "string" : Array.isArray(item))) continue;
      return this.fail(`${shape.expected} (at [${i}]: ${want === "string" ? "a string" : "an array"})`, describe(item));
    }
    return v as unknown as ShapeOf<S>;
  }

  /** `{"/…": args}`: a reserved form, or an op call on / a value of a link. */
  private slashed(key: string, v: unknown): Scalar {
    if (key.startsWith("/state/scalar/")) {
      switch (key) {
        case PATHS.opdef.get:
          return this.opdef("get", v);
        case PATHS.opdef.put:
          return this.opdef("put", v);
        case PATHS.opdef.post:
          return this.opdef("post", v);
        case PATHS.opdef.delete:
          return this.opdef("delete", v);
        case PATHS.explicitRef.get:
        case PATHS.explicitRef.put:
        case PATHS.explicitRef.post:
        case PATHS.explicitRef.delete:
          return this.explicit(key.slice(PATHS.explicitRef.get.length - 3) as Verb, v);
        case PATHS.cond:
          return this.cond(v);
        case PATHS.after: {
          this.noRefsHere();
          const [when, then] = this.shape(SHAPES.after, v);
          return { kind: "after", when: this.argOf(when, 0), then: this.argOf(then, 1) };
        }
        case PATHS.while: {
          this.noRefsHere();
          const [cond, step, state] = this.shape(SHAPES.while, v);
          return { kind: "while", cond: this.argOf(cond, 0), step: this.argOf(step, 1), state: this.argOf(state, 2) };
        }
        case PATHS.forEach: {
          this.noRefsHere();
          const [items, op, itemName] = this.shape(SHAPES.forEach, v);
          const problem = idIssue(itemName);
          if (problem) this.fail(`an Id as the for_each item name (${problem})`, JSON.stringify(itemName), 2);
          return { kind: "for_each", items: this.argOf(items, 0), op: this.argOf(op, 1), itemName };
        }
      }
      if ((PATHS.v1Only as readonly string[]).includes(key)) {
        this.fail(
          "a v2 form: /state/scalar/ref/if, case and with are v1-only; use /state/scalar/ref/cond " +
            "([<ref>, then, else], branches may be OpDefs)",
          JSON.stringify(key),
        );
      }
      if (key.startsWith("/state/scalar/value/")) return this.typedValue(key, v);
      if (key.startsWith("/state/scalar/ref/")) {
        this.fail("a known reference form: /state/scalar/ref/{cond,after,while,for_each} or /state/scalar/ref/op/{get,put,post,delete}", JSON.stringify(key));
      }
      if (key.startsWith("/state/scalar/op/")) {
        this.fail("an OpDef kind: /state/scalar/op/{get,put,post,delete}", JSON.stringify(key));
      }
    }
    const parsed = parseSubject(key);
    if (!parsed.ok) this.fail("a link /a/b with Id segments", parsed.problem);
    return this.call(parsed.subject, v);
  }

  private argOf(v: unknown, i: number): Scalar {
    this.path.push(i);
    const s = this.scalar(v);
    this.path.pop();
    return s;
  }

  private typedValue(key: string, v: unknown): Scalar {
    const type = key.slice("/state/scalar/value/".length);
    if (!VALUE_TYPES.has(type)) {
      this.fail(
        "a typed value /state/scalar/value/{none,number,string,link,tuple,bytes,number/int/64,number/uint/64} (other v1 typed numbers and classes are not part of the profile)",
        JSON.stringify(key),
      );
    }
    switch (type) {
      case "none":
        return null;
      case "number":
        if (typeof v === "number") return this.number(v);
        if (typeof v === "boolean") return v;
        if (typeof v === "string" && NUMERIC_STRING.test(v)) {
          const n = Number(v);
          if (Number.isInteger(n) && !Number.isSafeInteger(n) && /^-?[0-9]+$/.test(v)) {
            this.fail("an integer within ±(2^53−1) (write larger ones as {\"/state/scalar/value/number/int/64\": \"<digits>\"})", JSON.stringify(v));
          }
          return this.number(n);
        }
        return this.fail("a number (or a numeric string) for /state/scalar/value/number", describe(v));
      case "string":
        if (typeof v !== "string") this.fail("a string for /state/scalar/value/string", describe(v));
        return v;
      case "bytes": {
        const b = typeof v === "string" ? base64ToBytes(v) : undefined;
        if (b === undefined) this.fail("a base64 string for /state/scalar/value/bytes", describe(v));
        return b;
      }
      case "number/int/64":
      case "number/uint/64": {
        const n = parseInt64(v);
        if (n === undefined) this.fail(`a 64-bit integer (decimal digits in a string, or a safe integer) for ${key}`, describe(v));
        // One value, one form: within ±(2^53 − 1) a number, beyond it a bigint.
        return n >= -9007199254740991n && n <= 9007199254740991n ? Number(n) : n;
      }
      case "link": {
        if (typeof v !== "string") this.fail("a link string for /state/scalar/value/link", describe(v));
        const parsed = parseSubject(v);
        if (!parsed.ok || parsed.subject.kind !== "link") {
          this.fail("a link (/a/b or http(s)://host[:port]/a/b)", parsed.ok ? JSON.stringify(v) : parsed.problem);
        }
        return parsed.subject;
      }
      default: // tuple
        if (!Array.isArray(v)) this.fail("an array for /state/scalar/value/tuple", describe(v));
        return this.tuple(v);
    }
  }

  private subjectAt(text: string, i: number): Subject {
    const parsed = parseSubject(text);
    if (!parsed.ok) this.fail("a subject: $name[/path] or a link (/a/b or http(s)://host[:port]/a/b)", parsed.problem, i);
    return parsed.subject;
  }

  private explicit(verb: Verb, v: unknown): Scalar {
    this.noRefsHere();
    switch (verb) {
      case "get": {
        const [subject, key] = this.shape(SHAPES.explicitGet, v);
        return { kind: "get", subject: this.subjectAt(subject, 0), key: this.argOf(key, 1), explicit: true };
      }
      case "put": {
        const [subject, key, value] = this.shape(SHAPES.explicitPut, v);
        const s = this.subjectAt(subject, 0);
        return { kind: "put", subject: s, key: this.argOf(key, 1), value: this.argOf(value, 2), explicit: true };
      }
      case "post": {
        const [subject, params] = this.shape(SHAPES.explicitPost, v);
        const s = this.subjectAt(subject, 0);
        this.path.push(1);
        const p = this.params(params);
        this.path.pop();
        return { kind: "post", subject: s, params: p, explicit: true };
      }
      default: {
        const [subject, key] = this.shape(SHAPES.explicitDelete, v);
        return { kind: "delete", subject: this.subjectAt(subject, 0), key: this.argOf(key, 1) };
      }
    }
  }

  private cond(v: unknown): Scalar {
    this.noRefsHere();
    const [c, then, otherwise] = this.shape(SHAPES.cond, v);
    const condition = this.argOf(c, 0);
    if (!isRef(condition)) {
      this.fail("a reference as the cond condition ($flag, an op call or a TCRef)", describe(c), 0);
    }
    return { kind: "cond", cond: condition, then: this.argOf(then, 1), else: this.argOf(otherwise, 2) };
  }

  private name(v: string, what: string, at: PathSeg): string {
    const problem = idIssue(v);
    if (problem) this.fail(`an Id as the ${what} (${problem})`, JSON.stringify(v), at);
    return v;
  }

  opdef(verb: Verb, v: unknown): OpDef {
    this.inOpDef++;
    let op: OpDef;
    switch (verb) {
      case "get": {
        const [keyName, steps] = this.shape(SHAPES.getOp, v);
        op = { kind: "opdef", verb, keyName: this.name(keyName, "key name", 0), steps: this.steps(steps, 1) };
        break;
      }
      case "put": {
        const [keyName, valueName, steps] = this.shape(SHAPES.putOp, v);
        op = {
          kind: "opdef",
          verb,
          keyName: this.name(keyName, "key name", 0),
          valueName: this.name(valueName, "value name", 1),
          steps: this.steps(steps, 2),
        };
        break;
      }
      case "post":
        op = { kind: "opdef", verb, steps: this.steps(this.shape(SHAPES.postOp, v), undefined) };
        break;
      default: {
        const [keyName, steps] = this.shape(SHAPES.deleteOp, v);
        op = { kind: "opdef", verb, keyName: this.name(keyName, "key name", 0), steps: this.steps(steps, 1) };
      }
    }
    this.inOpDef--;
    return op;
  }

  private steps(entries: readonly unknown[], at: number | undefined): Step[] {
    if (at !== undefined) this.path.push(at);
    this.enter();
    const seen = new Set<string>();
    const out: Step[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      this.path.push(i);
      const entry = entries[i];
      const [name, value] = this.shape(SHAPES.step, entry);
      this.name(name, "step name", 0);
      if (seen.has(name)) {
        this.fail(
          "a unique step name (steps form a dataflow graph keyed by name; a second step with the same name would silently replace the first)",
          `a second step ${JSON.stringify(name)}`,
          0,
        );
      }
      seen.add(name);
      out[i] = [name, this.argOf(value, 1)];
      this.path.pop();
    }
    this.depth--;
    if (at !== undefined) this.path.pop();
    return out;
  }
}

function isMarked(key: string): boolean {
  const c = key.charCodeAt(0);
  return c === 47 /* / */ || c === 36 /* $ */;
}

/** Runs `fn`, turning anything that is not a TcError into an IrDecodeError at the root. */
function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TcError) throw e;
    const found = e instanceof RangeError ? "input too deeply nested or too large" : `an unreadable value (${String(e)})`;
    throw new IrDecodeError("$", "a JSON document", found);
  }
}

/**
 * Decodes IR from parsed JSON (PROFILE §1). Throws `IrDecodeError` (with `path` and `expected`)
 * for anything that is not valid IR; never throws anything but a `TcError`.
 *
 * @example
 * ```ts
 * decode({ "$x/add": { r: 1 } });
 * // { kind: "post", subject: { kind: "ref", name: "x", path: ["add"] }, params: { r: 1 }, explicit: false }
 * ```
 */
export function decode(json: unknown): Scalar {
  return guarded(() => new Decoder(true).scalar(json));
}

/**
 * Decodes an OpDef: like `decode`, but the document must be one of the four OpDef forms.
 *
 * @example
 * ```ts
 * decodeOpDef({ "/state/scalar/op/post": [["x", 7]] }); // { kind: "opdef", verb: "post", steps: [["x", 7]] }
 * ```
 */
export function decodeOpDef(json: unknown): OpDef {
  const s = decode(json);
  if (typeof s !== "object" || s === null || Array.isArray(s) || (s as { kind: string }).kind !== "opdef") {
    throw new IrDecodeError(
      "$",
      'an OpDef {"/state/scalar/op/<get|put|post|delete>": …}',
      describe(json),
    );
  }
  return s as OpDef;
}

function isPrimitive(x: unknown): boolean {
  const t = typeof x;
  return x === null || t === "string" || t === "boolean" || (t === "number" && Number.isFinite(x));
}

/**
 * Decodes execution arguments: like `decode`, but a reference (an `$id`, an op call or a TCRef)
 * outside an OpDef is rejected — arguments are data, never code. Primitives and flat tuples of
 * primitives take a fast path.
 *
 * @example
 * ```ts
 * decodeValue([1, "a", null]);  // [1, "a", null]
 * decodeValue({ "$x": [] });     // throws IrDecodeError: execution arguments may not contain references
 * ```
 */
export function decodeValue(json: unknown): Scalar {
  if (isPrimitive(json)) return json as Scalar;
  if (Array.isArray(json)) {
    let flat = true;
    for (let i = 0; i < json.length; i++) {
      if (!isPrimitive(json[i])) {
        flat = false;
        break;
      }
    }
    if (flat) return json.slice() as Scalar[];
  }
  return guarded(() => new Decoder(false).scalar(json));
}
