/**
 * The few ops the cluster sends on its own behalf — a query plan, a bulk insert, deletes by key —
 * and the reading of a table literal a host answers. Cells always travel as arguments, never in
 * the op (a string cell starting with `$` would read as a reference).
 */
import { BadRequestError } from "../errors.js";
import type { Json } from "../ir/types.js";
import { PATHS } from "../ir/types.js";

const ABSOLUTE = /^https?:\/\//;

/**
 * Cells as arguments carry them: a link cell answered as `{"<href>": []}` is written back as
 * `{"/state/scalar/value/link": "<href>"}` when its href is absolute (an absolute link cannot be
 * a map key in v2 IR); everything else as it is.
 *
 * @example
 * ```ts
 * argCells([[1, { "http://x.example/a": [] }]]); // [[1, { "/state/scalar/value/link": "http://x.example/a" }]]
 * ```
 */
export function argCells<T>(x: T): T {
  if (Array.isArray(x)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < x.length; i++) {
      const v = argCells(x[i]);
      if (v !== x[i]) (out ??= x.slice())[i] = v;
    }
    return (out ?? x) as T;
  }
  if (typeof x === "object" && x !== null) {
    const keys = Object.keys(x);
    const v = (x as Record<string, unknown>)[keys[0]!];
    if (keys.length === 1 && ABSOLUTE.test(keys[0]!) && Array.isArray(v) && v.length === 0) return { [PATHS.value.link]: keys[0]! } as T;
  }
  return x;
}

/** An op and the arguments it binds. */
export interface BoundOp {
  readonly op: Json;
  readonly args: Record<string, Json>;
}

/** `GET <link>/query` with `plan`, each parameter bound from the op's arguments. */
export function queryOp(link: string, plan: unknown, params: Readonly<Record<string, Json>>): BoundOp {
  const refs: Record<string, Json> = {};
  for (const name of Object.keys(params)) refs[name] = { [`$${name}`]: [] };
  return { op: { [PATHS.opdef.post]: [["_r", { [`${link}/query`]: [[JSON.stringify(plan), refs]] }]] } as Json, args: argCells({ ...params }) };
}

/** `PUT <link>/insert_rows` with `rows`. */
export function insertRowsOp(link: string, rows: readonly unknown[][]): BoundOp {
  return { op: { [PATHS.opdef.post]: [["_w", { [`${link}/insert_rows`]: [null, { $_rows: [] }] }]] } as Json, args: { _rows: argCells(rows) as Json } };
}

/** Deletes each `[table link, key]`, in one op. */
export function deleteOp(keys: readonly (readonly [string, unknown[]])[]): BoundOp {
  const args: Record<string, Json> = {};
  const steps: Json[] = keys.map(([table, key], j) => {
    args[`_d${j}`] = argCells(key) as Json;
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
