/**
 * Secondary index changes of a durable table kept out of lmdb's `entries` between compactions —
 * a first level in the manner of an LSM tree.
 *
 * Why: a commit that adds or removes index entries at scattered places (a chunked load of a table
 * indexed on a non-sequential column, an update or delete of a key range whose rows lie scattered
 * in the index) dirties, copies and syncs most of the index's leaf pages, and that cost grows with
 * the index, not with the commit: 10k entries over a 1M-entry index touch ~5k of its ~6.6k leaves.
 * So a commit's index changes are instead appended to the `ixlog` sub-database as one record (a
 * sequential write of a few pages) and kept in memory in the table's deferred layers, which every
 * read merges between the committing layers and lmdb (layers like the others, lmdb-table.ts
 * `readLayers`). Once the deferred changes pass `deferredCap` entries they become the compacting
 * set, and each later commit that changes index entries also writes its next slice into `entries`
 * in key order (so a commit dirties a share of the index's leaves proportional to its changes, and
 * no commit writes the whole set: lmdb keeps in memory every page one transaction dirtied); the
 * commit writing the last slice removes the log records the set came from.
 *
 * Durability is lmdb's: a record is written in the transaction of the commit it belongs to, so
 * after a crash the records on disk are exactly those of the acknowledged commits whose changes a
 * finished compaction has not written, and opening the table replays them (`replay`; a change a
 * slice already wrote agrees with `entries`, and a later change comes in a later record). A clean
 * close writes every table's deferred changes into `entries` (`drain`), so a reopen replays
 * nothing. A truncate, a schema change that builds or drops an index, a commit of more changes
 * than the cap, and a drop write or discard them in their own commit.
 *
 * Record format (values of `ixlog`, key `[tid, seq]`): for each change, a byte (1: entry present,
 * 0: entry removed), the length of the entry's stored key in 2 bytes (big-endian), then the stored
 * key `[tid, ordinal, ...cells]` in the `entries` key encoding (store-keys.ts), so a replayed key
 * is what a read of `entries` would give.
 */
import BTreeImport from "sorted-btree";
import { DataCorruptionError } from "../../errors.js";
import { type IndexKey, type KeyCell, compareTuples } from "./index-keys.js";
import { ENTRY_KEYS, withTrailingNulls } from "./store-keys.js";
import type { Compare } from "./table-index.js";
import { type CompactionStep, type EntrySlice, type IndexEntry, type LayerTree, TOMBSTONE, WriteLayer } from "./write-overlay.js";

type BTreeClass = typeof BTreeImport.default;
const BTree: BTreeClass =
  (BTreeImport as unknown as { default?: BTreeClass }).default ?? (BTreeImport as unknown as BTreeClass);

/**
 * How many deferred changes a table keeps before it starts compacting them: a sixteenth of its
 * rows, within [`min`, `max`]. The compaction then writes a slice of them with each later commit
 * that changes index entries, sized so that it ends before as many new changes have come
 * (`DeferredEntries.take`): each commit dirties about `leaf pages × its changes / cap` of the index's
 * leaves, not most of them. A larger cap means fewer pages written per commit but more memory
 * (~100 bytes a change, up to twice the cap: the changes being compacted and the newer ones) and a
 * longer replay after a crash. Measured on
 * loads in 10k-row commits: at 1M rows a sixteenth loads as fast as an eighth with ~13 MB less
 * heap; at 5M rows a `max` of 131k instead of 262k took 37 s instead of 32 s and kept ~60 MB less
 * resident. Tests lower the cap to compact often.
 */
export const deferredEntriesPolicy = { min: 32_768, max: 131_072, fraction: 1 / 16 };

/** The deferred changes a table of `rows` rows keeps before compacting (see `deferredEntriesPolicy`). */
export function deferredCap(rows: number): number {
  const { min, max, fraction } = deferredEntriesPolicy;
  return Math.min(max, Math.max(min, Math.floor(rows * fraction)));
}

/** Index entries changed by a layer (all its secondary index trees). */
export function indexChanges(layer: WriteLayer): number {
  let n = 0;
  for (const t of layer.ix) if (t !== undefined) n += t.size;
  return n;
}

/**
 * The deferred index changes of one durable table: the newest (`active`), and an older set being
 * written into `entries` a slice per commit (`compacting`), with the sequences of their log
 * records. A schema change that takes a table's stored rows over (lmdb-table.ts `takeOver`)
 * shares this object with the new table: only a commit changes it, and only one of the two ever
 * commits.
 *
 * @example
 * ```ts
 * const d = new DeferredEntries();
 * const written = d.take(frozenLayer, table.size); // deferred, or the deferred layers to write now
 * ```
 */
