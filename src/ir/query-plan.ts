/**
 * The contract of the kernel's `query` and `returning` extensions (docs/PROFILE.md §6.11–6.12):
 * the relational plan an ORM select compiles to when it needs more than one table's index range
 * and per-row filter (joins, nested loading, boolean expressions, aggregates, several order
 * columns, distinct), and the write plans of `returning`. The ORM builds plans with these types;
 * the kernel's `query` route validates and runs them. Neither side owns the contract, so it lives
 * here with the rest of the IR (as `traverse-plan.ts` does for traversals).
 *
 * Semantics every executor must give (SQLite's, except where marked):
 *
 * - **Values**: literals (`{lit}`) and parameters (`{param}`) bound at execution. Plans never carry
 *   user values inline in an op: the ORM binds every value to a parameter.
 * - **Three-valued logic**: a comparison with a null operand is unknown (null); `and`/`or`/`not`
 *   follow SQL's truth tables; `where`, `on` and `having` keep a row only when the expression is
 *   true. `isNull` is never unknown.
 * - **Compare** is type-aware as the `filter` route's: numbers numerically, strings by code point,
 *   `false < true`, links by href.
 * - **`like`**: `%` any run, `_` one code point, `escape` (one character, or null for none) makes
 *   the next `%`, `_` or escape character literal. Case-sensitive (SQLite's default `LIKE` folds
 *   ASCII case; this matches SQLite with `PRAGMA case_sensitive_like = ON`). A malformed pattern
 *   (escape at the end, or before another character) is a 400.
 * - **`in`** with a list: true when equal to an item; null when not found and the operand or an
 *   item is null; `negate` gives SQL's `NOT IN`. With a `query`: the plan's one output column,
 *   evaluated once per execution (it may not reference outer rows).
 * - **Joins**: `inner` keeps pairs whose `on` is true; `left` keeps every left row, with every
 *   column of the right alias null when no right row matches. A join whose `on` holds an equality
 *   between a column of its alias and an expression of earlier aliases is served by an index
 *   lookup per left row when the alias's table has an index (the primary one or a secondary one)
 *   whose first column is that column; otherwise a hash join (the right side read once).
 * - **Aggregates** (`agg`) may appear in `select`, `having` and `orderBy` of a grouped plan (one
 *   with `groupBy`, or whose `select` holds an aggregate: then all rows form one group, even when
 *   there are none). `count` with `arg` null counts rows; every other aggregate skips nulls.
 *   `sum` of integers is an integer, of floats a float; `avg` is a float; `sum`, `avg`, `min`,
 *   `max` of no values are null; `count` of none is 0. `distinct: true` aggregates distinct
 *   non-null values (`countDistinct`). In a grouped plan every non-aggregate column a `select`,
 *   `having` or `orderBy` expression names must be a `groupBy` expression (400 otherwise).
 * - **Order**: `orderBy` keys in order, nulls first ascending and last descending; ties are then
 *   broken by the primary key of `from` ascending, then each joined alias's primary key ascending
 *   in join order (a left join's null row first); a grouped plan by its `groupBy` values
 *   ascending; a `distinct` plan by its output columns ascending. Without `orderBy` the same
 *   tiebreak order applies: a plan's result is always a determined sequence. `limit` after
 *   `offset`; with `orderBy` and `limit` the host keeps the top `offset + limit` rows (a bounded
 *   heap), never sorting every match.
 * - **`distinctOn`** (optional, a plain plan only: not grouped, not `distinct`): of the rows in the
 *   plan's order (order keys, then the tiebreak), only the first of each distinct tuple of the
 *   `distinctOn` expressions is kept (nulls equal to each other), before `offset` and `limit`.
 * - **Nested loading** (`with`): one output cell per item, after the `select` cells: `many` → a
 *   tuple of the nested plan's rows (each a tuple), `one` → the first row's tuple or null. The
 *   nested plan refers to the current row of its parent by `{ t: "outer", src, col }`; an equality
 *   between a nested column and an outer reference is served by an index lookup as a join is.
 *   `limit`/`offset`/`orderBy` apply per parent row.
 */

import { remember } from "./bounded-cache.js";
import { z } from "zod";
import { BadRequestError } from "../errors.js";
import { idProblem } from "./id.js";

/** A value in a plan: a literal, or a parameter bound at execution. */
export type QueryValue = { readonly lit: unknown } | { readonly param: string };

