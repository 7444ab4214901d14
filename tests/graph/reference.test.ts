/**
 * Every builder feature, compiled and executed, returns exactly what the reference implementation
 * (plain adjacency maps, tests/graph/support.ts) returns on random graphs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { graphArb, norm, planRunner, reference, runSpec, specArb, type GraphData, type Spec } from "./support.js";

describe("traversals match the reference (plan interpreter on random graphs)", () => {
  it("every feature, random graphs and random traversals", async () => {
    await fc.assert(
      fc.asyncProperty(graphArb(), specArb(), async (data: GraphData, spec: Spec) => {
        const got = await runSpec(planRunner(data), spec);
        expect(norm(got)).toEqual(norm(reference(data, spec)));
      }),
      { numRuns: 400 },
    );
  });

  it("variable-length hops on cyclic graphs with self-loops, distinct and trails", async () => {
    const hopsOnly = specArb({ maxOps: 3, results: ["distinct", "rows", "count", "distinct_count", "paths"] });
    await fc.assert(
      fc.asyncProperty(graphArb(5), hopsOnly, async (data, spec) => {
        const got = await runSpec(planRunner(data), spec);
        expect(norm(got)).toEqual(norm(reference(data, spec)));
      }),
      { numRuns: 300 },
    );
  });
});
