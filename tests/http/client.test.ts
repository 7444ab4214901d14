/**
 * The undici client Executor against tiny scripted `node:http` servers: typed errors from every
 * body shape, timeouts, bounded 503 retries, prepared-op install/call round trips, sessions.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { http, type HttpOptions } from "../../src/http/index.js";
import type { Executor } from "../../src/executor.js";
import {
  BadGatewayError,
  BadRequestError,
  ConflictError,
  ERROR_STATUS,
  ForbiddenError,
  InternalError,
  isErrorKind,
  NotFoundError,
  PayloadTooLargeError,
  TcError,
  TimeoutError,
  TooManyRequestsError,
  UnavailableError,
  type ErrorKind,
} from "../../src/errors.js";
import { errorFromResponse } from "../../src/wire-errors.js";
import { opHash } from "../../src/ir/index.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
interface Seen {
  method: string;
  url: string;
  body: string;
  auth: string | undefined;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Starts a scripted server and an executor pointed at it. */
async function scripted(handler: Handler, opts?: HttpOptions): Promise<{ ex: Executor; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      seen.push({ method: req.method!, url: req.url!, body, auth: req.headers.authorization });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const ex = http(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, opts);
  cleanups.push(async () => {
    await ex.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { ex, seen, server };
}

function reply(res: ServerResponse, status: number, body?: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers });
  res.end(body);
}

const get = { verb: "get" as const, path: "/state/ns/t", key: null };

