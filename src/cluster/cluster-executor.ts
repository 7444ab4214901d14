/**
 * The cluster executor (PROFILE §6.16): an `Executor` over several hosts, each serving shards of
 * a hash-partitioned key space. The ORM and the graph layer use it as they use one host.
 *
 * How an op runs:
 * - an op changing a schema (create, drop, alter) runs on every host, in one cluster transaction;
 * - an op naming only tables placed on one shard runs there whole (a read on any replica, a write
 *   on every replica), and so does a read of one row by a plain key, on the shard holding it;
 * - any other op: the rows it can read are gathered from the shards (gather.ts, in parallel, one
 *   request per shard per step), the op runs on them in an in-memory kernel (local-run.ts), and
 *   what it changed is written back to the shards holding those keys, on every replica, in one
 *   cluster transaction.
 */
import { BadRequestError, ConflictError, ForeignKeyError, NotImplementedError } from "../errors.js";
import type { ExecRequest, Executor, Runner, Session } from "../executor.js";
import type { Json, OpDef } from "../ir/types.js";
import { PATHS } from "../ir/types.js";
import { readCatalog, referrers, type TableInfo } from "./catalog.js";
import { gatherSite, gatherWhere, gatherWhole, Gathered, keyedShard, type GatherEnv, type GatherStat, type ShardReader } from "./gather.js";
import { ClusterTxn, HostPool, hostsShared, OutOfOrder, readAnyReplica, unreachable, writeAll } from "./hosts.js";
import { checkLayout, ClusterLayoutError, homeShard, type ClusterOptions, type ShardSpec } from "./layout.js";
import { coveredSites, gatherViews, siteIdentity } from "./gather-views.js";
import { viewReads } from "./view-chain.js";
import { heldRanges, RANGES_SCHEMA, RANGES_TABLE, rangesOf, rangesText } from "./ranges.js";
import { aggregatePushdown } from "./aggregate-merge.js";
import { parseQueryPlan, type QueryPlan } from "../ir/query-plan.js";
import { moveRange, planMove } from "./rebalance.js";
import { ClusterSession } from "./cluster-session.js";
import { applyDiffs } from "./apply-diffs.js";
import { literalRows, queryOp } from "./wire-ops.js";
import { type AlterStep, alterOnHosts, bodiesByShard, type SplitAlters, splitAlters } from "./alter-split.js";
import { runLocally, type LocalOutcome, type TableDiff } from "./local-run.js";
import { argResolver, emptyLiteral, isTableLiteral, literalBodyRows, onlyStep, scanOp, scanRequest, stripLiteralRows, tablePath, toJson, type OpScan, countDeletes, isSchemaSite } from "./op-scan.js";

/** The tables a host holds, without the cluster's own ranges table. */
function userTables(r: Runner): Promise<Map<string, TableInfo>> {
  return readCatalog(r, RANGES_TABLE);
}

/** Extensions every host of a cluster must serve. */
export const CLUSTER_REQUIRED_EXTENSIONS = ["query", "tables", "insert_rows", "shard_member"] as const;

export { RANGES_TABLE };

/** Most runs of a write that discover the rows its references need (one per level of cascade). */
const MAX_REFERENCE_PASSES = 12;

/** The fan-out of one call: what was asked of which shards (see `ClusterExecutor.explain`). */
export interface ClusterExplain {
  readonly route: "broadcast" | "one shard" | "gather";
  readonly steps: readonly GatherStat[];
}

/** An Executor over a cluster of hosts; create it with {@link cluster}. */
export class ClusterExecutor implements Executor {
  #shards: ShardSpec[];
  readonly #pool: HostPool;
  readonly #opts: ClusterOptions;
  #ready: Promise<void> | undefined;
  #catalog: Promise<Map<string, TableInfo>> | undefined;
  #extensions: ReadonlySet<string> | undefined;
  #closed = false;
  /** Tables placed on one shard, by link → shard index (renumbered when `moveRange` splits a shard). */
  #placement: Record<string, number>;
  /** Gather counts of the last call (`explain` runs a call's gathering without running it). */
  lastExplain: ClusterExplain | undefined;

  constructor(opts: ClusterOptions) {
    checkLayout(opts);
    this.#opts = opts;
    this.#placement = { ...(opts.placement ?? {}) };
    this.#shards = opts.shards.map((s) => ({ range: [s.range[0], s.range[1]] as const, hosts: [...s.hosts] }));
    this.#pool = new HostPool({ ...(opts.token !== undefined ? { token: opts.token } : {}), ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
  }

