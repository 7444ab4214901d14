/**
 * A state transaction: routes requests on `/state/<ns>/<table>` and on views, applies writes in
 * place while recording an undo log, and on commit turns that log into the write-set the durable
 * store flushes in one lmdb transaction. Each request is atomic on its own (a failed request is
 * undone up to where it started); the whole transaction commits or rolls back as one.
 */
import { traverseTableRoute } from "../traverse/table-store.js";
import { DerivedView, derivedViewRoute, viewOpRoute } from "./view-ops.js";
import { BadRequestError, ConflictError, MethodNotAllowedError, NotFoundError } from "../../errors.js";
import { assertId } from "../../ir/id.js";
import type { Link, ScalarMap, Verb } from "../../ir/types.js";
import { PATHS } from "../../ir/types.js";
import { type Selector, parseKey, parseSelector } from "./selector.js";
import { MAX_KEY_BYTES, type StoreOp } from "../storage/lmdb-store.js";
import { type ScanPlan, rowMatches } from "../storage/scan-plan.js";
import { Table, type TableState, type WriteLog } from "../storage/table-engine.js";
import type { IndexKey } from "../storage/index-keys.js";
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

/** What a state request returns: primitives, links, tuples, maps and table views. */
export type StateValue =
  | null
  | boolean
  | number
  | string
  | Link
  | ScalarMap
  | TableView
  | readonly StateValue[];

/** The transaction API the kernel codes against (see the team brief, "State layer"). */
export interface StateTxn {
  /** A request on /state: path = segments after "state", e.g. ["social","users","count"]. */
  request(verb: Verb, path: readonly string[], key: unknown, value: unknown): StateValue;
  /** A request on a view value from an earlier step (`$v/limit`): path relative to the view. */
  viewRequest(view: TableView, verb: Verb, path: readonly string[], key: unknown, value: unknown): StateValue;
  /** Resolves once the transaction's writes are durable (at once in memory). */
  commit(): Promise<void>;
  /**
   * `commit()` without a promise when none is needed: ends the transaction keeping its writes and
   * returns `undefined` when they are already durable (in memory, or nothing to write and nothing
   * pending), else a promise that resolves once they are.
   */
  commitNow(): Promise<void> | undefined;
  /** Undoes every write of this transaction. */
  rollback(): void;
}

/** What a transaction needs from its database. */
export interface TxnHost {
  lookup(ns: string, name: string): Table | undefined;
  attach(ns: string, name: string, table: Table): void;
  detach(ns: string, name: string): void;
  newTid(): number;
  readonly durable: boolean;
  /**
   * Hands the write-set to the store and frees the lock; resolves when durable, or returns
   * `undefined` when everything is durable already.
   */
  finish(txn: Txn, ops: StoreOp[] | undefined): Promise<void> | undefined;
  /** Frees the lock after a rollback. */
  abandon(txn: Txn): void;
}

// Undo log layout: flat triples. A row change is [table, key, oldRow]; the other entries put a
// marker in the first slot: [CREATE, table, [ns, name]], [DROP, table, [ns, name]],
// [TRUNCATE, table, savedState], [BULK, table, savedState].
const CREATE = { entry: "create" } as const;
const DROP = { entry: "drop" } as const;
const TRUNCATE = { entry: "truncate" } as const;
const BULK = { entry: "bulk" } as const;
type Marker = typeof CREATE | typeof DROP | typeof TRUNCATE | typeof BULK;

/** The settled commit of a transaction whose writes were durable at once. */
const DURABLE: Promise<void> = Promise.resolve();

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

/**
 * One transaction. Obtain it from `Database.begin()` / `tryBegin()`.
 *
 * @example
 * ```ts
 * const txn = await db.begin();
 * txn.request("put", ["app", "t"], ["a"], [5]);
 * await txn.commit();
 * ```
 */
export class Txn implements StateTxn, WriteLog {
  private log: unknown[] = [];
  private closed = false;

  constructor(private readonly host: TxnHost) {}

  // ---- WriteLog -------------------------------------------------------------------------------
  rowChanged(table: Table, key: IndexKey, old: Row | undefined): void {
    this.log.push(table, key, old);
  }
  truncated(table: Table, saved: TableState): void {
    this.log.push(TRUNCATE, table, saved);
  }
  bulkLoaded(table: Table, saved: TableState): void {
    this.log.push(BULK, table, saved);
  }

  private assertOpen(): void {
    if (this.closed) throw new BadRequestError("this transaction has already ended");
  }