export type QueryCmpOp = "=" | "!=" | "<" | "<=" | ">" | ">=";
export const QUERY_CMP_OPS: readonly QueryCmpOp[] = ["=", "!=", "<", "<=", ">", ">="];

export type QueryAggFn = "count" | "sum" | "avg" | "min" | "max";
export const QUERY_AGG_FNS: readonly QueryAggFn[] = ["count", "sum", "avg", "min", "max"];

/** An expression over the current row (every alias of `from` and `joins`), or over a group. */
export type QueryExpr =
  /** A column of a source (`src` is its alias). */
  | { readonly t: "col"; readonly src: string; readonly col: string }
  /** A column of the parent row of a nested plan (`with`), `src` an alias of the parent. */
  | { readonly t: "outer"; readonly src: string; readonly col: string }
  | { readonly t: "value"; readonly value: QueryValue }
  | { readonly t: "cmp"; readonly op: QueryCmpOp; readonly l: QueryExpr; readonly r: QueryExpr }
  | { readonly t: "and"; readonly of: readonly QueryExpr[] }
  | { readonly t: "or"; readonly of: readonly QueryExpr[] }
  | { readonly t: "not"; readonly e: QueryExpr }
  | { readonly t: "isNull"; readonly e: QueryExpr }
  | { readonly t: "like"; readonly e: QueryExpr; readonly pattern: QueryExpr; readonly escape: string | null; readonly negate: boolean }
  | { readonly t: "between"; readonly e: QueryExpr; readonly low: QueryExpr; readonly high: QueryExpr; readonly negate: boolean }
  /** `list` is a value holding a tuple (a bound parameter), or a tuple of expressions. */
  | { readonly t: "in"; readonly e: QueryExpr; readonly list: QueryValue | readonly QueryExpr[]; readonly negate: boolean }
  | { readonly t: "inQuery"; readonly e: QueryExpr; readonly query: QueryPlan; readonly negate: boolean }
  | { readonly t: "agg"; readonly fn: QueryAggFn; readonly arg: QueryExpr | null; readonly distinct: boolean };

/** A table read under an alias (`table` is its name in the namespace of the route). */
export interface QuerySource {
  readonly table: string;
  readonly as: string;
}

export interface QueryJoin extends QuerySource {
  readonly kind: "inner" | "left";
  readonly on: QueryExpr;
}

export interface QuerySelectItem {
  /** The output column's name (unique in the plan's output). */
  readonly as: string;
  readonly expr: QueryExpr;
}

export interface QueryOrderKey {
  readonly expr: QueryExpr;
  readonly desc: boolean;
}

/** A nested load: one output cell (`as`) per row. */
export interface QueryWith {
  readonly as: string;
  readonly kind: "one" | "many";
  readonly plan: QueryPlan;
}

export interface QueryPlan {
  readonly v: 1;
  readonly from: QuerySource;
  readonly joins: readonly QueryJoin[];
  readonly where: QueryExpr | null;
  /** `null`: not grouped (unless `select` holds an aggregate: then one group of all rows). */
  readonly groupBy: readonly QueryExpr[] | null;
  readonly having: QueryExpr | null;
  /** Output columns in order (at least one). */
  readonly select: readonly QuerySelectItem[];
  /** `true`: distinct output rows (over the `select` cells; `with` cells are computed after). */
  readonly distinct: boolean;
  /** The first row in order of each distinct tuple of these expressions (absent: every row). */
  readonly distinctOn?: readonly QueryExpr[];
  readonly with: readonly QueryWith[];
  readonly orderBy: readonly QueryOrderKey[];
  readonly limit: QueryValue | null;
  readonly offset: QueryValue | null;
}

/**
 * `GET /state/<ns>/<table>/query` with key `[plan_json, {params}]`, as `traverse` takes it: the
 * plan as a JSON text (validated once per distinct text; `from.table` is `<table>`, joined tables
 * are in the same namespace) and a map binding each `{param}` name (the op's refs, resolved
 * before the route runs) → a tuple of row tuples (`select` cells, then `with` cells).
 */
export const QUERY_ROUTE = "query";

