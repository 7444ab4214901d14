/**
 * A relation as slot arrays: for the rows of one table X, the column `from` (a reference to the
 * one-column key of a source table S) groups the rows' *targets* — slots in the key space of a
 * target table T — by the slot of the referenced source key:
 *
 *   inverse foreign key   X = T = posts, from = author          users slot → posts slots
 *   edge table            X = follows, from = follower, T = users via followee
 *                                                               users slot → users slots
 *
 * It observes X's writes (an added row appends its target to its source's list; a removed row
 * takes one occurrence out), so it is always current; targets are slots, so whether the target
 * row exists right now is one array read (`KeySlots.rows`). Lists are unordered multisets: the
 * traversal that reads them builds sets and sorts its results.
 */
import { normCell } from "../index-keys.js";
import type { RowObserver } from "../row-observer.js";
import type { Table } from "../table-engine.js";
import type { Row } from "../table-schema.js";
import type { KeySlots } from "./key-slots.js";
import { NO_ROW, type ColumnCodes } from "./column-codes.js";

// Not frozen: a frozen array has another elements kind, which would make the hot loops that read
// these lists polymorphic. Nothing writes to it (the type is readonly).
const NO_SLOTS: readonly number[] = [];
/** Lists up to this long take a removal at once (a short scan); longer ones defer it. */
const SHORT_LIST = 32;

/**
 * When a stale snapshot (see `LinkIndex.packed`) is rebuilt: once the list reads since it went
 * stale reach `perThousandEntries` for each thousand entries, and at least `atLeast`. Exported
 * for the tests, which set both to 0 to run every traversal on a fresh snapshot.
 */
export const snapshotPolicy = { perThousandEntries: 16, atLeast: 64 };

/**
 * The whole relation packed as one CSR adjacency: the targets of source slot `s` are
 * `targets[offsets[s] … offsets[s + 1])`, with `-1` for a target whose row did not exist when the
 * snapshot was taken. Sources past `offsets.length - 2` have no targets.
 */
export interface PackedLinks {
  readonly offsets: Int32Array;
  readonly targets: Int32Array;
}

const NO_ENTRIES = new Uint8Array(0);

/** A coded target column copied in a snapshot's entry order (see `LinkIndex.entryCodes`). */
interface EntryCodes {
  /**
   * The number of the snapshot (`LinkIndex.snapshotNumber`) and the codes version it was copied
   * from; -1 while there is no copy. A number, not the snapshot: a dropped snapshot is not kept
   * alive by its copy.
   */
  snapshot: number;
  version: number;
  entries: Uint8Array;
  /** Reads that asked for it while it was stale. */
  staleReads: number;
}

/**
 * Source-slot → target-slots lists over one table's rows.
 *
 * @example
 * ```ts
 * const userSlots = keySlotsOf(users)!;
 * const followsOut = linkIndexOf(follows, 0, userSlots, 1, userSlots);
 * followsOut.targetsOf(userSlots.slotOf(7)!); // slots of the users 7 follows
 * ```
 */
export class LinkIndex implements RowObserver {
  private readonly lists: (number[] | undefined)[] = [];
  /**
   * Removals not yet applied to long lists: source slot → target slot → how many to take out.
   * Finding an entry in a hub's list is O(degree), so emptying a hub one row at a time would be
   * quadratic; instead a long list is compacted once, on its next read.
   */
  private readonly pending = new Map<number, Map<number, number>>();
  /** Number of (source, target) entries, for tests and sizing. */
  size = 0;
  /** The CSR snapshot of the lists; `undefined` once a write made it stale. */
  private snapshot: PackedLinks | undefined;
  /** The target space's `liveVersion` when the snapshot was taken. */
  private snapshotLive = -1;
  /** List reads while the snapshot was stale (see `packed`). */
  private staleReads = 0;
  /** Counts the snapshots taken: the current one's number (see `entryCodes`). */
  private snapshotNumber = 0;
  /** Target columns' codes in snapshot order, by coding (see `entryCodes`). */
  private readonly entryCopies = new WeakMap<ColumnCodes, EntryCodes>();

