/**
 * Bearer-token authorization for the HTTP server (PROFILE §4 "Auth").
 *
 * Token file format (JSON):
 * ```json
 * {"tokens": [
 *   {"name": "app",    "token": "s3cret-app",    "paths": ["/state/social", "/lib"]},
 *   {"name": "reader", "token": "s3cret-reader", "paths": ["/state/social"], "verbs": ["get"]}
 * ]}
 * ```
 * A token grants access to each listed path and everything below it (segment-wise prefix:
 * `/state/social` covers `/state/social/users` but not `/state/socialite`); `"/"` grants
 * everything. `verbs` (optional, default all four) limits the HTTP verbs. `name` (optional) is the
 * principal's name in logs and error messages; the token itself never appears anywhere but in
 * memory, and only as a SHA-256 digest.
 *
 * Signed tokens: with an `"rjwt"` section, a bearer token in RJWT form (src/http/rjwt.ts) is
 * verified against the host's own actors and trusted issuers (src/http/keyring.ts) and grants
 * what its claims say — `[link, mask]`, read → GET, write → PUT and DELETE, execute → POST:
 * ```json
 * {"tokens": [],
 *  "rjwt": {"self": ["http://127.0.0.1:8702"],
 *           "actors": [{"id": "admin", "publicKey": "<base64 Ed25519 key>"}],
 *           "issuers": [{"host": "http://10.0.0.5:8702", "actor": "ci"}]}}
 * ```
 *
 * The server checks the request's own path here (failing fast, before the kernel's lock) and
 * hands the principal's `grant` to the kernel, which checks every link a call reaches as it runs
 * (src/kernel/ops/grant.ts): that check is the authority.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { BadRequestError, ForbiddenError, UnauthorizedError } from "../errors.js";
import type { Verb } from "../ir/types.js";
import { Keyring, type PublicKeyFetch, type TrustedIssuer } from "./keyring.js";
import { looksLikeRjwt, maskVerbs, publicKeyFromBase64, USER_EXEC, USER_WRITE, verifyRjwt, type RjwtClaim } from "./rjwt.js";

/** One entry of a token file. */
export interface TokenGrant {
  readonly token: string;
  readonly paths: readonly string[];
  readonly verbs?: readonly Verb[];
  readonly name?: string;
}

/** Signed (RJWT) tokens a host accepts. */
export interface RjwtConfig {
  /** The links this host is known by: its own actors sign with one of them as `iss`; absolute claim links on them apply here. */
  readonly self?: readonly string[];
  /** This host's actors: their public keys are served at `GET /host/public_key?key=<JSON actor id>`. */
  readonly actors?: readonly { readonly id: string; readonly publicKey: string }[];
  /** Other issuers whose tokens this host accepts. */
  readonly issuers?: readonly TrustedIssuer[];
}

/** The parsed token file. */
export interface TokenConfig {
  readonly tokens: readonly TokenGrant[];
  readonly rjwt?: RjwtConfig;
}

/**
 * What the kernel checks every link of a call against (the shape of the kernel's `Grant`):
 * paths and verbs, and the principal that owns the call's `/lib` installs.
 */
export interface ServedGrant {
  readonly paths: readonly string[];
  readonly verbs?: readonly Verb[];
  readonly claims?: readonly { readonly path: string; readonly verbs: readonly Verb[] }[];
  readonly principal?: string;
  readonly name?: string;
}

/** Who made a request: the owner of transactions and the subject of access checks. */
export interface Principal {
  /** A stable, non-secret identifier (a digest prefix, or the grant's name). */
  readonly id: string;
  readonly name: string;
  /** Each granted path (as segments) with its verbs. */
  readonly entries: readonly { readonly segments: readonly string[]; readonly verbs: ReadonlySet<Verb> }[];
  /** The grant the kernel checks each call of this principal against (one object per principal). */
  readonly grant: ServedGrant;
  /** A signed token's claims on transactions (`/txn/<id>` links), checked by `checkTxnClaims`. */
  readonly txnClaims?: readonly RjwtClaim[];
}

/**
 * The transaction claims of a token presented with `?txn_id=<id>`, as TinyChain checks them: no
 * claim on another transaction, at most one owner claim (execute) and one lock claim (write) on
 * this one, and a lock claim only beside an owner claim of the same host and actor. 401 otherwise.
 *
 * @example
 * ```ts
 * checkTxnClaims(principal.txnClaims ?? [], "1733…-1-ab…"); // throws UnauthorizedError when malformed
 * ```
 */