export class DeferredEntries {
  /** The newest deferred changes: index trees only (no rows). */
  private active = newDeferredLayer();
  /** Older deferred changes, written into `entries` a slice per commit (kept whole until the last is). */
  private compacting: WriteLayer | undefined;
  /** Where the next slice starts: an ordinal of `compacting`, and the first key not written yet. */
  private cursor: { ordinal: number; key: IndexKey | undefined } = { ordinal: 0, key: undefined };
  /** `compacting`'s changes, and their log records (sequences below `compactingBelow`). */
  private compactingSize = 0;
  private compactingBelow = 0;
  /** The commit writing the last slice, once taken: `compacting` is dropped when it settles. */
  private finishing: WriteLayer | undefined;
  private seq = 0;

  /** Appends the deferred layers a read merges below the committing ones to `out`, newest first. */
  pushLayers(out: WriteLayer[]): void {
    out.push(this.active);
    if (this.compacting !== undefined) out.push(this.compacting);
  }

  /**
   * Decides where a frozen layer's index changes go. They are deferred (the layer gets a log
   * sequence, `deferSeq`, and they join `active`), and the commit writes the compaction's next
   * slice (`layer.compaction`) — unless the commit truncates the table (the deferred changes are
   * dropped with the stored entries), or rebuilds or drops an index that has deferred changes, or
   * changes more entries than the cap: then it writes every deferred change into `entries` before
   * its own and removes the table's log records, and the returned layers (oldest first) must stay
   * readable, below every other layer, until the commit has settled.
   */
  take(layer: WriteLayer, rows: number): WriteLayer[] | undefined {
    if (layer.truncated) {
      this.reset();
      return undefined;
    }
    const changes = indexChanges(layer);
    const rebuilds = layer.clearIndexesFrom !== undefined || layer.ixBase.some((b) => b !== undefined);
    if (!rebuilds && changes === 0) return undefined;
    const cap = deferredCap(rows);
    if (changes > cap || (rebuilds && this.rebuildsDeferred(layer))) {
      const held = this.drain();
      if (held !== undefined) layer.flushing = held;
      return held;
    }
    layer.deferSeq = this.seq++;
    const into = this.active.ix;
    layer.ix.forEach((tree, j) => {
      if (tree === undefined || tree.size === 0) return;
      const have = into[j];
      // (a copy-on-write clone: the frozen layer's tree is read until its commit settles)
      if (have === undefined || have.size === 0) into[j] = tree.clone();
      else into[j] = WriteLayer.addSorted(have, tree.keysArray(), tree.valuesArray(), compareTuples as Compare);
    });
    const held = indexChanges(this.active);
    if (this.compacting === undefined && held > cap) {
      this.compacting = this.active;
      this.compactingSize = held;
      this.compactingBelow = this.seq;
      this.cursor = { ordinal: 0, key: undefined };
      this.active = newDeferredLayer();
    }
    if (this.compacting !== undefined && this.finishing === undefined) {
      // (at least the commit's own changes: the set holds more than the cap)
      layer.compaction = this.slice(Math.ceil((this.compactingSize * changes) / cap));
      if (layer.compaction.logBelow !== undefined) this.finishing = layer;
    }
    return undefined;
  }

  /**
   * True when a schema change's layer rebuilds or drops an index that has deferred changes: those
   * (and their log records, which a replay would apply to the new index) must be written first.
   * An index added at a new ordinal has none, so adding one leaves the others deferred.
   */
  private rebuildsDeferred(layer: WriteLayer): boolean {
    const from = layer.clearIndexesFrom ?? Infinity;
    for (const d of this.compacting === undefined ? [this.active] : [this.active, this.compacting]) {
      for (let j = 0; j < d.ix.length; j++) {
        if ((d.ix[j]?.size ?? 0) !== 0 && (j >= from || layer.ixBase[j] !== undefined)) return true;
      }
    }
    return false;
  }

  /** The next `n` changes of `compacting` from the cursor (the last slice ends its log records). */
  private slice(n: number): CompactionStep {
    const from = this.compacting!;
    const slices: EntrySlice[] = [];
    let left = n;
    let { ordinal, key } = this.cursor;
    while (ordinal < from.ix.length && left > 0) {
      const tree = from.ix[ordinal];
      const keys: IndexKey[] = [];
      const values: IndexEntry[] = [];
      // the first key left for the next slice, if this one ends inside the tree
      let next: IndexKey | undefined;
      if (tree !== undefined) {
        for (const [k, v] of tree.entries(key)) {
          if (left === 0) {
            next = k;
            break;
          }
          keys.push(k);
          values.push(v);
          left--;
        }
      }
      if (keys.length !== 0) slices.push({ ordinal, keys, values });
      if (next !== undefined) {
        key = next;
        break;
      }
      ordinal++;
      key = undefined;
    }
    this.cursor = { ordinal, key };
    return { slices, logBelow: ordinal >= from.ix.length ? this.compactingBelow : undefined };
  }

  /** A commit of this table settled: the compaction it ended is in `entries`, and is dropped. */
  settled(layer: WriteLayer): void {
    if (layer === this.finishing) {
      this.finishing = undefined;
      this.compacting = undefined;
      this.compactingSize = 0;
    }
  }

