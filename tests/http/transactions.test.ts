/**
 * Transactions per TinyChain's guide, over raw HTTP (`fetch`) against a served kernel on
 * 127.0.0.1 (PROFILE §4 "Transactions"): implicit begin with `x-tc-txn-id` and an owner token,
 * `x-tc-txn: hold`, continuation by `?txn_id=` with a bearer token of its owner, unseen ids
 * pinned to a token's owner, finalize only at component roots, `/host` and `/healthz` outside
 * transactions, and held transactions rolled back when idle.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTokenConfig } from "../../src/http/auth.js";
import { RjwtActor, verifyRjwt } from "../../src/http/rjwt.js";
import { serve, type ServerHandle } from "../../src/http/index.js";

const SELF = "http://tc-txn-test";
const alice = RjwtActor.generate("alice");
const bob = RjwtActor.generate("bob");
const ALICE = alice.sign({ host: SELF, link: "/", mask: 0o777 });
const BOB = bob.sign({ host: SELF, link: "/", mask: 0o777 });
const TABLE = { "/state/collection/table": [[[[["k", "/state/scalar/value/string", 16]], [["v", "/state/scalar/value/number/int/64"]]], []], []] };

let open: ServerHandle;
let signed: ServerHandle;

beforeAll(async () => {
  open = await serve({});
  signed = await serve({
    tokens: parseTokenConfig({
      tokens: [],
      rjwt: { self: [SELF], actors: [{ id: "alice", publicKey: alice.publicKeyBase64() }, { id: "bob", publicKey: bob.publicKeyBase64() }] },
    }),
  });
  for (const srv of [open, signed]) {
    const r = await call(srv, "PUT", "/state/tx/t", { body: TABLE, token: srv === signed ? ALICE : undefined });
    expect(r.status).toBe(200);
  }
});
afterAll(async () => {
  await Promise.all([open?.close(), signed?.close()]);
});

interface Answer {
  status: number;
  id: string | null;
  token: string | null;
  body: unknown;
}

async function call(
  srv: ServerHandle,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; hold?: boolean; txn?: string; key?: unknown } = {},
): Promise<Answer> {
  const q: string[] = [];
  if (opts.key !== undefined) q.push(`key=${encodeURIComponent(JSON.stringify(opts.key))}`);
  if (opts.txn !== undefined) q.push(`txn_id=${encodeURIComponent(opts.txn)}`);
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.hold) headers["x-tc-txn"] = "hold";
  const res = await fetch(`${srv.url}${path}${q.length > 0 ? `?${q.join("&")}` : ""}`, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, id: res.headers.get("x-tc-txn-id"), token: res.headers.get("x-tc-bearer-token"), body: text === "" ? undefined : JSON.parse(text) };
}

const put = (srv: ServerHandle, k: string, v: number, opts: { token?: string; hold?: boolean; txn?: string } = {}) =>
  call(srv, "PUT", "/state/tx/t", { key: [k], body: [v], ...opts });
/** The value stored under `k` (committed), or null. */
const read = async (srv: ServerHandle, k: string, token?: string): Promise<unknown> => {
  const r = await call(srv, "GET", "/state/tx/t", { key: [k], ...(token !== undefined ? { token } : {}) });
  expect(r.status).toBe(200);
  return (r.body as [string, number] | null)?.[1] ?? null;
};

/** A transaction id of the v2 form, minted by a caller. */
function callerId(): string {
  return `${BigInt(Date.now()) * 1_000_000n}-7-${randomBytes(32).toString("hex")}`;
}

