/**
 * `table(name, columns)`: a table declaration, with `.index()` and `.edge()`. A declaration is
 * immutable (each call returns a new one); it becomes a `/state/<namespace>/<name>` table once a
 * `schema()` gives it a namespace.
 */
import { BadRequestError } from "../errors.js";
import { idProblem } from "../ir/id.js";
import type { AnyColumn, Column } from "./columns.js";
import { showValue } from "../ir/show-value.js";

/** The columns of a table, by name, in declaration order. */
export type ColumnsShape = Record<string, AnyColumn>;

/** The value a column holds in a row (`T`, or `T | null` when nullable). */
export type ColumnValue<C extends AnyColumn> = C["_"]["nullable"] extends true
  ? C["_"]["type"] | null
  : C["_"]["type"];

/** A row of a table with columns `C`. */
export type RowOf<C extends ColumnsShape> = { -readonly [K in keyof C]: ColumnValue<C[K]> };

type OptionalOnInsert<C extends ColumnsShape> = {
  [K in keyof C]: C[K]["_"]["nullable"] extends true ? K : C[K]["_"]["hasDefault"] extends true ? K : never;
}[keyof C];

type Flat<X> = { [K in keyof X]: X[K] } & {};

/** What an insert takes: nullable columns and columns with a default may be omitted. */
export type InsertOf<C extends ColumnsShape> = Flat<
  { -readonly [K in Exclude<keyof C, OptionalOnInsert<C>>]: ColumnValue<C[K]> } & {
    -readonly [K in OptionalOnInsert<C>]?: ColumnValue<C[K]>;
  }
>;

/** What an update may set: value columns only (a key is an identity, not a value). */
export type UpdateOf<C extends ColumnsShape> = {
  -readonly [K in keyof C as C[K]["_"]["key"] extends true ? never : K]?: ColumnValue<C[K]>;
};

/** An index declaration: a name and the columns it orders by. */
export interface IndexDecl {
  readonly name: string;
  readonly columns: readonly string[];
}

/** An edge declaration: this table's rows are edges `from` → `to` (both foreign-key columns). */
export interface EdgeDecl {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly inverse: string | null;
}

/**
 * Type-level only: one `.edge(name, { from, to, inverse })` declaration, names as literal types
 * (`Inverse` is `never` when not given: the default is `<name>_inverse`).
 */
export interface EdgeType<Name extends string = string, From extends string = string, To extends string = string, Inverse extends string = string> {
  readonly name: Name;
  readonly from: From;
  readonly to: To;
  readonly inverse: Inverse;
}

/**
 * A table declaration. `N` is its name, `C` its columns, `E` its `.edge()` declarations (a union
 * of `EdgeType`s, `never` for none). The `$row`, `$insert`, `$update` and `$edges` members exist
 * only for the type checker (use `Row<typeof t>` etc.).
 */
export class Table<N extends string = string, C extends ColumnsShape = ColumnsShape, E extends EdgeType = never> {
  declare readonly $edges: E;
  // Written out, not `RowOf<C>`: an anonymous mapped type is shown expanded on hover.
  declare readonly $row: { -readonly [K in keyof C]: ColumnValue<C[K]> };
  declare readonly $insert: InsertOf<C>;
  declare readonly $update: UpdateOf<C>;
  readonly name: N;
  readonly columns: Readonly<C>;
  readonly indexes: readonly IndexDecl[];
  readonly edges: readonly EdgeDecl[];
  /** The table's previous name, for a migration that renames it (`.renamedFrom()`); else `null`. */
  readonly previousName: string | null;

  /** @internal use `table()` */
  constructor(name: N, columns: C, indexes: readonly IndexDecl[], edges: readonly EdgeDecl[], previousName: string | null = null) {
    this.name = name;
    this.columns = Object.freeze({ ...columns });
    this.indexes = Object.freeze([...indexes]);
    this.edges = Object.freeze([...edges]);
    this.previousName = previousName;
    Object.freeze(this);
  }

  /**
   * Declares that this table was called `old` before: `db.migrate()` renames the stored table
   * `old` (rows, indexes) to this name instead of creating an empty one. Ignored once the table
   * exists under its new name.
   *
   * @example
   * ```ts
   * const users = table("users", { id: col.u64().key() }).renamedFrom("people");
   * ```
   */
  renamedFrom(old: string): Table<N, C, E> {
    checkName(old, `previous name of table ${this.name}`);
    if (old === this.name) throw new BadRequestError(`table ${this.name}: renamedFrom() names the table itself`);
    return new Table(this.name, this.columns as C, this.indexes, this.edges, old);
  }

