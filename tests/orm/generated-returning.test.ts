/**
 * Generated keys come back from `insert … returning` (issue 17 × issue 16): increment and random
 * uuid keys, one row and several, on every executor.
 */
import { afterAll, describe, expect, it } from "vitest";
import { col, connect, schema, table } from "../../src/index.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

const items = table("items", { id: col.u64().key().autoIncrement(), name: col.string(16) });
const tokens = table("tokens", { id: col.uuid().key().defaultRandom(), label: col.string(8) });
const app = schema({ namespace: "genret", tables: { items, tokens } });

describe.each(WITH_CLUSTER)("generated keys through returning on $name", (factory) => {
  const create = executorsFor(factory, afterAll);

  it("answers the keys the kernel generated", async () => {
    const db = await connect(app, await create());
    await db.sync();
    expect(await db.insertInto("items").values([{ name: "a" }, { name: "b" }]).returning(["id", "name"]).execute()).toEqual([
      { id: 1, name: "a" },
      { id: 2, name: "b" },
    ]);
    await db.deleteFrom("items").where("id", "=", 2).execute();
    // Never reused after a delete.
    expect(await db.insertInto("items").values({ name: "c" }).returningAll().execute()).toEqual([{ id: 3, name: "c" }]);
    const [t] = await db.insertInto("tokens").values({ label: "x" }).returningAll().execute();
    expect(t!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await db.selectFrom("tokens").select(["label"]).where("id", "=", t!.id).execute()).toEqual([{ label: "x" }]);
  });
});
