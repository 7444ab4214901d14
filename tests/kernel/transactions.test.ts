/**
 * Transactions per TinyChain's guide in the kernel (transactions.ts), the one implementation the
 * HTTP server and `embedded()` share: implicit begin (named through `out`), `hold`, continuation
 * by id with an owner or the kernel's owner token, unseen ids pinned to their owner, finalize,
 * idle rollback — and `session()` on every transport built on it.
 */
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { TcError } from "../../src/errors.js";
import type { Json } from "../../src/ir/types.js";
import { Kernel, type TxnTicket } from "../../src/kernel/index.js";
import { EXECUTORS, executorsFor } from "../support/executors.js";

const T = "/state/kt/t";
const TABLE: Json = { "/state/collection/table": [[[[["k", "/state/scalar/value/string", 16]], [["v", "/state/scalar/value/number/int/64"]]], []], []] };

const kernels: Kernel[] = [];
afterAll(async () => {
  await Promise.all(kernels.map((k) => k.close()));
});

async function kernel(opts: { sessionIdleMs?: number } = {}): Promise<Kernel> {
  const k = await Kernel.open(opts);
  kernels.push(k);
  await k.request({ verb: "put", path: T, key: null, body: TABLE });
  return k;
}

async function kindOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return e instanceof TcError ? e.kind : `not a TcError: ${String(e)}`;
  }
}

const write = (k: string, v: number) => ({ verb: "put" as const, path: T, key: [k], body: [v] });
const value = async (kn: Kernel, k: string): Promise<unknown> => ((await kn.request({ verb: "get", path: T, key: [k] })) as [string, number] | null)?.[1] ?? null;
const callerId = (): string => `${BigInt(Date.now()) * 1_000_000n}-3-${randomBytes(32).toString("hex")}`;

