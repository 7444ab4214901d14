/**
 * Request generators and a raw-socket sender for fuzzing the served kernel: the bounded suite in
 * `tests/http/fuzz.test.ts` and the long run in `bench/fuzz-http.ts` share them.
 *
 * A `FuzzRequest` is written byte for byte on its own TCP connection (`connection: close`), so
 * malformed request lines, invalid UTF-8, NUL bytes and wrong framing really reach the server. The
 * generators never build ops whose cost grows without bound (no `while`, small numbers, few steps):
 * op budgets are not what this fuzzer checks.
 */
import fc from "fast-check";
import { connect } from "node:net";
import { ERROR_STATUS, isErrorKind } from "../../src/errors.js";

/** One request, as bytes on the wire. */
export interface FuzzRequest {
  readonly method: string;
  /** The request target, written as is (latin1: each char one byte). */
  readonly path: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: Buffer;
  /** Send the body with `transfer-encoding: chunked` instead of a content-length. */
  readonly chunked?: boolean;
  /** Declared content-length differing from the body (framing tricks); the body is still sent. */
  readonly declaredLength?: number;
  /** What the generator meant (printed with a counterexample). */
  readonly note: string;
}

/** What came back on the connection. */
export interface FuzzAnswer {
  /** 0 when the connection closed without a parseable response. */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Why there is no response (a reset, a timeout), when `status` is 0. */
  readonly closed?: string;
}

/** The tokens of the fuzzed host with a token file. */
export const FUZZ_TOKENS = {
  tokens: [
    { name: "admin", token: "fuzz-admin-token-0001", paths: ["/"] },
    { name: "app", token: "fuzz-app-token-0002", paths: ["/state/fz", "/lib"] },
    { name: "reader", token: "fuzz-reader-token-0003", paths: ["/state/fz"], verbs: ["get"] },
  ],
};

/** Table created by {@link setupRequests} (namespace `fz`, granted to "app"), and one outside it. */
export const TABLE = "/state/fz/t";
export const OTHER_TABLE = "/state/secret/keys";
const SCHEMA = [[[["id", "/state/scalar/value/number/int/64"]], [["name", "/state/scalar/value/string", 32], ["n", "/state/scalar/value/number/int/64"]]], [["by_n", ["n"]]]];

/** Requests that create the fuzzed tables (sent with the admin token where tokens apply). */
export function setupRequests(): FuzzRequest[] {
  const rows = Array.from({ length: 20 }, (_, i) => [i, `r${i}`, i % 5]);
  return [TABLE, OTHER_TABLE].map((t) => jsonRequest("PUT", `${t}?key=null`, { "/state/collection/table": [SCHEMA, rows] }, "setup"));
}

/** A well-formed JSON request. */
export function jsonRequest(method: string, path: string, body: unknown, note: string, headers: [string, string][] = []): FuzzRequest {
  return {
    method,
    path,
    headers: [["content-type", "application/json"], ...headers],
    ...(body === undefined ? {} : { body: Buffer.from(JSON.stringify(body), "utf8") }),
    note,
  };
}

const enc = (v: unknown): string => encodeURIComponent(JSON.stringify(v));

/** Serializes a request (with `connection: close` and an auth header when `token` is given). */
export function requestBytes(r: FuzzRequest, token?: string): Buffer {
  const lines = [`${r.method} ${r.path} HTTP/1.1`, "host: 127.0.0.1", "connection: close"];
  if (token !== undefined && !r.headers.some(([h]) => h.toLowerCase() === "authorization")) lines.push(`authorization: Bearer ${token}`);
  for (const [h, v] of r.headers) lines.push(`${h}: ${v}`);
  let body = r.body ?? Buffer.alloc(0);
  if (r.chunked) {
    lines.push("transfer-encoding: chunked");
    const parts: Buffer[] = [];
    for (let i = 0; i < body.length; i += 64 * 1024) {
      const c = body.subarray(i, i + 64 * 1024);
      parts.push(Buffer.from(`${c.length.toString(16)}\r\n`, "latin1"), c, Buffer.from("\r\n", "latin1"));
    }
    parts.push(Buffer.from("0\r\n\r\n", "latin1"));
    body = Buffer.concat(parts);
  } else if (r.body !== undefined || r.declaredLength !== undefined) {
    lines.push(`content-length: ${r.declaredLength ?? body.length}`);
  }
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), body]);
}

