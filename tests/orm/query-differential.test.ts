/**
 * The relational select (joins, `with`, expression trees, aggregates, distinct, several order
 * keys, top-k pages) and `returning`, compared with SQLite on random data (nulls, duplicates,
 * unicode, ties) on every executor. SQLite runs with `PRAGMA case_sensitive_like = ON` (our
 * `like` is case-sensitive) and `ESCAPE '\'`; every SQLite query orders its ties by primary keys
 * ascending, as the query plan contract does, so results compare as sequences.
 */
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { col, connect, schema, table, type OrmDb } from "../../src/orm/index.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

const users = table("users", { id: col.u32().key(), name: col.string(8).nullable(), city: col.string(8), age: col.i32().nullable() }).index("by_city", ["city", "age"]);
const posts = table("posts", {
  id: col.u32().key(),
  author: col.u32().references(() => users, { name: "author", inverse: "posts" }),
  lang: col.string(4).nullable(),
  score: col.i32().nullable(),
});
const comments = table("comments", { id: col.u32().key(), post: col.u32().references(() => posts, { name: "post", inverse: "comments" }), n: col.i32().nullable() });
const follows = table("follows", {
  follower: col.u32().key().references(() => users, { name: "follower", inverse: "following_rows" }),
  followee: col.u32().key().references(() => users, { name: "followee", inverse: "follower_rows" }),
}).edge("follows", { from: "follower", to: "followee", inverse: "followers" });
/** The same rows twice: `ranked` has an index on `s`, `plain` none (the order must not depend on it). */
const ranked = table("ranked", { id: col.u32().key(), g: col.string(4), s: col.i32().nullable(), t: col.i32() }).index("by_s", ["s"]).index("by_g_t", ["g", "t"]);
const plain = table("plain", { id: col.u32().key(), g: col.string(4), s: col.i32().nullable(), t: col.i32() });
const S = schema({ namespace: "qdiff", tables: { users, posts, comments, follows, ranked, plain } });
type Db = OrmDb<typeof S>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const STR = fc.constantFrom("a", "b", "B", "é", "😀", "%", "_", "\\", "ab", "aB", "a%", "é😀", "");
const CITY = fc.constantFrom("p", "r", "é");
const LANG = fc.option(fc.constantFrom("en", "fr", "de"), { nil: null });
const SMALL = fc.option(fc.integer({ min: -2, max: 4 }), { nil: null });

interface User { id: number; name: string | null; city: string; age: number | null }
interface Post { id: number; author: number; lang: string | null; score: number | null }
interface Comment { id: number; post: number; n: number | null }
interface Follow { follower: number; followee: number }
interface Ranked { id: number; g: string; s: number | null; t: number }
interface Data { users: User[]; posts: Post[]; comments: Comment[]; follows: Follow[]; ranked: Ranked[] }

const dataArb: fc.Arbitrary<Data> = fc
  .uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 40 }), name: fc.option(STR, { nil: null }), city: CITY, age: SMALL }), { selector: (u) => u.id, minLength: 1, maxLength: 9 })
  .chain((us) => {
    const uid = fc.constantFrom(...us.map((u) => u.id));
    return fc
      .uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 80 }), author: uid, lang: LANG, score: SMALL }), { selector: (p) => p.id, maxLength: 14 })
      .chain((ps) =>
        fc.record({
          users: fc.constant(us),
          posts: fc.constant(ps),
          comments:
            ps.length === 0
              ? fc.constant([])
              : fc.uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 80 }), post: fc.constantFrom(...ps.map((p) => p.id)), n: SMALL }), { selector: (c) => c.id, maxLength: 14 }),
          follows: fc.uniqueArray(fc.record({ follower: uid, followee: uid }), { selector: (f) => `${f.follower}/${f.followee}`, maxLength: 12 }),
          ranked: fc.uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 60 }), g: fc.constantFrom("x", "y"), s: SMALL, t: fc.integer({ min: 0, max: 3 }) }), { selector: (r) => r.id, maxLength: 14 }),
        }),
      );
  });

// ----- random where trees over users -----------------------------------------------------------

