/**
 * A traversal's fan-out on a cluster (`fanOut()`): per hop the shards asked, one request per shard
 * per lookup, and the rows reached — and `null` on a single host.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cluster, col, connect, embedded, evenRanges, schema, serve, table, type ServerHandle } from "../../src/index.js";

const users = table("users", { id: col.u64().key(), name: col.string(32) });
const follows = table("follows", {
  follower: col.u64().key().references(() => users),
  followee: col.u64().key().references(() => users),
}).edge("follows", { from: "follower", to: "followee", inverse: "followers" });
const social = schema({ namespace: "fan", tables: { users, follows } });

describe("a traversal's fan-out", () => {
  let servers: ServerHandle[] = [];
  const ex = { current: undefined as ReturnType<typeof cluster> | undefined };
  beforeAll(async () => {
    servers = await Promise.all([0, 1, 2].map(() => serve({ shardMember: true })));
    ex.current = cluster({ shards: evenRanges(3).map((range, i) => ({ range, hosts: [servers[i]!.url] })), init: true });
  });
  afterAll(async () => {
    await ex.current?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  it("lists each hop with one request per shard and the rows it reached; a single host has none", async () => {
    const db = await connect(social, ex.current!);
    await db.sync();
    await db.insertInto("users").values(Array.from({ length: 30 }, (_, i) => ({ id: i, name: `u${i}` }))).execute();
    await db.insertInto("follows").values(Array.from({ length: 30 }, (_, i) => ({ follower: i, followee: (i + 1) % 30 }))).execute();
    const q = db.graph.match("users", { id: 3 }).out("follows").out("follows");
    const steps = (await q.fanOut())!;
    expect(steps[0]).toMatchObject({ step: "start", table: "/state/fan/users", shards: 1, requests: 1, rows: 1 });
    const hop1 = steps.filter((s) => s.step.startsWith("hop 1"));
    expect(hop1.map((s) => s.table)).toEqual(["/state/fan/follows", "/state/fan/users"]);
    expect(hop1[0]).toMatchObject({ shards: 3, requests: 3, rows: 1 }); // the edge rows of user 3, from every shard
    expect(hop1[1]).toMatchObject({ shards: 1, requests: 1, rows: 1 }); // user 4, from its own shard
    expect(steps.some((s) => s.step.startsWith("hop 2"))).toBe(true);
    expect((await q.execute()).map((u) => u.id)).toEqual([5]);
    const one = await connect(social, embedded());
    expect(await one.graph.match("users", { id: 3 }).out("follows").fanOut()).toBeNull();
  });
});
