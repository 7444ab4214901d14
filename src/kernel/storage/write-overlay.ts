/**
 * The pending writes of a durable table (lmdb-table.ts), kept in memory over its committed rows
 * in lmdb until a commit writes them. A `WriteLayer` holds one transaction's writes: rows by
 * primary key (a row, or `TOMBSTONE` for a deleted one), the secondary index entries added or
 * removed, and whether the table was truncated (which hides every row below the layer). At commit
 * the active layer is frozen and stays readable as a "committing" layer until its lmdb write has
 * resolved, so the next transaction can start before the commit is durable and still read it.
 *
 * Reads merge the layers over lmdb: a point get asks the newest layer first; a scan merges the
 * layers' sorted entries with lmdb's in key order (`mergeSources`, forward or reverse), the newest
 * source winning on equal keys.
 */
import BTreeImport from "sorted-btree";
import { bulkLoad } from "sorted-btree/extended/bulkLoad.js";
import { type IndexKey, compareTuples } from "./index-keys.js";
import type { Compare } from "./table-index.js";
import type { Row } from "./table-schema.js";

type BTreeClass = typeof BTreeImport.default;
const BTree: BTreeClass =
  (BTreeImport as unknown as { default?: BTreeClass }).default ?? (BTreeImport as unknown as BTreeClass);

/** A deleted row or index entry in a layer. */
export const TOMBSTONE: unique symbol = Symbol("tombstone");
/** A layer's entry for a primary key. */
export type RowEntry = Row | typeof TOMBSTONE;
/** A layer's entry for a secondary index key: present, or removed. */
export type IndexEntry = true | typeof TOMBSTONE;

/** Sorted map of a layer (a sorted-btree B+ tree). */
export type LayerTree<V> = BTreeImport.default<IndexKey, V>;

const OVERLAY_NODE_SIZE = 64;

/** Changes of one secondary index, in key order: a slice of a compaction (deferred-entries.ts). */
export interface EntrySlice {
  readonly ordinal: number;
  readonly keys: IndexKey[];
  readonly values: IndexEntry[];
}

/** What a commit writes of a compaction: a slice, and when it is the last, the log records it ends. */
export interface CompactionStep {
  readonly slices: EntrySlice[];
  /** Set on the last slice: the commit removes the table's log records below this sequence. */
  readonly logBelow: number | undefined;
}

/**
 * One transaction's writes to one table.
 *
 * @example
 * ```ts
 * const layer = new WriteLayer(compareCells, 1);
 * layer.rows.set(7, [7, "x"]);       // row 7 written
 * layer.ix[0]!.set(["x", 7], true);  // its entry in the first secondary index
 * ```
 */
export class WriteLayer {
  rows: LayerTree<RowEntry>;
  /** Per secondary index (schema order): index key → present / removed. */
  readonly ix: LayerTree<IndexEntry>[];
  /** The table's row count when the layer was frozen (what the commit records). */
  size = 0;
  /**
   * Per secondary index: when set, every entry of the index below this layer's own (`ix`), as
   * sorted keys — an index built over existing rows by a schema change. Nothing below it (older
   * layers, lmdb) is read for that index, and the commit replaces the index's stored entries
   * with these (one sorted pass of puts, no per-entry overlay).
   */
  readonly ixBase: (IndexKey[] | undefined)[] = [];
  /**
   * Stored index entries of this ordinal and above belong to indexes the table no longer has
   * (a schema change dropped them): the commit removes them.
   */
  clearIndexesFrom: number | undefined;
  /**
   * Set at commit when this layer's index changes are deferred (deferred-entries.ts): the
   * commit appends them to the table's index log as the record of this sequence instead of
   * writing them into `entries`.
   */
  deferSeq: number | undefined;
  /**
   * Set at commit when the commit also writes the table's deferred index changes (these older
   * layers' `ix`, oldest first) into `entries` and removes its index log records.
   */
  flushing: WriteLayer[] | undefined;
  /** Set at commit when the commit also writes a slice of the table's compaction (deferred-entries.ts). */
  compaction: CompactionStep | undefined;

  constructor(
    compare: Compare,
    secondaries: number,
    /** True when the table was truncated in this layer: nothing below it is visible. */
    readonly truncated = false,
  ) {
    this.rows = new BTree<IndexKey, RowEntry>(undefined, compare, OVERLAY_NODE_SIZE);
    this.ix = [];
    for (let i = 0; i < secondaries; i++) {
      this.ix.push(new BTree<IndexKey, IndexEntry>(undefined, compareTuples as Compare, OVERLAY_NODE_SIZE));
    }
  }

