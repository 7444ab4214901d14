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
 *
 * Readers walk a CSR snapshot of the lists (`packed`) plus a delta: per source, the targets added
 * and removed since the snapshot was taken (`changed` marks those sources; `deltaTargets` merges
 * one). A write adds one target to the delta, so the next read pays for what changed, not for the
 * relation; the delta is folded into a new snapshot once it grows past a fraction of the relation
 * (`snapshotPolicy`).
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
 * When snapshots (see `LinkIndex.packed`) are taken and folded. With no snapshot (none taken yet,
 * or a bulk change threw it away), and with one whose targets gained or lost rows since it was
 * taken, a snapshot is (re)built once the list reads since reach `perThousandEntries` for each
 * thousand entries, and at least `atLeast`. The delta of changed sources is folded into a new
 * snapshot once the writes since the snapshot exceed `deltaPerThousand` for each thousand
 * entries, and at least `deltaAtLeast` (1/16 of the relation: its rebuild, O(entries), then costs
 * each write a few entries' worth). Exported for the tests, which set them to 0 to run every
 * traversal on a fresh snapshot, or the delta ones to infinity to run every traversal through
 * a delta.
 */
export const snapshotPolicy = { perThousandEntries: 16, atLeast: 64, deltaPerThousand: 64, deltaAtLeast: 64 };

/**
 * The whole relation packed as one CSR adjacency: the targets of source slot `s` are
 * `targets[offsets[s] … offsets[s + 1])`, with `~t` (negative) for a target `t` whose row did not
 * exist when the snapshot was taken. Sources past `offsets.length - 2` had no targets then.
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
  /**
   * The entry of each target slot, when every entry of the snapshot is a live target listed once
   * (an inverse foreign key: a target row is listed under the one key it names); a code change
   * then patches the copy (see `entryCodes`). `undefined` otherwise.
   */
  positions: Int32Array | undefined;
}

/**
 * Brings a copy of codes up to date with the codes that changed since it was made (the coding's
 * `changes` still go back to its version): each changed slot's entry, if it has one, takes the
 * slot's code now. A target whose row left has its entry's code cleared; such an entry's source
 * is in the delta, read from there.
 */
function patchCopy(copy: EntryCodes, coded: ColumnCodes): Uint8Array {
  const { entries, positions } = copy;
  const codes = coded.codes;
  const changes = coded.changes;
  for (let i = copy.version - coded.changesFrom; i < changes.length; i++) {
    const t = changes[i]!;
    const k = t < positions!.length ? positions![t]! : -1;
    if (k >= 0) entries[k] = codes[t]!;
  }
  copy.version = coded.version;
  return entries;
}

