/**
 * Long HTTP fuzz run (issue 15): N requests (default 100,000; 10,000 with BENCH_SCALE=small;
 * `FUZZ_HTTP_COUNT` overrides) against `tinychain-orm serve` running in child processes — one
 * without tokens, one with a token file — drawn from the generators of the bounded suite
 * (`tests/http/fuzz-gen.ts`): random methods, targets, headers and bodies; random ops, library
 * installs and calls, table requests; session sequences; bodies over the limit. 8 requests in
 * flight, each on its own connection.
 *
 * Reports crashes (a server process that exits; it is restarted and the run goes on), answers
 * ≥ 500, requests without a complete answer, answers with a malformed error body, the status
 * histogram, and the servers' resident memory (VmRSS before and after, VmHWM = the peak, from
 * /proc). Expected: 0 crashes, 0 answers ≥ 500, bounded RSS.
 *
 * Standalone: `FUZZ_HTTP_COUNT=20000 npx tsx bench/fuzz-http.ts` prints the summary as JSON.
 * In `npm run bench` it is the `fuzz-http` module (BENCH_SKIP=fuzz-http to skip).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import {
  chaosRequestArb,
  describeRequest,
  FUZZ_TOKENS,
  hugeBodyRequests,
  irRequestArb,
  problemWith,
  send,
  sessionPlanArb,
  setupRequests,
  withTxn,
  type FuzzRequest,
} from "../tests/http/fuzz-gen.js";
import type { BenchContext, BenchRow, Measurement } from "./harness.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** `node --import tsx`: the server is the spawned process itself, so /proc/<pid> is its memory. */
const NODE_ARGS = ["--import", "tsx"];
const CLI = join(ROOT, "src", "cli.ts");
const ADMIN = FUZZ_TOKENS.tokens[0]!.token;
const TOKENS = [ADMIN, FUZZ_TOKENS.tokens[1]!.token, FUZZ_TOKENS.tokens[2]!.token, undefined];
const IN_FLIGHT = 8;
const BODY_LIMIT = 1024 * 1024;

interface Host {
  readonly name: string;
  child: ChildProcess;
  url: string;
  rssBeforeMiB: number;
  crashes: number;
  readonly args: string[];
}

/** The run's figures. */
export interface FuzzSummary {
  requests: number;
  seconds: number;
  crashes: number;
  status5xx: number;
  noAnswer: number;
  malformedErrors: number;
  statuses: Record<string, number>;
  firstProblems: string[];
  rssMiB: Record<string, { before: number; after: number; max: number }>;
}

function procMiB(pid: number | undefined, field: "VmRSS" | "VmHWM"): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function startHost(name: string, args: string[]): Promise<Host> {
  const child = spawn(process.execPath, [...NODE_ARGS, CLI, "serve", "--port", "0", "--quiet", "--txn-budget-ms", "150", "--body-limit", String(BODY_LIMIT), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: ROOT,
  });
  let out = "";
  let err = "";
  child.stderr!.on("data", (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no URL printed; stderr: ${err}`)), 60_000);
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ name, child, url: m[1]!, rssBeforeMiB: procMiB(child.pid, "VmRSS"), crashes: 0, args });
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before listening: ${err}`));
    });
  });
}