/**
 * The `returning` extension: writes that answer the rows as written, one op.
 *
 * - Every `returning` route takes its plan the same way: params `{ plan: <JSON text of the object
 *   below>, params: {name: value} }`.
 * - `POST /state/<ns>/<table>/insert_returning` plan `{ rows: [[cell…]…], columns: [col…]|null,
 *   onConflict: "error"|"ignore"|"update", update: [[col…]…]|null }` — `rows` are full row tuples
 *   (key ++ values, as `insert_rows` takes them); `update` (for `onConflict: "update"`) lists per
 *   row the value columns to set on an existing row. Answers the rows as the table holds them
 *   after the write (generated values included), projected on `columns` (all when null), in the
 *   order given; a row skipped by `ignore` is left out. Cells of `rows` may be `{param}` values.
 * - `POST /state/<ns>/<table>/update_returning` plan `{ where: QueryExpr|null, set: [[col,
 *   QueryExpr]…], columns }` (expressions over the `from` alias `t`) → the updated rows after the
 *   update, in key order.
 * - `POST /state/<ns>/<table>/delete_returning` plan `{ where, columns }` → the deleted rows as
 *   they were, in key order.
 */
export const RETURNING_ROUTES = ["insert_returning", "update_returning", "delete_returning"] as const;

/** The extension names a host lists in `GET /host` (`{ "extensions": [...] }`) for these routes. */
export const QUERY_EXTENSION = "query";
export const RETURNING_EXTENSION = "returning";

/** The write plan of `insert_returning` (see `RETURNING_ROUTES`). */
export interface InsertReturningPlan {
  /** The row tuples (a cell `{param: name}` takes that parameter), or `{param: name}`: the parameter holding them. */
  readonly rows: readonly (readonly unknown[])[] | { readonly param: string };
  readonly columns: readonly string[] | null;
  readonly onConflict: "error" | "ignore" | "update";
  readonly update: readonly (readonly string[])[] | null;
}

/** The write plan of `update_returning` (expressions over the alias `t`). */
export interface UpdateReturningPlan {
  readonly where: QueryExpr | null;
  readonly set: readonly (readonly [string, QueryExpr])[];
  readonly columns: readonly string[] | null;
}

/** The write plan of `delete_returning` (expressions over the alias `t`). */
export interface DeleteReturningPlan {
  readonly where: QueryExpr | null;
  readonly columns: readonly string[] | null;
}

/** The alias a `returning` plan's expressions name the written table by. */
export const RETURNING_ALIAS = "t";

// ---------------------------------------------------------------------------------------------
// Validation. Plans arrive over the wire: the route validates each distinct text once
// (`parseQueryPlan`); a builder checks each plan it makes (`checkQueryPlan`). Nesting and size are
// bounded before the schema runs, so no plan can exhaust the stack or the validator.

/** Longest plan text (characters). */
export const MAX_PLAN_TEXT = 1 << 20;
/** Deepest nesting of JSON arrays/objects in a plan (expressions, nested plans). */
export const MAX_PLAN_DEPTH = 96;
/** Most JSON nodes (values, arrays, objects) in one plan. */
export const MAX_PLAN_NODES = 50_000;

const idSchema = z.string().refine((s) => idProblem(s) === undefined, { message: "must be a valid Id" });
const nameSchema = z.string().min(1).max(256);
const valueSchema: z.ZodType<QueryValue> = z.union([z.object({ lit: z.unknown() }).strict(), z.object({ param: nameSchema }).strict()]) as z.ZodType<QueryValue>;

const exprSchema: z.ZodType<QueryExpr> = z.lazy(() =>
  z.discriminatedUnion("t", [
    z.object({ t: z.literal("col"), src: nameSchema, col: idSchema }).strict(),
    z.object({ t: z.literal("outer"), src: nameSchema, col: idSchema }).strict(),
    z.object({ t: z.literal("value"), value: valueSchema }).strict(),
    z.object({ t: z.literal("cmp"), op: z.enum(QUERY_CMP_OPS as [QueryCmpOp, ...QueryCmpOp[]]), l: exprSchema, r: exprSchema }).strict(),
    z.object({ t: z.literal("and"), of: z.array(exprSchema).max(1024) }).strict(),
    z.object({ t: z.literal("or"), of: z.array(exprSchema).max(1024) }).strict(),
    z.object({ t: z.literal("not"), e: exprSchema }).strict(),
    z.object({ t: z.literal("isNull"), e: exprSchema }).strict(),
    z
      .object({ t: z.literal("like"), e: exprSchema, pattern: exprSchema, escape: z.string().nullable(), negate: z.boolean() })
      .strict(),
    z.object({ t: z.literal("between"), e: exprSchema, low: exprSchema, high: exprSchema, negate: z.boolean() }).strict(),
    z.object({ t: z.literal("in"), e: exprSchema, list: z.union([valueSchema, z.array(exprSchema).max(10_000)]), negate: z.boolean() }).strict(),
    z.object({ t: z.literal("inQuery"), e: exprSchema, query: planSchema, negate: z.boolean() }).strict(),
    z
      .object({ t: z.literal("agg"), fn: z.enum(QUERY_AGG_FNS as [QueryAggFn, ...QueryAggFn[]]), arg: exprSchema.nullable(), distinct: z.boolean() })
      .strict(),
  ]),
) as z.ZodType<QueryExpr>;

