/**
 * A hash multi-index on one column: the table's rows grouped by that column's value, each group
 * in the order of the B+ tree index that serves the column. It is the adjacency list of a
 * relation (`follows` rows by `follower`, `posts` by `author`): one hash probe per lookup instead
 * of a tree descent over tuple keys, which is what graph hops do all the time.
 *
 * It is a storage index, read by the table engine's own equality lookups and scan plans. The
 * table builds one lazily, on the first equality lookup of the column, and registers it like any
 * derived structure (see row-observer.ts): every row write updates it, and a bulk change
 * (truncate, bulk load, rollback of either) regroups it from the index's rows.
 */
import type { IndexKey, KeyCell } from "./index-keys.js";
import { normCell } from "./index-keys.js";
import { DenseKeyMap } from "./dense-key-map.js";
import type { RowObserver } from "./row-observer.js";
import type { Row } from "./table-schema.js";

/** The index a table's groups follow: its rows in order, a row's tree key and the key order. */
export interface GroupOrder {
  readonly rowsInOrder: () => Iterable<Row>;
  readonly keyOf: (row: Row) => IndexKey;
  readonly compare: (a: IndexKey, b: IndexKey) => number;
  /**
   * What tells two rows apart: the row object itself when absent (an engine that stores each row
   * object once), else a value such as the primary key (an engine that decodes rows anew).
   */
  readonly identity?: ((row: Row) => unknown) | undefined;
}

// Not frozen: a frozen array has another elements kind (hot loops read these arrays).
const NO_ROWS: readonly Row[] = [];
/** Groups up to this size take every change in place (a binary search and a short splice). */
const SMALL_GROUP = 64;

/**
 * One group. A large group takes changes lazily — an out-of-order row is appended and the group
 * marked unsorted, a removed row is noted in `removed` — and is put right once, on its next read,
 * so loading or emptying a hub row by row stays linear instead of quadratic.
 */
interface Group {
  rows: Row[];
  sorted: boolean;
  /**
   * Rows taken out but still in `rows`, by identity (see `GroupOrder.identity`): `null` when the
   * row is gone, or the row that took its place (taken out and put back before the group was
   * settled: a rollback, or an update of the row).
   */
  removed: Map<unknown, Row | null> | undefined;
}

/**
 * Rows grouped by the value at `position`.
 *
 * @example
 * ```ts
 * const byFollower = new ColumnGroups(0, { rowsInOrder: () => follows.valuesArray(), keyOf, compare });
 * byFollower.rowsOf(7); // the follows rows with follower = 7, in key order
 * ```
 */
export class ColumnGroups implements RowObserver {
  /** The groups by cell: small non-negative integers (ids) index an array (dense-key-map.ts). */
  private readonly groups = new DenseKeyMap<Group>();

  constructor(
    readonly position: number,
    private readonly order: GroupOrder,
  ) {
    this.regroup();
  }

  /** Groups the index's rows, which come in index order (a tree walk): appends only, no search. */
  private regroup(): void {
    const { groups, position } = this;
    groups.clear();
    for (const row of this.order.rowsInOrder()) {
      const cell = normCell(row[position]!);
      const group = groups.get(cell);
      if (group === undefined) groups.set(cell, { rows: [row], sorted: true, removed: undefined });
      else group.rows.push(row);
    }
  }

  replaced(old: Row, row: Row): void {
    this.removed(old);
    this.added(row);
  }

  /** The table changed in bulk: regroup from the index (its trees are already rebuilt). */
  reset(): void {
    this.regroup();
  }

  /** The rows whose column equals `cell` (a normalized key cell), in index order. */
  rowsOf(cell: KeyCell): readonly Row[] {
    const group = this.groups.get(cell);
    if (group === undefined) return NO_ROWS;
    if (group.removed !== undefined || !group.sorted) this.settle(cell, group);
    return group.rows;
  }

  /** Adds a row that the table has just stored. */
  added(row: Row): void {
    const cell = normCell(row[this.position]!);
    const group = this.groups.get(cell);
    if (group === undefined) {
      this.groups.set(cell, { rows: [row], sorted: true, removed: undefined });
      return;
    }
    // Taken out and put back (a rollback, an update) before the group was settled: it never
    // left `rows`, and takes the place of the row there.
    if (group.removed !== undefined) {
      const id = this.identityOf(row);
      if (group.removed.has(id)) {
        if (this.order.identity === undefined) group.removed.delete(id);
        else group.removed.set(id, row);
        return;
      }
    }
    const rows = group.rows;
    const key = this.order.keyOf(row);
    // Appends are the common case (rows arriving in key order).
    if (group.sorted && this.order.compare(this.order.keyOf(rows[rows.length - 1]!), key) < 0) {
      rows.push(row);
      return;
    }
    if (rows.length > SMALL_GROUP || group.removed !== undefined || !group.sorted) {
      rows.push(row);
      group.sorted = false;
      return;
    }
    rows.splice(this.search(rows, key), 0, row);
  }

  /** Removes a row that the table has just removed (the stored row object itself). */
  removed(row: Row): void {
    const cell = normCell(row[this.position]!);
    const group = this.groups.get(cell);
    if (group === undefined) return;
    const rows = group.rows;
    if (rows.length > SMALL_GROUP || group.removed !== undefined || !group.sorted) {
      (group.removed ??= new Map()).set(this.identityOf(row), null);
      // Settle before the notes outgrow the group.
      if (group.removed.size > rows.length >> 1) this.settle(cell, group);
      return;
    }
    const at = this.search(rows, this.order.keyOf(row));
    if (at < rows.length && this.order.compare(this.order.keyOf(rows[at]!), this.order.keyOf(row)) === 0) {
      rows.splice(at, 1);
      if (rows.length === 0) this.groups.delete(cell);
    }
  }

  /** Applies a group's noted removals and restores its index order. */
  private settle(cell: KeyCell, group: Group): void {
    let rows = group.rows;
    if (group.removed !== undefined) {
      const removed = group.removed;
      const kept: Row[] = [];
      for (const r of rows) {
        const id = this.identityOf(r);
        const note = removed.get(id);
        if (note === undefined) kept.push(r);
        else if (note !== null) {
          kept.push(note);
          removed.delete(id);
        }
      }
      rows = kept;
      group.removed = undefined;
    }
    if (!group.sorted) {
      const keyed = rows.map((r) => ({ key: this.order.keyOf(r), row: r }));
      keyed.sort((a, b) => this.order.compare(a.key, b.key));
      rows = keyed.map((k) => k.row);
      group.sorted = true;
    }
    group.rows = rows;
    if (rows.length === 0) this.groups.delete(cell);
  }

  private identityOf(row: Row): unknown {
    const id = this.order.identity;
    return id === undefined ? row : id(row);
  }

  /** The first position in `rows` whose tree key is >= `key`. */
  private search(rows: readonly Row[], key: IndexKey): number {
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.order.compare(this.order.keyOf(rows[mid]!), key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
