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
import { normCell } from "./table-keys.js";
import type { Row } from "./table-schema.js";
import type { KeySlots, RowObserver } from "./table-slots.js";

// Not frozen: a frozen array has another elements kind, which would make the hot loops that read
// these lists polymorphic. Nothing writes to it (the type is readonly).
const NO_SLOTS: readonly number[] = [];
/** Lists up to this long take a removal at once (a short scan); longer ones defer it. */
const SHORT_LIST = 32;

/**
 * Source-slot → target-slots lists over one table's rows.
 *
 * @example
 * ```ts
 * const followsOut = follows.linkIndex(0, users.keySlots(), 1, users.keySlots());
 * followsOut.targetsOf(users.keySlots().slotOf(7)!); // slots of the users 7 follows
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
    this.pending.clear();
    this.lists.length = 0;
    this.size = 0;
    for (const row of rows) this.added(row);
  }
}
