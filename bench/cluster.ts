/**
 * Cluster benchmarks (issue 20, "Shards"): the same ORM and graph calls on one served kernel
 * (`http()`, the baseline) and on a 3-shard cluster of served kernels (`cluster()`, ours), all on
 * 127.0.0.1 in this process, same data:
 *
 *   point select          users where id = ?
 *   filtered top-k        users where city = ? and age >= ? and age < ? order by age desc limit 20
 *   group-by aggregate    posts group by lang: count(*), sum, avg
 *   join                  posts of one author joined to users (the author's name)
 *   2-hop traversal       distinct users two follows-hops away, counted
 *   single-row insert     one new user
 *   batch insert          1,000 new posts in one statement
 *
 * Per case the notes give the HTTP requests one call makes (counted by the hosts' access logs:
 * every request each host answered), per host, and for reads the cluster's gather steps
 * (`ex.explain`: per step — a traversal per hop — the shards asked, the requests and the rows
 * gathered) with the time of gathering alone, so the rest (the local run in an in-memory kernel
 * and, for writes, the write-back and commits) is the merge cost.
 *
 * Data: `generate({ users, followDegree: 5 })` — 20k users, 100k follows, 60k posts (4k / 20k /
 * 12k with BENCH_SCALE=small). The shards are loaded directly (each row `insert_rows`-ed on the
 * host its key hashes to, tables created through the cluster); both sides answer the same before
 * timing (checked on sample ids; a mismatch is printed in the notes).
 *
 * Every host shares this machine's cores with the client: the figures show what fan-out and
 * merging cost, not what parallel hosts would gain (bench/README.md).
 */
import { generate, CITIES, LANGS, userName, type Dataset } from "./dataset.js";
import { annotate, failed, measureGroup, median, type BenchContext, type BenchRow, type Figure } from "./harness.js";
import { declareSchema } from "./graph.js";
import * as orm from "../src/orm/index.js";
import { connect } from "../src/connect.js";
import { http, serve, type ServerHandle } from "../src/http/index.js";
import { cluster, evenRanges, keyHash, type ClusterExecutor, type ClusterExplain } from "../src/cluster/index.js";
import type { Executor } from "../src/executor.js";
import type { Json } from "../src/ir/types.js";
import { param } from "../src/ir/index.js";

/* eslint-disable @typescript-eslint/no-explicit-any */

const NS = "/state/social";
const SERVE = { limits: { maxMillis: 60_000 }, txnBudgetMs: 60_000, sessionIdleMs: 30_000, bodyLimit: 64 * 2 ** 20 } as const;

/** A served kernel whose access log counts the requests it answers. */
interface CountedHost {
  readonly server: ServerHandle;
  requests: number;
}

async function host(shardMember: boolean): Promise<CountedHost> {
  const h: { server?: ServerHandle; requests: number } = { requests: 0 };
  h.server = await serve({ ...SERVE, ...(shardMember ? { shardMember: true } : {}), log: () => void h.requests++ });
  return h as CountedHost;
}

/** Rows of each table in the tables' column order (key columns first). */
function tableRows(d: Dataset): Record<"users" | "follows" | "posts", unknown[][]> {
  const users: unknown[][] = [];
  for (let i = 0; i < d.userCount; i++) users.push([i, userName(i), CITIES[d.userCity[i]!]!, d.userAge[i]!]);
  const follows: unknown[][] = [];
  for (let e = 0; e < d.followCount; e++) follows.push([d.follower[e]!, d.followee[e]!]);
  const posts: unknown[][] = [];
  for (let p = 0; p < d.postCount; p++) posts.push([p, d.postAuthor[p]!, LANGS[d.postLang[p]!]!]);
  return { users, follows, posts };
}

/** The table's column names, key first, as the host stores them. */
async function columns(ex: Executor, t: string): Promise<string[]> {
  const s = (await ex.request({ verb: "get", path: `${NS}/${t}/schema`, key: null })) as [[[string][], [string][]]];
  return [...s[0][0], ...s[0][1]].map((c) => c[0]);
}

