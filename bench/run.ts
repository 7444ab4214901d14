/**
 * `npm run bench` — side-by-side benchmarks in one process, same data, ratios printed.
 *
 *   BENCH_SCALE=small   10k users (quick run); default "full" = 100k users / 1M follows / 300k posts
 *   BENCH_ONLY=kernel,graph   run only these modules (file names without .ts)
 *   BENCH_SKIP=load-http      skip these modules
 *   BENCH_OUT=path.md         also write the markdown report to a file
 *
 * Every module under bench/ listed in MODULES that exists is imported and its
 * `run(ctx): Promise<BenchRow[]>` called (convention: bench/README.md). A module that is missing,
 * fails to import, or throws becomes a "n/a" row — this script never fails because of one.
 * Progress goes to stderr; the report (markdown) to stdout.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, cpus, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generate, sampleUserIds, SCALE_USERS, type DatasetScale } from "./dataset.js";
import { loadSqlite, openSqlite, type SqliteDb } from "./baselines/sqlite.js";
import { annotate, failed, notBuilt, renderMarkdown, setQuick, type BenchContext, type BenchRow } from "./harness.js";

/** Bench modules in run order. */
const MODULES: readonly { file: string; section: string }[] = [
  { file: "kernel", section: "kernel" },
  { file: "storage", section: "storage" },
  { file: "orm", section: "orm" },
  { file: "query", section: "query" },
  { file: "graph", section: "graph" },
  { file: "ir-codec", section: "ir" },
  { file: "http", section: "http" },
  { file: "load-http", section: "load-http" },
  { file: "fuzz-http", section: "fuzz-http" },
  { file: "sessions", section: "sessions" },
  { file: "migrate", section: "migrate" },
  { file: "cluster", section: "cluster" },
];

const SECTION_TITLES: Record<string, string> = {
  kernel: "Kernel vs better-sqlite3 (issue 3)",
  storage: "Storage: memory, reopen, larger-than-heap, chunked loads, range writes, graph reads under writes (issue 18)",
  orm: "ORM vs Kysely + better-sqlite3 (issue 4)",
  graph: "Graph traversals vs SQLite joins, graphology, CSR adjacency (issue 5)",
  "graph-scaling": "2-hop distinct count as the graph grows (fixed out-degree 10)",
  ir: "IR codec",
  http: "HTTP executor vs bare undici (issue 6)",
  "load-http": "HTTP load test (issue 6)",
  sessions: "Session contention over HTTP (issue 15)",
  "fuzz-http": "HTTP fuzzing of the served kernel (issue 15)",
  migrate: "Schema migrations vs SQLite ALTER TABLE / CREATE INDEX (issue 17)",
  cluster: "3-shard cluster vs one host, all on 127.0.0.1 (issue 20)",
};

function envList(name: string): Set<string> | undefined {
  const v = process.env[name];
  return v ? new Set(v.split(",").map((s) => s.trim()).filter(Boolean)) : undefined;
}

