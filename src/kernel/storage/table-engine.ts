/**
 * One table in memory: the primary index (B+ tree keyed by the key columns, ordered key ++ values),
 * secondary indexes (listed columns ++ key columns → row), a hash map for point gets on a
 * single-column key, the index-support rule, scan plans and every write, each reported to a
 * `WriteLog` (the transaction's undo log) before it happens.
 */
import BTreeImport from "sorted-btree";
import { bulkLoad } from "sorted-btree/extended/bulkLoad.js";
import { BadRequestError, ConflictError } from "../../errors.js";
import type { ColumnConstraint } from "../state/selector.js";
import { ColumnGroups } from "./column-groups.js";
import type { RowObserver } from "./row-observer.js";
import { type IndexKey, type KeyCell, MAX, compareCells, compareTuples, normCell } from "./index-keys.js";
import { type Column, type Row, type TableSchema, checkCell, describeValue } from "./table-schema.js";

// sorted-btree is CommonJS with `exports.default`; depending on the loader the default import is
// the class itself or the module object.
type BTreeClass = typeof BTreeImport.default;
const BTree: BTreeClass =
  (BTreeImport as unknown as { default?: BTreeClass }).default ?? (BTreeImport as unknown as BTreeClass);
type Tree = BTreeImport.default<IndexKey, Row>;
const NODE_SIZE = 64;
/** Fewer rows than this are inserted one by one into a non-empty table (see `insertMany`). */
const MERGE_MIN_ROWS = 256;
const BREAK = Object.freeze({ break: true });

type Compare = (a: IndexKey, b: IndexKey) => number;

/** An index of a table. The primary index's tree is keyed by the key columns only. */
export interface TableIndex {
  readonly name: string;
  readonly primary: boolean;
  /** The columns the index-support rule walks (primary: key ++ values; secondary: listed ++ key). */
  readonly columns: readonly Column[];
  /** Row positions that form the tree key. */
  readonly keyPositions: readonly number[];
  /** True when the tree key is one bare cell (a primary index on a single key column). */
  readonly scalar: boolean;
  /** Number of listed columns (secondary) or key columns (primary) leading the tree key. */
  readonly listed: number;
  readonly compare: Compare;
  tree: Tree;
}

/** How to read rows: a key range on one index, an optional residual filter, a direction. */
export interface ScanPlan {
  readonly index: TableIndex;
  /** Exact primary key when the selector names one row. */
  readonly point: IndexKey | undefined;
  /**
   * Set when the plan is equality on the one column leading a tuple-keyed index and nothing else
   * on the tree key: the rows are that column's group in the index's hash multi-index (same rows,
   * same order as the key range `low`..`high`, without a tree descent).
   */
  readonly group: { readonly cell: KeyCell } | undefined;
  readonly low: IndexKey | undefined;
  readonly lowInclusive: boolean;
  readonly high: IndexKey | undefined;
  readonly highInclusive: boolean;
  readonly filter: ((row: Row) => boolean) | undefined;
  readonly reverse: boolean;
  readonly constraints: readonly ColumnConstraint[];
  /** Columns the plan was asked to order by (`undefined` = the index's natural order). */
  readonly order: readonly string[] | undefined;
}

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

/** The trees of a table, saved by `truncate` so that a rollback can put them back. */
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

