/**
 * Kernel benchmarks (issue 3): the embedded TinyChain kernel against better-sqlite3 with the
 * same schema and indexes, on the same dataset, in the same process.
 *
 *   point get by key   cached POST op `users[[id]]`                vs prepared SELECT … WHERE id = ?
 *   1-hop rows         op: follows range on follower, fold → users  vs one prepared join
 *   bulk insert        whole dataset in one transaction (insert_rows extension, else table literals)
 *   reopen             durable store: open + first point get        vs SQLite WAL open + first query
 *
 * Memory store vs `:memory:` SQLite; durable store vs SQLite file WAL (synchronous NORMAL and FULL).
 * While the kernel is not built, our column prints "n/a (not built yet)" and the SQLite figures
 * are still measured.
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Dataset } from "./dataset.js";
import { CITIES, LANGS, userName } from "./dataset.js";
import { loadSqlite, openSqlite, prepareQueries, type SqliteDb } from "./baselines/sqlite.js";
import {
  annotate, failed, measureGroup, notBuilt,
  type BenchContext, type BenchRow, type Figure,
} from "./harness.js";

// ------------------------------------------------------------------ the TinyChain side

const STR = "/state/scalar/value/string";
const U64 = "/state/scalar/value/number/uint/64";
const U32 = "/state/scalar/value/number/uint/32";

/** Namespace used by the kernel benchmarks. */
export const NS = "bench";

/** PROFILE §3 schemas of the benchmark tables (same columns and indexes as the SQLite baseline). */
export const TABLE_SCHEMAS = {
  users: [[[["id", U64]], [["name", STR, 64], ["city", STR, 32], ["age", U32]]], [["by_city", ["city"]]]],
  follows: [[[["follower", U64], ["followee", U64]], []], [["by_followee", ["followee"]]]],
  posts: [[[["id", U64]], [["author", U64], ["lang", STR, 8]]], [["by_author", ["author"]]]],
} as const;

export type TableName = keyof typeof TABLE_SCHEMAS;

/** `{"/state/collection/table": [schema, rows]}` */
export function tableLiteral(name: TableName, rows: unknown[][]): unknown {
  return { "/state/collection/table": [TABLE_SCHEMAS[name], rows] };
}

/** Row tuples of the whole dataset, in the kernel column order (key columns, then values). */
export function datasetRows(d: Dataset): Record<TableName, unknown[][]> {
  const users: unknown[][] = new Array(d.userCount);
  for (let i = 0; i < d.userCount; i++) users[i] = [i, userName(i), CITIES[d.userCity[i]!], d.userAge[i]];
  const follows: unknown[][] = new Array(d.followCount);
  for (let e = 0; e < d.followCount; e++) follows[e] = [d.follower[e], d.followee[e]];
  const posts: unknown[][] = new Array(d.postCount);
  for (let p = 0; p < d.postCount; p++) posts[p] = [p, d.postAuthor[p], LANGS[d.postLang[p]!]];
  return { users, follows, posts };
}

const tablePath = (t: TableName, ns = NS): string => `/state/${ns}/${t}`;

/** POST op: the users row with key `$id` (a row tuple, or null). */
export function pointGetOp(ns = NS): unknown {
  return { "/state/scalar/op/post": [["row", { [tablePath("users", ns)]: [[{ $id: [] }]] }]] };
}

/**
 * POST op: the follows rows of follower `$id`, then the users they point at, as a tuple of user
 * rows — core IR only (range selector, `rows`, `fold` with `get` + key lookup + `concat`).
 */
export function oneHopOp(ns = NS): unknown {
  const step = {
    "/state/scalar/op/post": [
      ["target", { "$edge/get": { i: 1 } }],
      ["user", { [tablePath("users", ns)]: [[{ $target: [] }]] }],
      ["result", { "$state/concat": { r: [{ $user: [] }] } }],
    ],
  };
  return {
    "/state/scalar/op/post": [
      ["edges", { [tablePath("follows", ns)]: [[["follower", { $id: [] }]]] }],
      ["rows", { "$edges/rows": [null] }],
      ["result", { "$rows/fold": { item_name: "edge", value: [], op: step } }],
    ],
  };
}

interface ExecRequestLike {
  verb: "GET" | "PUT" | "POST" | "DELETE";
  path: string;
  key?: unknown;
  body?: unknown;
}

