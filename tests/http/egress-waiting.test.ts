/**
 * An outbound call does not hold the calling host's thread (PROFILE §6.15): the host keeps
 * serving while a call waits — its own public key included, so a remote host that trusts it as an
 * issuer without a configured key fetches the key during the call — and the op's request runs
 * again once the answer is in, so every call reaches the remote host once and every write is
 * made once. A held transaction whose call waits takes no other call meanwhile (409).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadGatewayError, BadRequestError, ConflictError, NotFoundError, TimeoutError } from "../../src/errors.js";
import { embedded } from "../../src/kernel/index.js";
import { CallLog, MAX_CALLS_PER_REQUEST } from "../../src/kernel/egress/call-replay.js";
import { http, serve, type ServerHandle } from "../../src/http/index.js";
import { after, put } from "../../src/ir/build.js";
import type { Executor } from "../../src/executor.js";
import { defineLibrary, installLibrary, route } from "../../src/library/index.js";
import { a, NOTES, reserveUrl, serveB } from "../support/egress.js";

/** A library served by the slow recording host below (never installed on the calling host). */
const slow = defineLibrary({
  publisher: "acme",
  name: "slow",
  version: "1.0.0",
  routes: { echo: route.get<string, string>("k", (o) => o.returns(o.key)) },
});
/** Calls `slow` twice around a local write. */
const w = defineLibrary({
  publisher: "acme",
  name: "w",
  version: "1.0.0",
  dependencies: [slow],
  routes: {
    wait: route.get<null, string>("unused", (o) => o.returns(slow.stub().echo("late").scalar)),
    twice: route.put<number, string>("k", "v", (o) => {
      const one = o.step("one", slow.stub().echo("one").scalar);
      const wrote = o.step("wrote", put("/state/local/notes", [o.key], [one]));
      return o.returns(after(wrote, slow.stub().echo("two").scalar));
    }),
  },
});

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly key: string | null;
  readonly token: string | undefined;
}

