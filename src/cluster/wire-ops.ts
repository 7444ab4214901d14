/**
 * The few ops the cluster sends on its own behalf — a query plan, a bulk insert, deletes by key —
 * and the reading of a table literal a host answers. Cells always travel as arguments, never in
 * the op (a string cell starting with `$` would read as a reference).
 */
import { BadRequestError } from "../errors.js";
import type { Json } from "../ir/types.js";
import { PATHS } from "../ir/types.js";

/** An op and the arguments it binds. */
export interface BoundOp {
  readonly op: Json;
  readonly args: Record<string, Json>;
}

/** `GET <link>/query` with `plan`, each parameter bound from the op's arguments. */
export function queryOp(link: string, plan: unknown, params: Readonly<Record<string, Json>>): BoundOp {
  const refs: Record<string, Json> = {};
  for (const name of Object.keys(params)) refs[name] = { [`$${name}`]: [] };
  return { op: { [PATHS.opdef.post]: [["_r", { [`${link}/query`]: [[JSON.stringify(plan), refs]] }]] } as Json, args: { ...params } };
}

/** `PUT <link>/insert_rows` with `rows`. */
export function insertRowsOp(link: string, rows: readonly unknown[][]): BoundOp {
  return { op: { [PATHS.opdef.post]: [["_w", { [`${link}/insert_rows`]: [null, { $_rows: [] }] }]] } as Json, args: { _rows: rows as Json } };
}

/** Deletes each `[table link, key]`, in one op. */
export function deleteOp(keys: readonly (readonly [string, unknown[]])[]): BoundOp {
  const args: Record<string, Json> = {};
  const steps: Json[] = keys.map(([table, key], j) => {
    args[`_d${j}`] = key as Json;
    return [`_s${j}`, { [PATHS.explicitRef.delete]: [table, { [`$_d${j}`]: [] }] }];
  });
  // Steps run in dataflow order: the result names every delete so that each one runs.
  steps.push(["_r", keys.map((_, j) => ({ [`$_s${j}`]: [] }))]);
  return { op: { [PATHS.opdef.post]: steps } as Json, args };
}

/** The rows of a table literal answered by `GET <table>` with a null key. */
export function literalRows(lit: Json): unknown[][] {
  const body = (lit as Record<string, unknown> | null)?.[PATHS.table];
  if (!Array.isArray(body) || !Array.isArray(body[1])) throw new BadRequestError("cluster: a host answered a table read with something other than a table literal");
  return body[1] as unknown[][];
}