const sourceSchema = z.object({ table: idSchema, as: nameSchema }).strict();
const planSchema: z.ZodType<QueryPlan> = z.lazy(() =>
  z
    .object({
      v: z.literal(1),
      from: sourceSchema,
      joins: z.array(z.object({ table: idSchema, as: nameSchema, kind: z.enum(["inner", "left"]), on: exprSchema }).strict()).max(64),
      where: exprSchema.nullable(),
      groupBy: z.array(exprSchema).min(1).max(64).nullable(),
      having: exprSchema.nullable(),
      select: z.array(z.object({ as: nameSchema, expr: exprSchema }).strict()).min(1).max(1024),
      distinct: z.boolean(),
      distinctOn: z.array(exprSchema).min(1).max(64).optional(),
      with: z.array(z.object({ as: nameSchema, kind: z.enum(["one", "many"]), plan: planSchema }).strict()).max(64),
      orderBy: z.array(z.object({ expr: exprSchema, desc: z.boolean() }).strict()).max(64),
      limit: valueSchema.nullable(),
      offset: valueSchema.nullable(),
    })
    .strict(),
) as z.ZodType<QueryPlan>;

const columnsSchema = z.array(idSchema).min(1).max(1024).nullable();
const insertSchema = z
  .object({
    rows: z.union([z.array(z.array(z.unknown()).max(1024)).max(100_000), z.object({ param: nameSchema }).strict()]),
    columns: columnsSchema,
    onConflict: z.enum(["error", "ignore", "update"]),
    update: z.array(z.array(idSchema).max(1024)).nullable(),
  })
  .strict();
const updateSchema = z
  .object({ where: exprSchema.nullable(), set: z.array(z.tuple([idSchema, exprSchema])).min(1).max(1024), columns: columnsSchema })
  .strict();
const deleteSchema = z.object({ where: exprSchema.nullable(), columns: columnsSchema }).strict();

/** Refuses JSON nested deeper than `MAX_PLAN_DEPTH` or larger than `MAX_PLAN_NODES` (iteratively). */
function checkBounds(json: unknown, what: string): void {
  const stack: [unknown, number][] = [[json, 0]];
  let nodes = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (++nodes > MAX_PLAN_NODES) throw new BadRequestError(`${what}: the plan has more than ${MAX_PLAN_NODES} nodes`);
    if (v === null || typeof v !== "object") continue;
    if (depth >= MAX_PLAN_DEPTH) throw new BadRequestError(`${what}: the plan is nested deeper than ${MAX_PLAN_DEPTH} levels`);
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, depth + 1]);
  }
}

