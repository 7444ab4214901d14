/**
 * Conformance on every executor: the compiled traversal, run by the kernel (embedded memory,
 * embedded durable, HTTP), returns what the reference returns on random graphs.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { EXECUTORS } from "../support/executors.js";
import { connect } from "../../src/connect.js";
import type { Executor } from "../../src/client/executor.js";
import { buildSpec, graphArb, norm, reference, specArb, testSchema, type GraphData } from "./support.js";
import type { Graph, UntypedShape } from "../../src/graph/index.js";


async function load(executor: Executor, data: GraphData) {
  const db = await connect(testSchema, executor);
  await db.sync();
  for (const t of ["people", "knows", "posts"] as const) {
    await db.deleteFrom(t).execute();
    const rows = data[t] as never[];
    if (rows.length) await db.insertInto(t).values(rows).execute();
  }
  return db;
}

describe.each(EXECUTORS)("graph on $name", (factory) => {
  const open: Executor[] = [];
  afterAll(async () => {
    await Promise.all(open.map((e) => e.close()));
    await factory.cleanup?.();
  });

  it("random traversals match the reference", async () => {
    const executor = await factory.create();
    open.push(executor);
    await fc.assert(
      fc.asyncProperty(graphArb(6), fc.array(specArb(), { minLength: 4, maxLength: 4 }), async (data, specs) => {
        const db = await load(executor, data);
        for (const spec of specs) {
          const got = await buildSpec(db.graph as unknown as Graph<UntypedShape>, spec).execute();
          expect(norm(got)).toEqual(norm(reference(data, spec)));
        }
      }),
      { numRuns: 15 },
    );
  });
});