  /**
   * Takes every deferred change out, to be written into `entries` now, oldest first, with the
   * table's log records removed (a clean close, or a commit that writes them whole), if any.
   */
  drain(): WriteLayer[] | undefined {
    const out: WriteLayer[] = [];
    if (this.compacting !== undefined) out.push(this.compacting);
    if (indexChanges(this.active) !== 0) out.push(this.active);
    this.reset();
    return out.length === 0 ? undefined : out;
  }

  /**
   * Replays a table's log records (in sequence order, `[seq, record]`) into the deferred changes,
   * at open. `widths`: the cell count of each of the table's secondary indexes; `where` names the
   * table in errors.
   */
  replay(records: Iterable<[number, Uint8Array]>, tid: number, widths: readonly number[], dataDir: string, where: string): void {
    for (const [seq, record] of records) {
      try {
        decodeIxLog(record, (t, ordinal, cells, present) => {
          if (t !== tid || ordinal >= widths.length) throw new Error(`a change of index ${ordinal} of table ${t}`);
          const tree = (this.active.ix[ordinal] ??= new BTree<IndexKey, IndexEntry>(undefined, compareTuples as Compare, 64));
          tree.set(withTrailingNulls(cells, widths[ordinal]!), present ? true : TOMBSTONE);
        });
      } catch (e) {
        throw new DataCorruptionError(dataDir, `${where}, index log record ${seq}`, (e as Error).message);
      }
      this.seq = seq + 1;
    }
  }

  private reset(): void {
    this.active = newDeferredLayer();
    this.compacting = undefined;
    this.compactingSize = 0;
    this.finishing = undefined;
    this.seq = 0;
  }
}

function newDeferredLayer(): WriteLayer {
  return new WriteLayer(compareTuples as Compare, 0);
}

/** The log record of a layer's index changes (see the header), or undefined when it has none. */
export function encodeIxLog(tid: number, ix: readonly (LayerTree<IndexEntry> | undefined)[]): Buffer | undefined {
  // Written into a reused scratch buffer (full chunks copied out as it fills), then copied once
  // into a buffer of the record's size: most records are small (a commit of a few rows).
  const chunks: Buffer[] = [];
  const buf = ENCODE_SCRATCH;
  let pos = 0;
  const key: unknown[] = [tid, 0];
  ix.forEach((tree, ordinal) => {
    if (tree === undefined) return;
    key[1] = ordinal;
    tree.forEachPair((k, entry) => {
      const cells = k as readonly KeyCell[];
      key.length = 2 + cells.length;
      for (let i = 0; i < cells.length; i++) key[i + 2] = cells[i] === 0 ? 0 : cells[i]; // (-0 stored as 0, as in `entries`)
      if (CHUNK - pos < ROOM) {
        chunks.push(Buffer.from(buf.subarray(0, pos)));
        pos = 0;
      }
      buf[pos] = entry === TOMBSTONE ? 0 : 1;
      const end = ENTRY_KEYS.writeKey(key, buf, pos + 3);
      buf.writeUInt16BE(end - pos - 3, pos + 1);
      pos = end;
    });
  });
  if (pos === 0 && chunks.length === 0) return undefined;
  chunks.push(Buffer.from(buf.subarray(0, pos)));
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/** Visits the changes of a log record: table id, index ordinal, key cells, present or removed. */
export function decodeIxLog(record: Uint8Array, visit: (tid: number, ordinal: number, cells: KeyCell[], present: boolean) => void): void {
  let pos = 0;
  while (pos < record.length) {
    if (pos + 3 > record.length) throw new Error(`a change cut short at byte ${pos}`);
    const flag = record[pos]!;
    const end = pos + 3 + ((record[pos + 1]! << 8) | record[pos + 2]!);
    if (flag > 1 || end > record.length) throw new Error(`not a change at byte ${pos}`);
    // Decoded from a copy followed by zero bytes: ordered-binary misreads a trailing null cell
    // when the buffer ends right after it (it reads ''), as lmdb's key buffers never do.
    const len = end - pos - 3;
    KEY_SCRATCH.set(record.subarray(pos + 3, end), 0);
    KEY_SCRATCH.fill(0, len, len + 16);
    const key = ENTRY_KEYS.readKey(KEY_SCRATCH, 0, len);
    if (key.length < 2) throw new Error(`a change without its index at byte ${pos}`);
    visit(key[0] as number, key[1] as number, key.slice(2) as KeyCell[], flag === 1);
    pos = end;
  }
}

/** Bytes of a record chunk; a change is at most `ROOM` bytes (a stored key is at most ~2 KB). */
const CHUNK = 1 << 18;
const ROOM = 1 << 13;
const ENCODE_SCRATCH = Buffer.alloc(CHUNK);
/** Where `decodeIxLog` decodes a key (see there); a stored key is at most `ROOM` bytes. */
const KEY_SCRATCH = Buffer.alloc(ROOM + 16);
