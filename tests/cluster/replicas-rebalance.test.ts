/**
 * Replicas and rebalancing of the cluster executor, against kernels served on 127.0.0.1 from this
 * file: a replica or a primary killed (reads fail over, acknowledged rows survive, a write that
 * needs the dead host fails with UnavailableError and changes nothing), and `moveRange` moving a
 * hash range of a populated cluster to a new host.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClusterLayoutError,
  UnavailableError,
  col,
  connect,
  evenRanges,
  schema,
  table,
  keyHash,
  type ClusterExecutor,
  type ServerHandle,
  type ShardSpec,
} from "../../src/index.js";
import { social } from "../orm/fixtures/social.js";
import { closeAllAfter, hosts, open, rowsOn, shardOf } from "./support.js";

closeAllAfter(afterAll);

/** An id (≥ from) whose key hashes into shard `s`. */
function idOn(shards: readonly ShardSpec[], s: number, from: number): number {
  for (let id = from; ; id += 7) if (shardOf(shards, [id]) === s) return id;
}

const user = (id: number) => ({ id, name: `u${id}`, age: 20 + (id % 40), city: ["paris", "rome", "oslo"][id % 3]! });

describe("replicas", () => {
  /** Two shards; the second one on a primary and a replica. */
  async function replicated() {
    const [a, p, r] = await hosts(3);
    const ranges = evenRanges(2);
    const shards: ShardSpec[] = [
      { range: ranges[0]!, hosts: [a!.url] },
      { range: ranges[1]!, hosts: [p!.url, r!.url] },
    ];
    const ex = open({ shards, init: true, timeoutMs: 5_000 });
    const db = await connect(social, ex);
    await db.sync();
    const ids = Array.from({ length: 40 }, (_, i) => i * 13 + 1);
    await db.insertInto("users").values(ids.map(user)).execute();
    await db.insertInto("follows").values(ids.slice(1).map((id, i) => ({ follower: ids[i]!, followee: id }))).execute();
    // Both replicas of shard 1 hold the same rows; shard 1 holds some.
    const onPrimary = await rowsOn(p!.url, "/state/social/users");
    expect(onPrimary.length).toBeGreaterThan(0);
    expect(await rowsOn(r!.url, "/state/social/users")).toEqual(onPrimary);
    return { a: a!, p: p!, r: r!, shards, ex, db, ids };
  }

  it("answers reads after the replica is killed, loses nothing acknowledged, and refuses a write to its shard without changing anything", async () => {
    const { p, r, shards, db, ids } = await replicated();
    const before = await db.selectFrom("users").execute();
    const primaryUsers = await rowsOn(p.url, "/state/social/users");
    const primaryFollows = await rowsOn(p.url, "/state/social/follows");
    await r.close();

    expect(await db.selectFrom("users").execute()).toEqual(before);
    expect((await db.selectFrom("users").execute()).map((u) => u.id).sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
    expect(await db.selectFrom("users").where("id", "=", ids[5]!).execute()).toEqual([{ ...user(ids[5]!), active: true }]);
    expect(await db.graph.match("users", { id: ids[0]! }).out("follows").out("follows").count().execute()).toBe(1);
    // A fresh client connects with the replica down (reads fail over; writes refuse).
    const fresh = await connect(social, open({ shards, timeoutMs: 5_000 }));
    expect(await fresh.selectFrom("users").count().execute()).toBe(ids.length);

    // Writes that touch shard 1: an insert there, an update and a delete of rows there, a batch
    // over both shards. Each fails with UnavailableError and leaves the primary as it was.
    const there = idOn(shards, 1, 5000);
    const existing = ids.find((id) => shardOf(shards, [id]) === 1)!;
    const writes = [
      () => db.insertInto("users").values(user(there)).execute(),
      () => db.updateTable("users").set({ age: 99 }).where("id", "=", existing).execute(),
      () => db.deleteFrom("users").where("id", "=", existing).execute(),
      () => db.insertInto("users").values([user(idOn(shards, 0, 6000)), user(there)]).execute(),
      () => db.deleteFrom("follows").execute(),
    ];
    for (const w of writes) await expect(w()).rejects.toBeInstanceOf(UnavailableError);
    expect(await rowsOn(p.url, "/state/social/users")).toEqual(primaryUsers);
    expect(await rowsOn(p.url, "/state/social/follows")).toEqual(primaryFollows);
    expect(await db.selectFrom("users").execute()).toEqual(before);
    expect(await db.selectFrom("follows").count().execute()).toBe(ids.length - 1);
  });

  it("fails reads over to the replica when the primary is killed", async () => {
    const { a, p, r, shards, ex, db, ids } = await replicated();
    const before = await db.selectFrom("users").execute();
    const follows = await db.selectFrom("follows").execute();
    await p.close();
    expect(await db.selectFrom("users").execute()).toEqual(before);
    expect(await db.selectFrom("follows").execute()).toEqual(follows);
    const there = ids.find((id) => shardOf(shards, [id]) === 1)!;
    expect(await db.selectFrom("users").where("id", "=", there).execute()).toEqual([{ ...user(there), active: true }]);
    expect(await db.graph.match("users", { id: ids[0]! }).out("follows").out("follows").out("follows").execute()).toEqual([{ ...user(ids[3]!), active: true }]);
    expect(await db.selectFrom("users").groupBy("city").select((eb) => ["city", eb.fn.countAll().as("n")]).execute()).toEqual(
      ["oslo", "paris", "rome"].map((city) => ({ city, n: ids.filter((id) => user(id).city === city).length })),
    );
    // A write to the shard whose primary is down refuses; the replica keeps its rows.
    const replicaRows = await rowsOn(r.url, "/state/social/users");
    await expect(db.insertInto("users").values(user(idOn(shards, 1, 7000))).execute()).rejects.toBeInstanceOf(UnavailableError);
    expect(await rowsOn(r.url, "/state/social/users")).toEqual(replicaRows);
    expect((await rowsOn(a.url, "/state/social/users")).length).toBe(ids.filter((id) => shardOf(shards, [id]) === 0).length);
    void ex;
  });
});

describe("replicas: a host down during a session or a write", () => {
  // Before any host commits, every host is asked for its ranges inside the transaction (hosts.ts,
  // ClusterTxn.commit): a host that died after the session's writes fails the session on all.
  it("a replica killed before a session's commit leaves nothing committed on any host", async () => {
    const [a, p, r] = await hosts(3);
    const ranges = evenRanges(2);
    const shards: ShardSpec[] = [
      { range: ranges[0]!, hosts: [a!.url] },
      { range: ranges[1]!, hosts: [p!.url, r!.url] },
    ];
    const db = await connect(social, open({ shards, init: true, timeoutMs: 5_000 }));
    await db.sync();
    const rows = [user(idOn(shards, 0, 1)), user(idOn(shards, 1, 1))];
    await expect(
      db.session(async (s) => {
        await s.insertInto("users").values(rows).execute();
        await r!.close();
      }),
    ).rejects.toBeInstanceOf(UnavailableError);
    // The session failed: no host may hold its rows.
    expect(await rowsOn(a!.url, "/state/social/users")).toEqual([]);
    expect(await rowsOn(p!.url, "/state/social/users")).toEqual([]);
  });

  // A write joins only the hosts of the shards it reads and writes: a dead replica of another
  // shard does not refuse it.
  it("a write touching only shards whose hosts are up succeeds while another shard's replica is down", async () => {
    const [a, p, r] = await hosts(3);
    const ranges = evenRanges(2);
    const shards: ShardSpec[] = [
      { range: ranges[0]!, hosts: [a!.url] },
      { range: ranges[1]!, hosts: [p!.url, r!.url] },
    ];
    const db = await connect(social, open({ shards, init: true, timeoutMs: 5_000 }));
    await db.sync();
    await r!.close();
    const id = idOn(shards, 0, 1);
    expect(await db.insertInto("users").values(user(id)).execute()).toBe(1);
    expect((await rowsOn(a!.url, "/state/social/users")).map((x) => x[0])).toEqual([id]);
  });
});

describe("rebalancing", () => {
  let hs: ServerHandle[];
  let spare: ServerHandle;
  let old: ShardSpec[];
  let ex: ClusterExecutor;
  let db: Awaited<ReturnType<typeof connect<typeof social>>>;
  const ids = Array.from({ length: 200 }, (_, i) => i * 11 + 1);

  beforeAll(async () => {
    [spare, ...hs] = await hosts(4) as [ServerHandle, ...ServerHandle[]];
    const ranges = evenRanges(3);
    old = hs.map((h, i) => ({ range: ranges[i]!, hosts: [h.url] }));
    ex = open({ shards: old, init: true });
    db = await connect(social, ex);
    await db.sync();
    await db.insertInto("users").values(ids.map(user)).execute();
    await db.insertInto("follows").values(ids.flatMap((id, i) => [ids[(i + 1) % ids.length]!, ids[(i + 5) % ids.length]!].map((to) => ({ follower: id, followee: to })))).execute();
    await db.insertInto("posts").values(ids.map((id, i) => ({ id: i + 1, author: id, lang: i % 3 === 0 ? "en" : "fr", score: i % 10 }))).execute();
  });

  async function answers(d: typeof db): Promise<unknown[]> {
    return [
      await d.selectFrom("users").execute(),
      await d.selectFrom("follows").execute(),
      await d.selectFrom("posts").execute(),
      await d.selectFrom("users").where("city", "=", "rome").orderBy("age", "desc").limit(7).execute(),
      await d.selectFrom("posts").groupBy("lang").select((eb) => ["lang", eb.fn.countAll().as("n"), eb.fn.sum("score").as("s")]).execute(),
      await d.selectFrom("posts").innerJoin("users", "users.id", "posts.author").where("users.city", "=", "oslo").select(["posts.id", "users.name"]).execute(),
      await d.graph.match("users", { id: ids[3]! }).out("follows").out("follows").distinct().execute(),
      await Promise.all(ids.slice(0, 20).map((id) => d.selectFrom("users").where("id", "=", id).execute())),
    ];
  }

  it("moves a hash range to a new host: same answers, rows moved, new layout recorded, the old layout refused", async () => {
    const before = await answers(db);
    // The middle third of shard 0's range: host 0 keeps two ranges around it.
    const [lo0, hi0] = old[0]!.range;
    const lo = lo0 + Math.floor((hi0 - lo0) / 3);
    const hi = lo0 + Math.floor(((hi0 - lo0) * 2) / 3);
    const inRange = (key: unknown[]) => keyHash(key) >= lo && keyHash(key) < hi;
    const movedUsers = ids.filter((id) => inRange([id]));
    expect(movedUsers.length).toBeGreaterThan(0);
    const movedFollows = (await rowsOn(hs[0]!.url, "/state/social/follows")).filter((r) => inRange(r.slice(0, 2)));
    expect(movedFollows.length).toBeGreaterThan(0);

    await ex.moveRange([lo, hi], [spare.url]);

    expect(ex.shards.map((s) => [s.range, s.hosts])).toEqual([
      [[lo0, lo], [hs[0]!.url]],
      [[lo, hi], [spare.url]],
      [[hi, hi0], [hs[0]!.url]],
      [old[1]!.range, [hs[1]!.url]],
      [old[2]!.range, [hs[2]!.url]],
    ]);
    expect(await answers(db)).toEqual(before);

    // The moved rows are on the new host and gone from the old one; nothing else moved.
    const onSpare = (await rowsOn(spare.url, "/state/social/users")).map((r) => r[0] as number).sort((a, b) => a - b);
    expect(onSpare).toEqual([...movedUsers].sort((a, b) => a - b));
    const onOld = (await rowsOn(hs[0]!.url, "/state/social/users")).map((r) => r[0] as number);
    expect(onOld.filter((id) => inRange([id]))).toEqual([]);
    expect(onOld.length + onSpare.length).toBe(ids.filter((id) => shardOf(old, [id]) === 0).length);
    expect((await rowsOn(spare.url, "/state/social/follows")).length).toBe(movedFollows.length);
    expect((await rowsOn(hs[0]!.url, "/state/social/follows")).filter((r) => inRange(r.slice(0, 2)))).toEqual([]);
    // Every host holds only rows of the ranges the new layout gives it.
    for (const url of [...hs.map((h) => h.url), spare.url]) {
      const mine = ex.shards.filter((s) => s.hosts.includes(url)).map((s) => s.range);
      for (const r of await rowsOn(url, "/state/social/users")) {
        const h = keyHash([r[0]]);
        expect(mine.some(([a, b]) => h >= a && h < b), `user ${String(r[0])} on ${url}`).toBe(true);
      }
    }

    // A client with the new layout connects (each host recorded its ranges) and answers the same.
    const next = open({ shards: ex.shards });
    await next.ready();
    const ndb = await connect(social, next);
    expect(await answers(ndb)).toEqual(before);
    // A client still holding the old layout is refused at connect.
    const stale = open({ shards: old });
    await expect(stale.ready()).rejects.toBeInstanceOf(ClusterLayoutError);
    await expect(connect(social, stale).then((d) => d.selectFrom("users").count().execute())).rejects.toBeInstanceOf(ClusterLayoutError);

    // Writes after the move land by the new layout.
    const fresh = Array.from({ length: 400 }, (_, i) => 100_000 + i * 3).filter((id) => inRange([id])).slice(0, 3);
    expect(fresh.length).toBe(3);
    await db.insertInto("users").values(fresh.map(user)).execute();
    const spareIds = (await rowsOn(spare.url, "/state/social/users")).map((r) => r[0] as number);
    for (const id of fresh) expect(spareIds).toContain(id);
    expect((await rowsOn(hs[0]!.url, "/state/social/users")).map((r) => r[0])).not.toContain(fresh[0]);
    expect(await ndb.selectFrom("users").count().execute()).toBe(ids.length + 3);
  });
});

describe("rebalancing: placed tables and clients on the old layout", () => {
  // `placement` names shards by index, and moveRange renumbers the shards after the one it splits:
  // the placement moves with them, so a placed table's reads and writes still find its rows.
  it("a table placed on one shard is still found after moveRange splits an earlier shard", async () => {
    const hs = await hosts(4);
    const ranges = evenRanges(3);
    const shards = hs.slice(0, 3).map((h, i) => ({ range: ranges[i]!, hosts: [h.url] }));
    const things = table("things", { id: col.u32().key(), v: col.i32() });
    const S = schema({ namespace: "placed", tables: { things } });
    const ex = open({ shards, init: true, placement: { "/state/placed/things": 1 } });
    const db = await connect(S, ex);
    await db.sync();
    await db.insertInto("things").values(Array.from({ length: 30 }, (_, i) => ({ id: i, v: i }))).execute();
    await ex.moveRange([0, Math.floor(ranges[0]![1] / 2)], [hs[3]!.url]);
    expect(await db.selectFrom("things").count().execute()).toBe(30);
  });

  // Commit checks the ranges every host holds: a client that connected before another client's
  // moveRange is refused its write of a moved key, which cannot land on the old host.
  it("a client connected before a moveRange does not write moved keys to the old host", async () => {
    const hs = await hosts(4);
    const ranges = evenRanges(3);
    const shards = hs.slice(0, 3).map((h, i) => ({ range: ranges[i]!, hosts: [h.url] }));
    const ex = open({ shards, init: true });
    const db = await connect(social, ex);
    await db.sync();
    const staleDb = await connect(social, open({ shards }));
    expect(await staleDb.selectFrom("users").count().execute()).toBe(0);
    const hi = Math.floor(ranges[0]![1] / 2);
    await ex.moveRange([0, hi], [hs[3]!.url]);
    let id = 1;
    while (keyHash([id]) >= hi) id++;
    // Refused (the layout changed) or routed to the new host: either way the new layout finds it.
    await staleDb.insertInto("users").values(user(id)).execute().catch(() => undefined);
    expect(await rowsOn(hs[0]!.url, "/state/social/users")).toEqual([]);
  });
});
