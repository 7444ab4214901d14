/**
 * Every builder feature, compiled and executed, returns exactly what the reference implementation
 * (plain adjacency maps, tests/graph/support.ts) returns on random graphs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createGraph, type Graph, type UntypedShape } from "../../src/graph/index.js";
import { CITIES, graphArb, norm, planRunner, reference, referenceShortest, runSpec, specArb, testSchema, type GraphData, type HopDir, type Spec } from "./support.js";

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

describe("shortestPath matches the reference", () => {
  it("fewest hops, ties to the smallest path in canonical order, null when unreachable", async () => {
    const endpoint = fc.oneof(
      fc.integer({ min: 1, max: 6 }).map((id) => ({ id })),
      fc.constantFrom(...CITIES).map((city) => ({ city })),
    );
    const relation = fc.constantFrom<[HopDir, string]>(["out", "knows"], ["in", "knows"], ["both", "knows"], ["out", "boss"], ["out", "reports"], ["both", "boss"], ["out", "known_by"]);
    await fc.assert(
      fc.asyncProperty(graphArb(6), endpoint, endpoint, relation, fc.integer({ min: 0, max: 4 }), async (data, from, to, [dir, rel], maxHops) => {
        const graph = createGraph(testSchema, planRunner(data)) as unknown as Graph<UntypedShape>;
        const got = await graph.shortestPath(graph.match("people", from), graph.match("people", to), rel, { maxHops, direction: dir }).execute();
        expect(norm(got)).toEqual(norm(referenceShortest(data, from, to, dir, rel, maxHops)));
      }),
      { numRuns: 300 },
    );
  });
});