type Leaf =
  | { k: "cmp"; col: "id" | "age" | "name" | "city"; op: "=" | "!=" | "<" | "<=" | ">" | ">="; v: number | string }
  | { k: "like"; col: "name" | "city"; pattern: string; negate: boolean }
  | { k: "between"; col: "id" | "age"; lo: number; hi: number; negate: boolean }
  | { k: "in"; col: "age" | "name"; list: (number | string)[]; negate: boolean }
  | { k: "null"; col: "name" | "age"; negate: boolean }
  | { k: "sub"; lang: string; negate: boolean };
type Tree = Leaf | { k: "and" | "or"; of: Tree[] } | { k: "not"; e: Tree };

const OP = fc.constantFrom("=", "!=", "<", "<=", ">", ">=" as const);
const leafArb: fc.Arbitrary<Leaf> = fc.oneof(
  fc.record({ k: fc.constant("cmp" as const), col: fc.constant("id" as const), op: OP, v: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ k: fc.constant("cmp" as const), col: fc.constant("age" as const), op: OP, v: fc.integer({ min: -2, max: 5 }) }),
  fc.record({ k: fc.constant("cmp" as const), col: fc.constantFrom("name" as const, "city" as const), op: OP, v: STR }),
  fc.record({
    k: fc.constant("like" as const),
    col: fc.constantFrom("name" as const, "city" as const),
    pattern: fc.array(fc.constantFrom("a", "B", "é", "😀", "%", "_", "\\%", "\\_", "\\\\"), { maxLength: 3 }).map((xs) => xs.join("")),
    negate: fc.boolean(),
  }),
  fc.record({ k: fc.constant("between" as const), col: fc.constant("id" as const), lo: fc.integer({ min: 0, max: 20 }), hi: fc.integer({ min: 0, max: 30 }), negate: fc.boolean() }),
  fc.record({ k: fc.constant("between" as const), col: fc.constant("age" as const), lo: fc.integer({ min: -2, max: 3 }), hi: fc.integer({ min: -2, max: 5 }), negate: fc.boolean() }),
  fc.record({ k: fc.constant("in" as const), col: fc.constant("age" as const), list: fc.array(fc.integer({ min: -2, max: 4 }), { minLength: 1, maxLength: 3 }), negate: fc.boolean() }),
  fc.record({ k: fc.constant("in" as const), col: fc.constant("name" as const), list: fc.array(STR, { minLength: 1, maxLength: 3 }), negate: fc.boolean() }),
  fc.record({ k: fc.constant("null" as const), col: fc.constantFrom("name" as const, "age" as const), negate: fc.boolean() }),
  fc.record({ k: fc.constant("sub" as const), lang: fc.constantFrom("en", "fr"), negate: fc.boolean() }),
);
const treeArb: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leafArb,
    fc.record({ k: fc.constantFrom("and" as const, "or" as const), of: fc.array(tie("tree"), { minLength: 1, maxLength: 3 }) }),
    fc.record({ k: fc.constant("not" as const), e: tie("tree") }),
  ),
})).tree;

function ebOf(db: Db, eb: Loose, t: Tree): unknown {
  switch (t.k) {
    case "cmp":
      return eb(t.col, t.op, t.v);
    case "like":
      return eb(t.col, t.negate ? "not like" : "like", t.pattern);
    case "between":
      return t.negate ? eb.notBetween(t.col, t.lo, t.hi) : eb.between(t.col, t.lo, t.hi);
    case "in":
      return eb(t.col, t.negate ? "not in" : "in", t.list);
    case "null":
      return eb(t.col, t.negate ? "is not" : "is", null);
    case "sub":
      return eb("id", t.negate ? "not in" : "in", db.selectFrom("posts").where("lang", "=", t.lang).select(["author"]));
    case "and":
    case "or":
      return eb[t.k](t.of.map((x) => ebOf(db, eb, x)));
    case "not":
      return eb.not(ebOf(db, eb, t.e));
  }
}