  private undoTo(mark: number): void {
    const log = this.log;
    for (let i = log.length - 3; i >= mark; i -= 3) {
      const a = log[i];
      const table = log[i + 1] as Table;
      if (a instanceof Table) {
        a.restoreRow(table as unknown as IndexKey, log[i + 2] as Row | undefined);
        continue;
      }
      const m = a as Marker;
      if (m === CREATE) {
        const [ns, name] = log[i + 2] as [string, string];
        this.host.detach(ns, name);
      } else if (m === DROP) {
        const [ns, name] = log[i + 2] as [string, string];
        this.host.attach(ns, name, table);
      } else {
        table.restoreState(log[i + 2] as TableState);
      }
    }
    log.length = mark;
  }

  // ---- lifecycle ------------------------------------------------------------------------------
  /** Ends the transaction, keeping its writes; resolves when they are durable. */
  commit(): Promise<void> {
    return this.commitNow() ?? DURABLE;
  }

  /** `commit()`, but `undefined` instead of a promise when the writes are durable already. */
  commitNow(): Promise<void> | undefined {
    this.assertOpen();
    this.closed = true;
    if (this.log.length === 0) return this.host.finish(this, undefined);
    const ops = this.host.durable ? this.writeSet() : undefined;
    this.log = [];
    return this.host.finish(this, ops);
  }

  /** Ends the transaction, undoing all its writes. */
  rollback(): void {
    if (this.closed) return;
    this.undoTo(0);
    this.closed = true;
    this.host.abandon(this);
  }

  /** The durable changes of this transaction, in order, with the rows as they are now. */
  private writeSet(): StoreOp[] {
    const log = this.log;
    const ops: StoreOp[] = [];
    const created = new Set<Table>();
    for (let i = 0; i < log.length; i += 3) if (log[i] === CREATE) created.add(log[i + 1] as Table);
    const reloaded = new Set<Table>();
    for (let i = 0; i < log.length; i += 3) {
      const a = log[i];
      const table = log[i + 1] as Table;
      if (a instanceof Table) {
        if (!a.attached || created.has(a) || reloaded.has(a)) continue;
        const key = table as unknown as IndexKey;
        const row = a.get(key);
        ops.push(row === undefined ? { kind: "delete", table: a, key } : { kind: "put", table: a, key, row });
        continue;
      }
      if (a === CREATE) {
        if (!table.attached) continue;
        ops.push({ kind: "create", tid: table.tid, path: table.path, schema: table.schema.toJson() });
        ops.push({ kind: "rows", table, rows: allRows(table) });
      } else if (a === DROP) {
        if (!created.has(table)) ops.push({ kind: "drop", tid: table.tid });
      } else if (a === TRUNCATE) {
        // After a bulk load the table's final rows are already written in full.
        if (table.attached && !created.has(table) && !reloaded.has(table)) ops.push({ kind: "truncate", tid: table.tid });
      } else if (a === BULK) {
        if (table.attached && !created.has(table) && !reloaded.has(table)) {
          reloaded.add(table);
          ops.push({ kind: "truncate", tid: table.tid });
          ops.push({ kind: "rows", table, rows: allRows(table) });
        }
      }
    }
    return ops;
  }

  // ---- requests -------------------------------------------------------------------------------
  request(verb: Verb, path: readonly string[], key: unknown, value: unknown): StateValue {
    this.assertOpen();
    if (path.length < 2 || path.length > 3) {
      throw new NotFoundError(`/state/${path.join("/")} is not a table (tables live at /state/<namespace>/<name>)`);
    }
    const ns = path[0]!;
    const name = path[1]!;
    const route = path.length === 3 ? path[2]! : "";
    const mark = this.log.length;
    try {
      const table = this.host.lookup(ns, name);
      if (table === undefined) return this.missingTable(verb, ns, name, route, key, value);
      return this.tableRoute(table, ns, name, verb, route, key, value);
    } catch (e) {
      this.undoTo(mark);
      throw e;
    }
  }

  viewRequest(view: TableView, verb: Verb, path: readonly string[], key: unknown, value: unknown): StateValue {
    this.assertOpen();
    if (path.length > 1) throw new NotFoundError(`a table view has no route ${path.join("/")}`);
    const mark = this.log.length;
    try {
      return this.viewRoute(view, verb, path[0] ?? "", key, value);
    } catch (e) {
      this.undoTo(mark);
      throw e;
    }
  }

  private missingTable(verb: Verb, ns: string, name: string, route: string, key: unknown, value: unknown): StateValue {
    if (route === "" && verb === "put" && key === null) {
      this.create(ns, name, value);
      return null;
    }
    throw new NotFoundError(`table /state/${ns}/${name} not found`);
  }

