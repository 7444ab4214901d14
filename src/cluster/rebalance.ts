/**
 * Rebalancing: a hash range moved from the shard holding it to other hosts, in one transaction
 * over every host that gives or takes rows. The new hosts get every table's schema; the rows of
 * partitioned tables whose key hash falls in the range are copied there and deleted from the old
 * hosts; a placed table whose shard's hosts change with the new layout moves whole; every host
 * involved records the ranges it holds in the new layout (`/state/_cluster/ranges`).
 */
import { BadRequestError, MissingExtensionError } from "../errors.js";
import type { Session } from "../executor.js";
import type { Json } from "../ir/types.js";
import { PATHS } from "../ir/types.js";
import type { TableInfo } from "./catalog.js";
import type { HostPool } from "./hosts.js";
import { checkLayout, keyHash, type ClusterOptions, type ShardSpec } from "./layout.js";
import { RANGES_SCHEMA, RANGES_TABLE } from "./ranges.js";
import { deleteOp, insertRowsOp, literalRows } from "./wire-ops.js";

/** Most deletes in one op. */
const DELETE_CHUNK = 500;

/** What a move needs of the executor. */
export interface MoveEnv {
  readonly pool: HostPool;
  readonly shards: readonly ShardSpec[];
  /** The layout after the move (`planMove`). */
  readonly next: readonly ShardSpec[];
  readonly catalog: ReadonlyMap<string, TableInfo>;
  /** The shard a placed table lives on, before and after the move (undefined: partitioned). */
  readonly placedBefore: (link: string) => number | undefined;
  readonly placedAfter: (link: string) => number | undefined;
}

/**
 * The layout after moving `[lo, hi)` to `to`, and the index of the shard it is cut from.
 *
 * @example
 * ```ts
 * planMove(evenRanges(2).map((range) => ({ range, hosts: [a] })), [0, 2 ** 30], [b], opts).next.length; // 3
 * ```
 */
export function planMove(shards: readonly ShardSpec[], range: readonly [number, number], to: readonly string[], opts: ClusterOptions): { next: ShardSpec[]; src: number } {
  const [lo, hi] = range;
  const src = shards.findIndex((s) => s.range[0] <= lo && hi <= s.range[1]);
  if (src < 0 || !(hi > lo)) throw new BadRequestError(`cluster: [${lo}, ${hi}) is not inside one shard's range`);
  if (to.length === 0) throw new BadRequestError("cluster: moveRange needs at least one target host");
  const old = shards[src]!;
  if (to.some((h) => old.hosts.includes(h))) throw new BadRequestError(`cluster: the range's hosts ${old.hosts.join(", ")} cannot also be its target`);
  const next: ShardSpec[] = [];
  shards.forEach((s, i) => {
    if (i !== src) return void next.push(s);
    if (old.range[0] < lo) next.push({ range: [old.range[0], lo], hosts: old.hosts });
    next.push({ range: [lo, hi], hosts: [...to] });
    if (hi < old.range[1]) next.push({ range: [hi, old.range[1]], hosts: old.hosts });
  });
  checkLayout({ ...opts, shards: next, placement: {} });
  return { next, src };
}

/** Deletes rows by key in a session, a chunk per op. */
async function deleteRows(s: Session, info: TableInfo, rows: readonly unknown[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += DELETE_CHUNK) {
    const d = deleteOp(rows.slice(i, i + DELETE_CHUNK).map((row) => [info.link, row.slice(0, info.keyCount)] as const));
    await s.execute(d.op, d.args);
  }
}

async function insertRows(s: Session, info: TableInfo, rows: readonly unknown[][]): Promise<void> {
  const ins = insertRowsOp(info.link, rows);
  await s.execute(ins.op, ins.args);
}

/**
 * Moves `[lo, hi)` to the hosts `to` (the layout after it is `env.next`).
 *
 * @example
 * ```ts
 * await moveRange(env, [0, 2 ** 30], ["http://127.0.0.1:8705"]);
 * ```
 */
