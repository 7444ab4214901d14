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

const WELL_FORMED = "expected a string without lone surrogates (an unpaired U+D800..U+DFFF cannot be stored exactly)";

/** The zod type of one column's non-null value. */
export function columnZod(c: ColumnMeta): z.ZodType {
  let t: z.ZodType;
  const range = INT_RANGE[c.dtype];
  if (range) {
    t = z.number().int().min(range[0]).max(range[1]);
  } else if (c.dtype === "f32") {
    t = z.number().min(-F32_MAX).max(F32_MAX);
  } else if (c.dtype === "f64") {
    t = z.number().refine(Number.isFinite, "expected a finite number");
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
  return new BadRequestError(`${action} ${meta.namespace}/${meta.name}${where}: ${parts.join("; ")}`);
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
  const parsed = v.select.safeParse(filled);
  if (!parsed.success) throw validationError(meta, "insert into", parsed.error, rowIndex);
  const out = new Array<unknown>(meta.columns.length);
  for (const c of meta.columns) out[c.position] = filled[c.name];
  return out;
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
