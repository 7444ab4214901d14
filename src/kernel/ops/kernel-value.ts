/**
 * Kernel runtime values: what a step of an op resolves to, what the state layer receives as keys
 * and values, and how a result becomes JSON again (`toJson`). A route result already in JSON form
 * arrives as an `EncodedJson` (encoded-json.ts); `plainValue` is the value it wraps.
 *
 * A `KernelValue` is a resolved IR node (no references): a primitive, a tuple, a `ScalarMap`, a
 * `Link`, an `OpDef` — plus two state values of the table engine:
 * - a `TableView` (e.g. the result of `GET /state/ns/t` with a range): the kernel hands it back to
 *   `StateTxn.viewRequest` and encodes it with its `toJson()`;
 * - a `TableLiteral`: what `{"/state/collection/table": [schema, rows]}` resolves to (a PUT op ref
 *   on the class link, built with the table engine's `tableLiteral(schema, rows)`).
 *   `PUT /state/<ns>/<t>` with key `null` and a `TableLiteral` value creates the table.
 */
import { BadRequestError, InternalError } from "../../errors.js";
import { encode, decodeValue } from "../../ir/index.js";
import { bytesToBase64, int64Json } from "../../ir/codec.js";
import type { Json, Link, OpDef, Primitive, ScalarMap } from "../../ir/types.js";
import { PATHS } from "../../ir/types.js";
import { one, tableLiteral as tableLiteralJson } from "../../ir/json.js";
import { TableLiteral, tableLiteral } from "../storage/table-schema.js";
import { TableView } from "../state/table-view.js";
import { EncodedJson } from "./encoded-json.js";

export { TableLiteral, TableView };

/** A resolved map: like `ScalarMap`, but its entries may hold any kernel value. */
export interface ValueMap {
  readonly kind: "map";
  readonly entries: Readonly<Record<string, KernelValue>>;
}

/** Everything a step can resolve to. */
export type KernelValue =
  | Primitive
  | readonly KernelValue[]
  | ValueMap
  | ScalarMap
  | Link
  | OpDef
  | TableLiteral
  | TableView;

/**
 * What a route call answers: a kernel value, or one already encoded as JSON (`EncodedJson`),
 * which only an op's result may stay.
 */
export type OpResult = KernelValue | EncodedJson;

/** True for a table view. */
export function isView(v: unknown): v is TableView {
  return v instanceof TableView;
}

/** True for a `Link` value. */
export function isLink(v: KernelValue | undefined): v is Link {
  return v !== null && typeof v === "object" && !Array.isArray(v) && (v as { kind?: unknown }).kind === "link";
}

/** True for a map value. */
export function isMap(v: KernelValue | undefined): v is ValueMap {
  return v !== null && typeof v === "object" && !Array.isArray(v) && (v as { kind?: unknown }).kind === "map";
}

/** True for an OpDef value. */
export function isOpDef(v: KernelValue | undefined): v is OpDef {
  return v !== null && typeof v === "object" && !Array.isArray(v) && (v as { kind?: unknown }).kind === "opdef";
}

/** Builds a map value. */
export function valueMap(entries: Record<string, KernelValue>): ValueMap {
  return { kind: "map", entries };
}

/** A short type name for error messages. */
function typeName(v: KernelValue | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "none";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number" || typeof v === "bigint") return "number";
  if (typeof v === "string") return "string";
  if (v instanceof Uint8Array) return "bytes";
  if (Array.isArray(v)) return "tuple";
  const kind = (v as { kind?: unknown }).kind;
  if (kind === "map") return "map";
  if (kind === "link") return "link";
  if (kind === "opdef") return "OpDef";
  if (v instanceof TableLiteral) return "table literal";
  return "table view";
}

/** The type name with its article, for messages: "a tuple", "an OpDef", "none". */
export function aTypeName(v: KernelValue | undefined): string {
  const name = typeName(v);
  if (name === "none" || name === "nothing") return name;
  return /^[aeiouAEIOU]/.test(name) ? `an ${name}` : `a ${name}`;
}

/**
 * A shallow copy of a tuple. Short tuples (rows) are copied as array literals: for arrays that
 * small, `slice()` costs about twice as much (a generic builtin call).
 */
function copyTuple(t: readonly KernelValue[]): KernelValue[] {
  switch (t.length) {
    case 0: return [];
    case 1: return [t[0]!];
    case 2: return [t[0]!, t[1]!];
    case 3: return [t[0]!, t[1]!, t[2]!];
    case 4: return [t[0]!, t[1]!, t[2]!, t[3]!];
    case 5: return [t[0]!, t[1]!, t[2]!, t[3]!, t[4]!];
    case 6: return [t[0]!, t[1]!, t[2]!, t[3]!, t[4]!, t[5]!];
    default: return t.slice();
  }
}

