/**
 * Signed tokens under fuzz (PROFILE §4 "Signed tokens"): a served host that checks RJWTs gets
 * tokens made from a valid one by random damage — a character of its header or payload changed,
 * its signature changed, the token cut short, its claims widened or its times moved without a
 * new signature, the same claims signed by a key the host does not trust (under the trusted
 * actor's name or another), out of its time window, a trusted chain extended by an untrusted
 * actor, a parent that is not a token — sent alone and with a transaction id. Each is refused
 * with 401 and a JSON error before anything runs, never a 5xx; the valid token still reads (200)
 * and is refused a write outside its claims (403); no row is ever written.
 */
import { createPrivateKey, sign } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTokenConfig, serve, type ServerHandle } from "../../src/http/index.js";
import { RjwtActor, USER_READ } from "../../src/http/rjwt.js";
import { errorBody, raw } from "./raw.js";

const SELF = "http://fuzz-host";
const admin = RjwtActor.generate("admin");
const reader = RjwtActor.generate("reader");
const mallory = RjwtActor.generate("mallory");
const TABLE = "/state/fz/t";
const SCHEMA = { "/state/collection/table": [[[[["k", "/state/scalar/value/number/uint/64"]], [["v", "/state/scalar/value/string", 16]]], []], [[1, "one"]]] };
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Signs `payload` as `actor` whatever it claims (for tokens the API refuses to make). */
function forge(actor: RjwtActor, payload: unknown): string {
  const header = Buffer.from(JSON.stringify({ alg: "ES256", typ: "JWT" })).toString("base64");
  const message = `${header}.${Buffer.from(JSON.stringify(payload)).toString("base64")}`;
  return `${message}.${sign(null, Buffer.from(message), createPrivateKey(actor.privateKeyPem())).toString("base64")}`;
}

const payloadOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split(".")[1]!, "base64").toString("utf8")) as Record<string, unknown>;
const withPayload = (token: string, payload: unknown): string => {
  const [h, , s] = token.split(".");
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64")}.${s}`;
};
const now = (): number => Math.floor(Date.now() / 1000);

/** A damaged token made from `valid`: never one the host may accept. */
const damagedArb = (valid: string): fc.Arbitrary<{ what: string; token: string }> => {
  const parts = valid.split(".") as [string, string, string];
  // A changed character of the header or payload changes the signed text; of the signature, its
  // bytes (the last two characters may carry padding bits only, so they are left alone).
  const charFlip = fc
    .record({ part: fc.integer({ min: 0, max: 2 }), at: fc.nat(), ch: fc.constantFrom(...B64, "-", "_", "=", "!", " ", ".") })
    .map(({ part, at, ch }) => {
      const text = parts[part]!;
      const i = at % (part === 2 ? text.length - 2 : text.length);
      const next = text[i] === ch ? (ch === "A" ? "B" : "A") : ch;
      const copy = [...parts];
      copy[part] = text.slice(0, i) + next + text.slice(i + 1);
      return { what: `part ${part} char ${i} → ${JSON.stringify(next)}`, token: copy.join(".") };
    });
  const cut = fc.integer({ min: 0, max: valid.length - 1 }).map((n) => ({ what: `cut to ${n}`, token: valid.slice(0, n) }));
  const widened = fc
    .record({
      link: fc.constantFrom("/", "/state", TABLE, "/lib", "/txn/1"),
      mask: fc.integer({ min: 0, max: 0o777 }),
      exp: fc.integer({ min: -10, max: 1e6 }),
      iss: fc.constantFrom(SELF, "http://elsewhere"),
      actor: fc.constantFrom("reader", "admin", "mallory"),
    })
    .map(({ link, mask, exp, iss, actor }) => {
      const p = payloadOf(valid);
      return { what: "claims changed, signature kept", token: withPayload(valid, { ...p, custom: [link, mask], exp: (p.exp as number) + exp, iss, actor_id: actor }) };
    })
    .filter(({ token }) => token !== valid);
  const untrusted = fc
    .record({ as: fc.constantFrom("reader", "admin", "mallory"), link: fc.constantFrom("/", TABLE), mask: fc.integer({ min: 0, max: 0o777 }) })
    .map(({ as, link, mask }) => ({
      what: `signed by an untrusted key as ${as}`,
      token: forge(mallory, { iss: SELF, iat: now() - 5, exp: now() + 3600, actor_id: as, custom: [link, mask], inherit: null }),
    }));
  const outOfTime = fc
    .oneof(fc.integer({ min: -1e6, max: -1 }), fc.integer({ min: 60, max: 1e6 }))
    .map((shift) => ({
      what: shift < 0 ? "expired" : "not yet valid",
      token: shift < 0 ? reader.sign({ host: SELF, link: TABLE, mask: USER_READ, ttlSeconds: 1, now: (now() + shift - 2) * 1000 }) : reader.sign({ host: SELF, link: TABLE, mask: USER_READ, now: (now() + shift) * 1000 }),
    }));
  const chained = fc.constantFrom("/", TABLE, "/txn/1").map((link) => ({ what: `extended by an untrusted actor (${link})`, token: mallory.extend(valid, { host: SELF, link, mask: 0o777 }) }));
  const badParent = fc
    .oneof(fc.string({ maxLength: 40 }), fc.constant(valid.slice(0, -3)), fc.constant(`${valid}.x`))
    .map((inherit) => ({
      what: "a parent that is not a token",
      token: forge(reader, { iss: SELF, iat: now() - 5, exp: now() + 3600, actor_id: "reader", custom: [TABLE, USER_READ], inherit }),
    }));
  return fc.oneof(charFlip, cut, widened, untrusted, outOfTime, chained, badParent);
};

