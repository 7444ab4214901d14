/**
 * An op that is one traverse request runs as that request (ops/direct-traverse.ts). The same request made
 * by the op executor — the op with one more step, which the direct form does not take — must give
 * the same result or the same error, for random traversals and for wrong arguments.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { embedded } from "../../src/kernel/index.js";
import { directTraverse } from "../../src/kernel/ops/direct-traverse.js";
import type { Graph, UntypedShape } from "../../src/graph/index.js";
import { param, decodeOpDef } from "../../src/ir/index.js";
import type { Json } from "../../src/ir/types.js";
import { buildSpec, graphArb, loadGraph, specArb } from "../graph/support.js";

type Steps = [string, Json][];
const stepsOf = (op: Json): Steps => (op as Record<string, Steps>)["/state/scalar/op/post"]!;
/** The same request as the op's last step, behind one more step: run by the op executor. */
const viaExecutor = (op: Json): Json => ({ "/state/scalar/op/post": [["_first", 0], ...stepsOf(op)] });

async function outcome(run: () => Promise<Json>): Promise<unknown> {
  try {
    return { ok: await run() };
  } catch (e) {
    return { error: (e as Error).constructor.name, message: (e as Error).message };
  }
}

describe("direct traverse ops", () => {
  it("are recognised only in the shape the graph compiles to", async () => {
    const executor = embedded();
    const db = await loadGraph(executor, { people: [], knows: [], posts: [] });
    const g = db.graph as unknown as Graph<UntypedShape>;
    const { op } = g.match("people", { id: param("me") }).out("knows").distinct().compile();
    const direct = directTraverse(decodeOpDef(op));
    expect(direct?.path).toEqual(["gtest", "people", "traverse"]);
    expect(direct?.args.map((a) => a.name)).toEqual(["me"]);
    const [name, call] = stepsOf(op)[0]!;
    const plan = (call as Record<string, [[string, Json]]>)["/state/gtest/people/traverse"]![0]![0];
    const others: Json[] = [
      viaExecutor(op),
      { "/state/scalar/op/post": [[name, { "/state/gtest/people/count": [[plan, {}]] }]] },
      { "/state/scalar/op/post": [["p", "/state/gtest/people"], [name, { "$p/traverse": [[plan, {}]] }]] },
      { "/state/scalar/op/post": [[name, { "/state/gtest/people/traverse": [[plan, { me: [1, 2] }]] }]] },
      { "/state/scalar/op/post": [[name, { "/state/gtest/people/traverse": [[plan, { me: { $me: [] } }, 3]] }]] },
      { "/state/scalar/op/get": ["key", [[name, { "/state/gtest/people/traverse": [[plan, { me: { $key: [] } }]] }]]] },
    ];
    for (const other of others) expect(directTraverse(decodeOpDef(other))).toBeUndefined();
    // Literal entries in the parameter map are passed as they are.
    await db.insertInto("people").values([1, 2].map((id) => ({ id, name: "p", age: 30, city: "rome", boss: null }))).execute();
    await db.insertInto("knows").values([{ a: 1, b: 2, n: 0, since: 2000 }]).execute();
    const literal: Json = { "/state/scalar/op/post": [[name, { "/state/gtest/people/traverse": [[plan, { me: 1 }]] }]] };
    expect(directTraverse(decodeOpDef(literal))?.args).toEqual([{ name: "me", param: undefined, literal: 1 }]);
    expect(await executor.execute(literal)).toEqual([[2, "p", 30, "rome", null]]);
    expect(await executor.execute(literal)).toEqual(await executor.execute(viaExecutor(literal)));
    await executor.close();
  });

  it("give the op executor's result or error, for random traversals and arguments", async () => {
    const executor = embedded();
    await fc.assert(
      fc.asyncProperty(graphArb(5), fc.array(specArb({ maxOps: 3 }), { minLength: 2, maxLength: 2 }), fc.integer({ min: 0, max: 6 }), async (data, specs, me) => {
        const db = await loadGraph(executor, data);
        const g = db.graph as unknown as Graph<UntypedShape>;
        for (const spec of specs) {
          const { op, literals } = buildSpec(g, spec).compile();
          expect(directTraverse(decodeOpDef(op))).toBeDefined();
          const args = { ...literals } as Record<string, Json>;
          const direct = await outcome(() => executor.execute(op, args));
          expect(direct).toHaveProperty("ok");
          expect(direct).toEqual(await outcome(() => executor.execute(viaExecutor(op), args)));
        }
        // A budget too small, and arguments missing, wrong or unknown.
        const small = g.match("people").out("knows", { hops: [1, 3] }).budget(2).compile();
        const overBudget = await outcome(() => executor.execute(small.op, {}));
        if (data.knows.length > 0) expect(overBudget).toHaveProperty("error");
        expect(overBudget).toEqual(await outcome(() => executor.execute(viaExecutor(small.op), {})));
        const started = g.match("people", { id: param("me") }).out("knows", { hops: [1, 2] }).distinct().limit(param("n")).compile();
        for (const a of [{ me, n: 2 }, { me }, { me, n: -1 }, { me: "x", n: 1 }, { me, n: 1, extra: 1 }] as Record<string, Json>[]) {
          expect(await outcome(() => executor.execute(started.op, a))).toEqual(await outcome(() => executor.execute(viaExecutor(started.op), a)));
        }
      }),
      { numRuns: 40 },
    );
    await executor.close();
  });
});
