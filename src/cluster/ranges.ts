/** Where each host of a cluster records the hash ranges it holds (ordinary state, PROFILE §6.16). */
import { NotFoundError } from "../errors.js";
import type { Runner } from "../executor.js";
import type { Json } from "../ir/types.js";
import type { ShardSpec } from "./layout.js";
import { literalRows } from "./wire-ops.js";

/** The table of ranges on each host: one row `[lo] → [hi]` per range `[lo, hi)`. */
export const RANGES_TABLE = "/state/_cluster/ranges";

/** Its schema. */
export const RANGES_SCHEMA: Json = [[[["lo", "/state/scalar/value/number/uint/64"]], [["hi", "/state/scalar/value/number/uint/64"]]], []];

/** The ranges a host records, in order; undefined when it has no ranges table. */
export async function heldRanges(r: Runner): Promise<[number, number][] | undefined> {
  let rows: unknown[][];
  try {
    rows = literalRows(await r.request({ verb: "get", path: RANGES_TABLE, key: null }));
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
  return rows.map((row) => [Number(row[0]), Number(row[1])] as [number, number]).sort((a, b) => a[0] - b[0]);
}

/** The ranges a layout gives a host, in order. */
export function rangesOf(shards: readonly ShardSpec[], url: string): [number, number][] {
  return shards.filter((s) => s.hosts.includes(url)).map((s) => [s.range[0], s.range[1]] as [number, number]).sort((a, b) => a[0] - b[0]);
}

/** Ranges as text, for comparisons and messages. */
export function rangesText(list: readonly (readonly [number, number])[]): string {
  return list.map(([a, b]) => `[${a}, ${b})`).join(" ") || "nothing";
}