/**
 * Sends `r` on a fresh connection and reads the answer until the server closes it (the request
 * says `connection: close`). The write side stays open: node:http aborts a request whose client
 * half-closes before the answer, as HTTP/1.1 allows.
 */
export function send(url: string, r: FuzzRequest, token?: string, timeoutMs = 15_000): Promise<FuzzAnswer> {
  const u = new URL(url);
  const bytes = requestBytes(r, token);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(parseAnswer(Buffer.concat(chunks), closed));
    };
    const sock = connect(Number(u.port), u.hostname, () => {
      sock.write(bytes);
    });
    sock.on("data", (c: Buffer) => chunks.push(c));
    sock.on("end", () => finish());
    sock.on("close", () => finish());
    sock.on("error", (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
}

function parseAnswer(buf: Buffer, closed: string | undefined): FuzzAnswer {
  // Interim answers (`100 Continue` to `expect: 100-continue`) come before the final one.
  let text = buf.toString("latin1");
  while (/^HTTP\/1\.[01] 1\d\d /.test(text) && text.includes("\r\n\r\n")) {
    const skip = text.indexOf("\r\n\r\n") + 4;
    buf = buf.subarray(skip);
    text = text.slice(skip);
  }
  const end = text.indexOf("\r\n\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (end < 0 || !m) return { status: 0, headers: {}, body: text, closed: closed ?? (text === "" ? "closed without an answer" : "unparseable answer") };
  const headers: Record<string, string> = {};
  for (const line of text.slice(0, end).split("\r\n").slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = buf.subarray(Buffer.byteLength(text.slice(0, end + 4), "latin1"));
  if (headers["content-length"] !== undefined) body = body.subarray(0, Number(headers["content-length"]));
  return { status: Number(m[1]), headers, body: body.toString("utf8") };
}

/**
 * What is wrong with an answer, or undefined: every answer is a complete HTTP response below 500,
 * and every error (≥ 400) has the profile's body `{"<kind>": {"message", "stack"}}` whose kind
 * matches the status.
 */
export function problemWith(a: FuzzAnswer, method = "GET"): string | undefined {
  if (a.status === 0) return `no HTTP response (${a.closed ?? "?"}); received ${JSON.stringify(a.body.slice(0, 200))}`;
  if (a.status >= 500) return `status ${a.status}: ${a.body.slice(0, 300)}`;
  // A response to HEAD has no body by definition (RFC 9110 §9.3.2).
  if (a.status < 400 || method === "HEAD") return undefined;
  let j: unknown;
  try {
    j = JSON.parse(a.body);
  } catch {
    return `status ${a.status} with a non-JSON body ${JSON.stringify(a.body.slice(0, 200))}`;
  }
  const keys = j !== null && typeof j === "object" && !Array.isArray(j) ? Object.keys(j) : [];
  const kind = keys[0];
  if (keys.length !== 1 || kind === undefined || !isErrorKind(kind)) return `status ${a.status} with a body that is not an error: ${a.body.slice(0, 200)}`;
  if (ERROR_STATUS[kind] !== a.status) return `status ${a.status} with kind ${kind} (${ERROR_STATUS[kind]})`;
  const d = (j as Record<string, { message?: unknown; stack?: unknown }>)[kind];
  if (!d || typeof d.message !== "string" || d.message === "" || !Array.isArray(d.stack)) return `malformed error body ${a.body.slice(0, 200)}`;
  if (a.headers["content-type"] !== "application/json") return `error without a JSON content type: ${a.headers["content-type"]}`;
  return undefined;
}

// ─── generators ───────────────────────────────────────────────────────────────────────────────

const VERBS = ["GET", "PUT", "POST", "DELETE"] as const;
const ODD_METHODS = ["PATCH", "OPTIONS", "TRACE", "CONNECT", "HEAD", "PROPFIND", "MKCOL", "get", "Post", "FOO", "M-SEARCH", "PURGE", "SEARCH"];

/** HTTP methods: mostly the four verbs, sometimes something else. */
export const methodArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...VERBS) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_METHODS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,12}$/) },
);

