/**
 * Taking many entries out of a B+ tree in one walk. sorted-btree's own way (`editRange` returning
 * `{delete: true}`) splices each entry out of its leaf: a copy of the leaf's tail and a new array
 * per entry, twice (keys and values). Here each leaf of the walked span is compacted once, and the
 * nodes above are fixed up as `editRange` fixes them (each child's largest key and the subtree
 * sizes, underfull children merged with a neighbour, empty ones dropped, a root left with one
 * child replaced by it), so the tree is one sorted-btree would have made by the same deletions.
 *
 * It reads and writes sorted-btree's nodes directly (as prefix-walk.ts reads them): their layout
 * and methods are those of the version package.json pins exactly (2.1.0). Shared nodes (a tree
 * `clone()`d for a snapshot) are copied before they change, as `editRange` copies them.
 */
import type { IndexKey } from "./index-keys.js";
import type { TreeNode } from "./prefix-walk.js";
import type { Compare, Tree } from "./table-index.js";
import type { Row } from "./table-schema.js";

/** A sorted-btree node (prefix-walk.ts `TreeNode`) with the fields and methods the walks use. */
interface Node extends TreeNode {
  readonly children: Node[] | undefined;
  isShared: boolean | undefined;
  _size: number;
  clone(): Node;
  maxKey(): IndexKey;
  indexOf(key: IndexKey, failXor: number, cmp: Compare): number;
  tryMerge(i: number, maxSize: number): boolean;
}

/** The fields of a sorted-btree tree that the walk reads and replaces. */
interface TreeFields {
  _root: Node;
  readonly _compare: Compare;
  readonly _maxNodeSize: number;
}

/**
 * Removes every entry with a key in [`low`, `high`] (both included) for which `drop(key, row)`
 * says true, in one walk of that span; returns how many were removed. `drop` must not change the
 * tree.
 *
 * @example
 * ```ts
 * const gone = new Set(rows);
 * pruneRange(ix.tree, ix.tree.minKey()!, ix.tree.maxKey()!, (_k, row) => gone.has(row));
 * ```
 */
export function pruneRange(tree: Tree, low: IndexKey, high: IndexKey, drop: (key: IndexKey, row: Row) => boolean): number {
  const t = tree as unknown as TreeFields;
  if (tree.size === 0 || t._compare(low, high) > 0) return 0;
  return settleRoot(tree, pruneSpan(ownRoot(t), low, high, t, drop));
}

/** `pruneLeaf` or `pruneInternal`, as `node` is a leaf or not. */
function pruneSpan(node: Node, low: IndexKey, high: IndexKey, t: TreeFields, drop: (key: IndexKey, row: Row) => boolean): number {
  return node.children === undefined ? pruneLeaf(node, low, high, t._compare, drop) : pruneInternal(node, low, high, t, drop);
}

/** Compacts one leaf's entries in [low, high] that `drop` takes; returns how many it took. */
function pruneLeaf(leaf: Node, low: IndexKey, high: IndexKey, cmp: Compare, drop: (key: IndexKey, row: Row) => boolean): number {
  const keys = leaf.keys;
  const values = leaf.values;
  const n = keys.length;
  const from = leaf.indexOf(low, 0, cmp);
  let to = leaf.indexOf(high, -1, cmp);
  to = to < 0 ? ~to : to + 1;
  let w = from;
  for (let r = from; r < to; r++) {
    const k = keys[r]!;
    const v = values[r]!;
    if (drop(k, v)) continue;
    if (w !== r) {
      keys[w] = k;
      values[w] = v;
    }
    w++;
  }
  const removed = to - w;
  if (removed === 0) return 0;
  for (let r = to; r < n; r++, w++) {
    keys[w] = keys[r]!;
    values[w] = values[r]!;
  }
  keys.length = w;
  values.length = w;
  return removed;
}

/** `pruneLeaf` for the children of an internal node that meet [low, high], then its fix-ups. */
function pruneInternal(node: Node, low: IndexKey, high: IndexKey, t: TreeFields, drop: (key: IndexKey, row: Row) => boolean): number {
  const cmp = t._compare;
  const keys = node.keys;
  const first = node.indexOf(low, 0, cmp);
  const last = Math.min(node.indexOf(high, 0, cmp), keys.length - 1);
  let removed = 0;
  for (let i = first; i <= last; i++) {
    const child = ownChild(node, i);
    const gone = pruneSpan(child, low, high, t, drop);
    if (gone === 0) continue;
    removed += gone;
    // An emptied child's key is undefined until `settleChildren` drops the child.
    keys[i] = child.maxKey();
  }
  if (removed !== 0) settleChildren(node, first, last, removed, t);
  return removed;
}

