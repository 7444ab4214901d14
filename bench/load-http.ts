/**
 * Bounded loopback load test of the HTTP server + client (issue 6).
 *
 * A durable kernel is served on 127.0.0.1; W workers (default 32, each with its own pooled
 * connection budget) run a mix for D seconds (default 30; 8 with BENCH_SCALE=small):
 *   45 %  session: read my counter, write counter+1, insert a log row, commit
 *   10 %  session: write a bogus counter value, then roll back
 *   45 %  prepared op (no session): read my counter — must equal my committed count exactly
 * Only worker w writes counter w, so every read is checkable. At the end every counter and the
 * log row count are read back and compared with the acknowledged commits (no lost writes, no
 * rolled-back write visible). RSS is sampled every second; "memory stable" compares the mean RSS
 * of the last third of the run with the middle third.
 *
 * Standalone: `npx tsx bench/load-http.ts [seconds] [workers]` prints the summary as JSON.
 * In `npm run bench` it is the `load-http` module (BENCH_SKIP=load-http to skip).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { http, serve } from "../src/http/index.js";
import type { Executor } from "../src/executor.js";
import type { Json } from "../src/ir/types.js";
import type { BenchContext, BenchRow, Measurement } from "./harness.js";

const NS = "load";
const COUNTERS = `/state/${NS}/counters`;
const LOG = `/state/${NS}/log`;
const U32 = "/state/scalar/value/number/uint/32";
const I64 = "/state/scalar/value/number/int/64";
const STR = "/state/scalar/value/string";
const READ_COUNTER: Json = { "/state/scalar/op/post": [["row", { [COUNTERS]: [[{ $w: [] }]] }]] };
const LOG_COUNT: Json = { "/state/scalar/op/post": [["n", { [`${LOG}/count`]: [null] }]] };

export interface LoadSummary {
  seconds: number;
  workers: number;
  operations: number;
  opsPerSecond: number;
  commits: number;
  rollbacks: number;
  reads: number;
  errors: number;
  firstErrors: string[];
  staleReads: number;
  lostWrites: number;
  logRowsExpected: number;
  logRowsFound: number;
  latencyMs: { p50: number; p99: number; max: number };
  rssMiB: { start: number; middle: number; end: number; max: number };
  memoryStable: boolean;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** Runs the load test and returns its summary. */
export async function loadTest(opts: { seconds: number; workers: number; dataDir: string; progress?: (m: string) => void }): Promise<LoadSummary> {
  const { seconds, workers } = opts;
  const srv = await serve({ dataDir: opts.dataDir });
  const ex: Executor = http(srv.url, { connections: workers, timeoutMs: 15_000 });
  const schema = (key: Json, values: Json): Json => ({ "/state/collection/table": [[[key, values], []], []] });
  await ex.request({ verb: "put", path: COUNTERS, key: null, body: schema([["w", U32]], [["n", I64]]) });
  await ex.request({ verb: "put", path: LOG, key: null, body: schema([["w", U32], ["seq", U32]], [["note", STR, 32]]) });
  for (let w = 0; w < workers; w++) await ex.request({ verb: "put", path: COUNTERS, key: [w], body: [0] });

  const committed = new Array<number>(workers).fill(0);
  const latencies: number[] = [];
  const firstErrors: string[] = [];
  let errors = 0;
  let staleReads = 0;
  let commits = 0;
  let rollbacks = 0;
  let reads = 0;
  const rss: number[] = [];
  const sampler = setInterval(() => rss.push(process.memoryUsage().rss / 2 ** 20), 1000);
  const startRss = process.memoryUsage().rss / 2 ** 20;
  const deadline = performance.now() + seconds * 1000;
  let rng = 12345;
  const random = (): number => {
    rng = (rng * 1103515245 + 12345) & 0x7fffffff;
    return rng / 0x7fffffff;
  };

  const worker = async (w: number): Promise<void> => {
    while (performance.now() < deadline) {
      const dice = random();
      const t0 = performance.now();
      try {
        if (dice < 0.45) {
          const s = await ex.session();
          const row = (await s.request({ verb: "get", path: COUNTERS, key: [w] })) as [number, number];
          const next = row[1] + 1;
          await s.request({ verb: "put", path: COUNTERS, key: [w], body: [next] });
          await s.request({ verb: "put", path: `${LOG}/insert`, key: [w, next], body: [`w${w}-${next}`] });
          await s.commit();
          committed[w] = next;
          commits++;
        } else if (dice < 0.55) {
          const s = await ex.session();
          await s.request({ verb: "put", path: COUNTERS, key: [w], body: [-1] });
          await s.rollback();
          rollbacks++;
        } else {
          const row = (await ex.execute(READ_COUNTER, { w })) as [number, number];
          if (row[1] !== committed[w]) staleReads++;
          reads++;
        }
        latencies.push(performance.now() - t0);
      } catch (e) {
        errors++;
        if (firstErrors.length < 5) firstErrors.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
      }
    }
  };
  const progressTimer = setInterval(() => opts.progress?.(`load-http: ${commits} commits, ${reads} reads, ${errors} errors…`), 5000);
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  clearInterval(progressTimer);
  clearInterval(sampler);

  // Read back: every acknowledged commit is there, no rolled-back write is.
  let lostWrites = 0;
  for (let w = 0; w < workers; w++) {
    const row = (await ex.request({ verb: "get", path: COUNTERS, key: [w] })) as [number, number];
    if (row[1] !== committed[w]) lostWrites++;
  }
  const logRowsExpected = committed.reduce((a, b) => a + b, 0);
  const logRowsFound = (await ex.execute(LOG_COUNT)) as number;
  await ex.close();
  await srv.close();

  latencies.sort((a, b) => a - b);
  const third = Math.max(1, Math.floor(rss.length / 3));
  const middle = mean(rss.slice(third, 2 * third));
  const end = mean(rss.slice(rss.length - third));
  const operations = commits + rollbacks + reads;
  return {
    seconds,
    workers,
    operations,
    opsPerSecond: Math.round(operations / seconds),
    commits,
    rollbacks,
    reads,
    errors,
    firstErrors,
    staleReads,
    lostWrites,
    logRowsExpected,
    logRowsFound,
    latencyMs: { p50: +percentile(latencies, 0.5).toFixed(2), p99: +percentile(latencies, 0.99).toFixed(2), max: +(latencies.at(-1) ?? 0).toFixed(2) },
    rssMiB: { start: Math.round(startRss), middle: Math.round(middle), end: Math.round(end), max: Math.round(Math.max(startRss, ...rss)) },
    // Stable: the last third grows less than 20 % (and 64 MiB) over the middle third.
    memoryStable: end <= middle * 1.2 || end - middle < 64,
  };
}

