/**
 * What both table engines share (heap-table.ts, lmdb-table.ts): row and key checks, primary keys,
 * planning, prepared equality lookups, and the registry of structures kept beside the table
 * (`derived`, `columnGroups`) with the calls that tell them of each change. Each engine supplies
 * how its rows are stored and read.
 */
import { BadRequestError, ConflictError } from "../../errors.js";
import { ColumnGroups } from "./column-groups.js";
import { type EqualityLookup, prepareEqualityLookup } from "./equality-lookup.js";
import { type IndexKey, type KeyCell, normCell } from "./index-keys.js";
import type { RowObserver } from "./row-observer.js";
import { type ColumnConstraint, type ScanPlan, planScan } from "./scan-plan.js";
import { type SortedBatch, type TableIndex, primaryIndex, secondaryIndexes, secondaryKey, sortedBatch } from "./table-index.js";
import type { DerivedKey, RowFill, Table, TableState, WriteGuard, WriteLog } from "./table-engine.js";
import { type Cell, type Column, type Row, type TableSchema, cellDetail, checkCell, describeValue } from "./table-schema.js";
import { randomUUID } from "node:crypto";

/** Range writes of at least this many rows go as one batch (`updateMany`, `removeMany`). */
const BATCH_ROWS = 64;

/** A primary key as text, for error messages. */
export function keyText(key: IndexKey): string {
  return describeValue(Array.isArray(key) ? key : [key]);
}

/** True when `x` is a table of either engine (the undo log tells row entries by it). */
export function isTable(x: unknown): x is Table {
  return x instanceof TableBase;
}

/** The parts of a table that do not depend on where its rows are kept. */
export abstract class TableBase implements Table {
  abstract readonly durable: boolean;
  tid = 0;
  attached = false;
  keyByteLimit: number | undefined;
  readonly primary: TableIndex;
  readonly secondaries: readonly TableIndex[];
  readonly indexes: readonly TableIndex[];
  readonly hasLinks: boolean;
  guard: WriteGuard | undefined;
  sequence: number | bigint | undefined;
  fill: RowFill | undefined = undefined;
  /** Position of the generated key column (`generated` option), or -1. */
  protected readonly generatedAt: number;
  /** Number of key columns. */
  readonly keyLen: number;
  /** A composite-key table without value or link columns uses its rows as primary keys. */
  private readonly rowIsKey: boolean;
  private allRowsPlan: ScanPlan | undefined;
  /** Structures kept beside the table that hear every row change, in registration order. */
  protected readonly observers: RowObserver[] = [];
  /** The same structures by the key they were registered under (see `derived`). */
  private readonly registered = new Map<DerivedKey, RowObserver>();

  constructor(
    readonly path: string,
    readonly schema: TableSchema,
  ) {
    this.keyLen = schema.keyColumns.length;
    this.rowIsKey = schema.valueColumns.length === 0 && schema.keyColumns.every((c) => c.kind !== "link" && c.kind !== "bytes");
    this.generatedAt = schema.keyColumns.findIndex((c) => c.generated !== undefined);
    this.hasLinks = schema.columns.some((c) => c.kind === "link" || c.kind === "bytes" || c.bigMin !== undefined);
    this.primary = primaryIndex(schema);
    this.secondaries = secondaryIndexes(schema);
    this.indexes = [this.primary, ...this.secondaries];
  }

  abstract readonly size: number;
  abstract get(key: IndexKey): Row | undefined;

  has(key: IndexKey): boolean {
    return this.get(key) !== undefined;
  }
  abstract restoreState(saved: TableState): void;
  /** The engine's bulk insert of checked rows (generated keys filled in). */
  protected abstract insertManyRows(rows: readonly Row[], log: WriteLog | undefined): void;
  /** The engine's removal of every row. */
  protected abstract truncateRows(log: WriteLog | undefined): void;

  /** Inserts many checked rows; refuses (409, nothing written) if a key exists or repeats. */
  insertMany(rows: readonly Row[], log: WriteLog | undefined): void {
    const filled = this.prepareRows(rows);
    this.insertManyRows(filled, log);
    this.afterInsertMany(filled);
  }