describe("error mapping", () => {
  const kinds = Object.keys(ERROR_STATUS) as ErrorKind[];

  it.each(kinds)("v2 body → typed error (%s)", async (kind) => {
    const { ex } = await scripted((_q, res) => reply(res, ERROR_STATUS[kind], JSON.stringify({ [kind]: { message: `m-${kind}`, stack: [] } })));
    const e = await ex.request(get).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TcError);
    expect((e as TcError).kind).toBe(kind);
    expect((e as TcError).message).toBe(`m-${kind}`);
  });

  it.each(kinds)("v1 body → typed error (%s)", async (kind) => {
    const { ex } = await scripted((_q, res) => reply(res, ERROR_STATUS[kind], JSON.stringify({ [kind]: `v1 ${kind}` })));
    const e = (await ex.request(get).catch((x: unknown) => x)) as TcError;
    expect(e.kind).toBe(kind);
    expect(e.message).toBe(`v1 ${kind}`);
  });

  it.each(kinds)("empty body → typed error by status (%s)", async (kind) => {
    const { ex } = await scripted((_q, res) => reply(res, ERROR_STATUS[kind]));
    const e = (await ex.request(get).catch((x: unknown) => x)) as TcError;
    expect(e.kind).toBe(kind);
    expect(e.message).toMatch(new RegExp(`^HTTP ${ERROR_STATUS[kind]}`));
  });

  it("non-JSON bodies map by status and keep a short excerpt", async () => {
    const { ex } = await scripted((req, res) => {
      if (req.url!.endsWith("/one")) reply(res, 400, "invalid transaction id", { "content-type": "text/plain" });
      else if (req.url!.endsWith("/two")) reply(res, 409, "<html>conflict</html>" + "x".repeat(5000), { "content-type": "text/html" });
      else reply(res, 502, "bad gateway");
    });
    const a = (await ex.request({ verb: "get", path: "/state/one" }).catch((x: unknown) => x)) as TcError;
    expect(a).toBeInstanceOf(BadRequestError);
    expect(a.message).toBe("HTTP 400: invalid transaction id");
    const b = (await ex.request({ verb: "get", path: "/state/two" }).catch((x: unknown) => x)) as TcError;
    expect(b).toBeInstanceOf(ConflictError);
    expect(b.message.length).toBeLessThan(600);
    const c = (await ex.request({ verb: "get", path: "/state/c" }).catch((x: unknown) => x)) as TcError;
    expect(c).toBeInstanceOf(BadGatewayError);
  });

  it("an unknown kind in a JSON body maps by status; a JSON string body becomes the message", async () => {
    const { ex } = await scripted((req, res) => {
      if (req.url!.endsWith("/x")) reply(res, 403, JSON.stringify({ weird_kind: { message: "nope" } }));
      else reply(res, 413, JSON.stringify("too big"));
    });
    const x = (await ex.request({ verb: "get", path: "/state/x" }).catch((e: unknown) => e)) as TcError;
    expect(x).toBeInstanceOf(ForbiddenError);
    const y = (await ex.request({ verb: "get", path: "/state/y" }).catch((e: unknown) => e)) as TcError;
    expect(y).toBeInstanceOf(PayloadTooLargeError);
    expect(y.message).toBe("too big");
  });

  it("a 200 with a body that is not JSON is a typed internal error", async () => {
    const { ex } = await scripted((_q, res) => reply(res, 200, "not json"));
    await expect(ex.request(get)).rejects.toBeInstanceOf(InternalError);
  });

  it("an unreachable host is a typed unavailable error", async () => {
    const { ex, server } = await scripted((_q, res) => reply(res, 200, "1"));
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    const other = http(`http://127.0.0.1:${port}`);
    cleanups.push(() => other.close());
    await expect(other.request(get)).rejects.toBeInstanceOf(UnavailableError);
    void ex;
  });

  it("bad_gateway and 429 are typed, keep the host's message, and carry Retry-After and v2 pressure metadata", async () => {
    // v1: 502 with its kind; v2: bad_gateway with status 400 (the body's kind wins).
    for (const status of [502, 400]) {
      const { ex } = await scripted((_q, res) => reply(res, status, JSON.stringify({ bad_gateway: { message: "upstream host refused", stack: [] } })));
      const e = await ex.request(get).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BadGatewayError);
      expect((e as TcError).message).toBe("upstream host refused");
      expect((e as TcError).status).toBe(502);
    }
    // A bare 502 is still a bad gateway.
    expect(errorFromResponse(502, "")).toBeInstanceOf(BadGatewayError);
    const limited = errorFromResponse(429, JSON.stringify({ too_many_requests: "slow down" }), { "retry-after": "7" });
    expect(limited).toBeInstanceOf(TooManyRequestsError);
    expect([limited.message, limited.retryAfterMs, limited.status]).toEqual(["slow down", 7000, 429]);
    expect(errorFromResponse(429, "").retryAfterMs).toBeUndefined();
    // The verbatim v2 pressure fixture (reference §4.5): metadata and its retry delay are kept.
    const busy = errorFromResponse(
      503,
      '{"temporarily_unavailable":{"message":"busy","stack":[],"pressure":{"reason":"saturated","resource":"/host/resource/rpc","retry_after_ms":250,"reliability":"lossless"}}}',
    );
    expect(busy).toBeInstanceOf(UnavailableError);
    expect(busy.pressure).toEqual({ reason: "saturated", resource: "/host/resource/rpc", retryAfterMs: 250, reliability: "lossless" });
    expect(busy.retryAfterMs).toBe(250);
    const traced = errorFromResponse(500, JSON.stringify({ internal_error: { message: "boom", stack: ["at a", "at b"] } }));
    expect([traced.message, traced.remoteStack]).toEqual(["boom", ["at a", "at b"]]);
  });

  it("a GET answered 429 with Retry-After is retried like a 503", async () => {
    let n = 0;
    const { ex } = await scripted((_q, res) => {
      n++;
      if (n < 2) reply(res, 429, JSON.stringify({ too_many_requests: { message: "later", stack: [] } }), { "retry-after": "0" });
      else reply(res, 200, "5");
    });
    expect(await ex.request(get)).toBe(5);
    expect(n).toBe(2);
  });

  it("every kind in ERROR_STATUS round-trips", () => {
    for (const k of Object.keys(ERROR_STATUS)) expect(isErrorKind(k)).toBe(true);
  });
});