const idArb = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
const SEGMENT_TRICKS = [
  "..", ".", "", "%2F", "%2f", "%5C", "%2E%2E", "%2e", "%00", "%", "%zz", "%C0%AE", "%ED%A0%80", "%FF",
  "%E2%80%AE", "%20", "a%2Fb", "~", "$x", "a b", "\u00e9", "%C3%A9", "%F0%9D%95%8F", "..%2F", ";", "a;b=c", "*", "@",
];
const segmentArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom("state", "fz", "t", "secret", "keys", "lib", "count", "rows", "insert", "host", "txn", "scalar", "value", "string", "collection", "table", "_kernel") },
  { weight: 3, arbitrary: idArb },
  { weight: 3, arbitrary: fc.constantFrom(...SEGMENT_TRICKS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }).map((s) => encodeURIComponent(s)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 70_000 }).map((n) => "a".repeat(n)) },
);
const rootArb = fc.constantFrom("/state", "/lib", "/class", "/service", "/host", "/healthz", "", "/nope", "//", "/STATE", "/state/fz/t", "/lib/fz/r/0.0.1", "/class/a/b/1.0.0", "/service/a/b/c/1.0.0", "/host/txn");

const jsonValueArb: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 });
const queryValueArb: fc.Arbitrary<string> = fc.oneof(
  jsonValueArb.map(enc),
  fc.constantFrom("null", "%5B1%5D", "%", "%zz", "[1", "%7B%22%24x%22%3A%5B%5D%7D", "%00", "", "+", "%ED%A0%80", "\"\\ud800\""),
  fc.stringMatching(/^[A-Za-z0-9_-]{0,140}$/),
  fc.string({ maxLength: 20 }),
);
const queryArb: fc.Arbitrary<string> = fc
  .array(fc.tuple(fc.constantFrom("key", "txn_id", "KEY", "x", "key[]", "", "txn_id", "key"), fc.option(queryValueArb, { nil: undefined })), { maxLength: 4 })
  .map((pairs) => (pairs.length === 0 ? "" : `?${pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join("&")}`));

/** Request targets: the profile's roots and valid-looking paths mixed with path tricks and odd queries. */
export const pathArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(rootArb, fc.array(segmentArb, { maxLength: 5 }), fc.boolean(), queryArb).map(([root, segs, slash, q]) => `${root}${segs.map((s) => `/${s}`).join("")}${slash ? "/" : ""}${q}`) },
  { weight: 1, arbitrary: fc.constantFrom("*", "http://127.0.0.1/state/fz/t", "state/fz/t", "/state/fz/t#frag", "/%2e%2e/etc/passwd", "/state/fz/t?key=1&key=2", "/state/fz/t?txn_id=a&txn_id=b", "/healthz/", "/healthz?x", "/healthz//") },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 80_000 }).map((n) => `/state/fz/${"x".repeat(n)}`) },
);

const contentTypeArb = fc.constantFrom(
  "application/json", "application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain", "", "application/jsonx",
  "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/json;;;", "*/*",
);

/** Extra headers: content types, auth oddities, huge or odd headers. */
export const headersArb: fc.Arbitrary<[string, string][]> = fc.oneof(
  { weight: 6, arbitrary: contentTypeArb.map((ct): [string, string][] => (ct === "" ? [] : [["content-type", ct]])) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<[string, string][]>(
      [["authorization", "Bearer"]], [["authorization", "Basic Zm9vOmJhcg=="]], [["authorization", "Bearer fuzz-admin-token-0001 extra"]],
      [["authorization", "bearer fuzz-reader-token-0003"]], [["authorization", "Bearer \u00ff\u00fe"]], [["expect", "100-continue"]],
      [["upgrade", "websocket"], ["connection", "upgrade"]], [["content-encoding", "gzip"]], [["x-tc-txn-id", "abc"]],
      [["host", ""]], [["content-type", "application/json"], ["content-type", "text/plain"]],
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 100_000 }).map((n): [string, string][] => [["x-big", "h".repeat(n)]]) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 300 }).map((n): [string, string][] => Array.from({ length: n }, (_, i) => [`x-h${i}`, "v"])) },
);

