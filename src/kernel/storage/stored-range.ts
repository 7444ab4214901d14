/**
 * Ranges of the durable store's sorted sub-databases: the stored bounds of a plan's key range
 * under a table or index prefix, and a sorted source (write-overlay.ts `Source`) over the stored
 * rows or index entries in such a range, which reads merge with the pending layers.
 */
import { type IndexKey, type KeyCell, MAX } from "./index-keys.js";
import type { LmdbStore, StoreCell, StoreKey } from "./lmdb-store.js";
import { encodeStoreKey, withTrailingNulls } from "./store-keys.js";
import type { Source } from "./write-overlay.js";

/** Bytes after an encoded key prefix that sort after every key extending it (the `MAX` cell). */
const AFTER_PREFIX = Buffer.from([0, 0xff]);
/** The byte after an encoded key that sorts it just after that key (before any longer key). */
const AFTER_KEY = Buffer.from([0]);

/** The stored key just past every key that starts with `prefix` (the end of a table or index range). */
export function rangeEnd(prefix: readonly StoreCell[]): Buffer {
  return Buffer.concat([encodeStoreKey(prefix, prefix.length), AFTER_PREFIX]);
}

/**
 * The stored form of a plan bound under `prefix` (`[tid]` or `[tid, ordinal]`): a bound ending in
 * `MAX` becomes the encoded prefix followed by bytes above every cell. `after` moves an exact
 * bound just past its own key (an exclusive start, or an inclusive end).
 */
export function boundKey(prefix: readonly StoreCell[], bound: IndexKey, after = false): Buffer | StoreKey {
  const cells: StoreCell[] = [...prefix];
  let max = false;
  if (Array.isArray(bound)) {
    for (const c of bound as readonly KeyCell[]) {
      if (c === MAX) {
        max = true;
        break;
      }
      cells.push(c === 0 ? 0 : (c as StoreCell));
    }
  } else cells.push(bound === 0 ? 0 : (bound as StoreCell));
  if (!max && !after) return cells as StoreKey;
  return Buffer.concat([encodeStoreKey(cells, prefix.length), max ? AFTER_PREFIX : AFTER_KEY]);
}

/**
 * A sorted source (write-overlay.ts `Source`) over the stored entries of table `tid`'s primary
 * index (`ordinal` -1: keys → raw value cells) or of a secondary index (keys → null), forward or
 * in reverse from `start`; `scalar`: the primary key is one cell, given as that cell; `width`: a
 * secondary index's cell count (see `withTrailingNulls`). An lmdb or decoder error becomes a
 * `DataCorruptionError` naming the table (`path`) and the last key read.
 */
export function storedSource<V>(
  store: LmdbStore,
  path: string,
  tid: number,
  ordinal: number,
  scalar: boolean,
  start: IndexKey | undefined,
  reverse: boolean,
  width = 0,
): Source<V> {
  const prefix: StoreCell[] = ordinal < 0 ? [tid] : [tid, ordinal];
  const skip = prefix.length;
  const from = start === undefined ? (reverse ? rangeEnd(prefix) : prefix) : boundKey(prefix, start);
  const to = reverse ? prefix : rangeEnd(prefix);
  let it: Iterator<{ key: unknown; value: unknown }>;
  try {
    it = (ordinal < 0
      ? store.data.getRange({ start: from as StoreKey, end: to as StoreKey, reverse })
      : store.index!.getRange({ start: from as StoreKey, end: to as StoreKey, reverse }))[Symbol.iterator]();
  } catch (e) {
    throw store.corruption(`table ${path}`, e);
  }
  const src: Source<V> = {
    key: undefined,
    value: undefined,
    close() {
      it.return?.();
    },
    next() {
      let r: IteratorResult<{ key: unknown; value: unknown }>;
      try {
        r = it.next();
      } catch (e) {
        // an lmdb or decoder error while reading stored entries
        throw store.corruption(src.key === undefined ? `table ${path}` : `table ${path}, after key ${JSON.stringify(src.key)}`, e);
      }
      if (r.done) {
        src.key = undefined;
        src.value = undefined;
        return;
      }
      const k = r.value.key as StoreCell[];
      src.key = scalar ? (k[1] as KeyCell) : withTrailingNulls(k.slice(skip) as KeyCell[], width);
      // The stored key is rebuilt from `key` when the row is decoded.
      src.value = r.value.value as V;
    },
  };
  src.next();
  return src;
}