/**
 * The plain value of a route result: what an `EncodedJson` wraps, else the value itself. Every
 * reader of a result except the kernel's last encoding takes this.
 *
 * @example
 * ```ts
 * plainValue(new EncodedJson([[1, "a"]])); // [[1, "a"]]
 * plainValue(7);                           // 7
 * ```
 */
export function plainValue(v: OpResult): KernelValue {
  return v instanceof EncodedJson ? (v.value as KernelValue) : v;
}

/** Estimated bytes of a tuple of `n` items (the array object, its backing store, one pointer per item). */
export function tupleBytes(n: number): number {
  return 48 + 8 * n;
}

/** Estimated bytes of a map of `n` entries (an object in dictionary mode: key, value and hash per entry). */
export function mapBytes(n: number): number {
  return 48 + 40 * n;
}

/** Estimated bytes of a string of `n` code units (a flat two-byte string at worst). */
export function stringBytes(n: number): number {
  return 16 + 2 * n;
}

/**
 * What encoding a tuple of `n` items charges: its copy, plus the worst-case JSON text of its
 * items (a number prints in at most 24 characters) so the encoded result always fits in the one
 * JSON string a server writes (V8 strings stop at 2^29 characters).
 */
function encodedTupleBytes(n: number): number {
  return 48 + 32 * n;
}

/** What encoding a string of `n` code units charges: its worst-case JSON text (`\u00XX` escapes). */
function encodedStringBytes(n: number): number {
  return 2 + 6 * n;
}

/** What encoding a result charges: its op's memory budget (`ExecContext.alloc`). */
export interface EncodeMeter {
  alloc(bytes: number): void;
}

/** What comparing values counts work against: its op's time budget (`ExecContext.work`). */
export interface WorkMeter {
  work(units: number): void;
}

/**
 * Encodes a kernel value as JSON: data-map keys sorted, links as `{"<href>": []}`, OpDefs in their
 * IR form, table views and literals as `{"/state/collection/table": [schema, rows]}`.
 *
 * With a `meter` (an op's result), every tuple, map and string written out is charged to the op's
 * memory budget as it is encoded, at the worst-case length of its JSON text: a value that shares
 * its parts (`[$s, $s]` nested 40 deep is 40 tuples) is charged for every copy its encoding
 * makes, so it is refused with a `BudgetExceededError` long before the encoding could exhaust
 * memory, and an encoded result always fits in one JSON string.
 *
 * @example
 * ```ts
 * toJson(valueMap({ b: 1, a: [true, null] })); // {"a": [true, null], "b": 1}
 * ```
 */
export function toJson(v: OpResult, meter?: EncodeMeter): Json {
  if (v === null || typeof v !== "object") {
    if (typeof v === "number" && !Number.isFinite(v)) {
      throw new BadRequestError(`cannot encode the number ${v} as JSON`);
    }
    if (meter !== undefined && typeof v === "string") meter.alloc(encodedStringBytes(v.length));
    if (typeof v === "bigint") return int64Json(v);
    return v;
  }
  if (v instanceof Uint8Array) {
    if (meter !== undefined) meter.alloc(encodedStringBytes(Math.ceil(v.length / 3) * 4));
    return one(PATHS.value.bytes, bytesToBase64(v));
  }
  if (Array.isArray(v)) {
    if (meter !== undefined) meter.alloc(encodedTupleBytes(v.length));
    // Always a copy: tuples may be rows the table engine keeps (callers must not mutate them).
    const out = copyTuple(v as readonly KernelValue[]) as Json[];
    for (let i = 0; i < out.length; i++) {
      const item = out[i] as KernelValue;
      if (item !== null && typeof item === "object") out[i] = toJson(item, meter);
      else if (typeof item === "number" && !Number.isFinite(item)) toJson(item); // throws
      else if (typeof item === "bigint") out[i] = int64Json(item);
      else if (meter !== undefined && typeof item === "string") meter.alloc(encodedStringBytes(item.length));
    }
    return out;
  }
  if (v instanceof TableView) {
    if (meter === undefined) return v.toJson();
    // Each row is charged as it is encoded: an oversized view stops at the budget, not after
    // every row has been built.
    return v.toJson((row) => toJson(row as readonly KernelValue[], meter));
  }
  if (v instanceof EncodedJson) return toJson(v.value as KernelValue, meter);
  if (v instanceof TableLiteral) {
    return tableLiteralJson(v.schema.toJson(), v.rows.map((row) => toJson(row as readonly KernelValue[], meter)));
  }
  const node = v as ValueMap | ScalarMap | Link | OpDef;
  if ("kind" in node) {
    switch (node.kind) {
      case "map": {
        const entries = node.entries as Readonly<Record<string, KernelValue>>;
        const out: Record<string, Json> = {};
        const keys = Object.keys(entries);
        if (meter !== undefined) meter.alloc(mapBytes(keys.length) + 32 * keys.length);
        for (const key of keys.sort()) out[key] = toJson(entries[key]!, meter);
        return out;
      }
      case "link":
        return one(node.href, []);
      case "opdef":
        return encode(node);
    }
  }
  throw new InternalError(`cannot encode a ${typeName(v)} as JSON`);
}

