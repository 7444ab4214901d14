/** The social schema plus a `likes` edge table: an additive change `migrate --apply` can make. */
import { col, schema, table } from "../../src/index.js";
import { follows, posts, users } from "./social-schema.js";

export const likes = table("likes", { user: col.u64().key().references(() => users), post: col.u64().key().references(() => posts) });
export const socialV2 = schema({ namespace: "social", tables: { users, follows, posts, likes } });
