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
    return this.lists[sourceSlot] ?? NO_SLOTS;
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
    const at = list.lastIndexOf(t);
    if (at < 0) return;
    // Order does not matter: move the last entry into the hole.
    list[at] = list[list.length - 1]!;
    list.pop();
    this.size--;
  }

  reset(rows: readonly Row[]): void {
    this.lists.length = 0;
    this.size = 0;
    for (const row of rows) this.added(row);
  }
}
