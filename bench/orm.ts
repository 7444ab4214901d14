/**
 * ORM benchmarks (issue 4): the ORM on the embedded kernel (memory) against Kysely +
 * better-sqlite3 doing the same queries on the same data.
 *
 * - point select by key, build + compile + execute (and a prepared variant with `param`)
 * - build + compile only: point select, and the 3-predicate select with order + limit
 * - `.compile()` of a pre-built query (ours is memoized per builder) and a cold compile
 * - the 3-predicate select executed (index-served: equality + range + order route)
 * - a select with a predicate no index serves: the `filter` route extension (default) and its
 *   core lowering (a `fold` over the index range), per row
 * - an order no index serves: the `sort` route extension, with a filter, limit 20
 * - `insert … returning` the generated ids, 1 row and 100 rows a statement (writes: both tables
 *   grow as they are measured)
 *
 * Part of `npm run bench` (exports `run(ctx)`); standalone: `npx tsx bench/orm.ts`
 * (BENCH_SCALE=small|full, default small when standalone).
 */
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { embedded } from "../src/kernel/index.js";
import { param } from "../src/ir/index.js";
import { col, connect, schema, table } from "../src/orm/index.js";
import { compileNode } from "../src/orm/compiler.js";
import { INTERNALS, type StatementInternals } from "../src/orm/statement.js";
import { createKysely, kyselyFilteredCompile, kyselyPointCompile, kyselyPrebuilt } from "./baselines/kysely.js";
import { loadSqlite, openSqlite } from "./baselines/sqlite.js";
import { CITIES, chunks, generate, sampleUserIds, SCALE_USERS, userRows } from "./dataset.js";
import { annotate, measureGroup, renderMarkdown, setQuick, type BenchContext, type BenchRow } from "./harness.js";

const users = table("users", {
  id: col.u64().key(),
  name: col.string(64),
  city: col.string(32),
  age: col.u32().nullable(),
}).index("by_city_age", ["city", "age"]);
const events = table("events", { id: col.u64().key().autoIncrement(), name: col.string(32), n: col.u32() });
const bench = schema({ namespace: "bench", tables: { users, events } });

