/**
 * zod schemas derived from the column declarations, and the checks every write goes through
 * before any IR is built. Errors name the table, the column and the problem.
 */
import { z } from "zod";
import { BadRequestError } from "../errors.js";
import { isWellFormedString } from "../ir/well-formed.js";
import type { ColumnMeta, TableMeta } from "./meta.js";

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

const INT_RANGE: Record<string, readonly [number, number]> = {
  i8: [-128, 127],
  i16: [-32768, 32767],
  i32: [-2147483648, 2147483647],
  i64: [-MAX_SAFE, MAX_SAFE],
  u8: [0, 255],
  u16: [0, 65535],
  u32: [0, 4294967295],
  u64: [0, MAX_SAFE],
};

const F32_MAX = 3.4028234663852886e38;

/** A max-length check in characters (code points), as the tables count them. */
function fitsIn(max: number): (s: string) => boolean {
  return (s) => {
    if (s.length <= max) return true;
    let n = 0;
    for (const _ of s) if (++n > max) return false;
    return true;
  };
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A short description of a rejected value. */
function describeInput(v: unknown): string {
  if (v === null) return "null";
  if (v instanceof Date) return "a Date";
  if (v instanceof Uint8Array) return "a Uint8Array";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "bigint") return `the bigint ${v}`;
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

/** Why `v` is not an integer of the column's range: one sentence. */
function intProblem(c: ColumnMeta, v: unknown, min: number, max: number): string {
  if (typeof v === "bigint") {
    return `expected a number, got the bigint ${v} (declare the column col.${c.dtype}({ mode: "bigint" }) to store bigints)`;
  }
  if (typeof v !== "number") return `expected an integer, got ${describeInput(v)}`;
  if (!Number.isInteger(v)) return `expected an integer, got ${v}`;
  if ((c.dtype === "i64" || c.dtype === "u64") && Math.abs(v) > MAX_SAFE) {
    return `${v} is beyond ±(2^53−1), where JS numbers are not exact; declare the column col.${c.dtype}({ mode: "bigint" }) and pass a bigint`;
  }
  return `expected an integer within ${min}..${max}, got ${v}`;
}

/** The JSON text of `v`, or `undefined` when `v` has no exact JSON form. */
function jsonText(v: unknown): string | undefined {
  try {
    let exact = true;
    const text = JSON.stringify(v, (_k, x: unknown) => {
      if (typeof x === "number" && !Number.isFinite(x)) exact = false;
      if (typeof x === "function" || typeof x === "symbol" || (x === undefined && _k !== "")) exact = false;
      return x;
    });
    return exact ? text : undefined;
  } catch {
    return undefined;
  }
}

function firstIssue(error: unknown): string {
  const issues = (error as { issues?: { path?: unknown[]; message?: string }[] } | undefined)?.issues;
  const first = issues?.[0];
  if (!first) return String(error);
  return `${first.path && first.path.length > 0 ? `${first.path.join(".")}: ` : ""}${first.message ?? ""}`;
}

const WELL_FORMED = "expected a string without lone surrogates (an unpaired U+D800..U+DFFF cannot be stored exactly)";

/**
 * A check that accepts only non-null values `columnZod(c)` accepts, for the common column types
 * (integers, f64, bool, string), without going through zod; `undefined` for the other types. A
 * value it refuses may still be valid: ask the zod type then (it also words the problem).
 *
 * @example
 * ```ts
 * quickValueCheck(users.columnsByName.age)?.(30); // true
 * ```
 */
export function quickValueCheck(c: ColumnMeta): ((v: unknown) => boolean) | undefined {
  const range = INT_RANGE[c.dtype];
  if (c.mode === "bigint") return undefined;
  if (range) {
    const [min, max] = range;
    return (v) => typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
  }
  if (c.dtype === "f64") return (v) => typeof v === "number" && Number.isFinite(v);
  if (c.dtype === "bool") return (v) => typeof v === "boolean";
  if (c.dtype === "string") {
    // Within maxLen UTF-16 units is within maxLen code points.
    const max = c.maxLen;
    return (v) => typeof v === "string" && (max === null || v.length <= max) && isWellFormedString(v);
  }
  return undefined;
}

/** The zod type of one column's non-null value. */
export function columnZod(c: ColumnMeta): z.ZodType {
  let t: z.ZodType;
  const range = INT_RANGE[c.dtype];
  if (c.mode === "bigint") {
    const [min, max] = c.dtype === "i64" ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
    t = z.bigint({ error: (issue) => `expected a bigint (this ${c.dtype} column is in bigint mode), got ${describeInput(issue.input)}` })
      .refine((v) => v >= min && v <= max, `expected a ${c.dtype} within ${min}..${max}`);
  } else if (range) {
    const [min, max] = range;
    t = z.custom<number>(
      (v) => typeof v === "number" && Number.isInteger(v) && v >= min && v <= max,
      { error: (issue) => intProblem(c, issue.input, min, max) },
    );
  } else if (c.dtype === "f32") {
    t = z.custom<number>((v) => typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= F32_MAX, {
      error: (issue) => (typeof issue.input === "number" && Number.isFinite(issue.input) ? `expected a float32 within ±${F32_MAX}, got ${issue.input}` : `expected a finite number, got ${describeInput(issue.input)}`),
    });
  } else if (c.dtype === "f64") {
    t = z.custom<number>((v) => typeof v === "number" && Number.isFinite(v), { error: (issue) => `expected a finite number, got ${describeInput(issue.input)}` });
  } else if (c.dtype === "timestamp") {
    t = z.custom<Date>((v) => v instanceof Date && !Number.isNaN(v.getTime()), {
      error: (issue) => (issue.input instanceof Date ? "expected a valid Date, got Invalid Date" : `expected a Date, got ${describeInput(issue.input)}`),
    });
  } else if (c.dtype === "json") {
    const schema = c.jsonSchema;
    t = z.custom<unknown>((v) => v !== undefined && jsonText(v) !== undefined, "expected a JSON value (no undefined, functions, bigints, cycles or non-finite numbers)");
    if (schema !== undefined) {
      t = t.superRefine((v, ctx) => {
        const r = schema.safeParse(v);
        if (!r.success) ctx.addIssue({ code: "custom", message: `the JSON value does not match the column's schema: ${firstIssue(r.error)}` });
      });
    }
  } else if (c.dtype === "bytes") {
    t = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { error: (issue) => `expected a Uint8Array, got ${describeInput(issue.input)}` });
  } else if (c.dtype === "enum") {
    const values = c.values!;
    t = z.custom<string>((v) => typeof v === "string" && values.includes(v), { error: (issue) => `expected one of ${values.map((x) => JSON.stringify(x)).join(", ")}, got ${describeInput(issue.input)}` });
  } else if (c.dtype === "uuid") {
    t = z.string().regex(UUID, "expected a uuid (8-4-4-4-12 hex digits)");
  } else if (c.dtype === "bool") {
    t = z.boolean();
  } else if (c.dtype === "string") {
    const s = z.string().refine(isWellFormedString, WELL_FORMED);
    t = c.maxLen === null ? s : s.refine(fitsIn(c.maxLen), `expected at most ${c.maxLen} characters`);
  } else {
    const s = z.string().regex(/^(\/|https?:\/\/)/, "expected a link starting with / or http(s)://").refine(isWellFormedString, WELL_FORMED);
    t = c.maxLen === null ? s : s.refine(fitsIn(c.maxLen), `expected a link of at most ${c.maxLen} characters`);
  }
  return c.nullable ? t.nullable() : t;
}