async function insertChunks(ex: Executor, t: string, rows: readonly unknown[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += 20_000) {
    await ex.request({ verb: "put", path: `${NS}/${t}/insert_rows`, key: null, body: rows.slice(i, i + 20_000) as Json });
  }
}

const KEY_COUNT = { users: 1, follows: 2, posts: 1 } as const;
const ORDER = { users: ["id", "name", "city", "age"], follows: ["follower", "followee"], posts: ["id", "author", "lang"] } as const;

/** The HTTP requests every host answered while `fn` ran, in total and per host. */
async function counted(hosts: readonly CountedHost[], fn: () => Promise<unknown>): Promise<{ total: number; per: number[] }> {
  const before = hosts.map((h) => h.requests);
  await fn();
  const per = hosts.map((h, i) => h.requests - before[i]!);
  return { total: per.reduce((a, b) => a + b, 0), per };
}

function stepsText(e: ClusterExplain | undefined): string {
  if (e === undefined) return "";
  return e.steps.map((s) => `${s.step} ${s.table.slice(NS.length + 1)}: ${s.shards} shards/${s.requests} req/${s.rows} rows`).join(", ");
}

function fmtMs(ms: number): string {
  return ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toPrecision(3)} ms`;
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const users = ctx.quick ? 4_000 : 20_000;
  const d = generate({ users, followDegree: 5 });
  ctx.progress(`cluster: ${d.userCount} users, ${d.followCount} follows, ${d.postCount} posts; starting 1 + 3 served kernels…`);
  const single = await host(false);
  const shardHosts = await Promise.all([0, 1, 2].map(() => host(true)));
  const all = [single, ...shardHosts];
  const ranges = evenRanges(3);
  const shards = shardHosts.map((h, i) => ({ range: ranges[i]!, hosts: [h.server.url] }));
  const one = http(single.server.url);
  const ex: ClusterExecutor = cluster({ shards, init: true, timeoutMs: 120_000 });
  const rows: BenchRow[] = [];
  try {
    const schema = declareSchema(orm);
    const base = await connect(schema, one);
    const clu = await connect(schema, ex);
    await base.sync();
    await clu.sync();

    // ---- load: the baseline in chunks, the shards directly by key hash
    const data = tableRows(d);
    const direct = shardHosts.map((h) => http(h.server.url));
    try {
      for (const t of ["users", "follows", "posts"] as const) {
        const order = await columns(one, t);
        if (order.join() !== ORDER[t].join()) throw new Error(`cluster bench: ${t} columns are ${order.join()}, expected ${ORDER[t].join()}`);
        ctx.progress(`cluster: loading ${t} (${data[t].length} rows)…`);
        await insertChunks(one, t, data[t]);
        const parts: unknown[][][] = [[], [], []];
        for (const r of data[t]) {
          const h = keyHash(r.slice(0, KEY_COUNT[t]));
          parts[ranges.findIndex(([lo, hi]) => h >= lo && h < hi)]!.push(r);
        }
        await Promise.all(parts.map((p, i) => insertChunks(direct[i]!, t, p)));
      }
    } finally {
      await Promise.all(direct.map((c) => c.close()));
    }

    // ---- the cases, on both
    const ids = ctx.sampleUserIds.filter((id) => id < d.userCount);
    const sample = ids.length >= 50 ? ids : Array.from({ length: 200 }, (_, i) => (i * 7919) % d.userCount);
    const pick = (i: number) => sample[i % sample.length]!;
    const q = (db: any) => ({
      point: db.selectFrom("users").where("id", "=", param("id")),
      filtered: db
        .selectFrom("users")
        .where("city", "=", param("city"))
        .where("age", ">=", param("lo"))
        .where("age", "<", param("hi"))
        .orderBy("age", "desc")
        .limit(20)
        .select(["id", "name", "age"]),
      groupBy: db
        .selectFrom("posts")
        .groupBy("lang")
        .select((eb: any) => ["lang", eb.fn.countAll().as("n"), eb.fn.sum("id").as("s"), eb.fn.avg("author").as("a")]),
      join: db
        .selectFrom("posts")
        .innerJoin("users", "users.id", "posts.author")
        .where("posts.author", "=", param("id"))
        .select(["posts.id", "posts.lang", "users.name"]),
      twoHop: db.graph.match("users", { id: param("id") }).out("follows").out("follows").distinct().count(),
    });
    const qb = q(base);
    const qc = q(clu);
    const argsOf: Record<string, (i: number) => Record<string, Json>> = {
      point: (i) => ({ id: pick(i) }),
      filtered: (i) => ({ city: CITIES[i % 5]!, lo: 20 + (i % 30), hi: 40 + (i % 30) }),
      groupBy: () => ({}),
      join: (i) => ({ id: pick(i) }),
      twoHop: (i) => ({ id: pick(i) }),
    };
    const labels: Record<string, string> = {
      point: "point select (users where id = ?)",
      filtered: "filtered top-k (city = ?, age range, order by age desc limit 20)",
      groupBy: "group-by aggregate (posts by lang: count, sum, avg)",
      join: "join (posts of one author ⋈ users)",
      twoHop: "2-hop traversal (distinct count)",
    };
    const norm = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isInteger(x) ? Math.round(x * 1e6) / 1e6 : x));

    for (const key of Object.keys(labels)) {
      ctx.progress(`cluster: ${key}…`);
      const b = qb[key as keyof typeof qb];
      const c = qc[key as keyof typeof qc];
      // Same answers first.
      let mismatch = "";
      for (let i = 0; i < 5; i++) {
        const [x, y] = [await b.execute(argsOf[key]!(i)), await c.execute(argsOf[key]!(i))];
        if (norm(x) !== norm(y)) mismatch ||= `MISMATCH at call ${i}: cluster ${norm(y).slice(0, 80)} ≠ one host ${norm(x).slice(0, 80)}`;
      }
      const reqB = await counted(all, () => b.execute(argsOf[key]!(1)));
      const reqC = await counted(all, () => c.execute(argsOf[key]!(1)));
      const explained = ex.lastExplain;
      // Gathering alone (explain runs the gather steps of the call, not the call).
      const compiled = c.compile();
      const gatherTimes: number[] = [];
      for (let i = 0; i < (ctx.quick ? 5 : 9); i++) {
        const t0 = performance.now();
        await ex.explain(compiled.op, { ...(compiled.bound ?? compiled.literals ?? {}), ...argsOf[key]!(i) });
        gatherTimes.push(performance.now() - t0);
      }
      const g = await measureGroup({
        ours: { fn: (i: number) => c.execute(argsOf[key]!(i)), async: true },
        one: { fn: (i: number) => b.execute(argsOf[key]!(i)), async: true },
      });
      const gather = median(gatherTimes);
      let ours: Figure = annotate(g.ours, `${reqC.total} HTTP requests per call (per shard host ${reqC.per.slice(1).join("/")}); gather steps: ${stepsText(explained)}`);
      if (ours.kind === "time") ours = annotate(ours, `gathering alone ${fmtMs(gather)}, so local run + merge ≈ ${fmtMs(Math.max(0, ours.ms - gather))}`);
      if (mismatch) ours = annotate(ours, mismatch);
      rows.push({
        section: "cluster",
        case: labels[key]!,
        oursLabel: "3-shard cluster (3 served kernels)",
        ours,
        baselines: [{ label: "1 host (http)", figure: annotate(g.one, `${reqB.total} HTTP request(s) per call`) }],
      });
    }

    // ---- per traversal hop: a wide one. Ids near 0 are followed most (the dataset's skew):
    // the followers of user 0, then whom they follow.
    const hub = 0;
    const wide = (db: any) => db.graph.match("users", { id: param("id") }).in("follows").out("follows").distinct().count();
    const [wb, wc] = [wide(base), wide(clu)];
    const wideSame = norm(await wb.execute({ id: hub })) === norm(await wc.execute({ id: hub }));
    const wideC = await counted(all, () => wc.execute({ id: hub }));
    const hopPlan = ex.lastExplain;
    const hopTimes = await measureGroup(
      {
        ours: { fn: () => wc.execute({ id: hub }), async: true },
        one: { fn: () => wb.execute({ id: hub }), async: true },
      },
      { samples: ctx.quick ? 5 : 9 },
    );
    const followers = hopPlan?.steps.find((st) => /^hop 1 /.test(st.step))?.rows ?? 0;
    rows.push({
      section: "cluster",
      case: `wide 2-hop traversal (the ${followers} followers of user ${hub}, then whom they follow; distinct count)`,
      oursLabel: "3-shard cluster (3 served kernels)",
      ours: annotate(hopTimes.ours, `${wideC.total} HTTP requests per call (per shard host ${wideC.per.slice(1).join("/")}); per step: ${stepsText(hopPlan)}${wideSame ? "" : "; MISMATCH with one host"}`),
      baselines: [{ label: "1 host (http)", figure: hopTimes.one }],
    });

    // ---- writes: new keys every call
    ctx.progress("cluster: single-row insert…");
    let nextUser = { ours: 10_000_000, one: 20_000_000 };
    const userOf = (id: number) => ({ id, name: userName(id % 1000), city: CITIES[id % 40]!, age: 16 + (id % 60) });
    const oneInsertC = await counted(all, () => clu.insertInto("users").values(userOf(nextUser.ours++)).execute());
    const insertExplain = ex.lastExplain;
    const oneInsertB = await counted(all, () => base.insertInto("users").values(userOf(nextUser.one++)).execute());
    const single1 = await measureGroup({
      ours: { fn: () => clu.insertInto("users").values(userOf(nextUser.ours++)).execute(), async: true },
      one: { fn: () => base.insertInto("users").values(userOf(nextUser.one++)).execute(), async: true },
    });
    rows.push({
      section: "cluster",
      case: "single-row insert (users)",
      oursLabel: "3-shard cluster (3 served kernels)",
      ours: annotate(single1.ours, `${oneInsertC.total} HTTP requests per call (per shard host ${oneInsertC.per.slice(1).join("/")}: sessions begun and committed on every host); gather steps: ${stepsText(insertExplain)}`),
      baselines: [{ label: "1 host (http)", figure: annotate(single1.one, `${oneInsertB.total} HTTP request(s) per call`) }],
    });

    ctx.progress("cluster: batch insert…");
    const BATCH = 1000;
    let nextPost = { ours: 10_000_000, one: 20_000_000 };
    const postsFrom = (start: number) => Array.from({ length: BATCH }, (_, j) => ({ id: start + j, author: (start + j) % d.userCount, lang: LANGS[j % 6]! }));
    const takePosts = (side: "ours" | "one") => {
      const s = nextPost[side];
      nextPost = { ...nextPost, [side]: s + BATCH };
      return postsFrom(s);
    };
    const batchC = await counted(all, () => clu.insertInto("posts").values(takePosts("ours")).execute());
    const batchExplain = ex.lastExplain;
    const batchB = await counted(all, () => base.insertInto("posts").values(takePosts("one")).execute());
    const batch = await measureGroup(
      {
        ours: { fn: () => clu.insertInto("posts").values(takePosts("ours")).execute(), async: true, items: BATCH },
        one: { fn: () => base.insertInto("posts").values(takePosts("one")).execute(), async: true, items: BATCH },
      },
      { samples: ctx.quick ? 5 : 9 },
    );
    rows.push({
      section: "cluster",
      case: `batch insert (${BATCH} posts, one statement)`,
      oursLabel: "3-shard cluster (3 served kernels)",
      ours: annotate(batch.ours, `${batchC.total} HTTP requests per call (per shard host ${batchC.per.slice(1).join("/")}); gather steps: ${stepsText(batchExplain)}`),
      baselines: [{ label: "1 host (http)", figure: annotate(batch.one, `${batchB.total} HTTP request(s) per call`) }],
    });
    void nextUser;
  } catch (error) {
    rows.push({ section: "cluster", case: "bench/cluster.ts", oursLabel: "3-shard cluster", ours: failed(error), baselines: [] });
  } finally {
    await ex.close().catch(() => undefined);
    await one.close().catch(() => undefined);
    await Promise.all(all.map((h) => h.server.close().catch(() => undefined)));
  }
  return rows;
}