  /** The current layout (after a `moveRange`, the new one). */
  get shards(): readonly ShardSpec[] {
    return this.#shards;
  }

  /**
   * Checks every host once: it must serve the extensions a cluster needs and hold the ranges the
   * layout gives it (recorded on it by `init`). Refusals are `ClusterLayoutError`s.
   */
  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new BadRequestError("this cluster executor is closed"));
    return (this.#ready ??= this.#connect().catch((e) => {
      this.#ready = undefined;
      throw e;
    }));
  }

  async #connect(): Promise<void> {
    const held = new Map<string, [number, number][]>();
    for (const s of this.#shards) for (const h of s.hosts) held.set(h, rangesOf(this.#shards, h));
    let common: Set<string> | undefined;
    const reachable = new Set<string>();
    for (const [url, ranges] of held) {
      const client = this.#pool.client(url);
      let info: Json;
      try {
        info = await client.request({ verb: "get", path: "/host", key: null });
      } catch (e) {
        if (unreachable(e)) continue; // a replica may be down: reads fail over, writes refuse
        throw e;
      }
      reachable.add(url);
      const ext = new Set(((info as { extensions?: unknown })?.extensions as string[] | undefined) ?? []);
      for (const need of CLUSTER_REQUIRED_EXTENSIONS) {
        if (!ext.has(need)) throw new ClusterLayoutError(`cluster: host ${url} does not serve the ${JSON.stringify(need)} extension a cluster needs${need === "shard_member" ? " (start it with --shard-member / serve({ shardMember: true }))" : ""}`);
      }
      common = common === undefined ? ext : new Set([...common].filter((x) => ext.has(x)));
      await this.#checkRanges(client, url, ranges);
    }
    this.#shards.forEach((s, i) => {
      if (!s.hosts.some((h) => reachable.has(h))) throw new ClusterLayoutError(`cluster: no host of shard ${i} (${s.hosts.join(", ")}) can be reached`);
    });
    common!.delete("shard_member");
    this.#extensions = common!;
  }

  async #checkRanges(client: Executor, url: string, want: [number, number][]): Promise<void> {
    const have = await heldRanges(client);
    if (have === undefined || have.length === 0) {
      if (!this.#opts.init) throw new ClusterLayoutError(`cluster: host ${url} holds no shard; pass init: true to record the layout on a new cluster`);
      const s = await client.session();
      try {
        if (have === undefined) await s.request({ verb: "put", path: RANGES_TABLE, key: null, body: { [PATHS.table]: [RANGES_SCHEMA, want] } as Json });
        else for (const [lo, hi] of want) await s.request({ verb: "put", path: RANGES_TABLE, key: [lo], body: [hi] });
        await s.commit();
      } catch (e) {
        await s.rollback().catch(() => undefined);
        throw e;
      }
      return;
    }
    if (rangesText(have) !== rangesText(want)) {
      throw new ClusterLayoutError(`cluster: host ${url} holds ${rangesText(have)}, the layout gives it ${rangesText(want)}`);
    }
  }

  async extensions(): Promise<ReadonlySet<string>> {
    await this.ready();
    return this.#extensions!;
  }

  /**
   * Transactions that changed a schema, with the tables as they see them (read inside them once
   * after each change, kept for their later calls).
   */
  readonly #schemaTxns = new WeakMap<ClusterTxn, Promise<Map<string, TableInfo>> | undefined>();

  /** Records a schema change in `txn`: its next call reads the tables inside it. */
  #schemaChanged(txn: ClusterTxn): void {
    this.#schemaTxns.set(txn, undefined);
  }

  /**
   * The tables as `txn` sees them: after a schema change in it (a session's `sync()` creating a
   * table, a migration), read inside it; else the shared catalog.
   */
  #tablesIn(txn: ClusterTxn | undefined): Promise<Map<string, TableInfo>> {
    if (txn === undefined || !this.#schemaTxns.has(txn)) return this.#tables();
    let tables = this.#schemaTxns.get(txn);
    if (tables === undefined) {
      tables = txn.readerOf(this.#pool, 0).then(userTables);
      this.#schemaTxns.set(txn, tables);
      tables.catch(() => this.#schemaTxns.set(txn, undefined));
    }
    return tables;
  }

  /** Every table's schema, read from the first reachable host; reread after a schema change. */
  #tables(): Promise<Map<string, TableInfo>> {
    return (this.#catalog ??= readAnyReplica(this.#pool, this.#shards[0]!, userTables).catch((e) => {
      this.#catalog = undefined;
      throw e;
    }));
  }

  #placed(catalog: ReadonlyMap<string, TableInfo>, link: string, shards: readonly ShardSpec[] = this.#shards, placement = this.#placement): number | undefined {
    const p = placement[link];
    if (p !== undefined) return p;
    return catalog.get(link)?.sequence ? homeShard(shards, link) : undefined;
  }

  async execute(op: Json | OpDef, args: Readonly<Record<string, Json>> = {}): Promise<Json> {
    await this.ready();
    return this.#run({ op: toJson(op), args }, undefined);
  }

  async request(req: ExecRequest): Promise<Json> {
    await this.ready();
    return this.#request(req, undefined);
  }

  async #request(req: ExecRequest, txn: ClusterTxn | undefined): Promise<Json> {
    if (req.path === "/host") {
      if (req.verb !== "get") return this.#pool.client(this.#shards[0]!.hosts[0]!).request(req);
      return { extensions: [...this.#extensions!] };
    }
    if (req.path === "/host/tables") {
      if (req.verb !== "get") return this.#pool.client(this.#shards[0]!.hosts[0]!).request(req);
      return [...(await this.#tablesIn(txn)).keys()].sort();
    }
    const t = tablePath(req.path);
    if (t === undefined) {
      if (/^\/(lib|service|class)(\/|$)/.test(req.path)) throw new NotImplementedError(`cluster: ${req.path} is not routed across shards (PROFILE §6.16): install and call libraries on a host`);
      return readAnyReplica(this.#pool, this.#shards[0]!, (r) => r.request(req));
    }
    const ddl = (req.verb === "put" && t.route === "" && isTableLiteral(req.body)) || (req.verb === "delete" && t.route === "" && (req.key === null || req.key === undefined)) || t.route === "alter";
    if (t.route === "alter" && req.verb === "put" && (req.key === null || req.key === undefined) && typeof req.body === "object" && req.body !== null && !Array.isArray(req.body)) {
      // One alter, answered as the request answers: the rows it rewrote (every shard's).
      const alter: AlterStep = { table: t.table, body: req.body as Record<string, Json> };
      return this.#inTxn(txn, this.#shards.map((_, i) => i), async (x) => (await this.#runAlters([alter], x))[0]!);
    }
    if (ddl) {
      const rows = req.verb === "put" && isTableLiteral(req.body) ? literalBodyRows(req.body) : [];
      const body = rows.length > 0 ? emptyLiteral(req.body) : req.body;
      return this.#broadcast((r) => r.request({ ...req, body }), txn, rows.length > 0 ? new Map([[t.table, rows]]) : undefined);
    }
    return this.#run({ request: req }, txn);
  }

  /** Runs one call (an op or a request) by the rules at the top of this file. */
  async #run(call: { op?: Json; args?: Readonly<Record<string, Json>>; request?: ExecRequest }, txn: ClusterTxn | undefined): Promise<Json> {
    const scan = call.op !== undefined ? scanOp(call.op, call.args ?? {}) : scanRequest(call.request!);
    if (scan.component) throw new NotImplementedError("cluster: ops calling /lib, /service or /class are not routed across shards (PROFILE §6.16)");
    if (call.op !== undefined && scan.sites.some((x) => x.route === "alter")) {
      // Alters with a value per row, or alters beside other writes (a migration and its record).
      const split = splitAlters(call.op, call.args ?? {});
      if (split !== undefined) {
        return this.#inTxn(txn, this.#shards.map((_, i) => i), (t) => this.#altersThenRest(split, call.args ?? {}, t));
      }
    }
    if (scan.ddl && call.op !== undefined && !scan.sites.some((x) => x.route === "alter") && scan.sites.some((x) => !isSchemaSite(x))) {
      // Creates or drops mixed with reads and writes: run on the gathered rows like any op, then
      // create and drop the tables on every host and spread the new rows. (Broadcast, a write
      // would run on every host: its rows on every shard, and blind to a literal's rows.)
      return this.#inTxn(txn, this.#shards.map((_, i) => i), (t) => this.#general(call, t, scanOp(stripLiteralRows(call.op!, new Map()), call.args ?? {}), true));
    }
    if (scan.ddl) {
      if (call.op === undefined) return this.#broadcast((r) => r.request(call.request!), txn);
      // A table literal's rows are spread over the shards, not copied to every host.
      const rows = new Map<string, unknown[][]>();
      const op = stripLiteralRows(call.op, rows);
      return this.#broadcast((r) => r.execute(op, call.args ?? {}), txn, rows.size > 0 ? rows : undefined);
    }
    const catalog = await this.#tablesIn(txn);
    const direct = (r: Runner): Promise<Json> => (call.op !== undefined ? r.execute(call.op, call.args ?? {}) : r.request(call.request!));
    // Only tables placed on one shard: the op runs there as it is.
    const homes = new Set<number | undefined>([...scan.tables].map((t) => (catalog.has(t) ? this.#placed(catalog, t) : undefined)));
    // Hosts do not check references (shard members): a write to a table with references, or a
    // delete from one that others reference, goes through the cluster's reference passes even on
    // one shard. (An insert into a referenced table runs on its host, which generates its keys.)
    const deletes = new Set(scan.sites.filter((x) => x.verb === "delete" || x.route.includes("delete")).map((x) => x.table));
    // A delete whose subject is computed (`$v`) is not a site: it may delete from any table.
    const deletesAny = scan.writes && call.op !== undefined && scan.sites.filter((x) => x.verb === "delete").length < countDeletes(call.op);
    const referenced = scan.writes && [...scan.tables].some((t) => (catalog.get(t)?.references.length ?? 0) > 0 || ((deletesAny || deletes.has(t)) && [...catalog.values()].some((o) => o.references.some(([, target]) => target === t))));
    if (!scan.dynamic && scan.tables.size > 0 && homes.size === 1 && !homes.has(undefined) && !referenced) {
      const s = [...homes][0]!;
      this.lastExplain = { route: "one shard", steps: [{ step: "whole op", table: [...scan.tables].join(", "), shards: 1, requests: 1, rows: 0 }] };
      if (!scan.writes) return txn ? direct(await txn.readerOf(this.#pool, s)) : readAnyReplica(this.#pool, this.#shards[s]!, direct);
      return this.#inTxn(txn, [s], (t) => writeAll(t, s, direct));
    }
    const keyed = keyedShard(scan, catalog, (t) => this.#placed(catalog, t), this.#shards);
    if (keyed !== undefined) {
      this.lastExplain = { route: "one shard", steps: [{ step: "whole op, by key", table: scan.sites[0]!.table, shards: 1, requests: 1, rows: 0 }] };
      return txn ? direct(await txn.readerOf(this.#pool, keyed)) : readAnyReplica(this.#pool, this.#shards[keyed]!, direct);
    }
    // A write joins the hosts of the shards it reads and writes as it reaches them.
    const involved: number[] = [];
    if (!scan.writes) {
      const answered = await this.#pushedDown(call.op, direct, scan, catalog, txn);
      if (answered !== undefined) return answered.value;
    }
    if (!scan.writes) return this.#general(call, txn, scan, false);
    return this.#inTxn(txn, involved, (t) => this.#general(call, t, scan, false));
  }

  /**
   * A one-call op (or a request) every shard can answer in part, answered from the parts: a
   * `count`, or a query plan of aggregates (aggregate-merge.ts). Undefined when the call is not
   * such a call, or when a host holds more than one shard.
   */
  async #pushedDown(op: Json | undefined, direct: (r: Runner) => Promise<Json>, scan: OpScan, catalog: Map<string, TableInfo>, txn: ClusterTxn | undefined): Promise<{ value: Json } | undefined> {
    // A request is one call; an op must be one step.
    const step = op === undefined ? undefined : onlyStep(op);
    if ((op !== undefined && step === undefined) || scan.sites.length !== 1 || scan.dynamic) return undefined;
    const site = scan.sites[0]!;
    const info = catalog.get(site.table);
    if (info === undefined || this.#placed(catalog, site.table) !== undefined) return undefined;
    // A host holding several ranges answers for all its rows at once: its partials would count twice.
    if (hostsShared(this.#shards)) return undefined;
    const shards = this.#shards.map((_, i) => i);
    const read = async (s: number, fn: (r: Runner) => Promise<Json>): Promise<Json> => (txn ? fn(await txn.readerOf(this.#pool, s)) : readAnyReplica(this.#pool, this.#shards[s]!, fn));
    // The op's one step is the count itself, not a value computed from it.
    if (site.route === "count" && site.verb === "get" && (op === undefined || Object.keys(Object(step)).join() === `${site.table}/count`)) {
      // Each row lives on one shard: a count (of the table, or of a selector's rows) is the sum of the shards' counts.
      const parts = await Promise.all(shards.map((s) => read(s, direct)));
      this.lastExplain = { route: "gather", steps: [{ step: "partial counts", table: site.table, shards: shards.length, requests: shards.length, rows: 0 }] };
      return { value: parts.reduce<number>((n, p) => n + (p as number), 0) };
    }
    if (op === undefined || site.route !== "query" || site.verb !== "get" || !Array.isArray(site.key)) return undefined;
    let plan: QueryPlan;
    try {
      plan = parseQueryPlan(site.key[0]);
    } catch {
      return undefined;
    }
    const ns = site.table.slice(0, site.table.lastIndexOf("/") + 1);
    if (`${ns}${plan.from.table}` !== site.table) return undefined;
    const push = aggregatePushdown(plan, info);
    if (push === undefined) return undefined;
    const params = (site.key[1] ?? {}) as Record<string, Json>;
    const q = queryOp(site.table, push.shardPlan, params);
    const parts = await Promise.all(shards.map((s) => read(s, (r) => r.execute(q.op, q.args))));
    const rows = parts.flatMap((p) => p as unknown[][]);
    this.lastExplain = { route: "gather", steps: [{ step: "partial aggregates", table: site.table, shards: shards.length, requests: shards.length, rows: rows.length }] };
    return { value: await push.finish(rows, params) };
  }

  /**
   * An op's alters, then the rest of the op as any op runs — all in transaction `t`.
   */
  async #altersThenRest(split: SplitAlters, args: Readonly<Record<string, Json>>, t: ClusterTxn): Promise<Json> {
    const rest = split.rest(await this.#runAlters(split.alters, t));
    const scan = scanOp(rest, args);
    if (scan.tables.size === 0) return runLocally(new Gathered(), () => undefined, { op: rest, args }, false).then((o) => o.result);
    return this.#general({ op: rest, args }, t, scan.ddl ? scanOp(stripLiteralRows(rest, new Map()), args) : scan, scan.ddl);
  }

  /**
   * Alters, each on every host with the values of the host's own rows (alter-split.ts), in
   * transaction `t`; answers the rows each rewrote.
   */
  async #runAlters(alters: readonly AlterStep[], t: ClusterTxn): Promise<number[]> {
    const catalog = await this.#tablesIn(t);
    this.#schemaChanged(t);
    const answers: number[] = [];
    for (const a of alters) {
      const info = catalog.get(a.table);
      const bodies = info === undefined
        ? this.#shards.map(() => a.body)
        : await bodiesByShard(a, info, this.#shards, this.#placed(catalog, a.table), async (s) => literalRows(await t.reader(s).request({ verb: "get", path: a.table, key: null })));
      answers.push(await alterOnHosts(this.#shards, a.table, bodies, t));
    }
    this.#catalog = undefined;
    // Later calls in `t` read the tables as the alters left them (renamed, new columns) inside it.
    this.#schemaChanged(t);
    return answers;
  }

  /** Gathers, runs on the gathered rows, writes the changes back (module comment). */
  async #general(call: { op?: Json; args?: Readonly<Record<string, Json>>; request?: ExecRequest }, t: ClusterTxn | undefined, scan: OpScan, ddl: boolean): Promise<Json> {
    const catalog = await this.#tablesIn(t);
    const stats: GatherStat[] = [];
    const read: ShardReader = t ? async (s, fn) => fn(await t.readerOf(this.#pool, s)) : (s, fn) => readAnyReplica(this.#pool, this.#shards[s]!, fn);
    const g = await this.#gather(call, catalog, scan, read, stats, t);
    this.lastExplain = { route: "gather", steps: stats };
    const run = call.op !== undefined ? { op: call.op, args: call.args ?? {} } : { request: call.request! };
    const writes = scan.writes || ddl;
    const outcome = writes && [...catalog.values()].some((t) => t.references.length > 0)
      ? await this.#referencePasses(g, catalog, run, read, stats, t)
      : await runLocally(g, (l) => catalog.get(l), run, writes);
    if (ddl && (outcome.created.size > 0 || outcome.dropped.length > 0)) {
      this.#catalog = undefined;
      this.#schemaChanged(t!);
      for (const { session } of t!.all()) {
        for (const link of outcome.dropped) await session.request({ verb: "delete", path: link, key: null });
        for (const [link, schema] of outcome.created) await session.request({ verb: "put", path: link, key: null, body: { [PATHS.table]: [schema, []] } as Json });
      }
      this.#schemaChanged(t!);
      const fresh = await this.#tablesIn(t!);
      for (const link of outcome.dropped) outcome.diffs.delete(link);
      if (outcome.diffs.size > 0) await this.#applyDiffs(t!, fresh, outcome.diffs);
      this.#catalog = undefined;
      return outcome.result;
    }
    if (outcome.diffs.size > 0) await this.#applyDiffs(t!, catalog, outcome.diffs);
    return outcome.result;
  }

  /** Runs `fn` in the caller's transaction (widened to `shards`), or in its own one. */
  async #inTxn<T>(txn: ClusterTxn | undefined, shards: number[], fn: (t: ClusterTxn) => Promise<T>): Promise<T> {
    if (txn !== undefined) {
      await txn.widen(this.#pool, shards);
      return fn(txn);
    }
    // Shards are joined in ascending order only; a call reaching a lower shard late starts again
    // with every shard it reached joined first, in order (at most once per shard).
    let need = [...shards];
    for (let attempt = 0; ; attempt++) {
      const own = ClusterTxn.ordered(this.#shards);
      try {
        await own.widen(this.#pool, need);
        const out = await fn(own);
        await own.commit();
        return out;
      } catch (e) {
        await own.rollback();
        if (!(e instanceof OutOfOrder) || attempt > this.#shards.length) throw e;
        need = [...new Set([...need, ...e.shards])];
      }
    }
  }

  /** A schema change: on every host of every shard, in one cluster transaction; the first host's answer. */
  async #broadcast(fn: (r: Runner) => Promise<Json>, txn: ClusterTxn | undefined, rows?: Map<string, unknown[][]>): Promise<Json> {
    this.#catalog = undefined;
    try {
      return await this.#inTxn(txn, this.#shards.map((_, i) => i), async (t) => {
        let first: Json | undefined;
        for (const { session } of t.all()) {
          const r = await fn(session);
          if (first === undefined) first = r;
        }
        this.#schemaChanged(t);
        if (rows !== undefined) {
          // The new tables' schemas, read inside the transaction that created them.
          const catalog = await this.#tablesIn(t);
          const diffs = new Map<string, TableDiff>();
          for (const [table, list] of rows) {
            const info = catalog.get(table);
            if (info === undefined) continue;
            const keys = new Set<string>();
            for (const row of list) {
              const k = JSON.stringify((row as unknown[]).slice(0, info.keyCount));
              if (keys.has(k)) throw new ConflictError(`${table}: the literal holds key ${k} twice`, { table, columns: info.columns.slice(0, info.keyCount), key: JSON.parse(k) as unknown[] });
              keys.add(k);
            }
            diffs.set(table, { deletes: [], upserts: list });
          }
          await this.#applyDiffs(t, catalog, diffs);
        }
        return first ?? null;
      });
    } finally {
      this.#catalog = undefined;
    }
  }

  /** What gathering needs: the layout, the schemas, placements, how to read a shard. */
  #env(catalog: Map<string, TableInfo>, read: ShardReader, stats: GatherStat[], txn: ClusterTxn | undefined, writes: boolean): GatherEnv {
    return {
      writes,
      shards: this.#shards,
      info: (l) => catalog.get(l),
      placed: (l) => this.#placed(catalog, l),
      read,
      ...(txn ? { join: (shards: readonly number[]) => txn.widen(this.#pool, shards) } : {}),
      stats,
    };
  }

  async #gather(call: { op?: Json; args?: Readonly<Record<string, Json>> }, catalog: Map<string, TableInfo>, scan: OpScan, read: ShardReader, stats: GatherStat[], txn?: ClusterTxn): Promise<Gathered> {
    const env = this.#env(catalog, read, stats, txn, scan.writes);
    const g = new Gathered();
    const wholeTables = new Set<string>();
    if (scan.dynamic) for (const t of catalog.keys()) wholeTables.add(t);
    const sited = new Set<string>();
    // View chains first: the call sites they cover are not gathered again.
    const args = call.args ?? {};
    const views = call.op !== undefined ? viewReads(call.op, args, argResolver(call.op, args), scan.writes) : [];
    const covered = coveredSites(env, views);
    await gatherViews(env, g, views, covered, args);
    for (const site of scan.sites) {
      if (covered.has(siteIdentity(site.table, site.route, site.key))) {
        sited.add(site.table);
        continue;
      }
      const ok = await gatherSite(env, g, site);
      if (!ok) wholeTables.add(site.table);
      // A plan the scan could not read may name any table of its namespace.
      if (!ok && /^(query|traverse|insert_returning|update_returning|delete_returning)$/.test(site.route)) {
        const ns = site.table.slice(0, site.table.lastIndexOf("/") + 1);
        for (const t of catalog.keys()) if (t.startsWith(ns)) wholeTables.add(t);
      }
      sited.add(site.table);
    }
    for (const t of scan.tables) if (!sited.has(t)) wholeTables.add(t);
    for (const t of wholeTables) await gatherWhole(env, g, t);
    // Last, the views whose keys come from other reads, now gathered (view-chain.ts).
    await gatherViews(env, g, views, covered, args, async (op, a) => (await runLocally(g, (l) => catalog.get(l), { op, args: a }, false)).result);
    return g;
  }

  /**
   * Runs a write whose tables have references until the gathered rows hold everything the
   * references need: the targets of every row it writes, and the rows referencing every row it
   * deletes (and, for a cascade, theirs). The first runs do not check references (a target may
   * not be here yet); the last one does, on rows that now answer every check as one host would.
   */
  async #referencePasses(g: Gathered, catalog: Map<string, TableInfo>, run: Parameters<typeof runLocally>[2], read: ShardReader, stats: GatherStat[], t: ClusterTxn | undefined): Promise<LocalOutcome> {
    const env = this.#env(catalog, read, stats, t, true);
    const total = (): number => [...g.rows.values()].reduce((n, m) => n + m.size, 0);
    // Checked first: most writes have what their references need already (an insert's targets are
    // gathered with it); a ForeignKeyError may then only mean a target is not here yet.
    let enforce = true;
    let refused: unknown;
    for (let pass = 0; pass < MAX_REFERENCE_PASSES; pass++) {
      let outcome: LocalOutcome;
      try {
        outcome = await runLocally(g, (l) => catalog.get(l), run, true, enforce);
      } catch (e) {
        if (!(e instanceof ForeignKeyError) || !enforce) {
          if (enforce) throw e;
          // Unchecked, the run failed for another reason: checked, it fails the same way or earlier.
          return runLocally(g, (l) => catalog.get(l), run, true, true);
        }
        refused = e;
        enforce = false;
        continue;
      }
      const before = total();
      for (const [table, d] of outcome.diffs) {
        const info = catalog.get(table);
        if (info === undefined) continue;
        for (const [i, target] of info.references) {
          const tInfo = catalog.get(target);
          if (tInfo === undefined || g.whole.has(target)) continue;
          const keys = d.upserts.map((r) => r[i]).filter((v) => v !== null && v !== undefined).map((v) => [v]);
          if (keys.length > 0) await gatherWhere(env, g, target, tInfo.columns.slice(0, tInfo.keyCount), keys, "referenced keys");
        }
        if (d.deletes.length === 0) continue;
        for (const r of referrers(catalog, table)) {
          const rInfo = catalog.get(r)!;
          if (g.whole.has(r)) continue;
          for (const [i, target] of rInfo.references) {
            if (target !== table) continue;
            await gatherWhere(env, g, r, [rInfo.columns[i]!], d.deletes.map((k) => [k[0]]), "referencing rows");
          }
        }
      }
      if (total() === before) {
        if (enforce) return outcome;
        // Nothing was missing: the refusal stands.
        if (refused !== undefined) throw refused;
      }
      enforce = true;
    }
    throw new BadRequestError(`cluster: the write's references reach more than ${MAX_REFERENCE_PASSES} levels of tables; split it`);
  }

  /** Writes `diffs` to each key's shard, on every replica (apply-diffs.ts). */
  #applyDiffs(txn: ClusterTxn, catalog: Map<string, TableInfo>, diffs: Map<string, TableDiff>): Promise<void> {
    return applyDiffs(txn, this.#pool, this.#shards, catalog, diffs, (table) => this.#placed(catalog, table));
  }

  /**
   * What a call would ask of the shards, without running it: per step the table, the shards
   * asked, the requests and the rows gathered (a traversal lists each hop).
   *
   * @example
   * ```ts
   * const q = db.graph.match("users", { id: 1 }).out("follows").out("follows").compile();
   * (await ex.explain(q.op, q.literals)).steps; // [{ step: "start", … }, { step: "hop 1 (follows) depth 1", shards: 3, … }, …]
   * ```
   */
  async explain(op: Json | OpDef, args: Readonly<Record<string, Json>> = {}): Promise<ClusterExplain> {
    await this.ready();
    const json = toJson(op);
    const scan = scanOp(json, args);
    if (scan.ddl) return { route: "broadcast", steps: [] };
    const catalog = await this.#tables();
    const stats: GatherStat[] = [];
    await this.#gather({ op: json, args }, catalog, scan, (s, fn) => readAnyReplica(this.#pool, this.#shards[s]!, fn), stats);
    return { route: "gather", steps: stats };
  }

  /** The steps of `explain` (`Runner.fanOut`: the graph's `fanOut()` reads it). */
  async fanOut(op: Json | OpDef, args: Readonly<Record<string, Json>> = {}): Promise<readonly GatherStat[]> {
    return (await this.explain(op, args)).steps;
  }

  async session(): Promise<Session> {
    await this.ready();
    // A session cannot start again, so it joins every shard at its begin, in order.
    const txn = await ClusterTxn.begin(this.#pool, this.#shards, this.#shards.map((_, i) => i));
    return new ClusterSession(this, txn);
  }

  /** @internal A session ended: after a schema change in it, the shared tables are read again. */
  ended(txn: ClusterTxn): void {
    if (this.#schemaTxns.has(txn)) this.#catalog = undefined;
  }

  /** @internal A session's call. */
  runIn(txn: ClusterTxn, call: { op?: Json; args?: Readonly<Record<string, Json>>; request?: ExecRequest }): Promise<Json> {
    if (call.request !== undefined) return this.#request(call.request, txn);
    return this.#run(call, txn);
  }

  /**
   * Moves the hash range `[lo, hi)` (inside one shard's range) to other hosts in one transaction
   * (rebalance.ts). Afterwards this executor uses the new layout (`shards`); other clients must
   * connect with it.
   *
   * @example
   * ```ts
   * await ex.moveRange([0, 2 ** 30], ["http://127.0.0.1:8705"]);
   * ```
   */
  async moveRange(range: readonly [number, number], to: readonly string[]): Promise<void> {
    await this.ready();
    const catalog = await this.#tables();
    const { next, src } = await planMove(this.#shards, range, to, this.#opts);
    // A placed table keeps its hosts: its shard index moves with the split (the part of the old
    // shard its old hosts keep, else the moved part).
    const added = next.length - this.#shards.length;
    const keep = next.findIndex((sh, i) => i >= src && sh.hosts === this.#shards[src]!.hosts);
    const placement: Record<string, number> = {};
    for (const [link, i] of Object.entries(this.#placement)) placement[link] = i < src ? i : i > src ? i + added : keep >= 0 ? keep : src;
    await moveRange(
      {
        pool: this.#pool,
        shards: this.#shards,
        next,
        catalog,
        placedBefore: (l) => this.#placed(catalog, l),
        placedAfter: (l) => this.#placed(catalog, l, next, placement),
      },
      range,
      to,
    );
    this.#shards = next;
    this.#placement = placement;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
  }
}

/**
 * An Executor over a cluster of TinyChain hosts (each started with `--shard-member`): tables are
 * partitioned by a hash of their key over the shards' ranges, or placed whole on one shard.
 *
 * @example
 * ```ts
 * const ex = cluster({ shards: evenRanges(3).map((range, i) => ({ range, hosts: [urls[i]] })), init: true });
 * const db = await connect(social, ex);
 * ```
 */
export function cluster(opts: ClusterOptions): ClusterExecutor {
  return new ClusterExecutor(opts);
}
