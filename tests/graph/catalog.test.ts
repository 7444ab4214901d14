/**
 * The catalog: a graphology MultiDirectedGraph of tables and named relations, built from the
 * ORM's metadata; relation-name clashes and unserved relations are refused with clear errors.
 */
import { MultiDirectedGraph } from "graphology";
import { describe, expect, it } from "vitest";
import { col, schema, table } from "../../src/orm/index.js";
import { buildCatalog, createGraph, relationsOf, Catalog } from "../../src/graph/index.js";
import { BadRequestError } from "../../src/errors.js";
import { embedded } from "../../src/kernel/index.js";

const users = table("users", {
  id: col.u64().key(),
  name: col.string(64),
  city: col.string(32),
}).index("by_city", ["city"]);
const follows = table("follows", {
  follower: col.u64().key().references(() => users),
  followee: col.u64().key().references(() => users),
}).edge("follows", { from: "follower", to: "followee", inverse: "followers" });
const posts = table("posts", {
  id: col.u64().key(),
  author: col.u64().references(() => users, { name: "author", inverse: "posts" }),
  lang: col.string(8),
});
const tags = table("tags", { id: col.u32().key(), label: col.string(16) }); // isolated
const social = schema({ namespace: "social", tables: { users, follows, posts, tags } });

describe("catalog", () => {
  const catalog = buildCatalog(social.namespace, social.tableMetas);

  it("is a graphology MultiDirectedGraph: one node per table, one edge per relation direction", () => {
    expect(catalog).toBeInstanceOf(MultiDirectedGraph);
    expect(catalog).toBeInstanceOf(Catalog);
    expect(catalog.nodes()).toEqual(["users", "follows", "posts", "tags"]);
    expect(catalog.getNodeAttributes("users")).toMatchObject({ link: "/state/social/users", keyColumns: ["id"], columns: ["id", "name", "city"] });
    expect(catalog.getNodeAttributes("follows").keyColumns).toEqual(["follower", "followee"]);
    // 3 foreign keys × 2 directions + 1 edge table × 2 directions
    expect(catalog.size).toBe(8);
    expect(catalog.relations("users").map((r) => r.name).sort()).toEqual(["followers", "follows", "follows_by_followee", "follows_by_follower", "posts"]);
    expect(catalog.relations("follows").map((r) => r.name)).toEqual(["follower", "followee"]);
    expect(catalog.relations("posts").map((r) => r.name)).toEqual(["author"]);
    expect(catalog.relations("tags")).toEqual([]);
  });

  it("names and describes each relation, with its inverse", () => {
    const f = catalog.relation("users", "follows");
    expect(f).toMatchObject({ source: "users", target: "users", kind: "edge", direction: "forward", inverse: "followers", via: "follows" });
    expect(catalog.relation("users", "followers")).toMatchObject({ kind: "edge", direction: "inverse", inverse: "follows" });
    expect(catalog.relation("posts", "author")).toMatchObject({ target: "users", kind: "foreign_key", direction: "forward", inverse: "posts" });
    expect(catalog.relation("users", "posts")).toMatchObject({ target: "posts", direction: "inverse", inverse: "author" });
    // FK defaults (ORM): name = column without _id; inverse = table name, or <table>_by_<name> when a table points twice.
    expect(catalog.relation("follows", "follower")).toMatchObject({ target: "users", inverse: "follows_by_follower" });
    expect(() => catalog.relation("users", "nope")).toThrow(/users has no relation "nope"; its relations: .*follows/);
    expect(() => catalog.relation("nope", "x")).toThrow(BadRequestError);
  });

  it("routes between tables along the fewest relations", () => {
    expect(catalog.route("posts", "users")).toEqual([[{ from: "posts", relation: "author", to: "users" }]]);
    expect(catalog.route("users", "users")).toEqual([[]]);
    expect(catalog.route("follows", "posts")).toEqual([
      [
        { from: "follows", relation: "follower", to: "users" },
        { from: "users", relation: "posts", to: "posts" },
      ],
      [
        { from: "follows", relation: "followee", to: "users" },
        { from: "users", relation: "posts", to: "posts" },
      ],
    ]);
    expect(catalog.route("users", "tags")).toEqual([]);
  });

  it("draws itself as Mermaid and DOT", () => {
    const m = catalog.toMermaid();
    expect(m.startsWith("flowchart LR\n")).toBe(true);
    expect(m).toContain('t_users == "follows / followers" ==> t_users');
    expect(m).toContain('t_posts -- "author / posts" --> t_users');
    expect(m).toContain("t_tags[");
    const d = catalog.toDot();
    expect(d).toContain('digraph "social" {');
    expect(d).toContain('"users" -> "users" [label="follows / followers", style=bold];');
    expect(d).toContain('"posts" -> "users" [label="author / posts"];');
    expect(d.trim().endsWith("}")).toBe(true);
  });

  it("lists each table's columns in Mermaid with their types, keys and enforced references", () => {
    const owners = table("owners", { id: col.u64().key().autoIncrement(), name: col.string(40), born: col.timestamp().nullable() });
    const pets = table("pets", {
      id: col.uuid().key().defaultRandom(),
      owner: col.u64().references(() => owners, { onDelete: "cascade" }),
      vet: col.u64().nullable().references(() => owners, { name: "vet", inverse: "patients", enforce: false }),
      kind: col.enum(["cat", "dog"]),
      chip: col.u64({ mode: "bigint" }),
    });
    const m = buildCatalog("zoo", schema({ namespace: "zoo", tables: { owners, pets } }).tableMetas).toMermaid();
    expect(m).toContain('t_owners["<b>owners</b><br/>PK id: u64 auto<br/>name: string(40)<br/>born: timestamp?"]');
    expect(m).toContain("<br/>PK id: uuid random<br/>FK owner: u64 → owners (on delete cascade)");
    expect(m).toContain("<br/>vet: u64? → owners (not enforced)");
    expect(m).toContain("<br/>kind: enum(cat#124;dog)<br/>chip: u64 bigint");
    expect(m).toContain('t_pets -- "owner / pets_by_owner" --> t_owners');
  });

  it("gives an edge table without { inverse } the inverse <name>_inverse", () => {
    const likes = table("likes", {
      who: col.u64().key().references(() => users, { inverse: "liked" }),
      what: col.u64().key().references(() => posts, { inverse: "likers" }),
    }).edge("likes", { from: "who", to: "what" });
    const c = buildCatalog("s", schema({ namespace: "s", tables: { users, posts, likes } }).tableMetas);
    expect(c.relation("users", "likes")).toMatchObject({ target: "posts", inverse: "likes_inverse" });
    expect(c.relation("posts", "likes_inverse")).toMatchObject({ target: "users", inverse: "likes" });
  });

  it("refuses two relations of one table with the same name, naming both", async () => {
    const clashing = table("follows", {
      follower: col.u64().key().references(() => users),
      followee: col.u64().key().references(() => users),
    }).edge("follows", { from: "follower", to: "followee", inverse: "posts" });
    // schema() itself refuses the clash, so no catalog, connection or graph can be built from it.
    const declare = () => schema({ namespace: "bad", tables: { users, follows: clashing, posts } });
    expect(declare).toThrow(BadRequestError);
    expect(declare).toThrow(/table users has two relations named posts: .*posts\.author.* and .*edge table follows/);
    // The catalog builder checks the same rule on metadata that did not come from schema().
    const ok = schema({ namespace: "bad", tables: { users, posts } });
    const follows = schema({ namespace: "bad2", tables: { users, follows: table("follows", {
      follower: col.u64().key().references(() => users),
      followee: col.u64().key().references(() => users),
    }).edge("follows", { from: "follower", to: "followee", inverse: "posts" }) } });
    const merged = [...ok.tableMetas, follows.tableMetas.find((m) => m.name === "follows")!];
    expect(() => relationsOf(merged)).toThrow(/table users has two relations named posts/);
    expect(() => buildCatalog("bad", merged)).toThrow(BadRequestError);
  });

  it("refuses a relation no index serves", () => {
    const metas = social.tableMetas.map((m) => (m.name === "posts" ? { ...m, indexes: [] } : m));
    expect(() => relationsOf(metas)).toThrow(/relation users\.posts needs an index on posts\(author\)/);
  });

  it("in(): refuses a relation name that arrives from two tables, pointing at the inverses", () => {
    const comments = table("comments", {
      id: col.u64().key(),
      author: col.u64().references(() => users, { name: "author", inverse: "comments" }),
    });
    const s = schema({ namespace: "c", tables: { users, posts, comments } });
    const g = createGraph(s, embedded());
    expect(() => g.match("users").in("author" as never)).toThrow(/arrives at users from posts and comments; use \.out\(\) with the inverse relation instead \(users\.posts, users\.comments\)/);
    expect(g.match("users").out("comments").compile().plan.steps).toHaveLength(1);
  });
});

describe("catalog as a graphology graph", () => {
  it("supports graphology's own operations (copy, export)", () => {
    const catalog = buildCatalog(social.namespace, social.tableMetas);
    const copy = catalog.copy();
    expect(copy.order).toBe(catalog.order);
    expect(copy.size).toBe(catalog.size);
    const exported = catalog.export();
    expect(exported.nodes.map((n) => n.key)).toEqual(["users", "follows", "posts", "tags"]);
    expect(exported.edges.find((e) => e.key === "users.follows")?.attributes?.["target"]).toBe("users");
  });
});
