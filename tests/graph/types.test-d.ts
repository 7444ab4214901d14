/**
 * Type tests: `.where` takes only the current table's columns (and their value types), `.out`
 * only relations of the current table, `.in` only relations arriving at it; result row types
 * follow hops, `select`, `count`, `paths`, `return`.
 */
import { describe, expectTypeOf, test } from "vitest";
import type { Graph, PathStep, ShapeOfSchema } from "../../src/graph/index.js";
import { param } from "../../src/ir/index.js";
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

describe("untyped relations (an ORM schema without withRelations)", () => {
  type S = ShapeOfSchema<typeof testSchema>;
  test("any relation name is accepted and checked at run time; rows stay typed at the start", () => {
    const u = {} as Graph<S>;
    u.match("people").out("knows").in("author").both("boss");
    u.match("people").where("city", "=", "paris");
    // @ts-expect-error people has no column lang
    u.match("people").where("lang", "=", "en");
    expectTypeOf(u.match("people").out("knows").execute()).resolves.toEqualTypeOf<Record<string, unknown>[]>();
  });
});
