/**
 * CRUD with tinychain-orm: declare tables, create them, insert, query with types, update,
 * delete, batch, session. Runs on the embedded kernel in memory:
 *
 *   npx tsx examples/crud.ts
 *
 * Pass a directory to keep the data on disk: `npx tsx examples/crud.ts ./data`.
 */
import { col, connect, embedded, param, schema, table, type Row } from "../src/index.js";

// 1. Declare the tables once. Key columns first in each row tuple; `.index()` enables ranges/orders.
export const users = table("users", {
  id: col.u64().key(),
  name: col.string(64),
  age: col.u32().nullable(),
  city: col.string(32).default("paris"),
}).index("by_city", ["city", "age"]);

export const posts = table("posts", {
  id: col.u64().key(),
  author: col.u64().references(() => users, { name: "author", inverse: "posts" }),
  title: col.string(128),
  likes: col.u32().default(0),
});

export const app = schema({ namespace: "crud_example", tables: { users, posts } });
export type User = Row<typeof users>;

async function main(): Promise<void> {
  const dataDir = process.argv[2];
  const db = await connect(app, embedded(dataDir ? { dataDir } : {}));
  try {
    // 2. Create the tables (an identical existing table is accepted; a different one is refused).
    console.log("sync:", await db.sync());

    // 3. Insert (validated with zod; defaults applied). "ignore" makes the example re-runnable.
    await db
      .insertInto("users")
      .values([
        { id: 1, name: "ada", age: 36 },
        { id: 2, name: "bob", age: 17, city: "rome" },
        { id: 3, name: "cy", city: "rome" },
        { id: 4, name: "dee", age: 52, city: "rome" },
      ])
      .onConflict("ignore")
      .execute();
    await db.insertInto("posts").values({ id: 10, author: 1, title: "hello" }).onConflict("update").execute();

    // 4. Typed queries: the result type follows select([...]).
    const adults: { id: number; name: string; age: number | null }[] = await db
      .selectFrom("users")
      .where("city", "=", "rome")
      .where("age", ">=", 18)
      .orderBy("age", "desc")
      .select(["id", "name", "age"])
      .execute();
    console.log("adults in rome:", adults);

    const ada: User | undefined = await db.selectFrom("users").where("id", "=", 1).executeTakeFirst();
    console.log("user 1:", ada);

    // A prepared query: values are parameters, the op is compiled once and reused.
    const byId = db.selectFrom("users").where("id", "=", param("id"));
    console.log("user 2:", await byId.executeTakeFirst({ id: 2 }));
    console.log("compiled:", JSON.stringify(byId.compile()));
    console.log("plan:", db.selectFrom("users").where("city", "=", "rome").where("name", "!=", "bob").explain());

    // 5. Update and delete return the number of rows they touched.
    console.log("updated:", await db.updateTable("users").set({ age: 18 }).where("id", "=", 2).execute());
    console.log("deleted:", await db.deleteFrom("users").where("age", "isNull").execute());

    // 6. A batch is one op: one transaction, one round trip; results in order.
    const [postsUpdated, rows] = await db.batch([
      db.updateTable("posts").set({ likes: 1 }).where("author", "=", 1),
      db.selectFrom("posts").where("author", "=", 1),
    ]);
    console.log("batch: updated", postsUpdated, "posts, then read", rows);

    // 7. A session: several statements in one transaction, rolled back if the callback throws.
    const count = await db.session(async (s) => {
      await s.insertInto("users").values({ id: 5, name: "eve", age: 29 }).onConflict("update").execute();
      return s.selectFrom("users").count().execute();
    });
    console.log("users now:", count);
  } finally {
    await db.close();
  }
}

await main();
