/**
 * Type tests: `.where` takes only the current table's columns (and their value types), `.out`
 * only relations of the current table, `.in` only relations arriving at it; result row types
 * follow hops, `select`, `count`, `paths`, `return`.
 */
import { describe, expectTypeOf, test } from "vitest";
import type { Graph, PathStep, ShapeOfSchema } from "../../src/graph/index.js";
import type { Db } from "../../src/connect.js";
import { param } from "../../src/ir/index.js";
import { col, table, type Row, type schema } from "../../src/orm/index.js";
import type { follows, posts, social, users } from "../orm/fixtures/social.js";
import type { testSchema } from "./support.js";

type User = { id: number; name: string; city: string; age: number | null };
type Post = { id: number; author: number; lang: string };
type Social = {
  rows: { users: User; posts: Post };
  rels: { users: { follows: "users"; followers: "users"; posts: "posts" }; posts: { author: "users" } };
};
declare const g: Graph<Social>;

describe("where", () => {
  test("only the current table's columns, with their value types", () => {
    g.match("users").where("city", "=", "paris");
    g.match("users").where("age", ">=", 18).where("id", "in", [1, 2]);
    g.match("users").where("city", "=", param("city"));
    // @ts-expect-error lang is a column of posts, not users
    g.match("users").where("lang", "=", "en");
    g.match("users").out("posts").where("lang", "=", "en");
    // @ts-expect-error after out("posts") the traversal is at posts
    g.match("users").out("posts").where("city", "=", "paris");
    // @ts-expect-error id is a number
    g.match("users").where("id", "=", "one");
    // @ts-expect-error in takes a list
    g.match("users").where("id", "in", 1);
  });
  test("dates, bigints and bytes filter their columns, as literals and as execution arguments", () => {
    type Ev = { rows: { events: { id: string; at: Date; big: bigint; raw: Uint8Array } }; rels: { events: Record<never, never> } };
    const e = null as unknown as Graph<Ev>;
    e.match("events").where("at", ">", new Date(0)).where("big", "in", [1n, 2n]).where("raw", "=", new Uint8Array(1));
    e.match("events", { big: 5n });
    void e.match("events").where("at", "<", param("t")).execute({ t: new Date() });
    // @ts-expect-error a timestamp column compares with a Date, not a bigint
    e.match("events").where("at", ">", 5n);
  });
  test("match filters are typed by the table", () => {
    g.match("users", { id: 1, city: param("c") });
    // @ts-expect-error no column lang on users
    g.match("users", { lang: "en" });
    // @ts-expect-error unknown table
    g.match("comments");
  });
});

describe("relations", () => {
  test("out: only relations of the current table", () => {
    g.match("users").out("follows").out("posts").out("author");
    // @ts-expect-error author is a relation of posts
    g.match("users").out("author");
    // @ts-expect-error posts has no relation follows
    g.match("posts").out("follows");
  });
  test("in: only relations arriving at the current table; both: self-relations only", () => {
    expectTypeOf(g.match("users").in("author").execute()).resolves.toEqualTypeOf<Post[]>();
    expectTypeOf(g.match("posts").in("posts").execute()).resolves.toEqualTypeOf<User[]>();
    // @ts-expect-error no relation named author arrives at posts
    g.match("posts").in("author");
    g.match("users").both("follows", { hops: [1, 3] });
    // @ts-expect-error posts leads to another table
    g.match("users").both("posts");
  });
});

