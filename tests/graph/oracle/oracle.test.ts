/**
 * The reference oracle itself: its value semantics on the cases the specification names, and the
 * visit budget it predicts for every result kind (trails stop once the page is full; a shortest
 * path stops at the first target) against the embedded kernel, on random graphs.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { createGraph, type Graph, type UntypedShape } from "../../../src/graph/index.js";
import { embedded } from "../../../src/kernel/index.js";
import { buildSpec, CITIES, graphArb, loadGraph, planRunner, smallestBudget, specArb, testSchema, type GraphData, type HopDir, type Spec } from "../support.js";
import { holds, order, same } from "./values.js";

describe("the oracle's values", () => {
  it("orders kinds none < bool < number < string < link < tuple", () => {
    const ascending = [null, false, true, -1, 2.5, "", "a", { href: "/a" }, { href: "/b" }, [], [null], [1], [1, 0]];
    for (let i = 0; i < ascending.length; i++) {
      for (let j = 0; j < ascending.length; j++) expect(order(ascending[i], ascending[j])).toBe(Math.sign(i - j));
    }
  });

  it("orders strings and links by code point, not by UTF-16 unit", () => {
    expect(order("\u{1F600}", "\uFFFF")).toBe(1);
    expect(order({ href: "/\u{1F600}" }, { href: "/\uFFFF" })).toBe(1);
    expect(order("ab", "abc")).toBe(-1);
  });

  it("compares with null as false, orders same-type primitives and links by href, takes a tuple for in", () => {
    for (const op of ["=", "!=", "<", "<=", ">", ">=", "in"] as const) {
      expect(holds(null, op, op === "in" ? [null] : 1)).toBe(false);
      if (op !== "in") expect(holds(1, op, null)).toBe(false);
    }
    expect(holds("5", "<", 6)).toBe(false);
    expect(holds(false, "<", true)).toBe(true);
    expect(holds("b", ">", "a")).toBe(true);
    expect(holds(3, "in", [1, 3])).toBe(true);
    expect(holds(3, "in", 3)).toBe(false);
    expect(holds(3, "in", [null])).toBe(false);
    expect(holds({ href: "/x" }, "=", "/x")).toBe(true);
    expect(holds({ href: "/x" }, "<", { href: "/y" })).toBe(true);
    expect(holds({ href: "/x" }, "<", "/y")).toBe(true);
    expect(holds({ href: "/x" }, ">=", "/x")).toBe(true);
    expect(holds({ href: "/\u{1F600}" }, ">", "/\uFFFF")).toBe(true);
    expect(holds("/y", ">", { href: "/x" })).toBe(true);
    expect(holds({ href: "/x" }, "<", 1)).toBe(false);
    expect(holds({ href: "/x" }, "<", true)).toBe(false);
    expect(same([1, { href: "/x" }], [1, { href: "/x" }])).toBe(true);
    expect(same(1, "1")).toBe(false);
  });
});

describe("the oracle's visit budget is the kernel's", () => {
  const executor = embedded();
  afterAll(() => executor.close());

  it("for trails, paths, bindings and counts (the walk stops once the page is full)", async () => {
    const trails = specArb({ results: ["rows", "paths", "return", "count"], maxOps: 3 });
    await fc.assert(
      fc.asyncProperty(graphArb(5), trails, async (data: GraphData, spec: Spec) => {
        const oracle = createGraph(testSchema, planRunner(data)) as unknown as Graph<UntypedShape>;
        const kernel = (await loadGraph(executor, data)).graph as unknown as Graph<UntypedShape>;
        const want = await smallestBudget((b) => buildSpec(oracle, spec, b).execute());
        expect(await smallestBudget((b) => buildSpec(kernel, spec, b).execute())).toBe(want);
      }),
      { numRuns: 40 },
    );
  });

  it("for shortest paths (breadth-first, stopping at the first target)", async () => {
    const endpoint = fc.oneof(fc.integer({ min: 1, max: 6 }).map((id) => ({ id })), fc.constantFrom(...CITIES).map((city) => ({ city })));
    const relation = fc.constantFrom<[HopDir, string]>(["out", "knows"], ["in", "knows"], ["both", "knows"], ["out", "reports"], ["both", "boss"]);
    await fc.assert(
      fc.asyncProperty(graphArb(6), endpoint, endpoint, relation, fc.integer({ min: 0, max: 4 }), async (data, from, to, [direction, rel], maxHops) => {
        const oracle = createGraph(testSchema, planRunner(data)) as unknown as Graph<UntypedShape>;
        const kernel = (await loadGraph(executor, data)).graph as unknown as Graph<UntypedShape>;
        const run = (g: Graph<UntypedShape>) => (budget: number) => g.shortestPath(g.match("people", from), g.match("people", to), rel, { maxHops, direction, budget }).execute();
        expect(await smallestBudget(run(kernel))).toBe(await smallestBudget(run(oracle)));
      }),
      { numRuns: 40 },
    );
  });
});
