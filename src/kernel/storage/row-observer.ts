/**
 * The observer contract between a table and the structures kept beside it (hash multi-indexes,
 * key slots, relation slot lists): the table calls these after each change is applied, in the
 * order the observers were registered (see `Table.derived`).
 */
import type { Row } from "./table-schema.js";

/**
 * Receives every row change of a table after it is applied (rollbacks included: a rolled-back
 * row write arrives as `added`/`removed`/`replaced` of the row put back).
 *
 * @example
 * ```ts
 * class Count implements RowObserver {
 *   n = 0;
 *   added() { this.n++; }
 *   removed() { this.n--; }
 *   replaced() {}
 *   reset(rows: readonly Row[]) { this.n = rows.length; }
 * }
 * ```
 */
export interface RowObserver {
  added(row: Row): void;
  removed(row: Row): void;
  /** A row was replaced by one with the same key (an upsert or update). */
  replaced(old: Row, row: Row): void;
  /**
   * The table changed in bulk (truncate, bulk load or merge, a rollback of either): start over
   * from `rows`, the table's rows in primary key order; the table's trees are already rebuilt.
   */
  reset(rows: readonly Row[]): void;
}