function newTree(compare: Compare): Tree {
  return new BTree<IndexKey, Row>(undefined, compare, NODE_SIZE);
}

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
    const scalar = this.keyLen === 1;
    const primaryCompare = (scalar ? compareCells : compareTuples) as Compare;
    this.primary = {
      name: "primary",
      primary: true,
      columns: schema.columns,
      keyPositions: schema.keyColumns.map((c) => c.position),
      scalar,
      listed: this.keyLen,
      compare: primaryCompare,
      tree: newTree(primaryCompare),
    };
    this.secondaries = schema.indices.map((def) => {
      const listed = def.columns.map((n) => schema.column(n)!);
      const columns = [...listed, ...schema.keyColumns.filter((k) => !def.columns.includes(k.name))];
      return {
        name: def.name,
        primary: false,
        columns,
        keyPositions: columns.map((c) => c.position),
        scalar: false,
        listed: listed.length,
        compare: compareTuples as Compare,
        tree: newTree(compareTuples as Compare),
      };
    });
    this.indexes = [this.primary, ...this.secondaries];
    this.pointMap = scalar ? new Map() : undefined;
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
   * (rows are immutable kernel values, so no copy is needed).
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
    for (let i = 0; i < cols.length; i++) checkCell(cols[i]!, raw[i], where);
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

  private secondaryKey(ix: TableIndex, row: Row): KeyCell[] {
    const pos = ix.keyPositions;
    const key = new Array<KeyCell>(pos.length);
    for (let i = 0; i < pos.length; i++) key[i] = normCell(row[pos[i]!]!);
    return key;
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
      const nk = this.secondaryKey(ix, row);
      if (old !== undefined) {
        const ok = this.secondaryKey(ix, old);
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
    for (const ix of this.secondaries) ix.tree.delete(this.secondaryKey(ix, old));
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
  private columnGroups(ix: TableIndex): ColumnGroups {
    const existing = this.registered.get(ix);
    if (existing !== undefined) return existing as ColumnGroups;
    const keyOf = ix.primary ? (row: Row) => this.primaryKeyOf(row) : (row: Row) => this.secondaryKey(ix, row);
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
      for (const ix of this.secondaries) ix.tree.set(this.secondaryKey(ix, row), row);
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
        ixKeys[i] = this.secondaryKey(ix, row);
        ixRows[i] = row;
      }
      ix.tree = bulkLoad(ixKeys, ixRows, NODE_SIZE, ix.compare) as unknown as Tree;
    }
    for (const o of this.observers) o.reset(rows);
  }

  // -------------------------------------------------------------------------------------------
  // Planning and scanning.

  private supportedPrefix(ix: TableIndex, byName: Map<string, ColumnConstraint>): number {
    let covered = 0;
    for (const col of ix.columns) {
      const c = byName.get(col.name);
      if (!c) break;
      covered++;
      if (!c.eq) break;
    }
    return covered === byName.size ? covered : -1;
  }

  private orderSupported(ix: TableIndex, byName: Map<string, ColumnConstraint>, order: readonly string[]): boolean {
    let e = 0;
    while (e < ix.columns.length && byName.get(ix.columns[e]!.name)?.eq) e++;
    let start = 0;
    while (start < order.length && byName.get(order[start]!)?.eq) start++;
    for (let i = start; i < order.length; i++) {
      const col = ix.columns[e + i - start];
      if (!col || col.name !== order[i]) return false;
    }
    return true;
  }

  /** Lists the indexes, for error messages: `primary (name, views), views (views, name)`. */
  describeIndexes(): string {
    return this.indexes.map((ix) => `${ix.name} (${ix.columns.map((c) => c.name).join(", ")})`).join(", ");
  }

  /**
   * Picks the index that serves `constraints` (and `order`, when given) and builds the scan plan;
   * 400 naming the columns and the existing indexes when none does.
   */
  plan(constraints: readonly ColumnConstraint[], order?: readonly string[], reverse = false): ScanPlan {
    if (constraints.length === 0 && order === undefined && !reverse) {
      return (this.allRowsPlan ??= this.buildPlan(this.primary, new Map(), 0, constraints, undefined, false));
    }
    const byName = new Map(constraints.map((c) => [c.column.name, c]));
    for (const ix of this.indexes) {
      const covered = this.supportedPrefix(ix, byName);
      if (covered < 0) continue;
      if (order !== undefined && !this.orderSupported(ix, byName, order)) continue;
      return this.buildPlan(ix, byName, covered, constraints, order, reverse);
    }
    const cols = constraints.map((c) => `${c.column.name}${c.eq ? " (equality)" : " (range)"}`).join(", ");
    const what = order === undefined ? `a selector on ${cols}` : constraints.length ? `a selector on ${cols} ordered by (${order.join(", ")})` : `ordering by (${order.join(", ")})`;
    throw new BadRequestError(
      `${this.path} has no index which supports ${what}; a range needs equality on a prefix of one index's columns, then at most one range on the next; indexes: ${this.describeIndexes()}`,
    );
  }

  private buildPlan(
    ix: TableIndex,
    byName: Map<string, ColumnConstraint>,
    covered: number,
    constraints: readonly ColumnConstraint[],
    order: readonly string[] | undefined,
    reverse: boolean,
  ): ScanPlan {
    const treeLen = ix.keyPositions.length;
    const prefix: KeyCell[] = [];
    let range: ColumnConstraint | undefined;
    const residual: ColumnConstraint[] = [];
    for (let i = 0; i < covered; i++) {
      const c = byName.get(ix.columns[i]!.name)!;
      if (i >= treeLen) residual.push(c);
      else if (c.eq) prefix.push(c.value!);
      else range = c;
    }
    const filter = residual.length ? rowFilter(residual) : undefined;
    if (ix.scalar) {
      if (prefix.length === 1) return planOf(ix, prefix[0]!, undefined, prefix[0]!, true, prefix[0]!, true, filter, reverse, constraints, order);
      return planOf(ix, undefined, undefined, range?.lo?.value, range?.lo?.inclusive ?? true, range?.hi?.value, range?.hi?.inclusive ?? true, filter, reverse, constraints, order);
    }
    const point = ix.primary && prefix.length === treeLen ? prefix : undefined;
    if (prefix.length === 1 && range === undefined && treeLen > 1) {
      return planOf(ix, undefined, { cell: prefix[0]! }, prefix, true, [...prefix, MAX], false, filter, reverse, constraints, order);
    }
    let low: IndexKey | undefined = prefix.length ? prefix : undefined;
    let high: IndexKey | undefined = prefix.length ? [...prefix, MAX] : undefined;
    if (range?.lo) low = range.lo.inclusive ? [...prefix, range.lo.value] : [...prefix, range.lo.value, MAX];
    if (range?.hi) high = range.hi.inclusive ? [...prefix, range.hi.value, MAX] : [...prefix, range.hi.value];
    return planOf(ix, point, undefined, low, true, high, false, filter, reverse, constraints, order);
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
    const n = cols.length;
    const constraints: ColumnConstraint[] = cols.map((name) => {
      const column = this.schema.column(name);
      if (!column) throw new BadRequestError(`${this.path} has no column ${name}`);
      return { column, eq: true, value: null };
    });
    const probe = this.plan(constraints);
    const ix = probe.index;
    const treeLen = ix.keyPositions.length;
    if (n > treeLen || new Set(cols).size !== n) {
      // Columns past the tree key (a residual filter) or a repeated column: the general path.
      return (cells, out) => {
        const cs: ColumnConstraint[] = new Array(n);
        for (let i = 0; i < n; i++) cs[i] = { column: constraints[i]!.column, eq: true, value: cells[i]! };
        this.scan(this.plan(cs), (row) => {
          out.push(row);
        });
      };
    }
    // `perm[j]` = the position in `cols` of the index's j-th column.
    const perm = ix.columns.slice(0, n).map((c) => cols.indexOf(c.name));
    if (ix.scalar) {
      // A single-column primary key: a point get (hash map when present).
      return (cells, out) => {
        const row = this.get(cells[0]!);
        if (row !== undefined) out.push(row);
      };
    }
    if (ix.primary && n === treeLen) {
      const key = new Array<KeyCell>(n);
      return (cells, out) => {
        for (let j = 0; j < n; j++) key[j] = cells[perm[j]!]!;
        const row = ix.tree.get(key);
        if (row !== undefined) out.push(row);
      };
    }
    if (n === 1) {
      // One column leading a tuple-keyed index (a foreign key): the hash multi-index.
      return (cells, out) => {
        const rows = this.columnGroups(ix).rowsOf(cells[0]!);
        for (let i = 0; i < rows.length; i++) out.push(rows[i]!);
      };
    }
    const prefix = new Array<KeyCell>(n);
    const rowPositions = ix.keyPositions.slice(0, n);
    return (cells, out) => {
      for (let j = 0; j < n; j++) prefix[j] = cells[perm[j]!]!;
      prefixRange(ix.tree, prefix, rowPositions, out);
    };
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

/** Appends to `out` the rows of an equality-prefix lookup (see `Table.equalityLookup`). */
export type EqualityLookup = (cells: readonly KeyCell[], out: Row[]) => void;

/**
 * sorted-btree's node layout (its internals, stable in the pinned version): a leaf holds sorted
 * `keys` and their `values`; an internal node holds `children` and, per child, its largest key.
 */
interface TreeNode {
  readonly keys: IndexKey[];
  readonly values: Row[];
  readonly children: TreeNode[] | undefined;
}

/** Compares a tuple key's first `prefix.length` cells with `prefix` (numbers compared inline). */
function comparePrefix(key: readonly KeyCell[], prefix: readonly KeyCell[]): number {
  for (let i = 0; i < prefix.length; i++) {
    const a = key[i]!;
    const b = prefix[i]!;
    if (a === b) continue;
    if (typeof a === "number" && typeof b === "number") return a < b ? -1 : 1;
    const c = compareCells(a, b);
    if (c !== 0) return c;
  }
  return 0;
}

/** True when the row's cells at `positions` (normalized) equal `prefix`. */
function rowHasPrefix(row: Row, positions: readonly number[], prefix: readonly KeyCell[]): boolean {
  for (let i = 0; i < prefix.length; i++) {
    const a = row[positions[i]!]!;
    const b = prefix[i]!;
    if (a === b) continue;
    if (compareCells(normCell(a), b) !== 0) return false;
  }
  return true;
}

// Scratch stack of the leaf walk (never re-entered: the walk calls no user code).
const walkNodes: TreeNode[] = [];
const walkIndex: number[] = [];

/** The first position in a node's sorted `keys` whose key is >= `prefix` (compared on the prefix). */
function firstAtLeast(keys: readonly (readonly KeyCell[])[], prefix: readonly KeyCell[]): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (comparePrefix(keys[mid]!, prefix) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Appends to `out` the values of every key of a tuple-keyed tree that starts with `prefix`, in
 * order: one descent to the first key >= prefix, then leaf by leaf while the prefix matches.
 */
function prefixRange(tree: Tree, prefix: readonly KeyCell[], rowPositions: readonly number[], out: Row[]): void {
  if (tree.size === 0) return;
  let node = (tree as unknown as { _root: TreeNode })._root;
  let depth = 0;
  // Descend: the first child whose largest key is >= prefix.
  while (node.children !== undefined) {
    const keys = node.keys as (readonly KeyCell[])[];
    const lo = firstAtLeast(keys, prefix);
    if (lo === keys.length) return;
    walkNodes[depth] = node;
    walkIndex[depth] = lo;
    depth++;
    node = node.children[lo]!;
  }
  let keys = node.keys as (readonly KeyCell[])[];
  const lo = firstAtLeast(keys, prefix);
  // Entries are in key order and every one before `lo` is < prefix, so from here on the walk
  // only checks equality — on the rows (which the caller reads anyway), so a secondary index's
  // separate key tuples stay untouched.
  let i = lo;
  for (;;) {
    const values = node.values;
    for (; i < keys.length; i++) {
      const row = values[i]!;
      if (!rowHasPrefix(row, rowPositions, prefix)) return;
      out.push(row);
    }
    // The next leaf: up to the nearest ancestor with a right sibling, then leftmost down.
    let d = depth - 1;
    while (d >= 0 && walkIndex[d]! + 1 >= walkNodes[d]!.children!.length) d--;
    if (d < 0) return;
    walkIndex[d]!++;
    node = walkNodes[d]!.children![walkIndex[d]!]!;
    depth = d + 1;
    while (node.children !== undefined) {
      walkNodes[depth] = node;
      walkIndex[depth] = 0;
      depth++;
      node = node.children[0]!;
    }
    keys = node.keys as (readonly KeyCell[])[];
    i = 0;
  }
}

/** True when `row` satisfies every constraint. */
export function rowMatches(constraints: readonly ColumnConstraint[], row: Row): boolean {
  return constraints.length === 0 || rowFilter(constraints)(row);
}

/** A scan plan; every plan has the same object shape (`group` present even when unset). */
function planOf(
  index: TableIndex,
  point: IndexKey | undefined,
  group: { readonly cell: KeyCell } | undefined,
  low: IndexKey | undefined,
  lowInclusive: boolean,
  high: IndexKey | undefined,
  highInclusive: boolean,
  filter: ((row: Row) => boolean) | undefined,
  reverse: boolean,
  constraints: readonly ColumnConstraint[],
  order: readonly string[] | undefined,
): ScanPlan {
  return { index, point, group, low, lowInclusive, high, highInclusive, filter, reverse, constraints, order };
}

function rowFilter(residual: readonly ColumnConstraint[]): (row: Row) => boolean {
  return (row) => {
    for (const c of residual) {
      const v = normCell(row[c.column.position]!);
      if (c.eq) {
        if (compareCells(v, c.value!) !== 0) return false;
        continue;
      }
      if (c.lo) {
        const d = compareCells(v, c.lo.value);
        if (d < 0 || (d === 0 && !c.lo.inclusive)) return false;
      }
      if (c.hi) {
        const d = compareCells(v, c.hi.value);
        if (d > 0 || (d === 0 && !c.hi.inclusive)) return false;
      }
    }
    return true;
  };
}

/**
 * Positions of `keys` in ascending order, or `undefined` when they are *strictly* ascending
 * already (then they hold no duplicates either).
 */
function sortedOrder(keys: readonly IndexKey[], cmp: Compare): number[] | undefined {
  let sorted = true;
  for (let i = 1; i < keys.length; i++) {
    if (cmp(keys[i - 1]!, keys[i]!) >= 0) {
      sorted = false;
      break;
    }
  }
  if (sorted) return undefined;
  const order = Array.from({ length: keys.length }, (_, i) => i);
  return order.sort((a, b) => cmp(keys[a]!, keys[b]!));
}

/**
 * The order of `rows` (sorted by primary key) in a secondary index. The index key is the listed
 * columns then the remaining key columns, so a *stable* sort by the listed columns is enough;
 * with one listed column that is a counting sort over its distinct values.
 */
function secondaryOrder(ix: TableIndex, rows: readonly Row[]): ArrayLike<number> {
  const n = rows.length;
  if (ix.listed !== 1) {
    const keys = rows.map((r) => ix.keyPositions.map((p) => normCell(r[p]!)));
    return sortedOrder(keys, ix.compare) ?? Array.from({ length: n }, (_, i) => i);
  }
  const pos = ix.keyPositions[0]!;
  const values = new Array<KeyCell>(n);
  // Small-range integers (ids, ages, counts): a counting sort over a typed array.
  let min = Infinity;
  let max = -Infinity;
  let smallInts = true;
  for (let i = 0; i < n; i++) {
    const v = normCell(rows[i]![pos]!);
    values[i] = v;
    if (smallInts) {
      if (typeof v === "number" && Number.isInteger(v)) {
        if (v < min) min = v;
        if (v > max) max = v;
      } else smallInts = false;
    }
  }
  if (smallInts && max - min <= 2 * n + 1024) {
    const starts = new Uint32Array(max - min + 2);
    for (let i = 0; i < n; i++) starts[(values[i] as number) - min + 1]!++;
    for (let k = 1; k < starts.length; k++) starts[k]! += starts[k - 1]!;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[starts[(values[i] as number) - min]!++] = i;
    return order;
  }
  const counts = new Map<KeyCell, number>();
  let allNumbers = true;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    counts.set(v, (counts.get(v) ?? 0) + 1);
    if (typeof v !== "number") allNumbers = false;
  }
  const distinct: KeyCell[] = allNumbers
    ? Array.from(Float64Array.from(counts.keys() as Iterable<number>).sort())
    : [...counts.keys()].sort(compareCells);
  let offset = 0;
  for (const v of distinct) {
    const c = counts.get(v)!;
    counts.set(v, offset);
    offset += c;
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const at = counts.get(v)!;
    order[at] = i;
    counts.set(v, at + 1);
  }
  return order;
}
