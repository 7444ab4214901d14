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
 * - **Nested loading** (`with`): one output cell per item, after the `select` cells: `many` → a
 *   tuple of the nested plan's rows (each a tuple), `one` → the first row's tuple or null. The
 *   nested plan refers to the current row of its parent by `{ t: "outer", src, col }`; an equality
 *   between a nested column and an outer reference is served by an index lookup as a join is.
 *   `limit`/`offset`/`orderBy` apply per parent row.
 */

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
