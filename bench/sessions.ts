/**
 * Session contention over HTTP (issue 15): how long read-modify-write sessions and plain reads
 * wait for the kernel's one transaction lock.
 *
 *   increment   N concurrent sessions (default 1000; 200 with BENCH_SCALE=small), each: begin,
 *               GET the counter, PUT counter+1, commit. One try per session, no retry. Reported:
 *               p50/p99/max latency (begin to acknowledged commit) of the committed sessions, the
 *               number committed, refused (typed 503 `temporarily_unavailable`: the lock's wait
 *               queue was full, or the connection was refused), timed out (typed 408: the session
 *               outlived its idle timeout or budget and was rolled back) and failed otherwise; and
 *               the final counter, which must equal the number committed.
 *   idle reads  K sessions (default 5) are begun and left idle; then one plain GET of the counter
 *               is timed (median of 3 tries, issued 100 ms after the first began): it waits until every idle session ahead of it in the
 *               lock's queue is rolled back.
 *
 * The server runs in a worker thread (its own event loop and heap, as a separate host would) on
 * 127.0.0.1 with an in-memory kernel and default options; the clients run on the main thread.
 *
 * Standalone: `npx tsx bench/sessions.ts [sessions] [idleSessions]` prints the summaries as JSON
 * (0 skips a test). `BENCH_SESSIONS_SERVE='{"lockQueueLimit":64}'` passes `serve()` options.
 * In `npm run bench` it is the `sessions` module (BENCH_SKIP=sessions to skip).
 */
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { http, serve, type ServeOptions } from "../src/http/index.js";
import { TcError } from "../src/errors.js";
import type { Json } from "../src/ir/types.js";
import type { BenchContext, BenchRow, Measurement } from "./harness.js";
import { startWorkerHost, type WorkerHost } from "./worker-host.js";

const COUNTER = "/state/bench_sessions/counter";
const I64 = "/state/scalar/value/number/int/64";
const STR = "/state/scalar/value/string";
const TABLE: Json = { "/state/collection/table": [[[[["name", STR, 8]], [["n", I64]]], []], [["c", 0]]] };

export interface IncrementSummary {
  sessions: number;
  committed: number;
  refused: number;
  timedOut: number;
  failed: number;
  firstFailures: string[];
  finalCounter: number;
  /** Latency of the committed sessions, begin to acknowledged commit. */
  latencyMs: { p50: number; p99: number; max: number };
  /** Time until a refused session got its 503. */
  refusedAfterMs: { p50: number; max: number };
  wallMs: number;
}

export interface IdleReadSummary {
  idleSessions: number;
  /** Median of 3 tries: a plain GET issued 100 ms after the first idle session began. */
  readMs: number;
  tries: number[];
}

/** Starts `serve(opts)` in a worker thread (this file is its entry too) and returns its URL. */
function startHost(opts: ServeOptions): Promise<WorkerHost> {
  return startWorkerHost(new URL(import.meta.url).href, { role: "sessions-host", opts }, "sessions host");
}

/** The worker side of {@link startHost}. */
async function hostMain(opts: ServeOptions): Promise<void> {
  const srv = await serve(opts);
  parentPort!.postMessage({ url: srv.url });
  parentPort!.once("message", () => void srv.close().then(() => process.exit(0)));
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return +sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1);
}

/** Runs `sessions` concurrent read-modify-write sessions against a fresh server, one try each. */
export async function incrementTest(sessions: number, serveOptions: ServeOptions = {}): Promise<IncrementSummary> {
  const srv = await startHost(serveOptions);
  const ex = http(srv.url, { timeoutMs: 120_000 });
  try {
    await ex.request({ verb: "put", path: COUNTER, key: null, body: TABLE });
    const latencies: number[] = [];
    const refusedAfter: number[] = [];
    const firstFailures: string[] = [];
    let timedOut = 0;
    let failed = 0;
    const one = async (): Promise<void> => {
      const t0 = performance.now();
      try {
        const s = await ex.session();
        try {
          const row = (await s.request({ verb: "get", path: COUNTER, key: ["c"] })) as [string, number];
          await s.request({ verb: "put", path: COUNTER, key: ["c"], body: [row[1] + 1] });
        } catch (e) {
          await s.rollback().catch(() => undefined);
          throw e;
        }
        await s.commit();
        latencies.push(performance.now() - t0);
      } catch (e) {
        if (e instanceof TcError && e.kind === "temporarily_unavailable") refusedAfter.push(performance.now() - t0);
        else if (e instanceof TcError && e.kind === "request_timeout") timedOut++;
        else {
          failed++;
          if (firstFailures.length < 3) firstFailures.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
        }
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: sessions }, one));
    const wallMs = performance.now() - started;
    const row = (await ex.request({ verb: "get", path: COUNTER, key: ["c"] })) as [string, number];
    latencies.sort((a, b) => a - b);
    refusedAfter.sort((a, b) => a - b);
    return {
      sessions,
      committed: latencies.length,
      refused: refusedAfter.length,
      timedOut,
      failed,
      firstFailures,
      finalCounter: row[1],
      latencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: percentile(latencies, 1) },
      refusedAfterMs: { p50: percentile(refusedAfter, 0.5), max: percentile(refusedAfter, 1) },
      wallMs: Math.round(wallMs),
    };
  } finally {
    await ex.close();
    await srv.stop();
  }
}

