/**
 * Schema migrations (issue 17): `db.migrate()` on a table of 1M rows (100k with
 * BENCH_SCALE=small) against SQLite's own statements on the same rows.
 *
 *   add column, default   `migrate()` adding `score u32 default 0` (a schema change only: the
 *                         rows are kept, the default filled in on reads) vs SQLite
 *                         `ALTER TABLE ADD COLUMN score INTEGER NOT NULL DEFAULT 0` (the same)
 *   add index             `migrate()` adding an index on `qty` (only the index is built) vs
 *                         `CREATE INDEX`
 *   add column, backfill  `migrate()` adding `tag` with `.backfill((row) => …)` (rows read, the
 *                         values computed in JS, sent back, written over the stored rows) vs
 *                         `ALTER TABLE ADD COLUMN` + `UPDATE t SET tag = 'q' || (qty % 10)`
 *
 * Memory: embedded() vs SQLite `:memory:`; durable: embedded({ dataDir }) vs a SQLite file (WAL,
 * synchronous FULL — both durable when the call returns). Each figure is one run (a migration
 * changes the table it measures).
 *
 * Warm-up, the same for both sides: before its table is loaded, each side runs the three
 * migrations once on a separate database of the same kind (a new `embedded()` / data directory;
 * a new SQLite `:memory:` / file with the same pragmas) holding a table of `WARM_ROWS` rows, then
 * closes it. That compiles the code paths a migration takes (JIT on our side, statement parsing
 * code on SQLite's) as a long-running application's earlier migrations would; nothing of the
 * measured database (its tables, caches, pages, prepared statements) is touched by it.
 *
 * Section "foreign keys" (issue 17: insert throughput with enforced references ≥ 0.8× without):
 * inserts into `posts(author → users)` with the reference enforced vs declared with
 * `{ enforce: false }`, in batches of 1,000 rows and one row per call, memory and durable; the two
 * timed interleaved (`measureGroup`) on one database each.
 *
 * Standalone: `npx tsx bench/migrate.ts [rows]` prints the migration rows, `npx tsx
 * bench/migrate.ts fk` the foreign-key rows, one line each.
 */
import Database from "better-sqlite3";
import { join } from "node:path";
import { embedded } from "../src/kernel/index.js";
import { col, connect, schema, table } from "../src/orm/index.js";
import type { Executor } from "../src/executor.js";
import { type BenchContext, type BenchRow, type Figure, measureGroup } from "./harness.js";

const base = { id: col.u64().key(), name: col.string(16), qty: col.u32() };
const v1 = schema({ namespace: "bm", tables: { t: table("t", base) } });
const v2 = schema({ namespace: "bm", tables: { t: table("t", { ...base, score: col.u32().default(0) }) } });
const v3 = schema({ namespace: "bm", tables: { t: table("t", { ...base, score: col.u32().default(0) }).index("by_qty", ["qty"]) } });
const v4 = schema({
  namespace: "bm",
  tables: { t: table("t", { ...base, score: col.u32().default(0), tag: col.string(4).backfill((row) => `q${Number(row.qty) % 10}`) }).index("by_qty", ["qty"]) },
});

const CHUNK = 100_000;
/** Rows of the warm-up table (see the header). */
const WARM_ROWS = 1_000;

function rowAt(i: number): [number, string, number] {
  return [i, `n${i % 100_000}`, (i * 7919) % 100_000];
}

async function load(ex: Executor, n: number): Promise<void> {
  await (await connect(v1, ex)).sync();
  for (let lo = 0; lo < n; lo += CHUNK) {
    const rows = [];
    for (let i = lo; i < Math.min(n, lo + CHUNK); i++) rows.push(rowAt(i));
    await ex.request({ verb: "put", path: "/state/bm/t/insert_rows", key: null, body: rows });
  }
}

/** One run of `fn`: its time, and the resident memory it added to the process (both sides alike). */
async function timed(fn: () => Promise<unknown> | unknown, items: number, note?: string): Promise<Figure> {
  try {
    const before = process.memoryUsage().rss;
    const t0 = performance.now();
    await fn();
    const ms = performance.now() - t0;
    const after = process.memoryUsage().rss;
    const delta = (after - before) / 2 ** 20;
    // Negative when a collection during the run gave back more than the run took.
    const rss = `RSS ${delta >= 0 ? "+" : "−"}${Math.abs(delta).toFixed(0)} MB during it (process ${(after / 2 ** 20).toFixed(0)} MB)`;
    return { kind: "time", ms, samples: 1, batch: 1, items, note: note ? `${note}; ${rss}` : rss };
  } catch (e) {
    return { kind: "missing", reason: e instanceof Error ? e.message.slice(0, 200) : String(e) };
  }
}

