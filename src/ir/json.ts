/**
 * IR JSON builders: the one place that writes IR forms straight as JSON (PROFILE §1), for the
 * compilers (ORM, graph) and the kernel, which build ops on hot paths and skip the typed
 * `build.ts` → `encode` round trip. Every form's path comes from `PATHS`.
 *
 * These builders trust their callers: names are Ids the caller made or checked, and no value is
 * spliced into a subject. Code that takes names from users goes through `build.ts`, which
 * validates them.
 */
import type { Json } from "./types.js";
import { PATHS } from "./types.js";

/** A composite op's steps: `[name, value]` pairs in order. */
export type JsonSteps = [string, Json][];

/**
 * A one-key object `{key: value}`. Built by assignment: V8 creates a `{[key]: v}` literal with a
 * computed key about 3× slower, and a compile builds dozens of them.
 */
export function one(key: string, value: Json): Json {
  const o: Record<string, Json> = {};
  o[key] = value;
  return o;
}

/**
 * A reference to a value in scope: `{"$name": []}`.
 *
 * @example
 * ```ts
 * ref("user"); // { "$user": [] }
 * ```
 */
export const ref = (name: string): Json => one("$" + name, []);

/**
 * A GET call on a subject (a path or `$name[/...]`): `{subject: [key]}`.
 *
 * @example
 * ```ts
 * get("/state/social/users", [1]); // { "/state/social/users": [[1]] }
 * ```
 */
export const get = (subject: string, key: Json): Json => one(subject, [key]);

/**
 * A PUT call: `{subject: [key, value]}`.
 *
 * @example
 * ```ts
 * put("/state/social/users", null, [[1, "ada"]]); // { "/state/social/users": [null, [[1, "ada"]]] }
 * ```
 */
export const put = (subject: string, key: Json, value: Json): Json => one(subject, [key, value]);

/**
 * A POST call with named parameters: `{subject: {params}}`.
 *
 * @example
 * ```ts
 * post("$x/add", { r: 1 }); // { "$x/add": { "r": 1 } }
 * ```
 */
export const post = (subject: string, params: Record<string, Json>): Json => one(subject, params);

/**
 * A DELETE call, always in the explicit form: `{"/state/scalar/ref/op/delete": [subject, key]}`.
 *
 * @example
 * ```ts
 * del("/state/social/users", [1]); // { "/state/scalar/ref/op/delete": ["/state/social/users", [1]] }
 * ```
 */
export const del = (subject: string, key: Json): Json => one(PATHS.explicitRef.delete, [subject, key]);

/**
 * A method call on a value in scope: `{"$subject/method": {params}}`.
 *
 * @example
 * ```ts
 * call("n", "add", { r: 1 }); // { "$n/add": { "r": 1 } }
 * ```
 */
export const call = (subject: string, method: string, params: Record<string, Json> = {}): Json =>
  one("$" + subject + "/" + method, params);

/**
 * `{"/state/scalar/ref/cond": [cond, then, else]}`; `cond` must be a reference.
 *
 * @example
 * ```ts
 * cond(ref("ok"), "yes", "no");
 * ```
 */
export const cond = (c: Json, then: Json, otherwise: Json): Json => one(PATHS.cond, [c, then, otherwise]);

/**
 * `{"/state/scalar/ref/after": [when, then]}`: resolve `when`, then answer `then`.
 *
 * @example
 * ```ts
 * after(ref("write"), ref("read"));
 * ```
 */
export const after = (when: Json, then: Json): Json => one(PATHS.after, [when, then]);

/**
 * `{"/state/scalar/ref/while": [cond, step, state]}`.
 *
 * @example
 * ```ts
 * whileLoop(opdef([["r", call("state", "lt", { r: 10 })]]), opdef([["r", call("state", "add", { r: 1 })]]), 0);
 * ```
 */
export const whileLoop = (c: Json, step: Json, state: Json): Json => one(PATHS.while, [c, step, state]);

/**
 * `{"/state/scalar/ref/for_each": [items, op, "item_name"]}`.
 *
 * @example
 * ```ts
 * forEach(ref("ids"), opdef([["r", get("/state/social/users", ref("id"))]]), "id");
 * ```
 */
export const forEach = (items: Json, op: Json, itemName: string): Json => one(PATHS.forEach, [items, op, itemName]);

/**
 * A POST OpDef: `{"/state/scalar/op/post": [[name, value], …]}`.
 *
 * @example
 * ```ts
 * opdef([["n", get("/state/social/users/count", null)]]);
 * ```
 */
export const opdef = (steps: JsonSteps): Json => one(PATHS.opdef.post, steps as unknown as Json);

/**
 * A table literal: `{"/state/collection/table": [schema, rows]}`.
 *
 * @example
 * ```ts
 * tableLiteral([[[["id", "/state/scalar/value/number/uint/64"]], []], []], []);
 * ```
 */
export const tableLiteral = (schema: Json, rows: Json): Json => one(PATHS.table, [schema, rows]);

/**
 * An absolute link as a typed value, `{"/state/scalar/value/link": "<url>"}` (an absolute link
 * written as `{"<url>": []}` would read as an op call on that host).
 *
 * @example
 * ```ts
 * linkValue("http://example.com/state/a"); // { "/state/scalar/value/link": "http://example.com/state/a" }
 * ```
 */
export const linkValue = (href: string): Json => one(PATHS.value.link, href);
