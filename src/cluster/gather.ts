/**
 * Gathering: fetching from the shards every row an op can read, so that the op can run on those
 * rows alone (local-run.ts) and answer what one host holding every row would answer. A table is
 * gathered whole unless a call site says which rows it reads:
 *
 * - a view chain (view-chain.ts: a table read used only through `order`, `filter`, `sort`,
 *   `limit` or `rows` + `slice`): the chain itself, run on each shard — its filter keeps the
 *   same rows as on one host, its limit sends at most `offset + limit` rows per shard; a chain
 *   keyed by another read's value (an index page's boundary) once every other read is gathered;
 * - a `query` plan: the base table's rows passing the conjuncts of `where` that name only it
 *   (pushed to every shard, to one when they pin its key; with `orderBy` and `limit` on one
 *   table, the top `offset + limit` per shard); its joined tables by the join keys of the rows
 *   gathered before them; nested loads and subqueries read their tables whole;
 * - a `traverse` plan: the start rows, then hop by hop the rows each lookup returns from the
 *   previous hop's new rows (one request per shard per lookup per hop, in parallel) — the rows
 *   the traversal visits and nothing it does not need;
 * - a key (GET/PUT/DELETE of one row, `insert`) or the rows of `insert_rows`: those keys, each
 *   asked of the one shard its hash falls in.
 *
 * What is gathered is a superset of what the op reads, so filters, order, limits, aggregates and
 * budgets come out as on one host.
 */
import { BadRequestError } from "../errors.js";
import type { Json } from "../ir/types.js";
import { exprTables, parseQueryPlan, queryPlanTables, type QueryExpr, type QueryPlan } from "../ir/query-plan.js";
import { parsePlan, type PlanFilter, type TraversePlan } from "../ir/traverse-plan.js";
import type { Runner } from "../executor.js";
import { has } from "./aggregate-merge.js";
import { keyHash, shardOfHash, type ShardSpec } from "./layout.js";
import type { CallSite, OpScan } from "./op-scan.js";
import type { TableInfo } from "./catalog.js";
import { literalRows, queryOp } from "./wire-ops.js";

/** Rows of one table by their key's JSON text. */
export type RowMap = Map<string, unknown[]>;

/** How to read a shard: a runner per shard index (a session's, or a replica chosen for a read). */
export type ShardReader = (shard: number, fn: (r: Runner) => Promise<Json>) => Promise<Json>;

/** Counts kept while gathering, for `explain`: requests and rows per step. */
export interface GatherStat {
  readonly step: string;
  readonly table: string;
  readonly shards: number;
  readonly requests: number;
  readonly rows: number;
}

/** The gathering context: the layout, the tables' schemas and where each table lives. */
export interface GatherEnv {
  readonly shards: readonly ShardSpec[];
  readonly info: (table: string) => TableInfo | undefined;
  /** The shard a placed table lives on; undefined for a partitioned table. */
  readonly placed: (table: string) => number | undefined;
  readonly read: ShardReader;
  /** Joins the shards a batch of parallel reads is about to reach, in order (a transaction's reads). */
  readonly join?: (shards: readonly number[]) => Promise<void>;
  readonly stats: GatherStat[];
  /**
   * True when the op may write: what it reads after a write may then need rows a narrowing
   * decided before it would leave out (a top-k's next row, a joined row of a changed key), so
   * only per-row narrowings (filters, keys) apply.
   */
  readonly writes?: boolean;
}

/** Most keys or values in one `in` request. */
const CHUNK = 2000;
/** Most rows a traversal may gather before it is refused. */
const MAX_GATHERED_ROWS = 5_000_000;
/** Most composite keys in one request (each cell is a parameter). */
const TUPLE_CHUNK = 200;

/** The rows gathered so far, per table; `whole` tables hold every row. */
export class Gathered {
  readonly rows = new Map<string, RowMap>();
  readonly whole = new Set<string>();
  readonly #asked = new Map<string, Set<string>>();

  /** The tuples of `cols` already asked of `table`'s shards (their rows are here). */
  asked(table: string, cols: readonly string[]): Set<string> {
    const k = `${table} ${JSON.stringify(cols)}`;
    let s = this.#asked.get(k);
    if (s === undefined) this.#asked.set(k, (s = new Set()));
    return s;
  }

