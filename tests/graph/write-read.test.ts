/**
 * One write, then a read, many times over: the pattern of a graph under live traffic. The kernel
 * answers distinct traversals from CSR snapshots of its relations with the writes since kept in
 * a per-source delta beside them (folded into a new snapshot now and then), and from snapshots
 * whose targets gained or lost rows since they were taken (checked against the rows). Here every
 * single write — an edge inserted or deleted, a person deleted or inserted again, a post added or
 * removed, or a few of these in a session that rolls back — is followed by traversals whose
 * answers and smallest visit budget must be the plan oracle's (tests/graph/oracle/) on the data
 * as written so far. On the memory and the durable executor, with the delta folded often and
 * with the snapshot policy as usual.
 */
import fc from "fast-check";
import { afterAll, afterEach, describe, it } from "vitest";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";
import type { Graph, UntypedShape } from "../../src/graph/index.js";
import { snapshotPolicy } from "../../src/kernel/storage/derived/link-index.js";
import { CITIES, LANGS, loadGraph, specArb, type GraphData, type Spec } from "./support.js";
import { expectOracle, runSteps, type Step, type Write } from "./write-steps.js";

const PEOPLE = 16;
const personId = fc.integer({ min: 1, max: PEOPLE });
const personArb = (id: number) =>
  fc.record({
    id: fc.constant(id),
    name: fc.constantFrom("ada", "bob"),
    age: fc.option(fc.integer({ min: 10, max: 60 }), { nil: null }),
    city: fc.constantFrom(...CITIES),
    boss: fc.option(personId, { nil: null }),
  });

/** Every person present, a few dozen edges (parallel ones too) and posts. */
const graphArb: fc.Arbitrary<GraphData> = fc.record({
  people: fc.tuple(...Array.from({ length: PEOPLE }, (_, i) => personArb(i + 1))),
  knows: fc.uniqueArray(fc.record({ a: personId, b: personId, n: fc.integer({ min: 0, max: 1 }), since: fc.integer({ min: 2000, max: 2003 }) }), {
    minLength: 10,
    maxLength: 48,
    selector: (k) => `${k.a}/${k.b}/${k.n}`,
  }),
  posts: fc.uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 30 }), author: personId, lang: fc.constantFrom(...LANGS) }), {
    maxLength: 20,
    selector: (p) => p.id,
  }),
});

const writeArb: fc.Arbitrary<Write> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ a: personId, b: personId, n: fc.integer({ min: 0, max: 1 }), since: fc.constant(2002) }).map((edge) => ({ kind: "edge" as const, edge })) },
  { weight: 1, arbitrary: personId.map((id) => ({ kind: "dropPerson" as const, id })) },
  { weight: 2, arbitrary: personId.chain(personArb).map((person) => ({ kind: "addPerson" as const, person })) },
  { weight: 2, arbitrary: fc.record({ id: fc.integer({ min: 1, max: 30 }), author: personId, lang: fc.constantFrom(...LANGS) }).map((post) => ({ kind: "post" as const, post })) },
);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: writeArb.map((write) => ({ kind: "write" as const, write })) },
  { weight: 1, arbitrary: fc.array(writeArb, { minLength: 1, maxLength: 3 }).map((writes) => ({ kind: "rolledBack" as const, writes })) },
);

/** Distinct traversals from one person: two hops, and three ending in a filtered inverse foreign key. */
const twoHops = (id: number): Spec => ({
  start: { table: "people", filter: { id } },
  ops: [{ kind: "hop", dir: "out", rel: "knows" }, { kind: "hop", dir: "out", rel: "knows" }],
  result: "distinct_count",
  orderBy: [],
  select: null,
  limit: null,
  offset: null,
});
const threeHops = (id: number, count: boolean): Spec => ({
  start: { table: "people", filter: { id } },
  ops: [
    { kind: "hop", dir: "out", rel: "knows" },
    { kind: "hop", dir: "in", rel: "knows" },
    { kind: "hop", dir: "out", rel: "posts" },
    { kind: "where", col: "lang", op: "=", value: "en" },
  ],
  result: count ? "distinct_count" : "distinct",
  orderBy: [],
  select: null,
  limit: count ? null : 5,
  offset: null,
});
const queryArb: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 2, arbitrary: personId.map(twoHops) },
  { weight: 2, arbitrary: fc.tuple(personId, fc.boolean()).map(([id, count]) => threeHops(id, count)) },
  { weight: 3, arbitrary: specArb({ results: ["distinct", "distinct_count"], maxOps: 3 }) },
);

const usual = { ...snapshotPolicy };
const POLICIES = [
  { snapshots: "as usual", policy: usual },
  // Snapshots after two list reads, a delta folded after a dozen writes, a change of liveness
  // checked for two reads before a rebuild: every path, at this size.
  { snapshots: "folded often", policy: { perThousandEntries: 0, atLeast: 2, deltaPerThousand: 0, deltaAtLeast: 12 } },
];

describe.each(WITH_CLUSTER.filter((e) => e.name !== "http"))("a read after each write on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);
  afterEach(() => void Object.assign(snapshotPolicy, usual));
  // One kernel's snapshot policies are exercised on the single-host executors; the cluster's
  // hosts run the same code, so it runs under the usual policy only.
  const policies = factory.name === "cluster" ? POLICIES.slice(0, 1) : POLICIES;

  it.each(policies)("answers as the oracle does, budget included (snapshots $snapshots)", async ({ policy }) => {
    Object.assign(snapshotPolicy, policy);
    const executor = await createExecutor();
    await fc.assert(
      fc.asyncProperty(graphArb, fc.array(fc.tuple(stepArb, fc.array(queryArb, { minLength: 1, maxLength: 2 })), { minLength: 10, maxLength: 24 }), async (data, steps) => {
        const db = await loadGraph(executor, data);
        const model: GraphData = structuredClone(data);
        const kernel = db.graph as unknown as Graph<UntypedShape>;
        // A first read makes the relation structures, as a running application has them.
        await expectOracle(kernel, model, twoHops(1));
        await runSteps(db, model, steps);
      }),
      { numRuns: 8 },
    );
    // Each write is a commit: on the durable store, a synced one.
  }, 180_000);
});