/** A host answering `GET …/echo?key=K` with `"echo:K"` (or `pad` more characters) after `delayMs`, recording every request. */
async function slowHost(delayMs: number, pad = 0): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const u = new URL(req.url!, "http://x");
    const key = u.searchParams.get("key");
    seen.push({ method: req.method!, path: u.pathname, key, token: req.headers.authorization?.replace(/^Bearer /, "") });
    req.resume();
    setTimeout(() => {
      if (req.method === "GET") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(`echo:${JSON.parse(key ?? "null")}${"x".repeat(pad)}`));
      } else res.writeHead(204).end();
    }, req.method === "GET" ? delayMs : 0);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe("outbound calls wait without holding the host", () => {
  let remote: ServerHandle;
  let local: ServerHandle;
  let recorder: Awaited<ReturnType<typeof slowHost>>;
  let client: Executor;
  let localUrl: string;

  beforeAll(async () => {
    const remoteUrl = await reserveUrl();
    recorder = await slowHost(400);
    local = await serve({ egress: { routes: { "/lib/example-devco/b": remoteUrl, "/lib/acme/slow": recorder.url } } });
    localUrl = local.url.replace(/\/$/, "");
    // Trusts the calling host's actor `host` without its key: fetched from it when first needed.
    remote = await serveB(remoteUrl, { host: localUrl, actor: "host" });
    client = http(local.url);
    await installLibrary(client, a);
    await installLibrary(client, w);
    await client.request({ verb: "put", path: "/state/local/notes", body: NOTES });
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await local?.close();
    await remote?.close();
    await new Promise((r) => recorder?.server.close(r));
  });

  it("the remote host fetches the calling host's key while the call waits, and answers", async () => {
    const r = await fetch(`${localUrl}/lib/acme/a/1.0.0/greet`);
    const text = await r.text();
    expect(r.status, text).toBe(200);
    expect(JSON.parse(text)).toBe("Hello, A!");
  });

  it("keeps serving other requests while a call waits", async () => {
    const started = performance.now();
    const call = fetch(`${localUrl}/lib/acme/w/1.0.0/wait`);
    await new Promise((r) => setTimeout(r, 100));
    const health = await fetch(`${localUrl}/healthz`);
    const answeredAfter = performance.now() - started;
    expect(health.status).toBe(200);
    const res = await call;
    expect(res.status).toBe(200);
    expect(await res.json()).toBe("echo:late");
    // The health check answered while the call still waited for its 400 ms answer.
    expect(answeredAfter).toBeLessThan(350);
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
  });

  it("makes each call once and each write once, taking the recorded answers when the op runs again", async () => {
    recorder.seen.length = 0;
    // A PUT answers nothing; the recorder shows the second call.
    expect(await w.stub().twice(7, "x").run(client)).toBeNull();
    const rows = (await client.request({ verb: "get", path: "/state/local/notes" })) as Record<string, [unknown, unknown[][]]>;
    expect(rows["/state/collection/table"]![1]).toEqual([[7, "echo:one"]]);
    // Two calls, in order, then the commit at the component root first called.
    expect(recorder.seen.map((s) => [s.method, s.path, s.key])).toEqual([
      ["GET", "/lib/acme/slow/1.0.0/echo", JSON.stringify("one")],
      ["GET", "/lib/acme/slow/1.0.0/echo", JSON.stringify("two")],
      ["POST", "/lib/acme/slow/1.0.0", null],
    ]);
    // Each call's token claims exactly its member and verb (read for GET), on top of the
    // transaction's owner claim.
    const payload = (t: string) => JSON.parse(Buffer.from(t.split(".")[1]!, "base64").toString()) as { custom: [string, number]; inherit: string | null };
    for (const seen of recorder.seen.slice(0, 2)) {
      const outer = payload(seen.token!);
      expect(outer.custom).toEqual(["/lib/acme/slow/1.0.0/echo", 0o400]);
      expect(payload(outer.inherit!).custom).toEqual([expect.stringMatching(/^\/txn\/\d+-\d+-[0-9a-f]{64}$/), 0o300]);
    }
  });

  it("a held transaction whose call waits refuses a second call (409), then goes on", async () => {
    const begin = await fetch(`${localUrl}/lib`, { method: "POST", headers: { "x-tc-txn": "hold" } });
    expect(begin.status).toBe(204);
    const id = begin.headers.get("x-tc-txn-id")!;
    const auth = { authorization: `Bearer ${begin.headers.get("x-tc-bearer-token")}` };
    const call = fetch(`${localUrl}/lib/acme/w/1.0.0/wait?txn_id=${encodeURIComponent(id)}`, { headers: auth });
    await new Promise((r) => setTimeout(r, 100));
    const second = await fetch(`${localUrl}/state/local/notes?txn_id=${encodeURIComponent(id)}`, { headers: auth });
    expect(second.status).toBe(409);
    expect(await second.text()).toMatch(/waits for another host's answer/);
    const commitEarly = await fetch(`${localUrl}/lib?txn_id=${encodeURIComponent(id)}`, { method: "POST", headers: auth });
    expect(commitEarly.status).toBe(409);
    const res = await call;
    expect(res.status).toBe(200);
    expect(await res.json()).toBe("echo:late");
    const read = await fetch(`${localUrl}/state/local/notes?txn_id=${encodeURIComponent(id)}`, { headers: auth });
    expect(read.status).toBe(200);
    const commit = await fetch(`${localUrl}/lib?txn_id=${encodeURIComponent(id)}`, { method: "POST", headers: auth });
    expect(commit.status).toBe(204);
  });
});

describe("an answer larger than the egress allows", () => {
  it("is a BadGatewayError, and the transaction rolls back", async () => {
    const big = await slowHost(0, 5000);
    const ex = embedded({ egress: { routes: { "/lib/acme/slow": big.url }, maxResponseBytes: 1000 } });
    try {
      await installLibrary(ex, w);
      const e = await w.stub().wait().run(ex).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BadGatewayError);
      expect((e as Error).message).toMatch(/the answer exceeds 1000 bytes/);
      // The participant's transaction was rolled back at its component root.
      await expect.poll(() => big.seen.map((r) => r.method)).toEqual(["GET", "DELETE"]);
      big.seen.length = 0;
      const ok = embedded({ egress: { routes: { "/lib/acme/slow": big.url } } });
      await installLibrary(ok, w);
      expect(((await w.stub().wait().run(ok)) as string).length).toBe("echo:late".length + 5000);
      await ok.close();
    } finally {
      await ex.close();
      await new Promise((r) => big.server.close(r));
    }
  });
});

