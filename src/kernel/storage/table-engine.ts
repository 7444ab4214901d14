/**
 * The table engine's interface: what state/, traverse/, derived/ and ops/ use of a table. Two
 * engines implement it — `HeapTable` (heap-table.ts: B+ trees on the JS heap, for a database in
 * memory) and `LmdbTable` (lmdb-table.ts: rows in lmdb, pending writes in an overlay, for a
 * durable database) — and the database picks one when it creates a table, so readers never know
 * which they have.
 */
import type { ColumnGroups } from "./column-groups.js";
import type { EqualityLookup } from "./equality-lookup.js";
import type { IndexKey, KeyCell } from "./index-keys.js";
import type { RowObserver } from "./row-observer.js";
import type { ColumnConstraint, ScanPlan } from "./scan-plan.js";
import type { TableIndex } from "./table-index.js";
import type { Cell, Row, TableSchema } from "./table-schema.js";

/**
 * The cells of columns appended to a table's schema without rewriting its rows (a schema change
 * adding a nullable column or one with a constant default, state/alter-table.ts): a row stored
 * before holds fewer cells than the schema has columns, and reads as if it held these in the
 * missing trailing ones. Rows written after the change hold every column.
 */
export interface RowFill {
  /** Every stored row holds at least this many cells. */
  readonly from: number;
  /** The cells of columns `from`, `from + 1`, … for a row that lacks them. */
  readonly cells: readonly Cell[];
}

/** Receives every change (the transaction's undo log and write-set); see `preservesCommitted` for when. */
export interface WriteLog {
  /**
   * True when the log has each table keep its committed state readable from its first change on
   * (a session's log, see `Table.preserveCommitted`): a table must then report its first change
   * in the transaction before making it (later ones, with the committed state kept aside, may be
   * reported after). Otherwise it may report any change after it (the log only records what was
   * replaced).
   */
  readonly preservesCommitted?: boolean;
  rowChanged(table: Table, key: IndexKey, old: Row | undefined): void;
  truncated(table: Table, saved: TableState): void;
  /**
   * The table's rows were replaced in bulk (rows bulk-loaded into an empty table, or merged into
   * a table in one rebuild); `saved` holds the previous state.
   */
  bulkLoaded(table: Table, saved: TableState): void;
}

/**
 * What `truncate` and bulk loads save so that a rollback can put the table back
 * (`restoreState`); only the engine that made it reads it.
 */
export interface TableState {
  readonly engine: "heap" | "lmdb";
}

/**
 * What a structure is registered under beside a table (see `Table.derived`): a string naming
 * the structure, or an object such as the index a hash multi-index follows.
 */
export type DerivedKey = string | object;

/**
 * What a table calls around its writes, so that rules spanning tables (foreign keys) hold. Each
 * call runs after the change, inside the same request: a throw undoes the request, and the
 * changes a call makes itself (cascades) go to the same `log`.
 */
export interface WriteGuard {
  /** `row` was written (replacing `old`, if any). */
  written(table: Table, row: Row, old: Row | undefined, log: WriteLog | undefined): void;
  /** The new `rows` of a bulk insert were written. */
  insertedMany(table: Table, rows: readonly Row[]): void;
  /** `old` was removed. */
  removed(table: Table, old: Row, log: WriteLog | undefined): void;
  /** True when removing rows of `table` needs `removed` calls (some table references it). */
  watchesRemovals(table: Table): boolean;
}

/**
 * A table: schema, indexes and rows, whichever engine keeps them.
 *
 * @example
 * ```ts
 * const t = db.newTable("/state/app/t", parseSchema(schemaJson));
 * t.write(t.checkRow(["a", 5]), "insert", undefined);
 * t.get("a"); // ["a", 5]
 * ```
 */
export interface Table {
  /** True when the rows live in the durable store (lmdb-table.ts), false on the heap. */
  readonly durable: boolean;
  /** Id of the table in the durable store (assigned by the database). */
  tid: number;
  /** True while the table is in its database's catalog (false once dropped). */
  attached: boolean;
  /** The durable store's key size limit in bytes (`undefined` in memory). */
  keyByteLimit: number | undefined;
  /** The table's link, e.g. `/state/social/users`. */
  readonly path: string;
  readonly schema: TableSchema;
  readonly primary: TableIndex;
  readonly secondaries: readonly TableIndex[];
  /** Primary first, then the secondary indexes in schema order. */
  readonly indexes: readonly TableIndex[];
  /** True when some column holds links (stored as href strings), bytes (key strings) or 64-bit integers (read back as numbers when a double holds them). */
  readonly hasLinks: boolean;
  /** Number of rows (pending writes included). */
  readonly size: number;
  /**
   * The cells of trailing columns that rows stored before a schema change lack (see `RowFill`);
   * `undefined` when every stored row holds every column. Every read fills them in.
   */
  readonly fill: RowFill | undefined;
  /**
   * What the database checks around this table's writes (its references, see
   * state/integrity.ts); set while the table is in a database's catalog.
   */
  guard: WriteGuard | undefined;
  /**
   * The highest key a `generated: "increment"` key column ever held, or `undefined` before it
   * is first needed (then it is read from the store, or the largest key): generated keys go above
   * it, so a key is never reused.
   */
  sequence: number | bigint | undefined;

  /** The primary tree key of a row. */
  primaryKeyOf(row: Row): IndexKey;
  /** The primary tree key from normalized key cells. */
  keyFromCells(cells: readonly KeyCell[]): IndexKey;
  /** The row with this primary tree key, if any. */
  get(key: IndexKey): Row | undefined;
  /** True when a row has this primary tree key (a durable table reads no row for it). */
  has(key: IndexKey): boolean;
  /** Checks a full row (arity and every cell) and returns the row to store. */
  checkRow(raw: unknown, what?: string): Row;
  /** Builds a full row from a key tuple and a values tuple (or a single value). */
  checkKeyValues(key: unknown, values: unknown): Row;

