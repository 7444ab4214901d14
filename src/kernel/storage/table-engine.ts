/**
 * One table in memory: its indexes (see table-index.ts), a hash map for point gets on a
 * single-column key, and every write, each reported to a `WriteLog` (the transaction's undo log)
 * before it happens and to the structures registered beside the table (`derived`, see
 * row-observer.ts) after. Reads go through scan plans (scan-plan.ts) and prepared equality
 * lookups.
 */
import { bulkLoad } from "sorted-btree/extended/bulkLoad.js";
import { BadRequestError, ConflictError } from "../../errors.js";
import { ColumnGroups } from "./column-groups.js";
import { type EqualityLookup, prepareEqualityLookup } from "./equality-lookup.js";
import { type IndexKey, type KeyCell, compareTuples, normCell } from "./index-keys.js";
import type { RowObserver } from "./row-observer.js";
import { type ColumnConstraint, type ScanPlan, planScan } from "./scan-plan.js";
import {
  NODE_SIZE,
  type TableIndex,
  type Tree,
  newTree,
  primaryIndex,
  secondaryIndexes,
  secondaryKey,
  secondaryOrder,
  sortedOrder,
} from "./table-index.js";
import { type Row, type TableSchema, checkCell, describeValue } from "./table-schema.js";

/** Fewer rows than this are inserted one by one into a non-empty table (see `insertMany`). */
const MERGE_MIN_ROWS = 256;
const BREAK = Object.freeze({ break: true });

/** Receives every change before it is applied (the transaction's undo log and write-set). */
export interface WriteLog {
  rowChanged(table: Table, key: IndexKey, old: Row | undefined): void;
  truncated(table: Table, saved: TableState): void;
  /**
   * The table's trees were rebuilt in bulk (rows bulk-loaded into an empty table, or merged into
   * a table in one rebuild); `saved` holds the previous trees.
   */
  bulkLoaded(table: Table, saved: TableState): void;
}

/** The trees of a table, saved by `truncate` and bulk loads so that a rollback can put them back. */
export interface TableState {
  readonly primary: Tree;
  readonly secondaries: readonly Tree[];
  readonly pointMap: Map<KeyCell, Row> | undefined;
}

/**
 * What a structure is registered under beside a table (see `Table.derived`): a string naming
 * the structure, or an object such as the index a hash multi-index follows.
 */
export type DerivedKey = string | object;

function keyText(key: IndexKey): string {
  return describeValue(Array.isArray(key) ? key : [key]);
}

/**
 * A table: schema, indexes and rows.
 *
 * @example
 * ```ts
 * const t = new Table("/state/app/t", parseSchema(schemaJson));
 * t.write(t.checkRow(["a", 5]), "insert", undefined);
 * t.get("a"); // ["a", 5]
 * ```
 */
export class Table {
  /** Id of the table in the durable store (assigned by the database). */
  tid = 0;
  /** True while the table is in its database's catalog (false once dropped). */
  attached = false;
  /** The durable store's key size limit in bytes (`undefined` in memory). */
  keyByteLimit: number | undefined;
  readonly primary: TableIndex;
  readonly secondaries: readonly TableIndex[];
  /** Primary first, then the secondary indexes in schema order. */
  readonly indexes: readonly TableIndex[];
  pointMap: Map<KeyCell, Row> | undefined;
  private readonly keyLen: number;
  private allRowsPlan: ScanPlan | undefined;
  /** A composite-key table without value or link columns uses its rows as primary keys. */
  private readonly rowIsKey: boolean;
  /** True when some column holds links (stored as href strings). */
  readonly hasLinks: boolean;
  /** Structures kept beside the table that hear every row change, in registration order. */
  private readonly observers: RowObserver[] = [];
  /** The same structures by the key they were registered under (see `derived`). */
  private readonly registered = new Map<DerivedKey, RowObserver>();

  constructor(
    /** The table's link, e.g. `/state/social/users`. */
    readonly path: string,
    readonly schema: TableSchema,
  ) {
    this.keyLen = schema.keyColumns.length;
    this.rowIsKey = schema.valueColumns.length === 0 && schema.keyColumns.every((c) => c.kind !== "link");
    this.hasLinks = schema.columns.some((c) => c.kind === "link");
    this.primary = primaryIndex(schema);
    this.secondaries = secondaryIndexes(schema);
    this.indexes = [this.primary, ...this.secondaries];
    this.pointMap = this.primary.scalar ? new Map() : undefined;
  }