  map(table: string): RowMap {
    let m = this.rows.get(table);
    if (m === undefined) this.rows.set(table, (m = new Map()));
    return m;
  }

  /** Adds rows; answers those that were new. */
  add(table: string, info: TableInfo, rows: readonly unknown[][]): unknown[][] {
    const m = this.map(table);
    const fresh: unknown[][] = [];
    for (const row of rows) {
      const k = JSON.stringify(row.slice(0, info.keyCount));
      if (!m.has(k)) {
        m.set(k, row);
        fresh.push(row);
      }
    }
    return fresh;
  }
}

/** The shards holding part of `table`: its one shard when placed, else every shard. */
export function shardsOf(env: GatherEnv, table: string): number[] {
  const p = env.placed(table);
  return p !== undefined ? [p] : env.shards.map((_, i) => i);
}

/** Reads a whole table from every shard holding part of it. */
export async function gatherWhole(env: GatherEnv, g: Gathered, table: string): Promise<void> {
  if (g.whole.has(table)) return;
  const info = env.info(table);
  g.whole.add(table);
  if (info === undefined) return;
  const shards = shardsOf(env, table);
  await env.join?.(shards);
  const parts = await Promise.all(shards.map((s) => env.read(s, (r) => r.request({ verb: "get", path: table, key: null }))));
  let n = 0;
  for (const lit of parts) {
    const rows = literalRows(lit);
    n += rows.length;
    g.add(table, info, rows);
  }
  env.stats.push({ step: "whole table", table, shards: shards.length, requests: shards.length, rows: n });
}

/** Runs a one-table query plan selecting every column on the given shards (its first `top.limit` rows in `top.orderBy`, when given); answers the rows. */
async function queryRows(
  env: GatherEnv,
  table: string,
  info: TableInfo,
  shards: readonly number[],
  where: QueryExpr | null,
  params: Record<string, Json>,
  top?: { readonly orderBy: QueryPlan["orderBy"]; readonly limit: number },
): Promise<unknown[][]> {
  const alias = "t";
  const plan: QueryPlan = {
    v: 1,
    from: { table: info.name, as: alias },
    joins: [],
    where: where === null ? null : retarget(where, alias),
    groupBy: null,
    having: null,
    select: info.columns.map((c) => ({ as: c, expr: { t: "col", src: alias, col: c } as QueryExpr })),
    distinct: false,
    with: [],
    orderBy: top === undefined ? [] : top.orderBy.map((o) => ({ desc: o.desc, expr: retarget(o.expr, alias) })),
    limit: top === undefined ? null : { lit: top.limit },
    offset: null,
  };
  const q = queryOp(table, plan, params);
  await env.join?.(shards);
  const parts = await Promise.all(shards.map((s) => env.read(s, (r) => r.execute(q.op, q.args))));
  return parts.flatMap((p) => p as unknown[][]);
}

/** `e` with every column source renamed to `alias` (a pushed-down predicate names one table). */
function retarget(e: QueryExpr, alias: string): QueryExpr {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (typeof x !== "object" || x === null) return x;
    const o = x as Record<string, unknown>;
    if (o.t === "col") return { ...o, src: alias };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = k === "value" || k === "list" && !Array.isArray(v) ? v : walk(v);
    return out;
  };
  return walk(e) as QueryExpr;
}