/** The few calls the benchmarks need, over whichever embedded API exists. */
export interface TcHandle {
  readonly api: string;
  execute(op: unknown, args: Record<string, unknown>): Promise<unknown>;
  request(req: ExecRequestLike): Promise<unknown>;
  /** Runs `fn` inside one multi-request transaction (session) and commits it. */
  inTransaction(fn: (request: (req: ExecRequestLike) => Promise<unknown>) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

const here = fileURLToPath(new URL(".", import.meta.url));
const EMBEDDED_SOURCE = join(here, "..", "src", "kernel", "index.ts");
const KERNEL_SOURCE = join(here, "..", "src", "kernel", "kernel.ts");

/* eslint-disable @typescript-eslint/no-explicit-any */
/** Loads the embedded module, or returns why it cannot be used yet. */
export async function loadEmbedded(): Promise<any | string> {
  const candidates = [EMBEDDED_SOURCE, KERNEL_SOURCE].filter((f) => existsSync(f));
  if (candidates.length === 0) return "not built yet";
  const merged: Record<string, unknown> = {};
  for (const file of candidates) {
    try {
      const spec: string = `../src/kernel/${file === KERNEL_SOURCE ? "kernel" : "index"}.js`;
      Object.assign(merged, await import(spec));
    } catch (error) {
      return failed(error).reason;
    }
  }
  const kernel = merged.Kernel as any;
  if (typeof kernel?.open !== "function" && typeof merged.embedded !== "function") return "not built yet (no Kernel.open / embedded())";
  return merged;
}

/**
 * Opens a kernel (memory, or durable with `dataDir`) through `Kernel.open` when exported (with a
 * long transaction budget for the bulk load), else through `embedded()`.
 */
export async function openTc(mod: any, dataDir?: string): Promise<TcHandle> {
  const opts = dataDir ? { dataDir } : {};
  if (typeof mod.Kernel?.open === "function") {
    const kernel = await mod.Kernel.open({ ...opts, txnBudgetMs: 30 * 60_000 });
    return {
      api: "Kernel",
      execute: (op, args) => kernel.execute(op, args),
      request: (req) => kernel.request(req),
      async inTransaction(fn) {
        const sid = await kernel.beginSession();
        try {
          await fn((req) => kernel.request(req, sid));
        } catch (error) {
          await kernel.rollbackSession(sid).catch(() => undefined);
          throw error;
        }
        await kernel.commitSession(sid);
      },
      close: () => kernel.close(),
    };
  }
  const ex = mod.embedded(dataDir ? { dataDir } : undefined);
  return {
    api: "embedded()",
    execute: (op, args) => ex.execute(op, args),
    request: (req) => ex.request(req),
    async inTransaction(fn) {
      const s = await ex.session();
      try {
        await fn((req) => s.request(req));
      } catch (error) {
        await s.rollback().catch(() => undefined);
        throw error;
      }
      await s.commit();
    },
    close: () => ex.close(),
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Creates the three (empty) tables. */
export async function createTables(tc: TcHandle, ns = NS): Promise<void> {
  for (const t of Object.keys(TABLE_SCHEMAS) as TableName[]) {
    await tc.request({ verb: "PUT", path: tablePath(t, ns), key: null, body: tableLiteral(t, []) });
  }
}

/**
 * Bulk-loads the rows: first the `insert_rows` extension with all three tables in one session
 * (one transaction); if that is refused, creates the tables from full table literals (one request
 * per table). Returns how it was done. Assumes a fresh store.
 */
export async function bulkLoad(tc: TcHandle, rows: Record<TableName, unknown[][]>, ns = NS): Promise<string> {
  try {
    await createTables(tc, ns);
    await tc.inTransaction(async (request) => {
      for (const t of Object.keys(TABLE_SCHEMAS) as TableName[]) {
        await request({ verb: "PUT", path: `${tablePath(t, ns)}/insert_rows`, key: null, body: rows[t] });
      }
    });
    return "insert_rows, one session";
  } catch (first) {
    // Fallback: drop what may exist and create each table from its full literal.
    for (const t of Object.keys(TABLE_SCHEMAS) as TableName[]) {
      await tc.request({ verb: "DELETE", path: tablePath(t, ns), key: null }).catch(() => undefined);
    }
    for (const t of Object.keys(TABLE_SCHEMAS) as TableName[]) {
      await tc.request({ verb: "PUT", path: tablePath(t, ns), key: null, body: tableLiteral(t, rows[t]) });
    }
    return `table literals, 3 transactions (insert_rows session failed: ${failed(first).reason.slice(9, 90)})`;
  }
}

// ------------------------------------------------------------------ the benchmark

/** Checks our 1-hop and point get agree with SQLite on a few ids; returns a problem or undefined. */
async function crossCheck(
  tc: TcHandle, q: ReturnType<typeof prepareQueries>, ids: readonly number[], pointOp: unknown, hopOp: unknown,
): Promise<string | undefined> {
  for (const id of ids.slice(0, 20)) {
    const ours = await tc.execute(pointOp, { id });
    const theirs = q.pointGet(id);
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) return `point get ${id}: ${JSON.stringify(ours)} ≠ ${JSON.stringify(theirs)}`;
    const hop = await tc.execute(hopOp, { id });
    const hopTheirs = q.oneHop(id);
    if (JSON.stringify(hop) !== JSON.stringify(hopTheirs)) {
      return `1-hop ${id}: ${JSON.stringify(hop).slice(0, 120)} ≠ ${JSON.stringify(hopTheirs).slice(0, 120)}`;
    }
  }
  return undefined;
}

function timeOnce<T>(fn: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

async function timeOnceAsync<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Reopen of a SQLite file: open + WAL pragmas + first query; returns ms. */
function sqliteReopenOnce(file: string, synchronous: "NORMAL" | "FULL", id: number): number {
  const t0 = performance.now();
  const db = openSqlite({ file, synchronous, create: false });
  prepareQueries(db).pointGet(id);
  const ms = performance.now() - t0;
  db.close();
  return ms;
}

/** A one-shot figure from several runs: the best (minimum) — the least disturbed by other load. */
function best(times: readonly number[], items?: number, note?: string): Figure {
  if (times.length === 0) return notBuilt("no successful run");
  const runs = `best of ${times.length}`;
  return {
    kind: "time", ms: Math.min(...times), samples: times.length, batch: 1,
    ...(items !== undefined ? { items } : {}),
    note: note ? `${note}; ${runs}` : runs,
  };
}

/** Runs the kernel section. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const { data, sampleUserIds: ids } = ctx;
  const total = data.userCount + data.followCount + data.postCount;
  const rounds = Math.max(1, Number(process.env.BENCH_LOAD_ROUNDS ?? 2));
  const reopenRuns = 3;
  const pick = (i: number) => ids[i % ids.length]!;
  const sqlPoint = (q: ReturnType<typeof prepareQueries>) => ({ fn: (i: number) => q.pointGet(pick(i)) });
  const sqlHop = (q: ReturnType<typeof prepareQueries>) => ({ fn: (i: number) => q.oneHop(pick(i)), items: 10 });

  const mod = await loadEmbedded();
  const missing: Figure | undefined = typeof mod === "string" ? notBuilt(mod) : undefined;
  const rows = missing ? undefined : datasetRows(data);
  // One op object each, reused: the kernel caches a decoded op by identity / content hash.
  const pointOp = pointGetOp();
  const hopOp = oneHopOp();
  const ours: Record<string, Figure> = {};

  // ---- memory: bulk loads interleaved (SQLite, ours, SQLite, ours…), best of `rounds`
  const memLoad = { sqlite: [] as number[], ours: [] as number[] };
  let memDb: SqliteDb | undefined;
  let tcMem: TcHandle | undefined;
  let memHow = "";
  let memError: unknown;
  for (let r = 0; r < rounds; r++) {
    ctx.progress(`sqlite (memory): bulk load of ${total} rows, round ${r + 1}/${rounds}…`);
    memDb?.close();
    const db = openSqlite();
    memDb = db;
    memLoad.sqlite.push(timeOnce(() => loadSqlite(db, data)).ms);
    if (!missing && memError === undefined) {
      ctx.progress(`tinychain (memory): bulk load of ${total} rows, round ${r + 1}/${rounds}…`);
      try {
        await tcMem?.close();
        const tc = await openTc(mod);
        tcMem = tc;
        const { ms, value } = await timeOnceAsync(() => bulkLoad(tc, rows!));
        memLoad.ours.push(ms);
        memHow = `${value}; ${tc.api}`;
        ctx.progress(`tinychain (memory): loaded in ${(ms / 1000).toFixed(1)} s (${value})`);
      } catch (error) {
        memError = error;
        await tcMem?.close().catch(() => undefined);
        tcMem = undefined;
      }
    }
  }
  const qMem = prepareQueries(memDb!);
  const sqlLoadMem = best(memLoad.sqlite, total);
  ours.loadMem = missing ?? (memError !== undefined ? failed(memError) : best(memLoad.ours, total, memHow));

  ctx.progress("memory: point get / 1-hop (interleaved)…");
  const tm = tcMem;
  const problemMem = tm ? await crossCheck(tm, qMem, ids, pointOp, hopOp).catch((e) => failed(e).reason) : undefined;
  const pointMem = await measureGroup({
    sqlite: sqlPoint(qMem),
    ours: tm ? { fn: (i) => tm.execute(pointOp, { id: pick(i) }), async: true } : undefined,
    request: tm ? { fn: (i) => tm.request({ verb: "GET", path: tablePath("users"), key: [pick(i)] }), async: true } : undefined,
  });
  const hopMem = await measureGroup({
    sqlite: sqlHop(qMem),
    ours: tm ? { fn: (i) => tm.execute(hopOp, { id: pick(i) }), async: true, items: 10 } : undefined,
  });
  const fallbackMem = missing ?? (memError !== undefined ? failed(memError) : notBuilt());
  ours.pointMem = pointMem.ours ?? fallbackMem;
  ours.pointReqMem = pointMem.request ?? fallbackMem;
  ours.hopMem = hopMem.ours ?? fallbackMem;
  if (problemMem) {
    ours.pointMem = annotate(ours.pointMem, `RESULT MISMATCH: ${problemMem}`);
    ours.hopMem = annotate(ours.hopMem, `RESULT MISMATCH: ${problemMem}`);
  }
  await tcMem?.close().catch(() => undefined);
  memDb?.close();

  // ---- durable: loads interleaved (WAL NORMAL, WAL FULL, ours), best of `rounds`
  const durLoad = { NORMAL: [] as number[], FULL: [] as number[], ours: [] as number[] };
  const files = { NORMAL: "", FULL: "" };
  let durDir: string | undefined;
  let durHow = "";
  let durError: unknown;
  for (let r = 0; r < rounds; r++) {
    for (const sync of ["NORMAL", "FULL"] as const) {
      ctx.progress(`sqlite (file WAL, synchronous=${sync}): bulk load, round ${r + 1}/${rounds}…`);
      if (files[sync]) rmSync(files[sync].replace(/bench\.db$/, ""), { recursive: true, force: true });
      files[sync] = join(ctx.tmpDir(`sqlite-${sync}`), "bench.db");
      const db = openSqlite({ file: files[sync], synchronous: sync });
      durLoad[sync].push(timeOnce(() => loadSqlite(db, data)).ms);
      db.close();
    }
    if (!missing && durError === undefined) {
      ctx.progress(`tinychain (durable): bulk load of ${total} rows, round ${r + 1}/${rounds}…`);
      if (durDir) rmSync(durDir, { recursive: true, force: true });
      durDir = ctx.tmpDir("tc-durable");
      try {
        const tc = await openTc(mod, durDir);
        try {
          const { ms, value } = await timeOnceAsync(() => bulkLoad(tc, rows!));
          durLoad.ours.push(ms);
          durHow = value;
          ctx.progress(`tinychain (durable): loaded in ${(ms / 1000).toFixed(1)} s (${value})`);
        } finally {
          await tc.close();
        }
      } catch (error) {
        durError = error;
      }
    }
  }
  const fallbackDur = missing ?? (durError !== undefined ? failed(durError) : notBuilt());
  ours.loadDur = durError === undefined && !missing ? best(durLoad.ours, total, durHow) : fallbackDur;

  ctx.progress("durable: reopen (interleaved)…");
  const reopen = { NORMAL: [] as number[], FULL: [] as number[], ours: [] as number[] };
  let reopenError: unknown;
  for (let r = 0; r < reopenRuns; r++) {
    reopen.NORMAL.push(sqliteReopenOnce(files.NORMAL, "NORMAL", ids[0]!));
    reopen.FULL.push(sqliteReopenOnce(files.FULL, "FULL", ids[0]!));
    if (!missing && durError === undefined && reopenError === undefined) {
      try {
        const t0 = performance.now();
        const again = await openTc(mod, durDir);
        await again.execute(pointOp, { id: ids[0]! });
        reopen.ours.push(performance.now() - t0);
        await again.close();
      } catch (error) {
        reopenError = error;
      }
    }
  }
  ours.reopen = reopenError !== undefined ? failed(reopenError) : reopen.ours.length ? best(reopen.ours) : fallbackDur;

  ctx.progress("durable: point get / 1-hop (interleaved)…");
  const walDb = openSqlite({ file: files.NORMAL, synchronous: "NORMAL", create: false });
  const qWal = prepareQueries(walDb);
  let dur: TcHandle | undefined;
  let durOpenError: unknown;
  if (!missing && durError === undefined) {
    try {
      dur = await openTc(mod, durDir);
    } catch (error) {
      durOpenError = error;
    }
  }
  const td = dur;
  const pointDur = await measureGroup({
    sqlite: sqlPoint(qWal),
    ours: td ? { fn: (i) => td.execute(pointOp, { id: pick(i) }), async: true } : undefined,
  });
  const hopDur = await measureGroup({
    sqlite: sqlHop(qWal),
    ours: td ? { fn: (i) => td.execute(hopOp, { id: pick(i) }), async: true, items: 10 } : undefined,
  });
  const fallbackDurQ = durOpenError !== undefined ? failed(durOpenError) : fallbackDur;
  ours.pointDur = pointDur.ours ?? fallbackDurQ;
  ours.hopDur = hopDur.ours ?? fallbackDurQ;
  await dur?.close().catch(() => undefined);
  walDb.close();
  if (durDir) rmSync(durDir, { recursive: true, force: true });

  const sqlPointMem = pointMem.sqlite, sqlHopMem = hopMem.sqlite, sqlPointWal = pointDur.sqlite, sqlHopWal = hopDur.sqlite;
  const sqlMemLoad = sqlLoadMem;
  const fileLoads = { NORMAL: best(durLoad.NORMAL, total), FULL: best(durLoad.FULL, total) };
  const reopenNormal = best(reopen.NORMAL), reopenFull = best(reopen.FULL);

  const sqlMem = "better-sqlite3 :memory:";
  const walN = "better-sqlite3 file WAL sync=NORMAL";
  const walF = "better-sqlite3 file WAL sync=FULL";
  const hopNote = "10 rows/op (one join)";
  return [
    {
      section: "kernel", case: "point get by key (cached op)", oursLabel: "tinychain memory",
      ours: ours.pointMem!, baselines: [{ label: sqlMem, figure: sqlPointMem }], target: "≤ 1.5×",
    },
    {
      section: "kernel", case: "point get by key (plain GET request, no op)", oursLabel: "tinychain memory",
      ours: ours.pointReqMem!, baselines: [{ label: sqlMem, figure: sqlPointMem }], target: "diagnostic",
    },
    {
      section: "kernel", case: "1-hop: follows of one user → their users", oursLabel: "tinychain memory",
      ours: ours.hopMem!, baselines: [{ label: sqlMem, figure: annotate(sqlHopMem, hopNote) }], target: "≤ 1.5×",
    },
    {
      section: "kernel", case: `bulk insert whole dataset (${total} rows, one txn)`, oursLabel: "tinychain memory",
      ours: ours.loadMem!, baselines: [{ label: sqlMem, figure: sqlMemLoad }], target: "≤ 1.0× (rate ≥ SQLite)",
    },
    {
      section: "kernel", case: "point get by key (cached op)", oursLabel: "tinychain durable",
      ours: ours.pointDur!, baselines: [{ label: walN, figure: sqlPointWal }], target: "report",
    },
    {
      section: "kernel", case: "1-hop: follows of one user → their users", oursLabel: "tinychain durable",
      ours: ours.hopDur!, baselines: [{ label: walN, figure: sqlHopWal }], target: "report",
    },
    {
      section: "kernel", case: `bulk insert whole dataset (${total} rows, one txn)`, oursLabel: "tinychain durable",
      ours: ours.loadDur!,
      baselines: [
        { label: walN, figure: fileLoads.NORMAL },
        { label: walF, figure: fileLoads.FULL },
      ],
      target: "report",
    },
    {
      section: "kernel", case: "reopen: open + first point get", oursLabel: "tinychain durable",
      ours: ours.reopen!,
      baselines: [
        { label: walN, figure: reopenNormal },
        { label: walF, figure: reopenFull },
      ],
      target: "report",
    },
  ];
}
