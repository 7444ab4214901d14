/**
 * HTTP benchmarks (issue 6), same run, measured interleaved:
 *
 *   prepared point select   `http()` executor → `serve()`d kernel: POST /lib/…/0.0.0-q<hash>/op {id}
 *   plain GET point select  `http()` executor → GET /state/<ns>/users?key=[id]
 *   baseline                a bare undici GET to a trivial `node:http` server that answers the same
 *                           bytes (the row's JSON), body read and parsed like ours
 *
 * The baseline uses undici's everyday API (`pool.request()` + `body.text()`). Our client talks to
 * the same undici pool through `dispatch` with a handler that collects the body directly (no
 * response stream per call), so a second baseline does the same (`dispatch` + a collecting
 * handler + `JSON.parse`): the ratio against it is what our server and protocol cost on top of
 * the leanest possible GET.
 *
 * Two layouts: both servers in worker threads (their own event loop and heap, as a remote host
 * has — the headline figure), and everything on the benchmark's own thread (client, server and
 * a 100k-row kernel share one heap and one event loop). Each row also reports CPU time per
 * request (all threads of the process), which is steadier than wall time on a shared machine.
 * Target: prepared point select ≤ 1.5× the bare GET. Only the users table is loaded.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startWorkerHost, type WorkerHost } from "./worker-host.js";
import { Pool } from "undici";
import { Kernel } from "../src/kernel/index.js";
import { http, serve } from "../src/http/index.js";
import type { Executor } from "../src/executor.js";
import type { Json } from "../src/ir/types.js";
import { CITIES, userName } from "./dataset.js";
import { annotate, failed, measureGroup, type BenchContext, type BenchRow } from "./harness.js";

const NS = "bench_http";
const STR = "/state/scalar/value/string";
const U64 = "/state/scalar/value/number/uint/64";
const U32 = "/state/scalar/value/number/uint/32";
const USERS = `/state/${NS}/users`;
const SCHEMA: Json = [[[["id", U64]], [["name", STR, 64], ["city", STR, 32], ["age", U32]]], [["by_city", ["city"]]]];
const POINT_OP: Json = { "/state/scalar/op/post": [["row", { [USERS]: [[{ $id: [] }]] }]] };
const BASELINE = "bare undici GET, trivial node:http";
const LEAN_BASELINE = "bare undici dispatch GET (collecting handler), trivial node:http";

/**
 * The leanest bare GET undici offers: `dispatch` with a handler that collects the body chunks
 * (the same technique our client uses), then `JSON.parse`. The everyday baseline above uses
 * `pool.request()` + `body.text()`; both are reported so neither side is flattered.
 */
function dispatchGet(pool: Pool, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    pool.dispatch(
      { method: "GET", path },
      {
        onRequestStart() {},
        onResponseStart() {},
        onResponseData(_controller: unknown, chunk: Buffer) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          try {
            resolve(JSON.parse(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8")));
          } catch (e) {
            reject(e);
          }
        },
        onResponseError(_controller: unknown, err: Error) {
          reject(err);
        },
      } as unknown as Parameters<Pool["dispatch"]>[1],
    );
  });
}

/** Median CPU microseconds per call of each function, measured in interleaved rounds of 100 calls. */
async function cpuPerOp<K extends string>(fns: Record<K, (i: number) => Promise<unknown>>, rounds: number): Promise<Record<K, number>> {
  const samples = {} as Record<K, number[]>;
  let i = 0;
  for (let r = 0; r < rounds; r++) {
    for (const k of Object.keys(fns) as K[]) {
      const c0 = process.cpuUsage();
      for (let n = 0; n < 100; n++) await fns[k](i++);
      const d = process.cpuUsage(c0);
      (samples[k] ??= []).push((d.user + d.system) / 100);
    }
  }
  const out = {} as Record<K, number>;
  for (const k of Object.keys(fns) as K[]) {
    const v = samples[k].sort((a, b) => a - b);
    out[k] = v[v.length >> 1]!;
  }
  return out;
}

/** A server running in a worker thread (bench/http-host.ts). */
function startWorker(data: unknown): Promise<WorkerHost> {
  return startWorkerHost(new URL("./http-host.ts", import.meta.url).href, data, "http host");
}

