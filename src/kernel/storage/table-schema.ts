/**
 * Table schemas (PROFILE §3): parsing and validating `[[keyCols, valueCols], indices]`, column
 * dtypes and their value checks, and the canonical encoding used for comparison and output.
 */
import { BadRequestError } from "../../errors.js";
import { idProblem } from "../../ir/id.js";
import { isWellFormedString } from "../../ir/well-formed.js";
import type { Json, Link } from "../../ir/types.js";

/**
 * One stored cell: a primitive, a link or bytes. A 64-bit integer is a `number` within
 * ±(2^53 − 1) and a `bigint` beyond (one value, one form, so `===` and Map keys still work).
 */
export type Cell = null | boolean | number | bigint | string | Link | Uint8Array;
/** A full row: key columns then value columns. Rows are never mutated once stored. */
export type Row = readonly Cell[];

/** The family a dtype belongs to; decides how values are checked and compared. */
export type DtypeKind = "string" | "bool" | "int" | "float" | "number" | "link" | "bytes";

interface DtypeInfo {
  readonly kind: DtypeKind;
  readonly min: number;
  readonly max: number;
  /** Exact bounds of an integer dtype (64-bit bounds are not exact as numbers). */
  readonly bigMin?: bigint;
  readonly bigMax?: bigint;
  /** `float/32`: values are rounded to the nearest float32 (`Math.fround`). */
  readonly f32?: boolean;
}

const VALUE = "/state/scalar/value/";
const SAFE = Number.MAX_SAFE_INTEGER;
/** The range of a JS `Date` in milliseconds since the epoch: what a timestamp column holds. */
const TIME_MAX = 8.64e15;
const FLOAT32_MAX = 3.4028234663852886e38;

function intRange(signed: boolean, bits: number): DtypeInfo {
  if (bits === 64) {
    const bigMin = signed ? -(2n ** 63n) : 0n;
    const bigMax = signed ? 2n ** 63n - 1n : 2n ** 64n - 1n;
    return { kind: "int", min: Number(bigMin), max: Number(bigMax), bigMin, bigMax };
  }
  const span = 2 ** bits;
  return signed ? { kind: "int", min: -span / 2, max: span / 2 - 1 } : { kind: "int", min: 0, max: span - 1 };
}

/** Every dtype path this profile accepts (the bare `int`/`uint`/`float` forms mean 64 bits). */
const DTYPES: ReadonlyMap<string, DtypeInfo> = new Map<string, DtypeInfo>([
  [`${VALUE}string`, { kind: "string", min: 0, max: 0 }],
  [`${VALUE}link`, { kind: "link", min: 0, max: 0 }],
  [`${VALUE}number`, { kind: "number", min: -Number.MAX_VALUE, max: Number.MAX_VALUE }],
  [`${VALUE}number/bool`, { kind: "bool", min: 0, max: 0 }],
  [`${VALUE}number/int`, intRange(true, 64)],
  [`${VALUE}number/uint`, intRange(false, 64)],
  [`${VALUE}number/float`, { kind: "float", min: -Number.MAX_VALUE, max: Number.MAX_VALUE }],
  [`${VALUE}number/float/32`, { kind: "float", min: -FLOAT32_MAX, max: FLOAT32_MAX, f32: true }],
  [`${VALUE}bytes`, { kind: "bytes", min: 0, max: 0 }],
  [`${VALUE}number/float/64`, { kind: "float", min: -Number.MAX_VALUE, max: Number.MAX_VALUE }],
  ...[8, 16, 32, 64].flatMap((bits): [string, DtypeInfo][] => [
    [`${VALUE}number/int/${bits}`, intRange(true, bits)],
    [`${VALUE}number/uint/${bits}`, intRange(false, bits)],
  ]),
]);

