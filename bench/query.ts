/**
 * Relational query benchmarks (issue 16): the ORM's `query` extension plans on the embedded
 * kernel (memory) against Kysely + better-sqlite3 (statements cached by SQL text), Drizzle's
 * relational queries, and raw prepared better-sqlite3, on the same data and the same indexes:
 *
 * - 2-table inner join, filter, order, limit 20 (users ⋈ posts)
 * - left join of 3 tables (users ⟕ posts ⟕ comments)
 * - `with` two levels: 20 users → posts → comments (vs Drizzle `findMany({ with })`)
 * - group by + count + avg over every user
 * - order by an unindexed column + limit 20 over a table of `BENCH_QUERY_ROWS` rows (1M full)
 *
 * Data: the dataset's users and posts, one comment per post (post = c·7919 mod posts), and a
 * table `events` (id, v random). Part of `npm run bench`; standalone: `npx tsx bench/query.ts`
 * (BENCH_SCALE=small|full, default small).
 */
import Database from "better-sqlite3";
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { relations } from "drizzle-orm/relations";
import { integer, sqliteTable, text, index } from "drizzle-orm/sqlite-core";
import { Kysely, SqliteDialect } from "kysely";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { embedded } from "../src/kernel/index.js";
import { col, connect, schema, table } from "../src/orm/index.js";
import { preparedStatementCache } from "./baselines/kysely.js";
import { CITIES, generate, LANGS, SCALE_USERS, userName, type Dataset } from "./dataset.js";
import { annotate, measureGroup, renderMarkdown, setQuick, type BenchContext, type BenchRow } from "./harness.js";

const users = table("users", { id: col.u64().key(), name: col.string(64), city: col.string(32), age: col.u32().nullable() }).index("by_city_age", ["city", "age"]);
const posts = table("posts", { id: col.u64().key(), author: col.u64().references(() => users, { name: "author", inverse: "posts" }), lang: col.string(8) }).index("by_author_lang", [
  "author",
  "lang",
]);
const comments = table("comments", { id: col.u64().key(), post: col.u64().references(() => posts, { name: "post", inverse: "comments" }), body: col.string(32) });
const events = table("events", { id: col.u64().key(), v: col.i32(), g: col.string(8) });
const S = schema({ namespace: "qbench", tables: { users, posts, comments, events } });

// Drizzle's declaration of the same tables (relational queries need `relations`).
const dUsers = sqliteTable("users", { id: integer("id").primaryKey(), name: text("name").notNull(), city: text("city").notNull(), age: integer("age") }, (t) => [index("users_by_city_age").on(t.city, t.age)]);
const dPosts = sqliteTable("posts", { id: integer("id").primaryKey(), author: integer("author").notNull(), lang: text("lang").notNull() }, (t) => [index("posts_by_author_lang").on(t.author, t.lang)]);
const dComments = sqliteTable("comments", { id: integer("id").primaryKey(), post: integer("post").notNull(), body: text("body").notNull() }, (t) => [index("comments_by_post").on(t.post)]);
const dUsersRel = relations(dUsers, ({ many }) => ({ posts: many(dPosts) }));
const dPostsRel = relations(dPosts, ({ one, many }) => ({ author: one(dUsers, { fields: [dPosts.author], references: [dUsers.id] }), comments: many(dComments) }));
const dCommentsRel = relations(dComments, ({ one }) => ({ post: one(dPosts, { fields: [dComments.post], references: [dPosts.id] }) }));
const dSchema = { users: dUsers, posts: dPosts, comments: dComments, usersRelations: dUsersRel, postsRelations: dPostsRel, commentsRelations: dCommentsRel };

interface KDb {
  users: { id: number; name: string; city: string; age: number | null };
  posts: { id: number; author: number; lang: string };
  comments: { id: number; post: number; body: string };
  events: { id: number; v: number; g: string };
}

const SECTION = "query";
const commentPost = (c: number, posts: number): number => (c * 7919) % posts;
const eventValue = (i: number): number => ((i * 2654435761) >>> 0) % 1_000_000;