  /**
   * Adds a secondary index. Rows can then be selected by an equality prefix of `columns` plus one
   * range on the next column, and ordered by it.
   *
   * @example
   * ```ts
   * const users = table("users", { id: col.u64().key(), city: col.string(32) }).index("by_city", ["city"]);
   * ```
   */
  index(name: string, columns: readonly (keyof C & string)[]): Table<N, C, E> {
    checkName(name, `index name in table ${this.name}`);
    if (this.indexes.some((i) => i.name === name)) {
      throw new BadRequestError(`table ${this.name}: index ${showValue(name)} is declared twice`);
    }
    if (!Array.isArray(columns) || columns.length === 0) {
      throw new BadRequestError(`table ${this.name}: index ${name} needs at least one column`);
    }
    const seen = new Set<string>();
    for (const c of columns) {
      if (!Object.prototype.hasOwnProperty.call(this.columns, c)) {
        throw new BadRequestError(`table ${this.name}: index ${name} names unknown column ${showValue(c)}`);
      }
      if (seen.has(c)) throw new BadRequestError(`table ${this.name}: index ${name} repeats column ${c}`);
      seen.add(c);
    }
    return new Table(this.name, this.columns as C, [...this.indexes, { name, columns: [...columns] }], this.edges, this.previousName);
  }

  /**
   * Declares this table as a many-to-many relation: each row is an edge from the row referenced
   * by `from` to the row referenced by `to` (both must be foreign-key columns).
   *
   * @example
   * ```ts
   * const follows = table("follows", {
   *   follower: col.u64().key().references(() => users),
   *   followee: col.u64().key().references(() => users),
   * }).edge("follows", { from: "follower", to: "followee", inverse: "followers" });
   * ```
   */
  edge<Name extends string, From extends keyof C & string, To extends keyof C & string, Inverse extends string = never>(
    name: Name,
    spec: { readonly from: From; readonly to: To; readonly inverse?: Inverse },
  ): Table<N, C, E | EdgeType<NoInfer<Name>, NoInfer<From>, NoInfer<To>, NoInfer<Inverse>>> {
    checkName(name, `edge name in table ${this.name}`);
    if (spec.inverse !== undefined) checkName(spec.inverse, `edge inverse name in table ${this.name}`);
    for (const end of ["from", "to"] as const) {
      const c = spec[end];
      const column = Object.prototype.hasOwnProperty.call(this.columns, c) ? this.columns[c] : undefined;
      if (!column) throw new BadRequestError(`table ${this.name}: edge ${name} ${end} names unknown column ${showValue(c)}`);
      if (!column.spec.references) {
        throw new BadRequestError(`table ${this.name}: edge ${name} ${end} column ${c} must reference a table (.references())`);
      }
    }
    if (this.edges.some((e) => e.name === name)) {
      throw new BadRequestError(`table ${this.name}: edge ${showValue(name)} is declared twice`);
    }
    const decl: EdgeDecl = { name, from: spec.from, to: spec.to, inverse: spec.inverse ?? null };
    return new Table(this.name, this.columns as C, this.indexes, [...this.edges, decl], this.previousName);
  }
}

/** Any table declaration. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTable = Table<string, any, any>;

/** The row type of a table: `Row<typeof users>`. */
export type Row<T extends AnyTable> = T["$row"];
/** What `insertInto(t).values()` accepts for one row. */
export type Insertable<T extends AnyTable> = T["$insert"];
/** What `updateTable(t).set()` accepts. */
export type Updateable<T extends AnyTable> = T["$update"];

function checkName(name: unknown, what: string): void {
  const problem = idProblem(name);
  if (problem) throw new BadRequestError(`invalid ${what} ${showValue(name)}: ${problem}`);
}

/**
 * Declares a table. Column order is declaration order: key columns (in that order) then value
 * columns form the row tuple.
 *
 * @example
 * ```ts
 * export const users = table("users", {
 *   id: col.u64().key(),
 *   name: col.string(64),
 *   age: col.u32().nullable(),
 * });
 * ```
 */
export function table<N extends string, C extends ColumnsShape>(name: N, columns: C): Table<N, C> {
  checkName(name, "table name");
  if (typeof columns !== "object" || columns === null) {
    throw new BadRequestError(`table ${name}: columns must be an object of col.* declarations`);
  }
  const names = Object.keys(columns);
  if (names.length === 0) throw new BadRequestError(`table ${name}: at least one column is needed`);
  let keys = 0;
  for (const c of names) {
    checkName(c, `column name in table ${name}`);
    const column = columns[c] as unknown;
    if (!(column && typeof column === "object" && "spec" in column)) {
      throw new BadRequestError(`table ${name}: column ${c} must be a col.* declaration`);
    }
    const spec = (column as Column<unknown>).spec;
    if (spec.key) {
      keys++;
      if (spec.nullable) throw new BadRequestError(`table ${name}: key column ${c} cannot be nullable`);
    }
  }
  if (keys === 0) throw new BadRequestError(`table ${name}: declare at least one key column with .key()`);
  return new Table(name, columns, [], []);
}