  /** Removes every row at once (saving the state in the log so a rollback restores it). */
  truncate(log: WriteLog | undefined): void {
    const rows = this.rowsBeforeTruncate();
    this.truncateRows(log);
    this.afterTruncate(rows, log);
  }
  abstract scan(plan: ScanPlan, visit: (row: Row) => boolean | void): void;
  abstract count(plan: ScanPlan): number;
  abstract prefixRows(ix: TableIndex, prefix: readonly KeyCell[], out: Row[]): void;
  /** Every row of the table, in primary key order (what a derived structure is made from). */
  protected abstract allRows(): Row[];
  /** The rows of `ix` in its order (what a hash multi-index on it is grouped from). */
  protected abstract rowsInOrder(ix: TableIndex): Iterable<Row>;
  /**
   * What a hash multi-index tells rows apart by: the row object itself when the engine stores
   * each row once (heap), a key string when rows are decoded anew on each read (lmdb).
   */
  protected abstract rowIdentity(): ((row: Row) => unknown) | undefined;
  abstract preserveCommitted(): void;
  abstract committed(): Table;
  abstract releaseCommitted(): void;

  /** `row` with the cells of the trailing columns it lacks (`fill`); `row` itself when it has them all. */
  protected full(row: Row): Row {
    const fill = this.fill;
    const n = this.schema.columns.length;
    if (fill === undefined || row.length >= n) return row;
    const out = new Array<Cell>(n);
    for (let i = 0; i < row.length; i++) out[i] = row[i]!;
    for (let i = row.length; i < n; i++) out[i] = fill.cells[i - fill.from]!;
    return out;
  }

  primaryKeyOf(row: Row): IndexKey {
    if (this.keyLen === 1) return normCell(row[0]!);
    if (this.rowIsKey) return row as readonly KeyCell[];
    const key = new Array<KeyCell>(this.keyLen);
    for (let i = 0; i < this.keyLen; i++) key[i] = normCell(row[i]!);
    return key;
  }

  keyFromCells(cells: readonly KeyCell[]): IndexKey {
    return this.keyLen === 1 ? cells[0]! : cells;
  }

  checkRow(raw: unknown, what = "row"): Row {
    const cols = this.schema.columns;
    if (!Array.isArray(raw)) {
      throw new BadRequestError(`${this.path}: a ${what} must be a tuple of ${cols.length} values, got ${describeValue(raw)}`);
    }
    if (raw.length !== cols.length) {
      throw new BadRequestError(
        `${this.path}: a ${what} has ${cols.length} values (${cols.map((c) => c.name).join(", ")}), got ${raw.length}`,
      );
    }
    const where = what === "row" ? this.path : `${this.path} (${what})`;
    let out: unknown[] | undefined;
    for (let i = 0; i < cols.length; i++) {
      // `checkCell` may store another form than it was given (`-0` as `0`, as SQLite does; a
      // float/32 rounded; a uuid in lowercase; a bigint within ±(2^53 − 1) as a number): such a
      // row is the one row copied.
      const cell = checkCell(cols[i]!, raw[i], where);
      if (!Object.is(cell, raw[i])) (out ??= raw.slice())[i] = cell;
    }
    return (out ?? raw) as Row;
  }

  checkKeyValues(key: unknown, values: unknown): Row {
    const nKey = this.keyLen;
    const nValues = this.schema.valueColumns.length;
    if (!Array.isArray(key) || key.length !== nKey) {
      throw new BadRequestError(`${this.path}: a key has ${nKey} column(s), got ${describeValue(key)}`);
    }
    let vals: readonly unknown[];
    if (Array.isArray(values)) vals = values;
    else if (nValues === 1 && values !== undefined) vals = [values];
    else if (nValues === 0 && (values === undefined || values === null)) vals = [];
    else throw new BadRequestError(`${this.path}: values must be a tuple of ${nValues} value(s), got ${describeValue(values)}`);
    if (vals.length !== nValues) {
      throw new BadRequestError(
        `${this.path}: values have ${nValues} column(s) (${this.schema.valueColumns.map((c) => c.name).join(", ")}), got ${vals.length}`,
      );
    }
    return this.checkRow([...key, ...vals]);
  }

  // ---- writing: the same steps on both engines; each applies a change its own way -------------

  /**
   * Writes a checked row. `insert` refuses an existing key (409); `upsert` replaces it. Every
   * secondary index is updated; `log` hears about the change (here first; an engine may tell it
   * after when the log allows, `WriteLog.preservesCommitted`).
   */
  write(row: Row, mode: "insert" | "upsert", log: WriteLog | undefined): Row {
    if (this.generatedAt >= 0) row = this.withGeneratedKey(row);
    const key = this.primaryKeyOf(row);
    this.checkWriteBytes(key, row);
    const old = this.get(key);
    if (old !== undefined && mode === "insert") throw this.keyExists(key, row);
    log?.rowChanged(this, key, old);
    this.applyWrite(key, row, old);
    this.guard?.written(this, row, old, log);
    return row;
  }