/** Reads the rows whose `cols` equal one of `tuples`, from the shards that may hold them. */
export async function gatherWhere(env: GatherEnv, g: Gathered, table: string, cols: readonly string[], wanted: readonly unknown[][], step: string, given = false): Promise<unknown[][]> {
  let tuples = wanted;
  const info = env.info(table);
  if (info === undefined) return [];
  g.map(table); // the table exists locally even when no row of it is asked for
  if (g.whole.has(table)) return matching(g.map(table), info, cols, tuples);
  const asked = g.asked(table, cols);
  tuples = tuples.filter((t) => !asked.has(JSON.stringify(t)));
  for (const t of tuples) asked.add(JSON.stringify(t));
  if (tuples.length === 0) return matching(g.map(table), info, cols, wanted);
  // Cells read from stored rows hash as stored; keys given by a caller only when the key is plain.
  const isKey = cols.length === info.keyCount && cols.every((c, i) => info.columns[i] === c) && (!given || info.plainKey);
  const distinct = new Map<string, unknown[]>();
  for (const t of tuples) distinct.set(JSON.stringify(t), t);
  const byShard = new Map<number, unknown[][]>();
  const placed = env.placed(table);
  for (const t of distinct.values()) {
    const routable = isKey && (!given || routableCells(t));
    const shards = placed !== undefined ? [placed] : routable ? [shardOfHash(env.shards, keyHash(t))] : env.shards.map((_, i) => i);
    for (const s of shards) {
      let list = byShard.get(s);
      if (list === undefined) byShard.set(s, (list = []));
      list.push(t);
    }
  }
  const fresh: unknown[][] = [];
  let requests = 0;
  let rows = 0;
  await env.join?.([...byShard.keys()]);
  await Promise.all(
    [...byShard].map(async ([s, list]) => {
      const size = cols.length === 1 ? CHUNK : TUPLE_CHUNK;
      for (let i = 0; i < list.length; i += size) {
        const chunk = list.slice(i, i + size);
        requests++;
        const got = await queryRows(env, table, info, [s], tupleMatch(cols, chunk), tupleParams(cols, chunk));
        rows += got.length;
        fresh.push(...got);
      }
    }),
  );
  g.add(table, info, fresh);
  env.stats.push({ step, table, shards: byShard.size, requests, rows });
  return matching(g.map(table), info, cols, wanted);
}

/** The predicate `cols ∈ tuples`: an `in` list for one column, else a disjunction. */
function tupleMatch(cols: readonly string[], tuples: readonly unknown[][]): QueryExpr {
  if (cols.length === 1) return { t: "in", e: { t: "col", src: "t", col: cols[0]! }, list: { param: "_k" }, negate: false };
  return {
    t: "or",
    of: tuples.map((_, n) => ({
      t: "and",
      of: cols.map((c, i) => ({ t: "cmp", op: "=", l: { t: "col", src: "t", col: c }, r: { t: "value", value: { param: `_k${n}_${i}` } } }) as QueryExpr),
    })),
  };
}

/** The parameters of `tupleMatch`: cells travel as parameters (a 64-bit cell has no literal form). */
function tupleParams(cols: readonly string[], tuples: readonly unknown[][]): Record<string, Json> {
  if (cols.length === 1) return { _k: tuples.map((t) => t[0]) as Json };
  const out: Record<string, Json> = {};
  tuples.forEach((t, n) => cols.forEach((_, i) => (out[`_k${n}_${i}`] = t[i] as Json)));
  return out;
}

/** Rows of `m` whose `cols` equal one of `tuples` (compared as JSON text). */
function matching(m: RowMap, info: TableInfo, cols: readonly string[], tuples: readonly unknown[][]): unknown[][] {
  const want = new Set(tuples.map((t) => JSON.stringify(t)));
  const idx = cols.map((c) => info.columns.indexOf(c));
  const out: unknown[][] = [];
  for (const row of m.values()) if (want.has(JSON.stringify(idx.map((i) => row[i])))) out.push(row);
  return out;
}

/** Gathers what one call site reads; answers false when it could not narrow it (read whole). */
export async function gatherSite(env: GatherEnv, g: Gathered, site: CallSite): Promise<boolean> {
  const info = env.info(site.table);
  if (info === undefined) return true;
  if (site.route === "schema" && site.verb === "get") {
    // The local kernel holds the table with its stored schema: no row is needed to read it.
    g.map(site.table);
    return true;
  }
  if (site.route === "query" && Array.isArray(site.key)) return gatherQuery(env, g, site.table, site.key);
  if (site.route === "traverse" && Array.isArray(site.key)) return gatherTraverse(env, g, site.table, site.key);
  if ((site.route === "" || site.route === "insert" || site.route === "contains" || site.route === "count") && site.verb !== "post" && isKeyTuple(site.key, info)) {
    await gatherWhere(env, g, site.table, info.columns.slice(0, info.keyCount), [site.key as unknown[]], "key", true);
    return true;
  }
  if ((site.route === "" || site.route === "contains" || site.route === "count") && site.verb !== "post" && Array.isArray(site.key) && site.key.length > 0 && !isKeyTuple(site.key, info)) {
    const sel = selectorExpr(site.key, info);
    if (sel === undefined) return false;
    if (sel.key !== undefined) await gatherWhere(env, g, site.table, info.columns.slice(0, info.keyCount), [sel.key], "key", true);
    else {
      const shards = shardsOf(env, site.table);
      const rows = await queryRows(env, site.table, info, shards, sel.expr, sel.params);
      g.add(site.table, info, rows);
      env.stats.push({ step: "selector", table: site.table, shards: shards.length, requests: shards.length, rows: rows.length });
    }
    return true;
  }
  if (site.route === "insert_rows" && Array.isArray(site.value) && site.value.every((r) => Array.isArray(r) && r.length >= info.keyCount)) {
    const keys = (site.value as unknown[][]).map((r) => r.slice(0, info.keyCount));
    if (keys.some((k) => k.some((c) => c === null))) return false;
    await gatherWhere(env, g, site.table, info.columns.slice(0, info.keyCount), keys, "insert keys", true);
    await gatherReferenced(env, g, info, site.value as unknown[][]);
    return true;
  }
  return false;
}

