/**
 * What `stream()` of every select shares: the page size and the statement's own limit/offset
 * resolved from the arguments, the arguments the pages keep, and the loop of offset pages.
 */
import { BadRequestError } from "../errors.js";
import type { Amount } from "./nodes.js";
import type { Args } from "./statement.js";

/** Where a stream starts: rows still wanted (null: all), the next offset, each page's arguments. */
export interface StreamStart {
  readonly pageSize: number;
  remaining: number | null;
  offset: number;
  readonly pageArgs: Record<string, unknown>;
}

/**
 * Resolves a stream's page size and the statement's limit/offset (given or named parameters);
 * the named limit/offset parameters are left out of the pages' arguments (each page has its own).
 *
 * @example
 * ```ts
 * const start = streamStart(node.limit, node.offset, args, options.pageSize);
 * ```
 */
export function streamStart(limit: Amount | null, offset: Amount | null, args: Args | undefined, pageSize = 1000): StreamStart {
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new BadRequestError(`stream(): pageSize must be a positive integer`);
  const resolve = (a: Amount | null): number | null => {
    if (!a) return null;
    const v = a.kind === "param" ? args?.[a.name] : a.value;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new BadRequestError(`stream(): limit/offset must be non-negative integers`);
    return v;
  };
  const pageArgs: Record<string, unknown> = { ...(args ?? {}) };
  for (const a of [limit, offset]) if (a?.kind === "param") delete pageArgs[a.name];
  return { pageSize, remaining: resolve(limit), offset: resolve(offset) ?? 0, pageArgs };
}

/**
 * Yields the rows of offset pages (`page(n, offset)` reads at most `n` rows from `offset`) until a
 * page comes back short or the statement's limit is reached.
 */
export async function* offsetPages(start: StreamStart, page: (n: number, offset: number) => Promise<unknown[]>): AsyncIterableIterator<unknown> {
  let { remaining, offset } = start;
  while (remaining === null || remaining > 0) {
    const n = remaining === null ? start.pageSize : Math.min(start.pageSize, remaining);
    const rows = await page(n, offset);
    for (const row of rows) yield row;
    if (rows.length < n) return;
    offset += rows.length;
    if (remaining !== null) remaining -= rows.length;
  }
}
