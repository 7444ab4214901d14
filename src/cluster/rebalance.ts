/**
 * Rebalancing: a hash range moved from the shard holding it to other hosts, in one transaction
 * over the old and the new hosts. The new hosts get every table's schema; the rows of partitioned
 * tables whose key hash falls in the range are copied there and deleted from the old hosts; every
 * host involved records the ranges it holds in the new layout (`/state/_cluster/ranges`).
 */
import { BadRequestError, MissingExtensionError } from "../errors.js";
import type { Session } from "../executor.js";
import type { Json } from "../ir/types.js";
import { PATHS } from "../ir/types.js";
import type { TableInfo } from "./catalog.js";
import { RANGES_SCHEMA, RANGES_TABLE } from "./ranges.js";
import type { HostPool } from "./hosts.js";
import { checkLayout, keyHash, type ClusterOptions, type ShardSpec } from "./layout.js";

/** Most deletes in one op. */
const DELETE_CHUNK = 500;

/** What a move needs of the executor. */
export interface MoveEnv {
  readonly pool: HostPool;
  readonly shards: readonly ShardSpec[];
  readonly opts: ClusterOptions;
  readonly catalog: ReadonlyMap<string, TableInfo>;
  /** The shard a placed table lives on (placed tables do not move). */
  readonly placed: (link: string) => number | undefined;
}

/**
 * Moves `[lo, hi)` to the hosts `to`; answers the new layout.
 *
 * @example
 * ```ts
 * const next = await moveRange(env, [0, 2 ** 30], ["http://127.0.0.1:8705"]);
 * ```
 */
export async function moveRange(env: MoveEnv, range: readonly [number, number], to: readonly string[]): Promise<ShardSpec[]> {
    const [lo, hi] = range;
    const src = env.shards.findIndex((s) => s.range[0] <= lo && hi <= s.range[1]);
    if (src < 0 || !(hi > lo)) throw new BadRequestError(`cluster: [${lo}, ${hi}) is not inside one shard's range`);
    if (to.length === 0) throw new BadRequestError("cluster: moveRange needs at least one target host");
    const old = env.shards[src]!;
    const next: ShardSpec[] = [];
    env.shards.forEach((s, i) => {
      if (i !== src) return void next.push(s);
      if (old.range[0] < lo) next.push({ range: [old.range[0], lo], hosts: old.hosts });
      next.push({ range: [lo, hi], hosts: [...to] });
      if (hi < old.range[1]) next.push({ range: [hi, old.range[1]], hosts: old.hosts });
    });
    checkLayout({ ...env.opts, shards: next });
    const catalog = env.catalog;
    const pool = env.pool;
    const sessions = new Map<string, Session>();
    const urls = [...new Set([...old.hosts, ...to])];
    try {
      for (const url of urls) sessions.set(url, await pool.client(url).session());
      for (const url of to) {
        const ext = (await pool.client(url).request({ verb: "get", path: "/host", key: null })) as { extensions?: string[] };
        if (!ext.extensions?.includes("shard_member")) throw new MissingExtensionError("shard_member", url);
        const tables = new Set((await sessions.get(url)!.request({ verb: "get", path: "/host/tables", key: null })) as string[]);
        for (const info of catalog.values()) {
          if (!tables.has(info.link)) await sessions.get(url)!.request({ verb: "put", path: info.link, key: null, body: { [PATHS.table]: [info.schema, []] } as Json });
        }
      }
      for (const info of catalog.values()) {
        if (env.placed(info.link) !== undefined) continue;
        const lit = await sessions.get(old.hosts[0]!)!.request({ verb: "get", path: info.link, key: null });
        const rows = ((lit as Record<string, unknown>)[PATHS.table] as [unknown, unknown[][]])[1].filter((row) => {
          const h = keyHash(row.slice(0, info.keyCount));
          return h >= lo && h < hi;
        });
        if (rows.length === 0) continue;
        for (const url of to) {
          await sessions.get(url)!.execute({ [PATHS.opdef.post]: [["_w", { [`${info.link}/insert_rows`]: [null, { $_rows: [] }] }]] } as Json, { _rows: rows as Json });
        }
        for (const url of old.hosts) {
          for (let i = 0; i < rows.length; i += DELETE_CHUNK) {
            const args: Record<string, Json> = {};
            const steps: Json[] = rows.slice(i, i + DELETE_CHUNK).map((row, j) => {
              args[`_d${j}`] = row.slice(0, info.keyCount) as Json;
              return [`_s${j}`, { [PATHS.explicitRef.delete]: [info.link, { [`$_d${j}`]: [] }] }];
            });
            steps.push(["_r", steps.map((_, j) => ({ [`$_s${j}`]: [] }))]);
            await sessions.get(url)!.execute({ [PATHS.opdef.post]: steps } as Json, args);
          }
        }
      }
      // Each host records the ranges it holds in the new layout.
      for (const url of urls) {
        const s = sessions.get(url)!;
        const mine = next.filter((sh) => sh.hosts.includes(url)).map((sh) => sh.range);
        const exists = ((await s.request({ verb: "get", path: "/host/tables", key: null })) as string[]).includes(RANGES_TABLE);
        if (exists) await s.request({ verb: "delete", path: RANGES_TABLE, key: null }).catch(() => undefined);
        await s.request({ verb: "put", path: RANGES_TABLE, key: null, body: { [PATHS.table]: [RANGES_SCHEMA, mine.map(([a, b]) => [a, b])] } as Json });
      }
      for (const s of sessions.values()) await s.commit();
    } catch (e) {
      await Promise.all([...sessions.values()].map((s) => s.rollback().catch(() => undefined)));
      throw e;
    }
    return next;
  }
