/**
 * Decoding of a traversal's result (the op's JSON) into what the builder promises: row objects,
 * a count, paths of `{ table, row }`, or bindings per alias. A result of the wrong shape fails with
 * a `BadRequestError` saying what came instead.
 */
import { BadRequestError } from "../errors.js";
import type { Json } from "../ir/types.js";
import { rowDecoder } from "../orm/row-factory.js";
import type { Catalog, TableNode } from "./catalog.js";
import { showValue } from "../ir/show-value.js";

/** Row tuple → row object for `columns` of a table (link cells as their href strings). */
type RowDecoder = (row: Json[]) => Record<string, Json>;
const DECODERS = new WeakMap<readonly string[], RowDecoder>();

/** The decoder for `columns` (the table's, or a selection of them), cached per columns array. */
function rowDecoderOf(node: TableNode, columns: readonly string[]): RowDecoder {
  let decode = DECODERS.get(columns);
  if (decode === undefined) {
    const decoders: Record<string, (v: Json) => unknown> = {};
    for (const c of columns) if (node.decoders[c] !== undefined) decoders[c] = node.decoders[c];
    decode = rowDecoder(columns, decoders) as RowDecoder;
    DECODERS.set(columns, decode);
  }
  return decode;
}

/** `row` as a tuple of `columns.length` cells, or a 400 saying what came instead. */
function checkRow(row: Json, columns: readonly string[]): Json[] {
  if (!Array.isArray(row) || row.length !== columns.length) {
    throw new BadRequestError(`traversal result: expected a row of ${columns.length} columns, got ${showValue(row)}`);
  }
  return row;
}

function rowObject(row: Json, node: TableNode, columns: readonly string[] = node.columns): Record<string, Json> {
  return rowDecoderOf(node, columns)(checkRow(row, columns));
}

/**
 * A tuple of rows of `node` (each `columns` long) as row objects.
 *
 * @example
 * ```ts
 * decodeRows([[1, "ada"]], catalog.table("users"), ["id", "name"]); // [{ id: 1, name: "ada" }]
 * ```
 */
export function decodeRows(result: Json, node: TableNode, columns: readonly string[]): Record<string, Json>[] {
  if (!Array.isArray(result)) throw new BadRequestError(`traversal result: expected a tuple of rows, got ${typeof result}`);
  const decode = rowDecoderOf(node, columns);
  const out: Record<string, Json>[] = [];
  for (let i = 0; i < result.length; i++) {
    out.push(decode(checkRow(result[i]!, columns)));
  }
  return out;
}

/**
 * A count.
 *
 * @example
 * ```ts
 * decodeCount(3); // 3
 * ```
 */
export function decodeCount(result: Json): number {
  if (typeof result !== "number") throw new BadRequestError(`traversal result: expected a count, got ${showValue(result)}`);
  return result;
}

/**
 * One path, a tuple of `[table, row]`, as `{ table, row }` steps.
 *
 * @example
 * ```ts
 * decodePath([["users", [1, "ada"]]], catalog); // [{ table: "users", row: { id: 1, name: "ada" } }]
 * ```
 */
export function decodePath(path: Json, catalog: Catalog): { table: string; row: Record<string, Json> }[] {
  if (!Array.isArray(path)) throw new BadRequestError("traversal result: a path is a tuple of [table, row]");
  return path.map((step) => {
    if (!Array.isArray(step) || step.length !== 2 || typeof step[0] !== "string") {
      throw new BadRequestError("traversal result: a path step is [table, row]");
    }
    const table = step[0];
    return { table, row: rowObject(step[1]!, catalog.table(table)) };
  });
}

/**
 * A tuple of paths (see `decodePath`).
 *
 * @example
 * ```ts
 * decodePaths([[["users", [1, "ada"]]]], catalog);
 * ```
 */
export function decodePaths(result: Json, catalog: Catalog): { table: string; row: Record<string, Json> }[][] {
  if (!Array.isArray(result)) throw new BadRequestError("traversal result: expected a tuple of paths");
  return result.map((p) => decodePath(p, catalog));
}

/**
 * A tuple of bindings (one row per field, in `fields` order) as `{ field: row }` objects;
 * `tableOf` gives each alias's table.
 *
 * @example
 * ```ts
 * decodeReturn([[[1, "ada"]]], [["user", "u"]], new Map([["u", "users"]]), catalog); // [{ user: { id: 1, name: "ada" } }]
 * ```
 */
export function decodeReturn(result: Json, fields: readonly [string, string][], tableOf: Map<string, string>, catalog: Catalog): Record<string, unknown>[] {
  if (!Array.isArray(result)) throw new BadRequestError("traversal result: expected a tuple of bindings");
  return result.map((binding) => {
    if (!Array.isArray(binding) || binding.length !== fields.length) throw new BadRequestError("traversal result: malformed binding");
    const out: Record<string, unknown> = {};
    fields.forEach(([field, alias], i) => (out[field] = rowObject(binding[i]!, catalog.table(tableOf.get(alias)!))));
    return out;
  });
}
