/**
 * A string with a lone surrogate cannot match the same rows on every executor (JSON over the wire
 * turns it into U+FFFD; tables refuse to hold one), so a traversal refuses it as a filter value,
 * a start filter or an execution argument with a typed error, before anything runs — on every
 * executor, alike. Well-formed strings, astral characters included, go through.
 */
import { afterAll, describe, expect, it } from "vitest";
import { connect } from "../../src/connect.js";
import { BadRequestError } from "../../src/errors.js";
import { param } from "../../src/ir/index.js";
import { col, schema, table } from "../../src/orm/index.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

const people = table("people", { id: col.u32().key(), name: col.string(32) }).index("by_name", ["name"]);
const knows = table("knows", {
  a: col.u32().key().references(() => people),
  b: col.u32().key().references(() => people),
}).edge("knows", { from: "a", to: "b", inverse: "known_by" });
const S = schema({ namespace: "graph_strings", tables: { people, knows } });

const LONE = ["a\ud800b", "\udc00", "x\ud83d"];

describe.each(WITH_CLUSTER)("traversal strings on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);

  it("refuses a lone surrogate in where, match and arguments; accepts astral characters", async () => {
    const db = await connect(S, await createExecutor());
    await db.sync();
    await db.insertInto("people").values([{ id: 1, name: "ada" }, { id: 2, name: "b\u{1F600}" }]).execute();
    await db.insertInto("knows").values([{ a: 1, b: 2 }]).execute();
    const g = db.graph;
    for (const s of LONE) {
      expect(() => g.match("people", { id: 1 }).out("knows").where("name", "=", s)).toThrow(BadRequestError);
      expect(() => g.match("people", { name: s })).toThrow(/lone surrogate/);
      const q = g.match("people", { id: 1 }).out("knows").where("name", "=", param("n"));
      await expect(q.execute({ n: s })).rejects.toThrow(/parameter n: the string has a lone surrogate/);
    }
    const rows = await g.match("people", { id: 1 }).out("knows").where("name", "=", param("n")).execute({ n: "b\u{1F600}" });
    expect(rows).toEqual([{ id: 2, name: "b\u{1F600}" }]);
  });
});