describe("implicit begin", () => {
  it("a request without txn_id begins a transaction: its id comes back, no owner token (it ended with the request), and it commits with the request", async () => {
    const r = await put(open, "implicit", 1);
    expect(r.status).toBe(200);
    expect(r.id).toMatch(/^[1-9][0-9]*-[0-9]{1,5}-[0-9a-f]{64}$/);
    expect(r.token).toBeNull();
    expect(await read(open, "implicit")).toBe(1);
    // Reads and library calls are transactions too; every one gets its own id.
    const g = await call(open, "GET", "/state/tx/t", { key: ["implicit"] });
    expect(g.id).toMatch(/-/);
    expect(g.id).not.toBe(r.id);
  });

  it("a held transaction's owner token is signed by the host, chained onto the caller's token, and claims /txn/<id>", async () => {
    const r = await put(signed, "chained", 1, { token: ALICE, hold: true });
    expect(r.status).toBe(200);
    expect(r.token).toMatch(/^[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
    expect((await call(signed, "DELETE", "/state/tx", { txn: r.id!, token: ALICE })).status).toBe(204);
    const host = await call(signed, "GET", "/host/public_key", { key: "host" });
    expect(typeof host.body).toBe("string");
    const keys: Record<string, RjwtActor> = { alice, bob, host: RjwtActor.fromPublicKey("host", host.body as string) };
    const { claims } = await verifyRjwt(r.token!, (_h, actor) => keys[actor]!.publicKey);
    expect(claims.map((c) => [c.host, c.actor, c.link])).toEqual([
      [SELF, "host", `/txn/${r.id}`],
      [SELF, "alice", "/"],
    ]);
    expect(claims[0]!.mask).toBe(0o300);
  });

  it("finalizing an id that committed with its request (with the caller's own token): a commit answers 204, a rollback 409", async () => {
    const own = "carol-token-123";
    const r = await put(open, "auto", 2, { token: own });
    expect(r.token).toBeNull();
    expect((await call(open, "POST", "/state/tx", { txn: r.id!, token: own })).status).toBe(204);
    expect((await call(open, "DELETE", "/state/tx", { txn: r.id!, token: own })).status).toBe(409);
    // A continuation of it is a conflict too; and its owner only may ask.
    expect((await put(open, "auto", 3, { txn: r.id!, token: own })).status).toBe(409);
    expect((await call(open, "POST", "/state/tx", { txn: r.id!, token: "someone-else-123" })).status).toBe(401);
    expect(await read(open, "auto")).toBe(2);
  });

  it("every request gets an id of its own, with a trace of its own, past many refills of the host's entropy", async () => {
    const ids = new Set<string>();
    const traces = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const r = await call(open, "GET", "/state/tx/t", { key: ["implicit"] });
      expect(r.id).toMatch(/^[1-9][0-9]*-[0-9]{1,5}-[0-9a-f]{64}$/);
      ids.add(r.id!);
      traces.add(r.id!.split("-")[2]!);
    }
    expect(ids.size).toBe(300);
    expect(traces.size).toBe(300);
  });

  it("a failed request rolls its transaction back: still named, a rollback answers 204, a commit 409", async () => {
    const own = "carol-token-123";
    const r = await call(open, "PUT", "/state/tx/missing", { key: ["x"], body: [1], token: own });
    expect(r.status).toBe(404);
    expect(r.id).toMatch(/-/);
    expect(r.token).toBeNull();
    expect((await call(open, "POST", "/state/tx", { txn: r.id!, token: own })).status).toBe(409);
    expect((await call(open, "DELETE", "/state/tx", { txn: r.id!, token: own })).status).toBe(204);
  });
});

describe("held transactions", () => {
  it("hold, continue, commit: the writes appear together at the commit", async () => {
    const begun = await put(open, "h1", 1, { hold: true });
    expect(begun.status).toBe(200);
    const own = { txn: begun.id!, token: begun.token! };
    expect((await put(open, "h2", 2, own)).id).toBe(begun.id);
    expect(await read(open, "h1")).toBeNull(); // not yet committed: a plain read sees the committed state
    expect((await call(open, "GET", "/state/tx/t", { key: ["h2"], ...own })).body).toEqual(["h2", 2]);
    expect((await call(open, "POST", "/state/tx", own)).status).toBe(204);
    expect(await read(open, "h1")).toBe(1);
    expect(await read(open, "h2")).toBe(2);
    // Committed: a repeated commit is fine, a rollback a conflict.
    expect((await call(open, "POST", "/state/tx", own)).status).toBe(204);
    expect((await call(open, "DELETE", "/state/tx", own)).status).toBe(409);
  });

  it("hold, continue, roll back: nothing is written", async () => {
    const begun = await put(open, "r1", 1, { hold: true });
    const own = { txn: begun.id!, token: begun.token! };
    await put(open, "r2", 2, own);
    expect((await call(open, "DELETE", "/lib", own)).status).toBe(204);
    expect(await read(open, "r1")).toBeNull();
    expect(await read(open, "r2")).toBeNull();
    expect((await put(open, "r3", 3, own)).status).toBe(409);
  });

  it("an empty POST with x-tc-txn: hold to a component root begins one with no call in it (204)", async () => {
    const r = await call(open, "POST", "/lib", { hold: true });
    expect(r.status).toBe(204);
    expect(r.id).toMatch(/-/);
    const own = { txn: r.id!, token: r.token! };
    expect((await put(open, "b1", 1, own)).status).toBe(200);
    expect((await call(open, "POST", "/lib", own)).status).toBe(204);
    expect(await read(open, "b1")).toBe(1);
    // Without hold, an empty POST /lib is an ordinary request (no route: not a begin).
    expect((await call(open, "POST", "/lib")).status).not.toBe(204);
  });

  it("a continuation needs its owner: the returned token or the caller's own token; another actor's is 401", async () => {
    const begun = await put(signed, "o1", 1, { token: ALICE, hold: true });
    expect(begun.status).toBe(200);
    expect((await put(signed, "o2", 2, { txn: begun.id!, token: begun.token! })).status).toBe(200);
    expect((await put(signed, "o3", 3, { txn: begun.id!, token: ALICE })).status).toBe(200);
    expect((await put(signed, "o4", 4, { txn: begun.id!, token: BOB })).status).toBe(401);
    expect((await call(signed, "POST", "/state/tx", { txn: begun.id!, token: BOB })).status).toBe(401);
    expect((await put(signed, "o5", 5, { txn: begun.id! })).status).toBe(401);
    expect((await call(signed, "POST", "/state/tx", { txn: begun.id!, token: ALICE })).status).toBe(204);
    expect(await read(signed, "o3", ALICE)).toBe(3);
    expect(await read(signed, "o4", ALICE)).toBeNull();
  });

  it("an empty POST to a sub-path is an ordinary request, to a component root a commit; /state itself is no component root", async () => {
    const lib = { "/lib/tx/l/1.0.0": { hello: { "/state/scalar/op/post": [["r", 41]] } } };
    expect((await call(open, "PUT", "/lib", { body: lib })).status).toBe(204);
    const begun = await put(open, "s1", 1, { hold: true });
    const own = { txn: begun.id!, token: begun.token! };
    const sub = await call(open, "POST", "/lib/tx/l/1.0.0/hello", own);
    expect(sub.status).toBe(200);
    expect(sub.body).toBe(41);
    expect(sub.id).toBe(begun.id);
    expect((await call(open, "POST", "/state", own)).status).not.toBe(204);
    expect(await read(open, "s1")).toBeNull();
    // The library version is a component root: an empty POST there commits.
    expect((await call(open, "POST", "/lib/tx/l/1.0.0", own)).status).toBe(204);
    expect(await read(open, "s1")).toBe(1);
  });

  it("/host and /healthz ignore txn_id", async () => {
    const begun = await put(open, "ignored", 1, { hold: true });
    const own = { txn: begun.id!, token: begun.token! };
    for (const path of ["/healthz", "/host", "/host/tables"]) {
      const r = await call(open, "GET", path, own);
      expect(r.status).toBe(200);
      expect(r.id).toBeNull();
    }
    // Nor is a forged or unknown id looked at there.
    expect((await call(open, "GET", "/host/tables", { txn: "forged" })).status).toBe(200);
    expect((await call(open, "POST", "/host", own)).status).not.toBe(204);
    expect((await call(open, "DELETE", "/state/tx", own)).status).toBe(204);
  });

  it("an idle held transaction is rolled back; its id then answers 408", async () => {
    const srv = await serve({ sessionIdleMs: 100, drainTimeoutMs: 200 });
    try {
      expect((await call(srv, "PUT", "/state/tx/t", { body: TABLE })).status).toBe(200);
      const begun = await put(srv, "idle", 1, { hold: true });
      await new Promise((r) => setTimeout(r, 400));
      const own = { txn: begun.id!, token: begun.token! };
      expect((await put(srv, "idle2", 2, own)).status).toBe(408);
      expect((await call(srv, "POST", "/state/tx", own)).status).toBe(408);
      expect(await read(srv, "idle")).toBeNull();
      // The lock is free again: a plain write goes through.
      expect((await put(srv, "after", 3)).status).toBe(200);
    } finally {
      await srv.close();
    }
  });
});

describe("ids the host has not seen", () => {
  it("are refused without a bearer token (401), pinned to the token's owner with one", async () => {
    const id = callerId();
    expect((await put(open, "u1", 1, { txn: id })).status).toBe(401);
    const first = await put(signed, "u1", 1, { txn: id, token: ALICE });
    expect(first.status).toBe(200);
    expect(first.id).toBe(id);
    expect(first.token).toBeNull(); // the caller named it: no owner token is minted
    // Pinned to alice: bob may not continue or finalize it.
    expect((await put(signed, "u2", 2, { txn: id, token: BOB })).status).toBe(401);
    expect((await call(signed, "DELETE", "/state/tx", { txn: id, token: BOB })).status).toBe(401);
    expect(await read(signed, "u1", ALICE)).toBeNull();
    expect((await call(signed, "POST", "/state/tx", { txn: id, token: ALICE })).status).toBe(204);
    expect(await read(signed, "u1", ALICE)).toBe(1);
  });

  it("are refused (401) with a token whose transaction claims TinyChain refuses: another transaction's, two owners, a lock not the owner's", async () => {
    const id = callerId();
    const claim = (actor: RjwtActor, parent: string, txn: string, mask: number) => actor.extend(parent, { host: SELF, link: `/txn/${txn}`, mask });
    const other = claim(alice, ALICE, callerId(), 0o300);
    const twoOwners = claim(bob, claim(alice, ALICE, id, 0o100), id, 0o100);
    const foreignLock = claim(bob, claim(alice, ALICE, id, 0o100), id, 0o200);
    for (const token of [other, twoOwners, foreignLock]) {
      const r = await put(signed, "lk", 1, { txn: id, token });
      expect(r.status).toBe(401);
    }
    // The owner's own claim, owner and lock in one: accepted and pinned.
    const own = claim(alice, ALICE, id, 0o300);
    expect((await put(signed, "lk", 1, { txn: id, token: own })).status).toBe(200);
    expect((await call(signed, "DELETE", "/state/tx", { txn: id, token: own })).status).toBe(204);
    expect(await read(signed, "lk", ALICE)).toBeNull();
  });

  it("must have the v2 form and a timestamp near the host's clock (400)", async () => {
    for (const id of ["abc", "7-1", `0-1-${"a".repeat(64)}`, `${BigInt(Date.now() - 3_600_000) * 1_000_000n}-1-${"b".repeat(64)}`]) {
      const r = await put(signed, "bad", 1, { txn: id, token: ALICE });
      expect(r.status, id).toBe(400);
    }
  });

  it("finalizing an id never seen is 404", async () => {
    expect((await call(signed, "POST", "/state/tx", { txn: callerId(), token: ALICE })).status).toBe(404);
  });
});
