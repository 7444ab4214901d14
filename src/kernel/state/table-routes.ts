/**
 * What a request on a table or view path does: `/state/<ns>/<table>[/<route>]` (create, drop,
 * point and range reads and writes, `insert`, `insert_rows`, `traverse`, `query`) and the routes of a view
 * (`count`, `order`, `select`, `limit`, `rows`, `filter`, `sort`, …). Every write goes through
 * the transaction's undo log; the transaction (transaction.ts) makes each request atomic.
 */
import { alterTable } from "./alter-table.js";
import { traverseTableRoute } from "../traverse/table-store.js";
import type { RouteMeter } from "../ops/route-meter.js";
import { queryTableRoute } from "../query/query-route.js";
import { isReturningRoute, returningRoute } from "../query/returning-routes.js";
import type { EncodedJson } from "../ops/encoded-json.js";
import { DerivedView, derivedViewRoute, viewOpRoute } from "./view-ops.js";
import { BadRequestError, ConflictError, MethodNotAllowedError, NotFoundError } from "../../errors.js";
import { assertId } from "../../ir/id.js";
import type { Link, ScalarMap, Verb } from "../../ir/types.js";
import { PATHS } from "../../ir/types.js";
import { type Selector, parseIndexKey, parseSelector } from "./selector.js";
import { type ScanPlan, rowMatches } from "../storage/scan-plan.js";
import type { Table } from "../storage/table-engine.js";
import { type KeyCell, compareCells, compareTuples } from "../storage/index-keys.js";
import {
  type Column,
  type Row,
  type TableSchema,
  TableLiteral,
  checkCell,
  columnJson,
  describeValue,
  mapEntries,
  tableLiteral,
} from "../storage/table-schema.js";
import { TableView } from "./table-view.js";
import type { Catalog, UndoLog } from "./undo-log.js";

/** What a state request returns: primitives, links, tuples, maps and table views. */
export type StateValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Link
  | ScalarMap
  | TableView
  | readonly StateValue[];

/** What the table routes need from the database: its catalog and table ids. */
export interface TableHost extends Catalog {
  lookup(ns: string, name: string): Table | undefined;
  newTid(): number;
  /** A new, empty table of the database's engine, with a new id. */
  newTable(path: string, schema: TableSchema): Table;
  /** True with a durable store (its keys have a byte limit). */
  readonly durable: boolean;
}

function isSelectorKey(sel: Selector): sel is Extract<Selector, { kind: "key" }> {
  return sel.kind === "key";
}

function toStateValue(json: unknown): StateValue {
  if (Array.isArray(json)) return json.map(toStateValue);
  if (typeof json === "object" && json !== null) {
    const entries: Record<string, StateValue> = {};
    for (const [k, v] of Object.entries(json)) entries[k] = toStateValue(v);
    return { kind: "map", entries } as ScalarMap;
  }
  return json as StateValue;
}

function schemaValue(schema: TableSchema): StateValue {
  return toStateValue(schema.toJson());
}

/** A request on `/state/<ns>/<name>[/<route>]` where no table is: only a create is allowed. */
export function missingTableRoute(log: UndoLog, host: TableHost, verb: Verb, ns: string, name: string, route: string, key: unknown, value: unknown): StateValue {
  if (route === "" && verb === "put" && key === null) {
    create(log, host, ns, name, value);
    return null;
  }
  throw new NotFoundError(`table /state/${ns}/${name} not found`);
}

function create(log: UndoLog, host: TableHost, ns: string, name: string, value: unknown): void {
  assertId(ns, "namespace");
  assertId(name, "table name");
  const lit = asLiteral(value);
  const path = `/state/${ns}/${name}`;
  const existing = host.lookup(ns, name);
  if (existing) {
    if (existing.schema.canonical === lit.schema.canonical) return;
    conflict(path, existing.schema.canonical, lit.schema.canonical);
  }
  const table = host.newTable(path, lit.schema);
  const rows = lit.rows.map((r, i) => table.checkRow(r, `row ${i} of the table literal`));
  table.insertMany(rows, undefined);
  host.attach(ns, name, table);
  log.created(table, ns, name);
}

