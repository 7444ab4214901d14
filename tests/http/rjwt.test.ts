/**
 * Signed bearer tokens (RJWT, PROFILE §4.4): the wire format of TinyChain's `rjwt` crate, chain
 * verification, and a served host that grants exactly what a verified token's claims say, with
 * keys of its own actors served at `GET /host/public_key` and other issuers' keys fetched from them.
 */
import { createPrivateKey, sign } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnauthorizedError } from "../../src/errors.js";
import { http, parseTokenConfig, serve, type ServerHandle } from "../../src/http/index.js";
import { Keyring } from "../../src/http/keyring.js";
import { MAX_RJWT_DEPTH, RjwtActor, USER_EXEC, USER_READ, USER_WRITE, verifyRjwt } from "../../src/http/rjwt.js";
import { connect, embedded } from "../../src/index.js";
import { cli } from "../cli/run.js";
import { social } from "../cli/social-schema.js";
import { errorBody, raw } from "./raw.js";

const HOST = "http://issuer.example:8702";
const admin = RjwtActor.generate("admin");
const ring = new Keyring([{ host: HOST, actor: "admin", publicKey: admin.publicKeyBase64() }]);
const resolve = (h: string, a: string) => ring.key(h, a);
const b64json = (part: string): unknown => JSON.parse(Buffer.from(part, "base64").toString("utf8"));

/** Signs any payload with `actor`'s key, as the crate does (for tokens the API refuses to make). */
function forge(actor: RjwtActor, payload: unknown, header: unknown = { alg: "ES256", typ: "JWT" }): string {
  const message = `${Buffer.from(JSON.stringify(header)).toString("base64")}.${Buffer.from(JSON.stringify(payload)).toString("base64")}`;
  return `${message}.${sign(null, Buffer.from(message), createPrivateKey(actor.privateKeyPem())).toString("base64")}`;
}
const now = () => Math.floor(Date.now() / 1000);

