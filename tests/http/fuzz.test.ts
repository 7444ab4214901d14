/**
 * Fuzzing the served kernel (a few thousand requests, seeded): a kernel served on 127.0.0.1 with
 * and without a token file gets malformed JSON, deep nesting, invalid UTF-8, NUL bytes, lone
 * surrogates, bodies over the limit, huge headers, path tricks, odd queries, unknown methods,
 * wrong content types, random ops, library installs and calls, and session sequences — written
 * byte for byte on raw sockets (`fuzz-gen.ts`). Every answer must be a complete HTTP response
 * below 500, every error a typed 4xx body of the profile's shape; the server keeps answering
 * `/healthz` and its memory stays bounded. A failure prints the request (fast-check's
 * counterexample, shrunk). `FUZZ_SEED` replays another seed.
 */
import fc from "fast-check";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_BODY_LIMIT, loadTokenFile, serve, TXN_HEADER, type ServerHandle } from "../../src/http/index.js";
import {
  chaosRequestArb,
  describeRequest,
  FUZZ_TOKENS,
  hugeBodyRequests,
  irRequestArb,
  jsonRequest,
  problemWith,
  send,
  sessionPlanArb,
  setupRequests,
  withTxn,
  type FuzzAnswer,
  type FuzzRequest,
  type SessionPlan,
} from "./fuzz-gen.js";

const SEED = Number(process.env.FUZZ_SEED ?? 15_015);
const ADMIN = FUZZ_TOKENS.tokens[0]!.token;
const APP = FUZZ_TOKENS.tokens[1]!.token;
const READER = FUZZ_TOKENS.tokens[2]!.token;
/** RSS growth allowed over the whole file (the test's own buffers included): generous on purpose. */
const RSS_CAP = 512 * 2 ** 20;

let open: ServerHandle;
let guarded: ServerHandle;
let dir: string;
let rssBefore = 0;
let sent = 0;
const internalErrors: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tc-fuzz-"));
  const tokenFile = join(dir, "tokens.json");
  await writeFile(tokenFile, JSON.stringify(FUZZ_TOKENS));
  const log = (l: string): void => {
    if (l.startsWith("internal error")) internalErrors.push(l);
  };
  // A short session budget: an abandoned session holds the kernel's lock only that long.
  open = await serve({ txnBudgetMs: 150, log });
  guarded = await serve({ txnBudgetMs: 150, tokens: await loadTokenFile(tokenFile), log });
  await setup();
  rssBefore = process.memoryUsage().rss;
});