/** Measures one layout: the executor against its host, and a bare pool against the bare server. */
async function measureLayout(ctx: BenchContext, layout: string, ex: Executor, bareUrl: string, pick: (i: number) => number): Promise<BenchRow[]> {
  const pool = new Pool(bareUrl, { connections: 4 });
  try {
    const viaGet = await ex.request({ verb: "get", path: USERS, key: [pick(1)] });
    const viaOp = await ex.execute(POINT_OP, { id: pick(1) });
    const same = JSON.stringify(viaGet) === JSON.stringify(viaOp) && viaOp !== null;
    const contenders = {
      prepared: { fn: (i: number) => ex.execute(POINT_OP, { id: pick(i) }), async: true },
      plainGet: { fn: (i: number) => ex.request({ verb: "get", path: USERS, key: [pick(i)] }), async: true },
      bare: {
        fn: async (i: number) => {
          const r = await pool.request({ method: "GET", path: `/state/x/users?key=${encodeURIComponent(JSON.stringify([pick(i)]))}` });
          return JSON.parse(await r.body.text()) as unknown;
        },
        async: true,
      },
      bareDispatch: {
        fn: (i: number) => dispatchGet(pool, `/state/x/users?key=${encodeURIComponent(JSON.stringify([pick(i)]))}`),
        async: true,
      },
    };
    ctx.progress(`http (${layout}): prepared point select vs bare undici GET (interleaved)…`);
    // More, longer samples than the default: round trips on a shared machine are noisy.
    const m = await measureGroup(contenders, { samples: ctx.quick ? 15 : 31, minBatchMs: 40, warmupMs: 500 });
    const cpu = await cpuPerOp({ prepared: contenders.prepared.fn, plainGet: contenders.plainGet.fn, bare: contenders.bare.fn }, ctx.quick ? 10 : 30);
    const cpuNote = (k: "prepared" | "plainGet"): string =>
      `CPU/op ${cpu[k].toFixed(0)} µs vs bare ${cpu.bare.toFixed(0)} µs (${(cpu[k] / cpu.bare).toFixed(2)}×)`;
    return [
      {
        section: "http",
        case: `prepared point select, one round trip (${layout})`,
        oursLabel: "http() executor",
        ours: annotate(m.prepared, same ? cpuNote("prepared") : `MISMATCH between op and GET results; ${cpuNote("prepared")}`),
        baselines: [{ label: BASELINE, figure: m.bare }, { label: LEAN_BASELINE, figure: m.bareDispatch }],
        target: "≤ 1.5×",
      },
      {
        section: "http",
        case: `plain GET point select, ?key= (${layout})`,
        oursLabel: "http() executor",
        ours: annotate(m.plainGet, cpuNote("plainGet")),
        baselines: [{ label: BASELINE, figure: m.bare }, { label: LEAN_BASELINE, figure: m.bareDispatch }],
      },
    ];
  } finally {
    await pool.close();
  }
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const d = ctx.data;
  const rows: Json[] = new Array(d.userCount);
  for (let i = 0; i < d.userCount; i++) rows[i] = [i, userName(i), CITIES[d.userCity[i]!]!, d.userAge[i]!];
  const ids = ctx.sampleUserIds;
  const pick = (i: number): number => ids[i % ids.length]!;
  const out: BenchRow[] = [];

  // 1. Servers in worker threads.
  try {
    ctx.progress(`http: loading ${d.userCount} users into a kernel served from a worker thread…`);
    const host = await startWorker({ kind: "kernel", schema: SCHEMA, rows, path: USERS });
    const ex = http(host.url, { connections: 4 });
    try {
      const answer = JSON.stringify(await ex.execute(POINT_OP, { id: pick(0) }));
      const bare = await startWorker({ kind: "bare", answer });
      try {
        out.push(...(await measureLayout(ctx, "servers in worker threads", ex, bare.url, pick)));
      } finally {
        await bare.stop();
      }
    } finally {
      await ex.close();
      await host.stop();
    }
  } catch (e) {
    out.push({ section: "http", case: "prepared point select, one round trip (servers in worker threads)", oursLabel: "http() executor", ours: failed(e), baselines: [] });
  }

  // 2. Everything on this thread.
  try {
    ctx.progress(`http: loading ${d.userCount} users into a kernel served on this thread…`);
    const kernel = await Kernel.open({});
    await kernel.request({ verb: "put", path: USERS, key: null, body: { "/state/collection/table": [SCHEMA, []] } });
    for (let i = 0; i < rows.length; i += 10_000) {
      await kernel.request({ verb: "put", path: `${USERS}/insert_rows`, key: null, body: rows.slice(i, i + 10_000) });
    }
    const srv = await serve({ kernel, closeKernel: true });
    const ex = http(srv.url, { connections: 4 });
    const answer = JSON.stringify(await ex.execute(POINT_OP, { id: pick(0) }));
    const bare = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) });
        res.end(answer);
      });
    });
    await new Promise<void>((r) => bare.listen(0, "127.0.0.1", r));
    try {
      out.push(...(await measureLayout(ctx, "one thread", ex, `http://127.0.0.1:${(bare.address() as AddressInfo).port}`, pick)));
    } finally {
      await ex.close();
      await new Promise((r) => bare.close(r));
      await srv.close();
    }
  } catch (e) {
    out.push({ section: "http", case: "prepared point select, one round trip (one thread)", oursLabel: "http() executor", ours: failed(e), baselines: [] });
  }
  return out;
}
