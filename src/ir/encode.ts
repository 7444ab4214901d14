/**
 * IR → JSON: the encoder of TinyChain IR (PROFILE §1; reference wire-format §1, §2.2, §2.3).
 * It validates the in-memory nodes it writes (names, numbers, subjects, unique step names) and
 * reports the first problem as an `IrEncodeError` at the JSON path the node would have had.
 */
import { BadRequestError, TcError } from "../errors.js";
import { bytesToBase64, describe, formatPath, int64Json, isInt64, isRef, MAX_DEPTH, type PathSeg } from "./codec.js";
// `one` builds `{key: value}`; here the key is always a `$…`/`/…` subject or a reserved path, never `__proto__`.
import { one } from "./json.js";
import { idIssue, isReservedHref, needsExplicit, parseSubject, segmentIssue, subjectText } from "./subject.js";
import { PATHS, type Json, type OpDef, type Primitive, type Scalar, type Step, type Subject } from "./types.js";

/**
 * An in-memory IR node that cannot be written as JSON (a NaN, an unknown node, a bad name).
 * `path` is the JSON path the node would have had in the output.
 */
export class IrEncodeError extends BadRequestError {
  readonly path: string;
  readonly expected: string;
  constructor(path: string, expected: string, found?: string) {
    super(`cannot encode IR at ${path}: expected ${expected}${found ? `, found ${found}` : ""}`);
    this.path = path;
    this.expected = expected;
  }
}

const INDEX_KEY = /^(?:0|[1-9][0-9]{0,9})$/;

class Encoder {
  private readonly path: PathSeg[] = [];
  private depth = 0;
  /**
   * Set when a data map has an integer-like key: JS objects enumerate those first, so the
   * object's own order is then not the sorted order (see `canonicalJson`).
   */
  indexKeys = false;

  fail(expected: string, found?: string, at?: PathSeg): never {
    const segs = at === undefined ? this.path : [...this.path, at];
    throw new IrEncodeError(formatPath(segs), expected, found);
  }

  scalar(s: Scalar): Json {
    switch (typeof s) {
      case "string":
      case "boolean":
        return s;
      case "number":
        if (!Number.isFinite(s)) this.fail("a finite number", String(s));
        return s;
      case "bigint":
        if (!isInt64(s)) this.fail("a 64-bit integer (−2^63 … 2^64 − 1)", String(s));
        return int64Json(s);
      case "object":
        if (s === null) return null;
        if (s instanceof Uint8Array) return one(PATHS.value.bytes, bytesToBase64(s));
        if (++this.depth > MAX_DEPTH) this.fail(`nesting at most ${MAX_DEPTH} levels deep (or a cycle)`, "deeper nesting");
        {
          const out = Array.isArray(s) ? this.tuple(s) : this.node(s as Exclude<Scalar, Primitive | readonly Scalar[]>);
          this.depth--;
          return out;
        }
      default:
        return this.fail("an IR node", typeof s);
    }
  }

  private tuple(arr: readonly Scalar[]): Json[] {
    const n = arr.length;
    const out = new Array<Json>(n);
    const path = this.path;
    path.push(0);
    for (let i = 0; i < n; i++) {
      path[path.length - 1] = i;
      out[i] = this.scalar(arr[i] as Scalar);
    }
    path.pop();
    return out;
  }

  private at(seg: PathSeg, s: Scalar): Json {
    this.path.push(seg);
    const out = this.scalar(s);
    this.path.pop();
    return out;
  }

  /** A data map (or POST params) with its keys in sorted order. */
  private entries(entries: Readonly<Record<string, Scalar>>): Json {
    if (typeof entries !== "object" || entries === null) this.fail("map entries (an object)", describe(entries));
    const keys = Object.keys(entries).sort();
    const out: Record<string, Json> = {};
    for (const key of keys) {
      const problem = idIssue(key);
      if (problem) this.fail(`an Id as a map key (${problem})`, JSON.stringify(key));
      if (!this.indexKeys && key.charCodeAt(0) <= 57 && INDEX_KEY.test(key)) this.indexKeys = true;
      out[key] = this.at(key, entries[key] as Scalar);
    }
    return out;
  }

  private subject(subject: Subject, at: PathSeg): string {
    if (typeof subject !== "object" || subject === null) this.fail("a subject", describe(subject), at);
    if (subject.kind === "ref") {
      this.name(subject.name, "reference name", at);
      if (!Array.isArray(subject.path)) this.fail("a subject path (a list of segments)", describe(subject.path), at);
      for (const seg of subject.path) {
        const problem = typeof seg === "string" ? segmentIssue(seg) : "a segment must be a string";
        if (problem) this.fail(`a valid path segment (${problem})`, describe(seg), at);
      }
      return subjectText(subject);
    }
    const parsed = subject.kind === "link" ? parseSubject(subject.href) : undefined;
    if (!parsed?.ok || parsed.subject.kind !== "link") {
      this.fail("a valid subject ($name[/path] or a link)", parsed && !parsed.ok ? parsed.problem : describe(subject), at);
    }
    return subject.href;
  }

  private name(v: unknown, what: string, at: PathSeg): string {
    const problem = idIssue(v);
    if (problem) this.fail(`an Id as the ${what} (${problem})`, describe(v), at);
    return v as string;
  }

