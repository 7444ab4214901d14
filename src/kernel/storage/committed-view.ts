/**
 * A read-only table over a durable table's committed state (lmdb and the commits not yet durable,
 * without the open transaction's overlay): what `LmdbTable.committed()` hands to a reader that
 * must not wait for an open session. It inherits everything that does not read rows (schema,
 * indexes, planning, key helpers) from the table by prototype, and reads rows only through the
 * table's `committedGet` / `committedScan`. Writes and derived structures are refused: the view
 * serves plain reads, never a traversal or a write.
 */
import { BadRequestError, InternalError } from "../../errors.js";
import type { EqualityLookup } from "./equality-lookup.js";
import type { IndexKey } from "./index-keys.js";
import type { ColumnConstraint, ScanPlan } from "./scan-plan.js";
import type { Table } from "./table-engine.js";
import type { Row } from "./table-schema.js";

/** A table that can read its committed state apart from the open transaction's writes. */
export interface CommittedSource extends Table {
  committedGet(key: IndexKey): Row | undefined;
  committedScan(plan: ScanPlan, visit: (row: Row) => boolean | void): void;
}

/**
 * The committed view of `table`.
 *
 * @example
 * ```ts
 * const view = committedView(users);        // users: an LmdbTable inside an open session
 * view.get(7);                              // the row as last committed, whatever the session wrote
 * ```
 */
export function committedView(table: CommittedSource): Table {
  const view = Object.create(table) as Table;
  const readOnly = (): never => {
    throw new BadRequestError(`${table.path}: a read of the committed state cannot write`);
  };
  const noDerived = (): never => {
    throw new InternalError(`${table.path}: the committed view keeps no derived structures`);
  };
  const count = (plan: ScanPlan): number => {
    let n = 0;
    table.committedScan(plan, () => {
      n++;
    });
    return n;
  };
  const equalityLookup = (cols: readonly string[]): EqualityLookup => {
    const columns = cols.map((name) => {
      const column = table.schema.column(name);
      if (!column) throw new BadRequestError(`${table.path} has no column ${name}`);
      return column;
    });
    table.plan(columns.map((column) => ({ column, eq: true, value: null }))); // a 400 when no index serves it
    return (cells, out) => {
      const cs: ColumnConstraint[] = columns.map((column, i) => ({ column, eq: true, value: cells[i]! }));
      table.committedScan(table.plan(cs), (row) => {
        out.push(row);
      });
    };
  };
  Object.defineProperties(view, {
    get: { value: (key: IndexKey) => table.committedGet(key) },
    has: { value: (key: IndexKey) => table.committedGet(key) !== undefined },
    scan: { value: (plan: ScanPlan, visit: (row: Row) => boolean | void) => table.committedScan(plan, visit) },
    count: { value: count },
    size: { get: () => count(table.plan([])) },
    equalityLookup: { value: equalityLookup },
    prefixRows: { value: noDerived },
    derived: { value: noDerived },
    derivedBy: { value: noDerived },
    replaceDerived: { value: noDerived },
    columnGroups: { value: noDerived },
    write: { value: readOnly },
    remove: { value: readOnly },
    restoreRow: { value: readOnly },
    truncate: { value: readOnly },
    restoreState: { value: readOnly },
    insertMany: { value: readOnly },
    preserveCommitted: { value: () => undefined },
    committed: { value: () => view },
    releaseCommitted: { value: () => undefined },
  });
  return view;
}
