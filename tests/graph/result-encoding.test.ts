/**
 * A distinct traversal's page of plain cells is handed back without a second copy: these tests
 * hold the kernel to returning exactly what the op computes, whatever the op does with the
 * traversal's result afterwards, and to fresh tuples on every call. On every executor.
 */
import { afterAll, describe, expect, it } from "vitest";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";
import { connect } from "../../src/connect.js";
import { col, schema, table } from "../../src/orm/index.js";
import type { Graph, UntypedShape } from "../../src/graph/index.js";
import { BadRequestError } from "../../src/errors.js";
import type { Json } from "../../src/ir/types.js";

function peopleSchema() {
  const people = table("people", { id: col.u32().key(), name: col.string(16), score: col.f64().nullable() });
  const knows = table("knows", {
    a: col.u32().key().references(() => people),
    b: col.u32().key().references(() => people),
  }).edge("knows", { from: "a", to: "b", inverse: "known_by" });
  return schema({ namespace: "encoding", tables: { people, knows } });
}

const PEOPLE = [
  { id: 1, name: "ann", score: 1.5 },
  { id: 2, name: "bob", score: null },
  { id: 3, name: "cy", score: -0.25 },
  { id: 4, name: "dee", score: 7 },
];

/** The traversal's call (its op's only step), to be used as a step of another op. */
function traverseCall(op: Json): Json {
  const steps = (op as Record<string, [string, Json][]>)["/state/scalar/op/post"]!;
  expect(steps).toHaveLength(1);
  return steps[0]![1];
}

describe.each(WITH_CLUSTER)("traversal result encoding on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);

  it("an op that goes on with the traversal's result returns what it computes, as JSON", async () => {
    const executor = await createExecutor();
    const db = await connect(peopleSchema(), executor);
    await db.sync();
    await db.insertInto("people").values(PEOPLE).execute();
    await db.insertInto("knows").values([{ a: 1, b: 2 }, { a: 1, b: 3 }, { a: 3, b: 4 }]).execute();
    const g = db.graph as unknown as Graph<UntypedShape>;
    const reached = g.match("people", { id: 1 }).out("knows", { hops: [1, 2] }).distinct();
    const tuples = [[2, "bob", null], [3, "cy", -0.25], [4, "dee", 7]];
    expect(await reached.execute()).toEqual(PEOPLE.slice(1));

    const { op, literals } = reached.compile();
    const call = traverseCall(op);
    const post = (...steps: [string, Json][]): Json => ({ "/state/scalar/op/post": steps });
    // The result as it is, appended to, inside a map, and one tuple of it.
    expect(await executor.execute(op, literals)).toEqual(tuples);
    expect(await executor.execute(post(["t", call], ["r", { "$t/concat": { r: [[9, "zed", 0]] } }]), literals)).toEqual([...tuples, [9, "zed", 0]]);
    expect(await executor.execute(post(["t", call], ["r", { rows: { $t: [] }, n: { "$t/len": {} } }]), literals)).toEqual({ n: 3, rows: tuples });
    expect(await executor.execute(post(["t", call], ["r", { "$t/get": { i: 1 } }]), literals)).toEqual(tuples[1]);
    // An op that fails after its traversal step, then the plain traversal: still the right rows.
    await expect(executor.execute(post(["t", call], ["r", { "$t/get": { i: "x" } }]), literals)).rejects.toBeInstanceOf(BadRequestError);
    expect(await executor.execute(op, literals)).toEqual(tuples);
  });

  it("every call returns fresh tuples: changing one result changes neither the tables nor the next", async () => {
    const executor = await createExecutor();
    const db = await connect(peopleSchema(), executor);
    await db.sync();
    await db.insertInto("people").values(PEOPLE).execute();
    await db.insertInto("knows").values([{ a: 1, b: 2 }, { a: 1, b: 4 }]).execute();
    const g = db.graph as unknown as Graph<UntypedShape>;
    const { op, literals } = g.match("people", { id: 1 }).out("knows").distinct().select(["id", "name"]).compile();
    const first = (await executor.execute(op, literals)) as Json[][];
    expect(first).toEqual([[2, "bob"], [4, "dee"]]);
    first[0]![1] = "changed";
    first.push([0, "extra"]);
    expect(await executor.execute(op, literals)).toEqual([[2, "bob"], [4, "dee"]]);
    expect(await db.selectFrom("people").orderBy("id").execute()).toEqual(PEOPLE);
    const rows = await g.match("people", { id: 1 }).out("knows").distinct().execute();
    (rows[0] as Record<string, unknown>).name = "changed";
    expect(await g.match("people", { id: 1 }).out("knows").distinct().execute()).toEqual([PEOPLE[1], PEOPLE[3]]);
  });
});