afterAll(async () => {
  await open?.close();
  await guarded?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** (Re-)creates the fuzzed tables: a fuzzed DELETE may have dropped them. */
async function setup(): Promise<void> {
  for (const r of setupRequests()) {
    expect((await send(open.url, r)).status).toBe(200);
    expect((await send(guarded.url, r, ADMIN)).status).toBe(200);
  }
}

/** Sends `r` and throws (with the request) unless the answer is a complete response below 500. */
async function check(srv: ServerHandle, r: FuzzRequest, token?: string): Promise<FuzzAnswer> {
  sent++;
  const a = await send(srv.url, r, token);
  const problem = problemWith(a, r.method);
  if (problem !== undefined) {
    throw new Error(`${problem}\n  request: ${describeRequest(r)}${token ? ` (token of ${tokenName(token)})` : ""}`);
  }
  return a;
}

function tokenName(token: string): string {
  return FUZZ_TOKENS.tokens.find((t) => t.token === token)?.name ?? "unknown";
}

async function healthy(): Promise<void> {
  for (const srv of [open, guarded]) {
    const a = await send(srv.url, { method: "GET", path: "/healthz", headers: [], note: "health" });
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toEqual({ status: "ok" });
  }
  expect(internalErrors).toEqual([]);
}

const tokenArb = fc.constantFrom<string | undefined>(ADMIN, APP, READER, undefined, "not-a-valid-token-0000");
const params = (numRuns: number): fc.Parameters<unknown> => ({ seed: SEED, numRuns, endOnFailure: false });

/** Hand-written requests: each case the generators reach only by luck. */
function corpus(): FuzzRequest[] {
  const r = (method: string, path: string, headers: [string, string][] = [], body?: string | Buffer, note = "corpus"): FuzzRequest => ({
    method,
    path,
    headers,
    ...(body === undefined ? {} : { body: typeof body === "string" ? Buffer.from(body, "utf8") : body }),
    note,
  });
  const json: [string, string][] = [["content-type", "application/json"]];
  const deep = (d: number): string => `${"[".repeat(d)}1${"]".repeat(d)}`;
  return [
    r("PUT", "/state/fz/t?key=%5B1%5D", json, "{", "malformed JSON"),
    r("PUT", "/state/fz/t?key=%5B1%5D", json, '["a", 1', "truncated JSON"),
    r("PUT", "/state/fz/t?key=%5B1%5D", json, deep(100_000), "arrays 100k deep"),
    r("PUT", "/state/fz/t?key=%5B1%5D", json, `${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}`, "maps 50k deep"),
    r("GET", `/state/fz/t?key=${"%5B".repeat(15_000)}1${"%5D".repeat(15_000)}`, [], undefined, "key 15k deep"),
    r("POST", "/lib/fz/r/0.0.1/op", json, `{"p":${deep(20_000)}}`, "params 20k deep"),
    r("PUT", "/lib", json, `{"/lib/fz/deep/0.0.1": {"op": {"/state/scalar/op/post": [["r", ${deep(5_000)}]]}}}`, "op 5k deep"),
    r("PUT", "/state/fz/t?key=%5B2%5D", json, Buffer.from([0x5b, 0x22, 0xc0, 0xaf, 0xff, 0x22, 0x2c, 0x31, 0x5d]), "invalid UTF-8 in a string"),
    r("PUT", "/state/fz/t?key=%5B3%5D", json, Buffer.from([0x5b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x2c, 0x31, 0x5d]), "UTF-8-encoded surrogate"),
    r("PUT", "/state/fz/t?key=%5B4%5D", json, '["a\\ud800b", 1]', "lone surrogate"),
    r("PUT", "/state/fz/t?key=%5B5%5D", json, '["\\u0000", 1]', "escaped NUL"),
    r("PUT", "/state/fz/t?key=%5B6%5D", json, Buffer.from([0x5b, 0x22, 0x00, 0x22, 0x2c, 0x31, 0x5d]), "raw NUL in a string"),
    r("GET", "/state/fz/t?key=%5B%22%5Cud800%22%5D", [], undefined, "lone surrogate in the key"),
    r("GET", "/state/fz/t?key=%ED%A0%80", [], undefined, "invalid UTF-8 in the key"),
    r("GET", "/state/fz/t%00", [], undefined, "%00 in the path"),
    r("GET", "/state/fz/t\u0000", [], undefined, "raw NUL in the path"),
    r("GET", "/state/fz/\u00ff\u00fe", [], undefined, "invalid UTF-8 in the path"),
    r("GET", "/state/fz/%F0%9D%95%8F", [], undefined, "astral char in the path"),
    r("GET", "/state/../state/fz/t", [], undefined, "dot-dot"),
    r("GET", "/state/fz/t/", [], undefined, "trailing slash"),
    r("GET", "//state/fz/t", [], undefined, "double slash"),
    r("GET", "/state%2Ffz%2Ft", [], undefined, "encoded slashes"),
    r("GET", `/state/fz/${"x".repeat(63_000)}`, [], undefined, "63k path"),
    r("GET", `/state/fz/${"x".repeat(66_000)}`, [], undefined, "66k path"),
    r("GET", "/state/fz/t?txn_id=a&txn_id=a", [], undefined, "repeated txn_id"),
    r("GET", "/state/fz/t?txn_id=", [], undefined, "empty txn_id"),
    r("GET", `/state/fz/t?txn_id=${"a".repeat(129)}`, [], undefined, "long txn_id"),
    r("GET", "/state/fz/t?txn_id=..%2F..", [], undefined, "txn_id with tricks"),
    r("POST", "/state?txn_id=0123456789abcdef0123456789abcdef", [], undefined, "commit of an unknown session"),
    r("DELETE", "/class?txn_id=0123456789abcdef0123456789abcdef", [], undefined, "rollback of an unknown session on /class"),
    r("GET", "/state/fz/t", [["x-big", "h".repeat(70_000)]], undefined, "70k header"),
    r("GET", "/state/fz/t", [["x-nul", "a\u0000b"]], undefined, "NUL in a header"),
    r("GET", "/state/fz/t", [["bad header", "x"]], undefined, "space in a header name"),
    r("PUT", "/state/fz/t?key=%5B7%5D", [["content-type", "text/plain"]], '["x", 1]', "text/plain"),
    r("PUT", "/state/fz/t?key=%5B7%5D", [["content-type", "application/x-www-form-urlencoded"]], "a=1", "form body"),
    r("PUT", "/state/fz/t?key=%5B7%5D", [["content-type", "application/json"], ["content-length", "3"]], '["x", 1]', "two content-lengths"),
    r("PUT", "/state/fz/t?key=%5B7%5D", [["transfer-encoding", "gzip"]], "xx", "unknown transfer-encoding"),
    ...["PATCH", "OPTIONS", "TRACE", "CONNECT", "HEAD", "PROPFIND", "BREW"].map((m) => r(m, "/state/fz/t", [], undefined, `method ${m}`)),
    r("CONNECT", "127.0.0.1:1", [], undefined, "CONNECT to an authority"),
    r("GET", "*", [], undefined, "asterisk target"),
    r("GET", "http://127.0.0.1/state/fz/t", [], undefined, "absolute-form target"),
    r("GET", "/class/acme/User/1.0.0", [], undefined, "/class"),
    r("POST", "/service/acme/ns/svc/1.0.0/x", json, "{}", "/service"),
    r("GET", "/state/scalar/value/string?key=5", [], undefined, "a cast"),
    jsonRequest("POST", "/lib/fz/egress/0.0.1/op", {}, "egress call (installed below)"),
    jsonRequest("PUT", "/lib", { "/lib/fz/egress/0.0.1": { op: { "/state/scalar/op/post": [["r", { "/state/scalar/ref/op/get": ["http://127.0.0.1:1/state/fz/t", null] }]] } } }, "egress install"),
    jsonRequest("POST", "/lib/fz/egress/0.0.1/op", {}, "egress call"),
    jsonRequest("PUT", "/lib", { "/lib/fz/cls/0.0.1": { op: { "/state/scalar/op/post": [["r", { "/class/a/b/1.0.0": [null] }], ["c", { "/state/scalar/value/string": [5] }]] } } }, "class install"),
    jsonRequest("POST", "/lib/fz/cls/0.0.1/op", {}, "class call"),
  ];
}

describe("fuzzing the served kernel (PROFILE §4: no answer ≥ 500, typed 4xx errors)", () => {
  it("hand-written corpus: malformed and deep JSON, bad UTF-8, NUL bytes, path tricks, odd methods and headers", async () => {
    for (const r of corpus()) {
      await check(open, r);
      await check(guarded, r, ADMIN);
      await check(guarded, r, APP);
    }
    await healthy();
  });

  it("regressions: CONNECT → 405, /class and an unknown /service → 404, a cast → 400, an egress call → 404", async () => {
    const connect = await check(open, { method: "CONNECT", path: "/state/fz/t", headers: [], note: "CONNECT" });
    expect(connect.status).toBe(405);
    expect(JSON.parse(connect.body)).toMatchObject({ method_not_allowed: { message: expect.stringMatching(/CONNECT/) } });
    for (const path of ["/class/acme/User/1.0.0", "/class"]) {
      const a = await check(open, { method: "GET", path, headers: [], note: path });
      expect(a.status).toBe(404);
      expect(JSON.parse(a.body).not_found.message).toMatch(/serves no \/class components/);
    }
    const svc = await check(open, { method: "GET", path: "/service/acme/ns/svc/1.0.0/x", headers: [], note: "unknown service" });
    expect(svc.status).toBe(404);
    expect(JSON.parse(svc.body).not_found.message).toMatch(/no service \/service\/acme\/ns\/svc\/1.0.0 is installed/);
    expect((await check(open, { method: "GET", path: "/state/scalar/value/string?key=5", headers: [], note: "cast" })).status).toBe(400);
    const install = { "/lib/fz/egress/0.0.9": { op: { "/state/scalar/op/post": [["r", { "/state/scalar/ref/op/get": ["http://127.0.0.1:1/state/fz/t", null] }]] } } };
    expect((await check(open, jsonRequest("PUT", "/lib", install, "egress install"))).status).toBe(204);
    const egress = await check(open, jsonRequest("POST", "/lib/fz/egress/0.0.9/op", {}, "egress call"));
    expect(egress.status).toBe(404);
    expect(egress.body).toMatch(/egress/);
  });

  it("random requests: methods, targets, queries, headers and bodies drawn independently", async () => {
    await setup();
    await fc.assert(fc.asyncProperty(chaosRequestArb, async (r) => void (await check(open, r))), params(900));
    await fc.assert(
      fc.asyncProperty(chaosRequestArb, tokenArb, async (r, token) => void (await check(guarded, r, token))),
      params(400),
    );
    await healthy();
  });

  it("random IR: ops mixing refs, built-ins, tuples, maps and links; /lib installs and calls; table requests", async () => {
    await setup();
    await fc.assert(fc.asyncProperty(irRequestArb, async (r) => void (await check(open, r))), params(800));
    await fc.assert(
      fc.asyncProperty(irRequestArb, tokenArb, async (r, token) => void (await check(guarded, r, token))),
      params(400),
    );
    await healthy();
  });

  it("random sessions: begin, continue (with forged ids and other tokens), commit, roll back or abandon", async () => {
    await setup();
    const runPlan = async (srv: ServerHandle, plan: SessionPlan, token?: string, other?: string): Promise<void> => {
      // A held transaction begins with a read (`x-tc-txn: hold`); its continuations carry the
      // caller's token, or — on a host without tokens — the owner token the host answered with.
      const begun = await check(srv, { method: "GET", path: "/lib", headers: [["x-tc-txn", "hold"]], note: "begin" }, token);
      const id = begun.headers[TXN_HEADER];
      if (begun.status !== 200 || id === undefined) return; // refused (401 without a token): checked above
      const own = token ?? begun.headers["x-tc-bearer-token"];
      token = own;
      for (const step of plan.steps) {
        await check(srv, withTxn(step.req, step.forged ? "forged-session-id-0" : id), step.forged ? other ?? own : own);
      }
      if (plan.end === "abandon") return;
      const finish = { method: plan.end === "rollback" ? "DELETE" : "POST", path: `${plan.endPath}?txn_id=${id}`, headers: [], note: plan.end };
      await check(srv, finish, token);
      if (plan.end === "commit-twice") await check(srv, finish, token);
    };
    const plans = fc.sample(sessionPlanArb, { seed: SEED, numRuns: 150 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...plans), fc.boolean(), async (plan, useGuarded) => {
        if (useGuarded) await runPlan(guarded, plan, APP, READER);
        else await runPlan(open, plan);
      }),
      params(150),
    );
    await healthy();
  });

  it("bodies over the limit answer 413 (or the connection closes after it); the server keeps serving", async () => {
    for (const r of hugeBodyRequests(DEFAULT_BODY_LIMIT)) {
      sent++;
      const a = await send(open.url, r);
      // The server stops reading at the limit and closes: the client may see a reset instead of
      // the 413 while it is still writing. Anything it does see must be a typed 4xx.
      if (a.status !== 0 || !["ECONNRESET", "EPIPE"].includes(a.closed ?? "")) {
        expect(problemWith(a, r.method), describeRequest(r)).toBeUndefined();
      }
    }
    await healthy();
  });

  it("a burst of 200 concurrent random requests", async () => {
    const burst = fc.sample(fc.oneof(chaosRequestArb, irRequestArb), { seed: SEED + 1, numRuns: 200 });
    const problems = (await Promise.all(burst.map(async (r) => ({ r, a: await send(open.url, r) }))))
      .map(({ r, a }) => {
        sent++;
        const p = problemWith(a, r.method);
        return p === undefined ? undefined : `${p}\n  request: ${describeRequest(r)}`;
      })
      .filter((p) => p !== undefined);
    expect(problems).toEqual([]);
    await healthy();
  });

  // String doubling to 2^29 characters once answered 500 ("Invalid string length"); the op memory
  // budget (maxStringLength) now refuses it with a typed 4xx.
  it("string doubling to 2^29 characters answers a typed 4xx (the op memory budget)", async () => {
    const steps: unknown[] = [["s0", "xxxxxxxx"]];
    for (let i = 1; i <= 27; i++) steps.push([`s${i}`, { [`$s${i - 1}/concat`]: { r: { [`$s${i - 1}`]: [] } } }]);
    steps.push(["r", { "$s27/concat": { r: "y" } }]);
    await check(open, jsonRequest("PUT", "/lib", { "/lib/fz/doubling/0.0.1": { op: { "/state/scalar/op/post": steps } } }, "doubling install"));
    await check(open, jsonRequest("POST", "/lib/fz/doubling/0.0.1/op", {}, "doubling call"));
  });

  it("after the run: /healthz answers, no internal error was logged, RSS growth stays under the cap", async () => {
    await healthy();
    const growth = process.memoryUsage().rss - rssBefore;
    expect(sent).toBeGreaterThan(2500);
    expect(growth).toBeLessThan(RSS_CAP);
  });
});
