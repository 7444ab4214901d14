/**
 * Table selectors (PROFILE §3), checked in this order: `null` (or `[]`) → all rows;
 * `[[col, bound], …]` → a range; a tuple as long as the key → one key; else 400
 * `invalid table selector`.
 */
import { BadRequestError } from "../../errors.js";
import { type IndexKey, type KeyCell, normCell } from "../storage/index-keys.js";
import type { Bound, ColumnConstraint } from "../storage/scan-plan.js";
import { type Column, type TableSchema, checkCell, describeValue } from "../storage/table-schema.js";

export type Selector =
  | { readonly kind: "all" }
  | { readonly kind: "key"; readonly key: readonly KeyCell[] }
  | { readonly kind: "range"; readonly constraints: readonly ColumnConstraint[] };

const ALL: Selector = Object.freeze({ kind: "all" });

function isRangeShape(raw: readonly unknown[]): boolean {
  for (const el of raw) {
    if (!Array.isArray(el) || el.length !== 2 || typeof el[0] !== "string") return false;
  }
  return true;
}

function parseBound(column: Column, raw: unknown, where: string): Bound | undefined {
  if (raw === null) return undefined;
  if (Array.isArray(raw) && raw.length === 2 && (raw[0] === "in" || raw[0] === "ex")) {
    return { value: normCell(checkCell(column, raw[1], where)), inclusive: raw[0] === "in" };
  }
  throw new BadRequestError(
    `${where}: invalid bound ${describeValue(raw)} for column ${JSON.stringify(column.name)}: expected null, ["in", value] or ["ex", value]`,
  );
}

/** Checks a key tuple against the key columns and returns its normalized cells. */
export function parseKey(schema: TableSchema, raw: readonly unknown[], where: string): KeyCell[] {
  const cols = schema.keyColumns;
  if (raw.length !== cols.length) {
    throw new BadRequestError(`${where}: a key has ${cols.length} column(s), got ${raw.length}`);
  }
  const out = new Array<KeyCell>(cols.length);
  for (let i = 0; i < cols.length; i++) out[i] = normCell(checkCell(cols[i]!, raw[i], where));
  return out;
}

/**
 * `parseKey` as the primary index's key: the cell itself for a table keyed by one column (no
 * tuple made, as a point get per loop item would), else the tuple.
 */
export function parseIndexKey(schema: TableSchema, raw: readonly unknown[], where: string): IndexKey {
  if (schema.keyColumns.length !== 1 || raw.length !== 1) return parseKey(schema, raw, where);
  return normCell(checkCell(schema.keyColumns[0]!, raw[0], where));
}

/**
 * Parses a selector against a schema. Values are checked against the column types.
 *
 * @example
 * ```ts
 * parseSelector(schema, [["views", [["in", 10], ["ex", 20]]]], "/state/app/t"); // a range
 * parseSelector(schema, ["one"], "/state/app/t");                               // a key
 * ```
 */
export function parseSelector(schema: TableSchema, raw: unknown, where: string): Selector {
  if (raw === null || raw === undefined) return ALL;
  if (!Array.isArray(raw)) {
    throw new BadRequestError(`${where}: invalid table selector ${describeValue(raw)}`);
  }
  if (raw.length === 0) return ALL;
  // A key cell is never a tuple, so a list of 2-tuples led by strings can only be a range.
  if (isRangeShape(raw)) {
    const seen = new Set<string>();
    const constraints: ColumnConstraint[] = [];
    for (const [name, bound] of raw as [string, unknown][]) {
      const column = schema.column(name);
      if (!column) {
        throw new BadRequestError(
          `${where}: invalid table selector: unknown column ${JSON.stringify(name)} (columns: ${schema.columns.map((c) => c.name).join(", ")})`,
        );
      }
      if (seen.has(name)) throw new BadRequestError(`${where}: column ${JSON.stringify(name)} appears twice in the selector`);
      seen.add(name);
      if (Array.isArray(bound)) {
        if (bound.length !== 2) {
          throw new BadRequestError(`${where}: invalid range ${describeValue(bound)} for column ${JSON.stringify(name)}: expected [lo, hi]`);
        }
        const lo = parseBound(column, bound[0], where);
        const hi = parseBound(column, bound[1], where);
        constraints.push({ column, eq: false, lo, hi });
      } else {
        constraints.push({ column, eq: true, value: normCell(checkCell(column, bound, where)) });
      }
    }
    return { kind: "range", constraints };
  }
  if (raw.length === schema.keyColumns.length) return { kind: "key", key: parseKey(schema, raw, where) };
  throw new BadRequestError(`${where}: invalid table selector ${describeValue(raw)}`);
}
