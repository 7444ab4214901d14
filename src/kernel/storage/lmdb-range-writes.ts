/**
 * The layer changes of a durable table's batch writes (`LmdbTable.insertMany`, and the range
 * updates and deletes of `updateMany` / `removeMany`): the rows come in primary key order, and
 * each tree of the active layer takes its changes as one sorted run (`WriteLayer.addSorted`: a
 * bulk build, or a merge) instead of an insert per entry. A 10k-row update of a 200k-row table
 * put 30k entries one by one into trees that grew as they went (19 ms of its ~75). The table
 * reports to its log, observers and guard around these, as its row-by-row path does.
 */
import { type IndexKey, type KeyCell, compareTuples } from "./index-keys.js";
import { type SortedBatch, type TableIndex, secondaryKey, secondaryKeyOrder, sortedEntries } from "./table-index.js";
import type { Row } from "./table-schema.js";
import { type IndexEntry, type RowEntry, TOMBSTONE, WriteLayer } from "./write-overlay.js";

/** Puts new rows (`rows`, with their keys `keys`, in primary key order) into `layer`. */
export function layerInsert(layer: WriteLayer, primary: TableIndex, secondaries: readonly TableIndex[], keys: readonly IndexKey[], rows: readonly Row[]): void {
  layer.rows = WriteLayer.addSorted(layer.rows, keys as IndexKey[], rows as RowEntry[], primary.compare);
  for (let j = 0; j < secondaries.length; j++) {
    const ix = secondaries[j]!;
    // The rows are in primary key order: a stable sort by the index's listed cells is the index
    // order (`secondaryOrder`: a counting sort for small integers), no comparison sort.
    const ixKeys = sortedEntries(ix, rows).keys;
    layer.ix[j] = WriteLayer.addSorted(layer.ix[j]!, ixKeys, new Array<IndexEntry>(ixKeys.length).fill(true), ix.compare);
  }
}

/** Puts a range update's rows (`batch.rows` over `batch.olds`, all stored) into `layer`. */
export function layerUpdate(layer: WriteLayer, primary: TableIndex, secondaries: readonly TableIndex[], batch: SortedBatch): void {
  layer.rows = WriteLayer.addSorted(layer.rows, batch.keys, batch.rows as RowEntry[], primary.compare);
  const { olds, rows } = batch;
  for (let j = 0; j < secondaries.length; j++) {
    const ix = secondaries[j]!;
    // A row's entry moves only when its index key changes. Keys end with the primary key, so no
    // key is another row's, and the removed and the added keys are each in primary key order.
    const removed: KeyCell[][] = [];
    const added: KeyCell[][] = [];
    for (let i = 0; i < rows.length; i++) {
      const ok = secondaryKey(ix, olds[i]!);
      const nk = secondaryKey(ix, rows[i]!);
      if (compareTuples(ok, nk) === 0) continue;
      removed.push(ok);
      added.push(nk);
    }
    if (removed.length === 0) continue;
    const { keys, values } = mergedChanges(ix, removed, added);
    layer.ix[j] = WriteLayer.addSorted(layer.ix[j]!, keys, values, ix.compare);
  }
}

/** Takes a range delete's rows (`batch.olds`, all stored) out of `layer`: tombstones in one run per tree. */
export function layerRemove(layer: WriteLayer, primary: TableIndex, secondaries: readonly TableIndex[], batch: SortedBatch): void {
  const n = batch.keys.length;
  layer.rows = WriteLayer.addSorted(layer.rows, batch.keys, new Array<RowEntry>(n).fill(TOMBSTONE), primary.compare);
  for (let j = 0; j < secondaries.length; j++) {
    const ix = secondaries[j]!;
    const keys = sortedEntries(ix, batch.olds).keys;
    layer.ix[j] = WriteLayer.addSorted(layer.ix[j]!, keys, new Array<IndexEntry>(n).fill(TOMBSTONE), ix.compare);
  }
}

/** The removed keys (tombstones) and the added ones (entries), each in primary key order, as one run in index order. */
function mergedChanges(ix: TableIndex, removed: KeyCell[][], added: KeyCell[][]): { keys: IndexKey[]; values: IndexEntry[] } {
  const ro = secondaryKeyOrder(ix, removed);
  const ao = secondaryKeyOrder(ix, added);
  const total = removed.length + added.length;
  const keys = new Array<IndexKey>(total);
  const values = new Array<IndexEntry>(total);
  let r = 0;
  let a = 0;
  for (let k = 0; k < total; k++) {
    const takeRemoved = a >= added.length || (r < removed.length && ix.compare(removed[ro[r]!]!, added[ao[a]!]!) < 0);
    if (takeRemoved) {
      keys[k] = removed[ro[r++]!]!;
      values[k] = TOMBSTONE;
    } else {
      keys[k] = added[ao[a++]!]!;
      values[k] = true;
    }
  }
  return { keys, values };
}
