/**
 * Type-level helpers of the select builder: the aliases in scope (`Sc`: alias → row type), the
 * column references they allow (`"name"`, `"posts.id"`), what a selection outputs
 * (`"posts.id as postId"`, `fn.count("id").as("n")`), and the expression builder's signatures.
 * Everything here is computed from the scope only, never from the whole schema.
 */
import type { IdRef } from "../ir/types.js";
import type { AliasedExpression, Expression } from "./expr.js";
import type { Statement } from "./statement.js";

/** A plain object type (shown expanded on hover). */
export type Plain<X> = { [K in keyof X]: X[K] } & {};

/** `"alias.column"` for every alias in scope. */
export type QualifiedColumn<Sc> = { [A in keyof Sc & string]: `${A}.${keyof Sc[A] & string}` }[keyof Sc & string];

/** Bare column names of the aliases in scope (a name two aliases share is refused at run time). */
export type BareColumn<Sc> = { [A in keyof Sc]: keyof Sc[A] }[keyof Sc] & string;

/** A column as `where`, `orderBy`, `groupBy` and `select` name it. */
export type ColumnRef<Sc> = BareColumn<Sc> | QualifiedColumn<Sc>;

/** The value type of column reference `C`. */
export type ColumnType<Sc, C> = C extends `${infer A}.${infer K}`
  ? A extends keyof Sc
    ? K extends keyof Sc[A]
      ? Sc[A][K]
      : never
    : never
  : { [A in keyof Sc]: C extends keyof Sc[A] ? Sc[A][C] : never }[keyof Sc];

/** Columns of numeric type (what `fn.sum`/`fn.avg` take). */
export type NumericColumn<Sc> = { [C in ColumnRef<Sc>]: [NonNullable<ColumnType<Sc, C>>] extends [number] ? C : never }[ColumnRef<Sc>];

/** What `select([...])` takes: a column, `"column as name"`, or a named expression. */
export type Selection<Sc> = ColumnRef<Sc> | `${ColumnRef<Sc>} as ${string}` | AliasedExpression<string, unknown>;

type OutName<P> = P extends AliasedExpression<infer N, unknown> ? N : P extends `${string} as ${infer N}` ? N : P extends `${string}.${infer K}` ? K : P;
type OutType<Sc, P> = P extends AliasedExpression<string, infer V> ? V : P extends `${infer C} as ${string}` ? ColumnType<Sc, C> : ColumnType<Sc, P>;

/** The row type of selections `P`. */
export type Selected<Sc, P> = { [X in P as OutName<X> & string]: OutType<Sc, X> };

/** Row type `R` with every column nullable (the right side of a left join). */
export type Nullable<R> = { [K in keyof R]: R[K] | null };

/** `"table"` or `"table as alias"` → the alias. */
export type AliasOf<T extends string> = T extends `${string} as ${infer A}` ? A : T;
/** `"table"` or `"table as alias"` → the table. */
export type TableOfRef<T extends string> = T extends `${infer N} as ${string}` ? N : T;

/** A subquery of one column whose values have type `V` (for `in` / `not in`). */
export type OneColumnQuery<V> = Statement<Record<string, NonNullable<V> | null>[]>;

/** Operators of `where(col, op, value)` / `eb(col, op, value)` for a column of type `V`. */
export type ExprOp<V> =
  | ([NonNullable<V>] extends [boolean] ? "=" | "!=" | "<>" : "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=")
  | "in"
  | "not in"
  | ([NonNullable<V>] extends [string] ? "like" | "not like" : never)
  | (null extends V ? "isNull" | "isNotNull" | "is" | "is not" : never);

/** The operand after `op`: a list or subquery (`in`), a pattern (`like`), null (`is`), or a value. */
export type ExprRhs<V, Op> = [Op] extends ["in" | "not in"]
  ? readonly NonNullable<V>[] | IdRef | OneColumnQuery<V>
  : [Op] extends ["like" | "not like"]
    ? string | IdRef
    : [Op] extends ["is" | "is not"]
      ? null
      : NonNullable<V> | IdRef | Expression<V>;

/** The rest of `where`'s arguments after the operator. */
export type ExprArgs<V, Op> = [Op] extends ["isNull" | "isNotNull"] ? [] : [value: ExprRhs<V, Op>];

/**
 * Aggregate functions (`eb.fn`, `db.fn`), Kysely's names. Null semantics are SQL's: every
 * aggregate but `countAll` skips nulls; `sum`/`avg`/`min`/`max` of no values are `null`, `count`
 * of none is 0; `avg` is a float.
 */
export interface AggregateFunctions<Sc> {
  /** Non-null values of `c` (`COUNT(c)`). */
  count<C extends ColumnRef<Sc>>(c: C): Expression<number>;
  /** Rows (`COUNT(*)`). */
  countAll(): Expression<number>;
  /** Distinct non-null values (`COUNT(DISTINCT c)`). */
  countDistinct<C extends ColumnRef<Sc>>(c: C): Expression<number>;
  sum<C extends NumericColumn<Sc>>(c: C): Expression<number | null>;
  avg<C extends NumericColumn<Sc>>(c: C): Expression<number | null>;
  min<C extends ColumnRef<Sc>>(c: C): Expression<NonNullable<ColumnType<Sc, C>> | null>;
  max<C extends ColumnRef<Sc>>(c: C): Expression<NonNullable<ColumnType<Sc, C>> | null>;
}

/**
 * The expression builder of `where((eb) => …)` / `having((eb) => …)`: `eb(col, op, value)`,
 * `eb.and([...])`, `eb.or([...])`, `eb.not(e)`, `eb.between(col, low, high)`, `eb.ref(col)`,
 * `eb.fn.count(col)`.
 *
 * @example
 * ```ts
 * db.selectFrom("users").where((eb) => eb.or([eb("age", "<", 18), eb("age", ">", 65)]));
 * ```
 */
export interface ExpressionBuilder<Sc> {
  <C extends ColumnRef<Sc>, Op extends ExprOp<ColumnType<Sc, C>>>(lhs: C, op: Op, ...rhs: ExprArgs<ColumnType<Sc, C>, Op>): Expression<boolean>;
  <V, Op extends ExprOp<V>>(lhs: Expression<V>, op: Op, ...rhs: ExprArgs<V, Op>): Expression<boolean>;
  and(exprs: readonly Expression<boolean>[]): Expression<boolean>;
  or(exprs: readonly Expression<boolean>[]): Expression<boolean>;
  not(expr: Expression<boolean>): Expression<boolean>;
  /** `low <= c AND c <= high` (SQL's `BETWEEN`). */
  between<C extends ColumnRef<Sc>>(c: C, low: NonNullable<ColumnType<Sc, C>> | IdRef, high: NonNullable<ColumnType<Sc, C>> | IdRef): Expression<boolean>;
  notBetween<C extends ColumnRef<Sc>>(c: C, low: NonNullable<ColumnType<Sc, C>> | IdRef, high: NonNullable<ColumnType<Sc, C>> | IdRef): Expression<boolean>;
  /** A column as an operand: `eb("posts.author", "=", eb.ref("users.id"))`. */
  ref<C extends ColumnRef<Sc>>(c: C): Expression<ColumnType<Sc, C>>;
  /** A value as an operand (bound to a parameter). */
  val<V extends string | number | boolean>(v: V): Expression<V>;
  readonly fn: AggregateFunctions<Sc>;
}
