/**
 * Parameters: names bound when an op is executed (POST params, or the key/value names of a
 * GET/PUT/DELETE OpDef), and the analysis that finds them in an op.
 */
import { BadRequestError } from "../errors.js";
import { assertId } from "./id.js";
import type { IdRef, OpDef, Scalar } from "./types.js";

/**
 * A parameter: an `IdRef` bound at execution (`{"$name": []}`). The name must be an `Id` and
 * must not start with `_`, which is reserved for the step names `OpBuilder` generates.
 *
 * @example
 * ```ts
 * const me = param("me");
 * encode(me); // { "$me": [] }
 * ```
 */
export function param(name: string): IdRef {
  assertId(name, "parameter name");
  if (name.startsWith("_")) {
    throw new BadRequestError(
      `invalid parameter name ${JSON.stringify(name)}: names starting with "_" are reserved for generated step names`,
    );
  }
  return { kind: "id", name };
}

/** Adds every name `s` references (as `$id` or as a `$id/...` subject) to `out`. */
function collect(s: Scalar, out: Set<string>): void {
  if (typeof s !== "object" || s === null || s instanceof Uint8Array) return;
  if (Array.isArray(s)) {
    for (const item of s as readonly Scalar[]) collect(item, out);
    return;
  }
  const node = s as Exclude<Scalar, readonly Scalar[] | null | boolean | number | string | bigint | Uint8Array>;
  switch (node.kind) {
    case "map":
      for (const v of Object.values(node.entries)) collect(v, out);
      return;
    case "link":
      return;
    case "id":
      out.add(node.name);
      return;
    case "get":
    case "delete":
      if (node.subject.kind === "ref") out.add(node.subject.name);
      collect(node.key, out);
      return;
    case "put":
      if (node.subject.kind === "ref") out.add(node.subject.name);
      collect(node.key, out);
      collect(node.value, out);
      return;
    case "post":
      if (node.subject.kind === "ref") out.add(node.subject.name);
      for (const v of Object.values(node.params)) collect(v, out);
      return;
    case "cond":
      collect(node.cond, out);
      collect(node.then, out);
      collect(node.else, out);
      return;
    case "after":
      collect(node.when, out);
      collect(node.then, out);
      return;
    case "while":
      // cond and step OpDefs are called with {state}: `state` is bound there, not free here.
      collectBound(node.cond, ["state"], out);
      collectBound(node.step, ["state"], out);
      collect(node.state, out);
      return;
    case "for_each":
      collect(node.items, out);
      collectBound(node.op, [node.itemName], out);
      return;
    case "opdef":
      for (const name of freeOf(node)) out.add(name);
      return;
  }
}

/** Like `collect`, but when `s` is an OpDef literal its call binds `bound`. */
function collectBound(s: Scalar, bound: readonly string[], out: Set<string>): void {
  if (typeof s === "object" && s !== null && !Array.isArray(s) && (s as OpDef).kind === "opdef") {
    const free = freeOf(s as OpDef);
    for (const b of bound) free.delete(b);
    for (const name of free) out.add(name);
  } else {
    collect(s, out);
  }
}

function freeOf(op: OpDef): Set<string> {
  const refs = new Set<string>();
  for (const [, value] of op.steps) collect(value, refs);
  for (const [name] of op.steps) refs.delete(name);
  if (op.verb !== "post") refs.delete(op.keyName);
  if (op.verb === "put") refs.delete(op.valueName);
  return refs;
}

/**
 * The free names of an op — referenced (as `$id` or a `$id/...` subject) but not defined by its
 * steps or its key/value names — sorted. For a POST op these are its parameters. Nested OpDefs
 * contribute their own free names (a `for_each` op's item name and a `while` op's `state` are
 * bound by the loop).
 *
 * @example
 * ```ts
 * freeIds(opdef.post([["r", post(ref("a", "add"), { r: param("b") })]])); // ["a", "b"]
 * ```
 */
export function freeIds(op: OpDef): string[] {
  return [...freeOf(op)].sort();
}
