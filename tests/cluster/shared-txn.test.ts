/**
 * One transaction id across the hosts of a cluster (TinyChain's participant protocol): the first
 * host a write or a session reaches begins the transaction and mints its id; every other host
 * joins under that id with the cluster's token. Hosts are served from this file with a token file
 * trusting the cluster's token, as a deployment would; each sits behind a recording proxy that
 * notes the ids of the held transactions it sees (`?txn_id=`, and the `x-tc-txn-id` a held begin
 * is answered with).
 */
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import {
  ForbiddenError,
  cluster,
  connect,
  evenRanges,
  http,
  keyHash,
  serve,
  type ClusterExecutor,
  type ServerHandle,
  type ShardSpec,
  type TokenConfig,
} from "../../src/index.js";
import { social } from "../orm/fixtures/social.js";

const ADMIN = "cluster-admin-token";
const APP = "cluster-app-token";

const servers: ServerHandle[] = [];
const proxies: Server[] = [];
const clients: { close(): Promise<void> }[] = [];

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(proxies.splice(0).map((p) => new Promise((r) => p.close(r))));
  await Promise.all(servers.splice(0).map((s) => s.close().catch(() => undefined)));
});

/** A token file: the admin token may do anything; the app token too, or only read. */
function tokens(appReadOnly: boolean): TokenConfig {
  return {
    tokens: [
      { name: "admin", token: ADMIN, paths: ["/"] },
      { name: "app", token: APP, paths: ["/"], ...(appReadOnly ? { verbs: ["get" as const] } : {}) },
    ],
  };
}

/** The ids of held transactions a host saw, in order, and its URL behind the recorder. */
interface Recorded {
  readonly url: string;
  readonly direct: string;
  readonly ids: string[];
}

