/**
 * The wire form of a column's values (PROFILE §3), both ways: what an insert, `set()` or `where`
 * value becomes in IR (`toWire`), and what a result cell becomes in a row object (`cellDecoder`).
 *
 * | column | row value | wire |
 * | --- | --- | --- |
 * | `link` | `"/state/…"` | `{"/state/…": []}` (absolute: `{"/state/scalar/value/link": url}`) |
 * | `timestamp` | `Date` | milliseconds since the epoch (a number) |
 * | `json` | any JSON value | its JSON text (a string) |
 * | `bytes` | `Uint8Array` | `{"/state/scalar/value/bytes": "<base64, no padding>"}` |
 * | `i64`/`u64` bigint mode | `bigint` | a number within ±(2^53 − 1), else `{"/state/scalar/value/number/int/64": "<digits>"}` (`uint/64` above 2^63 − 1) |
 * | `f32` | number | the number rounded to float32 (`Math.fround`) |
 * | `uuid` | string | the string in lowercase |
 */
import { base64ToBytes, bytesToBase64, int64Json } from "../ir/codec.js";
import { linkValue, one } from "../ir/json.js";
import { PATHS, type Json } from "../ir/types.js";
import type { ColumnMeta, TableMeta } from "./meta.js";

/**
 * A value as the wire carries it for `column` (values are checked before, by `validate.ts`).
 *
 * @example
 * ```ts
 * toWire(meta.columnsByName.created, new Date(0)); // 0
 * toWire(meta.columnsByName.big, 2n ** 64n - 1n);  // {"/state/scalar/value/number/uint/64": "18446744073709551615"}
 * ```
 */
export function toWire(column: ColumnMeta | null, value: unknown): Json {
  // In a json column that is not nullable, null is the JSON value null (its text "null").
  if (value === null && column?.dtype === "json" && !column.nullable) return "null";
  if (column === null || value === null || value === undefined) return value as Json;
  switch (column.dtype) {
    case "link":
      if (typeof value === "string") return value.startsWith("/") ? one(value, []) : linkValue(value);
      break;
    case "timestamp":
      if (value instanceof Date) return value.getTime();
      break;
    case "json":
      return JSON.stringify(value) as Json;
    case "bytes":
      if (value instanceof Uint8Array) return one(PATHS.value.bytes, bytesToBase64(value));
      break;
    case "i64":
    case "u64":
      if (typeof value === "bigint") return int64Json(value);
      break;
    case "f32":
      if (typeof value === "number") return Math.fround(value) === 0 ? 0 : Math.fround(value);
      break;
    case "uuid":
      if (typeof value === "string") return value.toLowerCase();
      break;
  }
  return value as Json;
}

/** The digits of a typed 64-bit number map, `{"/state/scalar/value/number/int/64": "…"}`. */
function int64Digits(v: Json): string | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
  const inner = (v as Record<string, Json>)[PATHS.value.int64] ?? (v as Record<string, Json>)[PATHS.value.uint64];
  return typeof inner === "string" || typeof inner === "number" ? String(inner) : undefined;
}

/** A link cell, `{"<href>": []}` (or the typed form of an absolute link), as its href. */
function linkOf(value: Json): unknown {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1) {
      if (keys[0] === PATHS.value.link) return (value as Record<string, Json>)[PATHS.value.link];
      if (keys[0]!.startsWith("/") || /^https?:\/\//.test(keys[0]!)) return keys[0];
    }
  }
  return value;
}

const DECODERS: Partial<Record<ColumnMeta["dtype"], (v: Json, c: ColumnMeta) => unknown>> = {
  link: linkOf,
  timestamp: (v) => (typeof v === "number" ? new Date(v) : v),
  json: (v) => (typeof v === "string" ? JSON.parse(v) : v),
  bytes: (v) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const b64 = (v as Record<string, Json>)[PATHS.value.bytes];
      if (typeof b64 === "string") return base64ToBytes(b64) ?? v;
    }
    return v;
  },
  i64: int64Cell,
  u64: int64Cell,
};

/** A 64-bit integer cell: a bigint in bigint mode; in number mode a number (rounded beyond ±(2^53 − 1)). */
function int64Cell(v: Json, c: ColumnMeta): unknown {
  if (c.mode === "bigint") {
    if (typeof v === "number") return BigInt(v);
    const digits = int64Digits(v);
    return digits === undefined ? v : BigInt(digits);
  }
  const digits = int64Digits(v);
  return digits === undefined ? v : Number(digits);
}

/**
 * The decoder of a result cell of `column` into its row value, or `undefined` when the cell is
 * the value (numbers, strings, bools). `null` stays `null`.
 *
 * @example
 * ```ts
 * cellDecoder(meta.columnsByName.created)!(0); // new Date(0)
 * ```
 */
export function cellDecoder(column: ColumnMeta): ((v: Json) => unknown) | undefined {
  const d = DECODERS[column.dtype];
  if (d === undefined) return undefined;
  if ((column.dtype === "i64" || column.dtype === "u64") && column.mode !== "bigint") {
    // Number mode: a cell is a number unless another writer stored a value beyond ±(2^53 − 1).
    return (v) => (v === null || typeof v === "number" ? v : d(v, column));
  }
  return (v) => (v === null ? null : d(v, column));
}

/**
 * The row value of a `sum` or `avg` result: a number, also when the kernel answers a 64-bit
 * integer beyond ±(2^53 − 1) in its typed form (the result's declared type is `number`).
 *
 * @example
 * ```ts
 * aggregateNumber({ "/state/scalar/value/number/int/64": "9007199254740993" }); // 9007199254740992
 * ```
 */
export function aggregateNumber(v: Json): unknown {
  if (v === null || typeof v === "number") return v;
  const digits = int64Digits(v);
  return digits === undefined ? v : Number(digits);
}

/**
 * The decoders of the columns `names` of a table that need one (links, dates, JSON, bytes,
 * 64-bit integers), for `rowDecoder`.
 *
 * @example
 * ```ts
 * rowDecoder(["id", "at"], cellDecoders(meta, ["id", "at"]))([1, 0]); // { id: 1, at: new Date(0) }
 * ```
 */
export function cellDecoders(meta: TableMeta, names: readonly string[]): Record<string, (v: Json) => unknown> {
  const out: Record<string, (v: Json) => unknown> = {};
  for (const n of names) {
    const c = meta.columnsByName[n];
    const d = c === undefined ? undefined : cellDecoder(c);
    if (d !== undefined) out[n] = d;
  }
  return out;
}
