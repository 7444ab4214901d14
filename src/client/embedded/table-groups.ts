/**
 * A hash multi-index on one column: the table's rows grouped by that column's value, each group
 * in the order of the B+ tree index that serves the column. It is the adjacency list of a
 * relation (`follows` rows by `follower`, `posts` by `author`): one hash probe per lookup instead
 * of a tree descent over tuple keys, which is what graph hops do all the time.
 *
 * The table builds one lazily, on the first equality lookup of the column, and keeps it in step
 * with every row write; bulk changes (truncate, bulk load, rollback of either) drop it and the
 * next lookup rebuilds it from the tree.
 */
import type { IndexKey, KeyCell } from "./table-keys.js";
import { normCell } from "./table-keys.js";
import type { Row } from "./table-schema.js";

/** The index order within a group: the tree key of a row and its comparison. */
export interface GroupOrder {
  readonly keyOf: (row: Row) => IndexKey;
  readonly compare: (a: IndexKey, b: IndexKey) => number;
}

const NO_ROWS: readonly Row[] = Object.freeze([]);

/**
 * Rows grouped by the value at `position`.
 *
 * @example
 * ```ts
 * const byFollower = ColumnGroups.build(0, order, followsRowsInKeyOrder);
 * byFollower.rowsOf(7); // the follows rows with follower = 7, in key order
 * ```
 */
export class ColumnGroups {
  private readonly groups = new Map<KeyCell, Row[]>();

  private constructor(
    readonly position: number,
    private readonly order: GroupOrder,
  ) {}

  /** Groups rows that are already in index order (a tree walk): appends only, no search. */
  static build(position: number, order: GroupOrder, rowsInOrder: Iterable<Row>): ColumnGroups {
    const g = new ColumnGroups(position, order);
    const groups = g.groups;
    for (const row of rowsInOrder) {
      const cell = normCell(row[position]!);
      const group = groups.get(cell);
      if (group === undefined) groups.set(cell, [row]);
      else group.push(row);
    }
    return g;
  }

  /** The rows whose column equals `cell` (a normalized key cell), in index order. */
  rowsOf(cell: KeyCell): readonly Row[] {
    return this.groups.get(cell) ?? NO_ROWS;
  }

  /** Adds a row that the table has just stored. */
  add(row: Row): void {
    const cell = normCell(row[this.position]!);
    const group = this.groups.get(cell);
    if (group === undefined) {
      this.groups.set(cell, [row]);
      return;
    }
    const key = this.order.keyOf(row);
    const last = group[group.length - 1]!;
    // Appends are the common case (rows arriving in key order); otherwise binary insertion.
    if (this.order.compare(this.order.keyOf(last), key) < 0) {
      group.push(row);
      return;
    }
    group.splice(this.search(group, key), 0, row);
  }

  /** Removes a row that the table has just removed (found by its tree key, which is unique). */
  remove(row: Row): void {
    const cell = normCell(row[this.position]!);
    const group = this.groups.get(cell);
    if (group === undefined) return;
    if (group.length === 1) {
      if (group[0] === row || this.order.compare(this.order.keyOf(group[0]!), this.order.keyOf(row)) === 0) {
        this.groups.delete(cell);
      }
      return;
    }
    const key = this.order.keyOf(row);
    const at = this.search(group, key);
    if (at < group.length && this.order.compare(this.order.keyOf(group[at]!), key) === 0) group.splice(at, 1);
  }

  /** The first position in `group` whose tree key is >= `key`. */
  private search(group: readonly Row[], key: IndexKey): number {
    let lo = 0;
    let hi = group.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.order.compare(this.order.keyOf(group[mid]!), key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
