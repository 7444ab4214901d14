/**
 * Child process of bench/storage.ts: one measurement per process, so the resident memory it
 * reports is this process's own (RSS before, after load, after reopen + one point get; VmRSS and
 * VmHWM from /proc/self/status). Started by storage.ts as
 *   node [--max-old-space-size=N] --expose-gc --import tsx bench/storage-child.ts <mode> <json args>
 * and answers ONE line of JSON on stdout (the parent parses it; nothing else is printed there).
 *
 * Modes
 *   load    {engine, rows, dir}   create the 4-column table, insert `rows` in 10k-row chunks (each
 *                                  chunk one commit / one transaction), report load time and RSS
 *   reopen  {engine, dir}         open the store + first point get, report time and RSS
 *   buildbig {dir, targetBytes}   a durable store of rows with ~200-byte strings, grown until its
 *                                  files reach targetBytes, + a small edge table
 *   bigread {dir, rows}           (run with a small heap) open it, point get, range scan, traversal
 *   bigread-sqlite {dir, rows}    the same three reads on the SQLite copy buildbig also writes
 *
 * Engines: "ours-durable" (embedded({ dataDir })), "ours-memory" (embedded()), "sqlite"
 * (better-sqlite3 file, WAL, synchronous=FULL, prepared statements, the same secondary index).
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export type Engine = "ours-durable" | "ours-memory" | "sqlite";

/** Rows per chunk (one commit each). */
export const CHUNK = 10_000;
export const NS = "sbench";
export const TABLE = `/state/${NS}/t`;
const U64 = "/state/scalar/value/number/uint/64";
const I64 = "/state/scalar/value/number/int/64";
const F64 = "/state/scalar/value/number/float/64";
const STR = "/state/scalar/value/string";

/** The 4-column table: id (key), a (int, indexed), f (float), s (short string). */
export const T_SCHEMA = [[[["id", U64]], [["a", I64], ["f", F64], ["s", STR, 16]]], [["by_a", ["a"]]]];
export const SQLITE_T = `CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, f REAL NOT NULL, s TEXT NOT NULL);
CREATE INDEX t_by_a ON t(a);`;

/** Row i of the 4-column table (deterministic). */
export function tRow(i: number): [number, number, number, string] {
  return [i, (i * 7919) % 1_000_003, i * 0.5 + 0.25, `s${i.toString(36)}`];
}

/** Resident memory of this process, in bytes: [VmRSS, VmHWM]. */
export function rss(): { rss: number; hwm: number; anon: number; file: number } {
  const status = readFileSync("/proc/self/status", "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  // RssAnon: the heap and other private memory; RssFile: mapped file pages (lmdb's data file read
  // through its memory map), page cache the kernel can take back under memory pressure.
  return { rss: kb("VmRSS"), hwm: kb("VmHWM"), anon: kb("RssAnon"), file: kb("RssFile") };
}

/**
 * The disk space the files under a directory use, in bytes: their allocated blocks, not their
 * apparent sizes (a sparse file counts the blocks it uses).
 */
export function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) total += statSync(p).blocks * 512;
  }
  return total;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/* eslint-disable @typescript-eslint/no-explicit-any */
async function kernelModule(): Promise<any> {
  const spec: string = "../src/kernel/index.js";
  return import(spec);
}

async function sqliteModule(): Promise<any> {
  return (await import("better-sqlite3")).default;
}

function openSqliteFile(Database: any, file: string, create: boolean): any {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  if (create) db.exec(SQLITE_T);
  return db;
}

const ROW_SQL = "SELECT id, a, f, s FROM t WHERE id = ?";