/**
 * Removes the entries with the given `keys` (ascending, distinct) in one walk; returns how many
 * it found. A subtree none of the keys falls in is skipped without reading its keys, and a leaf
 * that holds some finds each by a binary search from the last one found, so a walk touches the
 * entries it removes and a few around them, not every entry between (a range delete's rows lie
 * scattered across a secondary index).
 *
 * @example
 * ```ts
 * pruneKeys(ix.tree, sortedKeysOfRemovedRows);
 * ```
 */
export function pruneKeys(tree: Tree, keys: readonly IndexKey[]): number {
  const t = tree as unknown as TreeFields;
  if (keys.length === 0 || tree.size === 0) return 0;
  return settleRoot(tree, pruneKeysIn(ownRoot(t), keys, 0, keys.length, t));
}

/** `pruneLeafKeys` or `pruneInternalKeys`, as `node` is a leaf or not. */
function pruneKeysIn(node: Node, keys: readonly IndexKey[], from: number, to: number, t: TreeFields): number {
  return node.children === undefined ? pruneLeafKeys(node, keys, from, to, t._compare) : pruneInternalKeys(node, keys, from, to, t);
}

/** Takes `keys[from … to)` out of a leaf (each found by a binary search); returns how many. */
function pruneLeafKeys(leaf: Node, keys: readonly IndexKey[], from: number, to: number, cmp: Compare): number {
  const lk = leaf.keys;
  const lv = leaf.values;
  const n = lk.length;
  // Positions of the found entries, ascending (each search starts past the last one found).
  const found: number[] = [];
  let lo = 0;
  for (let j = from; j < to && lo < n; j++) {
    const key = keys[j]!;
    let a = lo;
    let b = n;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (cmp(lk[mid]!, key) < 0) a = mid + 1;
      else b = mid;
    }
    if (a < n && cmp(lk[a]!, key) === 0) {
      found.push(a);
      lo = a + 1;
    } else lo = a;
  }
  const m = found.length;
  if (m === 0) return 0;
  let w = found[0]!;
  for (let f = 0; f < m; f++) {
    const end = f + 1 < m ? found[f + 1]! : n;
    for (let r = found[f]! + 1; r < end; r++, w++) {
      lk[w] = lk[r]!;
      lv[w] = lv[r]!;
    }
  }
  lk.length = w;
  lv.length = w;
  return m;
}

/** `pruneLeafKeys` for the children of an internal node the keys fall in, then its fix-ups. */
function pruneInternalKeys(node: Node, keys: readonly IndexKey[], from: number, to: number, t: TreeFields): number {
  const cmp = t._compare;
  const nk = node.keys;
  const n = node.children!.length;
  let removed = 0;
  let first = -1;
  let last = -1;
  let k = from;
  for (let i = 0; i < n && k < to; i++) {
    // The keys up to this child's largest key fall in it.
    const max = nk[i]!;
    let e = k;
    while (e < to && cmp(keys[e]!, max) <= 0) e++;
    if (e === k) continue;
    const child = ownChild(node, i);
    const gone = pruneKeysIn(child, keys, k, e, t);
    k = e;
    if (gone === 0) continue;
    removed += gone;
    nk[i] = child.maxKey();
    if (first < 0) first = i;
    last = i;
  }
  if (removed !== 0) settleChildren(node, first, last, removed, t);
  return removed;
}

/** The root of `t`, copied first when a snapshot shares it. */
function ownRoot(t: TreeFields): Node {
  let root = t._root;
  if (root.isShared === true) t._root = root = root.clone();
  return root;
}

/** Child `i` of `node`, copied first (and put in its place) when a snapshot shares it. */
function ownChild(node: Node, i: number): Node {
  const children = node.children!;
  let child = children[i]!;
  if (child.isShared === true) children[i] = child = child.clone();
  return child;
}

/**
 * The fix-ups of an internal node whose children `first` … `last` lost `removed` entries: its
 * size, and those children (and the one before them) merged with a neighbour when underfull or
 * dropped when empty.
 */
function settleChildren(node: Node, first: number, last: number, removed: number, t: TreeFields): void {
  const keys = node.keys;
  const children = node.children!;
  node._size -= removed;
  const half = t._maxNodeSize >> 1;
  if (first > 0) first--;
  for (let i = last; i >= first; i--) {
    const len = children[i]!.keys.length;
    if (len > half) continue;
    if (len !== 0) node.tryMerge(i, t._maxNodeSize);
    else {
      keys.splice(i, 1);
      children.splice(i, 1);
    }
  }
}

/**
 * As `editRange` ends, once a walk `removed` entries: a root left with one child (or none) gives
 * way to it. Returns `removed`.
 */
function settleRoot(tree: Tree, removed: number): number {
  if (removed === 0) return 0;
  const t = tree as unknown as TreeFields;
  let root = t._root;
  let shared = false;
  while (root.children !== undefined && root.keys.length <= 1) {
    shared ||= root.isShared === true;
    if (root.keys.length === 0) {
      tree.clear();
      return removed;
    }
    t._root = root = root.children[0]!;
  }
  if (shared) root.isShared = true;
  return removed;
}
