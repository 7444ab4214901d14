/**
 * What a cluster gathers for ORM selects (`lastExplain`: per step the shards asked, the requests
 * and the rows), beside the answers of one host holding every row: a single-table select's filter
 * runs on each shard, a top-k sends at most `offset + limit` rows per shard, a key equality asks
 * one shard, and a join reads its joined table by the join keys of the base rows gathered.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cluster, connect, embedded, evenRanges, param, serve, type ClusterExecutor, type GatherStat, type ServerHandle } from "../../src/index.js";
import { social } from "../orm/fixtures/social.js";

/* eslint-disable @typescript-eslint/no-explicit-any */

const CITIES = ["paris", "rome", "oslo", "nyc"];
const USERS = Array.from({ length: 90 }, (_, i) => ({
  id: i + 1,
  name: `n${(i * 7) % 13}`,
  age: i % 9 === 0 ? null : 15 + ((i * 11) % 50),
  city: CITIES[i % 4]!,
  active: i % 3 !== 0,
}));
const POSTS = Array.from({ length: 120 }, (_, i) => ({
  id: i + 1,
  author: 1 + ((i * 5) % 90),
  reviewer: i % 4 === 0 ? 1 + ((i * 3) % 90) : null,
  lang: ["en", "fr"][i % 2]!,
  score: i % 7,
}));

let servers: ServerHandle[] = [];
let ex: ClusterExecutor;
let db: any;
let one: any;

beforeAll(async () => {
  servers = await Promise.all([0, 1, 2].map(() => serve({ shardMember: true })));
  ex = cluster({ shards: evenRanges(3).map((range, i) => ({ range, hosts: [servers[i]!.url] })), init: true });
  db = await connect(social, ex);
  one = await connect(social, embedded());
  for (const d of [db, one]) {
    await d.sync();
    await d.insertInto("users").values(USERS).execute();
    await d.insertInto("posts").values(POSTS).execute();
  }
});

afterAll(async () => {
  await ex?.close();
  await Promise.all(servers.map((s) => s.close()));
});

/** Runs `q` on the cluster and on one host: same answer; returns the cluster's gather steps. */
async function gathered(q: (d: any) => any): Promise<readonly GatherStat[]> {
  const got = await q(db).execute();
  expect(got).toEqual(await q(one).execute());
  return ex.lastExplain!.steps;
}

const rowsOf = (steps: readonly GatherStat[]) => steps.reduce((n, s) => n + s.rows, 0);

describe("a single-table select on a cluster", () => {
  it("runs its filter on every shard: only the matching rows travel", async () => {
    const steps = await gathered((d) => d.selectFrom("users").where("active", "=", false));
    expect(steps).toEqual([{ step: "view filter", table: "/state/social/users", shards: 3, requests: 3, rows: USERS.filter((u) => !u.active).length }]);
    const count = await gathered((d) => d.selectFrom("users").where("name", "=", "n3").count());
    expect(rowsOf(count)).toBe(USERS.filter((u) => u.name === "n3").length);
  });
});

