/**
 * Prepared equality lookups: the index is picked once, by the table's index-support rule, and
 * each call reads the rows with no plan or constraint objects — a point get, the hash
 * multi-index of the leading column, or the engine's prefix walk (a B+ tree walk on the heap, a
 * key-prefix range in lmdb).
 */
import { BadRequestError } from "../../errors.js";
import type { ColumnGroups } from "./column-groups.js";
import type { IndexKey, KeyCell } from "./index-keys.js";
import type { ColumnConstraint, ScanPlan } from "./scan-plan.js";
import type { TableIndex } from "./table-index.js";
import type { Row, TableSchema } from "./table-schema.js";

/** Appends to `out` the rows of an equality-prefix lookup (see `Table.equalityLookup`). */
export type EqualityLookup = (cells: readonly KeyCell[], out: Row[]) => void;

/** What a lookup reads of a table (either engine's `Table`). */
export interface LookupTable {
  readonly path: string;
  readonly schema: TableSchema;
  get(key: IndexKey): Row | undefined;
  plan(constraints: readonly ColumnConstraint[]): ScanPlan;
  scan(plan: ScanPlan, visit: (row: Row) => boolean | void): void;
  columnGroups(ix: TableIndex): ColumnGroups;
  prefixRows(ix: TableIndex, prefix: readonly KeyCell[], out: Row[]): void;
}

/**
 * Prepares an equality lookup on `cols` (in any order): the index is picked once, by the same
 * rule as `Table.plan` (and a lookup no index serves fails the same way, with its 400). The
 * returned function appends to `out`, in index order, every row whose `cols` equal `cells`
 * (normalized key cells, in `cols` order) — no plan or constraint objects per call: a point get,
 * the hash multi-index, or the engine's prefix walk.
 *
 * @example
 * ```ts
 * const byFollower = prepareEqualityLookup(follows, ["follower"]);
 * const out: Row[] = [];
 * byFollower([7], out); // every follows row with follower = 7, in key order
 * ```
 */
export function prepareEqualityLookup(table: LookupTable, cols: readonly string[]): EqualityLookup {
  const n = cols.length;
  const constraints: ColumnConstraint[] = cols.map((name) => {
    const column = table.schema.column(name);
    if (!column) throw new BadRequestError(`${table.path} has no column ${name}`);
    return { column, eq: true, value: null };
  });
  const probe = table.plan(constraints);
  const ix = probe.index;
  const treeLen = ix.keyPositions.length;
  if (n > treeLen || new Set(cols).size !== n) {
    // Columns past the tree key (a residual filter) or a repeated column: the general path.
    return (cells, out) => {
      const cs: ColumnConstraint[] = new Array(n);
      for (let i = 0; i < n; i++) cs[i] = { column: constraints[i]!.column, eq: true, value: cells[i]! };
      table.scan(table.plan(cs), (row) => {
        out.push(row);
      });
    };
  }
  // `perm[j]` = the position in `cols` of the index's j-th column.
  const perm = ix.columns.slice(0, n).map((c) => cols.indexOf(c.name));
  if (ix.scalar) {
    // A single-column primary key: a point get (hash map when present).
    return (cells, out) => {
      const row = table.get(cells[0]!);
      if (row !== undefined) out.push(row);
    };
  }
  if (ix.primary && n === treeLen) {
    const key = new Array<KeyCell>(n);
    return (cells, out) => {
      for (let j = 0; j < n; j++) key[j] = cells[perm[j]!]!;
      const row = table.get(key);
      if (row !== undefined) out.push(row);
    };
  }
  if (n === 1) {
    // One column leading a tuple-keyed index (a foreign key): the hash multi-index.
    return (cells, out) => {
      const rows = table.columnGroups(ix).rowsOf(cells[0]!);
      for (let i = 0; i < rows.length; i++) out.push(rows[i]!);
    };
  }
  const prefix = new Array<KeyCell>(n);
  return (cells, out) => {
    for (let j = 0; j < n; j++) prefix[j] = cells[perm[j]!]!;
    table.prefixRows(ix, prefix, out);
  };
}