/** Runs the fuzz against fresh servers and returns the summary. */
export async function fuzzHttp(count: number, progress: (m: string) => void, seed = 15_015): Promise<FuzzSummary> {
  const dir = mkdtempSync(join(tmpdir(), "tc-fuzz-http-"));
  const tokenFile = join(dir, "tokens.json");
  writeFileSync(tokenFile, JSON.stringify(FUZZ_TOKENS));
  const hosts = [await startHost("open", []), await startHost("guarded", ["--token-file", tokenFile])];
  const summary: FuzzSummary = {
    requests: 0,
    seconds: 0,
    crashes: 0,
    status5xx: 0,
    noAnswer: 0,
    malformedErrors: 0,
    statuses: {},
    firstProblems: [],
    rssMiB: {},
  };
  const problem = (what: string): void => {
    if (summary.firstProblems.length < 20) {
      summary.firstProblems.push(what);
      progress(`fuzz-http: ${what}`);
    }
  };
  for (const h of hosts) {
    h.child.on("exit", (code, signal) => {
      h.crashes++;
      summary.crashes++;
      problem(`${h.name} server exited (${code ?? signal})`);
    });
  }
  const ensureAlive = async (h: Host): Promise<void> => {
    if (h.child.exitCode === null && h.child.signalCode === null) return;
    const fresh = await startHost(h.name, h.args);
    fresh.child.on("exit", (code, signal) => {
      h.crashes++;
      summary.crashes++;
      problem(`${h.name} server exited (${code ?? signal})`);
    });
    h.child = fresh.child;
    h.url = fresh.url;
  };
  const setup = async (): Promise<void> => {
    for (const r of setupRequests()) {
      await send(hosts[0]!.url, r);
      await send(hosts[1]!.url, r, ADMIN);
    }
  };
  const one = async (h: Host, r: FuzzRequest, token?: string): Promise<{ status: number; txn?: string; owner?: string }> => {
    summary.requests++;
    const a = await send(h.url, r, token);
    summary.statuses[a.status] = (summary.statuses[a.status] ?? 0) + 1;
    const p = problemWith(a, r.method);
    if (p !== undefined) {
      if (a.status === 0) summary.noAnswer++;
      else if (a.status >= 500) summary.status5xx++;
      else summary.malformedErrors++;
      problem(`${h.name}: ${p}\n    request: ${describeRequest(r)}${token ? " (with a token)" : ""}`);
    }
    const owner = a.headers["x-tc-bearer-token"];
    return { status: a.status, ...(a.headers["x-tc-txn-id"] !== undefined ? { txn: a.headers["x-tc-txn-id"] } : {}), ...(owner !== undefined ? { owner } : {}) };
  };

  const started = performance.now();
  const mix = fc.oneof(
    { weight: 45, arbitrary: chaosRequestArb.map((r) => ({ kind: "one" as const, r })) },
    { weight: 45, arbitrary: irRequestArb.map((r) => ({ kind: "one" as const, r })) },
    { weight: 8, arbitrary: sessionPlanArb.map((plan) => ({ kind: "session" as const, plan })) },
  );
  try {
    await setup();
    let chunk = 0;
    let lastReport = performance.now();
    while (summary.requests < count) {
      for (const h of hosts) await ensureAlive(h);
      if (chunk % 10 === 0) await setup();
      const items = fc.sample(mix, { seed: seed + chunk, numRuns: 400 });
      if (chunk % 25 === 0) for (const r of hugeBodyRequests(BODY_LIMIT)) items.push({ kind: "one", r });
      chunk++;
      let next = 0;
      const worker = async (w: number): Promise<void> => {
        while (next < items.length && summary.requests < count) {
          const i = next++;
          const item = items[i]!;
          const h = hosts[(i + w) % 2]!;
          const token = h.name === "guarded" ? TOKENS[i % TOKENS.length] : undefined;
          if (item.kind === "one") {
            await one(h, item.r, token);
            continue;
          }
          // A held transaction begins with a read; it continues with the caller's token, or the host's owner token.
          const begun = await one(h, { method: "GET", path: "/lib", headers: [["x-tc-txn", "hold"]], note: "begin" }, token);
          if (begun.txn === undefined || begun.status !== 200) continue;
          const own = token ?? begun.owner;
          for (const step of item.plan.steps) await one(h, withTxn(step.req, step.forged ? "forged-session-id-0" : begun.txn), own);
          if (item.plan.end === "abandon") continue;
          const finish = { method: item.plan.end === "rollback" ? "DELETE" : "POST", path: `${item.plan.endPath}?txn_id=${begun.txn}`, headers: [], note: item.plan.end };
          await one(h, finish, own);
          if (item.plan.end === "commit-twice") await one(h, finish, own);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
      for (const h of hosts) {
        const health = await send(h.url, { method: "GET", path: "/healthz", headers: [], note: "health" });
        if (health.status !== 200) problem(`${h.name}: /healthz answered ${health.status || health.closed}`);
      }
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        const rss = hosts.map((h) => `${h.name} ${procMiB(h.child.pid, "VmRSS")} MiB`).join(", ");
        progress(`fuzz-http: ${summary.requests}/${count} requests, ${summary.crashes} crashes, ${summary.status5xx} ≥ 500; RSS ${rss}`);
      }
    }
  } finally {
    summary.seconds = Math.round((performance.now() - started) / 1000);
    for (const h of hosts) {
      summary.rssMiB[h.name] = { before: h.rssBeforeMiB, after: procMiB(h.child.pid, "VmRSS"), max: procMiB(h.child.pid, "VmHWM") };
      h.child.removeAllListeners("exit");
      h.child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return summary;
}

function passed(s: FuzzSummary): boolean {
  return s.crashes === 0 && s.status5xx === 0 && s.noAnswer === 0 && s.malformedErrors === 0;
}

/** The `npm run bench` module: one row, the summary in its note. */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const count = Number(process.env.FUZZ_HTTP_COUNT ?? (ctx.quick ? 10_000 : 100_000));
  ctx.progress(`fuzz-http: ${count} requests…`);
  const s = await fuzzHttp(count, ctx.progress);
  const rss = Object.entries(s.rssMiB).map(([n, r]) => `${n} ${r.before}→${r.after} (max ${r.max})`).join(", ");
  const ours: Measurement = {
    kind: "time",
    ms: (s.seconds * 1000) / Math.max(1, s.requests),
    samples: 1,
    batch: s.requests,
    note:
      `${passed(s) ? "PASS" : "FAIL"}: ${s.requests} requests, ${s.crashes} crashes, ${s.status5xx} answers ≥ 500, ` +
      `${s.noAnswer} without an answer, ${s.malformedErrors} malformed error bodies; RSS MiB ${rss}` +
      (s.firstProblems.length ? `; first: ${s.firstProblems[0]!.slice(0, 200)}` : ""),
  };
  return [{ section: "fuzz-http", case: `${s.requests} fuzzed requests, 2 servers (with and without tokens)`, oursLabel: "tinychain-orm serve", ours, baselines: [] }];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const count = Number(process.env.FUZZ_HTTP_COUNT ?? 100_000);
  fuzzHttp(count, (m) => process.stderr.write(`${m}\n`), Number(process.env.FUZZ_SEED ?? 15_015))
    .then((s) => {
      process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      process.exit(passed(s) ? 0 : 1);
    })
    .catch((e: unknown) => {
      process.stderr.write(`fuzz-http failed: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    });
}
