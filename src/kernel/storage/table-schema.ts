/**
 * Table schemas (PROFILE §3): parsing and validating `[[keyCols, valueCols], indices]`, column
 * dtypes and their value checks, and the canonical encoding used for comparison and output.
 */
import { BadRequestError } from "../../errors.js";
import { idProblem } from "../../ir/id.js";
import { isWellFormedString } from "../../ir/well-formed.js";
import type { Json, Link } from "../../ir/types.js";

/** One stored cell: a primitive or a link. */
export type Cell = null | boolean | number | string | Link;
/** A full row: key columns then value columns. Rows are never mutated once stored. */
export type Row = readonly Cell[];

/** The family a dtype belongs to; decides how values are checked and compared. */
export type DtypeKind = "string" | "bool" | "int" | "float" | "number" | "link";

interface DtypeInfo {
  readonly kind: DtypeKind;
  readonly min: number;
  readonly max: number;
}

const VALUE = "/state/scalar/value/";
const SAFE = Number.MAX_SAFE_INTEGER;
const FLOAT32_MAX = 3.4028234663852886e38;

function intRange(signed: boolean, bits: number): DtypeInfo {
  if (bits === 64) return { kind: "int", min: signed ? -SAFE : 0, max: SAFE };
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
  [`${VALUE}number/float/32`, { kind: "float", min: -FLOAT32_MAX, max: FLOAT32_MAX }],
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
    const s = JSON.stringify(v);
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
      if (typeof value === "number" && Number.isInteger(value) && value >= column.min && value <= column.max) {
        return value === 0 ? 0 : value;
      }
      break;
    case "string":
      if (typeof value === "string") {
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
        return value === 0 ? 0 : value;
      }
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
    if (column.nullable) return null;
    throw new BadRequestError(`${where}: column ${JSON.stringify(column.name)} is not nullable`);
  }
  let why = "";
  if (column.kind === "int" && typeof value === "number") {
    why = Number.isInteger(value) ? ` (allowed range ${column.min}..${column.max})` : " (not an integer)";
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
  if (raw.length === 4) {
    const opts = mapEntries(raw[3]);
    if (!opts || Object.keys(opts).some((k) => k !== "nullable") || typeof opts.nullable !== "boolean") {
      bad(`column ${JSON.stringify(name)}: options must be {"nullable": true|false}, got ${describe(raw[3])}`);
    }
    nullable = opts.nullable as boolean;
    if (nullable && isKey) bad(`key column ${JSON.stringify(name)} cannot be nullable`);
  }
  return {
    name: name as string,
    dtype: path,
    kind: info.kind,
    min: info.min,
    max: info.max,
    maxLen,
    nullable,
    position,
    isKey,
  };
}

/** The JSON of one column, as the canonical schema encodes it. */
export function columnJson(c: Column): Json {
  if (c.nullable) return [c.name, c.dtype, c.maxLen ?? null, { nullable: true }];
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
