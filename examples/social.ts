/**
 * A small social graph on the embedded kernel (in memory): friends of friends, variable-length
 * reachability, paths, a shortest path and a 3-hop query — each one composite op, typed results.
 *
 * Run: `npm start` (or `npx tsx examples/social.ts`).
 */
import { embedded } from "../src/kernel/index.js";
import { connect } from "../src/connect.js";
import { param } from "../src/ir/index.js";
import { col, schema, table, type Row } from "../src/orm/index.js";

// --- Schema: users, an edge table (follows) and a foreign key (posts.author) -----------------

export const users = table("users", {
  id: col.u64().key(),
  name: col.string(64),
  city: col.string(32),
}).index("by_city", ["city"]);

export const follows = table("follows", {
  follower: col.u64().key().references(() => users),
  followee: col.u64().key().references(() => users),
  since: col.u32(),
}).edge("follows", { from: "follower", to: "followee", inverse: "followers" });

export const posts = table("posts", {
  id: col.u64().key(),
  author: col.u64().references(() => users, { name: "author", inverse: "posts" }),
  lang: col.string(8),
  title: col.string(64),
});

export const social = schema({ namespace: "social", tables: { users, follows, posts } });
export type User = Row<typeof users>;

const db = await connect(social, embedded());
await db.sync();

// --- Data ------------------------------------------------------------------------------------

const names = ["ada", "bob", "cyd", "dee", "eve", "fay", "gus", "hal", "ivy", "jon", "kim", "lou"];
const cities = ["paris", "rome", "oslo"];
await db
  .insertInto("users")
  .values(names.map((name, i) => ({ id: i + 1, name, city: cities[i % 3]! })))
  .execute();
const edges: [number, number][] = [
  [1, 2], [1, 3], [2, 4], [3, 4], [4, 5], [5, 6], [6, 1], [2, 7], [7, 8], [8, 9], [9, 10], [10, 11], [4, 4], [11, 1],
];
await db
  .insertInto("follows")
  .values(edges.map(([follower, followee], i) => ({ follower, followee, since: 2015 + (i % 8) })))
  .execute();
await db
  .insertInto("posts")
  .values([
    { id: 1, author: 4, lang: "en", title: "graphs are tables" },
    { id: 2, author: 4, lang: "fr", title: "les graphes" },
    { id: 3, author: 5, lang: "en", title: "bounded traversals" },
    { id: 4, author: 8, lang: "en", title: "one op per query" },
    { id: 5, author: 2, lang: "fr", title: "bonjour" },
  ])
  .execute();

// Relation names come from the declarations above (`references(..., { name, inverse })`,
// `.edge(...)`): the type checker knows that users.follows leads to users and users.posts to
// posts, and the catalog checks the same names at run time.
const graph = db.graph;

const show = (label: string, value: unknown) => console.log(`${label.padEnd(44)} ${JSON.stringify(value)}`);

// --- The catalog -----------------------------------------------------------------------------

console.log("catalog (Mermaid):\n" + db.graph.catalog.toMermaid());
show("relations of users:", db.graph.catalog.relations("users").map((r) => `${r.name} → ${r.target}`));
show("route posts → users:", db.graph.catalog.route("posts", "users"));

// --- Friends of friends (distinct, parameterized, typed) --------------------------------------

const fof = graph
  .match("users", { id: param("me") })
  .out("follows")
  .out("follows")
  .distinct()
  .where("id", "!=", param("me"))
  .select(["id", "name", "city"]);
const compiled = fof.compile();
show("friends-of-friends op parameters:", compiled.params);
const friendsOfFriends: { id: number; name: string; city: string }[] = await fof.execute({ me: 1 });
show("friends of friends of ada:", friendsOfFriends.map((u) => u.name));
show("… of bob:", (await fof.execute({ me: 2 })).map((u) => u.name));

// --- Variable-length reachability (BFS with a visited set) -------------------------------------

const reach = graph.match("users", { id: param("me") }).out("follows", { hops: [1, 3] }).distinct();
show("ada reaches within 1..3 hops:", (await reach.select(["name"]).execute({ me: 1 })).map((u) => u.name));
show("… count:", await reach.count().execute({ me: 1 }));
show("reachable from ada in any number of hops ≤ 20:", await graph.match("users", { id: 1 }).out("follows", { hops: [1, 20] }).distinct().count().execute());
show("who reaches dee (in, 1..2 hops):", (await graph.match("users", { id: 4 }).in("follows", { hops: [1, 2] }).distinct().select(["name"]).execute()).map((u) => u.name));

// --- Paths (trail semantics: no follows row twice in a path) ------------------------------------

const paths = await graph.match("users", { id: 1 }).out("follows", { hops: [1, 3] }).limit(6).paths().execute();
for (const p of paths) show("path:", p.map((step) => (step.table === "users" ? step.row.name : step.table)).join(" → "));

// --- Shortest path ---------------------------------------------------------------------------

const shortest = await graph
  .shortestPath(graph.match("users", { id: 1 }), graph.match("users", { name: "jon" }), "follows", { maxHops: 8 })
  .execute();
show("shortest ada → jon:", shortest?.map((s) => (s.table === "users" ? s.row.name : "?")));

// --- Three hops with a filter: posts in English by people ada's follows follow -----------------

const threeHop = graph.match("users", { id: 1 }).out("follows").out("follows").out("posts").where("lang", "=", "en");
show("3-hop posts (en), one per path:", (await threeHop.select(["title"]).execute()).map((p) => p.title));
show("3-hop distinct count:", await threeHop.distinct().count().execute());

// --- Several bound tables per result -----------------------------------------------------------

const authored = await graph
  .match("users", { city: "rome" })
  .as("author")
  .out("posts")
  .as("post")
  .return({ who: "author", what: "post" })
  .execute();
show("posts by people in rome:", authored.map((r) => `${r.who.name}: ${r.what.title}`));

console.log("\nexplain(friends of friends):\n" + fof.explain());

await db.executor.close();