/** The rows an insert references (their targets' keys), so the local run can check them. */
async function gatherReferenced(env: GatherEnv, g: Gathered, info: TableInfo, rows: readonly unknown[][]): Promise<void> {
  for (const [i, target] of info.references) {
    const tInfo = env.info(target);
    if (tInfo === undefined || tInfo.keyCount !== 1) {
      await gatherWhole(env, g, target);
      continue;
    }
    const keys = rows.map((r) => r[i]).filter((v) => v !== null && v !== undefined).map((v) => [v]);
    await gatherWhere(env, g, target, tInfo.columns.slice(0, 1), keys, "referenced keys", true);
  }
}

/**
 * A range selector `[[col, bound], …]` (PROFILE §3) as a query predicate over its columns, and the
 * key it names when it is an equality on every key column. Undefined for anything else.
 */
function selectorExpr(sel: unknown[], info: TableInfo): { expr: QueryExpr; params: Record<string, Json>; key?: unknown[] } | undefined {
  const parts: QueryExpr[] = [];
  const params: Record<string, Json> = {};
  const eq = new Map<string, unknown>();
  let n = 0;
  const value = (v: unknown): QueryExpr => {
    const name = `_s${n++}`;
    params[name] = v as Json;
    return { t: "value", value: { param: name } };
  };
  for (const e of sel) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== "string" || !info.columns.includes(e[0])) return undefined;
    const col: QueryExpr = { t: "col", src: "t", col: e[0] };
    const b = e[1];
    if (Array.isArray(b)) {
      if (b.length !== 2) return undefined;
      for (const [end, op] of [[b[0], ">"], [b[1], "<"]] as const) {
        if (end === null) continue;
        if (!Array.isArray(end) || end.length !== 2 || (end[0] !== "in" && end[0] !== "ex")) return undefined;
        parts.push({ t: "cmp", op: end[0] === "in" ? (op === ">" ? ">=" : "<=") : op, l: col, r: value(end[1]) });
      }
    } else {
      if (b === null) return undefined;
      eq.set(e[0], b);
      parts.push({ t: "cmp", op: "=", l: col, r: value(b) });
    }
  }
  if (parts.length === 0) return undefined;
  const keyCols = info.columns.slice(0, info.keyCount);
  const key = keyCols.every((c) => eq.has(c)) ? keyCols.map((c) => eq.get(c)) : undefined;
  return { expr: parts.length === 1 ? parts[0]! : { t: "and", of: parts }, params, ...(key ? { key } : {}) };
}

/**
 * True when a key a caller gave hashes as the stored one (with a plain key, `TableInfo.plainKey`):
 * cells that are strings or safe integers.
 */
function routableCells(key: readonly unknown[]): boolean {
  return key.every((c) => typeof c === "string" || (typeof c === "number" && Number.isSafeInteger(c)));
}

/**
 * The shard of a read that is one GET of one row by its whole key (a point select), when the key
 * is routed as the rows were placed: that shard holds the only row the op can read, so the op
 * runs there whole — one request, no gathering into a local kernel. Undefined for any other op
 * (`placed`: the shard of a table placed whole on one, else undefined).
 *
 * @example
 * ```ts
 * keyedShard(scanOp(op, { id: 7 }), catalog, () => undefined, shards); // the shard key [7] hashes to
 * ```
 */
