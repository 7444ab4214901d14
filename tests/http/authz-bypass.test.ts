/**
 * Authorization at execution time: ops that try to reach paths outside the caller's grant —
 * computed paths, rendered templates, paths read from rows, class-like namespaces, library ops
 * calling library ops, `$self`, remote links, path tricks, writes through views, traversals into
 * other tables — are refused with 403 (400 for a malformed path) and change nothing. Each attempt
 * runs over HTTP with a bearer token and in process with a grant, and each read attempt is shown to
 * reach the secret under a full grant, so the refusal is the grant's doing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ForbiddenError, TcError } from "../../src/errors.js";
import type { Json } from "../../src/ir/types.js";
import type { Executor } from "../../src/executor.js";
import { http, parseTokenConfig, serve, type ServerHandle } from "../../src/http/index.js";
import { embedded, Kernel, type Grant } from "../../src/kernel/index.js";
import { errorBody, raw } from "./raw.js";

const ADMIN = "admin-secret-token-authz";
const APP = "app-secret-token-authz";
const READER = "reader-secret-token-authz";
const USERS = "users-secret-token-authz";

const APP_GRANT: Grant = { paths: ["/state/social", "/lib"], principal: "app" };
const READER_GRANT: Grant = { paths: ["/state/social"], verbs: ["get"], principal: "reader" };
const USERS_GRANT: Grant = { paths: ["/state/social/users", "/lib"], principal: "users" };

const TYPE = { u32: "/state/scalar/value/number/uint/32", str: "/state/scalar/value/string" };
const table = (): Json => ({ "/state/collection/table": [[[[["id", TYPE.u32]], [["v", TYPE.str]]], []], []] });
const TABLES = ["/state/social/paths", "/state/social/users", "/state/social/posts", "/state/secret/keys", "/state/media/files", "/state/chain/blocks"];
const SECRET = "s3cret-value";
const ADMIN_LIB = "/lib/admin/secret/1.0.0";
const post = (steps: Json[]): Json => ({ "/state/scalar/op/post": steps });
const computed = (path: string): Json[] => [
  ["a", path.slice(0, 4)],
  ["p", { "$a/concat": { r: path.slice(4) } }],
];
const readComputed = (path: string): Json => post([...computed(path), ["r", { $p: [[1]] }]]);

/** Seeds the tables and the admin's library through `ex` (a full grant). */
async function seed(ex: Pick<Executor, "request">): Promise<void> {
  for (const t of TABLES) await ex.request({ verb: "put", path: t, key: null, body: table() });
  await ex.request({ verb: "put", path: "/state/secret/keys", key: [1], body: [SECRET] });
  await ex.request({ verb: "put", path: "/state/media/files", key: [1], body: ["media-secret"] });
  await ex.request({ verb: "put", path: "/state/chain/blocks", key: [1], body: ["chain-secret"] });
  await ex.request({ verb: "put", path: "/state/social/paths", key: [1], body: ["/state/secret/keys"] });
  await ex.request({ verb: "put", path: "/state/social/users", key: [1], body: ["ada"] });
  await ex.request({ verb: "put", path: "/state/social/posts", key: [1], body: ["hello"] });
  await ex.request({
    verb: "put",
    path: "/lib",
    body: {
      [ADMIN_LIB]: {
        op: post([["r", { "/state/secret/keys": [[1]] }]]),
        put: post([["r", { "/state/secret/keys": [[2], ["admin-lib-write"]] }]]),
      },
    },
  });
}

/** Every table's rows, as one string (prepared ops the HTTP client installs are no change). */
async function snapshot(ex: Pick<Executor, "request">): Promise<string> {
  const parts: Json[] = [];
  for (const t of TABLES) parts.push(await ex.request({ verb: "get", path: t, key: null }));
  return JSON.stringify(parts);
}

interface Attempt {
  readonly name: string;
  readonly op: Json;
  readonly args?: Record<string, Json>;
  /** Who tries: the app (social + /lib, all verbs), the reader (social, GET) or users-only. */
  readonly who?: "app" | "reader";
  /** A malformed path: 400 is as good as 403 (refused before anything runs). */
  readonly malformed?: boolean;
  /** What a full grant reads with the same op (proves the attempt is a real path to the data). */
  readonly fullReads?: Json;
}

const SECRET_ROW: Json = [1, SECRET];