  /**
   * Writes a checked row: `insert` refuses an existing key (409), `upsert` replaces it. Returns
   * the row as written (a generated key filled in).
   */
  write(row: Row, mode: "insert" | "upsert", log: WriteLog | undefined): Row;
  /** Deletes the row with this primary tree key; false when absent. */
  remove(key: IndexKey, log: WriteLog | undefined): boolean;
  /**
   * Writes checked `rows` over the rows `olds` they replace (`rows[i]` has the key of `olds[i]`;
   * `olds` as read in this request, each key once, in any order): a range update. The same
   * changes, log entries, observer calls and guard checks as `write(row, "upsert")` per row; an
   * engine may apply them in one pass (table-base.ts writes row by row).
   */
  updateMany(olds: readonly Row[], rows: readonly Row[], log: WriteLog | undefined): void;
  /**
   * Removes the rows `olds` (as read in this request, each key once, in any order): a range
   * delete. The same as `remove` of each one's key; an engine may apply them in one pass.
   */
  removeMany(olds: readonly Row[], log: WriteLog | undefined): void;
  /** Puts a row back as it was before a change (used by rollback; never logged). */
  restoreRow(key: IndexKey, old: Row | undefined): void;
  /** Removes every row at once (saving the state in the log so a rollback restores it). */
  truncate(log: WriteLog | undefined): void;
  /** Reinstates a state saved by `truncate` or a bulk load. */
  restoreState(saved: TableState): void;
  /** Inserts many checked rows; refuses (409, nothing written) if a key exists or repeats. */
  insertMany(rows: readonly Row[], log: WriteLog | undefined): void;
  /**
   * Fills this new, empty table with every row of `from` when the engine can share them (same
   * engine; the caller has checked that `from`'s row layout is a prefix of this table's: the same
   * columns at the same positions, with types whose cells fit, and maybe new trailing columns,
   * whose cells `fill` gives) without copying: a schema change that adds or drops indexes, or
   * appends columns with constant cells. Only new or changed secondary indexes are built. Returns
   * false (nothing done) when it cannot; the caller then inserts the rows. `from` stays readable
   * as it was (a rollback puts it back). Optional: an engine without it always copies.
   */
  adoptRows?(from: Table, fill: RowFill | undefined): boolean;
  /**
   * Fills this new, empty table with `rows` (checked, in primary key order) in place of every row
   * of `from`, when they have exactly `from`'s keys (a schema change that rewrites the rows but
   * keeps the key columns): the engine may then write them over the stored rows instead of
   * removing those and storing these anew. `unchanged[p]` is true when the cells at position `p`
   * are `from`'s (an index on such positions need not be rebuilt). Returns false (nothing done)
   * when it cannot; the caller then inserts the rows. Optional.
   */
  replaceRows?(from: Table, rows: readonly Row[], unchanged: readonly boolean[]): boolean;

  /** The scan plan that serves `constraints` (and `order`); 400 when no index does. */
  plan(constraints: readonly ColumnConstraint[], order?: readonly string[], reverse?: boolean): ScanPlan;
  /** Calls `visit` for each row of the plan, in its order; `visit` returns `true` to stop. */
  scan(plan: ScanPlan, visit: (row: Row) => boolean | void): void;
  /**
   * Visits every row in primary key order as the engine holds it: a row stored before columns
   * were appended lacks their cells (`fill` gives them). For a pass over every row that reads the
   * fill itself, without a filled copy of each row. Optional: `scan` serves otherwise.
   */
  scanStored?(visit: (row: Row) => void): void;
  /** Number of rows a plan yields. */
  count(plan: ScanPlan): number;
  /** A prepared equality lookup on `cols` (see equality-lookup.ts). */
  equalityLookup(cols: readonly string[]): EqualityLookup;
  /**
   * Appends to `out`, in index order, the rows of tuple-keyed index `ix` whose first
   * `prefix.length` key cells equal `prefix`.
   */
  prefixRows(ix: TableIndex, prefix: readonly KeyCell[], out: Row[]): void;

  /** The structure registered under `key`, made from the table's rows on first use (row-observer.ts). */
  derived<T extends RowObserver>(key: DerivedKey, make: (rows: readonly Row[]) => T): T;
  /**
   * Like `derived`, but `make` is given no rows: it reads the table itself (a structure that must
   * not hold every row at once, such as a lazy slot space, scans it).
   */
  derivedBy<T extends RowObserver>(key: DerivedKey, make: () => T): T;
  /** Like `derived`, but always makes a new structure, replacing the one registered before. */
  replaceDerived<T extends RowObserver>(key: DerivedKey, make: (rows: readonly Row[]) => T): T;
  /** The hash multi-index on the column leading `ix`, built on first use (column-groups.ts). */
  columnGroups(ix: TableIndex): ColumnGroups;

  /**
   * Keeps the committed state readable while the open transaction writes (`committed()`): called
   * before a session's first change to the table. The heap engine takes copy-on-write snapshots
   * of its trees (O(1), nodes are copied as writes touch them); the lmdb engine keeps its
   * committed state anyway (lmdb + layers being committed).
   */
  preserveCommitted(): void;
  /**
   * A read-only table of the committed state, without the open transaction's writes when it
   * preserved them (`preserveCommitted`); the table itself otherwise. For reads that must not wait
   * for an open session. Its derived structures are not kept: traversals do not read it.
   */
  committed(): Table;
  /** Ends what `preserveCommitted` kept (the transaction committed or rolled back). */
  releaseCommitted(): void;
}
