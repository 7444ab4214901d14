/**
 * The real kernel over the wire: IR validation errors arrive as typed 400s, sessions commit and
 * roll back, expire with 408, prepared ops survive a host restart (404 → re-install), tokens
 * guard ops installed through the client.
 */
import { afterEach, describe, expect, it } from "vitest";
import { http, parseTokenConfig, serve, type ServerHandle } from "../../src/http/index.js";
import type { Executor } from "../../src/executor.js";
import { BadRequestError, ConflictError, ForbiddenError, TcError, TimeoutError, UnauthorizedError, UnavailableError } from "../../src/errors.js";
import type { Json } from "../../src/ir/types.js";
import { errorBody, raw } from "./raw.js";

const T = "/state/wire/users";
const SCHEMA: Json = [[[["id", "/state/scalar/value/number/uint/32"]], [["name", "/state/scalar/value/string", 32]]], []];
const TABLE: Json = { "/state/collection/table": [SCHEMA, []] };
const COUNT: Json = { "/state/scalar/op/post": [["n", { [`${T}/count`]: [null] }]] };
const GET_USER: Json = { "/state/scalar/op/post": [["row", { [T]: [[{ $id: [] }]] }]] };

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function host(opts: Parameters<typeof serve>[0] = {}): Promise<{ srv: ServerHandle; ex: Executor }> {
  const srv = await serve(opts);
  open.push(srv);
  const ex = http(srv.url, opts.tokens ? { token: "wire-admin-token" } : {});
  open.push(ex);
  await ex.request({ verb: "put", path: T, key: null, body: TABLE });
  return { srv, ex };
}

