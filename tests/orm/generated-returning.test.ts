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

describe("returning statements of one shape", () => {
  const shop = schema({
    namespace: "retshape",
    tables: { items: table("items", { id: col.u64().key().autoIncrement(), name: col.string(16), sku: col.string(8).unique().nullable() }) },
  });

  it("send one op object whatever their rows and values (the host's op cache hits by identity)", async () => {
    const { embedded } = await import("../../src/kernel/index.js");
    const ex = embedded();
    try {
      const db = await connect(shop, ex);
      await db.sync();
      const ins = (rows: { name: string; sku?: string | null }[]) => db.insertInto("items").values(rows).returning(["id", "name"]);
      const one = ins([{ name: "a" }]).compile();
      expect(ins([{ name: "b", sku: "s1" }]).compile().op).toBe(one.op);
      // The rows go as one parameter: the op is the same for any number of them.
      expect(ins([{ name: "c" }, { name: "d" }, { name: "e" }]).compile().op).toBe(one.op);
      // Another projection decodes other columns (here the same text: with a unique check the
      // host answers whole rows).
      const names = db.insertInto("items").values({ name: "c" }).returning(["name"]);
      expect(names.compile().op).not.toBe(one.op);
      const upd = (n: string, id: number) => db.updateTable("items").set({ name: n }).where("id", "=", id).returning(["id"]).compile();
      expect(upd("x", 1).op).toBe(upd("y", 2).op);
      const del = (id: number) => db.deleteFrom("items").where("id", "=", id).returningAll().compile();
      expect(del(1).op).toBe(del(2).op);
      // And they still answer their own rows, the unique check included.
      expect(await ins([{ name: "a", sku: "s1" }, { name: "b" }]).execute()).toEqual([{ id: 1, name: "a" }, { id: 2, name: "b" }]);
      expect(await ins([{ name: "c" }, { name: "d", sku: "s2" }]).execute()).toEqual([{ id: 3, name: "c" }, { id: 4, name: "d" }]);
      await expect(ins([{ name: "e", sku: "s2" }, { name: "f" }]).execute()).rejects.toMatchObject({ kind: "conflict" });
      expect(await names.execute()).toEqual([{ name: "c" }]);
      expect(await db.selectFrom("items").select(["id"]).execute()).toHaveLength(5);
    } finally {
      await ex.close();
    }
  });
});
