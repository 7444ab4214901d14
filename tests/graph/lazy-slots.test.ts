/**
 * Traversals over slot spaces that keep no rows (`keySlotsPolicy.lazyRowsFrom` = 0: every durable
 * table's slot space is lazy, reading cells with `table.get` where a filter, a forward foreign key
 * or a result page needs them). On the durable executor, random traversals of every result kind
 * — several hops, filters on non-key columns, distinct, orderBy, limits, returned rows, counts —
 * must answer as the plan oracle (tests/graph/oracle/) does, budget included, after each of a
 * run of writes (sessions that roll back among them).
 */
import fc from "fast-check";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";
import { KeySlots, keySlotsPolicy } from "../../src/kernel/storage/derived/key-slots.js";
import { CITIES, graphArb, LANGS, loadGraph, specArb, type GraphData } from "./support.js";
import { runSteps, type Step, type Write } from "./write-steps.js";

const id = fc.integer({ min: 1, max: 8 });
const writeArb: fc.Arbitrary<Write> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ a: id, b: id, n: fc.integer({ min: 0, max: 1 }), since: fc.constant(2002) }).map((edge) => ({ kind: "edge" as const, edge })) },
  { weight: 1, arbitrary: id.map((x) => ({ kind: "dropPerson" as const, id: x })) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        id: fc.integer({ min: 1, max: 12 }),
        name: fc.constant("cy"),
        age: fc.option(fc.integer({ min: 10, max: 60 }), { nil: null }),
        city: fc.constantFrom(...CITIES),
        boss: fc.option(id, { nil: null }),
      })
      .map((person) => ({ kind: "addPerson" as const, person })),
  },
  { weight: 2, arbitrary: fc.record({ id: fc.integer({ min: 1, max: 30 }), author: id, lang: fc.constantFrom(...LANGS) }).map((post) => ({ kind: "post" as const, post })) },
);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: writeArb.map((write) => ({ kind: "write" as const, write })) },
  { weight: 1, arbitrary: fc.array(writeArb, { minLength: 1, maxLength: 3 }).map((writes) => ({ kind: "rolledBack" as const, writes })) },
);

const usual = keySlotsPolicy.lazyRowsFrom;

describe.each(WITH_CLUSTER.filter((e) => e.name === "embedded durable"))("slot spaces that keep no rows, on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);
  beforeEach(() => void (keySlotsPolicy.lazyRowsFrom = 0));
  afterEach(() => {
    keySlotsPolicy.lazyRowsFrom = usual;
    vi.restoreAllMocks();
  });

  it("answers every kind of traversal as the oracle does, between writes", async () => {
    const executor = await createExecutor();
    const rowReads = vi.spyOn(KeySlots.prototype, "row");
    const lazyMade = vi.spyOn(KeySlots, "lazyOver");
    await fc.assert(
      fc.asyncProperty(graphArb(8), fc.array(fc.tuple(stepArb, fc.array(specArb(), { minLength: 1, maxLength: 3 })), { minLength: 4, maxLength: 12 }), async (data, steps) => {
        const db = await loadGraph(executor, data);
        const model: GraphData = structuredClone(data);
        await runSteps(db, model, steps);
      }),
      { numRuns: 30 },
    );
    // The lazy slot spaces were made and read (this is the path under test).
    expect(lazyMade).toHaveBeenCalled();
    expect(rowReads).toHaveBeenCalled();
  }, 60_000);
});