describe("a top-k on a cluster", () => {
  it("sends at most offset + limit rows per shard for each view it reads, never the whole table", async () => {
    // The order an index serves in reverse (a page read from the index's end, then its boundary).
    const page = await gathered((d) => d.selectFrom("users").where("city", "=", "rome").where("age", ">=", 20).orderBy("age", "desc").limit(4).offset(1));
    expect(page.filter((s) => s.step === "whole table")).toEqual([]);
    for (const s of page.filter((x) => x.step === "view top-k")) expect(s.rows).toBeLessThanOrEqual(3 * 5);
    expect(rowsOf(page)).toBeLessThan(USERS.filter((u) => u.city === "rome").length * 2);
    // The page's views go in one request per shard: those keyed by the page's boundary in a second.
    expect(page.reduce((n, s) => n + s.requests, 0)).toBe(6);
    // A filter no index serves, ordered by the key in reverse.
    const byKey = await gathered((d) => d.selectFrom("users").where("name", "=", "n3").orderBy("id", "desc").limit(3));
    expect(byKey.filter((s) => s.step === "whole table")).toEqual([]);
    expect(rowsOf(byKey)).toBeLessThan(USERS.filter((u) => u.name === "n3").length * 3);
  });

  it("narrows a select whose parameters are named like columns", async () => {
    const q = (d: any) => d.selectFrom("users").where("city", "=", param("city")).where("age", ">=", param("age")).orderBy("age", "desc").limit(3);
    const got = await q(db).execute({ city: "oslo", age: 30 });
    expect(got).toEqual(await q(one).execute({ city: "oslo", age: 30 }));
    expect(got.length).toBe(3);
    const steps = ex.lastExplain!.steps;
    expect(steps.filter((s) => s.step === "whole table")).toEqual([]);
    expect(rowsOf(steps)).toBeLessThan(USERS.filter((u) => u.city === "oslo").length);
  });

  it("answers as one host where ties, nulls and offsets cross shard boundaries", async () => {
    for (const q of [
      (d: any) => d.selectFrom("users").orderBy("age", "desc").limit(7).offset(3),
      (d: any) => d.selectFrom("users").orderBy("age").limit(12),
      (d: any) => d.selectFrom("users").where("active", "=", true).orderBy("city", "desc").limit(9).offset(20),
      (d: any) => d.selectFrom("users").where("name", "=", "n12").orderBy("age", "desc").limit(50),
      (d: any) => d.selectFrom("users").where("name", "=", "nobody").orderBy("age", "desc").limit(2),
    ]) {
      const steps = await gathered(q);
      expect(rowsOf(steps)).toBeLessThan(USERS.length * 2);
    }
  });

  it("reads a query plan's top-k per shard, ordered and cut on each", async () => {
    const steps = await gathered((d) => d.selectFrom("users").where("active", "=", true).orderBy("name").orderBy("id", "desc").limit(5));
    expect(steps).toEqual([{ step: "query top-k", table: "/state/social/users", shards: 3, requests: 3, rows: 15 }]);
  });

  it("runs a point select by key whole on the one shard holding the key: one request, no gathering", async () => {
    for (const id of [1, 7, 45, 90, 91]) {
      const q = (d: any) => d.selectFrom("users").where("id", "=", param("id"));
      const got = await q(db).execute({ id });
      expect(got).toEqual(await q(one).execute({ id }));
      expect(ex.lastExplain).toEqual({ route: "one shard", steps: [{ step: "whole op, by key", table: "/state/social/users", shards: 1, requests: 1, rows: 0 }] });
    }
    // Inside a session: the same rows, its own writes included.
    const seen = await db.session(async (s: any) => {
      await s.updateTable("users").set({ name: "renamed" }).where("id", "=", 7).execute();
      return s.selectFrom("users").where("id", "=", 7).execute();
    });
    expect(seen[0].name).toBe("renamed");
    expect(ex.lastExplain!.route).toBe("one shard");
    await db.updateTable("users").set({ name: USERS[6]!.name }).where("id", "=", 7).execute();
    // A select reading more than one row by key is gathered as before.
    await gathered((d) => d.selectFrom("users").where("id", "in", [3, 4, 5]));
    expect(ex.lastExplain!.route).toBe("gather");
  });

  it("counts on every shard and adds the counts: no row travels", async () => {
    for (const q of [(d: any) => d.selectFrom("users").count(), (d: any) => d.selectFrom("users").where("city", "=", "rome").count()]) {
      const steps = await gathered(q);
      expect(steps).toEqual([{ step: "partial counts", table: "/state/social/users", shards: 3, requests: 3, rows: 0 }]);
    }
    expect(await ex.request({ verb: "get", path: "/state/social/users/count", key: null })).toBe(USERS.length);
    // A step that holds a count inside another value is not a count: it runs on the gathered rows.
    const inTuple = { "/state/scalar/op/post": [["_r", [{ "/state/social/users/count": [null] }, 1]]] };
    expect(await ex.execute(inTuple, {})).toEqual([USERS.length, 1]);
    expect(ex.lastExplain!.steps.map((s) => s.step)).not.toContain("partial counts");
    // In a session, the shards count its own writes too.
    const n = await db.session(async (s: any) => {
      await s.insertInto("users").values({ id: 1000, name: "new", age: null, city: "rome", active: true }).execute();
      return s.selectFrom("users").count().execute();
    });
    expect(n).toBe(USERS.length + 1);
    await db.deleteFrom("users").where("id", "=", 1000).execute();
    expect(await db.selectFrom("users").count().execute()).toBe(USERS.length);
  });

  it("asks only the shard a key equality names", async () => {
    const steps = await gathered((d) => d.selectFrom("users").where("id", "=", 7).where("name", "=", USERS[6]!.name));
    expect(steps).toEqual([expect.objectContaining({ shards: 1, requests: 1, rows: 1 })]);
  });
});

