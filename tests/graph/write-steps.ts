/**
 * Runs of writes, each followed by traversals checked against the plan oracle (tests/graph/oracle/)
 * — shared by the suites of a graph under writes (write-read.test.ts, lazy-slots.test.ts): the
 * writes, how they reach the database and the model, and the check of a traversal's answer and
 * smallest visit budget.
 */
import { expect } from "vitest";
import { createGraph, VisitBudgetError, type Graph, type UntypedShape } from "../../src/graph/index.js";
import { buildSpec, norm, planRunner, smallestBudget, testSchema, type GraphData, type Knows, type Person, type Post, type Spec } from "./support.js";

export type Write =
  /** Inserts the edge when it is absent, deletes it when present. */
  | { kind: "edge"; edge: Knows }
  | { kind: "dropPerson"; id: number }
  /** Inserts the person when absent (a key deleted earlier comes back). */
  | { kind: "addPerson"; person: Person }
  /** Inserts the post when its id is free, deletes that post otherwise. */
  | { kind: "post"; post: Post };
/** One write, or a few in a session that then fails (rolled back: the model stays). */
export type Step = { kind: "write"; write: Write } | { kind: "rolledBack"; writes: Write[] };

const sameEdge = (k: Knows, e: Knows) => k.a === e.a && k.b === e.b && k.n === e.n;

/** Applies a write to the database (`db`, or a session) and to the model. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function apply(db: any, model: GraphData, w: Write): Promise<void> {
  switch (w.kind) {
    case "edge": {
      const { a, b, n } = w.edge;
      if (model.knows.some((k) => sameEdge(k, w.edge))) {
        await db.deleteFrom("knows").where("a", "=", a).where("b", "=", b).where("n", "=", n).execute();
        model.knows = model.knows.filter((k) => !sameEdge(k, w.edge));
      } else {
        await db.insertInto("knows").values([w.edge]).execute();
        model.knows.push({ ...w.edge });
      }
      return;
    }
    case "dropPerson":
      await db.deleteFrom("people").where("id", "=", w.id).execute();
      model.people = model.people.filter((p) => p.id !== w.id);
      return;
    case "addPerson":
      if (model.people.some((p) => p.id === w.person.id)) return;
      await db.insertInto("people").values([w.person]).execute();
      model.people.push({ ...w.person });
      return;
    case "post":
      if (model.posts.some((p) => p.id === w.post.id)) {
        await db.deleteFrom("posts").where("id", "=", w.post.id).execute();
        model.posts = model.posts.filter((p) => p.id !== w.post.id);
      } else {
        await db.insertInto("posts").values([w.post]).execute();
        model.posts.push({ ...w.post });
      }
      return;
  }
}

/** The kernel's answer and smallest visit budget are the oracle's, on the model as it is now. */
export async function expectOracle(kernel: Graph<UntypedShape>, model: GraphData, spec: Spec): Promise<void> {
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

/** Each step on `db` and `model`, then its traversals checked against the oracle. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function runSteps(db: any, model: GraphData, steps: readonly (readonly [Step, readonly Spec[]])[]): Promise<void> {
  const kernel = db.graph as Graph<UntypedShape>;
  for (const [step, queries] of steps) {
    if (step.kind === "write") await apply(db, model, step.write);
    else {
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
}
