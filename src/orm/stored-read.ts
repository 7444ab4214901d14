/**
 * Reading what a host stores before `sync()` and `planMigration()` compare it with a declaration:
 * the host's table list, then every stored schema they need (and the migration history) in ONE
 * request — an op of GETs, one transaction. One request per table made `sync()` of an app's
 * tables one round trip per table over HTTP (20 tables: 21 round trips at startup).
 */
import { BadGatewayError, ForbiddenError, NotFoundError } from "../errors.js";
import type { Runner } from "../executor.js";
import { get, opdef, ref, type JsonSteps } from "../ir/json.js";
import type { Json } from "../ir/types.js";

const TABLES_PATH = "/host/tables";

/**
 * The links of the host's tables (`GET /host/tables`, PROFILE §6.10), or `undefined` on a host
 * without the list or for a grant that does not reach it. Reading it never fails a transaction,
 * so `sync()` works inside a session.
 *
 * @example
 * ```ts
 * const present = await tableList(ex); // Set { "/state/social/users", … } (or undefined)
 * ```
 */
export async function tableList(runner: Runner): Promise<Set<string> | undefined> {
  try {
    const list = await runner.request({ verb: "get", path: TABLES_PATH, key: null });
    return Array.isArray(list) ? new Set(list.map(String)) : undefined;
  } catch (e) {
    // A host without the list (404), or a grant that does not reach it (403).
    if (e instanceof NotFoundError || e instanceof ForbiddenError) return undefined;
    throw e;
  }
}

/** What {@link readStored} read. */
export interface StoredRead {
  /** The stored schema (PROFILE §3 JSON) of each link asked for, by link. */
  readonly schemas: Map<string, Json>;
  /** The literal of the table asked for whole (`{"/state/collection/table": [schema, rows]}`), if one was. */
  readonly table: Json | undefined;
}

/**
 * The stored schemas of `links` and the whole of the table `whole` (when given), in one request:
 * a plain GET when there is one thing to read, else one op of GETs. Every link must exist (take
 * them from {@link tableList}): a missing one fails the request with `NotFoundError`.
 *
 * @example
 * ```ts
 * const { schemas, table } = await readStored(ex, ["/state/social/users"], "/state/social/_migrations");
 * schemas.get("/state/social/users"); // [[[["id", "/state/scalar/value/number/uint/64"]], …], []]
 * ```
 */
export async function readStored(runner: Runner, links: readonly string[], whole?: string): Promise<StoredRead> {
  const schemas = new Map<string, Json>();
  const reads = links.length + (whole === undefined ? 0 : 1);
  if (reads === 0) return { schemas, table: undefined };
  if (reads === 1) {
    if (whole !== undefined) return { schemas, table: await runner.request({ verb: "get", path: whole, key: null }) };
    schemas.set(links[0]!, await runner.request({ verb: "get", path: `${links[0]}/schema`, key: null }));
    return { schemas, table: undefined };
  }
  const steps: JsonSteps = links.map((link, i) => [`s${i}`, get(`${link}/schema`, null)]);
  if (whole !== undefined) steps.push(["t", get(whole, null)]);
  steps.push(["_r", steps.map(([name]) => ref(name))]);
  const out = await runner.execute(opdef(steps));
  if (!Array.isArray(out) || out.length !== reads) {
    throw new BadGatewayError(`the host answered a read of ${reads} stored schemas with ${JSON.stringify(out)?.slice(0, 200)}`);
  }
  links.forEach((link, i) => schemas.set(link, out[i]!));
  return { schemas, table: whole === undefined ? undefined : out[links.length] };
}