export function keyedShard(scan: OpScan, catalog: ReadonlyMap<string, TableInfo>, placed: (table: string) => number | undefined, shards: readonly ShardSpec[]): number | undefined {
  if (scan.writes || scan.dynamic || scan.component || scan.tables.size !== 1 || scan.sites.length !== 1) return undefined;
  const site = scan.sites[0]!;
  const info = catalog.get(site.table);
  if (info === undefined || !info.plainKey || site.verb !== "get" || site.route !== "" || placed(site.table) !== undefined) return undefined;
  if (!isKeyTuple(site.key, info) || !routableCells(site.key as unknown[])) return undefined;
  return shardOfHash(shards, keyHash(site.key as unknown[]));
}

function isKeyTuple(key: unknown, info: TableInfo): boolean {
  if (!Array.isArray(key) || key.length !== info.keyCount) return false;
  // A selector `[[col, bound], …]` names columns; a key tuple holds cells.
  return !key.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === "string" && info.columns.includes(e[0]));
}

async function gatherQuery(env: GatherEnv, g: Gathered, table: string, key: unknown[]): Promise<boolean> {
  let plan: QueryPlan;
  try {
    plan = parseQueryPlan(key[0]);
  } catch {
    return false; // the local run answers the same error
  }
  const params = (key[1] ?? {}) as Record<string, Json>;
  if (typeof params !== "object" || Array.isArray(params)) return false;
  const ns = table.slice(0, table.lastIndexOf("/"));
  const base = `${ns}/${plan.from.table}`;
  // A plan reading another table than its route's is refused by the local run (400), as by a host.
  if (base !== table) return false;
  const info = env.info(base);
  if (info === undefined) return false;
  const pushed = baseConjuncts(plan.where, plan.from.as);
  const top = env.writes ? undefined : topOf(plan, params, pushed.length);
  if (pushed.length > 0 || top !== undefined) {
    const key = keyEquality(pushed, info, params);
    const shards = key !== undefined && info.plainKey && env.placed(base) === undefined ? [shardOfHash(env.shards, keyHash(key))] : shardsOf(env, base);
    const where = pushed.length === 0 ? null : pushed.length === 1 ? pushed[0]! : ({ t: "and", of: pushed } as QueryExpr);
    const rows = await queryRows(env, base, info, shards, where, params, top);
    g.add(base, info, rows);
    env.stats.push({ step: top ? "query top-k" : "query where", table: base, shards: shards.length, requests: shards.length, rows: rows.length });
  } else await gatherWhole(env, g, base);
  // Tables of nested plans and subqueries are read whole; the top plan's joined tables by the
  // join keys of the rows gathered for the aliases before them.
  const others = new Set<string>();
  for (const w of plan.with) queryPlanTables(w.plan, others);
  const exprs = [plan.where, plan.having, ...(plan.groupBy ?? []), ...plan.select.map((s) => s.expr), ...plan.orderBy.map((o) => o.expr), ...plan.joins.map((j) => j.on)];
  for (const e of exprs) if (e) exprTables(e, others);
  const aliases = new Map<string, string>([[plan.from.as, base]]);
  for (const j of plan.joins) {
    const link = `${ns}/${j.table}`;
    aliases.set(j.as, link);
    if (others.has(j.table)) continue;
    if (env.writes) await gatherWhole(env, g, link);
    else await gatherJoined(env, g, link, j, aliases);
  }
  for (const t of others) await gatherWhole(env, g, `${ns}/${t}`);
  return true;
}

/**
 * Gathers a joined table by its join keys: when the join's `on` holds `<joined col> = <col of an
 * earlier alias>`, the joined rows that can match are those whose column equals that column in
 * some row gathered for the earlier alias (an inner or a left join never shows any other row of
 * it: a left join's unmatched rows are nulls, not rows read). Otherwise, or when the earlier
 * alias's table was read whole (every key would be asked), the table is read whole.
 */