  get size(): number {
    return this.primary.tree.size;
  }

  /** The primary tree key of a row. */
  primaryKeyOf(row: Row): IndexKey {
    if (this.keyLen === 1) return normCell(row[0]!);
    if (this.rowIsKey) return row as readonly KeyCell[];
    const key = new Array<KeyCell>(this.keyLen);
    for (let i = 0; i < this.keyLen; i++) key[i] = normCell(row[i]!);
    return key;
  }

  /** The primary tree key from normalized key cells. */
  keyFromCells(cells: readonly KeyCell[]): IndexKey {
    return this.keyLen === 1 ? cells[0]! : cells;
  }

  /** The row with this primary tree key, if any. */
  get(key: IndexKey): Row | undefined {
    if (this.pointMap !== undefined) return this.pointMap.get(key as KeyCell);
    return this.primary.tree.get(key);
  }

  /**
   * Checks a full row (arity and every cell) and returns the row to store: the given array itself
   * (rows are immutable kernel values, so no copy is needed), or a copy when a cell is `-0`.
   */
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
    for (let i = 0; i < cols.length; i++) {
      // `checkCell` stores `-0` as `0` (as SQLite does); such a row is the one row copied.
      if (checkCell(cols[i]!, raw[i], where) === 0 && Object.is(raw[i], -0)) return this.checkRow(raw.map((c) => (c === 0 ? 0 : c)), what);
    }
    return raw as Row;
  }

  /** Builds a full row from a key tuple and a values tuple (or a single value). */
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

  /**
   * Writes a checked row. `insert` refuses an existing key (409); `upsert` replaces it. Every
   * secondary index is updated; `log` hears about the change first.
   */
  write(row: Row, mode: "insert" | "upsert", log: WriteLog | undefined): void {
    const key = this.primaryKeyOf(row);
    if (this.keyByteLimit !== undefined) this.checkKeyBytes(key);
    const old = this.get(key);
    if (old !== undefined && mode === "insert") {
      throw new ConflictError(`${this.path}: key ${keyText(key)} already exists`);
    }
    log?.rowChanged(this, key, old);
    this.applyWrite(key, row, old);
  }

  private checkKeyBytes(key: IndexKey): void {
    const cells = Array.isArray(key) ? key : [key];
    let bytes = 8;
    for (const c of cells) bytes += typeof c === "string" ? (c.length * 3 < 200 ? c.length * 3 : Buffer.byteLength(c)) + 2 : 10;
    if (bytes > this.keyByteLimit!) {
      throw new BadRequestError(`${this.path}: key ${keyText(key)} is too large for the durable store (${bytes} > ${this.keyByteLimit} bytes)`);
    }
  }

  private applyWrite(key: IndexKey, row: Row, old: Row | undefined): void {
    for (const ix of this.secondaries) {
      const nk = secondaryKey(ix, row);
      if (old !== undefined) {
        const ok = secondaryKey(ix, old);
        if (compareTuples(ok, nk) !== 0) ix.tree.delete(ok);
      }
      ix.tree.set(nk, row);
    }
    this.primary.tree.set(key, row);
    this.pointMap?.set(key as KeyCell, row);
    for (const o of this.observers) {
      if (old !== undefined) o.replaced(old, row);
      else o.added(row);
    }
  }

  /** Deletes the row with this primary tree key; false when absent. */
  remove(key: IndexKey, log: WriteLog | undefined): boolean {
    const old = this.get(key);
    if (old === undefined) return false;
    log?.rowChanged(this, key, old);
    this.applyRemove(key, old);
    return true;
  }

  private applyRemove(key: IndexKey, old: Row): void {
    for (const ix of this.secondaries) ix.tree.delete(secondaryKey(ix, old));
    this.primary.tree.delete(key);
    this.pointMap?.delete(key as KeyCell);
    for (const o of this.observers) o.removed(old);
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

  /** Removes every row at once (saving the trees in the log so a rollback restores them). */
  truncate(log: WriteLog | undefined): void {
    log?.truncated(this, this.saveState());
    this.primary.tree = newTree(this.primary.compare);
    for (const ix of this.secondaries) ix.tree = newTree(ix.compare);
    if (this.pointMap) this.pointMap = new Map();
    for (const o of this.observers) o.reset([]);
  }

  private saveState(): TableState {
    return {
      primary: this.primary.tree,
      secondaries: this.secondaries.map((ix) => ix.tree),
      pointMap: this.pointMap,
    };
  }

  /** Reinstates trees saved by `truncate`. */
  restoreState(saved: TableState): void {
    this.primary.tree = saved.primary;
    this.secondaries.forEach((ix, i) => (ix.tree = saved.secondaries[i]!));
    this.pointMap = saved.pointMap;
    this.resetObservers();
  }

  private resetObservers(): void {
    if (this.observers.length === 0) return;
    const rows = this.primary.tree.valuesArray();
    for (const o of this.observers) o.reset(rows);
  }

  /**
   * The structure registered under `key`: made by `make` from the table's rows (in primary key
   * order) the first time, and from then on told of every row change (see row-observer.ts). A
   * key names one kind of structure, so the caller's `T` is the type registered under it. Meant
   * to be called once per reader binding (a traversal, a prepared lookup), not per row.
   *
   * @example
   * ```ts
   * const tally = users.derived("tally", (rows) => new RowTally(rows)); // a RowObserver
   * ```
   */
  derived<T extends RowObserver>(key: DerivedKey, make: (rows: readonly Row[]) => T): T {
    const existing = this.registered.get(key);
    if (existing !== undefined) return existing as T;
    return this.register(key, make(this.primary.tree.valuesArray()));
  }

  /**
   * Like `derived`, but always makes a new structure: the one registered under `key`, if any,
   * stops hearing the table's changes and is replaced.
   *
   * @example
   * ```ts
   * // The structure read another table that was dropped and created again: start a new one.
   * follows.replaceDerived("tally", (rows) => new RowTally(rows));
   * ```
   */
  replaceDerived<T extends RowObserver>(key: DerivedKey, make: (rows: readonly Row[]) => T): T {
    const existing = this.registered.get(key);
    if (existing !== undefined) this.observers.splice(this.observers.indexOf(existing), 1);
    return this.register(key, make(this.primary.tree.valuesArray()));
  }

  private register<T extends RowObserver>(key: DerivedKey, structure: T): T {
    this.registered.set(key, structure);
    this.observers.push(structure);
    return structure;
  }

  /**
   * The rows of `ix` grouped by its leading column, in the order of `ix`: the hash multi-index
   * that serves equality on that one column. Registered under `ix` itself like any derived
   * structure, built on first use; it reads the rows from `ix`, in index order.
   */
  columnGroups(ix: TableIndex): ColumnGroups {
    const existing = this.registered.get(ix);
    if (existing !== undefined) return existing as ColumnGroups;
    const keyOf = ix.primary ? (row: Row) => this.primaryKeyOf(row) : (row: Row) => secondaryKey(ix, row);
    return this.register(ix, new ColumnGroups(ix.keyPositions[0]!, { rowsInOrder: () => ix.tree.valuesArray(), keyOf, compare: ix.compare }));
  }

  /**
   * Inserts many checked rows. Refuses (409, nothing written) if a key exists or repeats.
   * An empty table is bulk-loaded (sorted once, trees built in O(n)); rows that are many compared
   * with the table (an eighth of it in memory, a quarter in a durable store, where a rebuild
   * rewrites the table's rows) are merged with the existing ones and the trees rebuilt, O(n + m);
   * fewer go in one by one.
   */
  insertMany(rows: readonly Row[], log: WriteLog | undefined): void {
    if (rows.length === 0) return;
    const n = rows.length;
    const keys = new Array<IndexKey>(n);
    for (let i = 0; i < n; i++) keys[i] = this.primaryKeyOf(rows[i]!);
    if (this.keyByteLimit !== undefined) for (const k of keys) this.checkKeyBytes(k);
    const cmp = this.primary.compare;
    const order = sortedOrder(keys, cmp);
    const sortedKeys = order ? order.map((i) => keys[i]!) : keys;
    const sortedRows = order ? order.map((i) => rows[i]!) : (rows as Row[]);
    for (let i = 1; order !== undefined && i < n; i++) {
      if (cmp(sortedKeys[i - 1]!, sortedKeys[i]!) === 0) {
        throw new ConflictError(`${this.path}: key ${keyText(sortedKeys[i]!)} appears twice in the inserted rows`);
      }
    }
    if (this.size === 0) {
      log?.bulkLoaded(this, this.saveState());
      this.loadSorted(sortedKeys, sortedRows);
      return;
    }
    const mergeFrom = Math.max(MERGE_MIN_ROWS, this.size >> (this.keyByteLimit === undefined ? 3 : 2));
    if (n >= mergeFrom) {
      this.mergeSorted(sortedKeys, sortedRows, log);
      return;
    }
    if (log === undefined) {
      for (const k of sortedKeys) {
        if (this.get(k) !== undefined) throw new ConflictError(`${this.path}: key ${keyText(k)} already exists`);
      }
    }
    // One descent per row: the primary insert doubles as the conflict check. On a conflict the
    // rows inserted so far are in the log, and the failed request is undone up to its start.
    const tree = this.primary.tree;
    const map = this.pointMap;
    for (let i = 0; i < n; i++) {
      const key = sortedKeys[i]!;
      const row = sortedRows[i]!;
      if (map !== undefined ? map.has(key as KeyCell) : !tree.set(key, row, false)) {
        throw new ConflictError(`${this.path}: key ${keyText(key)} already exists`);
      }
      log?.rowChanged(this, key, undefined);
      if (map !== undefined) {
        tree.set(key, row);
        map.set(key as KeyCell, row);
      }
      for (const ix of this.secondaries) ix.tree.set(secondaryKey(ix, row), row);
      for (const o of this.observers) o.added(row);
    }
  }

  /**
   * Merges rows sorted by primary key (strictly ascending) with the table's rows and rebuilds the
   * trees; a key already present is refused (409) before anything changes.
   */
  private mergeSorted(keys: readonly IndexKey[], rows: readonly Row[], log: WriteLog | undefined): void {
    const tree = this.primary.tree;
    const oldKeys = tree.keysArray();
    const oldRows = tree.valuesArray();
    const cmp = this.primary.compare;
    const total = oldKeys.length + keys.length;
    const mergedKeys = new Array<IndexKey>(total);
    const mergedRows = new Array<Row>(total);
    let i = 0;
    let j = 0;
    for (let k = 0; k < total; k++) {
      if (j >= keys.length || (i < oldKeys.length && cmp(oldKeys[i]!, keys[j]!) < 0)) {
        mergedKeys[k] = oldKeys[i]!;
        mergedRows[k] = oldRows[i++]!;
        continue;
      }
      if (i < oldKeys.length && cmp(oldKeys[i]!, keys[j]!) === 0) {
        throw new ConflictError(`${this.path}: key ${keyText(keys[j]!)} already exists`);
      }
      mergedKeys[k] = keys[j]!;
      mergedRows[k] = rows[j++]!;
    }
    log?.bulkLoaded(this, this.saveState());
    this.loadSorted(mergedKeys, mergedRows);
  }

  /**
   * Loads rows that should already be sorted by primary key and unique (a durable store's scan);
   * falls back to the checked bulk insert if they are not.
   */
  loadTrusted(rows: Row[]): void {
    if (rows.length === 0) return;
    const keys = new Array<IndexKey>(rows.length);
    for (let i = 0; i < rows.length; i++) keys[i] = this.primaryKeyOf(rows[i]!);
    try {
      this.loadSorted(keys, rows);
    } catch {
      this.insertMany(rows, undefined);
    }
  }

  /**
   * Replaces the (empty) trees with ones built from rows sorted by primary key, strictly
   * ascending. Used for bulk inserts, table literals and reopening a durable store.
   */
  loadSorted(keys: IndexKey[], rows: Row[]): void {
    this.primary.tree = bulkLoad(keys, rows, NODE_SIZE, this.primary.compare) as Tree;
    if (this.pointMap) {
      const map = new Map<KeyCell, Row>();
      for (let i = 0; i < keys.length; i++) map.set(keys[i] as KeyCell, rows[i]!);
      this.pointMap = map;
    }
    for (const ix of this.secondaries) {
      const order = secondaryOrder(ix, rows);
      const n = rows.length;
      const ixKeys = new Array<IndexKey>(n);
      const ixRows = new Array<Row>(n);
      for (let i = 0; i < n; i++) {
        const row = rows[order[i]!]!;
        ixKeys[i] = secondaryKey(ix, row);
        ixRows[i] = row;
      }
      ix.tree = bulkLoad(ixKeys, ixRows, NODE_SIZE, ix.compare) as unknown as Tree;
    }
    for (const o of this.observers) o.reset(rows);
  }

  // -------------------------------------------------------------------------------------------
  // Planning and scanning.

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
   * rule as `plan` (and a lookup no index serves fails the same way, with its 400). The returned
   * function appends to `out`, in index order, every row whose `cols` equal `cells` (normalized
   * key cells, in `cols` order) — no plan or constraint objects per call, and the B+ tree is
   * walked directly: one descent to the first match, then along the leaves while the prefix holds.
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

  /**
   * Calls `visit` for each row of the plan, in its order; `visit` returns `true` to stop.
   */
  scan(plan: ScanPlan, visit: (row: Row) => boolean | void): void {
    const filter = plan.filter;
    if (plan.point !== undefined) {
      const row = this.get(plan.point);
      if (row !== undefined && (!filter || filter(row))) visit(row);
      return;
    }
    const ix = plan.index;
    if (plan.group !== undefined) {
      const rows = this.columnGroups(ix).rowsOf(plan.group.cell);
      if (!plan.reverse) {
        for (let i = 0; i < rows.length; i++) if ((!filter || filter(rows[i]!)) && visit(rows[i]!)) return;
      } else {
        for (let i = rows.length - 1; i >= 0; i--) if ((!filter || filter(rows[i]!)) && visit(rows[i]!)) return;
      }
      return;
    }
    const tree = ix.tree;
    if (tree.size === 0) return;
    const cmp = ix.compare;
    const { low, high, lowInclusive, highInclusive } = plan;
    if (!plan.reverse) {
      const from = low === undefined ? tree.minKey()! : low;
      const to = high === undefined ? tree.maxKey()! : high;
      const includeTo = high === undefined ? true : highInclusive;
      const skipLow = low !== undefined && !lowInclusive;
      if (cmp(from, to) > 0) return;
      tree.forRange(from, to, includeTo, (k: IndexKey, row: Row) => {
        if (skipLow && cmp(k, from) === 0) return;
        if (filter && !filter(row)) return;
        if (visit(row)) return BREAK;
      });
      return;
    }
    const it = tree.entriesReversed(high, [] as unknown as [IndexKey, Row], high !== undefined && !highInclusive);
    for (let r = it.next(); !r.done; r = it.next()) {
      const k = r.value[0];
      const row = r.value[1];
      if (low !== undefined) {
        const c = cmp(k, low);
        if (c < 0 || (c === 0 && !lowInclusive)) break;
      }
      if (filter && !filter(row)) continue;
      if (visit(row)) break;
    }
  }

  /** Number of rows a plan yields (no row visits when the whole table is selected). */
  count(plan: ScanPlan): number {
    if (plan.group !== undefined && !plan.filter) return this.columnGroups(plan.index).rowsOf(plan.group.cell).length;
    if (plan.point === undefined && plan.low === undefined && plan.high === undefined && !plan.filter) {
      return plan.index.tree.size;
    }
    if (plan.point === undefined && !plan.filter) {
      // Count leaves without visiting rows one by one.
      const tree = plan.index.tree;
      if (tree.size === 0) return 0;
      const cmp = plan.index.compare;
      const from = plan.low === undefined ? tree.minKey()! : plan.low;
      const to = plan.high === undefined ? tree.maxKey()! : plan.high;
      if (cmp(from, to) > 0) return 0;
      const includeTo = plan.high === undefined ? true : plan.highInclusive;
      let n = tree.forRange(from, to, includeTo);
      // An exclusive low bound (single-column keys only) was counted if present and in range.
      if (plan.low !== undefined && !plan.lowInclusive && tree.has(plan.low) && (includeTo || cmp(from, to) < 0)) n--;
      return n;
    }
    let n = 0;
    this.scan(plan, () => {
      n++;
    });
    return n;
  }
}
