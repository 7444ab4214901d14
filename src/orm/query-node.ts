/**
 * The node of a relational select (joins, nested loading, expressions, aggregates, several order
 * keys, distinct): what the select builder accumulates once a statement needs more than the
 * single-table read path, and what `query-compiler.ts` turns into a `QueryPlan` for the kernel's
 * `query` extension. Every expression is resolved (columns bound to their alias).
 */
import type { QueryAggFn, QueryCmpOp } from "../ir/query-plan.js";
import type { ColumnMeta, TableMeta } from "./meta.js";
import type { Amount, DeleteNode, InsertNode, Operand, QueryNode, SelectNode, UpdateNode } from "./nodes.js";
import type { RelationInfo } from "./relations.js";

/** A value in an expression: given directly (bound to a generated parameter) or a `param()`. */
export interface OValue {
  readonly t: "value";
  readonly operand: Operand;
  /** The column the value is compared with (how it is checked and sent), if any. */
  readonly column: ColumnMeta | null;
  readonly shape: "value" | "list";
}

/** An expression node: resolved (`col`, …) or, before a builder takes it, holding `ref`s. */
export type OExpr =
  | { readonly t: "ref"; readonly name: string }
  | { readonly t: "col"; readonly src: string; readonly col: string; readonly meta: ColumnMeta }
  | { readonly t: "outer"; readonly src: string; readonly col: string; readonly meta: ColumnMeta }
  | OValue
  | { readonly t: "cmp"; readonly op: QueryCmpOp; readonly l: OExpr; readonly r: OExpr }
  | { readonly t: "and" | "or"; readonly of: readonly OExpr[] }
  | { readonly t: "not"; readonly e: OExpr }
  | { readonly t: "isNull"; readonly e: OExpr }
  | { readonly t: "like"; readonly e: OExpr; readonly pattern: OExpr; readonly negate: boolean }
  | { readonly t: "between"; readonly e: OExpr; readonly low: OExpr; readonly high: OExpr; readonly negate: boolean }
  | { readonly t: "in"; readonly e: OExpr; readonly list: OValue; readonly negate: boolean }
  | { readonly t: "inQuery"; readonly e: OExpr; readonly query: QNode; readonly negate: boolean }
  | { readonly t: "agg"; readonly fn: QueryAggFn; readonly arg: OExpr | null; readonly distinct: boolean };

/** One alias in scope: a table read under a name; `nullable` for the right side of a left join. */
export interface ScopeEntry {
  readonly alias: string;
  readonly meta: TableMeta;
  readonly nullable: boolean;
  /** Hidden aliases (an edge table joined through a relation) never match a bare column name. */
  readonly hidden?: boolean;
}

/** A write answering the rows as written (`returning`): the write, and the columns (`null`: all). */
export interface ReturningNode {
  readonly kind: "returning";
  readonly table: TableMeta;
  readonly write: InsertNode | UpdateNode | DeleteNode;
  readonly columns: readonly string[] | null;
}

/** Any statement's node: a single-table one (`nodes.ts`), a relational select, or a write with `returning`. */
export type StatementNode = QueryNode | QNode | ReturningNode;

export interface QJoin {
  readonly kind: "inner" | "left";
  readonly table: TableMeta;
  readonly alias: string;
  readonly on: OExpr;
  /** An edge table joined on the way to a relation's target: not addressable by bare column names. */
  readonly hidden: boolean;
}

export interface QSelect {
  readonly as: string;
  readonly expr: OExpr;
}

/** An order key; `ref` names an output column (`select` alias) resolved at compile time. */
export type QOrder = { readonly expr: OExpr; readonly desc: boolean };

/** A nested load: the relation, and the target's own relational select. */
export interface QWith {
  readonly as: string;
  readonly relation: RelationInfo;
  /** The edge table of an edge relation (`null` for a foreign key). */
  readonly edgeTable: TableMeta | null;
  readonly node: QNode;
}

export interface QNode {
  readonly kind: "query";
  /** The `from` table. */
  readonly table: TableMeta;
  readonly alias: string;
  readonly joins: readonly QJoin[];
  readonly where: OExpr | null;
  readonly groupBy: readonly OExpr[] | null;
  readonly having: OExpr | null;
  /** Output columns; `null`: every column of `from`. */
  readonly select: readonly QSelect[] | null;
  readonly distinct: boolean;
  /** `distinctOn()`: the first row in order of each distinct tuple of these; null: every row. */
  readonly distinctOn: readonly OExpr[] | null;
  readonly with: readonly QWith[];
  readonly orderBy: readonly QOrder[];
  readonly limit: Amount | null;
  readonly offset: Amount | null;
  /** `count()`: the number of result rows instead of the rows. */
  readonly count: boolean;
}

/** The aliases a node's expressions may name. */
export function scopeOf(node: QNode): ScopeEntry[] {
  return [
    { alias: node.alias, meta: node.table, nullable: false },
    ...node.joins.map((j) => ({ alias: j.alias, meta: j.table, nullable: j.kind === "left", hidden: j.hidden })),
  ];
}

/** An empty relational select of `table` under `alias`. */
export function emptyQuery(table: TableMeta, alias: string = table.name): QNode {
  return { kind: "query", table, alias, joins: [], where: null, groupBy: null, having: null, select: null, distinct: false, distinctOn: null, with: [], orderBy: [], limit: null, offset: null, count: false };
}

/** `a AND b` (flattening), or either when the other is absent. */
export function andExpr(a: OExpr | null, b: OExpr): OExpr {
  if (a === null) return b;
  return { t: "and", of: [...(a.t === "and" ? a.of : [a]), ...(b.t === "and" ? b.of : [b])] };
}

/**
 * A single-table select node as a relational one (same rows, same order): predicates ANDed, the
 * one order key, limit/offset, projection, count.
 *
 * @example
 * ```ts
 * const q = fromSelectNode(selectNode); // then joins, with(), … on top
 * ```
 */
export function fromSelectNode(node: SelectNode): QNode {
  const meta = node.table;
  const alias = meta.name;
  const col = (name: string): OExpr => ({ t: "col", src: alias, col: name, meta: meta.columnsByName[name]! });
  let where: OExpr | null = null;
  for (const p of node.where) {
    const c = col(p.column);
    const column = meta.columnsByName[p.column]!;
    let e: OExpr;
    if (p.op === "isNull") e = { t: "isNull", e: c };
    else if (p.op === "isNotNull") e = { t: "not", e: { t: "isNull", e: c } };
    else if (p.op === "in") e = { t: "in", e: c, list: { t: "value", operand: p.operand!, column, shape: "list" }, negate: false };
    else e = { t: "cmp", op: p.op, l: c, r: { t: "value", operand: p.operand!, column, shape: "value" } };
    where = andExpr(where, e);
  }
  return {
    ...emptyQuery(meta, alias),
    where,
    orderBy: node.orderBy ? [{ expr: col(node.orderBy.column), desc: node.orderBy.direction === "desc" }] : [],
    limit: node.limit,
    offset: node.offset,
    select: node.columns ? node.columns.map((c) => ({ as: c, expr: col(c) })) : null,
    count: node.count,
  };
}
