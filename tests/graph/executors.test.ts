/**
 * Conformance on every executor: the compiled traversal, run by the kernel (embedded memory,
 * embedded durable, HTTP), returns what the reference returns on random graphs.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";
import { buildSpec, loadGraph, graphArb, norm, reference, specArb } from "./support.js";
import type { Graph, UntypedShape } from "../../src/graph/index.js";



describe.each(WITH_CLUSTER)("graph on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);

  it("random traversals match the reference", async () => {
    const executor = await createExecutor();
    await fc.assert(
      fc.asyncProperty(graphArb(6), fc.array(specArb(), { minLength: 4, maxLength: 4 }), async (data, specs) => {
        const db = await loadGraph(executor, data);
        for (const spec of specs) {
          const got = await buildSpec(db.graph as unknown as Graph<UntypedShape>, spec).execute();
          expect(norm(got)).toEqual(norm(reference(data, spec)));
        }
      }),
      { numRuns: 15 },
    );
  });
});
