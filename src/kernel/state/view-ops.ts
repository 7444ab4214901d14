/**
 * Two view route extensions (listed in `src/orm/README.md`, each with a core lowering the ORM can
 * emit instead, proven equivalent by `tests/orm/lowerings.test.ts`):
 *
 * - `GET <view>/filter` with key `[[col, op, value], …]` (ANDed; ops `= != < <= > >= in isNull
 *   isNotNull`): the rows that pass, in the view's order. SQL-like nulls: a null cell passes only
 *   `isNull` (every comparison and `in` with a null cell is false). Compare is type-aware: numbers
 *   numerically, strings by code point, `false < true`, links by href.
 * - `GET <view>/sort` with key `[[cols…], reverse]`: the view's rows sorted by any columns,
 *   stable (ties keep the view's order), nulls first ascending (last when `reverse`).
 *
 * Both return a `DerivedView`: a lazy `TableView` whose rows come from its source view, so it
 * chains like any view (`limit`, `select`, `rows`, `count`, `is_empty`, `filter`, `sort`, …).
 * Rows are produced only when asked for; a sort reads its source once per iteration.
 */
import { BadRequestError } from "../../errors.js";
import type { Verb } from "../../ir/types.js";
import { compareCells, normCell, operandKey, type KeyCell } from "../storage/index-keys.js";
import type { Column, Row } from "../storage/table-schema.js";
import { describeValue } from "../storage/table-schema.js";
import { TableView } from "./table-view.js";

type Source = (visit: (row: Row) => boolean | void) => void;

/**
 * A view computed from another view (filtered or sorted), optionally limited and projected.
 *
 * @example
 * ```ts
 * const v = viewOpRoute(txn.request("get", ["app", "t"], null, undefined) as TableView, "get", "filter", [["age", ">", 30]], "/state/app/t/filter");
 * (v as TableView).rows(); // rows with age > 30, in key order
 * ```
 */
export class DerivedView extends TableView {
  constructor(
    base: TableView,
    /** Visits the derived full rows in order; `visit` returns true to stop. */
    readonly source: Source,
    limitCount: number | undefined,
    projection: readonly Column[] | undefined,
  ) {
    super(base.table, base.plan, limitCount, projection);
  }

  override forEachFullRow(visit: (row: Row) => boolean | void): void {
    const limit = this.limitCount;
    if (limit === 0) return;
    if (limit === undefined) {
      this.source(visit);
      return;
    }
    let n = 0;
    this.source((row) => {
      if (visit(row)) return true;
      return ++n >= limit;
    });
  }

  override count(): number {
    let n = 0;
    this.forEachFullRow(() => {
      n++;
    });
    return n;
  }
}

const FILTER_OPS = new Set(["=", "!=", "<", "<=", ">", ">=", "in", "isNull", "isNotNull"]);

function badOperand(col: Column, v: unknown, where: string): never {
  throw new BadRequestError(`${where}: column ${JSON.stringify(col.name)} (${col.kind}) cannot be compared with ${describeValue(v)}`);
}

/**
 * A cell value as the index compares it, checked against the column's type (`operandKey`).
 * (Called once per listed value of an `in`: no closure is made per call.)
 */
function operandCell(col: Column, v: unknown, where: string): KeyCell {
  const key = operandKey(col, v);
  return key === undefined ? badOperand(col, v, where) : key;
}

/** One predicate as a row test. */
function predicate(view: TableView, raw: unknown, where: string): (row: Row) => boolean {
  if (!Array.isArray(raw) || raw.length < 2 || raw.length > 3 || typeof raw[0] !== "string" || typeof raw[1] !== "string") {
    throw new BadRequestError(`${where}: a predicate is [column, op, value], got ${describeValue(raw)}`);
  }
  const [name, op] = raw as [string, string];
  const col = visibleColumn(view, name, where, "filter by");
  if (!FILTER_OPS.has(op)) {
    throw new BadRequestError(`${where}: unknown operator ${JSON.stringify(op)} (operators: ${[...FILTER_OPS].join(" ")})`);
  }
  const p = col.position;
  if (op === "isNull") return (row) => row[p] === null;
  if (op === "isNotNull") return (row) => row[p] !== null;
  if (raw.length !== 3 || raw[2] === null || raw[2] === undefined) {
    throw new BadRequestError(`${where}: ${name} ${op} needs a non-null value (use isNull / isNotNull to test for null)`);
  }
  if (op === "in") {
    if (!Array.isArray(raw[2])) throw new BadRequestError(`${where}: ${name} in takes a tuple of values, got ${describeValue(raw[2])}`);
    const cells = raw[2].map((v) => operandCell(col, v, where));
    // Made on the first row tested: a key-list lookup serving this predicate never tests one.
    let set: Set<KeyCell> | undefined;
    return (row) => {
      const c = row[p]!;
      return c !== null && (set ??= new Set(cells)).has(normCell(c));
    };
  }
  const v = operandCell(col, raw[2], where);
  const cmp = (row: Row): number => compareCells(normCell(row[p]!), v);
  switch (op) {
    case "=":
      return (row) => row[p] !== null && normCell(row[p]!) === v;
    case "!=":
      return (row) => row[p] !== null && normCell(row[p]!) !== v;
    case "<":
      return (row) => row[p] !== null && cmp(row) < 0;
    case "<=":
      return (row) => row[p] !== null && cmp(row) <= 0;
    case ">":
      return (row) => row[p] !== null && cmp(row) > 0;
    default:
      return (row) => row[p] !== null && cmp(row) >= 0;
  }
}

