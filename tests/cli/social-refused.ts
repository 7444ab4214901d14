/** The social schema with `posts.lang` turned into a number without a transform: a change `migrate` refuses. */
import { col, schema, table } from "../../src/index.js";
import { follows, users } from "./social-schema.js";

export const posts = table("posts", { id: col.u64().key(), author: col.u64().references(() => users, { name: "author", inverse: "posts" }), lang: col.u32() });
export const socialRefused = schema({ namespace: "social", tables: { users, follows, posts } });
