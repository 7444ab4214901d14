/**
 * The indexes of a table: the primary index (B+ tree keyed by the key columns, ordered key ++
 * values) and the secondary indexes (listed columns ++ the remaining key columns → row), their
 * tree keys, the orders a bulk load builds them in, and a secondary index merged anew after many
 * rows changed (`mergedSecondary`).
 */
import BTreeImport from "sorted-btree";
import { bulkLoad } from "sorted-btree/extended/bulkLoad.js";
import { type IndexKey, type KeyCell, compareCells, compareTuples, normCell } from "./index-keys.js";
import { forEachLeaf, type Tree } from "./prefix-walk.js";
import type { Column, Row, TableSchema } from "./table-schema.js";

// sorted-btree is CommonJS with `exports.default`; depending on the loader the default import is
// the class itself or the module object.
type BTreeClass = typeof BTreeImport.default;
const BTree: BTreeClass =
  (BTreeImport as unknown as { default?: BTreeClass }).default ?? (BTreeImport as unknown as BTreeClass);
export type { Tree } from "./prefix-walk.js";
/** The B+ trees' node size (also used by bulk loads). */
export const NODE_SIZE = 64;

export type Compare = (a: IndexKey, b: IndexKey) => number;

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

/** An empty tree in the given key order. */
export function newTree(compare: Compare): Tree {
  return new BTree<IndexKey, Row>(undefined, compare, NODE_SIZE);
}

/** The order `bulkLoad` checks keys in when the caller has made them ascending: every pair is. */
const ASCENDING = (): number => -1;

/**
 * A tree of `keys` → `rows` in the `compare` order, built by `bulkLoad` but without its check of
 * the order (a compare per key, about a fifth of an index build): the caller made `keys` strictly
 * ascending. The nodes are loaded under `ASCENDING`, then become the root of a tree of `compare`.
 */
export function loadAscending(keys: IndexKey[], rows: Row[], compare: Compare): Tree {
  const tree = newTree(compare);
  (tree as unknown as { _root: unknown })._root = (bulkLoad(keys, rows, NODE_SIZE, ASCENDING) as unknown as { _root: unknown })._root;
  return tree;
}

/**
 * The primary index of a schema: keyed by the bare cell for a one-column key, by the key tuple
 * otherwise.
 *
 * @example
 * ```ts
 * const primary = primaryIndex(schema);
 * primary.tree.get(7); // the row with key 7 (one-column key)
 * ```
 */
export function primaryIndex(schema: TableSchema): TableIndex {
  const scalar = schema.keyColumns.length === 1;
  const compare = (scalar ? compareCells : compareTuples) as Compare;
  return {
    name: "primary",
    primary: true,
    columns: schema.columns,
    keyPositions: schema.keyColumns.map((c) => c.position),
    scalar,
    listed: schema.keyColumns.length,
    compare,
    tree: newTree(compare),
  };
}

/**
 * The secondary indexes of a schema, in schema order: each keyed by its listed columns then the
 * key columns it does not list.
 *
 * @example
 * ```ts
 * const [byAuthor] = secondaryIndexes(posts.schema); // columns (author, id)
 * ```
 */