/** Begins `idle` sessions that never send a request, then times one plain GET (median of 3 tries). */
export async function idleReadTest(idle: number, serveOptions: ServeOptions = {}): Promise<IdleReadSummary> {
  const srv = await startHost(serveOptions);
  const ex = http(srv.url, { timeoutMs: 120_000 });
  try {
    await ex.request({ verb: "put", path: COUNTER, key: null, body: TABLE });
    const tries: number[] = [];
    for (let t = 0; t < 3; t++) {
      // Each begin waits for the lock; the ones after the first queue up, then the read behind them.
      const begun = Array.from({ length: idle }, () => ex.session().catch(() => undefined));
      await begun[0];
      // Let the other begins reach the server (each opens its own connection) before the read.
      await new Promise((r) => setTimeout(r, 100));
      const t0 = performance.now();
      await ex.request({ verb: "get", path: COUNTER, key: ["c"] });
      tries.push(+(performance.now() - t0).toFixed(1));
      // Sessions left idle: end the ones still open (those rolled back already answer an error).
      for (const s of await Promise.all(begun)) await s?.rollback().catch(() => undefined);
    }
    return { idleSessions: idle, readMs: [...tries].sort((a, b) => a - b)[1]!, tries };
  } finally {
    await ex.close();
    await srv.stop();
  }
}

/** The `npm run bench` module: one row per test, the figures in the notes. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const sessions = Number(process.env.BENCH_SESSIONS ?? (ctx.quick ? 200 : 1000));
  ctx.progress(`sessions: ${sessions} concurrent read-modify-write sessions…`);
  const mib = (): string => (process.memoryUsage().rss / 2 ** 20).toFixed(0);
  const rssBefore = mib();
  const inc = await incrementTest(sessions);
  const rssAfter = mib();
  const ok = inc.finalCounter === inc.committed && inc.failed === 0;
  const incFigure: Measurement = {
    kind: "time",
    ms: inc.latencyMs.p50,
    samples: inc.committed,
    batch: 1,
    note:
      `${ok ? "PASS" : "FAIL"}: p50 ${inc.latencyMs.p50} ms, p99 ${inc.latencyMs.p99} ms, max ${inc.latencyMs.max} ms; ` +
      `${inc.committed} committed, ${inc.refused} refused (503), ${inc.timedOut} timed out (408), ${inc.failed} failed; ` +
      `counter ${inc.finalCounter}; wall ${inc.wallMs} ms; ` +
      `resident memory ${rssBefore} → ${rssAfter} MiB (the server's worker and the clients share this process)`,
  };
  ctx.progress("sessions: a plain read behind 5 idle sessions…");
  const idle = await idleReadTest(5);
  const idleFigure: Measurement = { kind: "time", ms: idle.readMs, samples: 3, batch: 1, note: `tries ${idle.tries.join(", ")} ms` };
  return [
    { section: "sessions", case: `${sessions} concurrent sessions: begin, GET, PUT +1, commit`, oursLabel: "serve() + http()", ours: incFigure, baselines: [] },
    { section: "sessions", case: "plain GET behind 5 idle sessions", oursLabel: "serve() + http()", ours: idleFigure, baselines: [] },
  ];
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === "sessions-host") {
  hostMain((workerData as { opts: ServeOptions }).opts).catch((e: unknown) => {
    parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) });
  });
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sessions = Number(process.argv[2] ?? 1000);
  const idle = Number(process.argv[3] ?? 5);
  const opts = JSON.parse(process.env.BENCH_SESSIONS_SERVE ?? "{}") as ServeOptions;
  (async () => {
    const inc = sessions > 0 ? await incrementTest(sessions, opts) : undefined;
    if (inc) process.stdout.write(`${JSON.stringify({ increment: inc }, null, 2)}\n`);
    const reads = idle > 0 ? await idleReadTest(idle, opts) : undefined;
    if (reads) process.stdout.write(`${JSON.stringify({ idleReads: reads }, null, 2)}\n`);
    process.exit(!inc || (inc.finalCounter === inc.committed && inc.failed === 0) ? 0 : 1);
  })().catch((e: unknown) => {
    process.stderr.write(`sessions bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