  constructor(
    /** Position of the referencing column in X's rows. */
    readonly fromPos: number,
    readonly source: KeySlots,
    /** Position in X's rows of the target key (X's own key: 0, when T = X). */
    readonly toPos: number,
    readonly target: KeySlots,
    rows: Iterable<Row>,
  ) {
    for (const row of rows) this.added(row);
  }

  /** The target slots listed under a source slot (possibly with repeats, in no set order). */
  targetsOf(sourceSlot: number): readonly number[] {
    if (this.pending.size !== 0) {
      const removals = this.pending.get(sourceSlot);
      if (removals !== undefined) this.compact(sourceSlot, removals);
    }
    return this.lists[sourceSlot] ?? NO_SLOTS;
  }

  /**
   * The relation as one CSR snapshot, when it is current: no write to this table and no row
   * gained or lost in the target table since it was taken. A stale snapshot is rebuilt only once
   * enough reads went to the lists to pay for the rebuild (O(entries); see `snapshotPolicy`), so
   * a table under steady writes keeps reading its lists and a table that settles gets the
   * contiguous arrays back. `reads` is how many lists the caller would otherwise read.
   *
   * @example
   * ```ts
   * const p = followsOut.packed(1);
   * if (p) for (let k = p.offsets[s]; k < p.offsets[s + 1]; k++) visit(p.targets[k]);
   * ```
   */
  packed(reads: number): PackedLinks | undefined {
    if (this.snapshot !== undefined && this.snapshotLive === this.target.liveVersion) return this.snapshot;
    this.snapshot = undefined;
    if ((this.staleReads += reads) < this.rebuildDue()) return undefined;
    this.staleReads = 0;
    for (const [s, removals] of this.pending) this.compact(s, removals);
    const lists = this.lists;
    const live = this.target.rows;
    const offsets = new Int32Array(lists.length + 1);
    let n = 0;
    for (let s = 0; s < lists.length; s++) {
      offsets[s] = n;
      n += lists[s]?.length ?? 0;
    }
    offsets[lists.length] = n;
    const targets = new Int32Array(n);
    for (let s = 0, k = 0; s < lists.length; s++) {
      const list = lists[s];
      if (list === undefined) continue;
      for (let j = 0; j < list.length; j++) {
        const t = list[j]!;
        targets[k++] = live[t] === undefined ? -1 : t;
      }
    }
    this.snapshotLive = this.target.liveVersion;
    this.snapshotNumber++;
    return (this.snapshot = { offsets, targets });
  }

  /**
   * The codes of a coded column of the target table laid out like `packed.targets` (`NO_ROW` for
   * a dead entry), when a current copy exists: a filter on that column right after the hop then
   * reads the byte beside each entry it walks instead of one scattered byte per target row.
   * The copy is current while `packed` is the snapshot it was made from and no code changed since;
   * a stale copy is remade on the same terms as the snapshot (see `packed`). Until a read finds it
   * stale, a copy keeps its bytes (one per entry), never the snapshot.
   *
   * @example
   * ```ts
   * const p = authored.packed(1)!;
   * const langs = authored.entryCodes(p, keySlotsOf(posts)!.codes(2)!, 1);
   * // langs?.[k] === posts' lang code of p.targets[k]
   * ```
   */
  entryCodes(packed: PackedLinks, coded: ColumnCodes, reads: number): Uint8Array | undefined {
    // `packed` comes from `packed()` in the same read, so it is the current snapshot.
    const current = this.snapshotNumber;
    let copy = this.entryCopies.get(coded);
    if (copy !== undefined && copy.snapshot === current && copy.version === coded.version) return copy.entries;
    if (copy === undefined) this.entryCopies.set(coded, (copy = { snapshot: -1, version: -1, entries: NO_ENTRIES, staleReads: 0 }));
    // Stale: let go of the old bytes until the copy is remade.
    copy.snapshot = -1;
    copy.entries = NO_ENTRIES;
    if ((copy.staleReads += reads) < this.rebuildDue()) return undefined;
    copy.staleReads = 0;
    const { targets } = packed;
    const codes = coded.codes;
    const entries = new Uint8Array(targets.length);
    for (let k = 0; k < targets.length; k++) {
      const t = targets[k]!;
      // A slot past the codes' end has never had a row since the coding began.
      entries[k] = t < 0 || t >= codes.length ? NO_ROW : codes[t]!;
    }
    copy.snapshot = current;
    copy.version = coded.version;
    copy.entries = entries;
    return entries;
  }

