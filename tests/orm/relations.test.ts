import { describe, expect, it } from "vitest";
import { BadRequestError } from "../../src/errors.js";
import { col, schema, table } from "../../src/orm/index.js";

describe("relation names at schema() time", () => {
  const users = table("users", { id: col.u64().key(), name: col.string(32) });

  it("rejects an edge whose inverse clashes with a foreign key's inverse, naming both", () => {
    const posts = table("posts", {
      id: col.u64().key(),
      author: col.u64().references(() => users, { name: "author", inverse: "posts" }),
    });
    const likes = table("likes", {
      who: col.u64().key().references(() => users),
      whom: col.u64().key().references(() => users),
    }).edge("likes", { from: "who", to: "whom", inverse: "posts" });
    let error: unknown;
    try {
      schema({ namespace: "clash", tables: { users, posts, likes } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BadRequestError);
    const message = (error as Error).message;
    expect(message).toContain("users has two relations named posts");
    expect(message).toContain("posts.author");
    expect(message).toContain("edge table likes");
  });

  it("accepts distinct names and several foreign keys to the same table", () => {
    const follows = table("follows", {
      follower: col.u64().key().references(() => users),
      followee: col.u64().key().references(() => users),
    }).edge("follows", { from: "follower", to: "followee", inverse: "followers" });
    const s = schema({ namespace: "ok", tables: { users, follows } });
    expect(s.tableMetas.map((t) => t.name)).toEqual(["users", "follows"]);
  });
});