export async function moveRange(env: MoveEnv, range: readonly [number, number], to: readonly string[]): Promise<void> {
  const [lo, hi] = range;
  const { next, catalog, pool } = env;
  const old = env.shards.find((s) => s.range[0] <= lo && hi <= s.range[1])!;
  // Every host that gives or takes rows: the split shard's, the new ones, and those of placed
  // tables whose shard's hosts change with the new layout.
  const urls = [...new Set([...old.hosts, ...to])];
  for (const info of catalog.values()) {
    const b = env.placedBefore(info.link);
    const a = env.placedAfter(info.link);
    if (b === undefined || a === undefined) continue;
    for (const h of [...env.shards[b]!.hosts, ...next[a]!.hosts]) if (!urls.includes(h)) urls.push(h);
  }
  const sessions = new Map<string, Session>();
  try {
    // One transaction id on every host: the first begins it, the others join under its id (each
    // pins it with its first call; every host gets at least its ranges written below).
    const first = await pool.client(urls[0]!).session();
    sessions.set(urls[0]!, first);
    const ticket = first.ticket();
    for (const url of urls.slice(1)) sessions.set(url, pool.client(url).join(ticket.id, ticket.token));
    for (const url of to) {
      const ext = (await pool.client(url).request({ verb: "get", path: "/host", key: null })) as { extensions?: string[] };
      if (!ext.extensions?.includes("shard_member")) throw new MissingExtensionError("shard_member", url);
      const s = sessions.get(url)!;
      const tables = new Set((await s.request({ verb: "get", path: "/host/tables", key: null })) as string[]);
      // Targets first: a schema naming a missing table is refused.
      const done = new Set<string>();
      const create = async (info: TableInfo): Promise<void> => {
        if (done.has(info.link)) return;
        done.add(info.link);
        for (const [, target] of info.references) {
          const t = catalog.get(target);
          if (t && target !== info.link) await create(t);
        }
        if (!tables.has(info.link)) await s.request({ verb: "put", path: info.link, key: null, body: { [PATHS.table]: [info.schema, []] } as Json });
      };
      for (const info of catalog.values()) await create(info);
    }
    for (const info of catalog.values()) {
      const before = env.placedBefore(info.link);
      if (before !== undefined) {
        const from = env.shards[before]!.hosts;
        const into = next[env.placedAfter(info.link)!]!.hosts;
        if (from.length === into.length && from.every((h) => into.includes(h))) continue;
        const lit = await sessions.get(from[0]!)!.request({ verb: "get", path: info.link, key: null });
        const rows = literalRows(lit);
        if (rows.length === 0) continue;
        for (const url of into) if (!from.includes(url)) await insertRows(sessions.get(url)!, info, rows);
        for (const url of from) if (!into.includes(url)) await deleteRows(sessions.get(url)!, info, rows);
        continue;
      }
      const lit = await sessions.get(old.hosts[0]!)!.request({ verb: "get", path: info.link, key: null });
      const rows = literalRows(lit).filter((row) => {
        const h = keyHash(row.slice(0, info.keyCount));
        return h >= lo && h < hi;
      });
      if (rows.length === 0) continue;
      for (const url of to) await insertRows(sessions.get(url)!, info, rows);
      for (const url of old.hosts) await deleteRows(sessions.get(url)!, info, rows);
    }
    // Each host records the ranges it holds in the new layout.
    for (const url of urls) {
      const s = sessions.get(url)!;
      const mine = next.filter((sh) => sh.hosts.includes(url)).map((sh) => sh.range);
      const exists = ((await s.request({ verb: "get", path: "/host/tables", key: null })) as string[]).includes(RANGES_TABLE);
      if (exists) await s.request({ verb: "delete", path: RANGES_TABLE, key: null });
      await s.request({ verb: "put", path: RANGES_TABLE, key: null, body: { [PATHS.table]: [RANGES_SCHEMA, mine.map(([a, b]) => [a, b])] } as Json });
    }
    for (const s of sessions.values()) await s.commit();
  } catch (e) {
    await Promise.all([...sessions.values()].map((s) => s.rollback().catch(() => undefined)));
    throw e;
  }
}