function nested(depth: number, open: string, close: string, inner = "1"): string {
  return `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
}

/** Bodies that are not valid JSON, or are JSON of an unusual shape. */
export const odditiesBodyArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => Buffer.from(s, "utf8")),
  fc.constantFrom("{", "[1,", "{\"a\":}", "nul", "\"\\ud800\"", "{\"a\":\"\\udc00x\"}", "\"\\u0000\"", "[1e999]", "-", "{\"__proto__\":{\"x\":1}}", "{\"constructor\":{}}", "1 2", "\ufeff{}", "[]", "{}", "null", "\"/state/fz/t\"").map((s) => Buffer.from(s, "utf8")),
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc.constantFrom([0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff, 0xfe], [0x22, 0xf0, 0x28, 0x8c, 0x28, 0x22], [0x5b, 0x22, 0x00, 0x22, 0x5d], [0x7b, 0x22, 0x61, 0x00, 0x22, 0x3a, 0x31, 0x7d]).map((a) => Buffer.from(a)),
  fc.integer({ min: 10_000, max: 200_000 }).map((d) => Buffer.from(nested(d, "[", "]"), "latin1")),
  fc.integer({ min: 10_000, max: 60_000 }).map((d) => Buffer.from(`${'{"a":'.repeat(d)}1${"}".repeat(d)}`, "latin1")),
  fc.integer({ min: 10_000, max: 60_000 }).map((d) => Buffer.from(`{"r":${nested(d, "[", "]")}}`, "latin1")),
  jsonValueArb.map((v) => Buffer.from(JSON.stringify(v), "utf8")),
);

// ─── IR ops ───────────────────────────────────────────────────────────────────────────────────

const BUILTINS = ["add", "sub", "mul", "div", "mod", "eq", "ne", "gt", "lt", "ge", "le", "and", "or", "xor", "not", "len", "slice", "head", "tail", "concat", "render", "get", "fold", "reduce", "nope", "count", "rows"];
const smallLiteralArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -100, max: 100 }),
  fc.constantFrom(0.5, -0, 1e300, 2 ** 53 - 1, null, true, false, "", "x", "{{x}}", "/state/fz/t", "/state/secret/keys", "/lib/fz/r/0.0.1/op", "/class/a/b/1.0.0", "/nope", "http://127.0.0.1:1/x", "a\ud800b", "\u0000"),
  fc.string({ maxLength: 12 }),
);

/** One step's scalar, referring to earlier steps (`prev`) or params. */
function scalarArb(prev: readonly string[]): fc.Arbitrary<unknown> {
  const names = [...prev, "p", "missing"];
  const ref = fc.constantFrom(...names);
  const operand: fc.Arbitrary<unknown> = fc.oneof(smallLiteralArb, ref.map((n) => ({ [`$${n}`]: [] })));
  const selector = fc.oneof(fc.constant(null), fc.integer({ min: -2, max: 25 }).map((i) => [i]), fc.constant([["n", 1]]), fc.constant([["n", [["in", 1], ["ex", 3]]]]), fc.constant([["name", "r1"]]), smallLiteralArb);
  const table = fc.constantFrom(TABLE, OTHER_TABLE, "/state/fz/none", "/state/_kernel/lib", "/state/scalar/value/string", "/state/collection/table", "/state/media/x", "/state/chain/x");
  return fc.oneof(
    { weight: 3, arbitrary: smallLiteralArb },
    { weight: 1, arbitrary: fc.array(operand, { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.dictionary(idArb, operand, { maxKeys: 3 }) },
    { weight: 3, arbitrary: ref.map((n) => ({ [`$${n}`]: [] })) },
    { weight: 4, arbitrary: fc.tuple(ref, fc.constantFrom(...BUILTINS), fc.dictionary(fc.constantFrom("r", "i", "start", "stop", "x", "item_name", "value", "op"), operand, { maxKeys: 3 })).map(([n, m, p]) => ({ [`$${n}/${m}`]: p })) },
    { weight: 3, arbitrary: fc.tuple(table, fc.constantFrom("", "/count", "/rows", "/contains", "/is_empty", "/schema", "/limit", "/order", "/select", "/nope"), selector).map(([t, r, k]) => ({ [`${t}${r}`]: [k] })) },
    { weight: 2, arbitrary: fc.tuple(table, fc.integer({ min: 0, max: 40 }), smallLiteralArb, fc.integer({ min: -5, max: 5 })).map(([t, id, name, n]) => ({ [t]: [[id], [name, n]] })) },
    { weight: 1, arbitrary: fc.tuple(table, selector).map(([t, k]) => ({ "/state/scalar/ref/op/delete": [t, k] })) },
    { weight: 1, arbitrary: fc.tuple(ref, selector).map(([n, k]) => ({ "/state/scalar/ref/op/get": [`$${n}`, k] })) },
    { weight: 1, arbitrary: fc.tuple(ref, operand, operand).map(([c, a, b]) => ({ "/state/scalar/ref/cond": [{ [`$${c}`]: [] }, a, b] })) },
    { weight: 1, arbitrary: fc.tuple(operand, operand).map(([a, b]) => ({ "/state/scalar/ref/after": [a, b] })) },
    { weight: 1, arbitrary: fc.tuple(fc.array(smallLiteralArb, { maxLength: 3 }), ref).map(([items, n]) => ({ "/state/scalar/ref/for_each": [items, { "/state/scalar/op/post": [["r", { [`$${n}`]: [] }]] }, "item"] })) },
    { weight: 1, arbitrary: fc.constantFrom("/lib/fz/r/0.0.1/op", "/lib/fz/r/0.0.2/op", "/lib/fz/none/1.0.0/op", "/class/a/b/1.0.0", "/service/a/b/c/1.0.0/x", "http://127.0.0.1:1/state/fz/t", "/host/txn", "/healthz").map((s) => ({ [s]: {} })) },
    { weight: 1, arbitrary: fc.constantFrom({ "/state/scalar/value/string": "s" }, { "/state/scalar/value/number": "12" }, { "/state/scalar/value/link": "/state/fz/t" }, { "/state/scalar/ref/while": [1, 2, 3] }, { "/state/scalar/ref/if": [] }, { $: [] }, { "/": [] }, { "/state/fz/t": [] }) },
  );
}

/** A POST OpDef of 1–8 steps, each referring to earlier ones. */
export const opDefArb: fc.Arbitrary<unknown> = fc.integer({ min: 1, max: 8 }).chain((n) => {
  const names = Array.from({ length: n }, (_, i) => `s${i}`);
  return fc.tuple(...names.map((name, i) => scalarArb(names.slice(0, i)).map((s) => [name, s]))).map((steps) => ({ "/state/scalar/op/post": steps }));
});

/** Keys and selectors of the fuzzed table: ids, ranges, odd shapes. */
const keyArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -3, max: 30 }).map((i) => [i]),
  fc.constantFrom(null, [], [["n", 1]], [["n", [["in", 1], ["ex", 3]]]], [["id", [null, ["in", 5]]]], [["name", "r1"]], [["nope", 1]], [1, 2], [["n", [1, 2, 3]]], [-0], [2 ** 53], ["1"]),
  smallLiteralArb,
);
/** Value tuples of the fuzzed table (name, n), and near misses. */
const rowValuesArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(smallLiteralArb, fc.integer({ min: -5, max: 5 })),
  fc.constantFrom({ n: 3 }, { name: "z" }, { id: 1 }, ["x".repeat(40), 1], [null, null], "bare", 7),
);

/** Library installs and calls with random ops, and table requests with random keys and bodies. */
export const irRequestArb: fc.Arbitrary<FuzzRequest> = fc.oneof(
  fc.tuple(fc.constantFrom("0.0.1", "0.0.2", "1.0.0-q1", "0.0.3"), opDefArb, fc.option(smallLiteralArb, { nil: undefined })).map(([v, op, extra]) =>
    jsonRequest("PUT", "/lib", { [`/lib/fz/r/${v}`]: { op, ...(extra === undefined ? {} : { val: extra }) } }, `install /lib/fz/r/${v}`),
  ),
  fc.tuple(fc.constantFrom("0.0.1", "0.0.2", "1.0.0-q1", "0.0.3", "9.9.9"), fc.constantFrom("op", "val", "nope"), fc.dictionary(fc.constantFrom("p", "x", "self"), smallLiteralArb, { maxKeys: 2 })).map(([v, m, params]) =>
    jsonRequest("POST", `/lib/fz/r/${v}/${m}`, params, "library call"),
  ),
  fc.tuple(fc.constantFrom("GET", "DELETE"), fc.constantFrom(TABLE, `${TABLE}/count`, `${TABLE}/rows`, `${TABLE}/order`, `${TABLE}/limit`, OTHER_TABLE, "/state/fz/t/insert", "/lib", "/lib/fz", "/lib/fz/r/0.0.1"), fc.option(fc.oneof(keyArb, jsonValueArb), { nil: undefined })).map(([m, p, key]) =>
    // A DELETE without a key drops the table: the fuzzer keeps its tables (setup re-creates them anyway).
    jsonRequest(m, key === undefined ? p : `${p}?key=${enc(key)}`, undefined, m === "DELETE" && key === undefined ? "table read" : "table read/delete"),
  ).map((r) => (r.method === "DELETE" && !r.path.includes("?") ? { ...r, method: "GET" } : r)),
  fc.tuple(fc.constantFrom(TABLE, `${TABLE}/insert`, "/state/fz/new", OTHER_TABLE), fc.option(keyArb, { nil: undefined }), fc.oneof(rowValuesArb, jsonValueArb)).map(([p, key, body]) =>
    jsonRequest("PUT", key === undefined ? p : `${p}?key=${enc(key)}`, body, "table write"),
  ),
  fc.tuple(opDefArb, fc.constantFrom("/state/fz/t", "/state/fz/t/count", "/lib/fz/r/0.0.1/op", "/host/txn")).map(([op, p]) => jsonRequest("POST", p, { op, p: 1 }, "op as params")),
);

/** Any request: methods, targets, headers and bodies drawn independently. */
export const chaosRequestArb: fc.Arbitrary<FuzzRequest> = fc
  .record({
    method: methodArb,
    path: pathArb,
    headers: headersArb,
    body: fc.option(fc.oneof(odditiesBodyArb, irRequestArb.map((r) => r.body ?? Buffer.alloc(0))), { nil: undefined }),
    chunked: fc.boolean(),
  })
  .map(({ method, path, headers, body, chunked }) => ({ method, path, headers, ...(body === undefined ? {} : { body }), chunked: chunked && body !== undefined, note: "chaos" }));

/** Bodies over `limit`: declared, streamed (chunked), and a lying content-length. */
export function hugeBodyRequests(limit: number): FuzzRequest[] {
  const big = Buffer.alloc(limit + 1024, 0x31);
  const bigJson = Buffer.from(`[${"1,".repeat(Math.ceil(limit / 2))}1]`, "latin1");
  return [
    { method: "PUT", path: `${TABLE}?key=%5B1%5D`, headers: [["content-type", "application/json"]], body: big, note: "body over the limit (content-length)" },
    { method: "POST", path: "/lib/fz/r/0.0.1/op", headers: [["content-type", "application/json"]], body: bigJson, chunked: true, note: "body over the limit (chunked)" },
    { method: "PUT", path: "/lib", headers: [["content-type", "application/json"]], body: Buffer.from("{}"), declaredLength: limit * 4, note: "content-length over the limit, short body" },
    { method: "GET", path: "/healthz", headers: [], body: big, note: "GET /healthz with a huge body" },
  ];
}

/** A session: begin, a few requests with its id (or a forged one), then commit or roll back. */
export interface SessionPlan {
  readonly steps: readonly { readonly kind: "request"; readonly req: FuzzRequest; readonly forged: boolean }[];
  readonly end: "commit" | "rollback" | "abandon" | "commit-twice";
  readonly endPath: string;
}

export const sessionPlanArb: fc.Arbitrary<SessionPlan> = fc.record({
  steps: fc.array(fc.record({ kind: fc.constant("request" as const), req: irRequestArb, forged: fc.boolean() }), { maxLength: 4 }),
  // An abandoned session holds the kernel's lock until its budget: rarer, to keep runs short.
  end: fc.oneof(
    { weight: 4, arbitrary: fc.constant("commit") },
    { weight: 3, arbitrary: fc.constant("rollback") },
    { weight: 1, arbitrary: fc.constant("commit-twice") },
    { weight: 1, arbitrary: fc.constant("abandon") },
  ),
  endPath: fc.constantFrom("/state", "/lib", "/state/fz", "/host", "/class", "/service", "/lib/fz/r/0.0.1", "/state/fz/t", "/healthz"),
}) as fc.Arbitrary<SessionPlan>;

/** Adds `txn_id` to a request's target. */
export function withTxn(r: FuzzRequest, id: string): FuzzRequest {
  return { ...r, path: `${r.path}${r.path.includes("?") ? "&" : "?"}txn_id=${id}` };
}

/** Prints a request for a counterexample (bodies shortened). */
export function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? "" : ` body(${r.body.length} B${r.chunked ? ", chunked" : ""})=${JSON.stringify(r.body.subarray(0, 300).toString("latin1"))}`;
  const path = r.path.length > 300 ? `${r.path.slice(0, 300)}…(${r.path.length})` : r.path;
  const headers = r.headers.map(([h, v]) => `${h}: ${v.length > 80 ? `${v.slice(0, 80)}…(${v.length})` : v}`).join(" | ");
  return `[${r.note}] ${r.method} ${JSON.stringify(path)} {${headers}}${body}`;
}