describe("a join on a cluster", () => {
  it("reads the joined table by the join keys of the base rows gathered", async () => {
    const steps = await gathered((d) =>
      d.selectFrom("posts").innerJoin("users", "users.id", "posts.author").where("posts.lang", "=", "fr").where("posts.score", "=", 3).select(["posts.id", "users.name"]).orderBy("posts.id"),
    );
    const base = POSTS.filter((p) => p.lang === "fr" && p.score === 3);
    const authors = new Set(base.map((p) => p.author));
    expect(steps[0]).toMatchObject({ table: "/state/social/posts", rows: base.length });
    // One user per author: each asked of the shard its key hashes to.
    expect(steps[1]).toMatchObject({ step: "join keys", table: "/state/social/users", rows: authors.size });
    expect(steps[1]!.shards).toBeLessThanOrEqual(Math.min(3, authors.size));
    expect(steps).toHaveLength(2);
  });

  it("keeps a left join's unmatched base rows, and reads the joined table whole once the base is", async () => {
    const left = await gathered((d) => d.selectFrom("posts").leftJoin("users", "users.id", "posts.reviewer").where("posts.score", "=", 6).select(["posts.id", "users.name"]).orderBy("posts.id"));
    const reviewers = new Set(POSTS.filter((p) => p.score === 6 && p.reviewer !== null).map((p) => p.reviewer));
    expect(reviewers.size).toBeGreaterThan(0);
    expect(POSTS.some((p) => p.score === 6 && p.reviewer === null)).toBe(true);
    expect(left.find((s) => s.table === "/state/social/users")).toMatchObject({ step: "join keys", rows: reviewers.size });
    const all = await gathered((d) => d.selectFrom("posts").innerJoin("users", "users.id", "posts.author").select(["posts.id", "users.name"]).orderBy("posts.id").limit(3));
    expect(all.map((s) => s.step)).toContain("whole table");
  });
});

describe("a group-by on a cluster", () => {
  it("is answered from per-shard partial aggregates, with or without an order, in one host's order", async () => {
    const plain = await gathered((d) => d.selectFrom("users").groupBy("city").select((eb: any) => ["city", eb.fn.countAll().as("n"), eb.fn.avg("age").as("a")]));
    expect(plain).toEqual([{ step: "partial aggregates", table: "/state/social/users", shards: 3, requests: 3, rows: expect.any(Number) }]);
    expect(plain[0]!.rows).toBeLessThanOrEqual(3 * CITIES.length);
    // Ties of the order broken by the group values, as on one host.
    await gathered((d) => d.selectFrom("users").groupBy(["city", "active"]).select((eb: any) => ["city", "active", eb.fn.countAll().as("n")]).orderBy("n", "desc").limit(5));
    await gathered((d) => d.selectFrom("users").groupBy(["active", "city"]).select((eb: any) => ["city", "active", eb.fn.sum("age").as("s")]));
  });
});


describe("reads after writes in one op", () => {
  it("answer as one host: a top-k and a join see what the batch wrote before them", async () => {
    const firstActive = [...USERS].filter((u) => u.active).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id))[0]!;
    const topK = (d: any) =>
      d.batch([d.deleteFrom("users").where("id", "=", firstActive.id), d.selectFrom("users").where("active", "=", true).orderBy("name").orderBy("id").limit(4)]);
    const got = await topK(db);
    expect(got).toEqual(await topK(one));
    expect(got[1]).toHaveLength(4);
    const post = POSTS.find((p) => p.lang === "en" && p.author !== 90)!;
    const join = (d: any) =>
      d.batch([
        d.updateTable("posts").set({ author: 90 }).where("id", "=", post.id),
        d.selectFrom("posts").innerJoin("users", "users.id", "posts.author").where("posts.id", "=", post.id).select(["posts.id", "users.name"]),
      ]);
    const joined = await join(db);
    expect(joined).toEqual(await join(one));
    expect(joined[1]).toEqual([{ id: post.id, name: USERS[89]!.name }]);
  });
});
