/**
 * Column declarations: `col.u64().key()`, `col.string(64).nullable()`, … Each call returns a new
 * column (declarations are values, never mutated), and the column's TypeScript type parameters
 * carry exactly what the row types need: the value type, nullability, whether a default exists,
 * and whether it is a key column.
 */
import { BadRequestError } from "../errors.js";
import { PATHS } from "../ir/types.js";
import { showValue } from "../ir/show-value.js";

/** The column types of PROFILE §3, by their short names. */
export type DTypeName =
  | "bool"
  | "i8"
  | "i16"
  | "i32"
  | "i64"
  | "u8"
  | "u16"
  | "u32"
  | "u64"
  | "f32"
  | "f64"
  | "string"
  | "link"
  | "timestamp"
  | "json"
  | "bytes"
  | "enum"
  | "uuid";

/** The wire dtype path of each column type (PROFILE §3). */
export const DTYPE_PATHS: Readonly<Record<DTypeName, string>> = Object.freeze({
  bool: PATHS.dtype.bool,
  i8: PATHS.dtype.i8,
  i16: PATHS.dtype.i16,
  i32: PATHS.dtype.i32,
  i64: PATHS.dtype.i64,
  u8: PATHS.dtype.u8,
  u16: PATHS.dtype.u16,
  u32: PATHS.dtype.u32,
  u64: PATHS.dtype.u64,
  f32: PATHS.dtype.f32,
  f64: PATHS.dtype.f64,
  string: PATHS.dtype.string,
  link: PATHS.dtype.link,
  timestamp: PATHS.dtype.i64,
  json: PATHS.dtype.string,
  bytes: PATHS.dtype.bytes,
  enum: PATHS.dtype.string,
  uuid: PATHS.dtype.string,
});

/**
 * The `format` option a column type adds to its dtype in the schema (PROFILE §3): a timestamp is an
 * int/64 of milliseconds, a uuid or JSON text a string.
 */
export const DTYPE_FORMATS: Readonly<Partial<Record<DTypeName, "timestamp" | "json" | "uuid">>> = Object.freeze({
  timestamp: "timestamp",
  json: "json",
  uuid: "uuid",
});

/** What deleting (or re-keying) a referenced row does to the rows pointing at it (PROFILE §3). */
export type OnDelete = "restrict" | "cascade" | "set null";

/**
 * Options of `.references()`: the relation's name (outgoing) and its inverse (incoming), what a
 * delete of the target does, and whether the kernel enforces the reference at all.
 */
export interface ReferenceOptions {
  /** Name of the relation from this table to the target; default: the column name without `_id`. */
  readonly name?: string;
  /** Name of the relation from the target back to this table; default: this table's name. */
  readonly inverse?: string;
  /** Deleting a referenced row: refused (`"restrict"`, default), its referencing rows deleted too, or their column set to null. */
  readonly onDelete?: OnDelete;
  /** `false`: the reference is declared (relations, graph) but not enforced — e.g. for bulk loads. Default `true`. */
  readonly enforce?: boolean;
}

/** Anything with a table name: the target of a foreign key (a `Table`). */
export interface ReferenceTarget {
  readonly name: string;
}

/**
 * Type-level only: what a `.references()` declared, kept as literal types so the graph layer can
 * name relations without running `schema()`. `target` is the target table's name (`string` when
 * it cannot be known, e.g. a thunk annotated `(): ReferenceTarget => t`); `name`/`inverse` are
 * the explicit options, `never` when not given (the defaults are then computed from the schema).
 */
export interface ReferenceType<Target extends string = string, Name extends string = string, Inverse extends string = string> {
  readonly target: Target;
  readonly name: Name;
  readonly inverse: Inverse;
}

