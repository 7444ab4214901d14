/**
 * The index work of the heap engine's range updates and deletes (`HeapTable.updateMany` /
 * `removeMany`): the rows put in primary key order, the primary tree edited in one walk across
 * their span, and each secondary index changed in one pass (see the storage README, "Two
 * engines, one interface"). The table reports to its log, observers and guard around these.
 */
import { InternalError } from "../../errors.js";
import { type IndexKey, type KeyCell, compareCells, normCell } from "./index-keys.js";
import { type SortedBatch, type TableIndex, mergedSecondary, putEntries, secondaryKey, sortedEntries } from "./table-index.js";
import type { Row } from "./table-schema.js";
import { pruneKeys, pruneRange } from "./tree-prune.js";

/**
 * Walks the primary tree once across the span of `keys` (present, distinct, ascending), giving
 * the entry of `keys[i]` the value `rows[i]`; returns how many it found and how many entries the
 * span held (`met`: equal when the rows were every row of their span).
 */
export function replacePrimary(primary: TableIndex, keys: readonly IndexKey[], rows: readonly Row[]): { found: number; met: number } {
  const cmp = primary.compare;
  const n = keys.length;
  let j = 0;
  const met = primary.tree.editRange<number>(keys[0]!, keys[n - 1]!, true, (k) => {
    if (j < n && cmp(k, keys[j]!) === 0) return { value: rows[j++]! };
  });
  return { found: j, met };
}

/** `replacePrimary` for a delete: the entries of `keys` (rows `olds`) taken out, each leaf compacted once. */
export function removePrimary(primary: TableIndex, keys: readonly IndexKey[], olds: readonly Row[]): { found: number; met: number } {
  const cmp = primary.compare;
  const n = keys.length;
  let j = 0;
  let met = 0;
  const found = pruneRange(primary.tree, keys[0]!, keys[n - 1]!, (k, row) => {
    met++;
    if (j >= n || (row !== olds[j] && cmp(k, keys[j]!) !== 0)) return false;
    j++;
    return true;
  });
  return { found, met };
}

/**
 * A test of index `ix`'s tree keys: true for an entry whose primary key cell lies in
 * [`lo`, `hi`]. After a range write that met every row of that span (a range without a filter),
 * it picks the entries of the written rows with no read of a row: rows lie scattered in an
 * index's order, and reading each was most of a walk over it. A one-column primary key only.
 */
function inKeySpan(ix: TableIndex, primary: TableIndex, lo: KeyCell, hi: KeyCell): (key: IndexKey) => boolean {
  const at = ix.keyPositions.indexOf(primary.keyPositions[0]!);
  const numeric = typeof lo === "number" && typeof hi === "number";
  return (k) => {
    const c = (k as readonly KeyCell[])[at]!;
    return numeric && typeof c === "number" ? c >= lo && c <= hi : compareCells(c, lo) >= 0 && compareCells(c, hi) <= 0;
  };
}

/** What a secondary pass needs of the write: the table, its indexes, the batch, and how it met its span. */
export interface IndexPass {
  readonly path: string;
  readonly primary: TableIndex;
  readonly secondaries: readonly TableIndex[];
  readonly batch: SortedBatch;
  /** The rows were every row of their key span (the primary walk met no other). */
  readonly wholeSpan: boolean;
  /** The rows are many compared with the table: a pass over each whole index pays. */
  readonly many: boolean;
}

/**
 * A range update's secondary indexes. Many rows: each index merged anew from its own sorted
 * entries and the new rows (`mergedSecondary`), the old entries left out known by their key cell
 * when `wholeSpan` (see `inKeySpan`), else by their row, in a set. Fewer rows: the old entries
 * taken out in one walk over their sorted keys (`pruneKeys`), then the new ones put in, in key
 * order (each descent finds the upper nodes of the one before it in cache), instead of two
 * descents per row in primary key order.
 */
export function updateSecondaries(p: IndexPass): void {
  const { keys, olds, rows } = p.batch;
  const n = olds.length;
  if (p.many) {
    const span = p.wholeSpan && p.primary.scalar;
    let dropped: Set<Row> | undefined;
    for (const ix of p.secondaries) {
      let drop: (key: IndexKey, row: Row) => boolean;
      if (span) drop = inKeySpan(ix, p.primary, keys[0] as KeyCell, keys[n - 1] as KeyCell);
      else {
        const gone = (dropped ??= new Set(olds));
        drop = (_k, row) => gone.has(row);
      }
      ix.tree = mergedSecondary(ix, drop, rows);
    }
    return;
  }
  for (const ix of p.secondaries) {
    // A row whose indexed cells did not change keeps its entry: only its value (the row) is put
    // anew. The others' old entries are taken out in one walk, their new ones put in key order.
    const movedOlds: Row[] = [];
    const moved: Row[] = [];
    for (let i = 0; i < n; i++) {
      if (sameEntry(ix, olds[i]!, rows[i]!)) ix.tree.set(secondaryKey(ix, rows[i]!), rows[i]!);
      else {
        movedOlds.push(olds[i]!);
        moved.push(rows[i]!);
      }
    }
    if (moved.length === 0) continue;
    pruneEntries(p.path, ix, movedOlds);
    putEntries(ix, moved);
  }
}

/** True when rows `a` and `b` have the same entry key in index `ix`. */
function sameEntry(ix: TableIndex, a: Row, b: Row): boolean {
  for (const p of ix.keyPositions) if (normCell(a[p]!) !== normCell(b[p]!)) return false;
  return true;
}

/**
 * A range delete's secondary indexes. When the rows were every row of their key span and many
 * compared with the table, one walk of each whole index knows an entry by the key cell its tree
 * key holds (`inKeySpan`). Otherwise the rows' entries are sorted (a stable sort of the rows by
 * the listed columns, see `secondaryOrder`) and taken out in one walk that skips the subtrees
 * holding none of them (`pruneKeys`), instead of one descent per entry.
 */
export function pruneSecondaries(p: IndexPass): void {
  const { keys, olds } = p.batch;
  const n = olds.length;
  if (p.wholeSpan && p.many && p.primary.scalar) {
    for (const ix of p.secondaries) {
      const tree = ix.tree;
      const gone = tree.size === 0 ? 0 : pruneRange(tree, tree.minKey()!, tree.maxKey()!, inKeySpan(ix, p.primary, keys[0] as KeyCell, keys[n - 1] as KeyCell));
      if (gone !== n) throw new InternalError(`${p.path}: a range delete found ${gone} of its ${n} entries in index ${ix.name}`);
    }
    return;
  }
  for (const ix of p.secondaries) pruneEntries(p.path, ix, olds);
}

/** Takes the entries of `olds` (rows in primary key order) out of index `ix` in one walk. */
function pruneEntries(path: string, ix: TableIndex, olds: readonly Row[]): void {
  const n = olds.length;
  const gone = pruneKeys(ix.tree, sortedEntries(ix, olds).keys);
  if (gone !== n) throw new InternalError(`${path}: a range write found ${gone} of its ${n} entries in index ${ix.name}`);
}
