/**
 * The resolved, stable metadata of a schema's tables: what the builders, `sync()` and the graph
 * catalog read. Built once by `schema()`, frozen, and JSON-friendly except for `default`
 * functions. Field names here are a public contract (the graph layer depends on them).
 */
import type { DTypeName, OnDelete } from "./columns.js";

/** One column, as declared. */
export interface ColumnMeta {
  readonly name: string;
  readonly dtype: DTypeName;
  /** The wire dtype path (PROFILE §3), e.g. `/state/scalar/value/number/uint/64`. */
  readonly dtypePath: string;
  /** `string(n)`/`link(n)` maximum length, else `null`. */
  readonly maxLen: number | null;
  readonly nullable: boolean;
  readonly key: boolean;
  readonly unique: boolean;
  readonly hasDefault: boolean;
  /** The default value or function (called per inserted row); `undefined` without a default. */
  readonly default: unknown;
  /** Position of the column in a row tuple (key columns first, then value columns). */
  readonly position: number;
  /** `i64`/`u64`: values as numbers or bigints. */
  readonly mode?: "number" | "bigint";
  /** `enum`: the strings the column takes. */
  readonly values?: readonly string[];
  /** `json`: the zod schema values are checked against, if any. */
  readonly jsonSchema?: { safeParse(v: unknown): { success: boolean; error?: unknown } };
  /** A key the kernel generates when an insert leaves it out. */
  readonly generated?: "increment" | "random";
}

/** Why an index exists. */
export type IndexOrigin = "declared" | "unique" | "foreign_key";

/** A secondary index (the primary index, key ++ values, is implicit and not listed here). */
export interface IndexMeta {
  readonly name: string;
  readonly columns: readonly string[];
  readonly origin: IndexOrigin;
}

/**
 * A foreign key: `table.column` references `targetTable.targetColumn` (the target's one key
 * column). As a relation it is named `name` from this table to the target, and `inverse` from the
 * target back to this table.
 */
export interface ForeignKeyMeta {
  readonly table: string;
  readonly column: string;
  readonly targetTable: string;
  readonly targetColumn: string;
  readonly name: string;
  readonly inverse: string;
  /** The index that serves the hop target → this table (an index starting with `column`), or `"primary"`. */
  readonly index: string;
  /** What deleting a target row does to the rows pointing at it. */
  readonly onDelete: OnDelete;
  /** Whether the kernel enforces the reference (`references(…, { enforce: false })` does not). */
  readonly enforced: boolean;
}

/**
 * An edge table: each row of `table` links the row of `fromTable` referenced by column `from`
 * to the row of `toTable` referenced by column `to`. Named `name` forwards, `inverse` backwards.
 */
export interface EdgeMeta {
  readonly table: string;
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly fromTable: string;
  readonly toTable: string;
  readonly inverse: string | null;
}

/** Everything about one table. */
export interface TableMeta {
  readonly name: string;
  readonly namespace: string;
  /** `/state/<namespace>/<name>`. */
  readonly path: string;
  /** All columns in row-tuple order (key columns, then value columns, each in declaration order). */
  readonly columns: readonly ColumnMeta[];
  readonly columnsByName: Readonly<Record<string, ColumnMeta>>;
  readonly keyColumns: readonly string[];
  readonly valueColumns: readonly string[];
  /** Secondary indexes: declared ones, then `.unique()` ones, then those added for foreign keys. */
  readonly indexes: readonly IndexMeta[];
  readonly foreignKeys: readonly ForeignKeyMeta[];
  readonly edges: readonly EdgeMeta[];
  /** The PROFILE §3 schema JSON `[[keyCols, valueCols], indices]`. */
  readonly schemaJson: SchemaJson;
}

/**
 * `[name, dtype]`, `[name, dtype, maxLen]`, or `[name, dtype, maxLen|null, options]` with the
 * options of PROFILE §3 (`nullable`, `format`, `values`, `generated`, `references`).
 */
export type ColumnJson =
  | readonly [string, string]
  | readonly [string, string, number]
  | readonly [string, string, number | null, ColumnOptionsJson];

/** The options of a column in the schema JSON (PROFILE §3), keys in sorted order. */
export interface ColumnOptionsJson {
  readonly format?: "timestamp" | "json" | "uuid";
  readonly generated?: "increment" | "random";
  readonly nullable?: true;
  readonly references?: { readonly on_delete: OnDelete; readonly table: string };
  readonly values?: readonly string[];
}

/** PROFILE §3 table schema JSON. */
export type SchemaJson = readonly [
  readonly [readonly ColumnJson[], readonly ColumnJson[]],
  readonly (readonly [string, readonly string[]])[],
];