/**
 * The zod schemas of one table, typed by its row, insert and update types (so `z.infer` works).
 *
 * @example
 * ```ts
 * const v = social.validators("users");
 * const row = v.insert.parse(JSON.parse(body)); // Insertable<typeof users>, or a ZodError
 * ```
 */
export interface RowValidators<R = unknown, I = unknown, U = unknown> {
  /** A full row (what `select` returns). */
  readonly select: z.ZodType<R>;
  /** What an insert accepts (nullable and defaulted columns optional). */
  readonly insert: z.ZodType<I>;
  /** What an update may set (value columns, all optional). */
  readonly update: z.ZodType<U>;
}

/** Builds the zod schemas of a table. */
export function rowValidators(meta: TableMeta): RowValidators {
  const select: Record<string, z.ZodType> = {};
  const insert: Record<string, z.ZodType> = {};
  const update: Record<string, z.ZodType> = {};
  for (const c of meta.columns) {
    const t = columnZod(c);
    select[c.name] = t;
    insert[c.name] = c.nullable || c.hasDefault ? t.optional() : t;
    if (!c.key) update[c.name] = t.optional();
  }
  return Object.freeze({
    select: z.strictObject(select),
    insert: z.strictObject(insert),
    update: z.strictObject(update),
  });
}

/** Turns a zod failure into a `BadRequestError` naming table, column and problem. */
function validationError(meta: TableMeta, action: string, error: z.ZodError, rowIndex?: number): BadRequestError {
  const parts = error.issues.slice(0, 5).map((issue) => {
    if (issue.code === "unrecognized_keys") {
      return `unknown column(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")} (columns: ${meta.columns.map((c) => c.name).join(", ")})`;
    }
    const column = issue.path.length > 0 ? String(issue.path[0]) : "(row)";
    return `column ${column}: ${issue.message}`;
  });
  const where = rowIndex === undefined ? "" : ` (row ${rowIndex})`;
  return new BadRequestError(`${action} ${meta.namespace}/${meta.name}${where}: ${[...new Set(parts)].join("; ")}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Validates one row for insert and returns it as a tuple in column order (key columns, then
 * value columns), with defaults applied and omitted nullable columns set to `null`.
 */
export function insertTuple(meta: TableMeta, v: RowValidators, row: unknown, rowIndex?: number): unknown[] {
  if (!isPlainObject(row)) {
    throw new BadRequestError(`insert into ${meta.namespace}/${meta.name}${rowIndex === undefined ? "" : ` (row ${rowIndex})`}: a row must be a plain object`);
  }
  const filled: Record<string, unknown> = { ...row };
  for (const c of meta.columns) {
    if (filled[c.name] === undefined) {
      if (c.hasDefault) filled[c.name] = typeof c.default === "function" ? (c.default as () => unknown)() : c.default;
      else if (c.nullable) filled[c.name] = null;
    }
  }
  // A generated key left out is sent as null: the kernel fills it in (key columns are never null).
  const generated = meta.columns.some((c) => c.generated !== undefined);
  if (!quickRowPasses(meta, row, filled, generated)) {
    const parsed = (generated ? v.insert : v.select).safeParse(filled);
    if (!parsed.success) throw validationError(meta, "insert into", parsed.error, rowIndex);
  }
  const out = new Array<unknown>(meta.columns.length);
  for (const c of meta.columns) out[c.position] = filled[c.name] ?? null;
  return out;
}

/** Each column's `quickValueCheck`, in `meta.columns` order, or `null` when a column has none. */
const QUICK_ROWS = new WeakMap<TableMeta, readonly ((v: unknown) => boolean)[] | null>();

/**
 * True when the zod object schema of the insert (`generated`) or the row would accept `filled`,
 * checked without zod: every key a column, every cell passing its column's quick check, null
 * only in a nullable column, a cell left out only where the insert schema makes it optional.
 * False does not mean invalid: zod then decides (and words the problem). A row of 100 cells
 * spent ~2 µs in zod, most of an in-memory insert's own work.
 */
function quickRowPasses(meta: TableMeta, row: Record<string, unknown>, filled: Record<string, unknown>, generated: boolean): boolean {
  let checks = QUICK_ROWS.get(meta);
  if (checks === undefined) {
    const all = meta.columns.map((c) => quickValueCheck(c));
    checks = all.every((f) => f !== undefined) ? (all as ((v: unknown) => boolean)[]) : null;
    QUICK_ROWS.set(meta, checks);
  }
  if (checks === null) return false;
  // `for…in` builds no key array per row; an inherited enumerable key only sends the row to zod.
  for (const k in row) if (!Object.prototype.hasOwnProperty.call(meta.columnsByName, k)) return false;
  const cols = meta.columns;
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i]!;
    const cell = filled[c.name];
    if (cell === undefined) {
      if (generated && (c.nullable || c.hasDefault)) continue;
      return false;
    }
    if (cell === null ? !c.nullable : !checks[i]!(cell)) return false;
  }
  return true;
}

/** Validates an update's `set({...})` and returns the checked entries in column order. */
export function updateEntries(meta: TableMeta, v: RowValidators, set: unknown): [string, unknown][] {
  if (!isPlainObject(set)) throw new BadRequestError(`update ${meta.namespace}/${meta.name}: set() takes a plain object`);
  for (const k of Object.keys(set)) {
    const c = meta.columnsByName[k];
    if (c?.key) throw new BadRequestError(`update ${meta.namespace}/${meta.name}: column ${k} is a key column and cannot be updated`);
  }
  const parsed = v.update.safeParse(set);
  if (!parsed.success) throw validationError(meta, "update", parsed.error);
  const entries: [string, unknown][] = [];
  for (const c of meta.columns) if (set[c.name] !== undefined) entries.push([c.name, set[c.name]]);
  if (entries.length === 0) throw new BadRequestError(`update ${meta.namespace}/${meta.name}: set() names no column`);
  return entries;
}