interface Figures {
  addDefault: Figure;
  addIndex: Figure;
  backfill: Figure;
}

/** The three migrations on `ex` after loading `n` rows (one run each); closes `ex`. */
async function oursOn(ex: Executor, n: number): Promise<Figures> {
  await load(ex, n);
  const addDefault = await timed(async () => (await connect(v2, ex)).migrate(), n);
  const addIndex = await timed(async () => (await connect(v3, ex)).migrate(), n);
  const backfill = await timed(async () => (await connect(v4, ex)).migrate(), n);
  await ex.close();
  return { addDefault, addIndex, backfill };
}

/** The measured run on `make()`, after the warm-up on another database `make()` gives (see the header). */
async function ours(make: () => Executor, n: number): Promise<Figures> {
  await oursOn(make(), WARM_ROWS);
  return oursOn(make(), n);
}

async function sqliteOn(file: string | undefined, n: number): Promise<Figures> {
  const db = new Database(file ?? ":memory:");
  if (file) {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
  }
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL)");
  const ins = db.prepare("INSERT INTO t VALUES (?, ?, ?)");
  db.transaction(() => {
    for (let i = 0; i < n; i++) ins.run(...rowAt(i));
  })();
  const addDefault = await timed(() => db.exec("ALTER TABLE t ADD COLUMN score INTEGER NOT NULL DEFAULT 0"), n);
  const addIndex = await timed(() => db.exec("CREATE INDEX t_by_qty ON t(qty)"), n);
  const backfill = await timed(
    () =>
      db.transaction(() => {
        db.exec("ALTER TABLE t ADD COLUMN tag TEXT");
        db.exec("UPDATE t SET tag = 'q' || (qty % 10)");
      })(),
    n,
    "ALTER + UPDATE",
  );
  db.close();
  return { addDefault, addIndex, backfill };
}

/** SQLite's measured run, after the same warm-up on another database (`warmFile`, or in memory). */
async function sqlite(file: string | undefined, warmFile: string | undefined, n: number): Promise<Figures> {
  await sqliteOn(warmFile, WARM_ROWS);
  return sqliteOn(file, n);
}

function rows(n: number, mem: Figures, dur: Figures, sqlMem: Figures, sqlFile: Figures): BenchRow[] {
  const out: BenchRow[] = [];
  const cases: [keyof Figures, string][] = [
    ["addDefault", `add a column with a default, ${n} rows`],
    ["addIndex", `add an index, ${n} rows`],
    ["backfill", `add a column with a backfill function, ${n} rows`],
  ];
  for (const [k, label] of cases) {
    out.push({ section: "migrate", case: label, oursLabel: "tinychain (memory)", ours: mem[k], baselines: [{ label: "sqlite (memory)", figure: sqlMem[k] }], target: "≤ 2× sqlite" });
    out.push({ section: "migrate", case: label, oursLabel: "tinychain (durable)", ours: dur[k], baselines: [{ label: "sqlite (file, WAL, FULL)", figure: sqlFile[k] }], target: "≤ 2× sqlite" });
  }
  return out;
}

async function measure(n: number, dir: (name: string) => string, progress: (m: string) => void): Promise<BenchRow[]> {
  progress(`migrate: ${n} rows in memory…`);
  const mem = await ours(() => embedded(), n);
  progress("migrate: durable…");
  const dur = await ours(() => embedded({ dataDir: dir("migrate-durable") }), n);
  progress("migrate: sqlite…");
  const sqlMem = await sqlite(undefined, undefined, n);
  const sqlFile = await sqlite(join(dir("migrate-sqlite"), "t.db"), join(dir("migrate-sqlite-warm"), "t.db"), n);
  return rows(n, mem, dur, sqlMem, sqlFile);
}

const FK_USERS = 10_000;
const FK_BATCH = 1_000;