/** A proxy in front of `target` noting the transaction ids of the requests it forwards. */
async function recorder(target: string): Promise<Recorded> {
  const to = new URL(target);
  const ids: string[] = [];
  const proxy = createServer((req, res) => {
    const id = new URL(req.url ?? "/", "http://x").searchParams.get("txn_id");
    if (id !== null) ids.push(id);
    const hold = req.headers["x-tc-txn"] === "hold";
    const out = httpRequest({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (back) => {
      const minted = back.headers["x-tc-txn-id"];
      if (hold && typeof minted === "string") ids.push(minted);
      res.writeHead(back.statusCode ?? 502, back.headers);
      back.pipe(res);
    });
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  proxies.push(proxy);
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, direct: target, ids };
}

/** Three shards over four hosts (the last shard has a replica); `readOnly` hosts let the app token only read. */
async function recordedCluster(readOnly: readonly number[] = []) {
  const hs = await Promise.all(
    [0, 1, 2, 3].map((i) => serve({ shardMember: true, tokens: tokens(readOnly.includes(i)), limits: { maxMillis: 30_000 }, txnBudgetMs: 30_000, sessionIdleMs: 10_000 })),
  );
  servers.push(...hs);
  const rec = await Promise.all(hs.map((h) => recorder(h.url)));
  const ranges = evenRanges(3);
  const shards: ShardSpec[] = [
    { range: ranges[0]!, hosts: [rec[0]!.url] },
    { range: ranges[1]!, hosts: [rec[1]!.url] },
    { range: ranges[2]!, hosts: [rec[2]!.url, rec[3]!.url] },
  ];
  const admin = open({ shards, token: ADMIN, init: true });
  const adminDb = await connect(social, admin);
  await adminDb.sync();
  return { rec, shards, admin, adminDb };
}

function open(opts: Parameters<typeof cluster>[0]): ClusterExecutor {
  const ex = cluster(opts);
  clients.push(ex);
  return ex;
}

/** The user ids on each host, read directly (not through its recorder). */
async function idsOn(rec: readonly Recorded[]): Promise<number[][]> {
  return Promise.all(
    rec.map(async (r) => {
      const c = http(r.direct, { token: ADMIN });
      clients.push(c);
      const lit = (await c.request({ verb: "get", path: "/state/social/users", key: null })) as Record<string, [unknown, unknown[][]]>;
      return lit["/state/collection/table"]![1].map((row) => row[0] as number).sort((a, b) => a - b);
    }),
  );
}

/** One user whose id hashes into each shard. */
function usersOnEveryShard(shards: readonly ShardSpec[], from = 1) {
  return shards.map((s) => {
    let id = from;
    while (!(s.range[0] <= keyHash([id]) && keyHash([id]) < s.range[1])) id++;
    return { id, name: `u${id}`, age: 30, city: "oslo" };
  });
}

function clear(rec: readonly Recorded[]): void {
  for (const r of rec) r.ids.length = 0;
}

describe("one transaction id across the hosts of a cluster", () => {
  it("a write over every shard carries the first host's id to every participant, and commits on all", async () => {
    const { rec, shards } = await recordedCluster();
    const db = await connect(social, open({ shards, token: APP }));
    const rows = usersOnEveryShard(shards);
    clear(rec);
    await db.insertInto("users").values(rows).execute();
    const seen = rec.map((r) => new Set(r.ids));
    // One id in all, seen by every host (the replica included).
    expect(new Set(rec.flatMap((r) => r.ids)).size).toBe(1);
    for (const s of seen) expect(s.size).toBe(1);
    // The first shard's host minted it: its begin answered with it before any call carried it.
    expect(rec[0]!.ids[0]).toBe([...seen[0]!][0]);
    expect(await idsOn(rec)).toEqual([[rows[0]!.id], [rows[1]!.id], [rows[2]!.id], [rows[2]!.id]]);
  });

  it("a session rolled back undoes its writes on every host, all under one id", async () => {
    const { rec, shards } = await recordedCluster();
    const db = await connect(social, open({ shards, token: APP }));
    const rows = usersOnEveryShard(shards, 100);
    clear(rec);
    await expect(
      db.session(async (s) => {
        await s.insertInto("users").values(rows).execute();
        await s.updateTable("users").set({ age: 31 }).execute();
        expect(await s.selectFrom("users").count().execute()).toBe(3);
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(new Set(rec.flatMap((r) => r.ids)).size).toBe(1);
    for (const r of rec) expect(r.ids.length).toBeGreaterThan(0);
    expect(await idsOn(rec)).toEqual([[], [], [], []]);
  });

  it("a host refusing to take part under the id fails the statement with its typed error, and no host keeps any of it", async () => {
    // Shard 1's host lets the app token read but not write: it refuses to pin the id.
    const { rec, shards, adminDb } = await recordedCluster([1]);
    const before = usersOnEveryShard(shards, 500);
    await adminDb.insertInto("users").values(before).execute();
    const db = await connect(social, open({ shards, token: APP }));
    // Reads outside a transaction still work on that host.
    expect(await db.selectFrom("users").count().execute()).toBe(3);
    const rows = usersOnEveryShard(shards, 1000);
    clear(rec);
    const err = await db
      .insertInto("users")
      .values(rows)
      .execute()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(ForbiddenError);
    // The refused host was asked under the id the first host minted.
    expect(rec[1]!.ids.length).toBeGreaterThan(0);
    expect(new Set([...rec[0]!.ids, ...rec[1]!.ids]).size).toBe(1);
    expect(await idsOn(rec)).toEqual([[before[0]!.id], [before[1]!.id], [before[2]!.id], [before[2]!.id]]);
    await db.updateTable("users").set({ age: 1 }).execute().catch(() => undefined);
    expect((await adminDb.selectFrom("users").execute()).map((u) => u.age)).toEqual([30, 30, 30]);
  });

  it("a range moved to a new host is one transaction id on the hosts giving and taking rows", async () => {
    const { rec, shards, admin, adminDb } = await recordedCluster();
    await adminDb.insertInto("users").values(usersOnEveryShard(shards, 2000)).execute();
    const spare = await serve({ shardMember: true, tokens: tokens(false), limits: { maxMillis: 30_000 }, txnBudgetMs: 30_000, sessionIdleMs: 10_000 });
    servers.push(spare);
    const to = await recorder(spare.url);
    clear(rec);
    const [lo, hi] = shards[0]!.range;
    await admin.moveRange([lo, lo + Math.floor((hi - lo) / 2)], [to.url]);
    expect(rec[0]!.ids.length).toBeGreaterThan(0);
    expect(to.ids.length).toBeGreaterThan(0);
    expect(new Set([...rec[0]!.ids, ...to.ids]).size).toBe(1);
  });
});