describe("a session whose call waits", () => {
  it("is not idle meanwhile: the call outlasting the idle timeout still commits with the session", async () => {
    const slower = await slowHost(300);
    const ex = embedded({ sessionIdleMs: 100, egress: { routes: { "/lib/acme/slow": slower.url } } });
    try {
      await ex.request({ verb: "put", path: "/state/local/notes", body: NOTES });
      await installLibrary(ex, w);
      const s = await ex.session();
      await w.stub().twice(3, "x").run(s);
      await s.commit();
      expect(((await ex.request({ verb: "get", path: "/state/local/notes" })) as Record<string, [unknown, unknown[][]]>)["/state/collection/table"]![1]).toEqual([[3, "echo:one"]]);
      expect(slower.seen.map((r) => r.method)).toEqual(["GET", "GET", "POST"]);
    } finally {
      await ex.close();
      await new Promise((r) => slower.server.close(r));
    }
  });
});

describe("a session call that fails after calling another host", () => {
  it("answers its error once the other host has rolled back", async () => {
    const rec = await slowHost(20);
    const ex = embedded({ egress: { allow: [{ authority: rec.url, paths: ["/lib/acme/slow"] }] } });
    try {
      const s = await ex.session();
      const failing = {
        "/state/scalar/op/post": [
          ["l", { "/state/scalar/value/link": `${rec.url}/lib/acme/slow/1.0.0/echo` }],
          ["r", { $l: ["x"] }],
          ["_r", { "/state/scalar/ref/after": [{ $r: [] }, { "/state/local/missing": [[0]] }] }],
        ],
      };
      const e = await s.execute(failing as never).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NotFoundError);
      // No waiting: the participant's rollback came before the error.
      expect(rec.seen.map((r) => r.method)).toEqual(["GET", "DELETE"]);
    } finally {
      await ex.close();
      await new Promise((r) => rec.server.close(r));
    }
  });
});

describe("calls that outlast the transaction's budget", () => {
  it("fail the request with a TimeoutError and roll the participant back", async () => {
    const slower = await slowHost(250);
    const ex = embedded({ txnBudgetMs: 400, egress: { routes: { "/lib/acme/slow": slower.url } } });
    try {
      await ex.request({ verb: "put", path: "/state/local/notes", body: NOTES });
      await installLibrary(ex, w);
      const e = await w.stub().twice(1, "x").run(ex).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TimeoutError);
      expect((e as Error).message).toMatch(/calls to other hosts took longer than the transaction's budget of 400 ms/);
      expect(await ex.request({ verb: "get", path: "/state/local/notes" })).toMatchObject({ "/state/collection/table": [expect.anything(), []] });
      await expect.poll(() => slower.seen.map((r) => r.method)).toEqual(["GET", "GET", "DELETE"]);
    } finally {
      await ex.close();
      await new Promise((r) => slower.server.close(r));
    }
  });
});