const SECTION = "orm";

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const ids = ctx.sampleUserIds;
  const sqlite = ctx.sqliteMemory();
  const k = createKysely(sqlite);

  ctx.progress("orm: loading users into the embedded kernel through insertInto()…");
  const executor = embedded();
  const db = await connect(bench, executor);
  await db.sync();
  for (const chunk of chunks(userRows(ctx.data), 1000)) {
    await db.insertInto("users").values(chunk.map(([id, name, city, age]) => ({ id, name, city, age }))).execute();
  }
  const cities = CITIES as readonly string[];
  const cityOf = (i: number) => cities[i % cities.length]!;

  try {
    // 1. Point select by key: build + compile + execute.
    ctx.progress("orm: point select");
    const prepared = db.selectFrom("users").where("id", "=", param("id"));
    const point = await measureGroup({
      ours: { fn: (i) => db.selectFrom("users").where("id", "=", ids[i % ids.length]!).executeTakeFirst(), async: true },
      prepared: { fn: (i) => prepared.executeTakeFirst({ id: ids[i % ids.length]! }), async: true },
      kysely: { fn: (i) => k.selectFrom("users").selectAll().where("id", "=", ids[i % ids.length]!).executeTakeFirst(), async: true },
    });
    rows.push({ section: SECTION, case: "point select by key (build + compile + execute)", oursLabel: "orm → embedded (memory)", ours: point.ours, baselines: [{ label: "Kysely + better-sqlite3", figure: point.kysely }], target: "≤ 1.0× Kysely+SQLite" });
    rows.push({ section: SECTION, case: "point select, prepared (param, execute only)", oursLabel: "orm → embedded (memory)", ours: point.prepared, baselines: [{ label: "Kysely + better-sqlite3 (build+compile+execute)", figure: point.kysely }] });

    // 2. Build + compile only.
    ctx.progress("orm: compile");
    const filtered = (i: number) =>
      db.selectFrom("users").where("city", "=", cityOf(i)).where("age", ">=", 18 + (i % 20)).where("age", "<", 60)
        .orderBy("age", "desc").limit(20).select(["id", "name", "age"]);
    const build = await measureGroup({
      oursPoint: { fn: (i) => db.selectFrom("users").where("id", "=", ids[i % ids.length]!).compile() },
      kyPoint: { fn: (i) => kyselyPointCompile(k, ids[i % ids.length]!) },
      oursFiltered: { fn: (i) => filtered(i).compile() },
      kyFiltered: { fn: (i) => kyselyFilteredCompile(k, { city: cityOf(i), minAge: 18 + (i % 20), maxAge: 60 }) },
    });
    rows.push({ section: SECTION, case: "build + compile: point select", oursLabel: "orm compile()", ours: build.oursPoint, baselines: [{ label: "Kysely compile()", figure: build.kyPoint }], target: "≤ 1.0× Kysely" });
    rows.push({ section: SECTION, case: "build + compile: 3 predicates + order + limit", oursLabel: "orm compile()", ours: build.oursFiltered, baselines: [{ label: "Kysely compile()", figure: build.kyFiltered }], target: "≤ 1.0× Kysely" });

    // 3. compile() of a pre-built query; and a cold compile (the per-shape template cache bypassed).
    const pre = kyselyPrebuilt(k);
    const ourPre = filtered(0);
    const node = (ourPre as unknown as { [INTERNALS]: StatementInternals })[INTERNALS].node;
    const only = await measureGroup({
      oursMemo: { fn: () => ourPre.compile() },
      oursCold: { fn: () => compileNode(node, { cache: false }) },
      kysely: { fn: () => pre.filtered.compile() },
    });
    rows.push({ section: SECTION, case: "compile() of a pre-built 3-predicate query", oursLabel: "orm (memoized per builder)", ours: annotate(only.oursMemo, "ours caches the compiled op on the builder"), baselines: [{ label: "Kysely compile()", figure: only.kysely }] });
    rows.push({ section: SECTION, case: "cold compile (no cache) of the 3-predicate query", oursLabel: "orm compileNode()", ours: only.oursCold, baselines: [{ label: "Kysely compile()", figure: only.kysely }] });

    // 4. The 3-predicate select executed.
    ctx.progress("orm: 3-predicate select");
    const exec3 = await measureGroup({
      ours: { fn: (i) => filtered(i).execute(), async: true },
      kysely: {
        fn: (i) =>
          k.selectFrom("users").select(["id", "name", "age"]).where("city", "=", cityOf(i)).where("age", ">=", 18 + (i % 20)).where("age", "<", 60)
            .orderBy("age", "desc").limit(20).execute(),
        async: true,
      },
    });
    rows.push({ section: SECTION, case: "3 predicates + order + limit 20 (execute)", oursLabel: "orm → embedded (memory)", ours: exec3.ours, baselines: [{ label: "Kysely + better-sqlite3", figure: exec3.kysely }] });

    // 5. A predicate no index serves: equality on the index, then a per-row fold over that range.
    ctx.progress("orm: filtered select (filter route, fold)");
    const perCity = Math.round(ctx.data.userCount / cities.length);
    const coreDb = db.withOptions({ filter: "core", sort: "core" });
    const fold = await measureGroup(
      {
        ours: { fn: (i) => db.selectFrom("users").where("city", "=", cityOf(i)).where("name", "!=", "x").select(["id"]).execute(), async: true, items: perCity },
        core: { fn: (i) => coreDb.selectFrom("users").where("city", "=", cityOf(i)).where("name", "!=", "x").select(["id"]).execute(), async: true, items: perCity },
        kysely: { fn: (i) => k.selectFrom("users").select(["id"]).where("city", "=", cityOf(i)).where("name", "!=", "x").execute(), async: true, items: perCity },
        rangeOnly: { fn: (i) => db.selectFrom("users").where("city", "=", cityOf(i)).select(["id"]).execute(), async: true, items: perCity },
      },
      { samples: ctx.quick ? 3 : 5, warmupMs: 50, minBatchMs: 5 },
    );
    const perRow = (f: typeof fold.ours): string => (f.kind === "time" ? `${((f.ms * 1000) / perCity).toFixed(2)} µs/row` : "");
    rows.push({ section: SECTION, case: `index range + per-row filter (~${perCity} rows kept)`, oursLabel: "orm filter route (extension)", ours: annotate(fold.ours, perRow(fold.ours)), baselines: [{ label: "Kysely + better-sqlite3", figure: annotate(fold.kysely, perRow(fold.kysely)) }, { label: "orm fold (core lowering)", figure: annotate(fold.core, perRow(fold.core)) }, { label: "orm, same range without the filter", figure: annotate(fold.rangeOnly, perRow(fold.rangeOnly)) }] });

    // 6. An order no index serves: filter, then the sort route, then limit.
    ctx.progress("orm: unserved order (sort route)");
    const sorted = await measureGroup(
      {
        ours: { fn: (i) => db.selectFrom("users").where("city", "=", cityOf(i)).orderBy("name").limit(20).select(["id", "name"]).execute(), async: true },
        kysely: { fn: (i) => k.selectFrom("users").select(["id", "name"]).where("city", "=", cityOf(i)).orderBy("name").limit(20).execute(), async: true },
      },
      { samples: ctx.quick ? 3 : 5, warmupMs: 50, minBatchMs: 5 },
    );
    rows.push({ section: SECTION, case: `index range (~${perCity} rows) + order by an unindexed column + limit 20`, oursLabel: "orm sort route (extension)", ours: sorted.ours, baselines: [{ label: "Kysely + better-sqlite3", figure: sorted.kysely }] });

    // 7. Inserts answering their generated ids (`returning`), one row and 100 rows a statement.
    ctx.progress("orm: insert … returning");
    sqlite.exec("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, n INTEGER NOT NULL)");
    const eventRows = (i: number, n: number) => Array.from({ length: n }, (_, j) => ({ name: `event ${i}.${j}`, n: j }));
    for (const n of [1, 100]) {
      const ins = await measureGroup(
        {
          ours: { fn: (i) => db.insertInto("events").values(eventRows(i, n)).returning(["id"]).execute(), async: true, items: n },
          kysely: { fn: (i) => k.insertInto("events").values(eventRows(i, n)).returning("id").execute(), async: true, items: n },
        },
        { samples: ctx.quick ? 5 : 9, warmupMs: 100, minBatchMs: 10 },
      );
      rows.push({ section: SECTION, case: `insert … returning the generated ids, ${n} row${n === 1 ? "" : "s"} a statement`, oursLabel: "orm → embedded (memory)", ours: ins.ours, baselines: [{ label: "Kysely + better-sqlite3", figure: ins.kysely }] });
    }
  } finally {
    await db.close();
  }
  return rows;
}

async function standalone(): Promise<void> {
  const scale = process.env.BENCH_SCALE === "full" ? "full" : "small";
  setQuick(scale === "small");
  const data = generate({ users: SCALE_USERS[scale] });
  let sqlite: ReturnType<typeof openSqlite> | undefined;
  const ctx: BenchContext = {
    scale,
    quick: scale === "small",
    data,
    sampleUserIds: sampleUserIds(data, 1000),
    tmpDir: () => {
      throw new Error("unused");
    },
    progress: (m) => process.stderr.write(`[orm bench] ${m}\n`),
    sqliteMemory: () => {
      if (!sqlite) {
        sqlite = openSqlite();
        loadSqlite(sqlite, data);
      }
      return sqlite;
    },
  };
  const rows = await run(ctx);
  process.stdout.write(renderMarkdown(rows, { orm: `ORM vs Kysely + better-sqlite3 (${data.userCount} users)` }) + "\n");
  const figures = rows.map((r) => [r.case, r.ours, r.baselines[0]?.figure] as const);
  for (const [name, ours, base] of figures) {
    if (ours.kind === "time" && base?.kind === "time") process.stderr.write(`ratio ${name}: ${(ours.ms / base.ms).toFixed(2)}×\n`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void standalone().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}

