/**
 * The `returning` kernel extension (PROFILE §6.12, contract in src/ir/query-plan.ts): writes
 * that answer the rows as written, in one op.
 *
 *   `POST /state/<ns>/<t>/insert_returning` | `update_returning` | `delete_returning`
 *   with params `{plan: <plan JSON text>, params: {name: value}}`
 *
 * Every write goes through the table's `write`/`remove` with the transaction's undo log, as the
 * plain write routes do; the transaction undoes a failed request up to where it started, so a
 * conflict or a bad row leaves none of the statement's rows written.
 */
import { BadRequestError, MethodNotAllowedError } from "../../errors.js";
import {
  type DeleteReturningPlan,
  type InsertReturningPlan,
  parseReturningPlan,
  RETURNING_ALIAS,
  RETURNING_ROUTES,
  type UpdateReturningPlan,
} from "../../ir/query-plan.js";
import type { RouteMeter } from "../ops/route-meter.js";
import type { Table, WriteLog } from "../storage/table-engine.js";
import { type Cell, checkCell, type Column, type Row } from "../storage/table-schema.js";
import { plainParams } from "../traverse/table-store.js";
import { StandaloneMeter, Visits } from "./budget.js";
import { bad } from "./compiled.js";
import { JoinRun } from "./join.js";
import { type CompiledQuery, compileQuery, compileTableExprs, tablesFresh } from "./plan-compile.js";
import { bindParams } from "./query-route.js";

/** The names of the `returning` routes. */
export type ReturningRoute = (typeof RETURNING_ROUTES)[number];

/** True when `route` is one of the `returning` routes. */
export function isReturningRoute(route: string): route is ReturningRoute {
  return (RETURNING_ROUTES as readonly string[]).includes(route);
}

/**
 * The route handler (the hook the transaction's table router calls).
 *
 * @example
 * ```ts
 * // in tableRoute: if (isReturningRoute(route)) return returningRoute(log, lookup, ns, table, route, verb, value, meter);
 * ```
 */
export function returningRoute(
  log: WriteLog,
  lookup: (name: string) => Table | undefined,
  ns: string,
  table: Table,
  route: ReturningRoute,
  verb: string,
  value: unknown,
  meter: RouteMeter | undefined,
): unknown[][] {
  if (verb !== "post") throw new MethodNotAllowedError(`${table.path}/${route} answers POST, not ${verb.toUpperCase()}`);
  const args = plainParams(value);
  const given = args.params;
  if (given !== undefined && given !== null && (typeof given !== "object" || Array.isArray(given))) {
    throw new BadRequestError(`${route}: params is a map {name: value}`);
  }
  const params = (given ?? {}) as Readonly<Record<string, unknown>>;
  const visits = new Visits(meter ?? new StandaloneMeter());
  switch (route) {
    case "insert_returning":
      return insertReturning(log, table, parseReturningPlan(route, args.plan), params, visits);
    case "update_returning":
      return updateReturning(log, lookup, ns, table, parseReturningPlan(route, args.plan), params, visits);
    case "delete_returning":
      return deleteReturning(log, lookup, ns, table, parseReturningPlan(route, args.plan), params, visits);
  }
}

function projection(table: Table, columns: readonly string[] | null, route: string): readonly Column[] {
  if (columns === null) return table.schema.columns;
  return columns.map((name) => {
    const c = table.schema.column(name);
    if (c === undefined) throw new BadRequestError(`${route}: ${table.path} has no column ${JSON.stringify(name)}`);
    return c;
  });
}

function project(row: Row, cols: readonly Column[]): unknown[] {
  const out = new Array(cols.length);
  for (let i = 0; i < cols.length; i++) out[i] = row[cols[i]!.position];
  return out;
}

/** A cell of an insert plan: a `{param}` object takes the parameter's value. */
function cellValue(cell: unknown, params: Readonly<Record<string, unknown>>): unknown {
  if (typeof cell === "object" && cell !== null && !Array.isArray(cell)) {
    const keys = Object.keys(cell);
    if (keys.length === 1 && keys[0] === "param") {
      const name = (cell as { param: unknown }).param;
      if (typeof name !== "string" || !Object.prototype.hasOwnProperty.call(params, name)) {
        throw new BadRequestError(`insert_returning: missing parameter ${JSON.stringify(name)}`);
      }
      return params[name];
    }
  }
  return cell;
}

/** The most rows, and cells a row, an `insert_returning` takes (as in its plan's row list). */
const MAX_ROWS = 100_000;
const MAX_CELLS = 1024;