describe("signed tokens under fuzz", () => {
  let host: ServerHandle;
  let valid: string;
  let adminToken: string;

  beforeAll(async () => {
    host = await serve({
      tokens: parseTokenConfig({
        tokens: [],
        rjwt: { self: [SELF], actors: [{ id: "admin", publicKey: admin.publicKeyBase64() }, { id: "reader", publicKey: reader.publicKeyBase64() }] },
      }),
    });
    adminToken = admin.sign({ host: SELF, link: "/", mask: 0o777 });
    const made = await raw(host.url, "PUT", TABLE, { headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" }, body: JSON.stringify(SCHEMA) });
    expect(made.status, made.text).toBeLessThan(300);
    valid = reader.sign({ host: SELF, link: TABLE, mask: USER_READ });
  });
  afterAll(async () => {
    await host?.close();
  });

  it("the valid token reads, and is refused a write outside its claims", async () => {
    expect((await raw(host.url, "GET", TABLE, { headers: { authorization: `Bearer ${valid}` } })).status).toBe(200);
    const write = await raw(host.url, "PUT", `${TABLE}/insert_rows`, { headers: { authorization: `Bearer ${valid}`, "content-type": "application/json" }, body: "[[2, \"two\"]]" });
    expect(write.status).toBe(403);
  });

  it("refuses every damaged token with 401, alone and with a transaction id, and writes nothing", async () => {
    await fc.assert(
      fc.asyncProperty(damagedArb(valid), fc.boolean(), async ({ what, token }, withTxn) => {
        const txn = withTxn ? `?txn_id=${BigInt(Date.now()) * 1_000_000n}-7-${"ab".repeat(32)}` : "";
        for (const [method, path, body] of [
          ["GET", `${TABLE}${txn}`, undefined],
          ["PUT", `${TABLE}/insert_rows${txn}`, '[[9, "nine"]]'],
        ] as const) {
          const r = await raw(host.url, method, path, {
            headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
            ...(body ? { body } : {}),
          });
          expect(r.status, `${what}: ${method} ${path} answered ${r.status} ${r.text.slice(0, 200)}`).toBe(401);
          expect(errorBody(r)?.kind, what).toBe("unauthorized");
        }
      }),
      { numRuns: 150 },
    );
    const rows = await raw(host.url, "GET", TABLE, { headers: { authorization: `Bearer ${adminToken}` } });
    expect((rows.json as Record<string, [unknown, unknown[]]>)["/state/collection/table"]![1]).toEqual([[1, "one"]]);
  });
});
