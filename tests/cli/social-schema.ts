/** The social schema the CLI tests seed and pass to `--schema`. */
import { col, schema, table } from "../../src/index.js";

export const users = table("users", { id: col.u64().key(), name: col.string(64), age: col.u32().nullable(), city: col.string(32) }).index("by_city", ["city"]);
export const follows = table("follows", {
  follower: col.u64().key().references(() => users),
  followee: col.u64().key().references(() => users),
}).edge("follows", { from: "follower", to: "followee", inverse: "followers" });
export const posts = table("posts", { id: col.u64().key(), author: col.u64().references(() => users, { name: "author", inverse: "posts" }), lang: col.string(8) });
export const social = schema({ namespace: "social", tables: { users, follows, posts } });