/**
 * The rows of an insert plan: its row list (a `{param}` cell takes the parameter), or the row
 * tuples the parameter `rows.param` holds, taken as they are.
 */
function planRows(plan: InsertReturningPlan, params: Readonly<Record<string, unknown>>): readonly (readonly unknown[])[] {
  const rows = plan.rows;
  if (Array.isArray(rows)) return (rows as readonly (readonly unknown[])[]).map((row) => row.map((c) => cellValue(c, params)));
  const name = (rows as { readonly param: string }).param;
  if (!Object.prototype.hasOwnProperty.call(params, name)) throw new BadRequestError(`insert_returning: missing parameter ${JSON.stringify(name)}`);
  const given = params[name];
  if (!Array.isArray(given) || given.length > MAX_ROWS || !given.every((r) => Array.isArray(r) && r.length <= MAX_CELLS)) {
    throw new BadRequestError(
      `insert_returning: parameter ${JSON.stringify(name)} must hold a tuple of row tuples (at most ${MAX_ROWS} rows of at most ${MAX_CELLS} cells)`,
    );
  }
  return given as readonly (readonly unknown[])[];
}

function insertReturning(log: WriteLog, table: Table, plan: InsertReturningPlan, params: Readonly<Record<string, unknown>>, visits: Visits): unknown[][] {
  const cols = projection(table, plan.columns, "insert_returning");
  const rows = planRows(plan, params);
  if (plan.update !== null && plan.update.length !== rows.length) {
    throw new BadRequestError(`insert_returning: update lists ${plan.update.length} column sets for ${rows.length} rows`);
  }
  const valueCols = table.schema.columns.filter((c) => !c.isKey);
  const out: unknown[][] = [];
  visits.meter.tuple(rows.length, "insert_returning rows");
  for (let i = 0; i < rows.length; i++) {
    visits.one();
    const raw = rows[i]!;
    const row = table.checkRow(raw, `insert_returning row ${i}`);
    const key = table.primaryKeyOf(row);
    const existing = table.get(key);
    if (existing !== undefined && plan.onConflict === "ignore") continue;
    if (existing !== undefined && plan.onConflict === "update") {
      const names = plan.update?.[i] ?? valueCols.map((c) => c.name);
      const next: Cell[] = existing.slice();
      for (const name of names) {
        const c = table.schema.column(name);
        if (c === undefined) throw new BadRequestError(`insert_returning: ${table.path} has no column ${JSON.stringify(name)}`);
        if (c.isKey) throw new BadRequestError(`insert_returning: cannot update key column ${JSON.stringify(name)}`);
        next[c.position] = row[c.position]!;
      }
      out.push(project(table.write(next, "upsert", log), cols));
      continue;
    }
    // The row as written: a key the table generated (a null cell of a generated key) included.
    out.push(project(table.write(row, "insert", log), cols));
  }
  visits.flush();
  return out;
}

/**
 * The rows of `table` whose `where` is true, in key order (the plan's params bound). The rows
 * are read the way the `query` route reads a plan's `from` (plan-compile.ts `accessPath`): a key
 * or index equality is a lookup, a bound an index range, so `where id = 7` reads one row, not
 * the table. Every row is read before any is written.
 */
function matching(
  lookup: (name: string) => Table | undefined,
  ns: string,
  table: Table,
  plan: UpdateReturningPlan | DeleteReturningPlan,
  params: Readonly<Record<string, unknown>>,
  visits: Visits,
  route: string,
): { rows: Row[]; setEvs: ((x: readonly unknown[]) => unknown)[]; release: () => void } {
  const { exprs, query } = matcher(lookup, ns, table, plan, route);
  // The compiled plan is kept for the next call: what this execution read once (a subquery's
  // values, a hash join's side) goes with it, as the query route's does.
  const release = (): void => {
    exprs.env.end();
    query?.env.end();
  };
  try {
    bindParams(exprs.env, exprs.params, params);
    exprs.env.visits = visits;
    const rows: Row[] = [];
    if (query === undefined) {
      table.scan(table.plan([]), (row) => {
        visits.one();
        rows.push(row);
      });
    } else {
      bindParams(query.env, query.params, params);
      query.env.visits = visits;
      // No order and no joins: the access path hands rows over in primary key order (`natural`).
      new JoinRun(query.plan, visits, {
        accept(slots) {
          rows.push(slots[0] as Row);
          return false;
        },
      }).run();
    }
    visits.meter.tuple(rows.length, `${route} rows`);
    return { rows, setEvs: exprs.evs.slice(1) as ((x: readonly unknown[]) => unknown)[], release };
  } catch (e) {
    release();
    throw e;
  }
}