function progress(message: string): void {
  const t = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${t}s] ${message}\n`);
}

const started = performance.now();

async function main(): Promise<void> {
  const rawScale = (process.env.BENCH_SCALE ?? "full").toLowerCase();
  const scale: DatasetScale = rawScale === "small" || rawScale === "large" ? rawScale : "full";
  const quick = scale === "small";
  setQuick(quick);
  const only = envList("BENCH_ONLY");
  const skip = envList("BENCH_SKIP") ?? new Set<string>();

  progress(`scale=${scale}: generating ${SCALE_USERS[scale]} users…`);
  const data = generate({ users: SCALE_USERS[scale] });
  progress(`dataset: ${data.userCount} users, ${data.followCount} follows, ${data.postCount} posts`);

  const root = mkdtempSync(join(tmpdir(), "tc-bench-"));
  let tmpCounter = 0;
  let sharedSqlite: SqliteDb | undefined;
  const ctx: BenchContext = {
    scale,
    quick,
    data,
    sampleUserIds: sampleUserIds(data, 1000),
    tmpDir: (name) => mkdtempSync(join(root, `${name.replace(/[^a-z0-9_-]/gi, "_")}-${tmpCounter++}-`)),
    progress,
    sqliteMemory: () => {
      if (!sharedSqlite) {
        progress("loading the shared in-memory sqlite database…");
        sharedSqlite = openSqlite();
        loadSqlite(sharedSqlite, data);
      }
      return sharedSqlite;
    },
  };

  const here = fileURLToPath(new URL(".", import.meta.url));
  const rows: BenchRow[] = [];
  try {
    for (const mod of MODULES) {
      if ((only && !only.has(mod.file)) || skip.has(mod.file)) continue;
      const source = join(here, `${mod.file}.ts`);
      if (!existsSync(source)) {
        rows.push(placeholder(mod.section, `bench/${mod.file}.ts`, notBuilt()));
        continue;
      }
      progress(`── ${mod.file}`);
      // The report owns stdout: anything a module prints (e.g. a standalone script's own table)
      // goes to stderr while it is imported and run.
      const stdoutLog = console.log;
      console.log = (...args: unknown[]) => console.error(...args);
      try {
        const spec: string = `./${mod.file}.js`;
        const loaded = (await import(spec)) as { run?: (c: BenchContext) => Promise<BenchRow[]> };
        if (typeof loaded.run !== "function") {
          rows.push(placeholder(mod.section, `bench/${mod.file}.ts`, notBuilt("no exported run(ctx); its own output went to stderr")));
          continue;
        }
        const got = await loaded.run(ctx);
        // Resident memory beside every time: a row that measured its own (a child process, a
        // before/after delta) says so in its note; the others carry this process's RSS after
        // their module (ours and the baselines ran in it).
        const rss = `process RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB after bench/${mod.file}.ts (ours and baselines in one process)`;
        rows.push(...got.map((r) => (r.ours.kind === "time" && !/RSS/.test(r.ours.note ?? "") ? { ...r, ours: annotate(r.ours, rss) } : r)));
        // Print each module's table as soon as it is done, so a long run shows results early.
        process.stderr.write(`\n${renderMarkdown(got, SECTION_TITLES)}\n`);
      } catch (error) {
        progress(`${mod.file} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
        rows.push(placeholder(mod.section, `bench/${mod.file}.ts`, failed(error)));
      } finally {
        console.log = stdoutLog;
      }
    }
  } finally {
    sharedSqlite?.close();
    rmSync(root, { recursive: true, force: true });
  }

  const header = [
    `# tinychain-orm benchmarks`,
    ``,
    `Scale: **${scale}** — ${data.userCount} users, ${data.followCount} follows, ${data.postCount} posts ` +
      `(deterministic, seed ${data.spec.seed}). Node ${process.version}, ${cpus().length} CPU (${cpus()[0]?.model ?? "?"}), ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB. Run at ${new Date().toISOString()}.`,
    ``,
    `All figures are medians measured in this one process on the same data. **Ratio = time(ours) / time(baseline): < 1 means ours is faster.** ` +
      `Throughput targets ("≥ 1.0× SQLite's rate") therefore mean a time ratio ≤ 1.`,
    ``,
  ].join("\n");
  const report = `${header}\n${renderMarkdown(rows, SECTION_TITLES)}`;
  process.stdout.write(report + "\n");
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, report + "\n");
  progress(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

function placeholder(section: string, what: string, figure: ReturnType<typeof notBuilt>): BenchRow {
  return { section, case: what, oursLabel: "—", ours: figure, baselines: [] };
}

main().catch((error) => {
  // Never fail `npm run bench`: report and exit 0.
  process.stderr.write(`bench: unexpected error: ${error instanceof Error ? error.stack : String(error)}\n`);
});