/** The `npm run bench` module: one row with the summary in its note. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const seconds = Number(process.env.LOAD_HTTP_SECONDS ?? (ctx.quick ? 8 : 30));
  const workers = Number(process.env.LOAD_HTTP_WORKERS ?? 32);
  ctx.progress(`load-http: ${seconds} s, ${workers} concurrent connections…`);
  const s = await loadTest({ seconds, workers, dataDir: ctx.tmpDir("load-http"), progress: ctx.progress });
  const ok = s.errors === 0 && s.lostWrites === 0 && s.staleReads === 0 && s.logRowsFound === s.logRowsExpected && s.memoryStable;
  const ours: Measurement = {
    kind: "time",
    ms: (seconds * 1000) / Math.max(1, s.operations),
    samples: 1,
    batch: s.operations,
    note:
      `${ok ? "PASS" : "FAIL"}: ${s.operations} ops (${s.commits} commits, ${s.rollbacks} rollbacks, ${s.reads} reads), ` +
      `${s.errors} errors${s.firstErrors.length ? ` (${s.firstErrors[0]})` : ""}, ${s.lostWrites} lost writes, ${s.staleReads} stale reads, ` +
      `log rows ${s.logRowsFound}/${s.logRowsExpected}; latency p50 ${s.latencyMs.p50} ms p99 ${s.latencyMs.p99} ms; ` +
      `RSS MiB start ${s.rssMiB.start} middle ${s.rssMiB.middle} end ${s.rssMiB.end} max ${s.rssMiB.max} (${s.memoryStable ? "stable" : "GROWING"})`,
  };
  return [{ section: "load-http", case: `${seconds} s × ${workers} connections, mixed sessions (durable)`, oursLabel: "serve() + http()", ours, baselines: [] }];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const seconds = Number(process.argv[2] ?? 30);
  const workers = Number(process.argv[3] ?? 32);
  const dir = mkdtempSync(join(tmpdir(), "tc-load-http-"));
  loadTest({ seconds, workers, dataDir: dir, progress: (m) => process.stderr.write(`${m}\n`) })
    .then((s) => {
      process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      rmSync(dir, { recursive: true, force: true });
      const ok = s.errors === 0 && s.lostWrites === 0 && s.staleReads === 0 && s.logRowsFound === s.logRowsExpected;
      process.exit(ok ? 0 : 1);
    })
    .catch((e: unknown) => {
      process.stderr.write(`load-http failed: ${e instanceof Error ? e.stack : String(e)}\n`);
      rmSync(dir, { recursive: true, force: true });
      process.exit(1);
    });
}