function sqliteWith(d: Dataset, eventRows: number): Database.Database {
  const lite = new Database(":memory:");
  lite.exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL, age INTEGER);
    CREATE INDEX users_by_city_age ON users(city, age);
    CREATE TABLE posts (id INTEGER PRIMARY KEY, author INTEGER NOT NULL, lang TEXT NOT NULL);
    CREATE INDEX posts_by_author_lang ON posts(author, lang);
    CREATE TABLE comments (id INTEGER PRIMARY KEY, post INTEGER NOT NULL, body TEXT NOT NULL);
    CREATE INDEX comments_by_post ON comments(post);
    CREATE TABLE events (id INTEGER PRIMARY KEY, v INTEGER NOT NULL, g TEXT NOT NULL);`);
  const iu = lite.prepare("INSERT INTO users VALUES (?, ?, ?, ?)");
  const ip = lite.prepare("INSERT INTO posts VALUES (?, ?, ?)");
  const ic = lite.prepare("INSERT INTO comments VALUES (?, ?, ?)");
  const ie = lite.prepare("INSERT INTO events VALUES (?, ?, ?)");
  lite.transaction(() => {
    for (let i = 0; i < d.userCount; i++) iu.run(i, userName(i), CITIES[d.userCity[i]!]!, d.userAge[i]!);
    for (let p = 0; p < d.postCount; p++) ip.run(p, d.postAuthor[p]!, LANGS[d.postLang[p]!]!);
    for (let c = 0; c < d.postCount; c++) ic.run(c, commentPost(c, d.postCount), `c${c}`);
    for (let i = 0; i < eventRows; i++) ie.run(i, eventValue(i), i % 2 ? "a" : "b");
  })();
  return lite;
}

async function putRows(executor: ReturnType<typeof embedded>, t: string, count: number, row: (i: number) => unknown[]): Promise<void> {
  const CHUNK = 100_000;
  for (let start = 0; start < count; start += CHUNK) {
    const end = Math.min(count, start + CHUNK);
    const rows: unknown[][] = [];
    for (let i = start; i < end; i++) rows.push(row(i));
    await executor.request({ verb: "put", path: `/state/qbench/${t}/insert_rows`, key: null, body: rows as never });
  }
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const d = ctx.data;
  const eventRows = Number(process.env.BENCH_QUERY_ROWS ?? (ctx.quick ? 100_000 : 1_000_000));
  ctx.progress(`query: loading ${d.userCount} users, ${d.postCount} posts and comments, ${eventRows} events (kernel and sqlite)…`);
  const lite = sqliteWith(d, eventRows);
  const k = new Kysely<KDb>({ dialect: new SqliteDialect({ database: preparedStatementCache(lite) }) });
  const dz = drizzle(lite, { schema: dSchema });
  const executor = embedded();
  const db = await connect(S, executor);
  await db.sync();
  await putRows(executor, "users", d.userCount, (i) => [i, userName(i), CITIES[d.userCity[i]!]!, d.userAge[i]!]);
  await putRows(executor, "posts", d.postCount, (p) => [p, d.postAuthor[p]!, LANGS[d.postLang[p]!]!]);
  await putRows(executor, "comments", d.postCount, (c) => [c, commentPost(c, d.postCount), `c${c}`]);
  await putRows(executor, "events", eventRows, (i) => [i, eventValue(i), i % 2 ? "a" : "b"]);
  const cities = CITIES as readonly string[];
  const city = (i: number) => cities[i % cities.length]!;
  const rows: BenchRow[] = [];
  const opts = { samples: ctx.quick ? 3 : 5, warmupMs: 50, minBatchMs: 5 };
  const same = (a: unknown, b: unknown): string => (JSON.stringify(a) === JSON.stringify(b) ? "" : "results differ from the baseline");
  try {
    // 1. Inner join + filter + order + limit 20.
    ctx.progress("query: inner join");
    const joinOurs = (i: number) =>
      db.selectFrom("users").innerJoin("posts", "posts.author", "users.id").where("users.city", "=", city(i)).where("users.age", "=", 30 + (i % 20)).where("posts.lang", "=", "en")
        .orderBy("posts.id", "desc").limit(20).select(["users.id", "users.name", "posts.id as postId"]);
    const joinKy = (i: number) =>
      k.selectFrom("users").innerJoin("posts", "posts.author", "users.id").where("users.city", "=", city(i)).where("users.age", "=", 30 + (i % 20)).where("posts.lang", "=", "en")
        .orderBy("posts.id", "desc").orderBy("users.id").limit(20).select(["users.id", "users.name", "posts.id as postId"]);
    const check1 = same(await joinOurs(3).execute(), await joinKy(3).execute());
    const join = await measureGroup({ ours: { fn: (i) => joinOurs(i).execute(), async: true }, kysely: { fn: (i) => joinKy(i).execute(), async: true } }, opts);
    rows.push({ section: SECTION, case: "2-table inner join (users.city, users.age, posts.lang), order, limit 20", oursLabel: "orm query route", ours: annotate(join.ours, check1), baselines: [{ label: "Kysely + better-sqlite3 (cached)", figure: join.kysely }], target: "≤ 1.0× Kysely + SQLite" });

    // 2. Left join of 3 tables.
    ctx.progress("query: left join of 3 tables");
    const leftOurs = (i: number) =>
      db.selectFrom("users").leftJoin("posts", "posts.author", "users.id").leftJoin("comments", "comments.post", "posts.id").where("users.city", "=", city(i)).where("users.age", "=", 30 + (i % 20))
        .select(["users.id", "posts.id as postId", "comments.id as commentId"]);
    const leftKy = (i: number) =>
      k.selectFrom("users").leftJoin("posts", "posts.author", "users.id").leftJoin("comments", "comments.post", "posts.id").where("users.city", "=", city(i)).where("users.age", "=", 30 + (i % 20))
        .orderBy("users.id").orderBy("posts.id").orderBy("comments.id").select(["users.id", "posts.id as postId", "comments.id as commentId"]);
    const left3 = await leftOurs(3).execute();
    const check2 = same(left3, await leftKy(3).execute());
    const left = await measureGroup({ ours: { fn: (i) => leftOurs(i).execute(), async: true }, kysely: { fn: (i) => leftKy(i).execute(), async: true } }, opts);
    rows.push({ section: SECTION, case: `left join users ⟕ posts ⟕ comments (~${left3.length} rows)`, oursLabel: "orm query route", ours: annotate(left.ours, check2), baselines: [{ label: "Kysely + better-sqlite3 (cached)", figure: left.kysely }], target: "≤ 1.0×" });

    // 3. with, two levels: 20 users → posts → comments.
    ctx.progress("query: with two levels");
    const withOurs = (i: number) => db.selectFrom("users").where("city", "=", city(i)).limit(20).with("posts", (p) => p.with("comments")).execute();
    const withDrizzle = (i: number) => dz.query.users.findMany({ where: eq(dUsers.city, city(i)), limit: 20, orderBy: dUsers.id, with: { posts: { orderBy: dPosts.id, with: { comments: { orderBy: dComments.id } } } } });
    const w3 = await withOurs(3);
    const check3 = same(w3, await withDrizzle(3));
    const withs = await measureGroup({ ours: { fn: (i) => withOurs(i), async: true }, drizzle: { fn: (i) => withDrizzle(i), async: true } }, opts);
    rows.push({ section: SECTION, case: "with two levels: 20 users → posts → comments", oursLabel: "orm query route (one op)", ours: annotate(withs.ours, check3), baselines: [{ label: "Drizzle relational query + better-sqlite3", figure: withs.drizzle }], target: "≤ 1.0× Drizzle" });

    // 4. Group by + count + avg over every user.
    ctx.progress("query: group by");
    const groupSql = lite.prepare("SELECT city, count(id) AS n, avg(age) AS a FROM users GROUP BY city ORDER BY city");
    const groupOurs = () => db.selectFrom("users").select((eb) => ["city", eb.fn.count("id").as("n"), eb.fn.avg("age").as("a")]).groupBy("city").execute();
    const g = await groupOurs();
    const check4 = same(g.map((r) => ({ ...r, a: Math.round((r.a ?? 0) * 1e6) })), (groupSql.all() as { a: number }[]).map((r) => ({ ...r, a: Math.round(r.a * 1e6) })));
    const group = await measureGroup({ ours: { fn: () => groupOurs(), async: true, items: d.userCount }, sqlite: { fn: () => groupSql.all(), items: d.userCount } }, opts);
    rows.push({ section: SECTION, case: `group by city + count + avg over ${d.userCount} rows`, oursLabel: "orm query route", ours: annotate(group.ours, check4), baselines: [{ label: "better-sqlite3 (prepared)", figure: group.sqlite }], target: "≤ 1.0× SQLite" });

    // 5. Order by an unindexed column + limit 20.
    ctx.progress("query: unindexed order + limit 20");
    const topSql = lite.prepare("SELECT id, v, g FROM events ORDER BY v, id LIMIT 20");
    const topOurs = () => db.selectFrom("events").orderBy("v").limit(20).execute();
    const check5 = same(await topOurs(), topSql.all());
    const top = await measureGroup({ ours: { fn: () => topOurs(), async: true }, sqlite: { fn: () => topSql.all() } }, { ...opts, samples: 3 });
    rows.push({ section: SECTION, case: `order by an unindexed column + limit 20 over ${eventRows} rows`, oursLabel: "orm (query route top-k)", ours: annotate(top.ours, check5), baselines: [{ label: "better-sqlite3 (prepared)", figure: top.sqlite }], target: "≤ 1.0× SQLite" });
  } finally {
    await db.executor.close();
    lite.close();
  }
  void and;
  return rows;
}

async function standalone(): Promise<void> {
  const scale = process.env.BENCH_SCALE === "full" ? "full" : "small";
  setQuick(scale === "small");
  const data = generate({ users: SCALE_USERS[scale] });
  const ctx = {
    scale,
    quick: scale === "small",
    data,
    sampleUserIds: [],
    tmpDir: () => {
      throw new Error("unused");
    },
    progress: (m: string) => process.stderr.write(`[query bench] ${m}\n`),
    sqliteMemory: () => {
      throw new Error("unused");
    },
  } as unknown as BenchContext;
  const rows = await run(ctx);
  process.stdout.write(renderMarkdown(rows, { query: `Relational queries vs Kysely / Drizzle / SQLite (${data.userCount} users, ${data.postCount} posts)` }) + "\n");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await standalone();