async function gatherJoined(env: GatherEnv, g: Gathered, link: string, join: QueryPlan["joins"][number], aliases: ReadonlyMap<string, string>): Promise<void> {
  const info = env.info(link);
  const conj = join.on.t === "and" ? join.on.of : [join.on];
  for (const c of conj) {
    if (c.t !== "cmp" || c.op !== "=" || c.l.t !== "col" || c.r.t !== "col") continue;
    const [mine, theirs] = c.l.src === join.as ? [c.l, c.r] : c.r.src === join.as ? [c.r, c.l] : [undefined, undefined];
    if (mine === undefined || theirs === undefined || theirs.src === join.as) continue;
    const from = aliases.get(theirs.src);
    const fromInfo = from === undefined ? undefined : env.info(from);
    if (info === undefined || fromInfo === undefined || g.whole.has(from!) || !info.columns.includes(mine.col)) continue;
    const at = fromInfo.columns.indexOf(theirs.col);
    if (at < 0) continue;
    const values = new Map<string, unknown[]>();
    for (const row of g.map(from!).values()) if (row[at] !== null && row[at] !== undefined) values.set(JSON.stringify(row[at]), [row[at]]);
    await gatherWhere(env, g, link, [mine.col], [...values.values()], "join keys");
    return;
  }
  await gatherWhole(env, g, link);
}

/**
 * The per-shard top of a plan reading one table: with `orderBy` over its columns and a `limit`,
 * no joins, grouping, aggregates or distinct, and every conjunct of `where` pushed, its first
 * `offset + limit` rows on one host are among the first `offset + limit` of the shard each lives
 * on (the same route orders them, ties by primary key). Undefined otherwise.
 */
function topOf(plan: QueryPlan, params: Record<string, Json>, pushed: number): { orderBy: QueryPlan["orderBy"]; limit: number } | undefined {
  if (plan.limit === null || plan.orderBy.length === 0 || plan.joins.length > 0 || plan.groupBy !== null || plan.having !== null || plan.distinct || plan.distinctOn !== undefined) return undefined;
  const conjuncts = plan.where === null ? 0 : plan.where.t === "and" ? plan.where.of.length : 1;
  if (conjuncts !== pushed || plan.select.some((x) => has(x.expr, (o) => o.t === "agg")) || !plan.orderBy.every((o) => onlyBase(o.expr, plan.from.as))) return undefined;
  const amount = (v: QueryPlan["limit"]): number | undefined => {
    const n = v === null ? 0 : "param" in v ? params[v.param] : v.lit;
    return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
  };
  const limit = amount(plan.limit);
  const offset = amount(plan.offset);
  return limit === undefined || offset === undefined ? undefined : { orderBy: plan.orderBy, limit: limit + offset };
}

/** The key a conjunction pins with `=` on every key column (values literal or parameters), if any. */
function keyEquality(conj: readonly QueryExpr[], info: TableInfo, params: Record<string, Json>): unknown[] | undefined {
  const eq = new Map<string, unknown>();
  for (const c of conj) {
    if (c.t !== "cmp" || c.op !== "=") continue;
    const [col, val] = c.l.t === "col" ? [c.l, c.r] : [c.r, c.l];
    if (col.t !== "col" || val.t !== "value") continue;
    const v = "param" in val.value ? params[val.value.param] : val.value.lit;
    // Only plain cells hash as stored; a typed form (a 64-bit map) or a number written another
    // way may be stored differently, so such keys ask every shard.
    if (v === undefined || (typeof v !== "string" && !(typeof v === "number" && Number.isSafeInteger(v)))) continue;
    eq.set(col.col, v);
  }
  const cols = info.columns.slice(0, info.keyCount);
  return cols.every((c) => eq.has(c)) ? cols.map((c) => eq.get(c)) : undefined;
}

/** The conjuncts of `where` that read only the base table's columns (no subquery, no outer ref). */
function baseConjuncts(where: QueryExpr | null, alias: string): QueryExpr[] {
  if (where === null) return [];
  const parts = where.t === "and" ? where.of : [where];
  return parts.filter((p) => onlyBase(p, alias));
}

function onlyBase(e: unknown, alias: string): boolean {
  if (Array.isArray(e)) return e.every((x) => onlyBase(x, alias));
  if (typeof e !== "object" || e === null) return true;
  const o = e as Record<string, unknown>;
  if (o.t === "col") return o.src === alias;
  if (o.t === "outer" || o.t === "inQuery" || o.t === "agg") return false;
  if (o.t === "value") return true;
  return Object.entries(o).every(([k, v]) => k === "list" && !Array.isArray(v) ? true : onlyBase(v, alias));
}

