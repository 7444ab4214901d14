/**
 * Canonical JSON text and content hashes of IR, e.g. to cache compiled or prepared ops.
 */
import { createHash } from "node:crypto";
import { BadRequestError, TcError } from "../errors.js";
import { encodeChecked } from "./encode.js";
import type { Json, Scalar } from "./types.js";

const MAX_JSON_DEPTH = 1024;

function write(x: unknown, depth: number, out: string[]): void {
  switch (typeof x) {
    case "string":
    case "boolean":
      out.push(JSON.stringify(x));
      return;
    case "number":
      if (!Number.isFinite(x)) throw new BadRequestError(`cannot write ${x} as JSON`);
      out.push(JSON.stringify(x));
      return;
    case "object": {
      if (x === null) {
        out.push("null");
        return;
      }
      if (depth > MAX_JSON_DEPTH) throw new BadRequestError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels (or a cycle)`);
      if (Array.isArray(x)) {
        out.push("[");
        for (let i = 0; i < x.length; i++) {
          if (i > 0) out.push(",");
          write(x[i], depth + 1, out);
        }
        out.push("]");
        return;
      }
      // Sorted by UTF-16 code units: JS objects always enumerate integer-like keys first, so the
      // order is imposed here, not taken from the object.
      const keys = Object.keys(x).sort();
      out.push("{");
      keys.forEach((k, i) => {
        if (i > 0) out.push(",");
        out.push(JSON.stringify(k), ":");
        write((x as Record<string, unknown>)[k], depth + 1, out);
      });
      out.push("}");
      return;
    }
    default:
      throw new BadRequestError(`cannot write a ${typeof x} as JSON`);
  }
}

/**
 * Encodes `x` when it is in-memory IR; anything `encode` refuses is taken as plain JSON.
 * `sortedOrder` says the result's own key order is already sorted (so JSON.stringify is canonical).
 */
function toJson(x: Scalar | Json): { json: unknown; sortedOrder: boolean } {
  // An object without `kind` is no IR node (`encode` refuses it at once): plain JSON, such as an
  // op in its JSON form. Taken as such without the refusal, an exception with its stack trace
  // per op a client prepares.
  if (x !== null && typeof x === "object" && !Array.isArray(x) && !(x instanceof Uint8Array) && !("kind" in x)) {
    return { json: x, sortedOrder: false };
  }
  try {
    return encodeChecked(x as Scalar);
  } catch (e) {
    if (e instanceof TcError) return { json: x, sortedOrder: false }; // plain JSON
    throw e;
  }
}

/**
 * Deterministic JSON text of IR (encoded first) or of plain JSON: no whitespace, every object's
 * keys sorted. Equal ops give equal text; use it as a cache key.
 *
 * @example
 * ```ts
 * canonicalJson(map({ b: 1, a: 2 }));  // '{"a":2,"b":1}'
 * canonicalJson({ b: 1, a: 2 });       // '{"a":2,"b":1}'
 * ```
 */
export function canonicalJson(s: Scalar | Json): string {
  let encoded: { json: unknown; sortedOrder: boolean };
  try {
    encoded = toJson(s);
  } catch (e) {
    if (e instanceof TcError) throw e;
    throw new BadRequestError(`cannot write value as JSON: ${String(e)}`);
  }
  // encode's output has sorted keys except for integer-like data-map keys
  return encoded.sortedOrder ? JSON.stringify(encoded.json) : plainText(encoded.json);
}

/** The canonical text of plain JSON (`write`), its failures as `BadRequestError`. */
function plainText(json: unknown): string {
  const out: string[] = [];
  try {
    write(json, 0, out);
  } catch (e) {
    if (e instanceof TcError) throw e;
    throw new BadRequestError(`cannot write value as JSON: ${String(e)}`);
  }
  return out.join("");
}

/**
 * The content hash of an op: SHA-256 (hex) of its `canonicalJson`.
 *
 * @example
 * ```ts
 * opHash(opdef.post([["x", 7]])) === opHash({ "/state/scalar/op/post": [["x", 7]] }); // true
 * ```
 */
export function opHash(op: Scalar | Json): string {
  return createHash("sha256").update(canonicalJson(op)).digest("hex");
}

/**
 * The SHA-256 (hex) of plain JSON's canonical text (every object's keys sorted), without trying
 * it as in-memory IR first (`opHash` tries an array or an object with `kind` as IR).
 * A cache key for ops that arrive as JSON; content-addressed names use `opHash`.
 *
 * @example
 * ```ts
 * jsonHash({ b: 1, a: [2] }) === jsonHash({ a: [2], b: 1 }); // true
 * ```
 */
export function jsonHash(json: Json): string {
  return createHash("sha256").update(plainText(json)).digest("hex");
}
