/**
 * Every builder feature, compiled and executed, returns exactly what the reference implementation
 * (plain adjacency maps, tests/graph/support.ts) returns on random graphs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createGraph, type Graph, type GraphShape, type Traversal } from "../../src/graph/index.js";
import type { Runner } from "../../src/client/executor.js";
import { graphArb, norm, planRunner, reference, specArb, testSchema, type GraphData, type Spec } from "./support.js";

/** Builds the spec with the public builder API (untyped: specs are random). */
export function buildSpec(graph: Graph<GraphShape>, spec: Spec) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let t: Traversal<GraphShape, string, any, any> = graph.match(spec.start.table, spec.start.filter);
  for (const o of spec.ops) {
    if (o.kind === "hop") {
      const opts = o.hops ? { hops: o.hops } : undefined;
      t = o.dir === "out" ? t.out(o.rel, opts) : o.dir === "in" ? t.in(o.rel, opts) : t.both(o.rel, opts);
    } else if (o.kind === "where") {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      t = t.where(o.col, o.op as any, o.value as any);
    } else t = t.as(o.alias);
  }
  if (spec.result === "distinct" || spec.result === "distinct_count") t = t.distinct();
  for (const o of spec.orderBy) t = t.orderBy(o.col, o.desc ? "desc" : "asc");
  if (spec.select) t = t.select(spec.select);
  if (spec.offset !== null) t = t.offset(spec.offset);
  if (spec.limit !== null) t = t.limit(spec.limit);
  switch (spec.result) {
    case "count":
    case "distinct_count":
      return t.count();
    case "paths":
      return t.paths();
    case "return": {
      const aliases = spec.ops.filter((o) => o.kind === "as").map((o) => (o as { alias: string }).alias);
      return t.return(Object.fromEntries(aliases.map((a) => [a, a])));
    }
    default:
      return t;
  }
}

export async function runSpec(runner: Runner, spec: Spec): Promise<unknown> {
  const graph = createGraph(testSchema, runner) as unknown as Graph<GraphShape>;
  return buildSpec(graph, spec).execute();
}

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