/** Takes one occurrence of `t` out of `list` (order does not matter); false when there is none. */
function takeOne(list: number[], t: number): boolean {
  const at = list.lastIndexOf(t);
  if (at < 0) return false;
  list[at] = list[list.length - 1]!;
  list.pop();
  return true;
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
  /** The CSR snapshot of the lists; `undefined` until one is taken, and after a `reset`. */
  private snapshot: PackedLinks | undefined;
  /** The target space's `liveVersion` when the snapshot was taken. */
  private snapshotLive = -1;
  /** List reads with no snapshot, or with one whose targets' liveness changed (see `packed`). */
  private staleReads = 0;
  /**
   * The delta: `changed[s] === 1` for each source whose list changed since the snapshot was
   * taken; `undefined` while none did (the readers' check for the plain CSR loop). Readers take
   * a marked source's targets from `deltaTargets`. Valid after `packed` returned the snapshot, as
   * is `liveChanged`.
   */
  changed: Uint8Array | undefined = undefined;
  /**
   * By source: the targets added to its list since the snapshot, and the snapshot entries taken
   * out of it since (multisets; a removal cancels an addition of the same target first, and an
   * addition a removal). Only marked sources have them.
   */
  private readonly addedSince: (number[] | undefined)[] = [];
  private readonly removedSince: (number[] | undefined)[] = [];
  /**
   * True when target rows were gained or lost since the snapshot was taken: readers then check
   * each entry's target against `target.rows` (a dead entry `~t` may have come back).
   */
  liveChanged = false;
  /**
   * The marks behind `changed` (kept, zeroed, across folds), the sources marked since the last
   * fold (a source unmarked since may be listed, and listed twice once marked again), and how
   * many are marked now.
   */
  private marks = new Uint8Array(0);
  private readonly marked: number[] = [];
  private markedNow = 0;
  /** Writes to the lists since the snapshot was taken (the delta's weight; see `snapshotPolicy`). */
  private deltaWrites = 0;
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
   * The relation as a CSR snapshot, to be read with the delta it comes with: after it returns a
   * snapshot, `changed` marks the sources to read through `deltaTargets` instead, and
   * `liveChanged` says whether targets must be checked against the target's rows. Both are clear
   * while no write reached the lists or the target's rows since the snapshot was taken.
   *
   * `undefined` while there is no snapshot: one is built (O(entries)) only once enough reads went
   * to the lists to pay for it (`snapshotPolicy`; `reads` is how many lists the caller would
   * otherwise read). A delta is folded into a new snapshot here once the writes since the last
   * one are many enough, and a snapshot whose targets' liveness changed once the reads that had to
   * check it are.
   *
   * @example
   * ```ts
   * const p = followsOut.packed(1);
   * if (p && followsOut.changed === undefined && !followsOut.liveChanged) {
   *   for (let k = p.offsets[s]; k < p.offsets[s + 1]; k++) visit(p.targets[k]);
   * }
   * ```
   */
  packed(reads: number): PackedLinks | undefined {
    const snapshot = this.snapshot;
    if (snapshot !== undefined) {
      const liveChanged = this.snapshotLive !== this.target.liveVersion;
      if (!liveChanged && this.changed === undefined) return snapshot;
      const foldDue = this.deltaWrites > this.due(snapshotPolicy.deltaAtLeast, snapshotPolicy.deltaPerThousand);
      if (!foldDue && (!liveChanged || (this.staleReads += reads) < this.rebuildDue())) {
        this.liveChanged = liveChanged;
        return snapshot;
      }
    } else if ((this.staleReads += reads) < this.rebuildDue()) return undefined;
    return this.takeSnapshot();
  }

  /** Packs the lists into a new snapshot, with an empty delta. */
  private takeSnapshot(): PackedLinks {
    this.staleReads = 0;
    this.clearDelta();
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
        targets[k++] = live[t] === undefined ? ~t : t;
      }
    }
    this.snapshotLive = this.target.liveVersion;
    this.liveChanged = false;
    this.snapshotNumber++;
    return (this.snapshot = { offsets, targets });
  }

  /** Empties the delta (the lists are what a new snapshot holds, or there is none). */
  private clearDelta(): void {
    const marks = this.marks;
    for (const s of this.marked) {
      marks[s] = 0;
      this.addedSince[s] = undefined;
      this.removedSince[s] = undefined;
    }
    this.marked.length = 0;
    this.markedNow = 0;
    this.changed = undefined;
    this.deltaWrites = 0;
  }

  /** Records in the delta that target `t` was added to the list of source `s`. */
  private deltaAdd(s: number, t: number): void {
    this.mark(s);
    const removed = this.removedSince[s];
    if (removed !== undefined && takeOne(removed, t)) {
      this.unmarkIfEmpty(s);
      return;
    }
    const added = this.addedSince[s];
    if (added === undefined) this.addedSince[s] = [t];
    else added.push(t);
  }

  /** Records in the delta that one occurrence of target `t` left the list of source `s`. */
  private deltaRemove(s: number, t: number): void {
    this.mark(s);
    const added = this.addedSince[s];
    if (added !== undefined && takeOne(added, t)) {
      this.unmarkIfEmpty(s);
      return;
    }
    const removed = this.removedSince[s];
    if (removed === undefined) this.removedSince[s] = [t];
    else removed.push(t);
  }

  /**
   * Takes source `s` out of the delta when its changes since the snapshot cancelled out (a target
   * added, then removed again): its list is its snapshot entries again, so readers go back to the
   * snapshot for it, and to the plain CSR loop once no source is left in the delta.
   */
  private unmarkIfEmpty(s: number): void {
    if ((this.addedSince[s]?.length ?? 0) !== 0 || (this.removedSince[s]?.length ?? 0) !== 0) return;
    this.addedSince[s] = undefined;
    this.removedSince[s] = undefined;
    this.marks[s] = 0;
    if (--this.markedNow === 0) {
      // Nothing is left in the delta: the snapshot says what the lists say.
      this.marked.length = 0;
      this.changed = undefined;
      this.deltaWrites = 0;
    }
  }

  /**
   * The targets of a source in the delta (`changed[s] === 1`), merged: its snapshot entries less
   * the ones removed since, then the ones added since. Appends the live ones to `out` (checking
   * the target's rows for added entries, and for all of them when `liveChanged`) and returns how
   * many entries the source lists, live or not — what a reader counts as touched.
   *
   * @example
   * ```ts
   * const p = followsOut.packed(1)!;
   * if (followsOut.changed?.[s] === 1) { scratch.length = 0; followsOut.deltaTargets(s, scratch); }
   * ```
   */
  deltaTargets(s: number, out: number[]): number {
    const rows = this.target.rows;
    const removed = this.removedSince[s];
    const nr = removed === undefined ? 0 : removed.length;
    if (nr > 30) {
      // Many removals from one source: its list (compacted) is the shorter way.
      const list = this.targetsOf(s);
      for (let k = 0; k < list.length; k++) if (rows[list[k]!] !== undefined) out.push(list[k]!);
      return list.length;
    }
    let listed = 0;
    const { offsets, targets } = this.snapshot!;
    if (s < offsets.length - 1) {
      const checkLive = this.liveChanged;
      // Bit j: removed[j] has taken its entry out already (a multiset: one entry each).
      let taken = 0;
      for (let k = offsets[s]!, end = offsets[s + 1]!; k < end; k++) {
        const raw = targets[k]!;
        const t = raw < 0 ? ~raw : raw;
        if (nr !== 0) {
          let j = 0;
          while (j < nr && (removed![j] !== t || (taken & (1 << j)) !== 0)) j++;
          if (j < nr) {
            taken |= 1 << j;
            continue;
          }
        }
        listed++;
        if (checkLive ? rows[t] !== undefined : raw >= 0) out.push(t);
      }
    }
    const added = this.addedSince[s];
    if (added !== undefined) {
      listed += added.length;
      for (let k = 0; k < added.length; k++) if (rows[added[k]!] !== undefined) out.push(added[k]!);
    }
    return listed;
  }

  /** Puts source `s` in the delta: its list no longer matches the snapshot. */
  private mark(s: number): void {
    this.deltaWrites++;
    let marks = this.marks;
    if (s >= marks.length) {
      const grown = new Uint8Array(Math.max(s + 1, marks.length * 2, this.snapshot!.offsets.length));
      grown.set(marks);
      this.marks = marks = grown;
    }
    if (marks[s] === 0) {
      marks[s] = 1;
      this.markedNow++;
      const marked = this.marked;
      // Sources unmarked since the last fold stay listed: drop them before they pile up.
      if (marked.length >= 4 * this.markedNow + 1024) this.compactMarked();
      marked.push(s);
    }
    this.changed = marks;
  }

  /** Keeps in `marked` only the sources marked now, each once. */
  private compactMarked(): void {
    const marks = this.marks;
    const marked = this.marked;
    let kept = 0;
    for (let i = 0; i < marked.length; i++) {
      const s = marked[i]!;
      if (marks[s] !== 1) continue;
      // 2: listed already (set back to 1 below).
      marks[s] = 2;
      marked[kept++] = s;
    }
    marked.length = kept;
    for (let i = 0; i < kept; i++) marks[marked[i]!] = 1;
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
    if (copy !== undefined && copy.snapshot === current) {
      if (copy.version === coded.version) return copy.entries;
      if (copy.positions !== undefined && copy.version >= coded.changesFrom) return patchCopy(copy, coded);
    }
    if (copy === undefined) {
      copy = { snapshot: -1, version: -1, entries: NO_ENTRIES, staleReads: 0, positions: undefined };
      this.entryCopies.set(coded, copy);
    }
    // Stale: let go of the old bytes until the copy is remade.
    copy.snapshot = -1;
    copy.entries = NO_ENTRIES;
    copy.positions = undefined;
    if ((copy.staleReads += reads) < this.rebuildDue()) return undefined;
    copy.staleReads = 0;
    const { targets } = packed;
    const codes = coded.codes;
    const entries = new Uint8Array(targets.length);
    let positions: Int32Array | undefined = new Int32Array(this.target.rows.length).fill(-1);
    for (let k = 0; k < targets.length; k++) {
      const t = targets[k]!;
      // A slot past the codes' end has never had a row since the coding began.
      entries[k] = t < 0 || t >= codes.length ? NO_ROW : codes[t]!;
      if (positions === undefined) continue;
      if (t < 0 || positions[t] !== -1) positions = undefined;
      else positions[t] = k;
    }
    copy.snapshot = current;
    copy.version = coded.version;
    copy.entries = entries;
    copy.positions = positions;
    return entries;
  }

  /** How many list reads a stale copy must see before it is rebuilt (O(entries) work). */
  private rebuildDue(): number {
    return this.due(snapshotPolicy.atLeast, snapshotPolicy.perThousandEntries);
  }

  /** `perThousand` for each thousand entries, and at least `atLeast` (an infinite policy stays so). */
  private due(atLeast: number, perThousand: number): number {
    // 0 × Infinity (fewer than a thousand entries, an infinite policy) is NaN: count it as 0.
    return Math.max(atLeast, (this.size >> 10) * perThousand || 0);
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
    const from = row[this.fromPos];
    const to = row[this.toPos];
    if (from === null || from === undefined || to === null || to === undefined) return;
    const s = this.source.intern(normCell(from));
    const t = this.target.intern(normCell(to));
    const list = this.lists[s];
    if (list === undefined) this.lists[s] = [t];
    else list.push(t);
    this.size++;
    if (this.snapshot !== undefined) this.deltaAdd(s, t);
  }

  replaced(old: Row, row: Row): void {
    const fromPos = this.fromPos, toPos = this.toPos;
    if (old[fromPos] === row[fromPos] && old[toPos] === row[toPos]) return;
    this.removed(old);
    this.added(row);
  }

  removed(row: Row): void {
    const from = row[this.fromPos];
    const to = row[this.toPos];
    if (from === null || from === undefined || to === null || to === undefined) return;
    const s = this.source.slotOf(normCell(from));
    const t = this.target.slotOf(normCell(to));
    if (s === undefined || t === undefined) return;
    const list = this.lists[s];
    if (list === undefined) return;
    this.size--;
    if (this.snapshot !== undefined) this.deltaRemove(s, t);
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
      // Not listed (a row the table held always is): take back the count and the delta entry.
      this.size++;
      if (this.snapshot !== undefined) this.deltaAdd(s, t);
      return;
    }
    // Order does not matter: move the last entry into the hole.
    list[at] = list[list.length - 1]!;
    list.pop();
  }

  reset(rows: readonly Row[]): void {
    this.snapshot = undefined;
    this.clearDelta();
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
