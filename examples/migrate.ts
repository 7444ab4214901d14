/**
 * Schema migrations with tinychain-orm: a first version of a table is created and filled, then a
 * second declaration renames the table and a column, widens it, adds columns (a default, a
 * backfill computed from each row) and indexes; `planMigration()` shows the steps and `migrate()`
 * applies them in one transaction. A process still declaring the first version is refused.
 *
 *   npx tsx examples/migrate.ts [./data]
 */
import { col, connect, ConflictError, embedded, schema, table } from "../src/index.js";

const ex = embedded(process.argv[2] ? { dataDir: process.argv[2] } : {});

// Version 1.
const v1 = schema({
  namespace: "shop",
  tables: { people: table("people", { id: col.u64().key(), name: col.string(16), email: col.string(32) }) },
});
const old = await connect(v1, ex);
await old.sync();
await old.insertInto("people").values([
  { id: 1, name: "Ada", email: "ada@example.org" },
  { id: 2, name: "Grace", email: "grace@example.org" },
]).execute();

// Version 2: what changed is declared on the tables and columns themselves.
const v2 = schema({
  namespace: "shop",
  tables: {
    users: table("users", {
      id: col.u64().key(),
      full_name: col.string(64).renamedFrom("name"),
      email: col.string(32).unique(),
      city: col.string(16).default("paris"),
      slug: col.string(16).backfill((row) => String(row.name).toLowerCase()),
    })
      .index("by_city", ["city"])
      .renamedFrom("people"),
  },
});
const db = await connect(v2, ex);
console.log(String(await db.planMigration()));
const result = await db.migrate();
console.log(`applied: ${result.applied}, schema ${result.from} → ${result.to}`);
console.log(await db.selectFrom("users").where("city", "=", "paris").execute());
console.log(`again: applied ${(await db.migrate()).applied}`);

// The first version is now an older declaration.
try {
  await old.sync();
} catch (e) {
  if (!(e instanceof ConflictError)) throw e;
  console.log(`v1 refused: ${e.message}`);
}
await ex.close();