describe("an op run by execute that calls another host", () => {
  const op = (recorder: string, first: unknown) => ({
    "/state/scalar/op/post": [
      ["r", first],
      ["l", { "/state/scalar/value/link": `${recorder}/lib/acme/slow/1.0.0/echo` }],
      ["_r", { $l: [{ $id: [] }] }],
    ],
  });

  it("makes its write once, before the call, when it runs again", async () => {
    const rec = await slowHost(20);
    const ex = embedded({ egress: { allow: [{ authority: rec.url, paths: ["/lib/acme/slow"] }] } });
    try {
      await ex.request({ verb: "put", path: "/state/local/notes", body: NOTES });
      const written = op(rec.url, { "/state/local/notes": [[4], ["four"]] });
      // The call comes after the write (an op runs only the steps its result needs).
      written["/state/scalar/op/post"].splice(1, 0, ["id", { "/state/scalar/ref/after": [{ $r: [] }, "k"] }]);
      expect(await ex.execute(written as never)).toBe("echo:k");
      const rows = (await ex.request({ verb: "get", path: "/state/local/notes" })) as Record<string, [unknown, unknown[][]]>;
      expect(rows["/state/collection/table"]![1]).toEqual([[4, "four"]]);
      expect(rec.seen.map((r) => [r.method, r.key])).toEqual([["GET", '"k"'], ["POST", null]]);
    } finally {
      await ex.close();
      await new Promise((r) => rec.server.close(r));
    }
  });

  it("that sends out a generated key is refused (409) when the key differs on the run again; nothing stays", async () => {
    const rec = await slowHost(20);
    const ex = embedded({ egress: { allow: [{ authority: rec.url, paths: ["/lib/acme/slow"] }] } });
    try {
      const u = { "/state/collection/table": [[[[["id", "/state/scalar/value/string", null, { format: "uuid", generated: "random" }]], [["v", "/state/scalar/value/string", 8]]], []], []] };
      await ex.request({ verb: "put", path: "/state/local/u", body: u as never });
      const plan = JSON.stringify({ rows: [[null, "x"]], columns: ["id"], onConflict: "error", update: null });
      const generated = op(rec.url, { "/state/local/u/insert_returning": { plan, params: {} } });
      generated["/state/scalar/op/post"].splice(1, 0, ["row", { "$r/get": { i: 0 } }], ["id", { "$row/get": { i: 0 } }]);
      const e = await ex.execute(generated as never).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ConflictError);
      expect((e as Error).message).toMatch(/call 1 to another host changed when the op ran again/);
      expect((e as Error).message).not.toMatch(/txn_id/);
      const rows = (await ex.request({ verb: "get", path: "/state/local/u" })) as Record<string, [unknown, unknown[][]]>;
      expect(rows["/state/collection/table"]![1]).toEqual([]);
      await expect.poll(() => rec.seen.map((r) => r.method)).toEqual(["GET", "DELETE"]);
    } finally {
      await ex.close();
      await new Promise((r) => rec.server.close(r));
    }
  });
});

describe("the call log of a request that runs again", () => {
  it("gives recorded answers in order, and refuses a run that makes a different call", () => {
    const log = new CallLog();
    expect(log.take("GET", "http://h/lib/a?key=1", undefined)).toBeUndefined();
    log.record("GET", "http://h/lib/a?key=1", undefined, { ok: true, status: 200, text: '"one"' });
    log.rewind();
    expect(log.take("GET", "http://h/lib/a?key=1", undefined)).toEqual({ ok: true, status: 200, text: '"one"' });
    expect(log.take("GET", "http://h/lib/a?key=2", undefined)).toBeUndefined();
    log.rewind();
    const e = (() => {
      try {
        return log.take("GET", "http://h/lib/a?key=9", undefined);
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(ConflictError);
    expect((e as Error).message).toMatch(/call 1 to another host changed when the op ran again/);
  });

  it("bounds the calls of one request", () => {
    const log = new CallLog();
    for (let i = 0; i < MAX_CALLS_PER_REQUEST; i++) log.record("GET", `u${i}`, undefined, { ok: true, status: 204, text: "" });
    log.rewind();
    for (let i = 0; i < MAX_CALLS_PER_REQUEST; i++) log.take("GET", `u${i}`, undefined);
    expect(() => log.take("GET", "one more", undefined)).toThrow(BadRequestError);
  });
});
