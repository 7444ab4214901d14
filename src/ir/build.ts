/**
 * Constructors for every IR form (PROFILE §1). They validate every name with the `Id` rules and
 * never splice a value into a subject or a step name: a string passed as a key, a value or a
 * param stays a string literal.
 */
import { BadRequestError } from "../errors.js";
import { isRef } from "./codec.js";
import { assertId } from "./id.js";
import { needsExplicit, parseSubject, segmentIssue } from "./subject.js";
import type {
  AfterRef,
  CondRef,
  DeleteOpDef,
  DeleteRef,
  ForEachRef,
  GetOpDef,
  GetRef,
  IdRef,
  Link,
  PostOpDef,
  PostRef,
  PutOpDef,
  PutRef,
  Scalar,
  ScalarMap,
  Step,
  Subject,
  WhileRef,
} from "./types.js";

/** What the op-call constructors accept as a subject. */
export type SubjectLike = Subject | IdRef | Link | string;

/** Map entries: a record, a `Map`, or `[key, value]` pairs. */
export type MapEntries =
  | Readonly<Record<string, Scalar>>
  | ReadonlyMap<string, Scalar>
  | Iterable<readonly [string, Scalar]>;

/**
 * A reference to the value named `name` in scope: `{"$name": []}`.
 *
 * @example
 * ```ts
 * encode(id("user")); // { "$user": [] }
 * ```
 */
export function id(name: string): IdRef {
  return { kind: "id", name: assertId(name, "reference name") };
}

/**
 * A link value: a path (`/state/social/users`) or an absolute `http(s)://host[:port]/…` URL.
 *
 * @example
 * ```ts
 * encode(link("/state/social/users")); // { "/state/social/users": [] }
 * ```
 */
export function link(href: string): Link {
  const parsed = typeof href === "string" ? parseSubject(href) : undefined;
  if (!parsed?.ok || parsed.subject.kind !== "link") {
    const why = parsed && !parsed.ok ? parsed.problem : "a link is /a/b or http(s)://host[:port]/a/b";
    throw new BadRequestError(`invalid link ${JSON.stringify(href)}: ${why}`);
  }
  return parsed.subject;
}

function entriesOf(entries: MapEntries): Iterable<readonly [string, Scalar]> {
  if (entries instanceof Map) return entries.entries();
  if (typeof (entries as Iterable<unknown>)[Symbol.iterator] === "function") {
    return entries as Iterable<readonly [string, Scalar]>;
  }
  return Object.entries(entries as Record<string, Scalar>);
}

/** Builds a params/entries record with validated Id keys (so no key can reach a prototype). */
function record(entries: MapEntries, what: string): Record<string, Scalar> {
  if (typeof entries !== "object" || entries === null) {
    throw new BadRequestError(`${what} must be an object, a Map or [key, value] pairs`);
  }
  const out: Record<string, Scalar> = {};
  for (const pair of entriesOf(entries)) {
    const [key, value] = pair;
    assertId(key, `${what} key`);
    if (Object.prototype.hasOwnProperty.call(out, key)) {
      throw new BadRequestError(`duplicate ${what} key ${JSON.stringify(key)}`);
    }
    out[key] = value;
  }
  return out;
}

/**
 * A data map with `Id` keys (encoded with keys sorted).
 *
 * @example
 * ```ts
 * encode(map({ b: 1, a: "x" })); // { a: "x", b: 1 }
 * ```
 */
export function map(entries: MapEntries): ScalarMap {
  return { kind: "map", entries: record(entries, "map") };
}

/**
 * A subject `$name/a/b`: the value `name` in scope, then a route on it. Every part is an `Id`.
 *
 * @example
 * ```ts
 * encode(get(ref("users", "count"), null)); // { "$users/count": [null] }
 * ```
 */
export function ref(name: string | IdRef, ...path: string[]): Subject {
  const base = typeof name === "string" ? name : name?.kind === "id" ? name.name : undefined;
  assertId(base, "reference name");
  for (const seg of path) {
    const problem = typeof seg === "string" ? segmentIssue(seg) : "a segment must be a string";
    if (problem) throw new BadRequestError(`invalid path segment ${JSON.stringify(seg)}: ${problem}`);
  }
  return { kind: "ref", name: base as string, path: [...path] };
}

/**
 * Normalises a subject argument: a Subject, an IdRef (→ `$name`), a Link or a subject string.
 *
 * @example
 * ```ts
 * toSubject("$x/a");  // { kind: "ref", name: "x", path: ["a"] }
 * toSubject(id("x")); // { kind: "ref", name: "x", path: [] }
 * ```
 */
export function toSubject(subject: SubjectLike): Subject {
  if (typeof subject === "string") {
    const parsed = parseSubject(subject);
    if (!parsed.ok) throw new BadRequestError(`invalid subject ${JSON.stringify(subject)}: ${parsed.problem}`);
    return parsed.subject;
  }
  if (typeof subject === "object" && subject !== null) {
    if (subject.kind === "id") return ref(subject.name);
    if (subject.kind === "ref") return ref(subject.name, ...subject.path);
    if (subject.kind === "link") return link(subject.href);
  }
  throw new BadRequestError("a subject must be $name[/path], a link, an id reference or a ref(...)");
}

/**
 * A GET call: `{"<subject>": [key]}` (key `null` when omitted).
 *
 * @example
 * ```ts
 * encode(get("/state/social/users", [1])); // { "/state/social/users": [[1]] }
 * ```
 */
export function get(subject: SubjectLike, key: Scalar = null): GetRef {
  const s = toSubject(subject);
  return { kind: "get", subject: s, key, explicit: needsExplicit(s) };
}