function sqlOf(t: Tree, params: unknown[]): string {
  const p = (v: unknown): string => {
    params.push(v);
    return "?";
  };
  switch (t.k) {
    case "cmp":
      return `u.${t.col} ${t.op} ${p(t.v)}`;
    case "like":
      return `u.${t.col} ${t.negate ? "NOT LIKE" : "LIKE"} ${p(t.pattern)} ESCAPE '\\'`;
    case "between":
      return `u.${t.col} ${t.negate ? "NOT BETWEEN" : "BETWEEN"} ${p(t.lo)} AND ${p(t.hi)}`;
    case "in":
      return `u.${t.col} ${t.negate ? "NOT IN" : "IN"} (${t.list.map(p).join(", ")})`;
    case "null":
      return `u.${t.col} IS ${t.negate ? "NOT " : ""}NULL`;
    case "sub":
      return `u.id ${t.negate ? "NOT IN" : "IN"} (SELECT author FROM posts WHERE lang = ${p(t.lang)})`;
    case "and":
    case "or":
      return `(${t.of.map((x) => sqlOf(x, params)).join(` ${t.k.toUpperCase()} `)})`;
    case "not":
      return `NOT (${sqlOf(t.e, params)})`;
  }
}

// ----- setup ---------------------------------------------------------------------------------------

function sqlite(d: Data): Database.Database {
  const lite = new Database(":memory:");
  lite.pragma("case_sensitive_like = ON");
  lite.exec(`create table users (id integer primary key, name text, city text, age integer);
    create table posts (id integer primary key, author integer, lang text, score integer);
    create table comments (id integer primary key, post integer, n integer);
    create table follows (follower integer, followee integer, primary key (follower, followee));
    create table ranked (id integer primary key, g text, s integer, t integer);`);
  const ins = (t: string, rows: object[]) => {
    if (rows.length === 0) return;
    const cols = Object.keys(rows[0]!);
    const st = lite.prepare(`insert into ${t} (${cols.join(", ")}) values (${cols.map(() => "?").join(", ")})`);
    for (const r of rows) st.run(...cols.map((c) => (r as Record<string, unknown>)[c]));
  };
  ins("users", d.users);
  ins("posts", d.posts);
  ins("comments", d.comments);
  ins("follows", d.follows);
  ins("ranked", d.ranked);
  return lite;
}

async function load(db: Db, d: Data): Promise<void> {
  for (const t of ["follows", "comments", "posts", "users", "ranked", "plain"] as const) await db.deleteFrom(t).execute();
  if (d.users.length > 0) await db.insertInto("users").values(d.users).execute();
  if (d.posts.length > 0) await db.insertInto("posts").values(d.posts).execute();
  if (d.comments.length > 0) await db.insertInto("comments").values(d.comments).execute();
  if (d.follows.length > 0) await db.insertInto("follows").values(d.follows).execute();
  if (d.ranked.length > 0) {
    await db.insertInto("ranked").values(d.ranked).execute();
    await db.insertInto("plain").values(d.ranked).execute();
  }
}

const round = (v: unknown): unknown => (typeof v === "number" && !Number.isInteger(v) ? Math.round(v * 1e9) / 1e9 : v);
const rounded = (rows: readonly object[]): object[] => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)])));

const orderKeyArb = fc.array(fc.record({ col: fc.constantFrom("age", "name", "city", "id"), desc: fc.boolean() }), { minLength: 0, maxLength: 2 });
const pageArb = fc.record({ limit: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), offset: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }) });