  /** How many list reads a stale copy must see before it is rebuilt (O(entries) work). */
  private rebuildDue(): number {
    return Math.max(snapshotPolicy.atLeast, (this.size >> 10) * snapshotPolicy.perThousandEntries);
  }

  /** Applies the pending removals of one list in one pass. */
  private compact(s: number, removals: Map<number, number>): void {
    this.pending.delete(s);
    const list = this.lists[s]!;
    let kept = 0;
    for (let i = 0; i < list.length; i++) {
      const t = list[i]!;
      const n = removals.get(t);
      if (n !== undefined) {
        if (n === 1) removals.delete(t);
        else removals.set(t, n - 1);
        continue;
      }
      list[kept++] = t;
    }
    list.length = kept;
  }

  added(row: Row): void {
    this.snapshot = undefined;
    const from = row[this.fromPos];
    const to = row[this.toPos];
    if (from === null || from === undefined || to === null || to === undefined) return;
    const s = this.source.intern(normCell(from));
    const t = this.target.intern(normCell(to));
    const list = this.lists[s];
    if (list === undefined) this.lists[s] = [t];
    else list.push(t);
    this.size++;
  }

  replaced(old: Row, row: Row): void {
    const fromPos = this.fromPos, toPos = this.toPos;
    if (old[fromPos] === row[fromPos] && old[toPos] === row[toPos]) return;
    this.removed(old);
    this.added(row);
  }

  removed(row: Row): void {
    this.snapshot = undefined;
    const from = row[this.fromPos];
    const to = row[this.toPos];
    if (from === null || from === undefined || to === null || to === undefined) return;
    const s = this.source.slotOf(normCell(from));
    const t = this.target.slotOf(normCell(to));
    if (s === undefined || t === undefined) return;
    const list = this.lists[s];
    if (list === undefined) return;
    this.size--;
    if (list[list.length - 1] === t) {
      // Any occurrence will do (the list is a multiset), pending removals included.
      list.pop();
      return;
    }
    if (list.length > SHORT_LIST) {
      let removals = this.pending.get(s);
      if (removals === undefined) this.pending.set(s, (removals = new Map()));
      removals.set(t, (removals.get(t) ?? 0) + 1);
      // Compact before the pending entries outgrow the list's own length.
      if (removals.size > list.length >> 1) this.compact(s, removals);
      return;
    }
    if (this.pending.has(s)) this.compact(s, this.pending.get(s)!);
    const at = list.lastIndexOf(t);
    if (at < 0) {
      this.size++;
      return;
    }
    // Order does not matter: move the last entry into the hole.
    list[at] = list[list.length - 1]!;
    list.pop();
  }

  reset(rows: readonly Row[]): void {
    this.snapshot = undefined;
    this.pending.clear();
    this.lists.length = 0;
    this.size = 0;
    for (const row of rows) this.added(row);
  }
}

/**
 * The relation from `table`'s column at `fromPos` (referencing the key of the table whose slots
 * are `source`) to the key at `toPos` (in `target`'s key space), as slot lists made on first use
 * and kept current by every write of `table`. One index per (from, to) column pair: an index over
 * other slot spaces (a referenced table dropped and created again) is replaced.
 *
 * @example
 * ```ts
 * const slots = keySlotsOf(users)!;
 * const followers = linkIndexOf(follows, 1, slots, 0, slots); // followee → follower slots
 * ```
 */
export function linkIndexOf(table: Table, fromPos: number, source: KeySlots, toPos: number, target: KeySlots): LinkIndex {
  const key = `link ${fromPos}>${toPos}`;
  const make = (rows: readonly Row[]) => new LinkIndex(fromPos, source, toPos, target, rows);
  const index = table.derived(key, make);
  if (index.source === source && index.target === target) return index;
  return table.replaceDerived(key, make);
}
