/**
 * The HTTP server's own rules (PROFILE §4), over a fake kernel: request shapes, bad input of every
 * kind (each answers the right 4xx with a message, and the server keeps serving), sessions, 408,
 * and graceful shutdown.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve, type ServerHandle } from "../../src/http/index.js";
import { FakeKernel } from "./fake-kernel.js";
import { errorBody, raw, rawSocket } from "./raw.js";

let kernel: FakeKernel;
let srv: ServerHandle;
const logs: string[] = [];

beforeAll(async () => {
  kernel = new FakeKernel(400);
  srv = await serve({ kernel, bodyLimit: 64 * 1024, log: (l) => logs.push(l) });
});
afterAll(async () => {
  await srv.close();
});

async function healthy(): Promise<void> {
  const r = await raw(srv.url, "GET", "/healthz");
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ status: "ok" });
}

const json = { "content-type": "application/json" };
const enc = (v: unknown): string => encodeURIComponent(JSON.stringify(v));

describe("request shapes", () => {
  it("GET /healthz answers without a transaction", async () => {
    const before = kernel.requests.length;
    await healthy();
    expect(kernel.requests.length).toBe(before);
  });

  it("PUT value in the body, GET with ?key=, POST params, DELETE", async () => {
    let r = await raw(srv.url, "PUT", `/state/ns/v?key=${enc(null)}`, { headers: json, body: JSON.stringify({ a: [1, "x"] }) });
    expect(r.status).toBe(200);
    expect(r.json).toBeNull();
    r = await raw(srv.url, "GET", `/state/ns/v?key=${enc([1, "two"])}`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ a: [1, "x"] });
    expect(kernel.requests.at(-1)!.req).toEqual({ verb: "get", path: "/state/ns/v", key: [1, "two"] });
    r = await raw(srv.url, "POST", "/state/ns/counter", { headers: json, body: JSON.stringify({ by: 5 }) });
    expect(r.json).toBe(5);
    r = await raw(srv.url, "POST", "/state/ns/counter");
    expect(r.json).toBe(6);
    r = await raw(srv.url, "DELETE", "/state/ns/v");
    expect(r.status).toBe(200);
    expect((await raw(srv.url, "GET", "/state/ns/v")).status).toBe(404);
  });

  it("PUT /lib answers 204 and members are routed to the kernel", async () => {
    const body = { "/lib/acme/q/0.0.0-qabc": { op: { "/state/scalar/op/post": [["r", 1]] } } };
    let r = await raw(srv.url, "PUT", "/lib", { headers: json, body: JSON.stringify(body) });
    expect(r.status).toBe(204);
    expect(r.text).toBe("");
    r = await raw(srv.url, "POST", "/lib/acme/q/0.0.0-qabc/op", { headers: json, body: '{"x":1}' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ called: "/lib/acme/q/0.0.0-qabc/op", verb: "post", body: { x: 1 } });
  });

  it("a large key (20 KiB of JSON in the query) is accepted; a target over 64 KiB is refused", async () => {
    const big = "x".repeat(20 * 1024);
    await raw(srv.url, "PUT", `/state/ns/bigkey?key=${enc([big])}`, { headers: json, body: "1" });
    expect(kernel.requests.at(-1)!.req.key).toEqual([big]);
    const r = await raw(srv.url, "GET", `/state/ns/t?key=${enc(["y".repeat(70 * 1024)])}`);
    expect(r.status).toBe(400);
    await healthy();
  });

  it("a plain (non-TcError) kernel failure is a 500 that leaks nothing", async () => {
    const r = await raw(srv.url, "GET", "/state/test/boom");
    expect(r.status).toBe(500);
    expect(errorBody(r)).toEqual({ kind: "internal_error", message: "internal error" });
    expect(r.text).not.toContain("internal detail");
    await healthy();
  });
});

describe("bad input answers the right 4xx with a message", () => {
  const cases: { name: string; method: string; path: string; body?: string; headers?: Record<string, string>; status: number; kind: string; says: RegExp }[] = [
    { name: "malformed JSON body", method: "PUT", path: "/state/ns/t", body: '{"a": [1,', headers: json, status: 400, kind: "bad_request", says: /not valid JSON/ },
    { name: "key that is not JSON", method: "GET", path: "/state/ns/t?key=%7Bnope", status: 400, kind: "bad_request", says: /"key" is not valid JSON/ },
    { name: "key with bad percent-encoding", method: "GET", path: "/state/ns/t?key=%E0%A4%A", status: 400, kind: "bad_request", says: /percent-encoding/ },
    { name: "unknown query parameter", method: "GET", path: "/state/ns/t?keys=1", status: 400, kind: "bad_request", says: /unknown query parameter/ },
    { name: "key given twice", method: "GET", path: "/state/ns/t?key=1&key=2", status: 400, kind: "bad_request", says: /given twice/ },
    { name: "hostile txn_id", method: "GET", path: `/state/ns/t?txn_id=${encodeURIComponent("../../x")}`, status: 400, kind: "bad_request", says: /invalid transaction id/ },
    { name: "'..' segment", method: "GET", path: "/state/../lib", status: 400, kind: "bad_request", says: /'\.\.'/ },
    { name: "'.' segment", method: "GET", path: "/state/./ns", status: 400, kind: "bad_request", says: /'\.'/ },
    { name: "'//' in the path", method: "GET", path: "/state//ns", status: 400, kind: "bad_request", says: /empty segment/ },
    { name: "trailing slash", method: "GET", path: "/state/ns/", status: 400, kind: "bad_request", says: /empty segment/ },
    { name: "percent-encoded slash", method: "GET", path: "/state/ns%2Ft", status: 400, kind: "bad_request", says: /percent-encoded/ },
    { name: "percent-encoded dot-dot", method: "GET", path: "/state/%2e%2e/x", status: 400, kind: "bad_request", says: /percent-encoded/ },
    { name: "backslash segment", method: "GET", path: "/state/a%5Cb", status: 400, kind: "bad_request", says: /percent-encoded/ },
    { name: "segment with '$'", method: "GET", path: "/state/%24x", status: 400, kind: "bad_request", says: /invalid path segment/ },
    { name: "NUL in a segment", method: "GET", path: "/state/a%00b", status: 400, kind: "bad_request", says: /invalid path segment/ },
    { name: "path outside the top-level directories", method: "GET", path: "/etc/passwd", status: 404, kind: "not_found", says: /no top-level directory "etc"/ },
    { name: "the root", method: "GET", path: "/", status: 404, kind: "not_found", says: /no resource at '\/'/ },
    { name: "PATCH", method: "PATCH", path: "/state/ns/t", status: 405, kind: "method_not_allowed", says: /PATCH/ },
    { name: "OPTIONS", method: "OPTIONS", path: "/state/ns/t", status: 405, kind: "method_not_allowed", says: /OPTIONS/ },
    { name: "POST /healthz", method: "POST", path: "/healthz", status: 405, kind: "method_not_allowed", says: /GET only/ },
    { name: "POST with a non-object body", method: "POST", path: "/state/ns/t", body: "[1,2]", headers: json, status: 400, kind: "bad_request", says: /JSON object of params/ },
    { name: "POST with a key", method: "POST", path: "/state/ns/t?key=1", body: "{}", headers: json, status: 400, kind: "bad_request", says: /not in \?key=/ },
    { name: "GET with a body", method: "GET", path: "/state/ns/t", body: "1", headers: { ...json, "content-length": "1" }, status: 400, kind: "bad_request", says: /not in the body/ },
    { name: "PUT without a body", method: "PUT", path: "/state/ns/t", status: 400, kind: "bad_request", says: /needs a JSON body/ },
    { name: "a non-JSON content type", method: "PUT", path: "/state/ns/t", body: "1", headers: { "content-type": "text/plain" }, status: 400, kind: "bad_request", says: /unsupported content type/ },
    { name: "a body over the limit (declared)", method: "PUT", path: "/state/ns/t", body: JSON.stringify("x".repeat(70 * 1024)), headers: json, status: 413, kind: "payload_too_large", says: /exceeds the limit/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await raw(srv.url, c.method, c.path, { ...(c.body !== undefined ? { body: c.body } : {}), ...(c.headers ? { headers: c.headers } : {}) });
      expect(r.status).toBe(c.status);
      const e = errorBody(r);
      expect(e?.kind).toBe(c.kind);
      expect(e?.message).toMatch(c.says);
      await healthy();
    });
  }

  it("HEAD is 405 (no body by definition)", async () => {
    const r = await raw(srv.url, "HEAD", "/state/ns/t");
    expect(r.status).toBe(405);
    await healthy();
  });

  it("a verb the HTTP parser does not know is 405 with an error body", async () => {
    const out = await rawSocket(srv.url, "FROB /state/ns/t HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(out).toMatch(/^HTTP\/1\.1 405/);
    expect(out).toContain('"method_not_allowed"');
    await healthy();
  });

  it("a malformed request line or header is 400", async () => {
    let out = await rawSocket(srv.url, "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n");
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    out = await rawSocket(srv.url, "GET /healthz HTTX/9\r\n\r\n");
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    await healthy();
  });

  it("an oversized chunked body (no Content-Length) is cut off with 413 without buffering it", async () => {
    const u = new URL(srv.url);
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: u.hostname, port: Number(u.port), method: "PUT", path: "/state/ns/big", headers: json, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      let sent = 0;
      // Keep writing well past the limit; the server must answer before we stop.
      const pump = (): void => {
        while (sent < 4 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once("drain", pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(413);
    expect(kernel.values.has("/state/ns/big")).toBe(false);
    await healthy();
  });

  it("hostile strings in every position get a 4xx with an error body or a 2xx, never a 5xx", async () => {
    const hostile = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 40 }),
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.constantFrom("..", ".", "", "/", "%2F", "$x", "{}", '{"/state/x":[]}', "__proto__", "constructor", "\u0000", "\ud800", "a\r\nb", "x".repeat(5000), "<script>", "' OR 1=1 --"),
    );
    // Percent-encode every UTF-8 byte (encodeURIComponent throws on lone surrogates).
    const seg = (s: string): string => [...Buffer.from(s, "utf8")].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
    await fc.assert(
      fc.asyncProperty(hostile, fc.constantFrom("path", "key", "txn", "body", "post", "auth", "ctype"), async (s, where) => {
        let r;
        switch (where) {
          case "path":
            r = await raw(srv.url, "GET", `/state/${seg(s)}/t`);
            break;
          case "key":
            r = await raw(srv.url, "GET", `/state/ns/t?key=${seg(s)}`);
            break;
          case "txn":
            r = await raw(srv.url, "GET", `/state/ns/t?txn_id=${seg(s)}`);
            break;
          case "body":
            r = await raw(srv.url, "PUT", "/state/ns/hostile", { headers: json, body: s });
            break;
          case "post":
            r = await raw(srv.url, "POST", "/state/ns/hostile_post", { headers: json, body: JSON.stringify({ [s]: s }) });
            break;
          case "auth":
            r = await raw(srv.url, "GET", "/state/ns/t", { headers: { authorization: `Bearer ${s.replace(/[^\x21-\x7e]/g, "x")}` } });
            break;
          default:
            r = await raw(srv.url, "PUT", "/state/ns/t", { headers: { "content-type": s.replace(/[^\x20-\x7e]/g, "x") || "x" }, body: "1" });
        }
        expect(r.status).toBeLessThan(500);
        if (r.status >= 400) expect(errorBody(r)?.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 150 },
    );
    await healthy();
  });

  it("the access log names method, path and status but never keys or bodies", () => {
    expect(logs.some((l) => /^GET \/healthz 200 /.test(l))).toBe(true);
    expect(logs.join("\n")).not.toContain("?key=");
  });
});

describe("transactions", () => {
  const T1 = { authorization: "Bearer first-token-123" };
  /** Begins a held transaction with a first write (`x-tc-txn: hold`); its id. */
  async function begin(headers: Record<string, string> = T1): Promise<string> {
    const r = await raw(srv.url, "PUT", "/state/s/begun", { headers: { ...headers, ...json, "x-tc-txn": "hold" }, body: "0" });
    expect(r.status).toBe(200);
    const id = r.headers["x-tc-txn-id"];
    expect(typeof id).toBe("string");
    expect(typeof r.headers["x-tc-bearer-token"]).toBe("string");
    return id as string;
  }

  it("a request without txn_id begins one: its id and owner token come back, and it commits with the request", async () => {
    const r = await raw(srv.url, "PUT", "/state/s/implicit", { headers: json, body: "5" });
    expect(r.status).toBe(200);
    expect(r.headers["x-tc-txn-id"]).toMatch(/.+/);
    expect(r.headers["x-tc-bearer-token"]).toMatch(/.+/);
    expect((await raw(srv.url, "GET", "/state/s/implicit")).json).toBe(5);
    expect(kernel.sessions.has(r.headers["x-tc-txn-id"] as string)).toBe(false);
  });

  it("writes inside a held transaction become visible on commit (empty POST to a component root → 204)", async () => {
    const id = await begin();
    let r = await raw(srv.url, "PUT", `/state/s/a?txn_id=${id}`, { headers: { ...T1, ...json }, body: "1" });
    expect(r.status).toBe(200);
    expect(r.headers["x-tc-txn-id"]).toBe(id);
    expect((await raw(srv.url, "GET", "/state/s/a")).status).toBe(404);
    expect((await raw(srv.url, "GET", `/state/s/a?txn_id=${id}`, { headers: T1 })).json).toBe(1);
    r = await raw(srv.url, "POST", `/state/s?txn_id=${id}`, { headers: T1 });
    expect(r.status).toBe(204);
    expect((await raw(srv.url, "GET", "/state/s/a")).json).toBe(1);
  });

  it("an empty DELETE to a component root rolls back", async () => {
    const id = await begin();
    await raw(srv.url, "PUT", `/state/s/b?txn_id=${id}`, { headers: { ...T1, ...json }, body: "2" });
    const r = await raw(srv.url, "DELETE", `/lib?txn_id=${id}`, { headers: T1 });
    expect(r.status).toBe(204);
    expect((await raw(srv.url, "GET", "/state/s/b")).status).toBe(404);
  });

  it("an empty POST to a sub-path is an ordinary request, not a commit; /state itself is no component root", async () => {
    const id = await begin();
    let r = await raw(srv.url, "POST", `/state/s/counter?txn_id=${id}`, { headers: T1 });
    expect(r.status).toBe(200);
    expect(r.json).toBe(1);
    expect(kernel.sessions.has(id)).toBe(true);
    r = await raw(srv.url, "DELETE", `/state?txn_id=${id}`, { headers: T1 });
    expect(r.status).not.toBe(204);
    expect(kernel.sessions.has(id)).toBe(true);
    expect((await raw(srv.url, "DELETE", `/state/s?txn_id=${id}`, { headers: T1 })).status).toBe(204);
  });

  it("a continuation needs a bearer token, and another one is 401", async () => {
    const id = await begin();
    let r = await raw(srv.url, "GET", `/state/s/a?txn_id=${id}`, { headers: { authorization: "Bearer other-token-456" } });
    expect(r.status).toBe(401);
    expect(errorBody(r)?.message).not.toContain("first-token");
    expect(errorBody(r)?.message).not.toContain("other-token");
    r = await raw(srv.url, "GET", `/state/s/a?txn_id=${id}`);
    expect(r.status).toBe(401);
    r = await raw(srv.url, "POST", `/lib?txn_id=${id}`, { headers: { authorization: "Bearer other-token-456" } });
    expect(r.status).toBe(401);
    r = await raw(srv.url, "POST", `/lib?txn_id=${id}`, { headers: T1 });
    expect(r.status).toBe(204);
  });

  it("/host and /healthz ignore txn_id", async () => {
    expect((await raw(srv.url, "GET", "/healthz?txn_id=nope")).status).toBe(200);
    const r = await raw(srv.url, "GET", "/host/public_key?txn_id=nope&key=%22x%22");
    expect(r.status).not.toBe(401);
    expect(r.headers["x-tc-txn-id"]).toBeUndefined();
  });

  it("a held transaction older than its budget answers 408", async () => {
    const id = await begin();
    await raw(srv.url, "PUT", `/state/s/late?txn_id=${id}`, { headers: { ...T1, ...json }, body: "1" });
    await new Promise((r) => setTimeout(r, 500));
    let r = await raw(srv.url, "GET", `/state/s/late?txn_id=${id}`, { headers: T1 });
    expect(r.status).toBe(408);
    expect(errorBody(r)?.kind).toBe("request_timeout");
    r = await raw(srv.url, "POST", `/lib?txn_id=${id}`, { headers: T1 });
    expect(r.status).toBe(408);
    expect((await raw(srv.url, "GET", "/state/s/late")).status).toBe(404);
  });

  it("POST /host/txn begins nothing", async () => {
    const r = await raw(srv.url, "POST", "/host/txn");
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.headers["x-tc-txn-id"]).toBeUndefined();
  });
});

describe("graceful shutdown", () => {
  it("finishes in-flight requests, refuses new connections, closes the kernel", async () => {
    const k = new FakeKernel();
    const s = await serve({ kernel: k, closeKernel: true });
    const begun = await raw(s.url, "PUT", "/state/s/held", { headers: { ...json, "x-tc-txn": "hold" }, body: "1" });
    const id = begun.headers["x-tc-txn-id"] as string;
    expect(k.sessions.has(id)).toBe(true);
    const inflight = raw(s.url, "GET", `/state/test/slow?key=${enc(300)}`);
    await new Promise((r) => setTimeout(r, 50));
    const closing = s.close();
    const r = await inflight;
    expect(r.status).toBe(200);
    expect(r.json).toBe("slow done");
    await closing;
    expect(k.closed).toBe(true);
    expect(k.sessions.has(id)).toBe(false); // open sessions are rolled back
    await expect(raw(s.url, "GET", "/healthz")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("does not close a kernel it was handed unless asked to", async () => {
    const k = new FakeKernel();
    const s = await serve({ kernel: k });
    await s.close();
    expect(k.closed).toBe(false);
  });
});