/** The two declarations of the foreign-key rows: `author` enforced, or declared only. */
function fkSchema(enforce: boolean) {
  const users = table("users", { id: col.u64().key(), name: col.string(16) });
  const posts = table("posts", {
    id: col.u64().key(),
    author: col.u64().references(() => users, { name: "author", inverse: "posts", enforce }),
    body: col.string(32),
  });
  return schema({ namespace: enforce ? "fke" : "fkn", tables: { users, posts } });
}

/** Insert throughput with the reference enforced vs `enforce: false`, on fresh databases of `make`. */
async function fkRows(engine: string, make: (name: string) => Executor): Promise<BenchRow[]> {
  const dbs = [];
  const executors: Executor[] = [];
  for (const enforce of [true, false]) {
    const ex = make(enforce ? "fk-enforced" : "fk-declared");
    executors.push(ex);
    const db = await connect(fkSchema(enforce), ex);
    await db.sync();
    await db.insertInto("users").values(Array.from({ length: FK_USERS }, (_, i) => ({ id: i, name: `u${i}` }))).execute();
    dbs.push(db);
  }
  const [enforced, declared] = [dbs[0]!, dbs[1]!];
  const post = (id: number) => ({ id, author: (id * 7919) % FK_USERS, body: `post ${id}` });
  // Each contender inserts new ids: batches from 0 up, single rows from 1e9 up.
  const batch = (i: number) => Array.from({ length: FK_BATCH }, (_, k) => post(i * FK_BATCH + k));
  const batches = await measureGroup({
    enforced: { fn: (i) => enforced.insertInto("posts").values(batch(i)).execute(), async: true, items: FK_BATCH },
    declared: { fn: (i) => declared.insertInto("posts").values(batch(i)).execute(), async: true, items: FK_BATCH },
  });
  const singles = await measureGroup({
    enforced: { fn: (i) => enforced.insertInto("posts").values(post(1e9 + i)).execute(), async: true, items: 1 },
    declared: { fn: (i) => declared.insertInto("posts").values(post(1e9 + i)).execute(), async: true, items: 1 },
  });
  for (const ex of executors) await ex.close();
  const target = "≥ 0.8× the rows/s of enforce: false (time ≤ 1.25×)";
  const row = (what: string, f: Record<"enforced" | "declared", Figure>): BenchRow => ({
    section: "foreign keys",
    case: `insert into posts(author → users), ${what}`,
    oursLabel: `enforced (${engine})`,
    ours: f.enforced,
    baselines: [{ label: `enforce: false (${engine})`, figure: f.declared }],
    target,
  });
  return [row(`batches of ${FK_BATCH} rows`, batches), row("one row per call", singles)];
}

async function measureFk(dir: (name: string) => string, progress: (m: string) => void): Promise<BenchRow[]> {
  progress("foreign keys: memory…");
  const mem = await fkRows("memory", () => embedded());
  progress("foreign keys: durable…");
  const dur = await fkRows("durable", (name) => embedded({ dataDir: dir(name) }));
  return [...mem, ...dur];
}

/** The bench module entry (bench/run.ts). */
export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const rows = await measure(ctx.quick ? 100_000 : 1_000_000, ctx.tmpDir, ctx.progress);
  return [...rows, ...(await measureFk(ctx.tmpDir, ctx.progress))];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const root = mkdtempSync(join(tmpdir(), "tc-bench-migrate-"));
  let k = 0;
  try {
    const dir = (name: string) => mkdtempSync(join(root, `${name}-${k++}-`));
    const say = (m: string) => process.stderr.write(`${m}\n`);
    const got = process.argv[2] === "fk" ? await measureFk(dir, say) : await measure(Number(process.argv[2] ?? 1_000_000), dir, say);
    for (const r of got) {
      const f = (x: Figure) =>
        x.kind === "time" ? `${x.ms < 10 ? x.ms.toPrecision(3) : x.ms.toFixed(0)} ms${x.items ? ` (${Math.round((x.items * 1000) / x.ms)} rows/s)` : ""}${x.note ? ` (${x.note})` : ""}` : `n/a (${x.reason})`;
      process.stdout.write(`${r.case} | ${r.oursLabel} ${f(r.ours)} | ${r.baselines.map((b) => `${b.label} ${f(b.figure)}`).join(" | ")}\n`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