function drop(log: UndoLog, host: TableHost, table: Table, ns: string, name: string): void {
  host.detach(ns, name);
  log.dropped(table, ns, name);
}

/**
 * A request on an existing table: `route` is the segment after the table's path ("" for the
 * table itself). The traverse route may answer an `EncodedJson` (traverse/table-store.ts).
 */
export function tableRoute(
  log: UndoLog,
  host: TableHost,
  table: Table,
  ns: string,
  name: string,
  verb: Verb,
  route: string,
  key: unknown,
  value: unknown,
  meter?: RouteMeter,
): StateValue | EncodedJson {
  // Fast path: a point get by key (the hottest request).
  if (verb === "get" && route === "" && Array.isArray(key) && key.length === table.schema.keyColumns.length && !Array.isArray(key[0])) {
    return (table.get(parseIndexKey(table.schema, key, table.path)) ?? null) as StateValue;
  }
  switch (route) {
    case "":
      if (verb === "put") {
        if (key === null && isLiteralLike(value)) {
          create(log, host, ns, name, value);
          return null;
        }
        const sel = parseSelector(table.schema, key, table.path);
        if (isSelectorKey(sel)) {
          table.write(table.checkKeyValues(key, value), "upsert", log);
          return null;
        }
        update(log, allView(table, sel), value);
        return null;
      }
      if (verb === "delete") {
        if (key === null) {
          drop(log, host, table, ns, name);
          return null;
        }
        const sel = parseSelector(table.schema, key, table.path);
        if (sel.kind === "key") table.remove(table.keyFromCells(sel.key), log);
        else if (sel.kind === "all") table.truncate(log);
        else deleteRows(log, allView(table, sel));
        return null;
      }
      break;
    case "insert":
      if (verb !== "put") throw notAllowed(table.path, route, verb, "PUT");
      table.write(table.checkKeyValues(key, value), "insert", log);
      return null;
    case "insert_rows": {
      if (verb !== "put") throw notAllowed(table.path, route, verb, "PUT");
      if (key !== null) throw new BadRequestError(`${table.path}/insert_rows takes key null, got ${describeValue(key)}`);
      if (!Array.isArray(value)) {
        throw new BadRequestError(`${table.path}/insert_rows takes a tuple of row tuples, got ${describeValue(value)}`);
      }
      const rows = new Array<Row>(value.length);
      for (let i = 0; i < value.length; i++) rows[i] = table.checkRow(value[i], `row ${i}`);
      table.insertMany(rows, log);
      return null;
    }
    case "alter":
      // Extension: a schema change inside this transaction (alter-table.ts, PROFILE §6.13).
      if (verb !== "put") throw notAllowed(table.path, route, verb, "PUT");
      if (key !== null) throw new BadRequestError(`${table.path}/alter takes key null, got ${describeValue(key)}`);
      return alterTable(log, host, table, ns, name, value);
    case "traverse":
      // Extension: a whole graph traversal plan, read-only, inside this transaction (src/graph/README.md).
      return traverseTableRoute((n) => host.lookup(ns, n), ns, name, verb, key) as StateValue | EncodedJson;
    case "query":
      // Extension: a relational query plan, read-only, inside this transaction (PROFILE §6.11).
      return queryTableRoute((n) => host.lookup(ns, n), ns, name, verb, key, meter) as StateValue;
    case "insert_returning":
    case "update_returning":
    case "delete_returning":
      // Extension: writes answering the rows as written (PROFILE §6.12).
      if (isReturningRoute(route)) return returningRoute(log, (n) => host.lookup(ns, n), ns, table, route, verb, value, meter) as StateValue;
      break;
    default:
      break;
  }
  return viewRoute(log, allView(table, undefined), verb, route, key, value);
}