describe("the rjwt wire format", () => {
  it("is standard base64 parts, the crate's fixed header, and its payload fields in order", () => {
    const token = admin.sign({ host: HOST, link: "/state/app", mask: USER_READ | USER_WRITE, ttlSeconds: 60 });
    const [h, p, s] = token.split(".") as [string, string, string];
    expect(Buffer.from(h, "base64").toString()).toBe('{"alg":"ES256","typ":"JWT"}');
    const payload = b64json(p) as Record<string, unknown>;
    expect(Object.keys(payload)).toEqual(["iss", "iat", "exp", "actor_id", "custom", "inherit"]);
    expect(payload).toMatchObject({ iss: HOST, actor_id: "admin", custom: ["/state/app", 0o600], inherit: null });
    expect((payload.exp as number) - (payload.iat as number)).toBe(60);
    expect(Buffer.from(s, "base64")).toHaveLength(64);
    expect(admin.publicKeyBase64()).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it("verifies a token and a chain, claims newest first; a child keeps its parent's expiry", async () => {
    const ci = RjwtActor.generate("ci");
    const both = new Keyring([
      { host: HOST, actor: "admin", publicKey: admin.publicKeyBase64() },
      { host: "http://b:1", actor: "ci", publicKey: ci.publicKeyBase64() },
    ]);
    const root = admin.sign({ host: HOST, link: "/state/app", mask: USER_READ, ttlSeconds: 100 });
    const child = ci.extend(root, { host: "http://b:1", link: "/lib/acme", mask: USER_EXEC });
    const v = await verifyRjwt(child, (h, a) => both.key(h, a));
    expect(v.claims).toEqual([
      { host: "http://b:1", actor: "ci", link: "/lib/acme", mask: USER_EXEC },
      { host: HOST, actor: "admin", link: "/state/app", mask: USER_READ },
    ]);
    expect(v.exp).toBe((b64json(root.split(".")[1]!) as { exp: number }).exp);
  });

  const refused: [string, () => string, RegExp][] = [
    ["a changed payload", () => {
      const [h, , s] = admin.sign({ host: HOST, link: "/", mask: USER_READ }).split(".");
      const p = Buffer.from(JSON.stringify({ iss: HOST, iat: now(), exp: now() + 60, actor_id: "admin", custom: ["/", 0o777], inherit: null })).toString("base64");
      return `${h}.${p}.${s}`;
    }, /bad signature/],
    ["another actor's key", () => forge(RjwtActor.generate("admin"), { iss: HOST, iat: now(), exp: now() + 60, actor_id: "admin", custom: ["/", 511], inherit: null }), /bad signature/],
    ["an untrusted actor", () => RjwtActor.generate("mallory").sign({ host: HOST, link: "/", mask: 511 }), /untrusted actor "mallory"/],
    ["an untrusted host", () => admin.sign({ host: "http://evil:1", link: "/", mask: 511 }), /untrusted actor "admin" at http:\/\/evil:1/],
    ["an expired token", () => admin.sign({ host: HOST, link: "/", mask: 511, ttlSeconds: 10, now: Date.now() - 60_000 }), /expired/],
    ["a token issued in the future", () => admin.sign({ host: HOST, link: "/", mask: 511, now: Date.now() + 600_000 }), /not yet valid/],
    ["a child outliving its parent", () => {
      const root = admin.sign({ host: HOST, link: "/", mask: USER_READ, ttlSeconds: 10 });
      return forge(admin, { iss: HOST, iat: now(), exp: now() + 1000, actor_id: "admin", custom: ["/", 511], inherit: root });
    }, /cannot extend the expiration time/],
    ["a forged parent in a chain", () => {
      const fake = forge(RjwtActor.generate("admin"), { iss: HOST, iat: now(), exp: now() + 60, actor_id: "admin", custom: ["/", 511], inherit: null });
      return admin.extend(fake, { host: HOST, link: "/state", mask: USER_READ });
    }, /bad signature/],
    ["another header (EdDSA)", () => forge(admin, { iss: HOST, iat: now(), exp: now() + 60, actor_id: "admin", custom: ["/", 511], inherit: null }, { alg: "EdDSA", typ: "JWT" }), /unsupported bearer token type/],
    ["base64url parts", () => admin.sign({ host: HOST, link: "/state/app/~?>>>", mask: 511 }).replace(/\+/g, "-").replace(/\//g, "_").replace(/=/g, "") + "-_", /standard base64|unsupported|bad signature/],
    ["a claim that is not [link, mask]", () => forge(admin, { iss: HOST, iat: now(), exp: now() + 60, actor_id: "admin", custom: { link: "/" }, inherit: null }), /a claim is \[link, mask\]/],
    ["a mask out of range", () => forge(admin, { iss: HOST, iat: now(), exp: now() + 60, actor_id: "admin", custom: ["/", 4096], inherit: null }), /a claim is \[link, mask\]/],
    ["a chain too deep", () => {
      let t = admin.sign({ host: HOST, link: "/", mask: USER_READ });
      for (let i = 0; i < MAX_RJWT_DEPTH; i++) t = admin.extend(t, { host: HOST, link: "/", mask: USER_READ });
      return t;
    }, /deeper than|too long/],
    ["not a token at all", () => "a.b", /expected <header>.<payload>.<signature>/],
  ];
  it.each(refused)("refuses %s with an UnauthorizedError", async (_what, make, message) => {
    const token = make();
    const e = await verifyRjwt(token, resolve).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnauthorizedError);
    expect((e as Error).message).toMatch(message);
  });
});

describe("a served host with signed tokens", () => {
  let issuer: ServerHandle; // serves the public key of "ci"
  let srv: ServerHandle;
  let self: string;
  const ci = RjwtActor.generate("ci");
  const dirs: string[] = [];

  beforeAll(async () => {
    issuer = await serve({ tokens: parseTokenConfig({ tokens: [], rjwt: { actors: [{ id: "ci", publicKey: ci.publicKeyBase64() }] } }) });
    const probe = await serve({});
    self = probe.url.replace(/\/$/, "");
    await probe.close();
    // The second host trusts its own "admin" and every actor of the issuer (keys fetched from it).
    const config = parseTokenConfig({
      tokens: [],
      rjwt: { self: [self], actors: [{ id: "admin", publicKey: admin.publicKeyBase64() }], issuers: [{ host: issuer.url.replace(/\/$/, "") }] },
    });
    srv = await serve({ tokens: config, port: Number(new URL(self).port) });
    const seeded = await connect(social, embedded());
    await seeded.close();
  });
  afterAll(async () => {
    await srv?.close();
    await issuer?.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

  it("serves its actors' public keys at GET /host/public_key, without a token", async () => {
    const r = await raw(srv.url, "GET", `/host/public_key?key=${encodeURIComponent('"admin"')}`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toBe(admin.publicKeyBase64());
    expect((await raw(srv.url, "GET", `/host/public_key?key=${encodeURIComponent('"nobody"')}`)).status).toBe(404);
    expect((await raw(srv.url, "GET", "/host/public_key")).status).toBe(400);
    expect((await raw(srv.url, "PUT", `/host/public_key?key=${encodeURIComponent('"admin"')}`, { body: "1", headers: { "content-type": "application/json" } })).status).toBe(405);
  });

  it("grants a verified token exactly its claims: paths and verbs per claim", async () => {
    // Read and write on the namespace, nothing else.
    const token = admin.sign({ host: self, link: "/state/social", mask: USER_READ | USER_WRITE });
    const db = await connect(social, http(srv.url, { token: admin.sign({ host: self, link: "/", mask: 0o777 }) }));
    await db.sync();
    await db.close();
    const rw = await connect(social, http(srv.url, { token }));
    await rw.insertInto("users").values({ id: 1, name: "ada", age: 36, city: "paris" }).execute();
    expect(await rw.selectFrom("users").select(["name"]).execute()).toEqual([{ name: "ada" }]);
    await rw.close();
    // A POST needs execute; another path needs a claim on it.
    let r = await raw(srv.url, "POST", "/state/social/users", { ...bearer(token), body: "{}", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } });
    expect(r.status).toBe(403);
    expect(errorBody(r)?.message).toMatch(/admin@.* may not POST \(allowed: get, put, delete\)/);
    r = await raw(srv.url, "GET", "/state/other/t", bearer(token));
    expect(r.status).toBe(403);
    expect(errorBody(r)?.message).toMatch(/has no rights to \/state\/other\/t/);
    // A read-only claim on one table, as an absolute link on this host.
    const reader = admin.sign({ host: self, link: `${self}/state/social/users`, mask: USER_READ });
    expect((await raw(srv.url, "GET", "/state/social/users/count", bearer(reader))).status).toBe(200);
    expect((await raw(srv.url, "GET", "/state/social/posts/count", bearer(reader))).status).toBe(403);
    r = await raw(srv.url, "DELETE", "/state/social/users", bearer(reader));
    expect(r.status).toBe(403);
    // A claim on another host's link grants nothing here.
    const elsewhere = admin.sign({ host: self, link: "http://elsewhere:1/state/social", mask: 0o777 });
    expect((await raw(srv.url, "GET", "/state/social/users/count", bearer(elsewhere))).status).toBe(403);
  });

  it("verifies tokens of a trusted issuer with the key the issuer serves", async () => {
    const token = ci.sign({ host: issuer.url.replace(/\/$/, ""), link: "/state/social", mask: USER_READ });
    const r = await raw(srv.url, "GET", "/state/social/users/count", bearer(token));
    expect(r.status).toBe(200);
    // The issuer does not serve a key for this actor: refused.
    const ghost = RjwtActor.generate("ghost").sign({ host: issuer.url.replace(/\/$/, ""), link: "/", mask: 511 });
    const g = await raw(srv.url, "GET", "/state/social/users/count", bearer(ghost));
    expect(g.status).toBe(401);
    expect(errorBody(g)?.message).toMatch(/no public key for actor "ghost"/);
  });

  it("refuses forged, expired and untrusted tokens with 401", async () => {
    for (const token of [
      forge(RjwtActor.generate("admin"), { iss: self, iat: now(), exp: now() + 60, actor_id: "admin", custom: ["/", 511], inherit: null }),
      admin.sign({ host: self, link: "/", mask: 511, ttlSeconds: 1, now: Date.now() - 10_000 }),
      RjwtActor.generate("admin").sign({ host: "http://127.0.0.1:9", link: "/", mask: 511 }),
    ]) {
      const r = await raw(srv.url, "GET", "/state/social/users/count", bearer(token));
      expect(r.status).toBe(401);
      expect(r.text).not.toContain(token);
    }
  });

  it("the CLI makes a key and issues a token the host accepts (a chain for several claims)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rjwt-cli-"));
    dirs.push(dir);
    const key = join(dir, "ops.pem");
    const made = await cli(["token", "keygen", "--actor", "ops", "--out", key]);
    expect(made.code).toBe(0);
    const entry = JSON.parse(made.out) as { id: string; publicKey: string };
    expect(entry.id).toBe("ops");
    expect((await cli(["token", "keygen", "--actor", "ops", "--out", key])).err).toMatch(/exists/);
    const issued = await cli(["token", "issue", "--key", key, "--actor", "ops", "--host", self, "--claim", "/state/social/users=r", "--claim", "/state/social/posts=rw"]);
    expect(issued.code).toBe(0);
    const v = await verifyRjwt(issued.out.trim(), (h, a) => new Keyring([{ host: self, actor: "ops", publicKey: entry.publicKey }]).key(h, a));
    expect(v.claims.map((c) => [c.link, c.mask])).toEqual([["/state/social/posts", 0o600], ["/state/social/users", 0o400]]);
    const bad = await cli(["token", "issue", "--key", key, "--actor", "ops", "--host", self, "--claim", "/state=rq"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/the mode is letters r, w, x/);
  });
});