/** A column of the view's table that the view still shows (a projection hides the others). */
function visibleColumn(view: TableView, name: unknown, where: string, what: string): Column {
  const col = typeof name === "string" ? view.table.schema.column(name) : undefined;
  if (!col) throw new BadRequestError(`${where}: cannot ${what} unknown column ${describeValue(name)}`);
  if (view.projection && !view.projection.some((c) => c.name === col.name)) {
    throw new BadRequestError(`${where}: cannot ${what} ${JSON.stringify(col.name)}: it is not selected in this view`);
  }
  return col;
}

function filterView(view: TableView, key: unknown, where: string): DerivedView {
  if (!Array.isArray(key)) throw new BadRequestError(`${where}: filter takes a tuple of predicates [[column, op, value], …], got ${describeValue(key)}`);
  const all = key.map((p) => predicate(view, p, where));
  const lookup = keyListLookup(view, key, where);
  // The rows a key-list lookup reads pass its `in` predicate by construction: not tested again.
  const tests = lookup === undefined ? all : all.filter((_, i) => i !== lookup.used);
  const n = tests.length;
  const pass =
    n === 1
      ? tests[0]!
      : (row: Row): boolean => {
          for (let i = 0; i < n; i++) if (!tests[i]!(row)) return false;
          return true;
        };
  const source: Source =
    lookup !== undefined
      ? n === 0
        ? lookup.source
        : (visit) => lookup.source((row) => (pass(row) ? visit(row) : undefined))
      : (visit) => view.forEachFullRow((row) => (pass(row) ? visit(row) : undefined));
  return new DerivedView(view, source, undefined, view.projection);
}

/**
 * `in` on the leading key column of a whole table's view: the listed keys are read by point
 * lookups (sorted, so the rows come in key order, as a scan would give them) instead of testing
 * every row — `id in (…1,000 keys)` costs 1,000 lookups, not a pass over the table.
 */
function keyListLookup(view: TableView, key: unknown[], where: string): { source: Source; used: number } | undefined {
  if (view instanceof DerivedView || view.limitCount !== undefined) return undefined;
  const plan = view.plan;
  const table = view.table;
  if (!plan.index.primary || plan.point !== undefined || plan.group !== undefined || plan.low !== undefined || plan.high !== undefined) return undefined;
  if (plan.filter !== undefined || plan.reverse) return undefined;
  const lead = table.schema.keyColumns[0]!;
  const used = key.findIndex((q) => Array.isArray(q) && q[0] === lead.name && q[1] === "in" && Array.isArray(q[2]));
  if (used < 0) return undefined;
  const p = key[used] as [string, string, unknown[]];
  const cells = sortedCells(p[2].map((v) => operandCell(lead, v, where)));
  if (table.schema.keyColumns.length === 1) {
    return {
      used,
      source: (visit) => {
        for (const c of cells) {
          const row = table.get(c);
          if (row !== undefined && visit(row)) return;
        }
      },
    };
  }
  const byLead = table.equalityLookup([lead.name]);
  return {
    used,
    source: (visit) => {
      const rows: Row[] = [];
      for (const c of cells) {
        rows.length = 0;
        byLead([c], rows);
        for (const row of rows) if (visit(row)) return;
      }
    },
  };
}

/**
 * The distinct `cells` in key order. All numbers (the common key list) are sorted as a
 * Float64Array: its numeric sort is several times faster than `compareCells` as a comparator on
 * a list of a thousand keys. (`operandCell` refuses NaN; -0 and 0, one key, are equal to `!==`
 * and so kept once, as the `Set` keeps them.)
 */
function sortedCells(cells: KeyCell[]): KeyCell[] {
  let numbers = true;
  for (let i = 0; i < cells.length && numbers; i++) numbers = typeof cells[i] === "number";
  if (!numbers) return [...new Set(cells)].sort(compareCells);
  const sorted = Float64Array.from(cells as number[]).sort();
  const out: KeyCell[] = [];
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) out.push(sorted[i]!);
  return out;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Compares rows `a`, `b` (positions) by one column's normalized keys: the index order
 * (`compareCells`), with fast paths when the column holds only numbers, or only strings without
 * surrogates (then UTF-16 order is code point order), besides nulls (first).
 */