describe("kernel transactions", () => {
  it("an implicit begin is named through `out` and commits with its call; a repeated commit is fine, a rollback 409", async () => {
    const k = await kernel();
    const out: TxnTicket = {};
    await k.request(write("a", 1), { owner: "alice", out });
    expect(out.id).toMatch(/^[1-9][0-9]*-[0-9]{1,5}-[0-9a-f]{64}$/);
    // It ended with its call: no owner token is signed for it.
    expect(out.token).toBeUndefined();
    expect(await value(k, "a")).toBe(1);
    await k.finalize(out.id!, true, { owner: "alice" });
    expect(await kindOf(k.finalize(out.id!, false, { owner: "alice" }))).toBe("conflict");
    expect(await kindOf(k.finalize(out.id!, true, { owner: "bob" }))).toBe("unauthorized");
  });

  it("a held transaction continues under its id for its owner or the holder of its token, then commits or rolls back", async () => {
    const k = await kernel();
    const out: TxnTicket = {};
    await k.request(write("h1", 1), { owner: "alice", hold: true, out });
    const id = out.id!;
    await k.execute({ "/state/scalar/op/post": [["w", { [T]: [["h2"], [2]] }]] }, {}, { id, owner: "alice" });
    await k.request(write("h3", 3), { id, owner: "someone", token: out.token! });
    expect(await kindOf(k.request(write("h4", 4), { id, owner: "bob" }))).toBe("unauthorized");
    expect(await kindOf(k.request(write("h4", 4), { id, owner: "bob", token: "a.forged.token" }))).toBe("unauthorized");
    expect(await value(k, "h1")).toBeNull(); // a plain read sees the committed state
    await k.finalize(id, true, { owner: "alice" });
    expect([await value(k, "h1"), await value(k, "h2"), await value(k, "h3"), await value(k, "h4")]).toEqual([1, 2, 3, null]);
    expect(await kindOf(k.request(write("h5", 5), { id, owner: "alice" }))).toBe("conflict");

    const back: TxnTicket = {};
    await k.request(write("r1", 1), { hold: true, out: back });
    await k.finalize(back.id!, false);
    await k.finalize(back.id!, false); // a repeated rollback is fine
    expect(await kindOf(k.finalize(back.id!, true))).toBe("conflict");
    expect(await value(k, "r1")).toBeNull();
  });

  it("hold() begins a held transaction with no call in it, named like an implicit begin", async () => {
    const k = await kernel();
    const out: TxnTicket = {};
    const id = await k.hold({ owner: "alice", out }, undefined);
    expect(out.id).toBe(id);
    await k.request(write("k1", 1), { id, owner: "alice" });
    expect(await value(k, "k1")).toBeNull();
    await k.finalize(id, true, { token: out.token! });
    expect(await value(k, "k1")).toBe(1);
    expect(await kindOf(k.hold({}, { paths: ["/state"], verbs: ["get"] }))).toBe("forbidden");
  });

  it("a held begin refused (a read-only grant) names nothing", async () => {
    const k = await kernel();
    const out: TxnTicket = {};
    const kind = await kindOf(k.request({ verb: "get", path: T, key: ["x"] }, { hold: true, out }, { paths: ["/state/kt"], verbs: ["get"] }));
    expect(kind).toBe("forbidden");
    expect(out.id).toBeUndefined();
  });

  it("an unseen id needs a token and the v2 form, and is pinned to its owner", async () => {
    const k = await kernel();
    const id = callerId();
    expect(await kindOf(k.request(write("u", 1), { id, owner: "alice" }))).toBe("unauthorized");
    expect(await kindOf(k.request(write("u", 1), { id: "7-1", owner: "alice", token: "t" }))).toBe("bad_request");
    await k.request(write("u", 1), { id, owner: "alice", token: "alice-token" });
    expect(await kindOf(k.request(write("u2", 2), { id, owner: "bob", token: "bob-token" }))).toBe("unauthorized");
    expect(await value(k, "u")).toBeNull();
    await k.finalize(id, true, { owner: "alice" });
    expect(await value(k, "u")).toBe(1);
    expect(await kindOf(k.finalize(callerId(), true, { owner: "alice" }))).toBe("not_found");
  });

  it("concurrent first calls with the same unseen id open one transaction", async () => {
    const k = await kernel();
    const id = callerId();
    await Promise.all([k.request(write("c1", 1), { id, owner: "a", token: "t" }), k.request(write("c2", 2), { id, owner: "a", token: "t" })]);
    await k.finalize(id, true, { owner: "a" });
    expect([await value(k, "c1"), await value(k, "c2")]).toEqual([1, 2]);
  });

  it("an idle held transaction is rolled back (408 after) and frees the lock", async () => {
    const k = await kernel({ sessionIdleMs: 50 });
    const out: TxnTicket = {};
    await k.request(write("idle", 1), { hold: true, out });
    await new Promise((r) => setTimeout(r, 200));
    expect(await kindOf(k.request(write("idle2", 2), { id: out.id! }))).toBe("request_timeout");
    expect(await kindOf(k.finalize(out.id!, true))).toBe("request_timeout");
    await k.request(write("after", 3));
    expect([await value(k, "idle"), await value(k, "after")]).toEqual([null, 3]);
  });
});

describe.each(EXECUTORS)("sessions on $name", (factory) => {
  const create = executorsFor(factory, afterAll);

  it("commit and rollback; a session with no call; a first call that fails ends the session", async () => {
    const ex = await create();
    await ex.request({ verb: "put", path: T, key: null, body: TABLE });
    const row = async (k: string) => ((await ex.request({ verb: "get", path: T, key: [k] })) as [string, number] | null)?.[1] ?? null;

    const s = await ex.session();
    await s.request(write("s1", 1));
    await s.request(write("s2", 2));
    expect(await s.request({ verb: "get", path: `${T}/count`, key: null })).toBe(2);
    expect(await row("s1")).toBeNull();
    await s.commit();
    expect([await row("s1"), await row("s2")]).toEqual([1, 2]);

    const r = await ex.session();
    await r.request(write("r1", 1));
    await r.rollback();
    expect(await row("r1")).toBeNull();

    const empty = await ex.session();
    await empty.commit();

    const failed = await ex.session();
    await expect(failed.request({ verb: "put", path: "/state/kt/missing", key: ["x"], body: [1] })).rejects.toBeInstanceOf(TcError);
    await expect(failed.request(write("f1", 1))).rejects.toBeInstanceOf(TcError);
    await expect(failed.commit()).rejects.toBeInstanceOf(TcError);
    expect(await row("f1")).toBeNull();
  });
});