describe.each(WITH_CLUSTER)("relational selects vs SQLite on '$name'", (factory) => {
  const create = executorsFor(factory, afterAll);
  const runs = factory.name === "embedded memory" ? 60 : 12;

  it("where trees, several order keys, pages; joins; with; aggregates; distinct; index-independent top-k", { timeout: 60_000 }, async () => {
    const db = await connect(S, await create());
    await db.sync();
    await fc.assert(
      fc.asyncProperty(
        dataArb,
        fc.array(fc.record({ tree: treeArb, order: orderKeyArb, page: pageArb }), { minLength: 1, maxLength: 3 }),
        LANG,
        CITY,
        fc.integer({ min: 0, max: 3 }),
        fc.record({ g: fc.constantFrom("x", "y"), k: fc.integer({ min: 0, max: 4 }), o: fc.integer({ min: 0, max: 3 }), lo: fc.integer({ min: -1, max: 2 }), desc: fc.boolean() }),
        async (data, queries, lang, city, having, rk) => {
          await load(db, data);
          const lite = sqlite(data);
          try {
            // 1. Expression trees, several order keys, limit/offset.
            for (const q of queries) {
              let b: Loose = db.selectFrom("users").where((eb: Loose) => ebOf(db, eb, q.tree) as never);
              for (const o of q.order) b = b.orderBy(o.col, o.desc ? "desc" : "asc");
              if (q.page.limit !== undefined) b = b.limit(q.page.limit);
              if (q.page.offset !== undefined) b = b.offset(q.page.offset);
              const params: unknown[] = [];
              const where = sqlOf(q.tree, params);
              const order = [...q.order.map((o) => `u.${o.col} ${o.desc ? "DESC" : "ASC"}`), "u.id ASC"].join(", ");
              const page = q.page.limit !== undefined || q.page.offset !== undefined ? ` LIMIT ${q.page.limit ?? -1} OFFSET ${q.page.offset ?? 0}` : "";
              const expected = lite.prepare(`SELECT u.id, u.name, u.city, u.age FROM users u WHERE ${where} ORDER BY ${order}${page}`).all(...params);
              expect(await b.execute(), JSON.stringify(q)).toEqual(expected);
              expect(await b.count().execute()).toBe(expected.length);
            }

            // 2. Joins: 2 tables inner (filter, order, limit); 3 tables left; an edge relation.
            const inner = await db
              .selectFrom("posts")
              .innerJoin("users", "users.id", "posts.author")
              .where("users.city", "=", city)
              .orderBy("posts.score", "desc")
              .limit(5)
              .select(["posts.id", "users.name", "posts.score as s"])
              .execute();
            expect(inner).toEqual(
              lite.prepare("SELECT p.id, u.name, p.score AS s FROM posts p JOIN users u ON u.id = p.author WHERE u.city = ? ORDER BY p.score DESC, p.id, u.id LIMIT 5").all(city),
            );
            const left = await db
              .selectFrom("users")
              .leftJoin("posts", "posts.author", "users.id")
              .leftJoin("comments", "comments.post", "posts.id")
              .select(["users.id as uid", "posts.id as pid", "comments.id as cid", "comments.n"])
              .execute();
            expect(left).toEqual(
              lite.prepare("SELECT u.id AS uid, p.id AS pid, c.id AS cid, c.n FROM users u LEFT JOIN posts p ON p.author = u.id LEFT JOIN comments c ON c.post = p.id ORDER BY u.id, p.id, c.id").all(),
            );
            const viaEdge = await db.selectFrom("users").innerJoinRelation("follows as f").select(["users.id as a", "f.id as b", "f.name"]).execute();
            expect(viaEdge).toEqual(
              lite.prepare("SELECT u.id AS a, v.id AS b, v.name FROM users u JOIN follows e ON e.follower = u.id JOIN users v ON v.id = e.followee ORDER BY u.id, e.follower, e.followee").all(),
            );

            // 3. Nested loading, three levels and an edge relation; a to-one relation.
            const nested = await db
              .selectFrom("users")
              .select(["id"])
              .with("posts", (p) =>
                p
                  .where("lang", lang === null ? "isNull" : "=", ...((lang === null ? [] : [lang]) as [string]))
                  .orderBy("score", "desc")
                  .limit(2)
                  .select(["id", "score"])
                  .with("comments", (c) => c.orderBy("n").select(["id", "n"])),
              )
              .with("follows", (f) => f.select(["id"]))
              .execute();
            const postsOf = lite.prepare(`SELECT id, score FROM posts WHERE author = ? AND lang ${lang === null ? "IS NULL" : "= ?"} ORDER BY score DESC, id LIMIT 2`);
            const commentsOf = lite.prepare("SELECT id, n FROM comments WHERE post = ? ORDER BY n, id");
            const followsOf = lite.prepare("SELECT v.id FROM follows e JOIN users v ON v.id = e.followee WHERE e.follower = ? ORDER BY e.follower, e.followee");
            const expectedNested = (lite.prepare("SELECT id FROM users ORDER BY id").all() as { id: number }[]).map((u) => ({
              id: u.id,
              posts: (postsOf.all(...(lang === null ? [u.id] : [u.id, lang])) as { id: number }[]).map((p) => ({ ...p, comments: commentsOf.all(p.id) })),
              follows: followsOf.all(u.id),
            }));
            expect(nested).toEqual(expectedNested);
            const toOne = await db.selectFrom("posts").select(["id"]).with("author", (a) => a.select(["name"])).execute();
            expect(toOne).toEqual((lite.prepare("SELECT p.id, u.name FROM posts p JOIN users u ON u.id = p.author ORDER BY p.id").all() as { id: number; name: string | null }[]).map((r) => ({ id: r.id, author: { name: r.name } })));

            // 4. Group by + aggregates + having; one group of all rows; over a join; distinct.
            const grouped = await db
              .selectFrom("posts")
              .select((eb) => [
                "lang",
                eb.fn.count("score").as("n"),
                eb.fn.countAll().as("all"),
                eb.fn.countDistinct("author").as("d"),
                eb.fn.sum("score").as("s"),
                eb.fn.avg("score").as("a"),
                eb.fn.min("score").as("lo"),
                eb.fn.max("score").as("hi"),
              ])
              .groupBy("lang")
              .having((eb) => eb(eb.fn.countAll(), ">=", having))
              .execute();
            expect(rounded(grouped)).toEqual(
              rounded(
                lite
                  .prepare("SELECT lang, count(score) AS n, count(*) AS \"all\", count(DISTINCT author) AS d, sum(score) AS s, avg(score) AS a, min(score) AS lo, max(score) AS hi FROM posts GROUP BY lang HAVING count(*) >= ? ORDER BY lang")
                  .all(having) as object[],
              ),
            );
            const whole = await db.selectFrom("posts").where("lang", "=", "en").select((eb) => [eb.fn.countAll().as("n"), eb.fn.sum("score").as("s"), eb.fn.avg("score").as("a")]).execute();
            expect(rounded(whole)).toEqual(rounded(lite.prepare("SELECT count(*) AS n, sum(score) AS s, avg(score) AS a FROM posts WHERE lang = 'en'").all() as object[]));
            const byCity = await db
              .selectFrom("users")
              .innerJoin("posts", "posts.author", "users.id")
              .groupBy("users.city")
              .select((eb) => ["users.city", eb.fn.count("posts.id").as("n"), eb.fn.max("posts.score").as("best")])
              .orderBy("n", "desc")
              .execute();
            expect(byCity).toEqual(lite.prepare("SELECT u.city, count(p.id) AS n, max(p.score) AS best FROM users u JOIN posts p ON p.author = u.id GROUP BY u.city ORDER BY n DESC, u.city").all());
            const distinct = await db.selectFrom("users").select(["city", "age"]).distinct().execute();
            expect(distinct).toEqual(lite.prepare("SELECT DISTINCT city, age FROM users ORDER BY city, age").all());

            // 5. The same page whatever indexes exist (ranked has one on s, plain none).
            for (const t of ["ranked", "plain"] as const) {
              const page = await db.selectFrom(t).where("g", "=", rk.g).orderBy("s", rk.desc ? "desc" : "asc").limit(rk.k).execute();
              const all = await db.selectFrom(t).orderBy("s", rk.desc ? "desc" : "asc").execute();
              expect(page, t).toEqual(lite.prepare(`SELECT id, g, s, t FROM ranked WHERE g = ? ORDER BY s ${rk.desc ? "DESC" : "ASC"}, id LIMIT ?`).all(rk.g, rk.k));
              expect(all, t).toEqual(lite.prepare(`SELECT id, g, s, t FROM ranked ORDER BY s ${rk.desc ? "DESC" : "ASC"}, id`).all());
              // An index (g, t) serving t only in reverse: equality, range, pages.
              const dir = rk.desc ? "DESC" : "ASC";
              const byT = await db.selectFrom(t).where("g", "=", rk.g).where("t", ">", rk.lo).orderBy("t", rk.desc ? "desc" : "asc").offset(rk.o).limit(rk.k).select(["id", "t"]).execute();
              expect(byT, `${t} by t`).toEqual(lite.prepare(`SELECT id, t FROM ranked WHERE g = ? AND t > ? ORDER BY t ${dir}, id LIMIT ? OFFSET ?`).all(rk.g, rk.lo, rk.k, rk.o));
              const allT = await db.selectFrom(t).where("g", "=", rk.g).orderBy("t", rk.desc ? "desc" : "asc").offset(rk.o).execute();
              expect(allT, `${t} by t, offset only`).toEqual(lite.prepare(`SELECT id, g, s, t FROM ranked WHERE g = ? ORDER BY t ${dir}, id LIMIT -1 OFFSET ?`).all(rk.g, rk.o));
              // A page reaching the nulls (last in descending order) of the nullable indexed s.
              const deep = await db.selectFrom(t).orderBy("s", "desc").offset(rk.o).limit(rk.k + 8).execute();
              expect(deep, `${t} deep`).toEqual(lite.prepare("SELECT id, g, s, t FROM ranked ORDER BY s DESC, id LIMIT ? OFFSET ?").all(rk.k + 8, rk.o));
              const topT = await db.selectFrom(t).orderBy("t", rk.desc ? "desc" : "asc").limit(rk.k).execute();
              expect(topT, `${t} top t`).toEqual(lite.prepare(`SELECT id, g, s, t FROM ranked ORDER BY t ${dir}, id LIMIT ?`).all(rk.k));
            }
          } finally {
            lite.close();
          }
        },
      ),
      { numRuns: runs },
    );
  });

  it("returning: insert (ignore), update and delete answer the rows as SQLite's RETURNING does", { timeout: 60_000 }, async () => {
    const db = await connect(S, await create());
    await db.sync();
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 30 }), g: fc.constantFrom("x", "y"), s: SMALL, t: fc.integer({ min: 0, max: 3 }) }), { selector: (r) => r.id, maxLength: 8 }),
        fc.array(fc.record({ id: fc.integer({ min: 1, max: 30 }), g: fc.constantFrom("x", "y"), s: SMALL, t: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: -2, max: 4 }),
        fc.integer({ min: 1, max: 30 }),
        async (before, more, threshold, cut) => {
          await db.deleteFrom("ranked").execute();
          if (before.length > 0) await db.insertInto("ranked").values(before).execute();
          const lite = sqlite({ users: [], posts: [], comments: [], follows: [], ranked: before });
          try {
            const ins = lite.prepare("INSERT OR IGNORE INTO ranked (id, g, s, t) VALUES (?, ?, ?, ?) RETURNING id, s");
            const inserted = more.flatMap((r) => ins.all(r.id, r.g, r.s, r.t));
            expect(await db.insertInto("ranked").values(more).onConflict("ignore").returning(["id", "s"]).execute()).toEqual(inserted);
            const updated = lite.prepare("UPDATE ranked SET g = 'z' WHERE s > ? RETURNING *").all(threshold).sort((a: Loose, b: Loose) => a.id - b.id);
            expect(await db.updateTable("ranked").set({ g: "z" }).where("s", ">", threshold).returningAll().execute()).toEqual(updated);
            const deleted = lite.prepare("DELETE FROM ranked WHERE id < ? RETURNING id, g").all(cut).sort((a: Loose, b: Loose) => a.id - b.id);
            expect(await db.deleteFrom("ranked").where("id", "<", cut).returning(["id", "g"]).execute()).toEqual(deleted);
            expect(await db.selectFrom("ranked").execute()).toEqual(lite.prepare("SELECT id, g, s, t FROM ranked ORDER BY id").all());
          } finally {
            lite.close();
          }
        },
      ),
      { numRuns: factory.name === "embedded memory" ? 20 : 5 },
    );
  });
});
