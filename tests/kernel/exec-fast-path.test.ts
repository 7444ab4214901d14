/**
 * The kernel's per-execution fast path keeps every guarantee: commits without a promise chain
 * only when the writes are already durable, and executions read the clock only when their time
 * budget can ever be checked.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Database } from "../../src/kernel/state/database.js";
import { BudgetExceededError, Kernel } from "../../src/kernel/index.js";
import { DEFAULT_LIMITS, ExecContext, needsClock } from "../../src/kernel/ops/exec-context.js";
import { routeLink } from "../../src/kernel/router.js";
import { tableLiteral } from "../../src/kernel/state/table-view.js";
import { decodeOpDef } from "../../src/ir/index.js";
import type { Json } from "../../src/ir/types.js";

const POST = "/state/scalar/op/post";
const post = (...steps: [string, Json][]): Json => ({ [POST]: steps });
const op = (...steps: [string, Json][]) => decodeOpDef(post(...steps));
const SCHEMA: Json = [[[["k", "/state/scalar/value/number/int/64"]], [["v", "/state/scalar/value/number/int/64"]]], []];

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("needsClock", () => {
  it("is false for ops made of /state calls, values and ids only (a traversal's shape)", () => {
    expect(needsClock(op(["r", { "/state/app/users/traverse": [["{}", { me: { $me: [] } }]] }]))).toBe(false);
    expect(needsClock(op(["a", 1], ["b", [{ $a: [] }, { k: "v" }]], ["c", { "/state/app/t": [[{ $a: [] }]] }]))).toBe(false);
    expect(needsClock(op(["w", { "/state/app/t": [[1], [2]] }]))).toBe(false);
  });

  it("is true for anything that can tick on its own, and for 1024 steps or more", () => {
    const loop = { "/state/scalar/ref/while": [post(["c", false]), post(["s", 1]), 0] };
    expect(needsClock(op(["r", loop]))).toBe(true);
    expect(needsClock(op(["r", { "/state/scalar/ref/for_each": [[1, 2], post(["x", 1]), "i"] }]))).toBe(true);
    expect(needsClock(op(["f", true], ["r", { "/state/scalar/ref/cond": [{ $f: [] }, post(["x", 1]), 2] }]))).toBe(true);
    expect(needsClock(op(["a", 1], ["r", { "$a/add": { r: 1 } }]))).toBe(true);
    expect(needsClock(op(["r", { "/lib/acme/x/0.1.0/f": [1] }]))).toBe(true);
    expect(needsClock(op(...Array.from({ length: 1024 }, (_, i): [string, Json] => [`s${i}`, i])))).toBe(true);
    expect(needsClock(op(...Array.from({ length: 1023 }, (_, i): [string, Json] => [`s${i}`, i])))).toBe(false);
  });

  it("an execution started without a clock still enforces its time budget once it ticks that long", () => {
    const db = { request: () => null, viewRequest: () => null };
    const ctx = new ExecContext(db, routeLink, { ...DEFAULT_LIMITS, maxSteps: 1e9, maxWhileIterations: 1e9, maxDepth: 10, maxMillis: 1 }, undefined, false);
    const started = performance.now();
    let error: unknown;
    try {
      for (let i = 0; i < 1e9; i++) ctx.tick();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect((error as Error).message).toContain("maxMillis");
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe("commitNow", () => {
  it("in memory: the commit is complete at once, and commit() still answers a settled promise", async () => {
    const db = await Database.open({});
    const t = db.tryBegin()!;
    t.request("put", ["app", "t"], null, tableLiteral(SCHEMA, []));
    t.request("put", ["app", "t"], [1], [10]);
    expect(t.commitNow()).toBeUndefined();
    const next = db.tryBegin()!; // the lock was released synchronously
    expect(next.request("get", ["app", "t"], [1], undefined)).toEqual([1, 10]);
    await expect(next.commit()).resolves.toBeUndefined();
    await db.close();
  });

  it("durable: a write waits for lmdb; a read-only commit waits only while a write is pending", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tc-orm-commitnow-"));
    dirs.push(dir);
    const db = await Database.open({ dataDir: dir });
    const w = db.tryBegin()!;
    w.request("put", ["app", "t"], null, tableLiteral(SCHEMA, [[1, 10]]));
    const durable = w.commitNow();
    expect(durable).toBeInstanceOf(Promise);
    const reader = db.tryBegin()!;
    const waiting = reader.commitNow(); // sees the write, so is acknowledged only once it is durable
    expect(waiting).toBeInstanceOf(Promise);
    await durable;
    await waiting;
    const later = db.tryBegin()!;
    expect(later.request("get", ["app", "t"], [1], undefined)).toEqual([1, 10]);
    expect(later.commitNow()).toBeUndefined();
    await db.close();
    const reopened = await Database.open({ dataDir: dir });
    const check = reopened.tryBegin()!;
    expect(check.request("get", ["app", "t"], [1], undefined)).toEqual([1, 10]);
    check.rollback();
    await reopened.close();
  });

  it("the kernel counts a fast-path commit before its promise settles, and rolls back on error", async () => {
    const k = await Kernel.open();
    try {
      const before = k.stats.commits;
      const p = k.execute(post(["r", 1]));
      expect(k.stats.commits).toBe(before + 1);
      expect(await p).toBe(1);
      const rollbacks = k.stats.rollbacks;
      await expect(k.execute(post(["r", { "/state/nope/t": [[1]] }]))).rejects.toMatchObject({ kind: "not_found" });
      expect(k.stats.rollbacks).toBe(rollbacks + 1);
    } finally {
      await k.close();
    }
  });
});