describe("the real kernel over HTTP", () => {
  it("non-Id map keys, wrong types and bad IR are 400s with the kernel's message", async () => {
    const { srv, ex } = await host();
    for (const body of ['{"a b": 1}', '{"$x": 1}', '{"__proto__": 1}']) {
      const r = await raw(srv.url, "POST", "/lib/tinychain-orm/prepared/0.0.0-qzz/op", { headers: { "content-type": "application/json" }, body });
      expect([400, 404]).toContain(r.status);
      const put = await raw(srv.url, "PUT", `${T}?key=${encodeURIComponent("[1]")}`, { headers: { "content-type": "application/json" }, body: `[${body}]` });
      expect(put.status).toBe(400);
      expect(errorBody(put)?.kind).toBe("bad_request");
    }
    const e = await ex.request({ verb: "put", path: T, key: [1], body: [{ "a b": 1 }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BadRequestError);
    expect((e as Error).message).toMatch(/a b/);
    await expect(ex.request({ verb: "put", path: T, key: [1], body: [42] })).rejects.toBeInstanceOf(BadRequestError);
    await expect(ex.execute({ "/state/scalar/ref/if": [] } as Json, {})).rejects.toBeInstanceOf(BadRequestError);
    expect((await raw(srv.url, "GET", "/healthz")).status).toBe(200);
  });

  it("a conflict is a ConflictError", async () => {
    const { ex } = await host();
    await ex.request({ verb: "put", path: `${T}/insert`, key: [1], body: ["ada"] });
    await expect(ex.request({ verb: "put", path: `${T}/insert`, key: [1], body: ["bob"] })).rejects.toBeInstanceOf(ConflictError);
  });

  it("sessions commit and roll back over the wire", async () => {
    const { ex } = await host();
    let s = await ex.session();
    await s.request({ verb: "put", path: T, key: [1], body: ["ada"] });
    expect(await s.execute(COUNT)).toBe(1);
    await s.rollback();
    expect(await ex.execute(COUNT)).toBe(0);

    s = await ex.session();
    await s.request({ verb: "put", path: T, key: [2], body: ["bob"] });
    expect(await s.execute(GET_USER, { id: 2 })).toEqual([2, "bob"]);
    await s.commit();
    expect(await ex.execute(GET_USER, { id: 2 })).toEqual([2, "bob"]);
    expect(await ex.execute(COUNT)).toBe(1);
  });

  it("a failed op inside a session leaves nothing behind", async () => {
    const { ex } = await host();
    const s = await ex.session();
    await s.request({ verb: "put", path: T, key: [3], body: ["cy"] });
    await expect(s.request({ verb: "put", path: `${T}/insert`, key: [3], body: ["dup"] })).rejects.toBeInstanceOf(ConflictError);
    await s.commit().catch(() => undefined);
    expect(await ex.execute(COUNT)).toBe(0);
  });

  it("a session past its budget answers 408 and its writes are gone", async () => {
    const { ex } = await host({ txnBudgetMs: 300 });
    const s = await ex.session();
    await s.request({ verb: "put", path: T, key: [4], body: ["late"] });
    await new Promise((r) => setTimeout(r, 450));
    await expect(s.request({ verb: "get", path: T, key: [4] })).rejects.toBeInstanceOf(TimeoutError);
    expect(await ex.execute(COUNT)).toBe(0);
  });

  it("prepared ops survive a restarted in-memory host (404 → re-install once)", async () => {
    const first = await serve({});
    const ex = http(first.url);
    open.push(ex);
    await ex.request({ verb: "put", path: T, key: null, body: TABLE });
    expect(await ex.execute(COUNT)).toBe(0);
    await first.close();
    // Let the client see the closed keep-alive sockets (a real restart takes far longer).
    await new Promise((r) => setTimeout(r, 50));
    const second = await serve({ port: first.port });
    open.push(second);
    await ex.request({ verb: "put", path: T, key: null, body: TABLE });
    await ex.request({ verb: "put", path: T, key: [9], body: ["z"] });
    expect(await ex.execute(COUNT)).toBe(1);
  });

  it("with tokens: ops installed by the client run for a token with rights, 403 for one without", async () => {
    const tokens = parseTokenConfig({
      tokens: [
        { name: "admin", token: "wire-admin-token", paths: ["/"] },
        { name: "other", token: "wire-other-token", paths: ["/state/other", "/lib"] },
      ],
    });
    const { srv, ex } = await host({ tokens });
    await ex.request({ verb: "put", path: T, key: [5], body: ["eve"] });
    expect(await ex.execute(COUNT)).toBe(1);
    const other = http(srv.url, { token: "wire-other-token" });
    open.push(other);
    const e = await other.execute(COUNT).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ForbiddenError);
    expect((e as Error).message).not.toContain("wire-other-token");
    const anon = http(srv.url);
    open.push(anon);
    await expect(anon.execute(COUNT)).rejects.toBeInstanceOf(UnauthorizedError);
  });
});

describe("graceful shutdown with the real kernel", () => {
  it("an open session may finish while the host drains; queued requests complete; new work is refused", async () => {
    const srv = await serve({});
    const ex = http(srv.url);
    open.push(ex);
    await ex.request({ verb: "put", path: T, key: null, body: TABLE });
    expect(await ex.execute(COUNT)).toBe(0); // installed: the queued call below is one request
    const s = await ex.session(); // holds the kernel's transaction lock
    await s.request({ verb: "put", path: T, key: [1], body: ["kept"] });
    const queued = ex.execute(COUNT); // in flight: waits for the session's lock
    await new Promise((r) => setTimeout(r, 50));
    const closing = srv.close();
    await new Promise((r) => setTimeout(r, 50));
    const late = http(srv.url);
    open.push(late);
    await expect(late.request({ verb: "get", path: T, key: [1] })).rejects.toBeInstanceOf(UnavailableError); // new work
    await s.request({ verb: "put", path: T, key: [2], body: ["also kept"] });
    await s.commit();
    expect(await queued).toBe(2);
    await closing;
    await expect(ex.request({ verb: "get", path: "/healthz" })).rejects.toBeInstanceOf(TcError);
  });
});