  /**
   * Sets entries whose keys are sorted and distinct (a key already in `tree` takes the new
   * value): into an empty tree, or one they are many compared with, the tree is rebuilt in one
   * O(n + m) bulk load (a bulk insert's rows); otherwise one `set` per key. Returns the tree that
   * now holds them (the caller stores it).
   */
  static addSorted<V>(tree: LayerTree<V>, keys: IndexKey[], values: V[], compare: Compare): LayerTree<V> {
    const n = keys.length;
    if (tree.size > 0 && n * 4 < tree.size) {
      for (let i = 0; i < n; i++) tree.set(keys[i]!, values[i]!);
      return tree;
    }
    if (tree.size === 0) return bulkLoad(keys, values, OVERLAY_NODE_SIZE, compare) as unknown as LayerTree<V>;
    const oldKeys = tree.keysArray();
    const oldValues = tree.valuesArray();
    const total = oldKeys.length + n;
    const mk = new Array<IndexKey>(total);
    const mv = new Array<V>(total);
    let i = 0;
    let j = 0;
    for (let k = 0; k < total; k++) {
      const c = j >= n ? -1 : i >= oldKeys.length ? 1 : compare(oldKeys[i]!, keys[j]!);
      if (c < 0) {
        mk[k] = oldKeys[i]!;
        mv[k] = oldValues[i++]!;
      } else {
        if (c === 0) i++; // the new value replaces the old one
        mk[k] = keys[j]!;
        mv[k] = values[j++]!;
      }
    }
    let m = total;
    while (m > 0 && mk[m - 1] === undefined) m--; // replaced keys left slots unused at the end
    mk.length = m;
    mv.length = m;
    return bulkLoad(mk, mv, OVERLAY_NODE_SIZE, compare) as unknown as LayerTree<V>;
  }

  /** True when the layer changes nothing. */
  get empty(): boolean {
    return !this.truncated && this.rows.size === 0 && this.ix.every((t) => t.size === 0) && this.ixBase.every((b) => b === undefined) && this.clearIndexesFrom === undefined;
  }
}

/** What a layer gives a commit: the table's id, its key length and the frozen layer. */
export interface FlushSource {
  readonly tid: number;
  /** Number of key columns (rows are stored as key → value cells). */
  readonly keyLen: number;
  /** The table's key sequence (`Table.sequence`), kept with its rows when it has one. */
  readonly sequence: number | bigint | undefined;
  /** Freezes the pending writes into a committing layer (called at commit, synchronously). */
  freeze(): WriteLayer;
  /** The layer's lmdb write has resolved: lmdb now answers for it, and it is dropped. */
  settled(layer: WriteLayer): void;
}

/** One sorted source of a merged scan: its current key and value, then `next`. */
export interface Source<V> {
  key: IndexKey | undefined;
  value: V | undefined;
  next(): void;
  /** Releases what the source holds (an lmdb cursor and its read snapshot) when a scan ends early. */
  close?(): void;
}

/** A source over a layer tree, from `start` (inclusive) forward, or down from `start` in reverse. */
/** A source over sorted keys (an `ixBase`), each with `value`, from `start` on (or back from it). */
export function arraySource<V>(keys: readonly IndexKey[], value: V, compare: Compare, start: IndexKey | undefined, reverse: boolean): Source<V> {
  let i: number;
  if (start === undefined) i = reverse ? keys.length - 1 : 0;
  else {
    // the first key ≥ start (forward) or the last key ≤ start (reverse)
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compare(keys[mid]!, start);
      if (c < 0 || (reverse && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    i = reverse ? lo - 1 : lo;
  }
  const step = reverse ? -1 : 1;
  const src: Source<V> = {
    key: undefined,
    value: undefined,
    next() {
      if (i < 0 || i >= keys.length) {
        src.key = undefined;
        src.value = undefined;
        return;
      }
      src.key = keys[i]!;
      src.value = value;
      i += step;
    },
  };
  src.next();
  return src;
}

export function layerSource<V>(tree: LayerTree<V>, start: IndexKey | undefined, reverse: boolean): Source<V> {
  const it = reverse ? tree.entriesReversed(start) : tree.entries(start);
  const src: Source<V> = {
    key: undefined,
    value: undefined,
    next() {
      const r = it.next();
      if (r.done) {
        src.key = undefined;
        src.value = undefined;
      } else {
        src.key = r.value[0];
        src.value = r.value[1];
      }
    },
  };
  src.next();
  return src;
}

/**
 * Merges sorted sources (index 0 the newest) in key order, or in reverse: calls `visit` with each
 * distinct key, the value of the newest source holding it and that source's position; stops when
 * `visit` returns true. Equal keys in older sources are skipped. Every source is closed at the end,
 * however the merge ends (an open lmdb cursor would pin its snapshot: lmdb could not reuse the
 * pages later commits free, and its file would grow).
 */
export function mergeSources<V>(
  sources: readonly Source<V>[],
  compare: Compare,
  reverse: boolean,
  visit: (key: IndexKey, value: V, from: number) => boolean | void,
): void {
  try {
    merge(sources, compare, reverse, visit);
  } finally {
    for (const s of sources) s.close?.();
  }
}

function merge<V>(
  sources: readonly Source<V>[],
  compare: Compare,
  reverse: boolean,
  visit: (key: IndexKey, value: V, from: number) => boolean | void,
): void {
  const n = sources.length;
  if (n === 1) {
    const s = sources[0]!;
    while (s.key !== undefined) {
      if (visit(s.key, s.value!, 0)) return;
      s.next();
    }
    return;
  }
  const dir = reverse ? -1 : 1;
  for (;;) {
    let best = -1;
    let bestKey: IndexKey | undefined;
    for (let i = 0; i < n; i++) {
      const k = sources[i]!.key;
      if (k === undefined) continue;
      if (best < 0 || compare(k, bestKey!) * dir < 0) {
        best = i;
        bestKey = k;
      }
    }
    if (best < 0) return;
    const value = sources[best]!.value!;
    // Older sources holding the same key are shadowed: step past it.
    for (let i = best + 1; i < n; i++) {
      const s = sources[i]!;
      if (s.key !== undefined && compare(s.key, bestKey!) === 0) s.next();
    }
    sources[best]!.next();
    if (visit(bestKey!, value, best)) return;
  }
}
