/**
 * Prepared ops and `/lib` administration over HTTP: content-addressed versions cannot be squatted
 * (the host verifies the hash), a version is removed only by the principal that installed it,
 * per-principal quotas bound installs (also across a durable reopen), and a GET-only token runs
 * every read the ORM and the graph emit — and nothing else.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestError, ForbiddenError } from "../../src/errors.js";
import { opHash } from "../../src/ir/index.js";
import type { Json } from "../../src/ir/types.js";
import { connect } from "../../src/connect.js";
import { http, parseTokenConfig, serve, type ServerHandle } from "../../src/http/index.js";
import { Kernel, LibraryQuotaError } from "../../src/kernel/index.js";
import { PEOPLE, social } from "../orm/fixtures/social.js";
import { errorBody, raw } from "./raw.js";

const ADMIN = "admin-secret-token-prep";
const APP = "app-secret-token-prep";
const READER = "reader-secret-token-prep";
const TOKENS = parseTokenConfig({
  tokens: [
    { name: "admin", token: ADMIN, paths: ["/"] },
    { name: "app", token: APP, paths: ["/state/social", "/lib"] },
    { name: "reader", token: READER, paths: ["/state/social"], verbs: ["get"] },
  ],
});
const headers = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
const post = (steps: Json[]): Json => ({ "/state/scalar/op/post": steps });
const prepared = (op: Json): string => `/lib/tinychain-orm/prepared/0.0.0-q${opHash(op)}`;

describe("content-addressed prepared ops", () => {
  let srv: ServerHandle;
  beforeAll(async () => {
    srv = await serve({ tokens: TOKENS });
  });
  afterAll(() => srv.close());

  it("another principal cannot put other content under the version of someone's query", async () => {
    const query = post([["r", { "$x/mul": { r: 2 } }]]);
    const squat = { [prepared(query)]: { op: post([["r", "gotcha"]]) } };
    const r = await raw(srv.url, "PUT", "/lib", { headers: headers(APP), body: JSON.stringify(squat) });
    expect(r.status).toBe(400);
    expect(errorBody(r)?.message).toMatch(/content-addressed/);
    const extra = { [prepared(query)]: { op: query, more: 1 } };
    expect((await raw(srv.url, "PUT", "/lib", { headers: headers(APP), body: JSON.stringify(extra) })).status).toBe(400);
    // The victim's query (a reader: no write grant anywhere) still installs and runs.
    const reader = http(srv.url, { token: READER });
    try {
      expect(await reader.execute(query, { x: 21 })).toBe(42);
    } finally {
      await reader.close();
    }
  });

  it("a version is removed only by the principal that installed it", async () => {
    const lib = "/lib/app/tool/1.0.0";
    const body = JSON.stringify({ [lib]: { seven: 7 } });
    expect((await raw(srv.url, "PUT", "/lib", { headers: headers(APP), body })).status).toBe(204);
    for (const other of [ADMIN, READER]) {
      const r = await raw(srv.url, "DELETE", lib, { headers: headers(other) });
      expect(r.status).toBe(403);
    }
    expect((await raw(srv.url, "GET", `${lib}/seven`, { headers: headers(APP) })).json).toBe(7);
    expect((await raw(srv.url, "DELETE", lib, { headers: headers(APP) })).status).toBe(200);
    expect((await raw(srv.url, "GET", `${lib}/seven`, { headers: headers(APP) })).status).toBe(404);
    expect((await raw(srv.url, "DELETE", lib, { headers: headers(APP) })).status).toBe(404);
    // Installable again (by anyone with the grant), now owned by its new installer.
    expect((await raw(srv.url, "PUT", "/lib", { headers: headers(ADMIN), body })).status).toBe(204);
    expect((await raw(srv.url, "DELETE", lib, { headers: headers(APP) })).status).toBe(403);
  });

  it("a reader removes its own prepared op; its client installs it again on the next call", async () => {
    const query = post([["r", { "$x/add": { r: 1 } }]]);
    const reader = http(srv.url, { token: READER });
    try {
      expect(await reader.execute(query, { x: 1 })).toBe(2);
      expect((await raw(srv.url, "DELETE", prepared(query), { headers: headers(APP) })).status).toBe(403);
      expect((await raw(srv.url, "DELETE", prepared(query), { headers: headers(READER) })).status).toBe(200);
      expect(await reader.execute(query, { x: 2 })).toBe(3);
    } finally {
      await reader.close();
    }
  });
});

describe("per-principal /lib quotas", () => {
  it("count and bytes: a typed 403 past either, per principal, freed by DELETE", async () => {
    const srv = await serve({ tokens: TOKENS, libQuota: { maxVersions: 2, maxBytes: 2048 } });
    try {
      const install = (token: string, id: string, members: Json): Promise<{ status: number; message?: string }> =>
        raw(srv.url, "PUT", "/lib", { headers: headers(token), body: JSON.stringify({ [id]: members }) }).then((r) => ({
          status: r.status,
          ...(errorBody(r) ? { message: errorBody(r)!.message } : {}),
        }));
      expect((await install(APP, "/lib/app/a/1.0.0", { v: 1 })).status).toBe(204);
      expect((await install(APP, "/lib/app/a/1.0.0", { v: 1 })).status).toBe(204); // same content: no new version
      expect((await install(APP, "/lib/app/b/1.0.0", { v: 2 })).status).toBe(204);
      const third = await install(APP, "/lib/app/c/1.0.0", { v: 3 });
      expect(third.status).toBe(403);
      expect(third.message).toMatch(/library quota exceeded: .* at most 2 library versions/);
      expect((await install(ADMIN, "/lib/admin/c/1.0.0", { v: 3 })).status).toBe(204); // another principal's quota
      expect((await raw(srv.url, "DELETE", "/lib/app/b/1.0.0", { headers: headers(APP) })).status).toBe(200);
      expect((await install(APP, "/lib/app/c/1.0.0", { v: 3 })).status).toBe(204);
      const big = await install(ADMIN, "/lib/admin/big/1.0.0", { v: "x".repeat(4096) });
      expect(big.status).toBe(403);
      expect(big.message).toMatch(/at most 2048 bytes/);
    } finally {
      await srv.close();
    }
  });

  it("owners and usage survive a durable reopen", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tc-orm-quota-"));
    const a = { paths: ["/lib"], principal: "a" };
    const b = { paths: ["/lib"], principal: "b" };
    try {
      let k = await Kernel.open({ dataDir: dir, libQuota: { maxVersions: 1 } });
      await k.request({ verb: "put", path: "/lib", body: { "/lib/a/x/1.0.0": { v: 1 } } }, undefined, a);
      await k.close();
      k = await Kernel.open({ dataDir: dir, libQuota: { maxVersions: 1 } });
      const e = await k.request({ verb: "put", path: "/lib", body: { "/lib/a/y/1.0.0": { v: 2 } } }, undefined, a).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(LibraryQuotaError);
      await expect(k.request({ verb: "delete", path: "/lib/a/x/1.0.0" }, undefined, b)).rejects.toBeInstanceOf(ForbiddenError);
      await k.request({ verb: "delete", path: "/lib/a/x/1.0.0" }, undefined, a);
      await k.request({ verb: "put", path: "/lib", body: { "/lib/a/y/1.0.0": { v: 2 } } }, undefined, a);
      await k.close();
      k = await Kernel.open({ dataDir: dir });
      await expect(k.request({ verb: "get", path: "/lib/a/x/1.0.0" })).rejects.toMatchObject({ status: 404 });
      expect(await k.request({ verb: "get", path: "/lib/a/y/1.0.0/v" })).toBe(2);
      await k.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("an install and a removal inside a rolled-back transaction change nothing", async () => {
    const k = await Kernel.open({ libQuota: { maxVersions: 1 } });
    try {
      const s = await k.beginSession();
      await k.request({ verb: "put", path: "/lib", body: { "/lib/l/x/1.0.0": { v: 1 } } }, s);
      await k.rollbackSession(s);
      await expect(k.request({ verb: "get", path: "/lib/l/x/1.0.0" })).rejects.toMatchObject({ status: 404 });
      await k.request({ verb: "put", path: "/lib", body: { "/lib/l/x/1.0.0": { v: 1 } } });
    } finally {
      await k.close();
    }
  });

  it("invalid quotas are refused", async () => {
    await expect(Kernel.open({ libQuota: { maxVersions: -1 } })).rejects.toBeInstanceOf(BadRequestError);
  });
});

describe("a GET-only token (the README's reader)", () => {
  let srv: ServerHandle;
  beforeAll(async () => {
    srv = await serve({ tokens: TOKENS });
    const admin = http(srv.url, { token: ADMIN });
    const db = await connect(social, admin);
    await db.sync();
    await db.insertInto("users").values([...PEOPLE]).execute();
    await db.insertInto("follows").values([{ follower: 1, followee: 2 }, { follower: 2, followee: 3 }]).execute();
    await db.insertInto("posts").values([{ id: 1, author: 2, lang: "en" }, { id: 2, author: 3, lang: "fr", parent: 1 }]).execute();
    await admin.close();
  });
  afterAll(() => srv.close());

  it("runs every ORM select and graph traversal, and nothing else", async () => {
    const ex = http(srv.url, { token: READER });
    try {
      const db = await connect(social, ex);
      expect((await db.selectFrom("users").execute()).length).toBe(6);
      expect((await db.selectFrom("users").where("city", "=", "rome").orderBy("age", "desc").limit(2).select(["id"]).execute()).map((r) => r.id)).toEqual([6, 5]);
      expect(await db.selectFrom("users").where("name", "!=", "ada").count().execute()).toBe(5);
      expect((await db.selectFrom("users").where("age", ">", 20).orderBy("age").offset(1).limit(2).execute()).map((r) => r.id)).toEqual([6, 1]);
      const g = db.graph;
      expect(await g.match("users", { id: 1 }).out("follows").out("posts").select(["id"]).execute()).toEqual([{ id: 1 }]);
      expect((await g.match("posts", { id: 2 }).out("parent").execute()).map((p) => p.id)).toEqual([1]);
      const admin = http(srv.url, { token: ADMIN });
      const hops = (d: typeof db): Promise<number> => d.graph.match("users", { id: 1 }).out("follows", { hops: [1, 3] }).count().execute();
      expect(await hops(db)).toBe(2);
      expect(await hops(await connect(social, admin))).toBe(2);
      await admin.close();
      await expect(db.insertInto("users").values([{ id: 9, name: "mal", age: 1, city: "x" }]).execute()).rejects.toBeInstanceOf(ForbiddenError);
      await expect(db.updateTable("users").set({ age: 1 }).where("id", "=", 1).execute()).rejects.toBeInstanceOf(ForbiddenError);
      await expect(db.deleteFrom("users").where("id", "=", 1).execute()).rejects.toBeInstanceOf(ForbiddenError);
      await expect(ex.session()).rejects.toBeInstanceOf(ForbiddenError);
      expect((await db.selectFrom("users").where("id", "=", 1).execute())[0]).toMatchObject({ id: 1, age: 36 });
    } finally {
      await ex.close();
    }
  });
});
