/**
 * Bounds: on a dense cyclic graph a traversal either completes within its visit budget or fails
 * with `VisitBudgetError` naming the budget — on every executor, with memory bounded, nothing
 * left half-done, and the executor usable afterwards.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, describe, expect, it } from "vitest";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";
import { connect } from "../../src/connect.js";
import type { Executor } from "../../src/executor.js";
import { DEFAULT_VISIT_BUDGET, VisitBudgetError, type Graph, type UntypedShape } from "../../src/graph/index.js";
import { TcError } from "../../src/errors.js";
import { testSchema } from "./support.js";


/** A full garbage collection (V8's `gc`, exposed to this test only). */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

const N = 40; // complete directed graph: N·(N−1) = 1560 edges, every pair connected both ways

async function denseDb(executor: Executor) {
  const db = await connect(testSchema, executor);
  await db.sync();
  const people = Array.from({ length: N }, (_, i) => ({ id: i + 1, name: `p${i + 1}`, age: 20 + (i % 40), city: "paris", boss: ((i + 1) % N) + 1 }));
  await db.insertInto("people").values(people).execute();
  const knows = [];
  for (let a = 1; a <= N; a++) for (let b = 1; b <= N; b++) if (a !== b) knows.push({ a, b, n: 0, since: 2000 });
  await db.insertInto("knows").values(knows).execute();
  return db;
}

describe.each(WITH_CLUSTER)("visit budget on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);

  it("distinct reachability completes well within the default budget (BFS, not paths)", async () => {
    const executor = await createExecutor();
    const db = await denseDb(executor);
    const g = db.graph as unknown as Graph<UntypedShape>;
    const t = g.match("people", { id: 1 }).out("knows", { hops: [1, 8] }).distinct();
    expect(await t.count().execute()).toBe(N);
    // Exact levels then BFS: each node expanded at most (min + 1) times, so a small budget suffices.
    const budget = 3 * N * N * 2;
    expect(await t.budget(budget).count().execute()).toBe(N);
    expect(await g.match("people", { id: 1 }).both("knows", { hops: [2, 8] }).distinct().count().execute()).toBe(N);

    // Trail enumeration over the same graph explodes; the budget stops it with a typed error.
    // (The default budget is exercised on the in-memory executor only, to keep the suite fast.)
    const budgetToHit = factory.name === "embedded memory" ? undefined : 200_000;
    const started = Date.now();
    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    let err: unknown;
    try {
      const paths = g.match("people", { id: 1 }).out("knows", { hops: [1, 8] });
      await (budgetToHit ? paths.budget(budgetToHit) : paths).paths().execute();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VisitBudgetError);
    expect(err).toBeInstanceOf(TcError);
    expect((err as VisitBudgetError).budget).toBe(budgetToHit ?? DEFAULT_VISIT_BUDGET);
    expect((err as Error).message).toContain(`visit budget ${budgetToHit ?? DEFAULT_VISIT_BUDGET}`);
    expect(Date.now() - started).toBeLessThan(30_000);
    // Nothing of the paths found so far is kept once the error is thrown (garbage collected first:
    // what the enumeration allocated and dropped is not counted).
    collectGarbage();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * 1024 * 1024);

    // A smaller explicit budget fails sooner, naming that budget; counts are bounded the same way.
    await expect(g.match("people").out("knows", { hops: [1, 3] }).budget(5000).count().execute()).rejects.toMatchObject({ budget: 5000 });
    await expect(g.match("people").out("knows").out("knows").out("knows").budget(5000).execute()).rejects.toBeInstanceOf(VisitBudgetError);

    // Nothing half-done: the data is intact and the executor serves the next traversal.
    expect(await g.match("knows").count().execute()).toBe(N * (N - 1));
    expect(await g.match("people", { id: 2 }).out("knows").count().execute()).toBe(N - 1);
  });

  it("hop bounds: default max 8, larger must be explicit, cap 1000, validated before running", async () => {
    const executor = await createExecutor();
    const db = await denseDb(executor);
    const g = db.graph as unknown as Graph<UntypedShape>;
    // A ring via boss: i → i+1. Default max hops is 8 (shortestPath) — node 11 is 10 hops away.
    expect(await g.shortestPath(g.match("people", { id: 1 }), g.match("people", { id: 11 }), "boss").execute()).toBeNull();
    const path = await g.shortestPath(g.match("people", { id: 1 }), g.match("people", { id: 11 }), "boss", { maxHops: 12 }).execute();
    expect(path!.map((s) => s.row["id"])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(() => g.match("people").out("boss", { hops: [1, 1001] })).toThrow(/at most 1000 hops/);
    // [min] runs up to the default maximum of 8 hops; beyond it the maximum must be explicit.
    expect(g.match("people").out("boss", { hops: [2] }).compile().plan.steps[0]).toMatchObject({ min: 2, max: 8 });
    expect(await g.match("people", { id: 1 }).out("boss", { hops: [1] }).distinct().count().execute()).toBe(8);
    expect(() => g.match("people").out("boss", { hops: [9] })).toThrow(/default maximum of 8; write the maximum explicitly/);
    expect(() => g.match("people").out("boss", { hops: [3, 2] })).toThrow(/min is larger than max/);
    expect(() => g.match("people").out("posts", { hops: [1, 2] })).toThrow(/variable number of hops/);
    expect(await g.match("people", { id: 1 }).out("boss", { hops: [1, 20] }).distinct().count().execute()).toBe(20);
    expect(await g.match("people", { id: 1 }).out("boss", { hops: [1, N] }).distinct().count().execute()).toBe(N);
  });
});