/** One column of a schema, with its value check. */
export interface Column {
  readonly name: string;
  /** The dtype path, e.g. `/state/scalar/value/number/uint/64`. */
  readonly dtype: string;
  readonly kind: DtypeKind;
  readonly min: number;
  readonly max: number;
  /** String/link length limit in characters (code points); `undefined` = unlimited. */
  readonly maxLen: number | undefined;
  readonly nullable: boolean;
  /** Position in a full row (key columns first). */
  readonly position: number;
  readonly isKey: boolean;
  /** Exact bounds of a 64-bit integer column. */
  readonly bigMin?: bigint;
  readonly bigMax?: bigint;
  /** A `float/32` column: values are rounded with `Math.fround`. */
  readonly f32?: boolean;
  /** What a string or integer column holds beyond its dtype (option `format`, PROFILE §3). */
  readonly format?: ColumnFormat;
  /** An enum column: the only strings it takes (option `values`). */
  readonly values?: readonly string[];
  /** A key filled by the kernel when an insert leaves it out (option `generated`). */
  readonly generated?: "increment" | "random";
  /** A foreign key (option `references`): the target table's link and what a delete there does. */
  readonly references?: ColumnReference;
}

/** The extra formats of PROFILE §3: a uuid or JSON text in a string column, a timestamp in an int/64 one. */
export type ColumnFormat = "uuid" | "json" | "timestamp";

/** What deleting (or re-keying) a referenced row does to the rows pointing at it. */
export type OnDelete = "restrict" | "cascade" | "set null";

/** A foreign key of a column: it holds a key of the table at `table` (a one-column key). */
export interface ColumnReference {
  /** The target table's link, `/state/<ns>/<name>`. */
  readonly table: string;
  readonly onDelete: OnDelete;
}

/** A secondary index: its name and its listed columns (the key columns are appended implicitly). */
export interface IndexDef {
  readonly name: string;
  readonly columns: readonly string[];
}

/** The short dtype name used in messages: `uint/64`, `string`, `link`. */
function dtypeLabel(dtype: string): string {
  return dtype.startsWith(`${VALUE}number/`) ? dtype.slice(`${VALUE}number/`.length) : dtype.slice(VALUE.length);
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "link") {
    return `link ${JSON.stringify((v as Link).href)}`;
  }
  try {
    const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x instanceof Uint8Array ? `<${x.length} bytes>` : x));
    return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return typeof v;
  }
}

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function loneSurrogate(column: Column, where: string): BadRequestError {
  return new BadRequestError(
    `${where}: column ${JSON.stringify(column.name)}: the string has a lone surrogate (an unpaired UTF-16 code unit in U+D800..U+DFFF), which cannot be stored exactly`,
  );
}

const SAFE_BIG = BigInt(SAFE);
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A string for a uuid, json or enum column: checked, and a uuid in its lowercase form. */
function formatted(column: Column, value: string, where: string): string {
  const name = JSON.stringify(column.name);
  if (column.values !== undefined) {
    if (column.values.includes(value)) return value;
    throw new BadRequestError(`${where}: column ${name} takes one of ${column.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describe(value)}`);
  }
  if (column.format === "uuid") {
    if (UUID.test(value)) return value.toLowerCase();
    throw new BadRequestError(`${where}: column ${name} expects a uuid (8-4-4-4-12 hex digits), got ${describe(value)}`);
  }
  try {
    JSON.parse(value);
  } catch {
    throw new BadRequestError(`${where}: column ${name} expects JSON text, got ${describe(value)}`);
  }
  if (column.maxLen !== undefined && codePointLength(value) > column.maxLen) {
    throw new BadRequestError(`${where}: column ${name} holds at most ${column.maxLen} characters of JSON, got ${codePointLength(value)}`);
  }
  return value;
}

/**
 * Checks `value` against `column` and returns the cell to store (`-0` becomes `0`); throws a
 * `BadRequestError` naming the column otherwise.
 *
 * @example
 * ```ts
 * checkCell(schema.column("views")!, 3, "/state/app/t"); // 3
 * checkCell(schema.column("views")!, -1, "/state/app/t"); // throws: column "views" ... uint/64
 * ```
 */