/** What a column declaration holds at run time. */
export interface ColumnSpec {
  readonly dtype: DTypeName;
  /** `string(n)` / `link(n)` maximum length; `null` for other types. */
  readonly maxLen: number | null;
  readonly nullable: boolean;
  readonly key: boolean;
  readonly unique: boolean;
  /** `undefined` when the column has no default; a function is called once per inserted row. */
  readonly default: unknown;
  readonly hasDefault: boolean;
  readonly references: { readonly target: () => ReferenceTarget; readonly options: ReferenceOptions } | null;
  /** `i64`/`u64`: values as JS numbers (within ±(2^53 − 1)) or as bigints (the whole range). */
  readonly mode?: "number" | "bigint";
  /** `enum`: the strings the column takes. */
  readonly values?: readonly string[];
  /** `json`: an optional zod schema the values must satisfy. */
  readonly jsonSchema?: { safeParse(v: unknown): { success: boolean; error?: unknown } };
  /** A key the kernel generates when an insert leaves it out. */
  readonly generated?: "increment" | "random";
  /** What `db.migrate()` needs to change a stored column into this one (absent: nothing declared). */
  readonly migration?: ColumnMigration;
}

/** Migration hints of a column: `.renamedFrom()`, `.transform()`, `.backfill()`. */
export interface ColumnMigration {
  /** The column's previous name. */
  readonly renamedFrom?: string;
  /** Turns a stored value of the previous type into a value of this one. */
  readonly transform?: (old: unknown) => unknown;
  /** The value of this new column in each existing row, from that row (previous columns). */
  readonly backfill?: (row: Record<string, unknown>) => unknown;
}

/**
 * A column declaration. `T` is the value type, `N` whether it is nullable, `D` whether it has a
 * default, `K` whether it is a key column, `R` what `.references()` declared (`null` when the
 * column is not a foreign key). Only `T` is used in rows; the flags shape insert and update
 * types, `R` the graph's relation names.
 *
 * @example
 * ```ts
 * const id = col.u64().key();
 * const age = col.u32().nullable();
 * const city = col.string(32).default("paris");
 * ```
 */
export class Column<
  T,
  N extends boolean = false,
  D extends boolean = false,
  K extends boolean = false,
  R extends ReferenceType | null = null,
