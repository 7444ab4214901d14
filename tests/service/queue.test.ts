/**
 * `/service` work queues (PROFILE §6.14): install, enqueue, a `While` loop of one transaction per
 * iteration, status and result at the task's path, failures recorded and retried — on every
 * executor; and resuming after a close from the last committed iteration.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BadRequestError, ConflictError, MethodNotAllowedError, NotFoundError, TaskFailedError } from "../../src/errors.js";
import type { Executor } from "../../src/executor.js";
import type { Json } from "../../src/ir/types.js";
import { embedded } from "../../src/kernel/index.js";
import { defineService, installService, queue, type TaskStatus } from "../../src/service/index.js";
import { EXECUTORS, executorsFor } from "../support/executors.js";
import { MARKS, MARKS_TABLE, counter } from "./support.js";

async function marks(ex: Executor): Promise<number[]> {
  const t = (await ex.request({ verb: "get", path: MARKS })) as Record<string, [unknown, number[][]]>;
  return t["/state/collection/table"]![1].map((r) => r[0]!);
}

describe.each(EXECUTORS)("queues on $name", (factory) => {
  const create = executorsFor(factory, afterAll);
  let ex: Executor;

  it("runs a task's loop to its result, one committed iteration at a time, with progress", async () => {
    ex = await create();
    await ex.request({ verb: "put", path: MARKS, body: MARKS_TABLE });
    await installService(ex, counter);
    await installService(ex, counter); // the same definition: a no-op
    expect(await ex.request({ verb: "get", path: "/service" })).toEqual({ [counter.id]: true });
    expect(await ex.request({ verb: "get", path: counter.id })).toEqual({ id: counter.id, version: "1.0.0", tasks: "/state/jobs/count_tasks" });
    const task = await queue(ex, counter).enqueue({ to: 12 });
    expect(task.path).toMatch(/^\/service\/acme\/jobs\/count\/1\.0\.0\/tasks\/[a-z0-9]+-[0-9a-f]{12}$/);
    const seen: TaskStatus<number>[] = [];
    for await (const s of task.changes({ intervalMs: 5, timeoutMs: 20_000 })) seen.push(s);
    const last = seen[seen.length - 1]!;
    expect(last).toMatchObject({ status: "done", result: 12, iterations: 12, progress: 1, error: null, attempts: 0 });
    // Iterations only go up; progress is what the step reported.
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.iterations).toBeGreaterThanOrEqual(seen[i - 1]!.iterations);
    expect(await task.result()).toBe(12);
    expect(await marks(ex)).toEqual([...Array(12).keys()]);
    // The task row is ordinary state.
    const rows = (await ex.request({ verb: "get", path: "/state/jobs/count_tasks" })) as Record<string, [unknown, unknown[][]]>;
    expect(rows["/state/collection/table"]![1]).toHaveLength(1);
  });

  it("records a failing iteration on the task, retries it, then fails the task (TaskFailedError)", async () => {
    // The second run of the counter inserts rows that exist: every iteration conflicts.
    const task = await queue(ex, counter).enqueue({ to: 3 });
    const err = await task.result({ intervalMs: 5, timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailedError);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as TaskFailedError).reason).toMatch(/ConflictError \(conflict\)/);
    const s = await task.status();
    expect(s).toMatchObject({ status: "failed", attempts: 3, iterations: 0 });
    // Nothing of the failed iterations stayed.
    expect(await marks(ex)).toEqual([...Array(12).keys()]);
  });

  it("refuses bad definitions, calls and paths with typed errors", async () => {
    const bad: [() => Promise<unknown>, unknown, RegExp][] = [
      [() => ex.request({ verb: "put", path: "/service", body: { "/service/acme/jobs/x/1.0.0": {} } }), BadRequestError, /needs a step op/],
      [() => ex.request({ verb: "put", path: "/service", body: { "/service/acme/jobs/x/1.0.0": { step: { "/state/scalar/op/get": ["k", [["r", 1]]] } } } }), BadRequestError, /must be a POST OpDef/],
      [() => ex.request({ verb: "put", path: "/service", body: { "/service/acme/Jobs/x/1.0.0": { step: { "/state/scalar/op/post": [["r", 1]] } } } }), BadRequestError, /lowercase words/],
      [() => ex.request({ verb: "put", path: "/service", body: { "/lib/acme/x/1.0.0": {} } }), BadRequestError, /\/service\/<publisher>/],
      [() => installService(ex, defineService({ publisher: "acme", namespace: "jobs", name: "count", version: "1.0.0", step: { "/state/scalar/op/post": [["r", 1]] } })), ConflictError, /different definition/],
      [() => ex.request({ verb: "post", path: `${counter.id}/enqueue`, body: { nope: 1 } }), BadRequestError, /takes \{"args"/],
      [() => ex.request({ verb: "get", path: `${counter.id}/enqueue` }), MethodNotAllowedError, /answers POST/],
      [() => ex.request({ verb: "get", path: `${counter.id}/tasks/nope` }), NotFoundError, /no task nope/],
      [() => ex.request({ verb: "get", path: "/service/acme/jobs/other/1.0.0" }), NotFoundError, /no service/],
    ];
    for (const [call, type, message] of bad) {
      const e = await call().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(type as never);
      expect((e as Error).message).toMatch(message);
    }
    const s = await ex.session();
    await expect(s.request({ verb: "post", path: `${counter.id}/enqueue`, body: { args: { to: 1 } } })).rejects.toThrow(/not inside a session/);
    await s.rollback().catch(() => undefined);
  });
});

describe("an iteration over its budget", () => {
  it("is rolled back and retried with a typed error recorded, then the task fails", async () => {
    const ex = embedded({ serviceIterationMs: 30 });
    try {
      const spin: Json = {
        "/state/scalar/op/post": [
          ["w", { "/state/scalar/ref/while": [{ "/state/scalar/op/post": [["_r", { "$state/lt": { r: 1e12 } }]] }, { "/state/scalar/op/post": [["_r", { "$state/add": { r: 1 } }]] }, 0] }],
          // The result depends on the loop, so the loop runs (unused steps are not evaluated).
          ["_r", { state: null, done: { "$w/ge": { r: 0 } } }],
        ],
      };
      const svc = defineService({ publisher: "acme", namespace: "jobs", name: "spin", version: "1.0.0", step: spin });
      await installService(ex, svc);
      const task = await queue(ex, svc).enqueue(null);
      const err = (await task.result({ intervalMs: 10, timeoutMs: 20_000 }).catch((e: unknown) => e)) as TaskFailedError;
      expect(err).toBeInstanceOf(TaskFailedError);
      expect(err.reason).toMatch(/BudgetExceededError|budget/i);
      expect(await task.status()).toMatchObject({ status: "failed", attempts: 3, iterations: 0 });
    } finally {
      await ex.close();
    }
  });
});

describe("a durable store", () => {
  it("resumes a task after a close, from its last committed iteration, repeating none", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tc-queue-"));
    try {
      let ex = embedded({ dataDir: dir });
      await ex.request({ verb: "put", path: MARKS, body: MARKS_TABLE });
      await installService(ex, counter);
      const task = await queue(ex, counter).enqueue({ to: 400 });
      // Close while the loop runs.
      for (;;) {
        const s = await task.status();
        if (s.iterations >= 5) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      await ex.close();
      ex = embedded({ dataDir: dir });
      const resumed = queue(ex, counter).task(task.path);
      const before = await resumed.status();
      expect(before.status).not.toBe("done");
      expect(await resumed.result({ intervalMs: 10, timeoutMs: 60_000 })).toBe(400);
      expect(await resumed.status()).toMatchObject({ status: "done", attempts: 0, error: null, iterations: 400 });
      expect(await marks(ex)).toEqual([...Array(400).keys()]);
      await ex.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