export function checkCell(column: Column, value: unknown, where: string): Cell {
  if (typeof value === "string" && !isWellFormedString(value)) throw loneSurrogate(column, where);
  switch (column.kind) {
    case "int":
      if (typeof value === "number" && Number.isSafeInteger(value) && value >= column.min && value <= column.max) {
        return value === 0 ? 0 : value;
      }
      if (typeof value === "bigint" && column.bigMin !== undefined && value >= column.bigMin && value <= column.bigMax!) {
        return value >= -SAFE_BIG && value <= SAFE_BIG ? Number(value) : value;
      }
      break;
    case "string":
      if (typeof value === "string") {
        if (column.format !== undefined || column.values !== undefined) return formatted(column, value, where);
        if (column.maxLen === undefined || value.length <= column.maxLen) return value;
        const n = codePointLength(value);
        if (n <= column.maxLen) return value;
        throw new BadRequestError(
          `${where}: column ${JSON.stringify(column.name)} holds at most ${column.maxLen} characters, got ${n}`,
        );
      }
      break;
    case "float":
    case "number":
      if (typeof value === "number" && Number.isFinite(value) && value >= column.min && value <= column.max) {
        const v = column.f32 === true ? Math.fround(value) : value;
        return v === 0 ? 0 : v;
      }
      break;
    case "bytes":
      if (value instanceof Uint8Array) return value;
      break;
    case "bool":
      if (typeof value === "boolean") return value;
      break;
    case "link":
      if (
        typeof value === "object" &&
        value !== null &&
        (value as { kind?: unknown }).kind === "link" &&
        typeof (value as { href?: unknown }).href === "string"
      ) {
        const href = (value as Link).href;
        if (!isWellFormedString(href)) throw loneSurrogate(column, where);
        if (column.maxLen !== undefined && codePointLength(href) > column.maxLen) {
          throw new BadRequestError(
            `${where}: column ${JSON.stringify(column.name)} holds links of at most ${column.maxLen} characters`,
          );
        }
        return value as Link;
      }
      break;
  }
  if (value === null) {
    // A generated key left null is filled in by the table (table-base.ts `withGeneratedKey`).
    if (column.nullable || column.generated !== undefined) return null;
    throw new BadRequestError(`${where}: column ${JSON.stringify(column.name)} is not nullable`);
  }
  let why = "";
  if (column.kind === "int" && (typeof value === "number" || typeof value === "bigint")) {
    const range = column.bigMin !== undefined && column.format !== "timestamp" ? `${column.bigMin}..${column.bigMax}` : `${column.min}..${column.max}`;
    if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value) && column.bigMin !== undefined && column.format !== "timestamp") {
      why = ` (an integer beyond ±(2^53−1) is not exact as a JSON number: send it as {"${VALUE}number/int/64": "<digits>"})`;
    } else {
      why = typeof value === "bigint" || Number.isInteger(value) ? ` (allowed range ${range})` : " (not an integer)";
    }
  } else if ((column.kind === "float" || column.kind === "number") && typeof value === "number" && Number.isFinite(value)) {
    why = ` (allowed range ±${column.max})`;
  }
  throw new BadRequestError(
    `${where}: column ${JSON.stringify(column.name)} expects ${dtypeLabel(column.dtype)}, got ${describe(value)}${why}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Parsing. Inputs come either as plain JSON or as resolved kernel values (tuples are arrays, maps
// are `{kind: "map", entries}`, links `{kind: "link", href}`), so both shapes are accepted.

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The entries of a data map, whether a kernel `ScalarMap` or a plain JSON object. */
export function mapEntries(v: unknown): Record<string, unknown> | undefined {
  if (!isPlainObject(v)) return undefined;
  if (v.kind === "map" && isPlainObject(v.entries)) return v.entries;
  if (typeof v.kind === "string") return undefined;
  const keys = Object.keys(v);
  if (keys.some((k) => k.startsWith("/") || k.startsWith("$"))) return undefined;
  return v;
}

/** The dtype path of a dtype in any of its accepted spellings, or `undefined`. */
function dtypePath(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (!isPlainObject(v)) return undefined;
  // A decoded link (`{"/state/scalar/value/string": []}`) or a decoded op ref on that path
  // (`{"<path>": {}}` decodes as a POST ref with no params).
  if (v.kind === "link" && typeof v.href === "string") return v.href;
  const subject = v.subject as { kind?: unknown; href?: unknown } | undefined;
  if ((v.kind === "post" || v.kind === "get") && subject?.kind === "link" && typeof subject.href === "string") {
    return subject.href;
  }
  const keys = Object.keys(v);
  if (keys.length === 1 && keys[0]!.startsWith("/")) {
    const inner = v[keys[0]!];
    if (isPlainObject(inner) && Object.keys(inner).length === 0) return keys[0];
    if (Array.isArray(inner) && inner.length === 0) return keys[0];
  }
  return undefined;
}

function bad(message: string): never {
  throw new BadRequestError(`invalid table schema: ${message}`);
}

function parseColumn(raw: unknown, position: number, isKey: boolean): Column {
  if (!Array.isArray(raw) || raw.length < 2 || raw.length > 4) {
    bad(`a column is [name, dtype], [name, dtype, max_len] or [name, dtype, max_len|null, {"nullable": true}], got ${describe(raw)}`);
  }
  const name = raw[0];
  const problem = idProblem(name);
  if (problem) bad(`column name ${describe(name)}: ${problem}`);
  const path = dtypePath(raw[1]);
  const info = path === undefined ? undefined : DTYPES.get(path);
  if (path === undefined || info === undefined) {
    bad(`column ${JSON.stringify(name)} has unknown dtype ${describe(raw[1])}; expected one of ${[...DTYPES.keys()].join(", ")}`);
  }
  let maxLen: number | undefined;
  const rawLen = raw[2];
  if (rawLen !== undefined && rawLen !== null) {
    if (typeof rawLen !== "number" || !Number.isInteger(rawLen) || rawLen < 1 || rawLen > 0xffffffff) {
      bad(`column ${JSON.stringify(name)}: max_len must be a positive integer, got ${describe(rawLen)}`);
    }
    if (info.kind !== "string" && info.kind !== "link") {
      bad(`column ${JSON.stringify(name)}: a ${dtypeLabel(path)} column takes no max_len`);
    }
    maxLen = rawLen;
  } else if (rawLen === null && raw.length === 3) {
    bad(`column ${JSON.stringify(name)}: max_len null is only allowed with the nullable options`);
  }
  let nullable = false;
  let extra: ColumnOptions = {};
  if (raw.length === 4) {
    const opts = mapEntries(raw[3]);
    if (!opts || Object.keys(opts).some((k) => !OPTION_NAMES.has(k)) || (opts.nullable !== undefined && typeof opts.nullable !== "boolean")) {
      bad(`column ${JSON.stringify(name)}: options are a map of ${[...OPTION_NAMES].map((k) => JSON.stringify(k)).join(", ")} ({"nullable": true|false}, …), got ${describe(raw[3])}`);
    }
    nullable = opts.nullable === true;
    if (nullable && isKey) bad(`key column ${JSON.stringify(name)} cannot be nullable`);
    extra = parseOptions(name as string, info, path, opts, isKey);
  }
  const column: Column = {
    name: name as string,
    dtype: path,
    kind: info.kind,
    min: info.min,
    max: info.max,
    maxLen,
    nullable,
    position,
    isKey,
    ...(info.bigMin !== undefined ? { bigMin: info.bigMin, bigMax: info.bigMax } : {}),
    ...(info.f32 ? { f32: true } : {}),
    ...extra,
  };
  if (column.format === "timestamp") return { ...column, min: -TIME_MAX, max: TIME_MAX, bigMin: undefined, bigMax: undefined };
  return column;
}

const OPTION_NAMES = new Set(["nullable", "format", "values", "generated", "references"]);
const ON_DELETE = new Set<OnDelete>(["restrict", "cascade", "set null"]);

type ColumnOptions = Pick<Column, "format" | "values" | "generated" | "references">;

/** The options beyond `nullable` (PROFILE §3): format, enum values, generated keys, references. */
function parseOptions(name: string, info: DtypeInfo, path: string, opts: Record<string, unknown>, isKey: boolean): ColumnOptions {
  const out: { -readonly [K in keyof ColumnOptions]: ColumnOptions[K] } = {};
  const col = JSON.stringify(name);
  if (opts.format !== undefined) {
    const f = opts.format;
    const ok = (f === "uuid" || f === "json") ? info.kind === "string" : f === "timestamp" ? path === `${VALUE}number/int/64` : false;
    if (!ok) bad(`column ${col}: format must be "uuid" or "json" on a string column, or "timestamp" on an int/64 column, got ${describe(f)}`);
    out.format = f as ColumnFormat;
  }
  if (opts.values !== undefined) {
    const v = Array.isArray(opts.values) ? opts.values : undefined;
    if (info.kind !== "string" || out.format !== undefined || !v || v.length === 0 || v.some((x) => typeof x !== "string") || new Set(v).size !== v.length) {
      bad(`column ${col}: values (an enum) is a non-empty list of distinct strings on a string column, got ${describe(opts.values)}`);
    }
    out.values = Object.freeze([...(v as string[])]);
  }
  if (opts.generated !== undefined) {
    const g = opts.generated;
    if (g === "increment") {
      if (!isKey || info.kind !== "int") bad(`column ${col}: generated "increment" is for an integer key column`);
    } else if (g === "random") {
      if (!isKey || out.format !== "uuid") bad(`column ${col}: generated "random" is for a uuid key column (format "uuid")`);
    } else {
      bad(`column ${col}: generated must be "increment" or "random", got ${describe(g)}`);
    }
    out.generated = g;
  }
  if (opts.references !== undefined) {
    const r = mapEntries(opts.references);
    const table = r?.table;
    const onDelete = r?.on_delete ?? "restrict";
    if (!r || Object.keys(r).some((k) => k !== "table" && k !== "on_delete") || typeof table !== "string" || !/^\/state\/[^/]+\/[^/]+$/.test(table) || !ON_DELETE.has(onDelete as OnDelete)) {
      bad(`column ${col}: references is {"table": "/state/<ns>/<name>", "on_delete": "restrict"|"cascade"|"set null"}, got ${describe(opts.references)}`);
    }
    out.references = Object.freeze({ table, onDelete: onDelete as OnDelete });
  }
  return out;
}

/** The JSON of one column, as the canonical schema encodes it. */
export function columnJson(c: Column): Json {
  const opts: Record<string, Json> = {};
  if (c.format !== undefined) opts.format = c.format;
  if (c.generated !== undefined) opts.generated = c.generated;
  if (c.nullable) opts.nullable = true;
  if (c.references !== undefined) opts.references = { on_delete: c.references.onDelete, table: c.references.table };
  if (c.values !== undefined) opts.values = [...c.values];
  if (Object.keys(opts).length > 0) return [c.name, c.dtype, c.maxLen ?? null, opts];
  return c.maxLen === undefined ? [c.name, c.dtype] : [c.name, c.dtype, c.maxLen];
}

/**
 * A validated table schema. Compare two schemas with `canonical`.
 *
 * @example
 * ```ts
 * const s = parseSchema([[[["id", "/state/scalar/value/number/uint/64"]], [["name", "/state/scalar/value/string", 64]]], [["by_name", ["name"]]]]);
 * s.keyColumns.map((c) => c.name); // ["id"]
 * ```
 */
export class TableSchema {
  readonly columns: readonly Column[];
  /** Canonical JSON text of the schema: equal schemas have equal text. */
  readonly canonical: string;
  private readonly byName: Map<string, Column>;

  constructor(
    readonly keyColumns: readonly Column[],
    readonly valueColumns: readonly Column[],
    readonly indices: readonly IndexDef[],
  ) {
    this.columns = [...keyColumns, ...valueColumns];
    this.byName = new Map(this.columns.map((c) => [c.name, c]));
    this.canonical = JSON.stringify(this.toJson());
  }

  /** The column called `name`, if any. */
  column(name: string): Column | undefined {
    return this.byName.get(name);
  }

  /** Plain JSON: `[[keys, values], indices]` with dtypes as path strings. */
  toJson(): Json {
    return [
      [this.keyColumns.map(columnJson), this.valueColumns.map(columnJson)],
      this.indices.map((i) => [i.name, [...i.columns]]),
    ];
  }

  /** The schema of a projection (`select`): no key, the selected columns as values, no indices. */
  project(columns: readonly Column[]): TableSchema {
    return new TableSchema([], columns.map((c, position) => ({ ...c, position, isKey: false })), []);
  }
}

/**
 * Parses and validates a schema (PROFILE §3); throws `BadRequestError` saying what is wrong.
 *
 * @example
 * ```ts
 * parseSchema([[[["name", "/state/scalar/value/string", 512]], [["views", {"/state/scalar/value/number/uint/64": {}}]]], [["views", ["views"]]]]);
 * ```
 */
export function parseSchema(raw: unknown): TableSchema {
  if (raw instanceof TableSchema) return raw;
  if (!Array.isArray(raw) || raw.length < 1 || raw.length > 2) bad(`expected [[key columns, value columns], indices], got ${describe(raw)}`);
  const cols = raw[0];
  if (!Array.isArray(cols) || cols.length !== 2 || !Array.isArray(cols[0]) || !Array.isArray(cols[1])) {
    bad(`expected [key columns, value columns] as the first element, got ${describe(cols)}`);
  }
  const rawKeys = cols[0] as unknown[];
  const rawValues = cols[1] as unknown[];
  if (rawKeys.length === 0) bad("a table needs at least one key column");
  const keyColumns = rawKeys.map((c, i) => parseColumn(c, i, true));
  const valueColumns = rawValues.map((c, i) => parseColumn(c, keyColumns.length + i, false));
  const seen = new Set<string>();
  for (const c of [...keyColumns, ...valueColumns]) {
    if (seen.has(c.name)) bad(`duplicate column name ${JSON.stringify(c.name)}`);
    seen.add(c.name);
  }
  const rawIndices = raw[1] ?? [];
  if (!Array.isArray(rawIndices)) bad(`indices must be a list of [name, [columns…]], got ${describe(rawIndices)}`);
  const indexNames = new Set<string>();
  const indices: IndexDef[] = rawIndices.map((ix) => {
    if (!Array.isArray(ix) || ix.length !== 2 || !Array.isArray(ix[1])) {
      bad(`an index is [name, [columns…]], got ${describe(ix)}`);
    }
    const name = ix[0];
    const problem = idProblem(name);
    if (problem) bad(`index name ${describe(name)}: ${problem}`);
    if (name === "primary") bad(`index name "primary" is reserved for the primary index`);
    if (indexNames.has(name as string)) bad(`duplicate index name ${JSON.stringify(name)}`);
    indexNames.add(name as string);
    const columns = ix[1] as unknown[];
    if (columns.length === 0) bad(`index ${JSON.stringify(name)} lists no columns`);
    const listed = new Set<string>();
    for (const c of columns) {
      if (typeof c !== "string" || !seen.has(c)) bad(`index ${JSON.stringify(name)} names unknown column ${describe(c)}`);
      if (listed.has(c)) bad(`index ${JSON.stringify(name)} lists column ${JSON.stringify(c)} twice`);
      listed.add(c);
    }
    return { name: name as string, columns: columns as string[] };
  });
  return new TableSchema(keyColumns, valueColumns, indices);
}

/**
 * A table literal, `{"/state/collection/table": [schema, rows]}` resolved: the kernel builds one
 * from that PUT ref and hands it to `PUT /state/<ns>/<name>` (key `null`) to create the table.
 * Rows are checked against the schema when the table is created.
 *
 * @example
 * ```ts
 * const lit = tableLiteral(schemaJson, [["a", 5]]);
 * txn.request("put", ["app", "t"], null, lit);
 * ```
 */
export class TableLiteral {
  constructor(
    readonly schema: TableSchema,
    readonly rows: readonly (readonly unknown[])[],
  ) {}
}

/** Builds a `TableLiteral` from a schema (JSON or kernel value) and rows (`[]` or absent = empty). */
export function tableLiteral(schema: unknown, rows?: unknown): TableLiteral {
  const parsed = parseSchema(schema);
  if (rows === undefined || rows === null) return new TableLiteral(parsed, []);
  if (!Array.isArray(rows)) throw new BadRequestError(`table literal rows must be a list of row tuples, got ${describe(rows)}`);
  for (let i = 0; i < rows.length; i++) {
    if (!Array.isArray(rows[i])) throw new BadRequestError(`table literal row ${i} must be a tuple, got ${describe(rows[i])}`);
  }
  return new TableLiteral(parsed, rows as unknown[][]);
}

export { describe as describeValue };

/**
 * A cell as a conflict's `key` carries it (JSON): links as their href, bytes as base64, a
 * 64-bit integer beyond ±(2^53 − 1) as its decimal string.
 *
 * @example
 * ```ts
 * cellDetail(2n ** 64n - 1n); // "18446744073709551615"
 * ```
 */
export function cellDetail(c: Cell): unknown {
  if (typeof c === "bigint") return c.toString();
  if (c instanceof Uint8Array) return Buffer.from(c).toString("base64");
  if (typeof c === "object" && c !== null) return c.href;
  return c;
}
