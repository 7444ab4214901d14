/**
 * HTTP benchmarks (issue 6), same process, measured interleaved:
 *
 *   prepared point select   `http()` executor → `serve()`d kernel: POST /lib/…/0.0.0-q<hash>/op {id}
 *   plain GET point select  `http()` executor → GET /state/<ns>/users?key=[id]
 *   baseline                a bare undici GET to a trivial `node:http` server that answers the same
 *                           bytes (the row's JSON), body read and parsed like ours
 *
 * Target: prepared point select ≤ 1.5× the bare GET. Only the users table is loaded (point
 * selects touch nothing else).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool } from "undici";
import { Kernel } from "../src/client/embedded/index.js";
import { http, serve } from "../src/client/http/index.js";
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

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const d = ctx.data;
  ctx.progress(`http: loading ${d.userCount} users into a served kernel…`);
  const kernel = await Kernel.open({});
  const srv = await serve({ kernel, closeKernel: true });
  const ex = http(srv.url, { connections: 4 });
  const rows: Json[] = new Array(d.userCount);
  for (let i = 0; i < d.userCount; i++) rows[i] = [i, userName(i), CITIES[d.userCity[i]!]!, d.userAge[i]!];
  await kernel.request({ verb: "put", path: USERS, key: null, body: { "/state/collection/table": [SCHEMA, []] } });
  const CHUNK = 10_000;
  for (let i = 0; i < rows.length; i += CHUNK) {
    await kernel.request({ verb: "put", path: `${USERS}/insert_rows`, key: null, body: rows.slice(i, i + CHUNK) });
  }

  // The baseline: the same bytes a point select answers, from a server doing nothing else.
  const ids = ctx.sampleUserIds;
  const pick = (i: number): number => ids[i % ids.length]!;
  const sample = JSON.stringify(await ex.execute(POINT_OP, { id: pick(0) }));
  const bare = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(sample) });
      res.end(sample);
    });
  });
  await new Promise<void>((r) => bare.listen(0, "127.0.0.1", r));
  const pool = new Pool(`http://127.0.0.1:${(bare.address() as AddressInfo).port}`, { connections: 4 });

  const out: BenchRow[] = [];
  try {
    // Sanity: both sides answer the same row for the same id.
    const check = await ex.request({ verb: "get", path: USERS, key: [pick(1)] });
    const viaOp = await ex.execute(POINT_OP, { id: pick(1) });
    const same = JSON.stringify(check) === JSON.stringify(viaOp);

    ctx.progress("http: prepared point select vs bare undici GET (interleaved)…");
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
    };
    // More, longer samples than the default: round trips on a shared machine are noisy.
    const m = await measureGroup(contenders, { samples: ctx.quick ? 15 : 31, minBatchMs: 40, warmupMs: 500 });
    // CPU time per request (client + server + kernel all run in this process): steadier than
    // wall time when other processes compete for the cores.
    const cpu = await cpuPerOp({ prepared: contenders.prepared.fn, plainGet: contenders.plainGet.fn, bare: contenders.bare.fn }, ctx.quick ? 10 : 30);
    const cpuNote = (k: "prepared" | "plainGet"): string =>
      `CPU/op ${cpu[k].toFixed(0)} µs vs bare ${cpu.bare.toFixed(0)} µs (${(cpu[k] / cpu.bare).toFixed(2)}×)`;
    out.push({
      section: "http",
      case: "prepared point select (one round trip)",
      oursLabel: "http() executor",
      ours: annotate(m.prepared, same ? cpuNote("prepared") : `MISMATCH between op and GET results; ${cpuNote("prepared")}`),
      baselines: [{ label: "bare undici GET, trivial node:http", figure: m.bare }],
      target: "≤ 1.5×",
    });
    out.push({
      section: "http",
      case: "plain GET point select (?key=)",
      oursLabel: "http() executor",
      ours: annotate(m.plainGet, cpuNote("plainGet")),
      baselines: [{ label: "bare undici GET, trivial node:http", figure: m.bare }],
    });
  } catch (e) {
    out.push({ section: "http", case: "prepared point select (one round trip)", oursLabel: "http() executor", ours: failed(e), baselines: [] });
  } finally {
    await ex.close();
    await pool.close();
    await new Promise((r) => bare.close(r));
    await srv.close();
  }
  return out;
}
