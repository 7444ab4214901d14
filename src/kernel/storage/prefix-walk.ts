/**
 * The equality-prefix walk over a tuple-keyed B+ tree: one descent to the first key that starts
 * with the prefix, then along the leaves while it holds. It reads sorted-btree's nodes directly,
 * so an equality lookup allocates nothing per call (no iterator, no bound tuples).
 */
import { type IndexKey, type KeyCell, compareCells, normCell } from "./index-keys.js";
import type BTreeImport from "sorted-btree";
import type { Row } from "./table-schema.js";

/** A B+ tree of index keys to rows (sorted-btree), as the table indexes keep them (table-index.ts). */
export type Tree = BTreeImport.default<IndexKey, Row>;

/**
 * sorted-btree's node layout (its internals, stable in the pinned version): a leaf holds sorted
 * `keys` and their `values`; an internal node holds `children` and, per child, its largest key.
 */
export interface TreeNode {
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
 *
 * @example
 * ```ts
 * const out: Row[] = [];
 * prefixRange(byAuthor.tree, [7], [2], out); // the posts with author (row position 2) = 7
 * ```
 */
export function prefixRange(tree: Tree, prefix: readonly KeyCell[], rowPositions: readonly number[], out: Row[]): void {
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

/**
 * Visits every value of a tree in key order, leaf by leaf (no key comparisons, no range bounds);
 * stops when `visit` answers true. The whole-table scan: sorted-btree's `forRange` compares and
 * checks each entry's callback result, which a walk without bounds does not need.
 *
 * @example
 * ```ts
 * forEachValue(table.primary.tree, (row) => void rows.push(row));
 * ```
 */
export function forEachValue(tree: Tree, visit: (row: Row) => boolean | void): void {
  forEachLeaf(tree, (_keys, values) => {
    for (let i = 0; i < values.length; i++) if (visit(values[i]!)) return true;
    return false;
  });
}

/** The values of `tree` in key order, by one walk of its leaves (`valuesArray` is 3–5× slower). */
export function treeValues(tree: Tree): Row[] {
  const out = new Array<Row>(tree.size);
  let i = 0;
  forEachValue(tree, (row) => void (out[i++] = row));
  return out;
}

/**
 * Visits every leaf of a tree in key order, its sorted `keys` and their `values` (to read, not to
 * change); stops when `visit` answers true.
 *
 * @example
 * ```ts
 * forEachLeaf(ix.tree, (keys, rows) => void keys.forEach((k, i) => out.set(k, rows[i]!)));
 * ```
 */
export function forEachLeaf(tree: Tree, visit: (keys: readonly IndexKey[], values: readonly Row[]) => boolean | void): void {
  if (tree.size === 0) return;
  walkLeaves((tree as unknown as { _root: TreeNode })._root, visit);
}

function walkLeaves(node: TreeNode, visit: (keys: readonly IndexKey[], values: readonly Row[]) => boolean | void): boolean {
  const children = node.children;
  if (children === undefined) return visit(node.keys, node.values) === true;
  for (let i = 0; i < children.length; i++) if (walkLeaves(children[i]!, visit)) return true;
  return false;
}