describe("results", () => {
  test("rows follow the hops", () => {
    expectTypeOf(g.match("users").execute()).resolves.toEqualTypeOf<User[]>();
    expectTypeOf(g.match("users").out("posts").execute()).resolves.toEqualTypeOf<Post[]>();
    expectTypeOf(g.match("users").out("posts").out("author").distinct().execute()).resolves.toEqualTypeOf<User[]>();
  });
  test("select, count, paths, return", () => {
    expectTypeOf(g.match("users").out("follows").select(["id", "name"]).execute()).resolves.toEqualTypeOf<{ id: number; name: string }[]>();
    // @ts-expect-error lang is not a users column
    g.match("users").select(["lang"]);
    expectTypeOf(g.match("users").out("follows").count().execute()).resolves.toEqualTypeOf<number>();
    expectTypeOf(g.match("users").out("posts").paths().execute()).resolves.toEqualTypeOf<PathStep<Social>[][]>();
    const r = g.match("users").as("u").out("posts").as("p").return({ user: "u", post: "p" });
    expectTypeOf(r.execute()).resolves.toEqualTypeOf<{ user: User; post: Post }[]>();
    // @ts-expect-error alias x is not bound
    g.match("users").as("u").return({ user: "x" });
    expectTypeOf(g.shortestPath(g.match("users", { id: 1 }), g.match("users", { id: 2 }), "follows").execute()).resolves.toEqualTypeOf<PathStep<Social>[] | null>();
  });
  test("paths are a union over the tables, discriminated by table", () => {
    type Step = PathStep<Social>;
    expectTypeOf<Extract<Step, { table: "posts" }>["row"]>().toEqualTypeOf<Post>();
  });
});

describe("from an ORM schema", () => {
  type S = ShapeOfSchema<typeof testSchema>;
  test("row types come from the table declarations", () => {
    expectTypeOf<S["rows"]["people"]>().toEqualTypeOf<{ id: number; name: string; age: number | null; city: string; boss: number | null }>();
  });
  test("withRelations types relation names and targets", () => {
    const typed = ({} as Graph<S>).withRelations({ people: { knows: "people", posts: "posts" }, posts: { author: "people" } } as const);
    expectTypeOf(typed.match("people").out("posts").execute()).resolves.toEqualTypeOf<{ id: number; author: number; lang: string }[]>();
    typed.match("people").out("posts").where("lang", "=", "en");
    // @ts-expect-error posts has no relation knows
    typed.match("people").out("posts").out("knows");
    // @ts-expect-error the target must be a table of the schema
    ({} as Graph<S>).withRelations({ people: { knows: "nowhere" } } as const);
  });
});

describe("a schema with an unknown target falls back (an ORM schema without withRelations)", () => {
  // testSchema's people.boss references a thunk annotated `(): { name: string } => people`: its
  // target is not known to the type checker, so its inverse could arrive at any table and every
  // table accepts any relation name (checked at run time). Known names keep their exact targets.
  type S = ShapeOfSchema<typeof testSchema>;
  test("any relation name is accepted and checked at run time; known relations stay exact", () => {
    const u = {} as Graph<S>;
    u.match("people").out("knows").in("author").both("boss");
    u.match("people").out("whatever");
    u.match("people").where("city", "=", "paris");
    // @ts-expect-error people has no column lang
    u.match("people").where("lang", "=", "en");
    expectTypeOf(u.match("people").out("knows").execute()).resolves.toEqualTypeOf<S["rows"]["people"][]>();
    expectTypeOf(u.match("people").out("posts").execute()).resolves.toEqualTypeOf<{ id: number; author: number; lang: string }[]>();
    expectTypeOf(u.match("people").out("boss").execute()).resolves.toEqualTypeOf<Record<string, unknown>[]>();
    expectTypeOf(u.match("people").out("whatever").execute()).resolves.toEqualTypeOf<Record<string, unknown>[]>();
  });
});

