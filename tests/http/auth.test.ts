/**
 * Bearer-token auth (PROFILE §4 "Auth"): 401 without a valid token, 403 without rights to the
 * request's path, 401 for a session continued with another token — and tokens never appear in
 * error messages or logs. (Links an op reaches are checked by the kernel: authz-bypass.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTokenConfig, serve, type ServerHandle } from "../../src/http/index.js";
import { BadRequestError } from "../../src/errors.js";
import { FakeKernel } from "./fake-kernel.js";
import { errorBody, raw } from "./raw.js";

const ADMIN = "admin-secret-token-0001";
const SOCIAL = "social-secret-token-0002";
const READER = "reader-secret-token-0003";
const LIBONLY = "libonly-secret-token-0004";
const ALL_TOKENS = [ADMIN, SOCIAL, READER, LIBONLY];

let srv: ServerHandle;
const logs: string[] = [];
const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });
const json = { "content-type": "application/json" };

beforeAll(async () => {
  const tokens = parseTokenConfig({
    tokens: [
      { name: "admin", token: ADMIN, paths: ["/"] },
      { name: "social", token: SOCIAL, paths: ["/state/social", "/lib"] },
      { name: "reader", token: READER, paths: ["/state/social"], verbs: ["get"] },
      { token: LIBONLY, paths: ["/lib"] },
    ],
  });
  srv = await serve({ kernel: new FakeKernel(), tokens, log: (l) => logs.push(l) });
});
afterAll(() => srv.close());

function expectNoToken(text: string): void {
  for (const t of ALL_TOKENS) expect(text).not.toContain(t);
}

describe("authentication", () => {
  it("/healthz needs no token", async () => {
    expect((await raw(srv.url, "GET", "/healthz")).status).toBe(200);
  });

  it("no token → 401", async () => {
    const r = await raw(srv.url, "GET", "/state/social/users");
    expect(r.status).toBe(401);
    expect(errorBody(r)?.message).toMatch(/missing bearer token/);
  });

  it("an unknown token or another scheme → 401, and the token is not echoed", async () => {
    let r = await raw(srv.url, "GET", "/state/social/users", { headers: bearer("not-a-real-token-xyz") });
    expect(r.status).toBe(401);
    expect(r.text).not.toContain("not-a-real-token-xyz");
    r = await raw(srv.url, "GET", "/state/social/users", { headers: { authorization: `Basic ${ADMIN}` } });
    expect(r.status).toBe(401);
    expectNoToken(r.text);
  });

  it("the scheme is case-insensitive", async () => {
    const r = await raw(srv.url, "PUT", "/state/social/x", { headers: { authorization: `bearer ${SOCIAL}`, ...json }, body: "1" });
    expect(r.status).toBe(200);
  });
});

describe("authorization", () => {
  it("a token without rights to the path → 403 naming the principal, not the token", async () => {
    const r = await raw(srv.url, "GET", "/state/other/t", { headers: bearer(SOCIAL) });
    expect(r.status).toBe(403);
    expect(errorBody(r)?.message).toMatch(/social has no rights to \/state\/other\/t/);
    expectNoToken(r.text);
  });

  it("rights are segment-wise prefixes (/state/social does not cover /state/socialite)", async () => {
    expect((await raw(srv.url, "PUT", "/state/social/y", { headers: { ...bearer(SOCIAL), ...json }, body: "1" })).status).toBe(200);
    expect((await raw(srv.url, "PUT", "/state/socialite/y", { headers: { ...bearer(SOCIAL), ...json }, body: "1" })).status).toBe(403);
  });

  it("verbs can be restricted", async () => {
    expect((await raw(srv.url, "GET", "/state/social/y", { headers: bearer(READER) })).status).toBe(200);
    const r = await raw(srv.url, "PUT", "/state/social/y", { headers: { ...bearer(READER), ...json }, body: "2" });
    expect(r.status).toBe(403);
    expect(errorBody(r)?.message).toMatch(/reader may not PUT/);
  });

  // What an op reaches (literal, computed, through a library op) is checked by the kernel as the
  // op runs, against the caller's grant: tests/http/authz-bypass.test.ts, on a real kernel.
});

describe("sessions and tokens", () => {
  it("a session continued or finalized with another token → 401", async () => {
    const begin = await raw(srv.url, "PUT", "/state/social/z", { headers: { ...bearer(SOCIAL), ...json, "x-tc-txn": "hold" }, body: "0" });
    expect(begin.status).toBe(200);
    const id = begin.headers["x-tc-txn-id"] as string;
    let r = await raw(srv.url, "PUT", `/state/social/z?txn_id=${id}`, { headers: { ...bearer(ADMIN), ...json }, body: "1" });
    expect(r.status).toBe(401);
    expectNoToken(r.text);
    r = await raw(srv.url, "POST", `/lib?txn_id=${id}`, { headers: bearer(ADMIN) });
    expect(r.status).toBe(401);
    r = await raw(srv.url, "PUT", `/state/social/z?txn_id=${id}`, { headers: { ...bearer(SOCIAL), ...json }, body: "1" });
    expect(r.status).toBe(200);
    r = await raw(srv.url, "POST", `/state/social?txn_id=${id}`, { headers: bearer(SOCIAL) });
    expect(r.status).toBe(204);
  });

  it("beginning a transaction needs a valid token", async () => {
    expect((await raw(srv.url, "PUT", "/state/social/z", { headers: { ...json, "x-tc-txn": "hold" }, body: "0" })).status).toBe(401);
  });
});

describe("logs", () => {
  it("never contain a token", () => {
    expect(logs.length).toBeGreaterThan(10);
    expectNoToken(logs.join("\n"));
  });
});

describe("token file validation", () => {
  it.each([
    [null, /expected an object/],
    [{ tokens: {} }, /"tokens" must be an array/],
    [{ tokens: [{ token: "short", paths: ["/"] }] }, /at least 8/],
    [{ tokens: [{ token: "long enough token", paths: ["/"] }] }, /non-space/],
    [{ tokens: [{ token: "abcdefgh1", paths: "/lib" }] }, /paths must be an array/],
    [{ tokens: [{ token: "abcdefgh1", paths: ["lib"] }] }, /paths must be an array/],
    [{ tokens: [{ token: "abcdefgh1", paths: ["/"], verbs: ["patch"] }] }, /verbs/],
    [{ tokens: [{ token: "abcdefgh1", paths: ["/"] }, { token: "abcdefgh1", paths: ["/"] }] }, /repeats/],
  ])("rejects %j", (cfg, why) => {
    let err: unknown;
    try {
      parseTokenConfig(cfg);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as Error).message).toMatch(why);
    expect((err as Error).message).not.toContain("abcdefgh1");
  });
});