/** A request on a view (a whole table, or a value from an earlier step): `route` is "" or one segment. */
export function viewRoute(log: UndoLog, view: TableView, verb: Verb, route: string, key: unknown, value: unknown): StateValue {
  const table = view.table;
  const where = route ? `${table.path}/${route}` : table.path;
  // Extension: filtered/sorted views route limit/select/… themselves (src/kernel/state/view-ops.ts).
  const derived = view instanceof DerivedView ? derivedViewRoute(view, verb, route, key) : undefined;
  if (derived !== undefined) return derived;
  switch (route) {
    case "":
      if (verb === "get") {
        const sel = parseSelector(table.schema, key, where);
        if (sel.kind === "key") {
          const row = table.get(table.keyFromCells(sel.key));
          if (row === undefined) return null;
          if (viewContains(view, row)) return project(view, row);
          return null;
        }
        return sliceView(view, sel);
      }
      if (verb === "put") {
        const sel = parseSelector(table.schema, key, where);
        if (sel.kind === "key") throw new BadRequestError(`${where}: a view takes a range or null to update, not a key`);
        update(log, sliceView(view, sel), value);
        return null;
      }
      if (verb === "delete") {
        const sel = parseSelector(table.schema, key, where);
        if (sel.kind === "key") {
          const k = table.keyFromCells(sel.key);
          const row = table.get(k);
          if (row !== undefined && viewContains(view, row)) table.remove(k, log);
        } else deleteRows(log, sliceView(view, sel));
        return null;
      }
      throw notAllowed(where, route, verb, "GET, PUT or DELETE");
    case "count":
    case "contains":
    case "is_empty": {
      if (verb !== "get") throw notAllowed(where, route, verb, "GET");
      if (route === "is_empty") return view.isEmpty();
      const sel = parseSelector(table.schema, key, where);
      let n: number;
      if (sel.kind === "key") {
        const row = table.get(table.keyFromCells(sel.key));
        n = row !== undefined && viewContains(view, row) ? 1 : 0;
      } else {
        const v = sliceView(view, sel);
        n = route === "contains" ? (v.isEmpty() ? 0 : 1) : v.count();
      }
      return route === "contains" ? n > 0 : n;
    }
    case "order":
      if (verb !== "get") throw notAllowed(where, route, verb, "GET");
      return orderView(view, key, where);
    case "select":
      if (verb !== "get") throw notAllowed(where, route, verb, "GET");
      return selectView(view, key, where);
    case "filter":
    case "sort":
      // Extension: per-row filter / sort on any columns (src/kernel/state/view-ops.ts).
      return viewOpRoute(view, verb, route, key, where)!;
    case "limit": {
      if (verb !== "get") throw notAllowed(where, route, verb, "GET");
      if (typeof key !== "number" || !Number.isInteger(key) || key < 0) {
        throw new BadRequestError(`${where}: a limit is a non-negative integer, got ${describeValue(key)}`);
      }
      const limit = view.limitCount === undefined ? key : Math.min(view.limitCount, key);
      return new TableView(table, view.plan, limit, view.projection);
    }
    case "rows":
      if (verb !== "get") throw notAllowed(where, route, verb, "GET");
      return view.rows();
    case "schema":
      if (verb !== "get") throw notAllowed(where, route, verb, "GET");
      return schemaValue(view.schema);
    case "columns":
      if (verb !== "get") throw notAllowed(where, route, verb, "GET");
      return view.schema.columns.map((c) => toStateValue(columnJson(c)));
    case "key_names":
    case "key_columns":
      if (verb !== "get") throw notAllowed(where, route, verb, "GET");
      return view.schema.keyColumns.map((c) => c.name);
    default:
      break;
  }
  throw new NotFoundError(`${table.path} has no route ${JSON.stringify(route)}`);
}

