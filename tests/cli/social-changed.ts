/** The social schema with `posts.lang` widened and a `posts.score` column (default 0): changes `migrate --apply` makes. */
import { col, schema, table } from "../../src/index.js";
import { follows, users } from "./social-schema.js";

export const posts = table("posts", { id: col.u64().key(), author: col.u64().references(() => users, { name: "author", inverse: "posts" }), lang: col.string(16), score: col.u32().default(0) });
export const socialChanged = schema({ namespace: "social", tables: { users, follows, posts } });