export function checkTxnClaims(claims: readonly RjwtClaim[], id: string): void {
  const link = `/txn/${id}`;
  let owner: RjwtClaim | undefined;
  let lock: RjwtClaim | undefined;
  for (const c of claims) {
    if (c.link !== link) throw new UnauthorizedError(`the bearer token holds a claim on another transaction (${quoteLink(c.link)})`);
    if ((c.mask & USER_EXEC) !== 0) {
      if (owner !== undefined) throw new UnauthorizedError(`the bearer token holds more than one owner claim on ${link}`);
      owner = c;
    }
    if ((c.mask & USER_WRITE) !== 0) {
      if (lock !== undefined) throw new UnauthorizedError(`the bearer token holds more than one lock claim on ${link}`);
      lock = c;
    }
  }
  if (lock !== undefined && (owner === undefined || owner.host !== lock.host || owner.actor !== lock.actor)) {
    throw new UnauthorizedError(`the lock claim on ${link} is not its owner's (the same host and actor)`);
  }
}

function quoteLink(link: string): string {
  return JSON.stringify(link.length > 100 ? `${link.slice(0, 100)}…` : link);
}

const ALL_VERBS: readonly Verb[] = ["get", "put", "post", "delete"];

function digest(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The bearer token of an `Authorization` header value, or `undefined` when absent/other scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m ? m[1] : undefined;
}

/**
 * A stable owner id for a transaction when the host runs without a token file: the digest of the
 * bearer token (so a continuation with another token is refused), or `"anonymous"`.
 */
export function anonymousOwner(header: string | undefined): string {
  const token = bearerToken(header);
  return token === undefined ? "anonymous" : `t:${digest(token).slice(0, 32)}`;
}

function splitPath(p: string): string[] {
  return p.split("/").filter((s) => s !== "");
}

/**
 * Validates a token file's parsed JSON.
 *
 * @example
 * ```ts
 * const cfg = parseTokenConfig({ tokens: [{ token: "t", paths: ["/lib"] }] });
 * ```
 */