  /** Deletes the row with this primary tree key; false when absent. */
  remove(key: IndexKey, log: WriteLog | undefined): boolean {
    const old = this.get(key);
    if (old === undefined) return false;
    log?.rowChanged(this, key, old);
    this.applyRemove(key, old);
    this.guard?.removed(this, old, log);
    return true;
  }

  /**
   * Writes `rows` over `olds` (a range update; the key columns unchanged) as `write` does, but
   * without reading each row again: `olds` were read in this request, and nothing a row's write
   * does (its guard only reads) changes another row of the range. (A durable table decodes a row
   * per read.) Many rows go as one batch in primary key order (`applyWrites`): every row checked,
   * then the log told of each, the rows put in, then the guard told.
   */
  updateMany(olds: readonly Row[], rows: readonly Row[], log: WriteLog | undefined): void {
    if (rows.length >= BATCH_ROWS) {
      const batch = sortedBatch(this.primary, (row) => this.primaryKeyOf(row), olds, rows);
      for (let i = 0; i < batch.rows.length; i++) this.checkWriteBytes(batch.keys[i]!, batch.rows[i]!);
      if (log !== undefined) for (let i = 0; i < batch.rows.length; i++) log.rowChanged(this, batch.keys[i]!, batch.olds[i]!);
      this.applyWrites(batch);
      const guard = this.guard;
      if (guard !== undefined) for (let i = 0; i < batch.rows.length; i++) guard.written(this, batch.rows[i]!, batch.olds[i]!, log);
      return;
    }
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const old = olds[i]!;
      const key = this.primaryKeyOf(row);
      this.checkWriteBytes(key, row);
      log?.rowChanged(this, key, old);
      this.applyWrite(key, row, old);
      this.guard?.written(this, row, old, log);
    }
  }

  /** Puts a range update's rows in (`updateMany`): row by row, unless an engine has a batch path. */
  protected applyWrites(batch: SortedBatch): void {
    for (let i = 0; i < batch.rows.length; i++) this.applyWrite(batch.keys[i]!, batch.rows[i]!, batch.olds[i]!);
  }

  /** Takes a range delete's rows out (`removeMany`): row by row, unless an engine has a batch path. */
  protected applyRemoves(batch: SortedBatch): void {
    for (let i = 0; i < batch.olds.length; i++) this.applyRemove(batch.keys[i]!, batch.olds[i]!);
  }

  /**
   * Removes the rows `olds` (a range delete). When removals are guarded (rows of other tables
   * reference this one), each goes through `remove`, which reads the row again: a cascade of an
   * earlier one may have removed or changed it. Otherwise `olds` are taken as read, many rows as
   * one batch in primary key order (`applyRemoves`), a few row by row.
   */
  removeMany(olds: readonly Row[], log: WriteLog | undefined): void {
    if (this.guard?.watchesRemovals(this) === true) {
      for (let i = 0; i < olds.length; i++) this.remove(this.primaryKeyOf(olds[i]!), log);
      return;
    }
    if (olds.length >= BATCH_ROWS) {
      const batch = sortedBatch(this.primary, (row) => this.primaryKeyOf(row), olds, undefined);
      if (log !== undefined) for (let i = 0; i < batch.olds.length; i++) log.rowChanged(this, batch.keys[i]!, batch.olds[i]!);
      this.applyRemoves(batch);
      return;
    }
    for (let i = 0; i < olds.length; i++) {
      const old = olds[i]!;
      const key = this.primaryKeyOf(old);
      log?.rowChanged(this, key, old);
      this.applyRemove(key, old);
    }
  }

  /** The 409 of an insert whose key exists, naming the key columns and the key. */
  protected keyExists(key: IndexKey, row: Row | undefined, detail = "already exists"): ConflictError {
    const columns = this.schema.keyColumns.map((c) => c.name);
    const cells = row !== undefined ? row.slice(0, this.keyLen) : Array.isArray(key) ? key : [key];
    return new ConflictError(`${this.path}: key ${keyText(key)} ${detail}`, { table: this.path, columns, key: cells.map((c) => cellDetail(c as Cell)) });
  }

  // ---- generated keys --------------------------------------------------------------------------

  /**
   * `row` with its generated key filled in when the cell is null (key cells are never null
   * otherwise); an increment column's sequence follows every key written, generated or given.
   */
  protected withGeneratedKey(row: Row): Row {
    const p = this.generatedAt;
    const col = this.schema.columns[p]!;
    const cell = row[p];
    if (cell === null) {
      const out = row.slice();
      out[p] = col.generated === "random" ? randomUUID() : this.nextSequence(col);
      return out;
    }
    if (col.generated === "increment" && (typeof cell === "number" || typeof cell === "bigint") && cell > this.currentSequence()) this.sequence = cell;
    return row;
  }

  private currentSequence(): number | bigint {
    if (this.sequence === undefined) this.sequence = this.largestKey();
    return this.sequence;
  }

  private nextSequence(col: Column): number | bigint {
    const cur = this.currentSequence();
    let next: number | bigint = typeof cur === "bigint" || cur >= Number.MAX_SAFE_INTEGER ? BigInt(cur) + 1n : Math.max(cur, 0) + 1;
    if (typeof next === "bigint" && next <= BigInt(Number.MAX_SAFE_INTEGER)) next = Number(next);
    if (typeof next === "bigint" ? next > col.bigMax! : next > col.max) {
      throw new BadRequestError(`${this.path}: column ${JSON.stringify(col.name)} has no generated key left (the largest, ${col.bigMax ?? col.max}, was used)`);
    }
    this.sequence = next;
    return next;
  }

  /** The largest value the generated key column holds now (0 for an empty table). */
  private largestKey(): number | bigint {
    const p = this.generatedAt;
    let max: number | bigint = 0;
    const visit = (row: Row): void => {
      const c = row[p];
      if ((typeof c === "number" || typeof c === "bigint") && c > max) max = c;
    };
    if (p === 0) {
      this.scan(this.plan([], [this.schema.columns[0]!.name], true), (row) => {
        visit(row);
        return true;
      });
    } else {
      this.scan(this.plan([]), visit);
    }
    return max;
  }

  /** The rows of a bulk insert with their generated keys; then `afterInsertMany` tells the guard. */
  protected prepareRows(rows: readonly Row[]): readonly Row[] {
    return this.generatedAt >= 0 ? rows.map((r) => this.withGeneratedKey(r)) : rows;
  }

  /** Tells the guard of rows a bulk insert wrote. */
  protected afterInsertMany(rows: readonly Row[]): void {
    this.guard?.insertedMany(this, rows);
  }

  /** The rows a truncate is about to remove, when the guard must hear of them; else undefined. */
  protected rowsBeforeTruncate(): Row[] | undefined {
    return this.guard?.watchesRemovals(this) ? this.allRows() : undefined;
  }

  /** Tells the guard of the rows a truncate removed. */
  protected afterTruncate(rows: Row[] | undefined, log: WriteLog | undefined): void {
    if (rows === undefined || this.guard === undefined) return;
    for (const r of rows) this.guard.removed(this, r, log);
  }

  /** Puts a row back as it was before a change (used by rollback; never logged). */
  restoreRow(key: IndexKey, old: Row | undefined): void {
    const current = this.get(key);
    if (old === undefined) {
      if (current !== undefined) this.applyRemove(key, current);
    } else {
      this.applyWrite(key, old, current);
    }
  }

  /** Refuses, before any change, a row whose keys the store cannot hold (400). */
  protected checkWriteBytes(key: IndexKey, _row: Row): void {
    if (this.keyByteLimit !== undefined) this.checkKeyBytes(key);
  }

  /** Puts `row` (replacing `old`, if any) in the primary and secondary indexes; tells the observers. */
  protected abstract applyWrite(key: IndexKey, row: Row, old: Row | undefined): void;
  /** Takes `old` out of the indexes; tells the observers. */
  protected abstract applyRemove(key: IndexKey, old: Row): void;

  /** Refuses a key too large for the durable store (400). */
  protected checkKeyBytes(key: IndexKey): void {
    const cells = Array.isArray(key) ? key : [key];
    let bytes = 8;
    for (const c of cells) bytes += typeof c === "string" ? (c.length * 3 < 200 ? c.length * 3 : Buffer.byteLength(c)) + 2 : 10;
    if (bytes > this.keyByteLimit!) {
      throw new BadRequestError(`${this.path}: key ${keyText(key)} is too large for the durable store (${bytes} > ${this.keyByteLimit} bytes)`);
    }
  }

  // ---- planning ------------------------------------------------------------------------------

  /**
   * Picks the index that serves `constraints` (and `order`, when given) and builds the scan plan
   * (see scan-plan.ts); 400 naming the columns and the existing indexes when none does.
   */
  plan(constraints: readonly ColumnConstraint[], order?: readonly string[], reverse = false): ScanPlan {
    if (constraints.length === 0 && order === undefined && !reverse) {
      return (this.allRowsPlan ??= planScan(this.path, this.indexes, constraints));
    }
    return planScan(this.path, this.indexes, constraints, order, reverse);
  }

  /**
   * Prepares an equality lookup on `cols` (in any order): the index is picked once, by the same
   * rule as `plan`. The returned function appends to `out`, in index order, every row whose
   * `cols` equal `cells` (normalized key cells, in `cols` order).
   *
   * @example
   * ```ts
   * const byFollower = follows.equalityLookup(["follower"]);
   * const out: Row[] = [];
   * byFollower([7], out); // every follows row with follower = 7, in key order
   * ```
   */
  equalityLookup(cols: readonly string[]): EqualityLookup {
    return prepareEqualityLookup(this, cols);
  }

  // ---- structures kept beside the table --------------------------------------------------------

  /**
   * The structure registered under `key`: made by `make` from the table's rows (in primary key
   * order) the first time, and from then on told of every row change (see row-observer.ts).
   * Meant to be called once per reader binding (a traversal, a prepared lookup), not per row.
   *
   * @example
   * ```ts
   * const tally = users.derived("tally", (rows) => new RowTally(rows)); // a RowObserver
   * ```
   */
  derived<T extends RowObserver>(key: DerivedKey, make: (rows: readonly Row[]) => T): T {
    const existing = this.registered.get(key);
    if (existing !== undefined) return existing as T;
    return this.register(key, make(this.allRows()));
  }

  /** Like `derived`, but `make` reads the table itself (no array of every row is made for it). */
  derivedBy<T extends RowObserver>(key: DerivedKey, make: () => T): T {
    const existing = this.registered.get(key);
    if (existing !== undefined) return existing as T;
    return this.register(key, make());
  }

  /**
   * Like `derived`, but always makes a new structure: the one registered under `key`, if any,
   * stops hearing the table's changes and is replaced.
   */
  replaceDerived<T extends RowObserver>(key: DerivedKey, make: (rows: readonly Row[]) => T): T {
    const existing = this.registered.get(key);
    if (existing !== undefined) this.observers.splice(this.observers.indexOf(existing), 1);
    return this.register(key, make(this.allRows()));
  }

  private register<T extends RowObserver>(key: DerivedKey, structure: T): T {
    this.registered.set(key, structure);
    this.observers.push(structure);
    return structure;
  }

  /**
   * The rows of `ix` grouped by its leading column, in the order of `ix`: the hash multi-index
   * that serves equality on that one column. Registered under `ix` itself like any derived
   * structure, built on first use from the rows of `ix`, in index order.
   */
  columnGroups(ix: TableIndex): ColumnGroups {
    const existing = this.registered.get(ix);
    if (existing !== undefined) return existing as ColumnGroups;
    const keyOf = ix.primary ? (row: Row) => this.primaryKeyOf(row) : (row: Row) => secondaryKey(ix, row);
    const groups = new ColumnGroups(ix.keyPositions[0]!, {
      rowsInOrder: () => this.rowsInOrder(ix),
      keyOf,
      compare: ix.compare,
      identity: this.rowIdentity(),
    });
    return this.register(ix, groups);
  }

  // ---- telling the observers -------------------------------------------------------------------

  protected notifyWrite(old: Row | undefined, row: Row): void {
    for (const o of this.observers) {
      if (old !== undefined) o.replaced(old, row);
      else o.added(row);
    }
  }

  protected notifyRemove(old: Row): void {
    for (const o of this.observers) o.removed(old);
  }

  /** Tells every observer to start over from the table's rows (computed only when one listens). */
  protected notifyReset(rows?: readonly Row[]): void {
    if (this.observers.length === 0) return;
    const all = rows ?? this.allRows();
    for (const o of this.observers) o.reset(all);
  }
}