  private create(ns: string, name: string, value: unknown): void {
    assertId(ns, "namespace");
    assertId(name, "table name");
    const lit = asLiteral(value);
    const path = `/state/${ns}/${name}`;
    const existing = this.host.lookup(ns, name);
    if (existing) {
      if (existing.schema.canonical === lit.schema.canonical) return;
      conflict(path, existing.schema.canonical, lit.schema.canonical);
    }
    const table = new Table(path, lit.schema);
    if (this.host.durable) table.keyByteLimit = MAX_KEY_BYTES;
    const rows = lit.rows.map((r, i) => table.checkRow(r, `row ${i} of the table literal`));
    table.insertMany(rows, undefined);
    table.tid = this.host.newTid();
    this.host.attach(ns, name, table);
    this.log.push(CREATE, table, [ns, name]);
  }

  private drop(table: Table, ns: string, name: string): void {
    this.host.detach(ns, name);
    this.log.push(DROP, table, [ns, name]);
  }

  private tableRoute(table: Table, ns: string, name: string, verb: Verb, route: string, key: unknown, value: unknown): StateValue {
    // Fast path: a point get by key (the hottest request).
    if (verb === "get" && route === "" && Array.isArray(key) && key.length === table.schema.keyColumns.length && !Array.isArray(key[0])) {
      return (table.get(table.keyFromCells(parseKey(table.schema, key, table.path))) ?? null) as StateValue;
    }
    switch (route) {
      case "":
        if (verb === "put") {
          if (key === null && isLiteralLike(value)) {
            this.create(ns, name, value);
            return null;
          }
          const sel = parseSelector(table.schema, key, table.path);
          if (isSelectorKey(sel)) {
            table.write(table.checkKeyValues(key, value), "upsert", this);
            return null;
          }
          this.update(allView(table, sel), value);
          return null;
        }
        if (verb === "delete") {
          if (key === null) {
            this.drop(table, ns, name);
            return null;
          }
          const sel = parseSelector(table.schema, key, table.path);
          if (sel.kind === "key") table.remove(table.keyFromCells(sel.key), this);
          else if (sel.kind === "all") table.truncate(this);
          else this.deleteRows(allView(table, sel));
          return null;
        }
        break;
      case "insert":
        if (verb !== "put") throw notAllowed(table.path, route, verb, "PUT");
        table.write(table.checkKeyValues(key, value), "insert", this);
        return null;
      case "insert_rows": {
        if (verb !== "put") throw notAllowed(table.path, route, verb, "PUT");
        if (key !== null) throw new BadRequestError(`${table.path}/insert_rows takes key null, got ${describeValue(key)}`);
        if (!Array.isArray(value)) {
          throw new BadRequestError(`${table.path}/insert_rows takes a tuple of row tuples, got ${describeValue(value)}`);
        }
        const rows = new Array<Row>(value.length);
        for (let i = 0; i < value.length; i++) rows[i] = table.checkRow(value[i], `row ${i}`);
        table.insertMany(rows, this);
        return null;
      }
      case "traverse":
        // Extension: a whole graph traversal plan, read-only, inside this transaction (src/graph/README.md).
        return traverseTableRoute((n) => this.host.lookup(ns, n), ns, name, verb, key) as StateValue;
      default:
        break;
    }
    return this.viewRoute(allView(table, undefined), verb, route, key, value);
  }

  private viewRoute(view: TableView, verb: Verb, route: string, key: unknown, value: unknown): StateValue {
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
          this.update(sliceView(view, sel), value);
          return null;
        }
        if (verb === "delete") {
          const sel = parseSelector(table.schema, key, where);
          if (sel.kind === "key") {
            const k = table.keyFromCells(sel.key);
            const row = table.get(k);
            if (row !== undefined && viewContains(view, row)) table.remove(k, this);
          } else this.deleteRows(sliceView(view, sel));
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

  private update(view: TableView, value: unknown): void {
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
    const rows: Row[] = [];
    view.forEachFullRow((r) => {
      rows.push(r);
    });
    for (const row of rows) {
      const next = row.slice();
      for (const [p, c] of sets) next[p] = c;
      table.write(next, "upsert", this);
    }
  }

  private deleteRows(view: TableView): void {
    const table = view.table;
    if (view.projection) throw new BadRequestError(`${table.path}: cannot delete through a projected view`);
    const keys: IndexKey[] = [];
    view.forEachFullRow((r) => {
      keys.push(table.primaryKeyOf(r));
    });
    for (const k of keys) table.remove(k, this);
  }
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

function allRows(table: Table): Row[] {
  const rows: Row[] = [];
  table.scan(table.plan([]), (r) => {
    rows.push(r);
  });
  return rows;
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
  let found = false;
  view.forEachFullRow((r) => {
    if (r === row) {
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