function validate<T>(schema: z.ZodType<T>, json: unknown, what: string): T {
  checkBounds(json, what);
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BadRequestError(`${what}: invalid plan at ${["plan", ...issue.path.map(String)].join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

function parseText(text: unknown, what: string): unknown {
  if (typeof text !== "string") throw new BadRequestError(`${what}: the plan must be a JSON string`);
  if (text.length > MAX_PLAN_TEXT) throw new BadRequestError(`${what}: the plan is larger than 1 MiB`);
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError(`${what}: the plan is not valid JSON`);
  }
}

/**
 * Validates a plan object (shape, nesting and size) and returns it typed; throws
 * `BadRequestError` naming the problem (`query: invalid plan at plan.where.l: …`). Names
 * (aliases, columns, tables) are resolved by the host when it runs the plan.
 *
 * @example
 * ```ts
 * const plan = checkQueryPlan({ v: 1, from: { table: "users", as: "u" }, joins: [], where: null, groupBy: null,
 *   having: null, select: [{ as: "id", expr: { t: "col", src: "u", col: "id" } }], distinct: false, with: [],
 *   orderBy: [], limit: null, offset: null });
 * ```
 */
export function checkQueryPlan(json: unknown): QueryPlan {
  return validate(planSchema, json, "query");
}

/**
 * Parses and validates a plan text (what the `query` route receives as `plan_json`).
 *
 * @example
 * ```ts
 * parseQueryPlan(JSON.stringify(plan)); // the plan, typed
 * parseQueryPlan("{"); // throws BadRequestError("query: the plan is not valid JSON")
 * ```
 */
export function parseQueryPlan(text: unknown): QueryPlan {
  if (typeof text !== "string") return checkQueryPlan(parseText(text, "query"));
  return (cachedPlan("query", text) as QueryPlan | undefined) ?? rememberPlan("query", text, checkQueryPlan(parseText(text, "query")));
}

/**
 * Validated plans by route and text: a client sends the same text for every statement of a shape
 * (values are parameters), so each text is parsed and checked once. The plans are shared: nothing
 * may change them.
 */
const PLANS = new Map<string, Map<string, object>>();
const PLANS_PER_ROUTE = 512;

function cachedPlan(route: string, text: string): object | undefined {
  return PLANS.get(route)?.get(text);
}

function rememberPlan<T extends object>(route: string, text: string, plan: T): T {
  let byText = PLANS.get(route);
  if (byText === undefined) PLANS.set(route, (byText = new Map()));
  remember<string, object>(byText, text, plan, PLANS_PER_ROUTE);
  return plan;
}

/**
 * Parses and validates the plan text of a `returning` route.
 *
 * @example
 * ```ts
 * parseReturningPlan("delete_returning", JSON.stringify({ where: null, columns: null })); // { where: null, columns: null }
 * ```
 */
export function parseReturningPlan(route: "insert_returning", text: unknown): InsertReturningPlan;
export function parseReturningPlan(route: "update_returning", text: unknown): UpdateReturningPlan;
export function parseReturningPlan(route: "delete_returning", text: unknown): DeleteReturningPlan;
export function parseReturningPlan(route: (typeof RETURNING_ROUTES)[number], text: unknown): InsertReturningPlan | UpdateReturningPlan | DeleteReturningPlan;
export function parseReturningPlan(route: (typeof RETURNING_ROUTES)[number], text: unknown): InsertReturningPlan | UpdateReturningPlan | DeleteReturningPlan {
  if (typeof text === "string") {
    const hit = cachedPlan(route, text);
    if (hit !== undefined) return hit as InsertReturningPlan | UpdateReturningPlan | DeleteReturningPlan;
  }
  const json = parseText(text, route);
  const schema = route === "insert_returning" ? insertSchema : route === "update_returning" ? updateSchema : deleteSchema;
  return rememberPlan(route, text as string, validate(schema as z.ZodType<InsertReturningPlan | UpdateReturningPlan | DeleteReturningPlan>, json, route));
}

/**
 * Every table a query plan reads (`from`, joins, `inQuery` and `with` plans), e.g. for a grant
 * check; `[]` for an expression holding none.
 *
 * @example
 * ```ts
 * queryPlanTables(plan); // Set { "users", "posts" }
 * ```
 */
export function queryPlanTables(plan: QueryPlan, out: Set<string> = new Set()): Set<string> {
  out.add(plan.from.table);
  for (const j of plan.joins) {
    out.add(j.table);
    exprTables(j.on, out);
  }
  for (const e of [plan.where, plan.having, ...(plan.groupBy ?? []), ...plan.select.map((s) => s.expr), ...plan.orderBy.map((o) => o.expr)]) {
    if (e) exprTables(e, out);
  }
  for (const w of plan.with) queryPlanTables(w.plan, out);
  return out;
}

/**
 * The direct sub-expressions of `e` (its operands, and an `in` list's expressions), not entering
 * an `inQuery`'s plan: what every walk over an expression tree descends into.
 *
 * @example
 * ```ts
 * childExprs({ t: "not", e: x }); // [x]
 * ```
 */
export function childExprs(e: QueryExpr): readonly QueryExpr[] {
  switch (e.t) {
    case "cmp":
      return [e.l, e.r];
    case "and":
    case "or":
      return e.of;
    case "not":
    case "isNull":
    case "inQuery":
      return [e.e];
    case "like":
      return [e.e, e.pattern];
    case "between":
      return [e.e, e.low, e.high];
    case "in":
      return Array.isArray(e.list) ? [e.e, ...(e.list as readonly QueryExpr[])] : [e.e];
    case "agg":
      return e.arg ? [e.arg] : [];
    default:
      return [];
  }
}

/** The tables the `inQuery` subplans of an expression read (added to `out`). */
export function exprTables(e: QueryExpr, out: Set<string>): Set<string> {
  if (e.t === "inQuery") queryPlanTables(e.query, out);
  for (const x of childExprs(e)) exprTables(x, out);
  return out;
}
