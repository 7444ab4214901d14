/**
 * Sessions (PROFILE §4 "Transactions"): commit, rollback, the time budget (408 afterwards), the
 * owner check (401), and the `Session` object of the embedded executor.
 */
import { afterEach, describe, expect, it } from "vitest";
import { embedded, Kernel } from "../../src/kernel/index.js";
import { TcError } from "../../src/errors.js";
import type { Json } from "../../src/ir/types.js";

const SCHEMA: Json = [[[["name", "/state/scalar/value/string", 16]], [["n", "/state/scalar/value/number/int/64"]]], []];
const T = "/state/sess/t";

const open: Kernel[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((k) => k.close()));
});

async function kernel(txnBudgetMs?: number): Promise<Kernel> {
  const k = await Kernel.open(txnBudgetMs === undefined ? {} : { txnBudgetMs });
  open.push(k);
  await k.request({ verb: "put", path: T, key: null, body: { "/state/collection/table": [SCHEMA, []] } });
  return k;
}

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TcError);
    return (e as TcError).kind;
  }
  return "ok";
}

const count = (k: Kernel): Promise<Json> => k.request({ verb: "get", path: `${T}/count`, key: null });

describe("kernel sessions", () => {
  it("mints unguessable ids", async () => {
    const k = await kernel();
    const a = await k.beginSession();
    await k.rollbackSession(a);
    const b = await k.beginSession();
    await k.rollbackSession(b);
    expect(a).not.toBe(b);
    // TinyChain v2's form: <timestamp ns>-<nonce>-<256 random bits as hex>
    expect(a).toMatch(/^[1-9][0-9]*-[0-9]{1,5}-[0-9a-f]{64}$/);
  });

  it("commit makes the session's writes visible; they are visible inside the session before", async () => {
    const k = await kernel();
    const s = await k.beginSession();
    await k.request({ verb: "put", path: T, key: ["a"], body: [1] }, s);
    await k.execute({ "/state/scalar/op/post": [["w", { [T]: [["b"], [2]] }]] }, {}, s);
    expect(await k.request({ verb: "get", path: `${T}/count`, key: null }, s)).toBe(2);
    await k.commitSession(s);
    expect(await count(k)).toBe(2);
    // A committed transaction takes no more calls; a repeated commit succeeds, a rollback is a conflict.
    expect(await kindOf(k.request({ verb: "get", path: T, key: null }, s))).toBe("conflict");
    await k.commitSession(s);
    expect(await kindOf(k.rollbackSession(s))).toBe("conflict");
  });

  it("rollback undoes the session's writes", async () => {
    const k = await kernel();
    const s = await k.beginSession();
    await k.request({ verb: "put", path: T, key: ["a"], body: [1] }, s);
    await k.rollbackSession(s);
    expect(await count(k)).toBe(0);
  });

  it("a session past its budget is rolled back and answers 408; the lock is free again", async () => {
    const k = await kernel(80);
    const s = await k.beginSession();
    await k.request({ verb: "put", path: T, key: ["a"], body: [1] }, s);
    // a plain request queues behind the session and runs once the budget rolls it back
    const queued = count(k);
    await new Promise((r) => setTimeout(r, 150));
    expect(await queued).toBe(0);
    expect(await kindOf(k.request({ verb: "get", path: T, key: ["a"] }, s))).toBe("request_timeout");
    expect(await kindOf(k.commitSession(s))).toBe("request_timeout");
    expect(await count(k)).toBe(0);
  });

  it("continuing with another owner is 401; the right owner continues", async () => {
    const k = await kernel();
    const s = await k.beginSession("alice");
    expect(await kindOf(k.request({ verb: "put", path: T, key: ["a"], body: [1] }, { id: s, owner: "bob" }))).toBe("unauthorized");
    expect(await kindOf(k.request({ verb: "get", path: T, key: ["a"] }, s))).toBe("unauthorized");
    expect(await kindOf(k.commitSession(s, "bob"))).toBe("unauthorized");
    await k.request({ verb: "put", path: T, key: ["a"], body: [1] }, { id: s, owner: "alice" });
    await k.commitSession(s, "alice");
    expect(await count(k)).toBe(1);
  });

  it("an unknown id needs a bearer token (401); finalizing it is 404", async () => {
    const k = await kernel();
    expect(await kindOf(k.request({ verb: "get", path: T, key: null }, "no-such-session"))).toBe("unauthorized");
    expect(await kindOf(k.request({ verb: "get", path: T, key: null }, { id: "no-such-session", token: "t" }))).toBe("bad_request");
    expect(await kindOf(k.rollbackSession("no-such-session"))).toBe("not_found");
  });

  it("transactions are serializable: a plain write or op waits for an open session; a plain read sees the committed state at once", async () => {
    const k = await kernel();
    const s = await k.beginSession();
    await k.request({ verb: "put", path: T, key: ["a"], body: [1] }, s);
    const order: string[] = [];
    const plain = k.request({ verb: "put", path: T, key: ["b"], body: [2] }).then(() => order.push("plain write"));
    const op = k.execute({ "/state/scalar/op/post": [["n", { [`${T}/count`]: [null] }]] }).then((n) => {
      order.push("op");
      return n;
    });
    expect(await count(k)).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    order.push("commit");
    await k.commitSession(s);
    await plain;
    expect(await op).toBe(2); // it ran after the write, in queue order
    expect(order[0]).toBe("commit");
    expect(order).toHaveLength(3);
    expect(await count(k)).toBe(2);
  });
});

describe("closing", () => {
  it("close rolls back open sessions; a closed kernel answers 503", async () => {
    const k = await Kernel.open();
    await k.request({ verb: "put", path: T, key: null, body: { "/state/collection/table": [SCHEMA, []] } });
    const s = await k.beginSession();
    await k.request({ verb: "put", path: T, key: ["a"], body: [1] }, s);
    const queued = k.request({ verb: "put", path: T, key: ["b"], body: [2] });
    await k.close();
    expect(await kindOf(queued)).toBe("temporarily_unavailable");
    expect(await kindOf(k.request({ verb: "get", path: "/healthz" }))).toBe("temporarily_unavailable");
    expect(await kindOf(k.execute({ "/state/scalar/op/post": [["r", 1]] }))).toBe("temporarily_unavailable");
  });
});

describe("embedded executor sessions", () => {
  it("commit, rollback, and no use after the end", async () => {
    const ex = embedded();
    try {
      await ex.request({ verb: "put", path: T, key: null, body: { "/state/collection/table": [SCHEMA, []] } });
      const s1 = await ex.session();
      await s1.request({ verb: "put", path: T, key: ["a"], body: [1] });
      await s1.commit();
      const s2 = await ex.session();
      await s2.execute({ "/state/scalar/op/post": [["w", { [T]: [["b"], [2]] }]] });
      await s2.rollback();
      expect(await ex.request({ verb: "get", path: `${T}/count`, key: null })).toBe(1);
      expect(await kindOf(s1.commit())).toBe("bad_request");
      expect(await kindOf(s2.request({ verb: "get", path: T, key: null }))).toBe("bad_request");
      expect(Object.values(s1).every((v) => typeof v === "function")).toBe(true); // no id exposed
    } finally {
      await ex.close();
    }
    expect(await kindOf(ex.request({ verb: "get", path: "/healthz" }))).toBe("bad_request");
  });
});