  private node(s: Exclude<Scalar, Primitive | readonly Scalar[]>): Json {
    switch (s.kind) {
      case "map":
        return this.entries(s.entries);
      case "link": {
        const href = this.subject(s, "href");
        if (href.charCodeAt(0) !== 47 || isReservedHref(href)) return one(PATHS.value.link, href);
        return one(href, []);
      }
      case "id":
        return one(`$${this.name(s.name, "reference name", "name")}`, []);
      case "get": {
        const subject = this.subject(s.subject, "subject");
        this.path.push(subject);
        const key = this.at(0, s.key);
        this.path.pop();
        return s.explicit || needsExplicit(s.subject)
          ? one(PATHS.explicitRef.get, [subject, key])
          : one(subject, [key]);
      }
      case "put": {
        const subject = this.subject(s.subject, "subject");
        this.path.push(subject);
        const key = this.at(0, s.key);
        const value = this.at(1, s.value);
        this.path.pop();
        return s.explicit || needsExplicit(s.subject)
          ? one(PATHS.explicitRef.put, [subject, key, value])
          : one(subject, [key, value]);
      }
      case "post": {
        const subject = this.subject(s.subject, "subject");
        this.path.push(subject);
        const params = this.entries(s.params);
        this.path.pop();
        return s.explicit || needsExplicit(s.subject)
          ? one(PATHS.explicitRef.post, [subject, params])
          : one(subject, params);
      }
      case "delete": {
        const subject = this.subject(s.subject, "subject");
        this.path.push(PATHS.explicitRef.delete);
        const key = this.at(1, s.key);
        this.path.pop();
        return one(PATHS.explicitRef.delete, [subject, key]);
      }
      case "cond": {
        if (!isRef(s.cond)) this.fail("a reference as the cond condition", describe(s.cond), "cond");
        this.path.push(PATHS.cond);
        const out = [this.at(0, s.cond), this.at(1, s.then), this.at(2, s.else)];
        this.path.pop();
        return one(PATHS.cond, out);
      }
      case "after": {
        this.path.push(PATHS.after);
        const out = [this.at(0, s.when), this.at(1, s.then)];
        this.path.pop();
        return one(PATHS.after, out);
      }
      case "while": {
        this.path.push(PATHS.while);
        const out = [this.at(0, s.cond), this.at(1, s.step), this.at(2, s.state)];
        this.path.pop();
        return one(PATHS.while, out);
      }
      case "for_each": {
        this.path.push(PATHS.forEach);
        const itemName = this.name(s.itemName, "for_each item name", 2);
        const out = [this.at(0, s.items), this.at(1, s.op), itemName];
        this.path.pop();
        return one(PATHS.forEach, out);
      }
      case "opdef":
        return this.opdef(s);
      default:
        return this.fail("an IR node (primitive, tuple, map, link, reference or OpDef)", describe(s));
    }
  }

  private opdef(op: OpDef): Json {
    const key = PATHS.opdef[op.verb];
    if (key === undefined || !Object.prototype.hasOwnProperty.call(PATHS.opdef, op.verb)) {
      this.fail("an OpDef verb get|put|post|delete", describe(op.verb), "verb");
    }
    this.path.push(key);
    let out: Json;
    switch (op.verb) {
      case "get":
      case "delete":
        out = [this.name(op.keyName, "key name", 0), this.steps(op.steps, 1)];
        break;
      case "put":
        out = [this.name(op.keyName, "key name", 0), this.name(op.valueName, "value name", 1), this.steps(op.steps, 2)];
        break;
      default:
        out = this.steps(op.steps, undefined);
    }
    this.path.pop();
    return one(key, out);
  }

  private steps(steps: readonly Step[], at: number | undefined): Json[] {
    if (at !== undefined) this.path.push(at);
    if (!Array.isArray(steps)) this.fail("a list of steps", describe(steps));
    const seen = new Set<string>();
    const out = new Array<Json>(steps.length);
    for (let i = 0; i < steps.length; i++) {
      this.path.push(i);
      const step = steps[i];
      if (!Array.isArray(step) || step.length !== 2) this.fail("a step [name, scalar]", describe(step));
      const name = this.name(step[0], "step name", 0);
      if (seen.has(name)) this.fail("a unique step name", `a second step ${JSON.stringify(name)}`, 0);
      seen.add(name);
      out[i] = [name, this.at(1, step[1])];
      this.path.pop();
    }
    if (at !== undefined) this.path.pop();
    return out;
  }
}

/**
 * Encodes IR as JSON (PROFILE §1): data-map and params keys in sorted order, op calls in the form
 * they were decoded from (implicit or explicit), so `encode(decode(json))` reproduces `json`.
 * Links that cannot be written as `{"<link>": []}` (absolute, or under a reserved
 * `/state/scalar/...` path) are written as `{"/state/scalar/value/link": "<link>"}`, and op calls
 * on them use the explicit form. Throws `IrEncodeError` for NaN/Infinity, integers beyond
 * ±(2^53−1), invalid names and anything that is not an IR node.
 *
 * @example
 * ```ts
 * encode({ kind: "id", name: "x" });                        // { "$x": [] }
 * encode({ kind: "map", entries: { b: 1, a: [true] } });   // { a: [true], b: 1 }
 * ```
 */
export function encode(s: Scalar): Json {
  return encodeChecked(s).json;
}

/**
 * `encode`, also saying whether the JSON's own key order is already the sorted order (false when
 * a data map has an integer-like key, which JS objects always enumerate first). Internal: used by
 * `canonicalJson` to skip re-sorting.
 */
export function encodeChecked(s: Scalar): { json: Json; sortedOrder: boolean } {
  try {
    const encoder = new Encoder();
    const json = encoder.scalar(s);
    return { json, sortedOrder: !encoder.indexKeys };
  } catch (e) {
    if (e instanceof TcError) throw e;
    throw new IrEncodeError("$", "an IR node", `an unreadable value (${String(e)})`);
  }
}
