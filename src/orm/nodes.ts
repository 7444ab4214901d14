/**
 * The small, frozen node tree a builder accumulates. Builders only ever copy-and-extend these;
 * `compiler.ts` turns them into IR. User values live here (in `value` operands) but never reach
 * the op: the compiler binds each one to a generated parameter.
 */
import type { TableMeta } from "./meta.js";

/** Comparison and null-test operators of `where`. */
export type Operator = "=" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "isNull" | "isNotNull";

export const OPERATORS: ReadonlySet<string> = new Set(["=", "!=", "<", "<=", ">", ">=", "in", "isNull", "isNotNull"]);

/** A value given directly (bound to a generated parameter) or a named parameter (`param("x")`). */
export type Operand =
  | { readonly kind: "value"; readonly value: unknown }
  | { readonly kind: "param"; readonly name: string };

/** One `where` predicate; predicates are ANDed. `operand` is `null` for the null tests. */
export interface Predicate {
  readonly column: string;
  readonly op: Operator;
  readonly operand: Operand | null;
}

export interface OrderBy {
  readonly column: string;
  readonly direction: "asc" | "desc";
}

/** A count or row limit: a number given directly or a parameter. */
export type Amount = Operand;

export interface SelectNode {
  readonly kind: "select";
  readonly table: TableMeta;
  readonly where: readonly Predicate[];
  readonly orderBy: OrderBy | null;
  readonly limit: Amount | null;
  readonly offset: Amount | null;
  /** Projected columns, or `null` for all. */
  readonly columns: readonly string[] | null;
  readonly count: boolean;
}

export type ConflictAction = "error" | "ignore" | "update";

export interface InsertNode {
  readonly kind: "insert";
  readonly table: TableMeta;
  /** Validated rows as tuples in column order. */
  readonly rows: readonly (readonly unknown[])[];
  /** Per row, the value columns the caller gave (what `onConflict("update")` sets on an existing row). */
  readonly provided: readonly (readonly string[])[];
  readonly onConflict: ConflictAction;
}

export interface UpdateNode {
  readonly kind: "update";
  readonly table: TableMeta;
  /** Validated `[column, value]` pairs, in column order. */
  readonly set: readonly (readonly [string, Operand])[];
  readonly where: readonly Predicate[];
}

export interface DeleteNode {
  readonly kind: "delete";
  readonly table: TableMeta;
  readonly where: readonly Predicate[];
}

export type QueryNode = SelectNode | InsertNode | UpdateNode | DeleteNode;