/** The traverse plan's filters as a query predicate. */
function filterExpr(filters: readonly PlanFilter[]): QueryExpr | null {
  if (filters.length === 0) return null;
  const parts: QueryExpr[] = filters.map((f) => {
    const col: QueryExpr = { t: "col", src: "t", col: f.col };
    const value = "param" in f.value ? { param: f.value.param } : { lit: f.value.lit };
    if (f.op === "in") return { t: "in", e: col, list: value, negate: false };
    return { t: "cmp", op: f.op, l: col, r: { t: "value", value } };
  });
  return parts.length === 1 ? parts[0]! : { t: "and", of: parts };
}

async function gatherTraverse(env: GatherEnv, g: Gathered, table: string, key: unknown[]): Promise<boolean> {
  let plan: TraversePlan;
  try {
    plan = parsePlan(key[0]);
  } catch {
    return false;
  }
  const params = (key[1] ?? {}) as Record<string, Json>;
  const ns = table.slice(0, table.lastIndexOf("/"));
  const link = (t: string): string => `${ns}/${t}`;
  const startInfo = env.info(link(plan.start.table));
  if (startInfo === undefined) return false;
  // Every table the plan names exists locally, even when no row of it is reached.
  for (const t of [plan.start.table, ...plan.steps.flatMap((st) => (st.kind === "hop" ? [st.source, st.target, ...st.alts.flatMap((a) => a.lookups.map((l) => l.table))] : []))]) {
    if (env.info(link(t)) !== undefined) g.map(link(t));
  }
  let frontier: unknown[][];
  // The visit budget counts the start rows the host reads: every row of a scan, only the matches
  // of an index lookup. A start no index serves is gathered whole so that the count agrees.
  const indexed = plan.start.filters.some((f) => (f.op === "=" || f.op === "in") && startInfo.leading.has(f.col));
  const where = indexed ? filterExpr(plan.start.filters) : null;
  if (where === null) {
    await gatherWhole(env, g, link(plan.start.table));
    frontier = [...g.map(link(plan.start.table)).values()];
  } else {
    const conj = where.t === "and" ? where.of : [where];
    const key = startInfo.plainKey && env.placed(link(plan.start.table)) === undefined ? keyEquality(conj, startInfo, params) : undefined;
    const shards = key !== undefined ? [shardOfHash(env.shards, keyHash(key))] : shardsOf(env, link(plan.start.table));
    frontier = await queryRows(env, link(plan.start.table), startInfo, shards, where, params);
    g.add(link(plan.start.table), startInfo, frontier);
    env.stats.push({ step: "start", table: link(plan.start.table), shards: shards.length, requests: shards.length, rows: frontier.length });
  }
  // Hops run until nothing new is found (a shortest path may need every reachable row); the
  // traversal's own visit budget is checked by the local run, on a superset of what it touches.
  const cap = MAX_GATHERED_ROWS;
  let gatheredRows = frontier.length;
  let hopNo = 0;
  for (const step of plan.steps) {
    if (step.kind !== "hop") continue;
    hopNo++;
    const target = link(step.target);
    const targetInfo = env.info(target);
    if (targetInfo === undefined) return false;
    const seen = new Set<string>();
    const reached: unknown[][] = step.min === 0 ? [...frontier] : [];
    let level = frontier;
    for (let depth = 1; depth <= step.max && level.length > 0; depth++) {
      // Stopping short would answer from part of the graph: past the cap the traversal is refused.
      if (gatheredRows > cap) throw new BadRequestError(`cluster: the traversal would gather more than ${cap} rows from the shards; narrow it or lower its hops`);
      const next: unknown[][] = [];
      for (const alt of step.alts) {
        let rows = level;
        let rowsTable = link(step.source);
        for (const l of alt.lookups) {
          const fromInfo = env.info(rowsTable);
          const lt = link(l.table);
          if (fromInfo === undefined) return false;
          const idx = l.from.map((c) => fromInfo.columns.indexOf(c));
          const tuples = rows.map((r) => idx.map((i) => r[i])).filter((t) => t.every((c) => c !== null));
          rows = await gatherWhere(env, g, lt, l.cols, tuples, `hop ${hopNo} (${step.rel}) depth ${depth}`);
          gatheredRows += rows.length;
          rowsTable = lt;
        }
        next.push(...rows);
      }
      level = [];
      for (const r of next) {
        const k = JSON.stringify(r.slice(0, targetInfo.keyCount));
        if (seen.has(k)) continue;
        seen.add(k);
        level.push(r);
        reached.push(r);
      }
    }
    frontier = reached;
  }
  return true;
}