/** What `matching` compiles of a plan: its `where` and `set` expressions, and the query finding its rows. */
interface Matcher {
  readonly exprs: ReturnType<typeof compileTableExprs>;
  readonly query: CompiledQuery | undefined;
}

/**
 * Compiled matchers by written table, then plan (the validated plan of a text is one object, see
 * `parseReturningPlan`), then namespace: a statement of one shape compiles once. A hit whose
 * tables are no longer the ones the namespace holds (dropped, altered) is compiled again.
 */
const MATCHERS = new WeakMap<Table, WeakMap<object, Map<string, Matcher>>>();

function matcher(lookup: (name: string) => Table | undefined, ns: string, table: Table, plan: UpdateReturningPlan | DeleteReturningPlan, route: string): Matcher {
  // The written table under a name no other table has, so a subquery naming the table by its
  // own name still reads it as a table of the namespace.
  const resolve = (name: string): Table | undefined => (name === SELF ? table : lookup(name));
  let byPlan = MATCHERS.get(table);
  if (byPlan === undefined) MATCHERS.set(table, (byPlan = new WeakMap()));
  let byNs = byPlan.get(plan);
  if (byNs === undefined) byPlan.set(plan, (byNs = new Map()));
  const hit = byNs.get(ns);
  if (hit !== undefined && tablesFresh(hit.exprs.tables, lookup) && (hit.query === undefined || tablesFresh(hit.query.tables, resolve))) return hit;
  const where = plan.where;
  const sets = "set" in plan ? plan.set : [];
  const exprs = compileTableExprs(table, RETURNING_ALIAS, [where, ...sets.map((s) => s[1])], lookup, ns, [
    `${route}.where`,
    ...sets.map((s) => `${route}.set ${JSON.stringify(s[0])}`),
  ]);
  if (where !== null && exprs.kinds[0] !== "bool" && exprs.kinds[0] !== "unknown") throw bad(`${route}.where: a condition is a boolean expression`);
  const query =
    where === null
      ? undefined
      : compileQuery(
          { v: 1, from: { table: SELF, as: RETURNING_ALIAS }, joins: [], where, groupBy: null, having: null, select: [{ as: "k", expr: { t: "col", src: RETURNING_ALIAS, col: table.schema.keyColumns[0]!.name } }], distinct: false, with: [], orderBy: [], limit: null, offset: null },
          resolve,
          ns,
        );
  const made = { exprs, query };
  byNs.set(ns, made);
  return made;
}

/** The name the written table goes by in the plan `matching` compiles (no table path has NUL). */
const SELF = "\u0000written";

function updateReturning(
  log: WriteLog,
  lookup: (name: string) => Table | undefined,
  ns: string,
  table: Table,
  plan: UpdateReturningPlan,
  params: Readonly<Record<string, unknown>>,
  visits: Visits,
): unknown[][] {
  const cols = projection(table, plan.columns, "update_returning");
  const targets = plan.set.map(([name]) => {
    const c = table.schema.column(name);
    if (c === undefined) throw new BadRequestError(`update_returning: ${table.path} has no column ${JSON.stringify(name)}`);
    if (c.isKey) throw new BadRequestError(`update_returning: cannot update key column ${JSON.stringify(name)}`);
    return c;
  });
  const { rows, setEvs, release } = matching(lookup, ns, table, plan, params, visits, "update_returning");
  // Every new row is computed from the rows as they were before any is written.
  const slots: (Row | null)[] = [null];
  let next: Cell[][];
  try {
    next = rows.map((row) => {
      slots[0] = row;
      const r: Cell[] = row.slice();
      for (let i = 0; i < targets.length; i++) r[targets[i]!.position] = checkCell(targets[i]!, setEvs[i]!(slots), table.path);
      return r;
    });
  } finally {
    release();
  }
  const out: unknown[][] = [];
  for (const r of next) out.push(project(table.write(r, "upsert", log), cols));
  visits.flush();
  return out;
}

function deleteReturning(
  log: WriteLog,
  lookup: (name: string) => Table | undefined,
  ns: string,
  table: Table,
  plan: DeleteReturningPlan,
  params: Readonly<Record<string, unknown>>,
  visits: Visits,
): unknown[][] {
  const cols = projection(table, plan.columns, "delete_returning");
  const { rows, release } = matching(lookup, ns, table, plan, params, visits, "delete_returning");
  release();
  const out = rows.map((row) => project(row, cols));
  for (const row of rows) table.remove(table.primaryKeyOf(row), log);
  visits.flush();
  return out;
}
