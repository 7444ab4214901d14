/**
 * Scan plans: which index serves a set of column constraints (the index-support rule), and the
 * key range, residual filter and direction of the scan on it. Planning reads the indexes'
 * columns only, never their rows.
 */
import { BadRequestError } from "../../errors.js";
import { type IndexKey, type KeyCell, MAX, compareCells, normCell } from "./index-keys.js";
import type { TableIndex } from "./table-index.js";
import type { Column, Row } from "./table-schema.js";

/** One end of a range on a column. */
export interface Bound {
  readonly value: KeyCell;
  readonly inclusive: boolean;
}

/** What a range selector says about one column: equality, or lower/upper bounds (absent = open). */
export interface ColumnConstraint {
  readonly column: Column;
  readonly eq: boolean;
  /** The equality value (when `eq`). */
  readonly value?: KeyCell;
  readonly lo?: Bound;
  readonly hi?: Bound;
}

/** How to read rows: a key range on one index, an optional residual filter, a direction. */
export interface ScanPlan {
  readonly index: TableIndex;
  /** Exact primary key when the selector names one row. */
  readonly point: IndexKey | undefined;
  /**
   * Set when the plan is equality on the one column leading a tuple-keyed index and nothing else
   * on the tree key: the rows are that column's group in the index's hash multi-index (same rows,
   * same order as the key range `low`..`high`, without a tree descent).
   */
  readonly group: { readonly cell: KeyCell } | undefined;
  readonly low: IndexKey | undefined;
  readonly lowInclusive: boolean;
  readonly high: IndexKey | undefined;
  readonly highInclusive: boolean;
  readonly filter: ((row: Row) => boolean) | undefined;
  readonly reverse: boolean;
  readonly constraints: readonly ColumnConstraint[];
  /** Columns the plan was asked to order by (`undefined` = the index's natural order). */
  readonly order: readonly string[] | undefined;
}

/**
 * Picks the first of `indexes` that serves `constraints` (and `order`, when given) and builds the
 * scan plan; 400 naming the columns and the existing indexes when none does. The rule: equality
 * on a prefix of the index's columns, then at most one range on the next one.
 *
 * @example
 * ```ts
 * const plan = planScan(t.path, t.indexes, [{ column: t.schema.column("author")!, eq: true, value: 7 }]);
 * plan.index.name; // "by_author"
 * ```
 */
export function planScan(
  path: string,
  indexes: readonly TableIndex[],
  constraints: readonly ColumnConstraint[],
  order?: readonly string[],
  reverse = false,
): ScanPlan {
  const byName = new Map(constraints.map((c) => [c.column.name, c]));
  for (const ix of indexes) {
    const covered = supportedPrefix(ix, byName);
    if (covered < 0) continue;
    if (order !== undefined && !orderSupported(ix, byName, order)) continue;
    return buildPlan(ix, byName, covered, constraints, order, reverse);
  }
  const cols = constraints.map((c) => `${c.column.name}${c.eq ? " (equality)" : " (range)"}`).join(", ");
  const what = order === undefined ? `a selector on ${cols}` : constraints.length ? `a selector on ${cols} ordered by (${order.join(", ")})` : `ordering by (${order.join(", ")})`;
  throw new BadRequestError(
    `${path} has no index which supports ${what}; a range needs equality on a prefix of one index's columns, then at most one range on the next; indexes: ${describeIndexes(indexes)}`,
  );
}

/**
 * True when `row` satisfies every constraint.
 *
 * @example
 * ```ts
 * rowMatches([{ column: age, eq: false, lo: { value: 18, inclusive: true } }], row); // age >= 18
 * ```
 */
export function rowMatches(constraints: readonly ColumnConstraint[], row: Row): boolean {
  return constraints.length === 0 || rowFilter(constraints)(row);
}

/** Lists the indexes, for error messages: `primary (name, views), views (views, name)`. */
function describeIndexes(indexes: readonly TableIndex[]): string {
  return indexes.map((ix) => `${ix.name} (${ix.columns.map((c) => c.name).join(", ")})`).join(", ");
}

