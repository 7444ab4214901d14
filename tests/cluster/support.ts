/**
 * What the cluster test files share: kernels served on 127.0.0.1 as shard members, cluster and
 * direct HTTP clients closed after the file, a host's rows read directly, and which shard a key
 * hashes to. Call `closeAllAfter(afterAll)` once per file.
 */
import {
  cluster,
  evenRanges,
  http,
  keyHash,
  serve,
  type ClusterExecutor,
  type Executor,
  type ServerHandle,
  type ShardSpec,
} from "../../src/index.js";

const servers: ServerHandle[] = [];
const clients: { close(): Promise<void> }[] = [];

/** Closes every client and host this file opened, after its tests. */
export function closeAllAfter(afterAll: (fn: () => Promise<void>) => void): void {
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await Promise.all(servers.splice(0).map((s) => s.close().catch(() => undefined)));
  });
}

/** `n` fresh in-memory kernels served as cluster shards (or plain hosts). */
export async function hosts(n: number, shardMember = true): Promise<ServerHandle[]> {
  const out = await Promise.all(
    Array.from({ length: n }, () => serve({ ...(shardMember ? { shardMember: true } : {}), limits: { maxMillis: 30_000 }, txnBudgetMs: 30_000, sessionIdleMs: 10_000 })),
  );
  servers.push(...out);
  return out;
}

/** Shards over even hash ranges, one per list of host URLs. */
export function layout(urls: readonly string[][]): ShardSpec[] {
  const ranges = evenRanges(urls.length);
  return urls.map((h, i) => ({ range: ranges[i]!, hosts: h }));
}

/** `c`, closed after the file. */
export function track<T extends { close(): Promise<void> }>(c: T): T {
  clients.push(c);
  return c;
}

/** A cluster executor closed after the file. */
export function open(opts: Parameters<typeof cluster>[0]): ClusterExecutor {
  const ex = cluster(opts);
  clients.push(ex);
  return ex;
}

/** An HTTP client of one host, closed after the file. */
export function direct(url: string): Executor {
  const c = http(url);
  clients.push(c);
  return c;
}

/** The rows a host holds of `link`, read from it directly. */
export async function rowsOn(url: string, link: string): Promise<unknown[][]> {
  const lit = (await direct(url).request({ verb: "get", path: link, key: null })) as Record<string, [unknown, unknown[][]]>;
  return lit["/state/collection/table"]![1];
}

/** The index of the shard whose range holds `key`'s hash. */
export function shardOf(shards: readonly ShardSpec[], key: unknown[]): number {
  const h = keyHash(key);
  return shards.findIndex((s) => s.range[0] <= h && h < s.range[1]);
}