/**
 * A PUT call: `{"<subject>": [key, value]}`.
 *
 * @example
 * ```ts
 * encode(put("$t/insert", [1], ["ann"])); // { "$t/insert": [[1], ["ann"]] }
 * ```
 */
export function put(subject: SubjectLike, key: Scalar, value: Scalar): PutRef {
  const s = toSubject(subject);
  return { kind: "put", subject: s, key, value, explicit: needsExplicit(s) };
}

/**
 * A POST call: `{"<subject>": {params}}` (param names are `Id`s).
 *
 * @example
 * ```ts
 * encode(post(ref("x", "add"), { r: 1 })); // { "$x/add": { r: 1 } }
 * ```
 */
export function post(subject: SubjectLike, params: MapEntries = {}): PostRef {
  const s = toSubject(subject);
  return { kind: "post", subject: s, params: record(params, "params"), explicit: needsExplicit(s) };
}

/**
 * A DELETE call: `{"/state/scalar/ref/op/delete": ["<subject>", key]}`.
 *
 * @example
 * ```ts
 * encode(del("/state/social/users", [1]));
 * // { "/state/scalar/ref/op/delete": ["/state/social/users", [1]] }
 * ```
 */
export function del(subject: SubjectLike, key: Scalar = null): DeleteRef {
  return { kind: "delete", subject: toSubject(subject), key };
}

/**
 * `cond`: evaluate `c` (a reference), then only the selected branch.
 *
 * @example
 * ```ts
 * cond(id("flag"), "yes", "no"); // {"/state/scalar/ref/cond": [{"$flag": []}, "yes", "no"]}
 * ```
 */
export function cond(c: Scalar, then: Scalar, otherwise: Scalar): CondRef {
  if (!isRef(c)) {
    throw new BadRequestError("the condition of cond must be a reference (an id, an op call or a TCRef), not a literal");
  }
  return { kind: "cond", cond: c, then, else: otherwise };
}

/**
 * `after`: resolve `when` (for its effect), discard it, then return `then`.
 *
 * @example
 * ```ts
 * after(id("write"), id("read")); // {"/state/scalar/ref/after": [{"$write": []}, {"$read": []}]}
 * ```
 */
export function after(when: Scalar, then: Scalar): AfterRef {
  return { kind: "after", when, then };
}

/**
 * `while`: call `cond` with `{state}`; while true, `state = step({state})`; return the state.
 *
 * @example
 * ```ts
 * whileLoop(opdef.post([["c", post(ref("state", "lt"), { r: 10 })]]),
 *           opdef.post([["s", post(ref("state", "add"), { r: 1 })]]), 0);
 * ```
 */
export function whileLoop(c: Scalar, step: Scalar, state: Scalar): WhileRef {
  return { kind: "while", cond: c, step, state };
}

/**
 * `for_each`: call `op` with `{[itemName]: item}` for each item; return the last result.
 *
 * @example
 * ```ts
 * forEach([1, 2], opdef.post([["r", id("item")]]), "item");
 * ```
 */
export function forEach(items: Scalar, op: Scalar, itemName: string): ForEachRef {
  return { kind: "for_each", items, op, itemName: assertId(itemName, "for_each item name") };
}

/** Step lists: `[name, scalar]` pairs, a record, or a `Map` (in insertion order). */
export type StepsLike = readonly Step[] | ReadonlyMap<string, Scalar> | Readonly<Record<string, Scalar>>;

/**
 * Validates step names (Ids, no duplicates) and returns a fresh step list.
 *
 * @example
 * ```ts
 * toSteps({ a: 1, b: id("a") }); // [["a", 1], ["b", { kind: "id", name: "a" }]]
 * ```
 */
export function toSteps(steps: StepsLike): Step[] {
  if (typeof steps !== "object" || steps === null) {
    throw new BadRequestError("steps must be a list of [name, scalar] pairs");
  }
  const pairs: Iterable<readonly [string, Scalar]> = Array.isArray(steps)
    ? (steps as readonly Step[])
    : entriesOf(steps as MapEntries);
  const seen = new Set<string>();
  const out: Step[] = [];
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new BadRequestError("a step must be a [name, scalar] pair");
    const name = assertId(pair[0], "step name");
    if (seen.has(name)) {
      throw new BadRequestError(`duplicate step name ${JSON.stringify(name)}: steps are keyed by name`);
    }
    seen.add(name);
    out.push([name, pair[1] as Scalar]);
  }
  return out;
}

/**
 * OpDef constructors: the last step is the result.
 *
 * @example
 * ```ts
 * opdef.get("name", [["greeting", "Hello"], ["r", post(ref("greeting", "concat"), { r: id("name") })]]);
 * ```
 */
export const opdef = Object.freeze({
  get(keyName: string, steps: StepsLike): GetOpDef {
    return { kind: "opdef", verb: "get", keyName: assertId(keyName, "key name"), steps: toSteps(steps) };
  },
  put(keyName: string, valueName: string, steps: StepsLike): PutOpDef {
    return {
      kind: "opdef",
      verb: "put",
      keyName: assertId(keyName, "key name"),
      valueName: assertId(valueName, "value name"),
      steps: toSteps(steps),
    };
  },
  post(steps: StepsLike): PostOpDef {
    return { kind: "opdef", verb: "post", steps: toSteps(steps) };
  },
  delete(keyName: string, steps: StepsLike): DeleteOpDef {
    return { kind: "opdef", verb: "delete", keyName: assertId(keyName, "key name"), steps: toSteps(steps) };
  },
});
