/**
 * Type helpers shared by the builders. Builders are typed by the flat row type `R` of their
 * table only (never by the column declarations), which keeps instantiation counts small.
 */
import type { IdRef } from "../ir/types.js";

/** A column name of row type `R`. */
export type ColumnName<R> = keyof R & string;

/** The comparison operators that fit a column of value type `V` (bool: equality only). */
export type ComparisonOp<V> = [NonNullable<V>] extends [boolean] ? "=" | "!=" : "=" | "!=" | "<" | "<=" | ">" | ">=";

/** Columns that may be null (the only ones `isNull`/`isNotNull` apply to). */
export type NullableColumn<R> = { [K in keyof R]-?: null extends R[K] ? K : never }[keyof R] & string;

/** A value compared with a column: a value of its type, or a `param("name")` bound at execution. */
export type Operand<V> = NonNullable<V> | IdRef;

/** A list for `in`: an array of values, or one parameter holding an array. */
export type ListOperand<V> = readonly NonNullable<V>[] | IdRef;

/** A row limit or offset: a number, or a parameter. */
export type AmountOperand = number | IdRef;

/**
 * The operators `where(column, op, …)` accepts for a column of type `V`: comparisons (only `=`
 * and `!=` for booleans), `in`, and `isNull`/`isNotNull` when the column is nullable.
 */
export type WhereOp<V> = ComparisonOp<V> | "in" | (null extends V ? "isNull" | "isNotNull" : never);

/** The rest of `where`'s arguments after the operator: none, a list, or one value. */
export type WhereValue<V, Op> = [Op] extends ["isNull" | "isNotNull"] ? [] : [Op] extends ["in"] ? [values: ListOperand<V>] : [value: Operand<V>];