const ATTEMPTS: readonly Attempt[] = [
  { name: "computed concat path (read)", op: readComputed("/state/secret/keys"), fullReads: SECRET_ROW },
  { name: "computed concat path (write)", op: post([...computed("/state/secret/keys"), ["r", { $p: [[9], ["pwned"]] }]]) },
  {
    name: "computed write after an allowed write (both rolled back)",
    op: post([
      ["w", { "/state/social/paths": [[7], ["mine"]] }],
      ...computed("/state/secret/keys"),
      ["x", { $p: [[9], ["pwned"]] }],
      ["r", [{ $w: [] }, { $x: [] }]],
    ]),
  },
  {
    name: "render template",
    op: post([["t", "/state/{{ns}}/keys"], ["p", { "$t/render": { ns: "secret" } }], ["r", { $p: [[1]] }]]),
    fullReads: SECRET_ROW,
  },
  {
    name: "a path read from a table row",
    op: post([["row", { "/state/social/paths": [[1]] }], ["p", { "$row/get": { i: 1 } }], ["r", { $p: [[1]] }]]),
    fullReads: SECRET_ROW,
  },
  { name: "a path passed as an argument", op: post([["r", { $t: [[1]] }]]), args: { t: "/state/secret/keys" }, fullReads: SECRET_ROW },
  { name: "literal /state/media/...", op: post([["r", { "/state/media/files": [[1]] }]]), fullReads: [1, "media-secret"] },
  { name: "literal /state/chain/...", op: post([["r", { "/state/chain/blocks": [[1]] }]]), fullReads: [1, "chain-secret"] },
  { name: "computed /state/media/... write", op: post([...computed("/state/media/files"), ["r", { $p: [[2], ["x"]] }]]) },
  { name: "a /lib op reading outside the grant", op: post([["r", { [`${ADMIN_LIB}/op`]: {} }]]), fullReads: SECRET_ROW },
  { name: "a /lib op writing outside the grant", op: post([["r", { [`${ADMIN_LIB}/put`]: {} }]]) },
  { name: "$self bound to a table path", op: post([["r", { $self: [[1]] }]]), args: { self: "/state/secret/keys" }, fullReads: SECRET_ROW },
  { name: "$self/<route> on a table path", op: post([["r", { "$self/count": [null] }]]), args: { self: "/state/secret/keys" }, fullReads: 1 },
  { name: "an http:// link", op: post([["l", { "/state/scalar/value/link": "http://127.0.0.1:1/state/secret/keys" }], ["r", { $l: [[1]] }]]) },
  { name: "an http:// link as a literal subject (refused by the IR decoder)", op: post([["r", { "http://127.0.0.1:1/state/secret/keys": [[1]] }]]), malformed: true },
  { name: "a computed http:// link", op: post([["a", "http://127.0.0.1:1"], ["p", { "$a/concat": { r: "/state/secret/keys" } }], ["r", { $p: [[1]] }]]) },
  { name: "the kernel's own library table", op: readComputed("/state/_kernel/lib") },
  { name: "another top-level directory", op: readComputed("/class/acme/x/1.0.0") },
  { name: "path trick: ..", op: readComputed("/state/social/../secret/keys"), malformed: true },
  { name: "path trick: //", op: readComputed("/state//secret/keys"), malformed: true },
  { name: "path trick: encoded slashes", op: readComputed("/state/social%2F..%2Fsecret/keys"), malformed: true },
  { name: "path trick: trailing slash", op: readComputed("/state/secret/keys/"), malformed: true },
  { name: "path trick: upper case root", op: readComputed("/STATE/secret/keys") },
  { name: "path trick: a namespace prefix", op: readComputed("/state/socialite/keys") },
  {
    name: "writing through a view the reader may read",
    who: "reader",
    op: post([["v", { "/state/social/paths": [null] }], ["r", { $v: [null, { v: "changed" }] }]]),
  },
  { name: "a plain write by the reader", who: "reader", op: post([["r", { "/state/social/paths": [[5], ["x"]] }]]) },
  { name: "a /lib op the reader calls", who: "reader", op: post([["r", { [`${ADMIN_LIB}/op`]: {} }]]) },
];