function update(log: UndoLog, view: TableView, value: unknown): void {
  const table = view.table;
  if (view.projection) throw new BadRequestError(`${table.path}: cannot update through a projected view`);
  const entries = mapEntries(value);
  if (entries === undefined) {
    throw new BadRequestError(`${table.path}: an update by range takes a map {column: value}, got ${describeValue(value)}`);
  }
  const sets: [number, Row[number]][] = [];
  for (const [name, v] of Object.entries(entries)) {
    const col = table.schema.column(name);
    if (!col) throw new BadRequestError(`${table.path}: cannot update unknown column ${JSON.stringify(name)}`);
    if (col.isKey) throw new BadRequestError(`${table.path}: cannot update key column ${JSON.stringify(name)}`);
    sets.push([col.position, checkCell(col, v, table.path)]);
  }
  const olds: Row[] = [];
  view.forEachFullRow((r) => {
    olds.push(r);
  });
  const rows = new Array<Row>(olds.length);
  for (let i = 0; i < olds.length; i++) {
    const next = olds[i]!.slice();
    for (const [p, c] of sets) next[p] = c;
    rows[i] = next;
  }
  table.updateMany(olds, rows, log);
}

function deleteRows(log: UndoLog, view: TableView): void {
  const table = view.table;
  if (view.projection) throw new BadRequestError(`${table.path}: cannot delete through a projected view`);
  const olds: Row[] = [];
  view.forEachFullRow((r) => {
    olds.push(r);
  });
  table.removeMany(olds, log);
}

function conflict(path: string, existing: string, given: string): never {
  throw new ConflictErrorWithSchemas(path, existing, given);
}

class ConflictErrorWithSchemas extends ConflictError {
  constructor(path: string, existing: string, given: string) {
    super(`table ${path} already exists with schema ${existing}; the request gives schema ${given}`);
  }
}

function notAllowed(where: string, route: string, verb: Verb, allowed: string): MethodNotAllowedError {
  return new MethodNotAllowedError(
    `${where}: ${verb.toUpperCase()} is not allowed on ${route ? `route ${JSON.stringify(route)}` : "a table"} (allowed: ${allowed})`,
  );
}

/** The view of a whole table, or of the rows a selector picks. */
function allView(table: Table, sel: Selector | undefined): TableView {
  if (sel === undefined || sel.kind === "all") return new TableView(table, table.plan([]));
  if (sel.kind === "range") return new TableView(table, table.plan(sel.constraints));
  throw new BadRequestError(`${table.path}: expected a range selector`);
}

function viewContains(view: TableView, row: Row): boolean {
  const plan = view.plan;
  if (view.limitCount === undefined) return rowMatches(plan.constraints, row);
  // Rows compared by primary key: a durable table decodes a row anew on each read.
  const table = view.table;
  const key = table.primaryKeyOf(row);
  const same = table.primary.scalar
    ? (r: Row) => compareCells(table.primaryKeyOf(r) as KeyCell, key as KeyCell) === 0
    : (r: Row) => compareTuples(table.primaryKeyOf(r) as readonly KeyCell[], key as readonly KeyCell[]) === 0;
  let found = false;
  view.forEachFullRow((r) => {
    if (same(r)) {
      found = true;
      return true;
    }
  });
  return found;
}

function project(view: TableView, row: Row): StateValue {
  if (!view.projection) return row as StateValue;
  return view.projection.map((c) => row[c.position]!) as StateValue;
}

/** A view narrowed by a selector (all → the view itself). */
function sliceView(view: TableView, sel: Selector): TableView {
  if (sel.kind === "all") return view;
  if (sel.kind === "key") throw new BadRequestError(`${view.table.path}: expected a range selector`);
  if (view.limitCount !== undefined || view.projection) {
    throw new BadRequestError(`${view.table.path}: cannot slice a limited or projected view`);
  }
  const prior = view.plan.constraints;
  for (const c of sel.constraints) {
    if (prior.some((p) => p.column.name === c.column.name)) {
      throw new BadRequestError(`${view.table.path}: column ${JSON.stringify(c.column.name)} is already constrained by this view`);
    }
  }
  const plan: ScanPlan = view.table.plan([...prior, ...sel.constraints], view.plan.order, view.plan.reverse);
  return new TableView(view.table, plan);
}