/** How many leading columns of `ix` the constraints cover, or -1 when `ix` cannot serve them all. */
function supportedPrefix(ix: TableIndex, byName: Map<string, ColumnConstraint>): number {
  let covered = 0;
  for (const col of ix.columns) {
    const c = byName.get(col.name);
    if (!c) break;
    covered++;
    if (!c.eq) break;
  }
  return covered === byName.size ? covered : -1;
}

/** True when `ix`, past the columns fixed by equality, lists the `order` columns in order. */
function orderSupported(ix: TableIndex, byName: Map<string, ColumnConstraint>, order: readonly string[]): boolean {
  let e = 0;
  while (e < ix.columns.length && byName.get(ix.columns[e]!.name)?.eq) e++;
  let start = 0;
  while (start < order.length && byName.get(order[start]!)?.eq) start++;
  for (let i = start; i < order.length; i++) {
    const col = ix.columns[e + i - start];
    if (!col || col.name !== order[i]) return false;
  }
  return true;
}

/** The plan on `ix`, whose first `covered` columns the constraints cover. */
function buildPlan(
  ix: TableIndex,
  byName: Map<string, ColumnConstraint>,
  covered: number,
  constraints: readonly ColumnConstraint[],
  order: readonly string[] | undefined,
  reverse: boolean,
): ScanPlan {
  const treeLen = ix.keyPositions.length;
  const prefix: KeyCell[] = [];
  let range: ColumnConstraint | undefined;
  const residual: ColumnConstraint[] = [];
  for (let i = 0; i < covered; i++) {
    const c = byName.get(ix.columns[i]!.name)!;
    if (i >= treeLen) residual.push(c);
    else if (c.eq) prefix.push(c.value!);
    else range = c;
  }
  const filter = residual.length ? rowFilter(residual) : undefined;
  if (ix.scalar) {
    if (prefix.length === 1) return planOf(ix, prefix[0]!, undefined, prefix[0]!, true, prefix[0]!, true, filter, reverse, constraints, order);
    return planOf(ix, undefined, undefined, range?.lo?.value, range?.lo?.inclusive ?? true, range?.hi?.value, range?.hi?.inclusive ?? true, filter, reverse, constraints, order);
  }
  const point = ix.primary && prefix.length === treeLen ? prefix : undefined;
  if (prefix.length === 1 && range === undefined && treeLen > 1) {
    return planOf(ix, undefined, { cell: prefix[0]! }, prefix, true, [...prefix, MAX], false, filter, reverse, constraints, order);
  }
  let low: IndexKey | undefined = prefix.length ? prefix : undefined;
  let high: IndexKey | undefined = prefix.length ? [...prefix, MAX] : undefined;
  if (range?.lo) low = range.lo.inclusive ? [...prefix, range.lo.value] : [...prefix, range.lo.value, MAX];
  if (range?.hi) high = range.hi.inclusive ? [...prefix, range.hi.value, MAX] : [...prefix, range.hi.value];
  return planOf(ix, point, undefined, low, true, high, false, filter, reverse, constraints, order);
}

/** A scan plan; every plan has the same object shape (`group` present even when unset). */
function planOf(
  index: TableIndex,
  point: IndexKey | undefined,
  group: { readonly cell: KeyCell } | undefined,
  low: IndexKey | undefined,
  lowInclusive: boolean,
  high: IndexKey | undefined,
  highInclusive: boolean,
  filter: ((row: Row) => boolean) | undefined,
  reverse: boolean,
  constraints: readonly ColumnConstraint[],
  order: readonly string[] | undefined,
): ScanPlan {
  return { index, point, group, low, lowInclusive, high, highInclusive, filter, reverse, constraints, order };
}

/** A row test for the constraints past an index's tree key (and for `rowMatches`). */
function rowFilter(residual: readonly ColumnConstraint[]): (row: Row) => boolean {
  return (row) => {
    for (const c of residual) {
      const v = normCell(row[c.column.position]!);
      if (c.eq) {
        if (compareCells(v, c.value!) !== 0) return false;
        continue;
      }
      if (c.lo) {
        const d = compareCells(v, c.lo.value);
        if (d < 0 || (d === 0 && !c.lo.inclusive)) return false;
      }
      if (c.hi) {
        const d = compareCells(v, c.hi.value);
        if (d > 0 || (d === 0 && !c.hi.inclusive)) return false;
      }
    }
    return true;
  };
}