describe("relations typed from the ORM declarations (no withRelations)", () => {
  // users ← follows (edge table: follows / followers) ; posts.author → users (author / posts);
  // posts.reviewer → users (reviewer / reviewed) ; posts.parent → "posts" (parent / replies).
  type G = ShapeOfSchema<typeof social>;
  type User = Row<typeof users>;
  type Post = Row<typeof posts>;
  const db = {} as Db<typeof social>;

  test("every table's relations, with the same default names as the runtime catalog", () => {
    expectTypeOf<G["rels"]["users"]>().toEqualTypeOf<{
      readonly posts: "posts";
      readonly reviewed: "posts";
      readonly follows_by_follower: "follows";
      readonly follows_by_followee: "follows";
      readonly follows: "users";
      readonly followers: "users";
    }>();
    expectTypeOf<G["rels"]["posts"]>().toEqualTypeOf<{
      readonly author: "users";
      readonly reviewer: "users";
      readonly parent: "posts";
      readonly replies: "posts";
    }>();
    expectTypeOf<G["rels"]["follows"]>().toEqualTypeOf<{ readonly follower: "users"; readonly followee: "users" }>();
  });

  test("db.graph: hops typed end to end", () => {
    const t = db.graph.match("users", { id: 1 }).out("follows").out("posts");
    expectTypeOf(t.execute()).resolves.toEqualTypeOf<Post[]>();
    t.where("lang", "=", "en");
    // @ts-expect-error after out("posts") the traversal is at posts
    t.where("city", "=", "paris");
    expectTypeOf(db.graph.match("users").out("follows").execute()).resolves.toEqualTypeOf<User[]>();
    expectTypeOf(db.graph.match("posts").out("author").out("followers").execute()).resolves.toEqualTypeOf<User[]>();
    expectTypeOf(db.graph.match("posts").out("replies").out("reviewer").execute()).resolves.toEqualTypeOf<User[]>();
    expectTypeOf(db.graph.match("users").out("follows_by_follower").execute()).resolves.toEqualTypeOf<Row<typeof follows>[]>();
    expectTypeOf(db.graph.match("users").in("author").execute()).resolves.toEqualTypeOf<Post[]>();
    db.graph.match("users").both("follows", { hops: [1, 3] });
    // @ts-expect-error no relation nope
    db.graph.match("users").out("nope");
    // @ts-expect-error author is a relation of posts, not users
    db.graph.match("users").out("author");
    // @ts-expect-error posts has no relation follows
    db.graph.match("users").out("posts").out("follows");
    // @ts-expect-error posts leads to another table
    db.graph.match("users").both("posts");
    // @ts-expect-error no relation named follows arrives at posts
    db.graph.match("posts").in("follows");
  });

  test("session graphs are typed the same way", async () => {
    await db.session(async (s) => {
      expectTypeOf(s.graph.match("users").out("posts").execute()).resolves.toEqualTypeOf<Post[]>();
      // @ts-expect-error no relation nope
      s.graph.match("users").out("nope");
    });
  });

  test("defaults: name without _id, inverse = table name, <table>_by_<name> for several FKs to one target, <edge>_inverse", () => {
    const a = table("a", { id: col.u64().key() });
    const b = table("b", {
      id: col.u64().key(),
      owner_id: col.u64().references(() => a),
      x: col.u64().references(() => a),
      y: col.u64().references(() => a, { inverse: "whys" }),
    });
    const c = table("c", { id: col.u64().key(), a_id: col.u64().references("a") });
    const e = table("e", { s: col.u64().key().references(() => a), t: col.u64().key().references(() => c, { name: "tee" }) }).edge("link", {
      from: "s",
      to: "t",
    });
    type R = ShapeOfSchema<ReturnType<typeof schema<"d", { a: typeof a; b: typeof b; c: typeof c; e: typeof e }>>>["rels"];
    expectTypeOf<R["a"]>().toEqualTypeOf<{
      readonly b_by_owner: "b";
      readonly b_by_x: "b";
      readonly whys: "b";
      readonly c: "c";
      readonly e: "e";
      readonly link: "c";
    }>();
    expectTypeOf<R["b"]>().toEqualTypeOf<{ readonly owner: "a"; readonly x: "a"; readonly y: "a" }>();
    expectTypeOf<R["c"]>().toEqualTypeOf<{ readonly a: "a"; readonly e: "e"; readonly link_inverse: "a" }>();
    expectTypeOf<R["e"]>().toEqualTypeOf<{ readonly s: "a"; readonly tee: "c" }>();
  });

  test("a name that is not a literal type opens that table only", () => {
    const dynamic: string = "rel";
    const a = table("a", { id: col.u64().key() });
    const b = table("b", { id: col.u64().key(), a: col.u64().references(() => a, { name: dynamic, inverse: "bs" }) });
    type R = ShapeOfSchema<ReturnType<typeof schema<"d", { a: typeof a; b: typeof b }>>>["rels"];
    expectTypeOf<R["a"]>().toEqualTypeOf<{ readonly bs: "b" }>();
    expectTypeOf<R["b"]["anything"]>().toEqualTypeOf<string>();
    expectTypeOf<keyof R["b"]>().toEqualTypeOf<string | number>();
  });
});