async function load(args: { engine: Engine; rows: number; dir: string }): Promise<Record<string, unknown>> {
  const { engine, rows, dir } = args;
  const mod = engine === "sqlite" ? await sqliteModule() : await kernelModule();
  gc();
  const before = rss();
  const t0 = performance.now();
  let probe: unknown;
  if (engine === "sqlite") {
    const db = openSqliteFile(mod, join(dir, "t.db"), true);
    const ins = db.prepare("INSERT INTO t (id, a, f, s) VALUES (?, ?, ?, ?)");
    const chunk = db.transaction((start: number, end: number) => {
      for (let i = start; i < end; i++) {
        const r = tRow(i);
        ins.run(r[0], r[1], r[2], r[3]);
      }
    });
    for (let s = 0; s < rows; s += CHUNK) chunk(s, Math.min(rows, s + CHUNK));
    const loadMs = performance.now() - t0;
    probe = db.prepare(ROW_SQL).raw(true).get(rows >> 1);
    gc();
    const after = rss();
    db.close();
    return { loadMs, before, after, probe, bytes: dirBytes(dir) };
  }
  const ex = mod.embedded(engine === "ours-durable" ? { dataDir: dir } : {});
  await ex.request({ verb: "PUT", path: TABLE, key: null, body: { "/state/collection/table": [T_SCHEMA, []] } });
  for (let s = 0; s < rows; s += CHUNK) {
    const end = Math.min(rows, s + CHUNK);
    const body = new Array(end - s);
    for (let i = s; i < end; i++) body[i - s] = tRow(i);
    await ex.request({ verb: "PUT", path: `${TABLE}/insert_rows`, key: null, body });
  }
  const loadMs = performance.now() - t0;
  probe = await ex.request({ verb: "GET", path: TABLE, key: [rows >> 1] });
  gc();
  const after = rss();
  await ex.close();
  return { loadMs, before, after, probe, bytes: engine === "ours-durable" ? dirBytes(dir) : 0 };
}

async function reopen(args: { engine: Engine; dir: string; id: number }): Promise<Record<string, unknown>> {
  const { engine, dir, id } = args;
  const mod = engine === "sqlite" ? await sqliteModule() : await kernelModule();
  gc();
  const before = rss();
  const t0 = performance.now();
  let probe: unknown;
  let close: () => unknown;
  if (engine === "sqlite") {
    const db = openSqliteFile(mod, join(dir, "t.db"), false);
    probe = db.prepare(ROW_SQL).raw(true).get(id);
    close = () => db.close();
  } else {
    const ex = mod.embedded({ dataDir: dir });
    probe = await ex.request({ verb: "GET", path: TABLE, key: [id] });
    close = () => ex.close();
  }
  const reopenMs = performance.now() - t0;
  const afterNoGc = rss();
  gc();
  const after = rss();
  await close();
  return { reopenMs, before, after, afterNoGc, probe };
}

// ------------------------------------------------------------------ the big store (case 4)

export const BIG_NS = "big";
const BIG_STR = 200;

/** Row i of the big table: id, a, a ~200-character string. */
function bigRow(i: number): [number, number, string] {
  const head = `row-${i}-`;
  return [i, i % 1000, head + "x".repeat(BIG_STR - head.length)];
}

/** The ORM schema of the big store: a big `nodes` table and a small `links` edge table. */
async function bigSchema(): Promise<{ orm: any; social: any; ir: any; graphMod: any }> {
  const ormSpec: string = "../src/orm/index.js";
  const irSpec: string = "../src/ir/index.js";
  const graphSpec: string = "../src/graph/index.js";
  const [orm, ir, graphMod] = await Promise.all([import(ormSpec), import(irSpec), import(graphSpec)]);
  const { table, col, schema } = orm;
  const nodes = table("nodes", { id: col.u64().key(), a: col.u32(), s: col.string(256) });
  const links = table("links", {
    src: col.u64().key().references(() => nodes),
    dst: col.u64().key().references(() => nodes),
  }).edge("links", { from: "src", to: "dst", inverse: "linked_by" });
  const social = schema({ namespace: BIG_NS, tables: { nodes, links } });
  return { orm, social, ir, graphMod };
}