> {
  /** Type-level only: the column's value type, flags and reference. */
  declare readonly _: { readonly type: T; readonly nullable: N; readonly hasDefault: D; readonly key: K; readonly ref: R };
  readonly spec: ColumnSpec;

  constructor(spec: ColumnSpec) {
    this.spec = Object.freeze(spec);
  }

  /** Marks a key column. Several key columns form a composite key, in declaration order. */
  key(): Column<T, N, D, true, R> {
    return new Column({ ...this.spec, key: true });
  }

  /** Allows `null` (a value column only: a key column cannot be nullable). */
  nullable(): Column<T, true, D, K, R> {
    return new Column({ ...this.spec, nullable: true });
  }

  /** Adds an index on this column and refuses a write that would repeat a value. */
  unique(): Column<T, N, D, K, R> {
    return new Column({ ...this.spec, unique: true });
  }

  /**
   * An integer key the kernel generates when an insert leaves it out: one more than any key the
   * table ever had (kept with the table, also in a data directory), so a key is never reused,
   * even after a delete or a crash.
   *
   * @example
   * ```ts
   * const issues = table("issues", { id: col.u64().key().autoIncrement(), title: col.string(200) });
   * ```
   */
  autoIncrement(): Column<T, N, true, K, R> {
    return new Column({ ...this.spec, generated: "increment", hasDefault: true, default: undefined });
  }

  /**
   * A uuid key the kernel generates (a random, version 4 uuid) when an insert leaves it out.
   *
   * @example
   * ```ts
   * const sessions = table("sessions", { id: col.uuid().key().defaultRandom(), user: col.u64() });
   * ```
   */
  defaultRandom(): Column<T, N, true, K, R> {
    return new Column({ ...this.spec, generated: "random", hasDefault: true, default: undefined });
  }

  /** The value used when an insert omits this column: a constant, or a function called per row. */
  default(value: T | (() => T)): Column<T, N, true, K, R> {
    return new Column({ ...this.spec, default: value, hasDefault: true });
  }

  /**
   * Declares that this column was called `old` before: `db.migrate()` renames the stored column
   * (keeping its values) instead of dropping it and adding this one.
   *
   * @example
   * ```ts
   * full_name: col.string(64).renamedFrom("name")
   * ```
   */
  renamedFrom(old: string): Column<T, N, D, K, R> {
    if (typeof old !== "string" || old.length === 0) throw new BadRequestError("renamedFrom() takes the column's previous name");
    return new Column({ ...this.spec, migration: { ...this.spec.migration, renamedFrom: old } });
  }

  /**
   * How `db.migrate()` turns a stored value into this column's type when the stored column's type
   * differs (a type change is refused without one). Called once per existing row.
   *
   * @example
   * ```ts
   * age: col.u32().transform((old) => Number(old)) // was col.string(8)
   * ```
   */
  transform(fn: (old: unknown) => T): Column<T, N, D, K, R> {
    if (typeof fn !== "function") throw new BadRequestError("transform() takes a function (old) => new value");
    return new Column({ ...this.spec, migration: { ...this.spec.migration, transform: fn } });
  }

  /**
   * The value `db.migrate()` gives this new column in each existing row, computed from that row's
   * stored columns (instead of a default or null).
   *
   * @example
   * ```ts
   * slug: col.string(64).backfill((row) => String(row.name).toLowerCase())
   * ```
   */
  backfill(fn: (row: Record<string, unknown>) => T): Column<T, N, D, K, R> {
    if (typeof fn !== "function") throw new BadRequestError("backfill() takes a function (row) => value");
    return new Column({ ...this.spec, migration: { ...this.spec.migration, backfill: fn } });
  }

  /**
   * Declares a foreign key to another table's (single-column) key. The thunk allows declaration
   * in any order. For a self-reference, TypeScript cannot infer a table's type from its own
   * initializer: pass the table's name instead (or annotate the thunk, `(): ReferenceTarget => posts`).
   * The same holds for two tables that reference each other through thunks: pass one by name.
   * The target's name and the `name`/`inverse` options are kept as literal types, so `db.graph`
   * knows the relation names (an annotated thunk loses the target's name: prefer the string).
   *
   * The kernel enforces the reference in the writing transaction: a referencing row's value must
   * be a key of the target (or null), and deleting a target row does what `onDelete` says
   * (`"restrict"`, the default: refused while rows point at it; `"cascade"`: they are deleted too;
   * `"set null"`: their column becomes null). `{ enforce: false }` declares it without enforcing.
   *
   * @example
   * ```ts
   * author: col.u64().references(() => users, { name: "author", inverse: "posts", onDelete: "cascade" })
   * parent: col.u64().nullable().references("posts", { name: "parent", inverse: "replies", onDelete: "set null" })
   * ```
   */
  references<Target extends string, Name extends string = never, Inverse extends string = never>(
    target: () => { readonly name: Target },
    options?: { readonly name?: Name; readonly inverse?: Inverse; readonly onDelete?: OnDelete; readonly enforce?: boolean },
  ): Column<T, N, D, K, ReferenceType<Target, Name, Inverse>>;
  references<Target extends string, Name extends string = never, Inverse extends string = never>(
    target: Target,
    options?: { readonly name?: Name; readonly inverse?: Inverse; readonly onDelete?: OnDelete; readonly enforce?: boolean },
  ): Column<T, N, D, K, ReferenceType<Target, Name, Inverse>>;
  references(target: string | (() => ReferenceTarget), options: ReferenceOptions = {}): Column<T, N, D, K, ReferenceType> {
    if (options.onDelete !== undefined && !["restrict", "cascade", "set null"].includes(options.onDelete)) {
      throw new BadRequestError(`references(): onDelete must be "restrict", "cascade" or "set null", got ${showValue(options.onDelete)}`);
    }
    if (typeof target === "string") {
      const name = target;
      return new Column({ ...this.spec, references: { target: () => ({ name }), options: { ...options } } });
    }
    if (typeof target !== "function") {
      throw new BadRequestError("references() takes a function returning the target table (() => users) or a table name");
    }
    return new Column({ ...this.spec, references: { target, options: { ...options } } });
  }
}

/** Any column declaration. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyColumn = Column<any, boolean, boolean, boolean, any>;

function make<T>(dtype: DTypeName, maxLen: number | null = null, extra: Partial<ColumnSpec> = {}): Column<T> {
  return new Column<T>({
    ...extra,
    dtype,
    maxLen,
    nullable: false,
    key: false,
    unique: false,
    default: undefined,
    hasDefault: false,
    references: null,
  } as ColumnSpec);
}

/** Options of `col.i64()` / `col.u64()`: values as numbers (default; within ±(2^53 − 1)) or bigints (the whole range). */
export interface Int64Options<M extends "number" | "bigint" = "number" | "bigint"> {
  readonly mode: M;
}

