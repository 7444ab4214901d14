/**
 * Type-level tests of relational selects: qualified columns, join nullability, aggregate result
 * types, `with` result shapes (to-one, to-many, edge, nested), returning, and what `tsc` refuses.
 */
import { describe, expectTypeOf, it } from "vitest";
import type { Executor } from "../../src/executor.js";
import { connect } from "../../src/orm/index.js";
import { social } from "./fixtures/social.js";

declare const executor: Executor;
const db = await connect(social, executor);

describe("joins", () => {
  it("types qualified and renamed columns; a left join's columns are nullable", async () => {
    const inner = await db.selectFrom("posts").innerJoin("users", "users.id", "posts.author").select(["posts.id as postId", "users.name", "lang"]).execute();
    expectTypeOf(inner).toEqualTypeOf<{ postId: number; name: string; lang: string }[]>();
    const left = await db.selectFrom("users").leftJoin("posts", "posts.author", "users.id").select(["users.id", "posts.id as pid", "posts.score"]).execute();
    expectTypeOf(left).toEqualTypeOf<{ id: number; pid: number | null; score: number | null }[]>();
    const three = await db
      .selectFrom("users")
      .leftJoin("posts", "posts.author", "users.id")
      .leftJoin("users as reviewer", "reviewer.id", "posts.reviewer")
      .select(["users.name", "reviewer.name as reviewerName"])
      .execute();
    expectTypeOf(three).toEqualTypeOf<{ name: string; reviewerName: string | null }[]>();
    const rel = await db.selectFrom("users").innerJoinRelation("follows").select(["users.id", "follows.name as friend"]).execute();
    expectTypeOf(rel).toEqualTypeOf<{ id: number; friend: string }[]>();
    const lrel = await db.selectFrom("posts").leftJoinRelation("reviewer as r").select(["r.age"]).execute();
    expectTypeOf(lrel).toEqualTypeOf<{ age: number | null }[]>();
    // Without select(), rows are the from table's.
    expectTypeOf(await db.selectFrom("posts").innerJoin("users", "users.id", "posts.author").execute()).toEqualTypeOf<
      { id: number; author: number; reviewer: number | null; lang: string; score: number; parent: number | null }[]
    >();
  });

  it("refuses unknown qualified columns and relations", () => {
    // @ts-expect-error -- posts has no column "nmae"
    db.selectFrom("posts").innerJoin("users", "users.id", "posts.author").where("users.nmae", "=", "x");
    // @ts-expect-error -- comments is not an alias in scope
    db.selectFrom("posts").select(["comments.id"]);
    // @ts-expect-error -- posts has no column "nope"
    db.selectFrom("users").innerJoin("posts", "posts.nope", "users.id");
    // @ts-expect-error -- users has no relation "comments"
    db.selectFrom("users").with("comments");
    // @ts-expect-error -- a string column compared with a number
    db.selectFrom("posts").innerJoin("users", "users.id", "posts.author").where("users.name", "=", 3);
  });
});

describe("aggregates", () => {
  it("types count as number, avg/sum as number | null, min/max as the column's type | null", async () => {
    const rows = await db
      .selectFrom("users")
      .select((eb) => [
        "city",
        eb.fn.count("id").as("n"),
        eb.fn.countAll().as("all"),
        eb.fn.countDistinct("age").as("ages"),
        eb.fn.avg("age").as("avgAge"),
        eb.fn.sum("age").as("total"),
        eb.fn.min("name").as("first"),
        eb.fn.max("age").as("oldest"),
      ])
      .groupBy("city")
      .having((eb) => eb(eb.fn.count("id"), ">", 1))
      .orderBy("n", "desc")
      .execute();
    expectTypeOf(rows).toEqualTypeOf<
      { city: string; n: number; all: number; ages: number; avgAge: number | null; total: number | null; first: string | null; oldest: number | null }[]
    >();
    // @ts-expect-error -- sum needs a numeric column
    db.selectFrom("users").select((eb) => [eb.fn.sum("name").as("s")]);
  });

  it("types expression-builder conditions and their operators", () => {
    db.selectFrom("users").where((eb) => eb.or([eb("age", "<", 18), eb("age", ">", 65), eb.not(eb("name", "like", "a%")), eb.between("age", 1, 2)]));
    db.selectFrom("users").where("id", "in", db.selectFrom("posts").select(["author"]));
    db.selectFrom("users").where("name", "not like", "\\%%");
    // @ts-expect-error -- like applies to strings
    db.selectFrom("users").where("age", "like", "1%");
    // @ts-expect-error -- is null only on nullable columns
    db.selectFrom("users").where("name", "is", null);
  });
});

describe("with", () => {
  it("gives a to-many relation an array, a to-one an object or null, nested three levels", async () => {
    const rows = await db
      .selectFrom("users")
      .select(["id"])
      .with("posts", (q) => q.where("lang", "=", "en").orderBy("score", "desc").limit(3).select(["id", "score"]).with("replies", (r) => r.select(["id"]).with("author", (a) => a.select(["name"]))))
      .with("follows", (q) => q.select(["name"]))
      .execute();
    expectTypeOf(rows).toEqualTypeOf<
      {
        id: number;
        posts: { id: number; score: number; replies: { id: number; author: { name: string } | null }[] }[];
        follows: { name: string }[];
      }[]
    >();
    const toOne = await db.selectFrom("posts").select(["id"]).with("reviewer").execute();
    expectTypeOf(toOne).toEqualTypeOf<{ id: number; reviewer: { id: number; name: string; age: number | null; city: string; active: boolean } | null }[]>();
  });
});

describe("order and returning", () => {
  it("accepts several order keys and types returning rows", async () => {
    db.selectFrom("users").orderBy("city").orderBy("age", "desc").orderBy("users.id");
    expectTypeOf(await db.insertInto("users").values({ id: 1, name: "a" }).returning(["id", "city"]).execute()).toEqualTypeOf<{ id: number; city: string }[]>();
    expectTypeOf(await db.updateTable("users").set({ age: 3 }).where("id", "=", 1).returningAll().execute()).toEqualTypeOf<
      { id: number; name: string; age: number | null; city: string; active: boolean }[]
    >();
    expectTypeOf(await db.deleteFrom("posts").where("id", "=", 1).returning(["lang"]).execute()).toEqualTypeOf<{ lang: string }[]>();
  });
});

describe("distinctOn", () => {
  it("takes columns of the query's tables and keeps the row type", async () => {
    const firstPerAuthor = await db.selectFrom("posts").distinctOn("author").orderBy("score", "desc").select(["id", "author"]).execute();
    expectTypeOf(firstPerAuthor).toEqualTypeOf<{ id: number; author: number }[]>();
    db.selectFrom("posts").innerJoin("users", "users.id", "posts.author").distinctOn(["users.city", "posts.lang"]);
    // @ts-expect-error no column nope
    db.selectFrom("posts").distinctOn("nope");
  });
});