/** Edges of the big store: node j (j < LINK_NODES) links to 10 nodes spread over the table. */
const LINK_NODES = 10_000;
function linkTargets(j: number, rows: number): number[] {
  const out: number[] = [];
  for (let k = 1; k <= 10; k++) out.push((j * 7919 + k * 104_729) % Math.min(rows, LINK_NODES));
  return [...new Set(out)].filter((t) => t !== j);
}

async function buildBig(args: { dir: string; targetBytes: number; maxRows: number }): Promise<Record<string, unknown>> {
  const { dir, targetBytes, maxRows } = args;
  const kmod = await kernelModule();
  const { orm, social } = await bigSchema();
  const ex = kmod.embedded({ dataDir: dir });
  const db = await orm.connect(social, ex);
  await db.sync();
  const t0 = performance.now();
  const chunk = 20_000;
  let rows = 0;
  // Grow until the data directory reaches the target size (checked every 200k rows).
  while (rows < maxRows && (rows % 200_000 !== 0 || rows === 0 || dirBytes(dir) < targetBytes)) {
    const end = rows + chunk;
    const body = new Array(chunk);
    for (let i = rows; i < end; i++) body[i - rows] = bigRow(i);
    await ex.request({ verb: "PUT", path: `/state/${BIG_NS}/nodes/insert_rows`, key: null, body });
    rows = end;
  }
  const edges: [number, number][] = [];
  for (let j = 0; j < Math.min(rows, LINK_NODES); j++) for (const t of linkTargets(j, rows)) edges.push([j, t]);
  await ex.request({ verb: "PUT", path: `/state/${BIG_NS}/links/insert_rows`, key: null, body: edges });
  const loadMs = performance.now() - t0;
  await ex.close();
  const bytes = dirBytes(dir);
  // The same rows in a SQLite file (WAL, synchronous=FULL), for the baseline reader.
  const Database = await sqliteModule();
  const sdb = openSqliteFile(Database, `${dir}.sqlite`, false);
  sdb.exec(`CREATE TABLE nodes (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, s TEXT NOT NULL);
CREATE TABLE links (src INTEGER NOT NULL, dst INTEGER NOT NULL, PRIMARY KEY (src, dst)) WITHOUT ROWID;
CREATE INDEX links_by_dst ON links(dst);`);
  const insN = sdb.prepare("INSERT INTO nodes VALUES (?, ?, ?)");
  const insL = sdb.prepare("INSERT INTO links VALUES (?, ?)");
  const tx = sdb.transaction((lo: number, hi: number) => {
    for (let i = lo; i < hi; i++) {
      const r = bigRow(i);
      insN.run(r[0], r[1], r[2]);
    }
  });
  for (let s = 0; s < rows; s += chunk) tx(s, Math.min(rows, s + chunk));
  sdb.transaction(() => {
    for (const [a, b] of edges) insL.run(a, b);
  })();
  sdb.close();
  return { loadMs, rows, bytes, sqliteBytes: statSync(`${dir}.sqlite`).size, edges: edges.length, hwm: rss().hwm };
}