/** `fn` fails with 403 (or 400 for a malformed path). */
async function expectRefused(fn: () => Promise<unknown>, malformed = false): Promise<TcError> {
  const e = await fn().then(
    (v) => new Error(`expected a refusal, got ${JSON.stringify(v)}`),
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(TcError);
  expect(malformed ? [400, 403] : [403]).toContain((e as TcError).status);
  return e as TcError;
}

describe("over HTTP with bearer tokens", () => {
  let srv: ServerHandle;
  let admin: Executor;
  let clients: Record<"app" | "reader", Executor>;
  let before: string;

  beforeAll(async () => {
    const tokens = parseTokenConfig({
      tokens: [
        { name: "admin", token: ADMIN, paths: ["/"] },
        { name: "app", token: APP, paths: ["/state/social", "/lib"] },
        { name: "reader", token: READER, paths: ["/state/social"], verbs: ["get"] },
        { name: "users", token: USERS, paths: ["/state/social/users", "/lib"] },
      ],
    });
    srv = await serve({ tokens });
    admin = http(srv.url, { token: ADMIN });
    clients = { app: http(srv.url, { token: APP }), reader: http(srv.url, { token: READER }) };
    await seed(admin);
    before = await snapshot(admin);
  });
  afterAll(async () => {
    await Promise.all([admin.close(), clients.app.close(), clients.reader.close()]);
    await srv.close();
  });

  it.each(ATTEMPTS)("$name → refused, nothing changed", async (a) => {
    if (a.fullReads !== undefined) expect(await admin.execute(a.op, a.args)).toEqual(a.fullReads);
    await expectRefused(() => clients[a.who ?? "app"].execute(a.op, a.args), a.malformed);
    expect(await snapshot(admin)).toBe(before);
  });

  it("a library the app installs that reaches outside its grant: install allowed, every call refused", async () => {
    const h = { authorization: `Bearer ${APP}`, "content-type": "application/json" };
    const lib = "/lib/app/proxy/1.0.0";
    const body = {
      [lib]: {
        viaLib: post([["r", { [`${ADMIN_LIB}/op`]: {} }]]),
        selfish: post([["r", { $self: [[1]] }]]),
        route: { method: "GET", path: "/state/secret/keys/count" },
      },
    };
    expect((await raw(srv.url, "PUT", "/lib", { headers: h, body: JSON.stringify(body) })).status).toBe(204);
    before = await snapshot(admin);
    for (const [member, params] of [["viaLib", {}], ["selfish", { self: "/state/secret/keys" }]] as const) {
      const r = await raw(srv.url, "POST", `${lib}/${member}`, { headers: h, body: JSON.stringify(params) });
      expect(r.status).toBe(403);
      // Calling another library needs a declared dependency (checked first); the rest, the grant.
      expect(errorBody(r)?.message).toMatch(
        member === "viaLib" ? /library \/lib\/app\/proxy\/1.0.0 may not call .* not among its declared dependencies/ : /app has no rights to \/state\/secret\/keys/,
      );
    }
    expect((await raw(srv.url, "GET", `${lib}/route`, { headers: h })).status).toBe(403);
    // The admin runs the same members: they do reach the secret.
    expect((await raw(srv.url, "GET", `${lib}/route`, { headers: { authorization: `Bearer ${ADMIN}` } })).json).toBe(1);
    expect(await snapshot(admin)).toBe(before);
  });

  it("literal /state/media and /state/chain requests and path tricks on the wire → 403 (or 400/404)", async () => {
    const h = { authorization: `Bearer ${APP}` };
    for (const p of ["/state/media/files", "/state/chain/blocks", "/state/secret/keys", "/state/socialite/keys", "/state/Social/users"]) {
      expect((await raw(srv.url, "GET", `${p}?key=%5B1%5D`, { headers: h })).status).toBe(403);
    }
    for (const p of ["/state/social/../secret/keys", "/state//secret/keys", "/state/social%2F..%2Fsecret/keys", "/state/secret/keys/", "/state/social/%2e%2e/secret/keys"]) {
      expect([400, 403]).toContain((await raw(srv.url, "GET", `${p}?key=%5B1%5D`, { headers: h })).status);
    }
    // An unknown top-level directory is 404 for every caller (the server serves no such root).
    expect((await raw(srv.url, "GET", "/STATE/secret/keys?key=%5B1%5D", { headers: h })).status).toBe(404);
    expect(await snapshot(admin)).toBe(before);
  });

  it("a traversal into a table the token does not cover → 403", async () => {
    const users = http(srv.url, { token: USERS });
    try {
      const plan = JSON.stringify({
        v: 1,
        start: { table: "users", filters: [] },
        steps: [{ kind: "hop", rel: "r", dir: "out", source: "users", target: "posts", alts: [{ lookups: [{ table: "posts", cols: ["id"], from: ["id"] }], relAt: 0, relation: "fk:users.id" }], min: 1, max: 1 }],
        result: { kind: "rows", distinct: false, select: null, orderBy: [], count: false },
        offset: null,
        limit: null,
        budget: 1000,
      });
      const op = post([["r", { "/state/social/users/traverse": [[plan, {}]] }]]);
      expect(await admin.execute(op)).toEqual([[1, "hello"]]);
      const e = await expectRefused(() => users.execute(op));
      expect(e.message).toMatch(/\/state\/social\/posts/);
    } finally {
      await users.close();
    }
  });

  it("a GET-only token cannot begin a session", async () => {
    // A held transaction takes the lock across requests: only a principal that may write holds one.
    const r = await raw(srv.url, "GET", "/state/social/posts", { headers: { authorization: `Bearer ${READER}`, "x-tc-txn": "hold" } });
    expect(r.status).toBe(403);
    expect(errorBody(r)?.message).toMatch(/reader may not begin a session/);
    await expect(clients.reader.session()).rejects.toBeInstanceOf(ForbiddenError);
  });
});

describe("in process with a grant", () => {
  let kernel: Kernel;
  let before: string;
  const full: Pick<Executor, "request"> = { request: (req) => kernel.request(req) };
  const GRANTS = { app: APP_GRANT, reader: READER_GRANT };

  beforeAll(async () => {
    kernel = await Kernel.open({});
    await seed(full);
    before = await snapshot(full);
  });
  afterAll(() => kernel.close());

  it.each(ATTEMPTS)("$name → refused, nothing changed", async (a) => {
    if (a.fullReads !== undefined) expect(await kernel.execute(a.op, a.args ?? {})).toEqual(a.fullReads);
    await expectRefused(() => kernel.execute(a.op, a.args ?? {}, undefined, GRANTS[a.who ?? "app"]), a.malformed);
    expect(await snapshot(full)).toBe(before);
  });

  it("a traversal plan naming a table outside the grant → 403; inside it runs", async () => {
    const plan = (target: string): string =>
      JSON.stringify({
        v: 1,
        start: { table: "users", filters: [] },
        steps: [{ kind: "hop", rel: "r", dir: "out", source: "users", target, alts: [{ lookups: [{ table: target, cols: ["id"], from: ["id"] }], relAt: 0, relation: "fk:users.id" }], min: 1, max: 1 }],
        result: { kind: "rows", distinct: false, select: null, orderBy: [], count: false },
        offset: null,
        limit: null,
        budget: 1000,
      });
    await expectRefused(() => kernel.request({ verb: "get", path: "/state/social/users/traverse", key: [plan("posts"), {}] }, undefined, USERS_GRANT));
    expect(await kernel.request({ verb: "get", path: "/state/social/users/traverse", key: [plan("users"), {}] }, undefined, USERS_GRANT)).toEqual([[1, "ada"]]);
  });

  it("embedded({ grant }) sandboxes every call, and a GET-only grant cannot begin a session", async () => {
    const setup = embedded();
    const sandbox = embedded({ grant: { paths: ["/state/app"], verbs: ["get", "put"] } });
    const readOnly = embedded({ grant: { paths: ["/state/app"], verbs: ["get"] } });
    try {
      await sandbox.request({ verb: "put", path: "/state/app/t", key: null, body: table() });
      await sandbox.request({ verb: "put", path: "/state/app/t", key: [1], body: ["/state/other/t"] });
      await expectRefused(() => sandbox.request({ verb: "put", path: "/state/other/t", key: null, body: table() }));
      const e = await expectRefused(() =>
        sandbox.execute(post([["row", { "/state/app/t": [[1]] }], ["p", { "$row/get": { i: 1 } }], ["r", { "$p/count": [null] }]])),
      );
      expect(e.message).toMatch(/\/state\/other\/t/);
      expect(await sandbox.request({ verb: "get", path: "/state/app/t", key: [1] })).toEqual([1, "/state/other/t"]);
      const s = await sandbox.session();
      await s.rollback();
      await expect(readOnly.session()).rejects.toBeInstanceOf(ForbiddenError);
      expect(() => embedded({ grant: { paths: ["state"] } })).toThrow(/paths/);
    } finally {
      await Promise.all([setup.close(), sandbox.close(), readOnly.close()]);
    }
  });
});
