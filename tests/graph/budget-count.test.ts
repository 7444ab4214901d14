/**
 * The visit budget counts the same rows whichever way the kernel answers a distinct traversal:
 * from slot lists, from their CSR snapshots, or by index lookups (the plan interpreter over a
 * store with no slot structures). The smallest budget a traversal completes within is found by
 * bisection on each, on random graphs, and must be the same number.
 */
import fc from "fast-check";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";
import { createGraph, type Graph, type UntypedShape } from "../../src/graph/index.js";
import { snapshotPolicy } from "../../src/kernel/storage/derived/link-index.js";
import { buildSpec, graphArb, loadGraph, planRunner, smallestBudget, specArb, testSchema, type GraphData } from "./support.js";

const usual = { ...snapshotPolicy };

/** Random graphs plus edges and posts that name people who do not exist (dead targets). */
const withDangling: fc.Arbitrary<GraphData> = graphArb(6).chain((data) => {
  const n = data.people.length;
  const live = fc.integer({ min: 1, max: n });
  const dead = fc.integer({ min: n + 1, max: n + 2 });
  return fc
    .record({
      knows: fc.array(fc.oneof(fc.record({ a: live, b: dead }), fc.record({ a: dead, b: live })), { maxLength: 3 }),
      authors: fc.array(dead, { maxLength: 2 }),
    })
    .map(({ knows, authors }) => {
      const seen = new Set(data.knows.map((k) => `${k.a}/${k.b}/${k.n}`));
      const extra = knows.map((k) => ({ ...k, n: 0, since: 2001 })).filter((k) => !seen.has(`${k.a}/${k.b}/0`) && seen.add(`${k.a}/${k.b}/0`));
      const postIds = new Set(data.posts.map((p) => p.id));
      const posts = authors.map((author, i) => ({ id: 100 + i, author, lang: "en" })).filter((p) => !postIds.has(p.id));
      return { ...data, knows: [...data.knows, ...extra], posts: [...data.posts, ...posts] };
    });
});

describe.each(WITH_CLUSTER)("the visit budget on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);
  afterEach(() => void Object.assign(snapshotPolicy, usual));

  it.each([
    { snapshots: "as usual", policy: usual },
    { snapshots: "rebuilt at every read", policy: { perThousandEntries: 0, atLeast: 0 } },
  ])("counts what the lookup path counts (snapshots $snapshots)", async ({ policy }) => {
    Object.assign(snapshotPolicy, policy);
    const executor = await createExecutor();
    await fc.assert(
      fc.asyncProperty(withDangling, specArb({ results: ["distinct", "distinct_count"], maxOps: 4 }), async (data, spec) => {
        const lookups = createGraph(testSchema, planRunner(data)) as unknown as Graph<UntypedShape>;
        const db = await loadGraph(executor, data);
        const kernel = db.graph as unknown as Graph<UntypedShape>;
        expect(await smallestBudget((b) => buildSpec(kernel, spec, b).execute())).toBe(await smallestBudget((b) => buildSpec(lookups, spec, b).execute()));
      }),
      { numRuns: 25 },
    );
  });
});