function int64(dtype: "i64" | "u64", options?: Int64Options): Column<number> {
  const mode = options?.mode ?? "number";
  if (mode !== "number" && mode !== "bigint") throw new BadRequestError(`col.${dtype}({ mode }): mode must be "number" or "bigint", got ${showValue(mode)}`);
  return make<number>(dtype, null, { mode });
}

function i64(): Column<number>;
function i64(options: Int64Options<"number">): Column<number>;
function i64(options: Int64Options<"bigint">): Column<bigint>;
function i64(options?: Int64Options): Column<number> | Column<bigint> {
  return int64("i64", options);
}

function u64(): Column<number>;
function u64(options: Int64Options<"number">): Column<number>;
function u64(options: Int64Options<"bigint">): Column<bigint>;
function u64(options?: Int64Options): Column<number> | Column<bigint> {
  return int64("u64", options);
}

/** A zod-like schema: anything with `safeParse` (zod's types have it). */
export interface JsonSchema<T> {
  safeParse(v: unknown): { success: true; data: T } | { success: false; error: unknown };
}

function json<T = unknown>(schema?: JsonSchema<T>): Column<T> {
  if (schema !== undefined && typeof (schema as { safeParse?: unknown }).safeParse !== "function") {
    throw new BadRequestError("col.json(schema): the schema must have safeParse (a zod schema)");
  }
  return make<T>("json", null, schema === undefined ? {} : { jsonSchema: schema as ColumnSpec["jsonSchema"] });
}

function enumOf<const V extends readonly [string, ...string[]]>(values: V): Column<V[number]> {
  if (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== "string") || new Set(values).size !== values.length) {
    throw new BadRequestError(`col.enum(values): a non-empty list of distinct strings, got ${showValue(values)}`);
  }
  return make<V[number]>("enum", null, { values: Object.freeze([...values]) });
}

function checkMaxLen(maxLen: unknown, what: string): number {
  if (typeof maxLen !== "number" || !Number.isSafeInteger(maxLen) || maxLen < 1) {
    throw new BadRequestError(`${what}(maxLen): maxLen must be a positive integer, got ${showValue(maxLen)}`);
  }
  return maxLen;
}

/**
 * The column builders.
 *
 * @example
 * ```ts
 * const users = table("users", { id: col.u64().key(), name: col.string(64), age: col.u32().nullable() });
 * ```
 */
export const col = Object.freeze({
  bool: () => make<boolean>("bool"),
  i8: () => make<number>("i8"),
  i16: () => make<number>("i16"),
  i32: () => make<number>("i32"),
  /** A 64-bit integer: a number (within ±(2^53 − 1)), or with `{ mode: "bigint" }` a bigint over the whole range. */
  i64,
  u8: () => make<number>("u8"),
  u16: () => make<number>("u16"),
  u32: () => make<number>("u32"),
  /** An unsigned 64-bit integer: a number (up to 2^53 − 1), or with `{ mode: "bigint" }` a bigint up to 2^64 − 1. */
  u64,
  /** A float32: values are rounded to the nearest float32 (`Math.fround`) when stored. */
  f32: () => make<number>("f32"),
  f64: () => make<number>("f64"),
  /** A string of at most `maxLen` characters. */
  string: (maxLen: number) => make<string>("string", checkMaxLen(maxLen, "col.string")),
  /** A link (`/state/...`, `/lib/...` or `http://host/...`), as a string; optional maximum length. */
  link: (maxLen?: number) => make<string>("link", maxLen === undefined ? null : checkMaxLen(maxLen, "col.link")),
  /** A point in time, as a `Date` (stored as milliseconds since the epoch). */
  timestamp: () => make<Date>("timestamp"),
  /** A JSON value (stored as its JSON text); with a zod schema, values are checked against it. */
  json,
  /** Bytes, as a `Uint8Array`. */
  bytes: () => make<Uint8Array>("bytes"),
  /** One of the given strings; the row type is their union. */
  enum: enumOf,
  /** A uuid (8-4-4-4-12 hex digits, stored and returned in lowercase). */
  uuid: () => make<string>("uuid"),
});