function columnCompare(k: KeyCell[]): (a: number, b: number) => number {
  let numbers = true;
  let plainStrings = true;
  for (const v of k) {
    if (v === null) continue;
    if (typeof v !== "number") numbers = false;
    if (typeof v !== "string" || SURROGATE.test(v)) plainStrings = false;
    if (!numbers && !plainStrings) break;
  }
  if (!numbers && !plainStrings) return (a, b) => compareCells(k[a]!, k[b]!);
  const ks = k as (number | string | null)[];
  return (a, b) => {
    const x = ks[a]!;
    const y = ks[b]!;
    if (x === y) return 0;
    if (x === null) return -1;
    if (y === null) return 1;
    return x < y ? -1 : 1;
  };
}

function sortView(view: TableView, key: unknown, where: string): DerivedView {
  if (!Array.isArray(key) || key.length !== 2 || !Array.isArray(key[0]) || typeof key[1] !== "boolean" || key[0].length === 0) {
    throw new BadRequestError(`${where}: sort takes [[columns…], reverse] with at least one column, got ${describeValue(key)}`);
  }
  const positions = (key[0] as unknown[]).map((n) => visibleColumn(view, n, where, "sort by").position);
  const sign = key[1] ? -1 : 1;
  const source: Source = (visit) => {
    const rows: Row[] = [];
    view.forEachFullRow((row) => {
      rows.push(row);
    });
    // Sort positions by keys normalized once per row; ties by position keep the source order.
    const cmps = positions.map((p) => columnCompare(rows.map((r) => normCell(r[p]!))));
    const order = rows.map((_, i) => i);
    order.sort((a, b) => {
      for (const cmp of cmps) {
        const c = cmp(a, b);
        if (c !== 0) return sign * c;
      }
      return a - b;
    });
    for (const i of order) if (visit(rows[i]!)) return;
  };
  return new DerivedView(view, source, undefined, view.projection);
}

/**
 * The `filter` and `sort` routes on any view (a table link routes here with its whole-table view).
 * Returns `undefined` for other routes.
 */
export function viewOpRoute(view: TableView, verb: Verb, route: string, key: unknown, where: string): TableView | undefined {
  if (route !== "filter" && route !== "sort") return undefined;
  if (verb !== "get") throw new BadRequestError(`${where}: ${verb.toUpperCase()} is not allowed on route ${JSON.stringify(route)} (allowed: GET)`);
  return route === "filter" ? filterView(view, key, where) : sortView(view, key, where);
}

/**
 * The routes of a `DerivedView` that the plain view routes cannot serve (they rebuild a view from
 * its scan plan, which would drop the filter or sort): `limit`, `select`, `order`, and selectors.
 * Returns `undefined` for routes that only read the view's rows or schema (`rows`, `count` /
 * `contains` with key null, `is_empty`, `schema`, …), which the plain routes then serve.
 */
export function derivedViewRoute(view: DerivedView, verb: Verb, route: string, key: unknown): TableView | undefined {
  const where = `${view.table.path} (derived view)/${route}`;
  switch (route) {
    case "filter":
    case "sort":
      return viewOpRoute(view, verb, route, key, where);
    case "limit": {
      if (verb !== "get") break;
      if (typeof key !== "number" || !Number.isInteger(key) || key < 0) {
        throw new BadRequestError(`${where}: a limit is a non-negative integer, got ${describeValue(key)}`);
      }
      const limit = view.limitCount === undefined ? key : Math.min(view.limitCount, key);
      return new DerivedView(view, view.source, limit, view.projection);
    }
    case "select": {
      if (verb !== "get") break;
      if (!Array.isArray(key) || key.length === 0) {
        throw new BadRequestError(`${where}: select takes a non-empty tuple of column names, got ${describeValue(key)}`);
      }
      const seen = new Set<string>();
      const cols = key.map((n) => {
        const col = visibleColumn(view, n, where, "select");
        if (seen.has(col.name)) throw new BadRequestError(`${where}: column ${JSON.stringify(col.name)} is selected twice`);
        seen.add(col.name);
        return col;
      });
      return new DerivedView(view, view.source, view.limitCount, cols);
    }
    case "order":
      throw new BadRequestError(`${where}: a filtered or sorted view has no index order; use sort`);
    case "rows":
    case "is_empty":
    case "schema":
    case "columns":
    case "key_names":
    case "key_columns":
      return undefined;
    case "count":
    case "contains":
      if (key === null) return undefined;
      break;
    case "":
      // Key null: the plain routes read or write the view's rows (`forEachFullRow`), so
      // `PUT <view> null {col: v}` updates and `DELETE <view> null` deletes exactly these rows.
      if (key === null) return undefined;
      break;
    default:
      return undefined;
  }
  throw new BadRequestError(`${where}: ${verb.toUpperCase()} with key ${describeValue(key)} is not supported on a filtered or sorted view (a selector on it would drop the filter; filter first, then select ranges on the table)`);
}