/**
 * `toJson` of a query result — a tuple of row tuples the query built for this answer, which no
 * one else holds — encoding the rows in place instead of copying them: the same JSON and the
 * same charges as `toJson`. A cell that is itself a tuple (a nested load) is encoded as `toJson`
 * does, into a copy.
 *
 * @example
 * ```ts
 * queryRowsJson([[1, "ada"]], ctx.encoding()); // [[1, "ada"]]
 * ```
 */
export function queryRowsJson(rows: unknown[][], meter?: EncodeMeter): Json {
  if (meter !== undefined) meter.alloc(encodedTupleBytes(rows.length));
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (meter !== undefined) meter.alloc(encodedTupleBytes(row.length));
    for (let i = 0; i < row.length; i++) {
      const item = row[i] as KernelValue;
      if (item !== null && typeof item === "object") row[i] = toJson(item, meter);
      else if (typeof item === "number" && !Number.isFinite(item)) toJson(item); // throws
      else if (typeof item === "bigint") row[i] = int64Json(item);
      else if (meter !== undefined && typeof item === "string") meter.alloc(encodedStringBytes(item.length));
    }
  }
  return rows as Json[];
}

/**
 * Decodes request data (an execution argument, a request key or body) into a kernel value.
 * Data never carries code: any reference outside an OpDef is refused (`decodeValue`). The one
 * exception is a top-level table literal `{"/state/collection/table": [schema, rows]}`, which is
 * what `PUT /state/<ns>/<t>` carries to create a table.
 *
 * @example
 * ```ts
 * decodeData([1, "a"]);                                   // [1, "a"]
 * decodeData({"/state/collection/table": [schema, []]});  // a TableLiteral
 * ```
 */
export function decodeData(json: unknown): KernelValue {
  if (json === null || typeof json === "string" || typeof json === "boolean") return json;
  if (json !== undefined && typeof json === "object" && !Array.isArray(json)) {
    const keys = Object.keys(json);
    if (keys.length === 1 && keys[0] === PATHS.table) {
      const parts = (json as Record<string, unknown>)[PATHS.table];
      if (!Array.isArray(parts) || parts.length !== 2) {
        throw new BadRequestError(`a table literal is {"${PATHS.table}": [schema, rows]}`);
      }
      return tableLiteral(decodeValue(parts[0]), decodeValue(parts[1]));
    }
  }
  if (json === undefined) return null;
  return decodeValue(json) as KernelValue;
}

/**
 * Deep equality of kernel values (v2 `eq`: a Link equals a string with the same text). With a
 * `meter`, each pair of tuples or maps compared counts as work of its size against the op's time
 * budget (values that share their parts can take exponentially long to compare).
 *
 * @example
 * ```ts
 * valuesEqual([1, "a"], [1, "a"]);                      // true
 * valuesEqual({ kind: "link", href: "/lib/x" }, "/lib/x"); // true
 * ```
 */
export function valuesEqual(a: KernelValue, b: KernelValue, meter?: WorkMeter): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (typeof a !== "object" || typeof b !== "object") {
    // A 64-bit integer beyond ±(2^53 − 1) is a bigint; `==` compares it with a number exactly.
    if (typeof a === "bigint" || typeof b === "bigint") return (typeof a === "number" || typeof a === "bigint") && a == b;
    if (typeof a === "string" && isLink(b)) return a === b.href;
    if (typeof b === "string" && isLink(a)) return b === a.href;
    return false;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    if (meter !== undefined) meter.work(a.length + 1);
    for (let i = 0; i < a.length; i++) if (!valuesEqual(a[i], b[i], meter)) return false;
    return true;
  }
  if (isLink(a) && isLink(b)) return a.href === b.href;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a.entries);
    if (ka.length !== Object.keys(b.entries).length) return false;
    if (meter !== undefined) meter.work(ka.length + 1);
    for (const k of ka) {
      if (!Object.prototype.hasOwnProperty.call(b.entries, k)) return false;
      if (!valuesEqual(a.entries[k]!, b.entries[k]!, meter)) return false;
    }
    return true;
  }
  return false;
}