async function bigRead(args: { dir: string; rows: number }): Promise<Record<string, unknown>> {
  const { dir, rows } = args;
  const kmod = await kernelModule();
  const { orm, social, ir, graphMod } = await bigSchema();
  const out: Record<string, unknown> = { heapLimit: (await import("node:v8")).getHeapStatistics().heap_size_limit };
  const t0 = performance.now();
  const ex = kmod.embedded({ dataDir: dir });
  const id = rows - 7;
  const row = (await ex.request({ verb: "GET", path: `/state/${BIG_NS}/nodes`, key: [id] })) as unknown[] | null;
  out.openPointMs = performance.now() - t0;
  out.pointOk = Array.isArray(row) && row[0] === id;
  const t1 = performance.now();
  const point2 = await ex.request({ verb: "GET", path: `/state/${BIG_NS}/nodes`, key: [17] });
  out.pointMs = performance.now() - t1;
  out.pointOk = out.pointOk && Array.isArray(point2);
  // Range scan: 1,000 rows by key range, counted.
  const t2 = performance.now();
  const lo = rows >> 1;
  const range = await ex.execute(
    { "/state/scalar/op/post": [["v", { [`/state/${BIG_NS}/nodes`]: [[["id", [["in", { $lo: [] }], ["ex", { $hi: [] }]]]]] }], ["n", { "$v/count": [null] }]] },
    { lo, hi: lo + 1000 },
  );
  out.rangeMs = performance.now() - t2;
  out.rangeCount = range;
  out.rangeOk = range === 1000 || (Array.isArray(range) && range[0] === 1000);
  // What is known so far, in case the traversal below takes the process down (the parent then
  // reports the reads that answered and the traversal's failure).
  process.stdout.write(`${JSON.stringify({ ...out, partial: true })}\n`);
  // Traversal: 2 hops over the edge table from node 3, distinct count.
  const db = await orm.connect(social, ex);
  const graph = db.graph ?? graphMod.createGraph(social, ex);
  const twoHop = graph.match("nodes", { id: ir.param("me") }).out("links").out("links").distinct().count();
  const t3 = performance.now();
  const got = await twoHop.execute({ me: 3 });
  out.traverseMs = performance.now() - t3;
  const want = new Set<number>();
  for (const m of linkTargets(3, rows)) for (const t of linkTargets(m, rows)) want.add(t);
  out.traverseCount = got;
  out.traverseOk = (typeof got === "number" ? got : Array.isArray(got) ? got[0] : NaN) === want.size;
  out.traverseWant = want.size;
  out.after = rss();
  await ex.close();
  return out;
}
/** The SQLite baseline of `bigRead`: same store content, same heap limit, same three reads. */
async function bigReadSqlite(args: { dir: string; rows: number }): Promise<Record<string, unknown>> {
  const { dir, rows } = args;
  const Database = await sqliteModule();
  const out: Record<string, unknown> = { heapLimit: (await import("node:v8")).getHeapStatistics().heap_size_limit };
  const t0 = performance.now();
  const db = openSqliteFile(Database, `${dir}.sqlite`, false);
  const point = db.prepare("SELECT id, a, s FROM nodes WHERE id = ?").raw(true);
  const id = rows - 7;
  const row = point.get(id) as unknown[] | undefined;
  out.openPointMs = performance.now() - t0;
  out.pointOk = Array.isArray(row) && row[0] === id;
  const t1 = performance.now();
  out.pointOk = out.pointOk && Array.isArray(point.get(17));
  out.pointMs = performance.now() - t1;
  const t2 = performance.now();
  const lo = rows >> 1;
  const range = db.prepare("SELECT count(*) FROM nodes WHERE id >= ? AND id < ?").pluck(true).get(lo, lo + 1000);
  out.rangeMs = performance.now() - t2;
  out.rangeCount = range;
  out.rangeOk = range === 1000;
  const t3 = performance.now();
  const got = db.prepare("SELECT count(DISTINCT l2.dst) FROM links l1 JOIN links l2 ON l2.src = l1.dst WHERE l1.src = ?").pluck(true).get(3);
  out.traverseMs = performance.now() - t3;
  const want = new Set<number>();
  for (const m of linkTargets(3, rows)) for (const t of linkTargets(m, rows)) want.add(t);
  out.traverseCount = got;
  out.traverseOk = got === want.size;
  out.traverseWant = want.size;
  out.after = rss();
  db.close();
  return out;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

async function main(): Promise<void> {
  const [mode, raw] = process.argv.slice(2);
  const args = JSON.parse(raw ?? "{}");
  let result: Record<string, unknown>;
  try {
    if (mode === "load") result = await load(args);
    else if (mode === "reopen") result = await reopen(args);
    else if (mode === "buildbig") result = await buildBig(args);
    else if (mode === "bigread") result = await bigRead(args);
    else if (mode === "bigread-sqlite") result = await bigReadSqlite(args);
    else throw new Error(`unknown mode ${mode}`);
  } catch (error) {
    result = { error: error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error) };
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
