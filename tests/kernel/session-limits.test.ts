/**
 * Session limits (issue 15): an idle session is rolled back early (its id then answers 408 like an
 * expired one), so it holds the transaction lock only briefly; the lock's wait queue is bounded
 * (a call beyond it is refused with a typed 503). Timers are short and the assertions count
 * outcomes, not times: a queued call that finishes at all was freed by the idle timeout, since the
 * budget is far longer than the test's timeout.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_SESSION_IDLE_MS, Kernel, LockQueueFullError, type KernelOptions } from "../../src/kernel/index.js";
import { TcError, UnavailableError } from "../../src/errors.js";
import type { Json } from "../../src/ir/types.js";
import { EXECUTORS } from "../support/executors.js";

const SCHEMA: Json = [[[["name", "/state/scalar/value/string", 16]], [["n", "/state/scalar/value/number/int/64"]]], []];
const T = "/state/limits/t";
const TABLE: Json = { "/state/collection/table": [SCHEMA, []] };

const open: Kernel[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((k) => k.close()));
});

async function kernel(opts: KernelOptions): Promise<Kernel> {
  const k = await Kernel.open(opts);
  open.push(k);
  await k.request({ verb: "put", path: T, key: null, body: TABLE });
  return k;
}

async function errorOf(p: Promise<unknown>): Promise<TcError | undefined> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TcError);
    return e as TcError;
  }
  return undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const count = (k: Kernel): Promise<Json> => k.request({ verb: "get", path: `${T}/count`, key: null });

describe("idle sessions", () => {
  it("the default idle timeout is well under the 3 s budget", () => {
    expect(DEFAULT_SESSION_IDLE_MS).toBeLessThanOrEqual(1000);
  });

  it("an idle session is rolled back early: its writes are undone, its id answers 408, the lock is free", { timeout: 5000 }, async () => {
    const k = await kernel({ txnBudgetMs: 60_000, sessionIdleMs: 50 });
    const s = await k.beginSession();
    await k.request({ verb: "put", path: T, key: ["a"], body: [1] }, s);
    // A write queued behind the session can only run once the idle timeout (not the 60 s budget)
    // ends it; a plain read does not wait (it reads the committed state).
    expect(await count(k)).toBe(0);
    await k.request({ verb: "put", path: T, key: ["b"], body: [2] });
    expect(await count(k)).toBe(1);
    const e = await errorOf(k.request({ verb: "get", path: T, key: ["a"] }, s));
    expect(e?.kind).toBe("request_timeout");
    expect(e?.message).toMatch(/idle/);
    expect((await errorOf(k.commitSession(s)))?.kind).toBe("request_timeout");
    expect((await errorOf(k.rollbackSession(s)))?.kind).toBe("request_timeout");
  });

  it("a session in use is not idle: calls closer together than the idle timeout keep it open", async () => {
    const k = await kernel({ txnBudgetMs: 60_000, sessionIdleMs: 1000 });
    const s = await k.beginSession();
    for (let i = 0; i < 12; i++) {
      await k.request({ verb: "put", path: T, key: [`k${i}`], body: [i] }, s);
      await sleep(100); // 1.2 s in all, longer than the idle timeout, but never idle that long
    }
    await k.commitSession(s);
    expect(await count(k)).toBe(12);
  });

  it("the budget still ends a busy session", { timeout: 5000 }, async () => {
    const k = await kernel({ txnBudgetMs: 150, sessionIdleMs: 1000 });
    const s = await k.beginSession();
    let e: TcError | undefined;
    for (let i = 0; i < 100 && e === undefined; i++) {
      e = await errorOf(k.request({ verb: "put", path: T, key: [`k${i}`], body: [i] }, s));
      await sleep(20);
    }
    expect(e?.kind).toBe("request_timeout");
    expect(e?.message).toMatch(/budget/);
    expect(await count(k)).toBe(0);
  });

  it("rejects a non-positive idle timeout", async () => {
    expect((await errorOf(Kernel.open({ sessionIdleMs: 0 })))?.kind).toBe("bad_request");
    expect((await errorOf(Kernel.open({ lockQueueLimit: -1 })))?.kind).toBe("bad_request");
  });
});

describe("the lock's wait queue is bounded", () => {
  it("a call beyond the queue limit is a typed 503; queued calls still run, in order", { timeout: 10_000 }, async () => {
    const k = await kernel({ txnBudgetMs: 60_000, sessionIdleMs: 60_000, lockQueueLimit: 2 });
    const s = await k.beginSession();
    await k.request({ verb: "put", path: T, key: ["a"], body: [1] }, s);
    const first = k.request({ verb: "put", path: T, key: ["b"], body: [2] });
    const second = k.beginSession();
    const refused = [
      await errorOf(k.request({ verb: "put", path: T, key: ["c"], body: [3] })),
      await errorOf(k.beginSession()),
      await errorOf(k.execute({ "/state/scalar/op/post": [["r", 1]] })),
    ];
    // A plain read is not queued: it reads the committed state at once.
    expect(await count(k)).toBe(0);
    for (const e of refused) {
      expect(e).toBeInstanceOf(UnavailableError);
      expect(e).toBeInstanceOf(LockQueueFullError);
      expect(e?.status).toBe(503);
      expect((e as LockQueueFullError).retryAfterS).toBeGreaterThan(0);
    }
    await k.commitSession(s);
    await first;
    const s2 = await second;
    await k.rollbackSession(s2);
    expect(await count(k)).toBe(2); // a and b; the refused calls changed nothing
  });
});

describe.each(EXECUTORS)("idle timeout on $name (defaults)", (factory) => {
  it("a session left idle past the default idle timeout answers request_timeout; its write is undone", { timeout: 10_000 }, async () => {
    const ex = await factory.create();
    try {
      await ex.request({ verb: "put", path: T, key: null, body: TABLE });
      const s = await ex.session();
      await s.request({ verb: "put", path: T, key: ["a"], body: [1] });
      await sleep(DEFAULT_SESSION_IDLE_MS + 400);
      const e = await errorOf(s.request({ verb: "get", path: T, key: ["a"] }));
      expect(e?.kind).toBe("request_timeout");
      expect(await ex.request({ verb: "get", path: `${T}/count`, key: null })).toBe(0);
    } finally {
      await ex.close();
    }
  });
});