function orderView(view: TableView, key: unknown, where: string): TableView {
  let cols: unknown;
  let reverse: unknown = false;
  if (Array.isArray(key) && key.length === 2 && Array.isArray(key[0]) && typeof key[1] === "boolean") {
    cols = key[0];
    reverse = key[1];
  } else if (Array.isArray(key) && key.every((c) => typeof c === "string")) {
    cols = key;
  } else {
    throw new BadRequestError(`${where}: an order is [[columns…], reverse], got ${describeValue(key)}`);
  }
  const names = cols as unknown[];
  if (names.length === 0) throw new BadRequestError(`${where}: an order names at least one column`);
  for (const n of names) {
    if (typeof n !== "string" || !view.table.schema.column(n)) {
      throw new BadRequestError(`${where}: cannot order by unknown column ${describeValue(n)}`);
    }
    if (view.projection && !view.projection.some((c) => c.name === n)) {
      throw new BadRequestError(`${where}: cannot order by ${JSON.stringify(n)}: it is not selected in this view`);
    }
  }
  if (view.limitCount !== undefined) throw new BadRequestError(`${where}: cannot order a limited view`);
  const plan = view.table.plan(view.plan.constraints, names as string[], reverse as boolean);
  return new TableView(view.table, plan, undefined, view.projection);
}

function selectView(view: TableView, key: unknown, where: string): TableView {
  if (!Array.isArray(key) || key.length === 0) {
    throw new BadRequestError(`${where}: select takes a non-empty tuple of column names, got ${describeValue(key)}`);
  }
  const available: readonly Column[] = view.projection ?? view.table.schema.columns;
  const seen = new Set<string>();
  const cols = key.map((n) => {
    const col = typeof n === "string" ? available.find((c) => c.name === n) : undefined;
    if (!col) throw new BadRequestError(`${where}: cannot select unknown column ${describeValue(n)}`);
    if (seen.has(col.name)) throw new BadRequestError(`${where}: column ${JSON.stringify(col.name)} is selected twice`);
    seen.add(col.name);
    return view.table.schema.column(col.name)!;
  });
  return new TableView(view.table, view.plan, view.limitCount, cols);
}

function isLiteralLike(v: unknown): boolean {
  if (v instanceof TableLiteral || v instanceof TableView) return true;
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const o = v as { kind?: unknown; subject?: { kind?: unknown; href?: unknown } };
  if ((o.kind === "put" || o.kind === "get") && o.subject?.kind === "link" && o.subject.href === PATHS.table) return true;
  return Object.keys(v).length === 1 && PATHS.table in v;
}

/** A table literal in any of the shapes the kernel may hand over. */
function asLiteral(v: unknown): TableLiteral {
  if (v instanceof TableLiteral) return v;
  if (v instanceof TableView) {
    if (v.projection) throw new BadRequestError("cannot create a table from a projected view (it has no key)");
    return new TableLiteral(v.table.schema, v.rows());
  }
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    const o = v as { kind?: unknown; subject?: { kind?: unknown; href?: unknown }; key?: unknown; value?: unknown };
    if (o.kind === "put" && o.subject?.kind === "link" && o.subject.href === PATHS.table) return tableLiteral(o.key, o.value);
    if (o.kind === "get" && o.subject?.kind === "link" && o.subject.href === PATHS.table) return tableLiteral(o.key, []);
    const body = (v as Record<string, unknown>)[PATHS.table];
    if (Object.keys(v).length === 1 && Array.isArray(body) && body.length >= 1 && body.length <= 2) {
      return tableLiteral(body[0], body[1]);
    }
  }
  throw new BadRequestError(
    `creating a table takes key null and a table literal {"${PATHS.table}": [schema, rows]}, got ${describeValue(v)}`,
  );
}