export function parseTokenConfig(json: unknown): TokenConfig {
  const fail = (why: string): never => {
    throw new BadRequestError(`invalid token file: ${why}`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail('expected an object {"tokens": [...]}');
  const tokens = (json as { tokens?: unknown }).tokens;
  if (!Array.isArray(tokens)) fail('"tokens" must be an array');
  const seen = new Set<string>();
  const out: TokenGrant[] = [];
  (tokens as unknown[]).forEach((entry, i) => {
    if (typeof entry !== "object" || entry === null) fail(`tokens[${i}] must be an object`);
    const e = entry as Record<string, unknown>;
    if (typeof e.token !== "string" || e.token.length < 8 || /\s/.test(e.token)) {
      fail(`tokens[${i}].token must be a string of at least 8 non-space characters`);
    }
    const token = e.token as string;
    if (seen.has(token)) fail(`tokens[${i}] repeats an earlier token`);
    seen.add(token);
    if (!Array.isArray(e.paths) || !e.paths.every((p) => typeof p === "string" && p.startsWith("/"))) {
      fail(`tokens[${i}].paths must be an array of paths starting with '/'`);
    }
    let verbs: Verb[] | undefined;
    if (e.verbs !== undefined) {
      if (!Array.isArray(e.verbs) || !e.verbs.every((v) => typeof v === "string" && ALL_VERBS.includes(v.toLowerCase() as Verb))) {
        fail(`tokens[${i}].verbs must be an array of "get", "put", "post", "delete"`);
      }
      verbs = (e.verbs as string[]).map((v) => v.toLowerCase() as Verb);
    }
    if (e.name !== undefined && (typeof e.name !== "string" || !/^[\w.-]{1,64}$/.test(e.name))) {
      fail(`tokens[${i}].name must be a short word`);
    }
    out.push({ token, paths: e.paths as string[], ...(verbs ? { verbs } : {}), ...(e.name ? { name: e.name as string } : {}) });
  });
  const rjwt = (json as { rjwt?: unknown }).rjwt;
  if (rjwt === undefined) return { tokens: out };
  return { tokens: out, rjwt: parseRjwtConfig(rjwt, fail) };
}

function parseRjwtConfig(json: unknown, fail: (why: string) => never): RjwtConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail('"rjwt" must be an object {self?, actors?, issuers?}');
  const r = json as Record<string, unknown>;
  const link = (x: unknown): x is string => typeof x === "string" && /^https?:\/\/[^/\s]+$/.test(x);
  if (r.self !== undefined && (!Array.isArray(r.self) || !r.self.every(link))) fail('"rjwt.self" must be an array of host links (http://host:port)');
  const key = (x: unknown): boolean => {
    try {
      publicKeyFromBase64(x as string);
      return true;
    } catch {
      return false;
    }
  };
  const actors = r.actors ?? [];
  if (!Array.isArray(actors)) fail('"rjwt.actors" must be an array');
  (actors as unknown[]).forEach((a, i) => {
    const e = a as Record<string, unknown> | null;
    if (typeof e?.id !== "string" || e.id.length === 0 || !key(e.publicKey)) fail(`rjwt.actors[${i}] must be {id, publicKey: base64 Ed25519 key}`);
  });
  const issuers = r.issuers ?? [];
  if (!Array.isArray(issuers)) fail('"rjwt.issuers" must be an array');
  (issuers as unknown[]).forEach((a, i) => {
    const e = a as Record<string, unknown> | null;
    if (!link(e?.host)) fail(`rjwt.issuers[${i}].host must be a host link (http://host:port)`);
    if (e!.actor !== undefined && (typeof e!.actor !== "string" || e!.actor.length === 0)) fail(`rjwt.issuers[${i}].actor must be a non-empty string`);
    if (e!.publicKey !== undefined && (e!.actor === undefined || !key(e!.publicKey))) fail(`rjwt.issuers[${i}].publicKey must be a base64 Ed25519 key of a named actor`);
  });
  return {
    ...(r.self !== undefined ? { self: r.self as string[] } : {}),
    actors: actors as { id: string; publicKey: string }[],
    issuers: issuers as TrustedIssuer[],
  };
}

/** Reads and validates a token file (see the module docs for the format). */
export async function loadTokenFile(file: string): Promise<TokenConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new BadRequestError(`cannot read token file ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BadRequestError(`token file ${JSON.stringify(file)} is not valid JSON`);
  }
  return parseTokenConfig(json);
}

/** Verified signed tokens kept (by digest) until they expire; at most this many. */
const RJWT_CACHE = 1024;

/** Checks bearer tokens against a token configuration. */
export class TokenAuthority {
  readonly #byDigest = new Map<string, Principal>();
  readonly #keyring: Keyring | undefined;
  readonly #self: ReadonlySet<string>;
  /** This host's actors' public keys, by actor id (served at `GET /host/public_key`). */
  readonly publicKeys: ReadonlyMap<string, string>;
  readonly #verified = new Map<string, { principal: Principal; exp: number }>();

  constructor(config: TokenConfig, fetchKey?: PublicKeyFetch) {
    config.tokens.forEach((grant, i) => {
      const d = digest(grant.token);
      const id = `p:${d.slice(0, 32)}`;
      const name = grant.name ?? `token #${i + 1}`;
      const verbs = grant.verbs ?? ALL_VERBS;
      this.#byDigest.set(d, {
        id,
        name,
        entries: grant.paths.map((p) => ({ segments: splitPath(p), verbs: new Set(verbs) })),
        grant: { paths: [...grant.paths], verbs: [...verbs], principal: id, name },
      });
    });
    const rjwt = config.rjwt;
    this.#self = new Set(rjwt?.self ?? []);
    this.publicKeys = new Map((rjwt?.actors ?? []).map((a) => [a.id, a.publicKey]));
    if (rjwt) {
      const own: TrustedIssuer[] = [];
      for (const host of this.#self) for (const a of rjwt.actors ?? []) own.push({ host, actor: a.id, publicKey: a.publicKey });
      this.#keyring = new Keyring([...own, ...(rjwt.issuers ?? [])], fetchKey);
    }
  }

  /**
   * Trusts the tokens `issuer` signs (the served kernel's own actor, which signs the owner tokens
   * of the transactions it begins): only on a host that accepts signed tokens at all.
   */
  trust(issuer: { readonly host: string; readonly actor: string; readonly publicKey: string }): void {
    this.#keyring?.add(issuer.host, issuer.actor, issuer.publicKey);
  }

  /**
   * The principal of an `Authorization` header; throws 401 when missing or unknown. A signed
   * token is verified (its issuers' keys may have to be fetched: then the answer is a promise).
   */
  authenticate(header: string | undefined): Principal | Promise<Principal> {
    const token = bearerToken(header);
    if (token === undefined) throw new UnauthorizedError("missing bearer token (Authorization: Bearer <token>)");
    const d = digest(token);
    const principal = this.#byDigest.get(d);
    if (principal) return principal;
    if (this.#keyring && looksLikeRjwt(token)) {
      const hit = this.#verified.get(d);
      if (hit && Date.now() / 1000 < hit.exp) return hit.principal;
      const keyring = this.#keyring;
      return verifyRjwt(token, (host, actor) => keyring.key(host, actor)).then(({ claims, exp }) => {
        const p = this.#claimsPrincipal(claims);
        if (this.#verified.size >= RJWT_CACHE) this.#verified.delete(this.#verified.keys().next().value!);
        this.#verified.set(d, { principal: p, exp });
        return p;
      });
    }
    throw new UnauthorizedError("unknown bearer token");
  }

  /** The principal of a verified chain: its first signer, granted each claim on this host. */
  #claimsPrincipal(claims: readonly RjwtClaim[]): Principal {
    const root = claims[claims.length - 1]!;
    const id = `r:${digest(`${root.host}\u0000${root.actor}`).slice(0, 32)}`;
    const name = `${root.actor}@${root.host}`;
    const grants: { path: string; verbs: Verb[] }[] = [];
    for (const c of claims) {
      const path = this.#localPath(c.link);
      const verbs = maskVerbs(c.mask);
      if (path !== undefined && verbs.length > 0) grants.push({ path, verbs });
    }
    const txnClaims = claims.filter((c) => c.link.startsWith("/txn/"));
    return {
      id,
      name,
      entries: grants.map((g) => ({ segments: splitPath(g.path), verbs: new Set(g.verbs) })),
      grant: { paths: [], claims: grants, principal: id, name },
      ...(txnClaims.length > 0 ? { txnClaims } : {}),
    };
  }

  /** A claim's link as a path on this host: a path as it is; an absolute link only when it names this host. */
  #localPath(link: string): string | undefined {
    if (link.startsWith("/")) return link;
    const m = /^(https?:\/\/[^/]+)(\/.*)?$/.exec(link);
    if (!m || !this.#self.has(m[1]!)) return undefined;
    return m[2] ?? "/";
  }

  /** Throws 403 unless `principal` may use `verb` on `segments`. */
  authorize(principal: Principal, verb: Verb, segments: readonly string[]): void {
    if (mayAccess(principal, segments, verb)) return;
    if (mayAccess(principal, segments)) {
      const allowed = new Set<Verb>();
      for (const e of principal.entries) if (covers(e.segments, segments)) e.verbs.forEach((v) => allowed.add(v));
      throw new ForbiddenError(`${principal.name} may not ${verb.toUpperCase()} (allowed: ${[...allowed].join(", ")})`);
    }
    throw new ForbiddenError(`${principal.name} has no rights to /${segments.join("/")}`);
  }
}

function covers(grant: readonly string[], segments: readonly string[]): boolean {
  return grant.length <= segments.length && grant.every((s, i) => segments[i] === s);
}

/** A content-addressed library version, `0.0.0-q<64 hex>` (the kernel verifies its content at install: src/kernel/ops/library.ts). */
const CONTENT_ADDRESSED = /^0\.0\.0-q[0-9a-f]{64}$/;

/**
 * True when only the kernel can decide on a request: an install (`PUT /lib`: a verified
 * content-addressed version needs no grant on `/lib`), or a call on a content-addressed version
 * (it needs no grant itself; what it reaches is checked as it runs).
 */
export function kernelDecides(verb: Verb, segments: readonly string[]): boolean {
  if (segments[0] !== "lib") return false;
  if (segments.length === 1) return verb === "put";
  return segments.length >= 4 && CONTENT_ADDRESSED.test(segments[3]!);
}

/** True when one of `principal`'s granted paths (with `verb`, when given) is a segment-wise prefix of `segments`. */
export function mayAccess(principal: Principal, segments: readonly string[], verb?: Verb): boolean {
  return principal.entries.some((e) => (verb === undefined || e.verbs.has(verb)) && covers(e.segments, segments));
}
