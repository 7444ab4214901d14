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
import { EXECUTORS, executorsFor } from "../support/executors.js";
import { createGraph, VisitBudgetError, type Graph, type UntypedShape } from "../../src/graph/index.js";
import { KeySlots, keySlotsPolicy } from "../../src/kernel/storage/derived/key-slots.js";
import { buildSpec, CITIES, graphArb, LANGS, loadGraph, norm, planRunner, smallestBudget, specArb, testSchema, type GraphData, type Spec } from "./support.js";

type Write =
  | { kind: "edge"; a: number; b: number; n: number }
  | { kind: "dropPerson"; id: number }
  | { kind: "addPerson"; id: number; city: string; age: number | null; boss: number | null }
  | { kind: "post"; id: number; author: number; lang: string };
type Step = { kind: "write"; write: Write } | { kind: "rolledBack"; writes: Write[] };

const id = fc.integer({ min: 1, max: 8 });
const writeArb: fc.Arbitrary<Write> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("edge" as const), a: id, b: id, n: fc.integer({ min: 0, max: 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("dropPerson" as const), id }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("addPerson" as const),
      id: fc.integer({ min: 1, max: 12 }),
      city: fc.constantFrom(...CITIES),
      age: fc.option(fc.integer({ min: 10, max: 60 }), { nil: null }),
      boss: fc.option(id, { nil: null }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("post" as const), id: fc.integer({ min: 1, max: 30 }), author: id, lang: fc.constantFrom(...LANGS) }) },
);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: writeArb.map((write) => ({ kind: "write" as const, write })) },
  { weight: 1, arbitrary: fc.array(writeArb, { minLength: 1, maxLength: 3 }).map((writes) => ({ kind: "rolledBack" as const, writes })) },
);

/** Applies a write to the database (`db`, or a session) and to the model. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function apply(db: any, model: GraphData, w: Write): Promise<void> {
  switch (w.kind) {
    case "edge": {
      const same = (k: { a: number; b: number; n: number }) => k.a === w.a && k.b === w.b && k.n === w.n;
      if (model.knows.some(same)) {
        await db.deleteFrom("knows").where("a", "=", w.a).where("b", "=", w.b).where("n", "=", w.n).execute();
        model.knows = model.knows.filter((k) => !same(k));
      } else {
        const edge = { a: w.a, b: w.b, n: w.n, since: 2002 };
        await db.insertInto("knows").values([edge]).execute();
        model.knows.push(edge);
      }
      return;
    }
    case "dropPerson":
      await db.deleteFrom("people").where("id", "=", w.id).execute();
      model.people = model.people.filter((p) => p.id !== w.id);
      return;
    case "addPerson": {
      if (model.people.some((p) => p.id === w.id)) return;
      const person = { id: w.id, name: "cy", age: w.age, city: w.city, boss: w.boss };
      await db.insertInto("people").values([person]).execute();
      model.people.push(person);
      return;
    }
    case "post":
      if (model.posts.some((p) => p.id === w.id)) {
        await db.deleteFrom("posts").where("id", "=", w.id).execute();
        model.posts = model.posts.filter((p) => p.id !== w.id);
      } else {
        const post = { id: w.id, author: w.author, lang: w.lang };
        await db.insertInto("posts").values([post]).execute();
        model.posts.push(post);
      }
      return;
  }
}

/** The kernel's answer and smallest visit budget are the oracle's, on the model as it is now. */
async function expectOracle(kernel: Graph<UntypedShape>, model: GraphData, spec: Spec): Promise<void> {
  const oracle = createGraph(testSchema, planRunner(model)) as unknown as Graph<UntypedShape>;
  const budget = await smallestBudget((b) => buildSpec(oracle, spec, b).execute());
  if (budget === Infinity) {
    // Past the search's largest budget: the kernel is refused there too.
    await expect(buildSpec(kernel, spec, 4096).execute()).rejects.toBeInstanceOf(VisitBudgetError);
    return;
  }
  expect(norm(await buildSpec(kernel, spec, budget).execute())).toEqual(norm(await buildSpec(oracle, spec).execute()));
  if (budget > 1) await expect(buildSpec(kernel, spec, budget - 1).execute()).rejects.toBeInstanceOf(VisitBudgetError);
}

const usual = keySlotsPolicy.lazyRowsFrom;

describe.each(EXECUTORS.filter((e) => e.name === "embedded durable"))("slot spaces that keep no rows, on $name", (factory) => {
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
        const kernel = db.graph as unknown as Graph<UntypedShape>;
        for (const [step, queries] of steps) {
          if (step.kind === "write") await apply(db, model, step.write);
          else {
            // A session's writes, then a failure: all of it is rolled back (the model stays).
            const scratch: GraphData = structuredClone(model);
            await expect(
              db.session(async (s: typeof db) => {
                for (const w of step.writes) await apply(s, scratch, w);
                throw new Error("roll back");
              }),
            ).rejects.toThrow("roll back");
          }
          for (const spec of queries) await expectOracle(kernel, model, spec);
        }
      }),
      { numRuns: 30 },
    );
    // The lazy slot spaces were made and read (this is the path under test).
    expect(lazyMade).toHaveBeenCalled();
    expect(rowReads).toHaveBeenCalled();
  }, 60_000);
});
