/**
 * Checks a value given for a column (a `where` operand, an `in` item, a parameter's value)
 * against the column's type, nulls aside: what every builder does before binding it.
 */
import type { z } from "zod";
import { BadRequestError } from "../errors.js";
import type { ColumnMeta } from "./meta.js";
import { columnZod, quickValueCheck } from "./validate.js";

const valueZod = new WeakMap<ColumnMeta, z.ZodType>();
function nonNullZod(c: ColumnMeta): z.ZodType {
  let t = valueZod.get(c);
  if (!t) {
    t = columnZod({ ...c, nullable: false });
    valueZod.set(c, t);
  }
  return t;
}

/** The zod-free check of common column types, per column (`null`: none, use zod). */
const quickChecks = new WeakMap<ColumnMeta, ((v: unknown) => boolean) | null>();

/**
 * Throws `BadRequestError` when `value` does not fit column `c` (ignoring nullability).
 *
 * @example
 * ```ts
 * checkValue("app/users", users.columnsByName.age, "x", "where value"); // BadRequestError
 * ```
 */
export function checkValue(table: string, c: ColumnMeta, value: unknown, what: string): void {
  const quick = quickCheckOf(c);
  if (quick !== null && quick(value)) return;
  checkByZod(table, c, value, what);
}

/** Column `c`'s zod-free check (made once per column), or null when it has none. */
function quickCheckOf(c: ColumnMeta): ((v: unknown) => boolean) | null {
  let quick = quickChecks.get(c);
  if (quick === undefined) quickChecks.set(c, (quick = quickValueCheck(c) ?? null));
  return quick;
}

/** The check by the column's zod schema, which names what is wrong. */
function checkByZod(table: string, c: ColumnMeta, value: unknown, what: string): void {
  const r = nonNullZod(c).safeParse(value);
  if (!r.success) {
    throw new BadRequestError(`${table}: ${what} for column ${c.name}: ${r.error.issues[0]?.message ?? "invalid value"}`);
  }
}

/**
 * `checkValue` for each item of a list; `what(i)` names item `i` (called only for an item that
 * fails, so a long list of good values builds no message text).
 *
 * @example
 * ```ts
 * checkValues("app/users", users.columnsByName.id, [1, 2, "x"], (i) => `in-list item ${i}`); // BadRequestError: … in-list item 2 …
 * ```
 */
export function checkValues(table: string, c: ColumnMeta, values: readonly unknown[], what: (i: number) => string): void {
  const quick = quickCheckOf(c);
  for (let i = 0; i < values.length; i++) {
    if (quick === null || !quick(values[i])) checkByZod(table, c, values[i], what(i));
  }
}