describe("request shapes", () => {
  it("GET/DELETE carry ?key=, PUT the value as body, POST the params; the token as a bearer header", async () => {
    const { ex, seen } = await scripted((_q, res) => reply(res, 200, "null"), { token: "tok-123456" });
    await ex.request({ verb: "get", path: "/state/ns/t", key: [1, "a b/&?"] });
    await ex.request({ verb: "put", path: "/state/ns/t", key: [1], body: ["v"] });
    await ex.request({ verb: "post", path: "/state/ns/t/x", body: { a: 1 } });
    await ex.request({ verb: "delete", path: "/state/ns/t", key: null });
    expect(seen.map((s) => [s.method, s.url, s.body])).toEqual([
      ["GET", `/state/ns/t?key=${encodeURIComponent('[1,"a b/&?"]')}`, ""],
      ["PUT", `/state/ns/t?key=${encodeURIComponent("[1]")}`, '["v"]'],
      ["POST", "/state/ns/t/x", '{"a":1}'],
      ["DELETE", "/state/ns/t", ""],
    ]);
    expect(seen.every((s) => s.auth === "Bearer tok-123456")).toBe(true);
  });

  it("a large body arriving in pieces, split inside multi-byte characters, decodes exactly", async () => {
    const value = Array.from({ length: 20_000 }, (_, i) => `é€😀-${i}`);
    const bytes = Buffer.from(JSON.stringify(value), "utf8");
    const { ex } = await scripted((_q, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": bytes.length });
      // Odd-sized writes with pauses: the body reaches the client in many chunks, cut anywhere.
      let at = 0;
      const step = (): void => {
        const next = Math.min(bytes.length, at + 4099);
        res.write(bytes.subarray(at, next));
        at = next;
        if (at < bytes.length) setImmediate(step);
        else res.end();
      };
      step();
    });
    expect(await ex.request(get)).toEqual(value);
  });

  it("an interim 1xx response before the answer is skipped", async () => {
    const { ex } = await scripted((_q, res) => {
      res.writeProcessing();
      reply(res, 200, "[42]");
    });
    expect(await ex.request(get)).toEqual([42]);
  });

  it("a connection cut in the middle of the body is a typed unavailable error", async () => {
    const { ex } = await scripted((_q, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
      res.write("[1,2,");
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const e = await ex.request(get).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnavailableError);
  });

  it("refuses absolute URIs, queries and bad verbs as paths before sending anything", async () => {
    const { ex, seen } = await scripted((_q, res) => reply(res, 200, "null"));
    await expect(ex.request({ verb: "get", path: "http://evil/state" })).rejects.toBeInstanceOf(BadRequestError);
    await expect(ex.request({ verb: "get", path: "/state/x?key=1" })).rejects.toBeInstanceOf(BadRequestError);
    await expect(ex.request({ verb: "patch" as "get", path: "/state/x" })).rejects.toBeInstanceOf(BadRequestError);
    await expect(ex.request({ verb: "post", path: "/state/x", body: [1] })).rejects.toBeInstanceOf(BadRequestError);
    expect(seen).toHaveLength(0);
  });

  it("refuses a host URL with a path or credentials", () => {
    expect(() => http("http://127.0.0.1:1/app")).toThrow(BadRequestError);
    expect(() => http("http://u:p@127.0.0.1:1")).toThrow(BadRequestError);
    expect(() => http("ftp://127.0.0.1:1")).toThrow(BadRequestError);
    expect(() => http("not a url")).toThrow(BadRequestError);
  });
});

describe("timeouts and retries", () => {
  it("a request slower than timeoutMs is aborted with a TimeoutError", async () => {
    const { ex } = await scripted((_q, res) => setTimeout(() => reply(res, 200, "1"), 1500), { timeoutMs: 200 });
    const t0 = Date.now();
    const e = await ex.request(get).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect(Date.now() - t0).toBeLessThan(1400);
  });

  it("a GET answered 503 with Retry-After is retried, bounded to 3 tries", async () => {
    let n = 0;
    const { ex, seen } = await scripted((_q, res) => {
      n++;
      if (n < 3) reply(res, 503, JSON.stringify({ temporarily_unavailable: { message: "busy", stack: [] } }), { "retry-after": "0" });
      else reply(res, 200, "42");
    });
    expect(await ex.request(get)).toBe(42);
    expect(seen).toHaveLength(3);
  });

  it("gives up after 3 tries, and caps the wait", async () => {
    const { ex, seen } = await scripted((_q, res) => reply(res, 503, JSON.stringify({ temporarily_unavailable: "busy" }), { "retry-after": "3600" }), {
      retry: { maxDelayMs: 20 },
    });
    const t0 = Date.now();
    await expect(ex.request(get)).rejects.toBeInstanceOf(UnavailableError);
    expect(seen).toHaveLength(3);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("never retries writes, nor a 503 without Retry-After", async () => {
    const { ex, seen } = await scripted((req, res) =>
      reply(res, 503, "", req.method === "POST" ? { "retry-after": "0" } : {}),
    );
    await expect(ex.request({ verb: "post", path: "/state/x", body: {} })).rejects.toBeInstanceOf(UnavailableError);
    await expect(ex.request(get)).rejects.toBeInstanceOf(UnavailableError);
    expect(seen).toHaveLength(2);
  });
});

describe("prepared ops", () => {
  const op = { "/state/scalar/op/post": [["r", { "$x/add": { r: 1 } }]] };
  const hash = opHash(op);
  const member = `/lib/tinychain-orm/prepared/0.0.0-q${hash}/op`;

  /** A host with a /lib that can "forget" its installs (a restarted memory host). */
  function libHost(): { handler: Handler; forget(): void } {
    const libs = new Map<string, unknown>();
    return {
      forget: () => libs.clear(),
      handler: (req, res, body) => {
        const path = req.url!.split("?")[0]!;
        if (req.method === "PUT" && path === "/lib") {
          for (const [k, v] of Object.entries(JSON.parse(body) as Record<string, unknown>)) libs.set(k, v);
          return reply(res, 204);
        }
        const version = path.split("/").slice(0, 5).join("/");
        if (!libs.has(version)) return reply(res, 404, JSON.stringify({ not_found: { message: `no ${version}`, stack: [] } }));
        const params = body ? (JSON.parse(body) as { x: number }) : { x: 0 };
        return reply(res, 200, JSON.stringify(params.x + 1));
      },
    };
  }

  it("installs once under a content-addressed version, then one round trip per execution", async () => {
    const host = libHost();
    const { ex, seen } = await scripted(host.handler);
    expect(await ex.execute(op, { x: 1 })).toBe(2);
    expect(seen.map((s) => [s.method, s.url])).toEqual([
      ["PUT", "/lib"],
      ["POST", member],
    ]);
    expect(JSON.parse(seen[0]!.body)).toEqual({ [`/lib/tinychain-orm/prepared/0.0.0-q${hash}`]: { op } });
    expect(await ex.execute(structuredClone(op), { x: 41 })).toBe(42);
    expect(await ex.execute(op, { x: 2 })).toBe(3);
    expect(seen).toHaveLength(4);
    expect(seen.slice(2).every((s) => s.method === "POST" && s.url === member)).toBe(true);
  });

  it("concurrent first executions share one install", async () => {
    const { ex, seen } = await scripted(libHost().handler);
    const results = await Promise.all([1, 2, 3, 4, 5].map((x) => ex.execute(op, { x })));
    expect(results).toEqual([2, 3, 4, 5, 6]);
    expect(seen.filter((s) => s.method === "PUT")).toHaveLength(1);
  });

  it("a 404 on the call re-installs once and retries", async () => {
    const host = libHost();
    const { ex, seen } = await scripted(host.handler);
    await ex.execute(op, { x: 1 });
    host.forget();
    expect(await ex.execute(op, { x: 5 })).toBe(6);
    expect(seen.map((s) => s.method)).toEqual(["PUT", "POST", "POST", "PUT", "POST"]);
  });

  it("a 404 that persists after re-installing surfaces as NotFoundError (no loop)", async () => {
    const { ex, seen } = await scripted((req, res) =>
      req.method === "PUT" ? reply(res, 204) : reply(res, 404, JSON.stringify({ not_found: { message: "no table /state/x/y", stack: [] } })),
    );
    const e = (await ex.execute(op, {}).catch((x: unknown) => x)) as TcError;
    expect(e).toBeInstanceOf(NotFoundError);
    expect(e.message).toBe("no table /state/x/y");
    expect(seen.map((s) => s.method)).toEqual(["PUT", "POST", "PUT", "POST"]);
  });

  it("GET/PUT/DELETE OpDefs are called with their key (and value) from the args", async () => {
    const { ex, seen } = await scripted((req, res) => reply(res, req.method === "PUT" && req.url === "/lib" ? 204 : 200, req.method === "PUT" && req.url === "/lib" ? undefined : "null"));
    await ex.execute({ "/state/scalar/op/get": ["k", [["r", { $k: [] }]]] }, { k: [7] });
    await ex.execute({ "/state/scalar/op/put": ["k", "v", [["r", { $v: [] }]]] }, { k: 1, v: { a: 2 } });
    await ex.execute({ "/state/scalar/op/delete": ["k", [["r", { $k: [] }]]] }, {});
    const calls = seen.filter((s) => s.url !== "/lib");
    expect(calls[0]!.method).toBe("GET");
    expect(calls[0]!.url).toMatch(new RegExp(`/op\\?key=${encodeURIComponent("[7]").replace(/[[\]]/g, "\\$&")}$`));
    expect(calls[1]!.method).toBe("PUT");
    expect(calls[1]!.url).toMatch(/\/op\?key=1$/);
    expect(calls[1]!.body).toBe('{"a":2}');
    expect(calls[2]!.method).toBe("DELETE");
    expect(calls[2]!.url).toMatch(/\/op$/);
  });

  it("refuses something that is not an OpDef before sending anything", async () => {
    const { ex, seen } = await scripted((_q, res) => reply(res, 200, "null"));
    await expect(ex.execute({ "/state/social/users": [] } as never, {})).rejects.toBeInstanceOf(BadRequestError);
    await expect(ex.execute([1, 2] as never, {})).rejects.toBeInstanceOf(BadRequestError);
    await expect(ex.execute(op, [1] as never)).rejects.toBeInstanceOf(BadRequestError);
    expect(seen).toHaveLength(0);
  });
});

describe("sessions", () => {
  it("begin = empty POST /lib with x-tc-txn: hold; calls carry ?txn_id and the host's token; commit = empty POST /lib; the id never shows", async () => {
    const holds: (string | undefined)[] = [];
    const { ex, seen } = await scripted((req, res) => {
      holds.push(req.headers["x-tc-txn"] as string | undefined);
      if (req.url === "/lib" && req.method === "POST") return reply(res, 204, undefined, { "x-tc-txn-id": "abc123", "x-tc-bearer-token": "host.signed.token" });
      if (req.url!.startsWith("/lib?")) return reply(res, 204);
      return reply(res, 200, "7");
    });
    const s = await ex.session();
    expect(JSON.stringify(s)).not.toContain("abc123");
    expect(await s.request({ verb: "get", path: "/state/a/b", key: 1 })).toBe(7);
    expect(await s.execute({ "/state/scalar/op/post": [["r", 1]] }, {})).toBe(7);
    await s.commit();
    await expect(s.request(get)).rejects.toBeInstanceOf(BadRequestError);
    await expect(s.commit()).rejects.toBeInstanceOf(BadRequestError);
    expect(seen.map((x) => [x.method, x.url.replace(/q[0-9a-f]+/, "q<h>"), x.body, x.auth])).toEqual([
      ["POST", "/lib", "", undefined],
      ["GET", "/state/a/b?key=1&txn_id=abc123", "", "Bearer host.signed.token"],
      ["PUT", "/lib?txn_id=abc123", expect.stringContaining("/lib/tinychain-orm/prepared/0.0.0-q"), "Bearer host.signed.token"],
      ["POST", "/lib/tinychain-orm/prepared/0.0.0-q<h>/op?txn_id=abc123", "{}", "Bearer host.signed.token"],
      ["POST", "/lib?txn_id=abc123", "", "Bearer host.signed.token"],
    ]);
    expect(holds).toEqual(["hold", undefined, undefined, undefined, undefined]);
  });

  it("an opaque configured token stays the proof of ownership", async () => {
    const { ex, seen } = await scripted(
      (req, res) => (req.url === "/lib" ? reply(res, 204, undefined, { "x-tc-txn-id": "t9", "x-tc-bearer-token": "a.b.c" }) : reply(res, 204)),
      { token: "opaque-secret-1" },
    );
    const s = await ex.session();
    await s.request({ verb: "put", path: "/state/a/b", key: 1, body: 2 });
    await s.commit();
    expect(seen.map((x) => x.auth)).toEqual(["Bearer opaque-secret-1", "Bearer opaque-secret-1", "Bearer opaque-secret-1"]);
  });

  it("rollback = empty DELETE /lib?txn_id", async () => {
    const { ex, seen } = await scripted((req, res) =>
      req.url === "/lib" ? reply(res, 204, undefined, { "x-tc-txn-id": "t1", "x-tc-bearer-token": "x.y.z" }) : reply(res, 204),
    );
    const s = await ex.session();
    await s.rollback();
    expect(seen.at(-1)).toMatchObject({ method: "DELETE", url: "/lib?txn_id=t1", body: "", auth: "Bearer x.y.z" });
  });

  it("a host that does not name the transaction it began is a typed error", async () => {
    const { ex } = await scripted((_q, res) => reply(res, 204));
    await expect(ex.session()).rejects.toBeInstanceOf(InternalError);
  });
});