export function secondaryIndexes(schema: TableSchema): TableIndex[] {
  return schema.indices.map((def) => {
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
}

/** The tree key of a row in a secondary index (a new tuple of normalized cells). */
export function secondaryKey(ix: TableIndex, row: Row): KeyCell[] {
  const pos = ix.keyPositions;
  // literals for the usual widths: packed arrays, cheaper to make than filled `new Array(n)`
  if (pos.length === 2) return [normCell(row[pos[0]!]!), normCell(row[pos[1]!]!)];
  if (pos.length === 3) return [normCell(row[pos[0]!]!), normCell(row[pos[1]!]!), normCell(row[pos[2]!]!)];
  const key = new Array<KeyCell>(pos.length);
  for (let i = 0; i < pos.length; i++) key[i] = normCell(row[pos[i]!]!);
  return key;
}

/**
 * Positions of `keys` in ascending order, or `undefined` when they are *strictly* ascending
 * already (then they hold no duplicates either).
 *
 * @example
 * ```ts
 * sortedOrder([1, 3, 2], compareCells); // [0, 2, 1]
 * sortedOrder([1, 2, 3], compareCells); // undefined
 * ```
 */
export function sortedOrder(keys: readonly IndexKey[], cmp: Compare): number[] | undefined {
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

const NO_ROWS: readonly Row[] = [];

/** Rows of one range write in primary key order, with their keys (`rows` beside `olds`). */
export interface SortedBatch {
  readonly keys: IndexKey[];
  readonly olds: readonly Row[];
  readonly rows: readonly Row[];
}

/**
 * `olds` (and `rows`, beside them) in primary key order, with their keys.
 *
 * @example
 * ```ts
 * const { keys, olds, rows } = sortedBatch(table.primary, (r) => table.primaryKeyOf(r), read, updated);
 * ```
 */
export function sortedBatch(primary: TableIndex, keyOf: (row: Row) => IndexKey, olds: readonly Row[], rows: readonly Row[] | undefined): SortedBatch {
  const n = olds.length;
  const keys = new Array<IndexKey>(n);
  for (let i = 0; i < n; i++) keys[i] = keyOf(olds[i]!);
  const order = sortedOrder(keys, primary.compare);
  if (order === undefined) return { keys, olds, rows: rows ?? NO_ROWS };
  return { keys: order.map((i) => keys[i]!), olds: order.map((i) => olds[i]!), rows: rows === undefined ? NO_ROWS : order.map((i) => rows[i]!) };
}

/**
 * The order of `rows` (sorted by primary key) in a secondary index. The index key is the listed
 * columns then the remaining key columns, so a *stable* sort by the listed columns is enough;
 * with one listed column that is a counting sort over its distinct values.
 *
 * @example
 * ```ts
 * const order = secondaryOrder(byAuthor, rowsByKey); // rowsByKey[order[0]] leads the index
 * ```
 */
export function secondaryOrder(ix: TableIndex, rows: readonly Row[]): ArrayLike<number> {
  const n = rows.length;
  if (n === 0) return new Uint32Array(0);
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
  if (smallInts && (max - min + 1) * n <= Number.MAX_SAFE_INTEGER) {
    // Integers over a wide range: each row's value and position packed in one exact double
    // ((value - min) × n + position), sorted natively; ties keep row order.
    const packed = new Float64Array(n);
    for (let i = 0; i < n; i++) packed[i] = ((values[i] as number) - min) * n + i;
    packed.sort();
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = packed[i]! % n;
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

/**
 * The order that sorts `keys`, index `ix`'s keys made from rows in primary key order: the order
 * `secondaryOrder` gives those rows (a stable sort by the listed cells), read off the keys
 * themselves.
 */
export function secondaryKeyOrder(ix: TableIndex, keys: readonly (readonly KeyCell[])[]): ArrayLike<number> {
  return secondaryOrder({ ...ix, keyPositions: ix.keyPositions.map((_, i) => i) }, keys as unknown as Row[]);
}

/**
 * The entries of `rows` (in primary key order) in index `ix`: their keys and rows in index order.
 * The keys are made in row order and then put in order (`secondaryKeyOrder`): made in index
 * order, each would read a row at a scattered place (about 3× slower over 1M rows).
 *
 * @example
 * ```ts
 * const { keys, rows } = sortedEntries(byAuthor, rowsByKey); // keys[0] leads by_author
 * ```
 */
export function sortedEntries(ix: TableIndex, rows: readonly Row[]): { keys: IndexKey[]; rows: Row[] } {
  const n = rows.length;
  const made = new Array<KeyCell[]>(n);
  for (let i = 0; i < n; i++) made[i] = secondaryKey(ix, rows[i]!);
  const order = secondaryKeyOrder(ix, made);
  const keys = new Array<IndexKey>(n);
  const inOrder = new Array<Row>(n);
  for (let i = 0; i < n; i++) {
    const at = order[i]!;
    keys[i] = made[at]!;
    inOrder[i] = rows[at]!;
  }
  return { keys, rows: inOrder };
}

/** Fewer rows than this put their entries in in row order (see `putEntries`). */
const SORT_ENTRIES_FROM = 16;

/**
 * Puts the entries of `rows` (in primary key order) into secondary index `ix`, in the index's
 * order: the descents of consecutive entries then share most of their path from the root, where
 * the primary order scatters them over the tree (a load of 10k-row chunks into a table indexed
 * on a scattered column: 20–35% faster at 1M rows, 27% at 5M).
 *
 * @example
 * ```ts
 * putEntries(byAuthor, newRowsByKey); // each row now listed in by_author
 * ```
 */
export function putEntries(ix: TableIndex, rows: readonly Row[]): void {
  const tree = ix.tree;
  if (rows.length < SORT_ENTRIES_FROM) {
    for (const row of rows) tree.set(secondaryKey(ix, row), row);
    return;
  }
  const entries = sortedEntries(ix, rows);
  for (let i = 0; i < rows.length; i++) tree.set(entries.keys[i]!, entries.rows[i]!);
}

/**
 * The tree of secondary index `ix` after many of the table's rows changed at once (a range
 * update, a bulk insert): its entries that `drop` picks left out, and entries for `added`
 * (rows in primary key order) merged in. The kept entries are read in order from the leaves and
 * never sorted; only `added` is (see `secondaryOrder`), so this is O(n + m log m) with no
 * per-entry tree descent, where changing each entry in place costs two descents per row.
 *
 * @example
 * ```ts
 * const gone = new Set(oldRows);
 * ix.tree = mergedSecondary(ix, (_key, row) => gone.has(row), newRows); // a range update of many rows
 * ```
 */
export function mergedSecondary(ix: TableIndex, drop: ((key: IndexKey, row: Row) => boolean) | undefined, added: readonly Row[]): Tree {
  const m = added.length;
  const { keys: addKeys, rows: addRows } = sortedEntries(ix, added);
  const cmp = ix.compare;
  // The kept entries are read leaf by leaf and merged as they come, into arrays made once.
  const total = ix.tree.size + m;
  const keys = new Array<IndexKey>(total);
  const rows = new Array<Row>(total);
  let w = 0;
  let j = 0;
  forEachLeaf(ix.tree, (lk, lv) => {
    for (let i = 0; i < lk.length; i++) {
      const k = lk[i]!;
      const r = lv[i]!;
      if (drop !== undefined && drop(k, r)) continue;
      while (j < m && cmp(addKeys[j]!, k) < 0) {
        keys[w] = addKeys[j]!;
        rows[w++] = addRows[j++]!;
      }
      keys[w] = k;
      rows[w++] = r;
    }
  });
  while (j < m) {
    keys[w] = addKeys[j]!;
    rows[w++] = addRows[j++]!;
  }
  keys.length = w;
  rows.length = w;
  return bulkLoad(keys, rows, NODE_SIZE, cmp) as unknown as Tree;
}
