/**
 * RJWT bearer tokens (TinyChain's recursive JWTs, the `rjwt` crate's wire format), signed with
 * Ed25519 by `node:crypto`:
 *
 * - a token is `<header>.<payload>.<signature>`, each part **standard** base64 (with padding, not
 *   base64url), the header exactly `{"alg":"ES256","typ":"JWT"}` (the crate's fixed header, although
 *   it signs with Ed25519), the signature Ed25519 over the ASCII text `<header>.<payload>`;
 * - the payload is `{iss, iat, exp, actor_id, custom, inherit}`: the issuing host (a link), issue
 *   and expiry times in whole seconds since the epoch, the actor that signed it, its claim, and
 *   `inherit` — the token it extends (the whole signed text of the parent), or null;
 * - this profile's claim (`custom`) is one `[link, mask]` pair, as TinyChain's transaction claims
 *   are encoded (`["/lib/service", 511]`): a path (or an absolute link) and umask bits —
 *   read 0o400, write 0o200, execute 0o100 (other bits ignored);
 * - verifying walks the chain: every token's signature is checked against its (host, actor)'s
 *   public key, none may be expired or issued in the future, and a child may not outlive its
 *   parent. The claims of the chain are returned newest first.
 *
 * Chaining ("consume"): a host that makes a call on behalf of a token signs a new token whose
 * `inherit` is the caller's token, adding its own claim (`extendRjwt`).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { UnauthorizedError } from "./errors.js";

/** The umask bits of a claim. */
export const USER_READ = 0o400;
export const USER_WRITE = 0o200;
export const USER_EXEC = 0o100;
export const ALL_MODES = 0o777;

/** The claim mode of each verb: read for GET, write for PUT and DELETE, execute for POST. */
export const VERB_MASK: Readonly<Record<"get" | "put" | "delete" | "post", number>> = { get: USER_READ, put: USER_WRITE, delete: USER_WRITE, post: USER_EXEC };

/**
 * The verbs a claim's umask bits grant (the inverse of `VERB_MASK`).
 *
 * @example
 * ```ts
 * maskVerbs(USER_READ | USER_EXEC); // ["get", "post"]
 * ```
 */
export function maskVerbs(mask: number): ("get" | "put" | "delete" | "post")[] {
  const verbs: ("get" | "put" | "delete" | "post")[] = [];
  if (mask & USER_READ) verbs.push("get");
  if (mask & USER_WRITE) verbs.push("put", "delete");
  if (mask & USER_EXEC) verbs.push("post");
  return verbs;
}

/** The longest token text accepted (a chain of 16 small tokens fits many times over). */
export const MAX_RJWT_BYTES = 64 * 1024;
/** The deepest chain accepted. */
export const MAX_RJWT_DEPTH = 16;

const HEADER = Buffer.from(JSON.stringify({ alg: "ES256", typ: "JWT" })).toString("base64");

/** One claim of a verified token: who signed it (`host`, `actor`) and what it grants. */
export interface RjwtClaim {
  readonly host: string;
  readonly actor: string;
  readonly link: string;
  readonly mask: number;
}

/** A verified token: its claims (newest first) and its expiry (seconds since the epoch). */
export interface VerifiedRjwt {
  readonly claims: readonly RjwtClaim[];
  readonly exp: number;
}

/** Finds the public key of `actor` at `host`; throws (or rejects) when it is not trusted. */
export type RjwtKeyResolver = (host: string, actor: string) => KeyObject | Promise<KeyObject>;

/**
 * An actor with an Ed25519 key pair (or only its public key): signs tokens, serves its public key.
 *
 * @example
 * ```ts
 * const admin = RjwtActor.generate("admin");
 * const token = admin.sign({ host: "http://127.0.0.1:8702", link: "/state/app", mask: USER_READ });
 * ```
 */
export class RjwtActor {
  private constructor(
    readonly id: string,
    readonly publicKey: KeyObject,
    private readonly privateKey: KeyObject | undefined,
  ) {}

  /** A new actor with a fresh key pair. */
  static generate(id: string): RjwtActor {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    return new RjwtActor(checkActorId(id), publicKey, privateKey);
  }

  /** An actor from a PKCS#8 PEM private key (e.g. written by `tinychain-orm token keygen`). */
  static fromPrivateKeyPem(id: string, pem: string): RjwtActor {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(pem);
    } catch {
      throw new UnauthorizedError("not a PEM private key");
    }
    if (privateKey.asymmetricKeyType !== "ed25519") throw new UnauthorizedError(`an RJWT key must be Ed25519, not ${privateKey.asymmetricKeyType}`);
    return new RjwtActor(checkActorId(id), createPublicKey(privateKey), privateKey);
  }

  /** An actor known by its public key only (raw 32 bytes, standard base64), to verify its tokens. */
  static fromPublicKey(id: string, base64: string): RjwtActor {
    return new RjwtActor(checkActorId(id), publicKeyFromBase64(base64), undefined);
  }

  /** The public key as TinyChain serves it (`GET /host/public_key`): the raw 32 bytes, standard base64. */
  publicKeyBase64(): string {
    const jwk = this.publicKey.export({ format: "jwk" });
    return Buffer.from(jwk.x!, "base64url").toString("base64");
  }

  /** The private key as PKCS#8 PEM. */
  privateKeyPem(): string {
    if (!this.privateKey) throw new UnauthorizedError(`actor ${JSON.stringify(this.id)} has no private key`);
    return this.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  }

  /**
   * Signs a new token (no parent) for this actor at `host`, granting `mask` on `link`, valid for
   * `ttlSeconds` (default one hour) from `now` (ms since the epoch, default the clock).
   */
  sign(opts: { host: string; link: string; mask: number; ttlSeconds?: number; now?: number }): string {
    const iat = Math.floor((opts.now ?? Date.now()) / 1000);
    const exp = iat + (opts.ttlSeconds ?? 3600);
    return this.signPayload({ iss: opts.host, iat, exp, actor_id: this.id, custom: [opts.link, opts.mask], inherit: null });
  }

  /**
   * Signs a token extending `parent` (its claims stay, this actor's claim is added); it expires
   * with its parent. The parent is not verified here: the host that receives the chain does.
   */
  extend(parent: string, opts: { host: string; link: string; mask: number; now?: number }): string {
    const parentExp = decodePayload(parent).exp;
    const iat = Math.floor((opts.now ?? Date.now()) / 1000);
    return this.signPayload({ iss: opts.host, iat, exp: parentExp, actor_id: this.id, custom: [opts.link, opts.mask], inherit: parent });
  }

  private signPayload(payload: RjwtPayload): string {
    if (!this.privateKey) throw new UnauthorizedError(`actor ${JSON.stringify(this.id)} has no private key: it cannot sign tokens`);
    checkClaim(payload.custom);
    const body = Buffer.from(JSON.stringify(payload)).toString("base64");
    const message = `${HEADER}.${body}`;
    const signature = sign(null, Buffer.from(message), this.privateKey).toString("base64");
    return `${message}.${signature}`;
  }
}

interface RjwtPayload {
  iss: string;
  iat: number;
  exp: number;
  actor_id: string;
  custom: [string, number];
  inherit: string | null;
}

function checkActorId(id: string): string {
  if (typeof id !== "string" || id.length === 0 || id.length > 256) throw new UnauthorizedError("an actor id is a non-empty string of at most 256 characters");
  return id;
}

function checkClaim(claim: unknown): asserts claim is [string, number] {
  if (
    !Array.isArray(claim) ||
    claim.length !== 2 ||
    typeof claim[0] !== "string" ||
    claim[0].length === 0 ||
    !Number.isInteger(claim[1]) ||
    (claim[1] as number) < 0 ||
    (claim[1] as number) > ALL_MODES
  ) {
    throw new UnauthorizedError("invalid bearer token: a claim is [link, mask] with a mask in 0..0o777");
  }
}

/** A raw 32-byte Ed25519 public key (standard base64) as a key object. */
export function publicKeyFromBase64(base64: string): KeyObject {
  const raw = typeof base64 === "string" && /^[A-Za-z0-9+/]{43}=$/.test(base64) ? Buffer.from(base64, "base64") : undefined;
  if (!raw || raw.length !== 32) throw new UnauthorizedError("an Ed25519 public key is 32 bytes in standard base64");
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function part(text: string, what: string): Buffer {
  if (!B64.test(text) || text.length % 4 !== 0) throw new UnauthorizedError(`invalid bearer token: the ${what} is not standard base64`);
  return Buffer.from(text, "base64");
}

/** The parts of a token, its header checked, its payload parsed and shape-checked (not verified). */
function split(token: string): { message: string; signature: Buffer; payload: RjwtPayload } {
  if (typeof token !== "string" || token.length > MAX_RJWT_BYTES) throw new UnauthorizedError("invalid bearer token: too long");
  const dots = token.split(".");
  if (dots.length !== 3) throw new UnauthorizedError("invalid bearer token: expected <header>.<payload>.<signature>");
  const [header, body, sig] = dots as [string, string, string];
  if (header !== HEADER) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(part(header, "header").toString("utf8"));
    } catch {
      throw new UnauthorizedError("invalid bearer token: unreadable header");
    }
    const h = parsed as { alg?: unknown; typ?: unknown };
    if (h?.alg !== "ES256" || h?.typ !== "JWT" || Object.keys(h).length !== 2) {
      throw new UnauthorizedError(`unsupported bearer token type: ${JSON.stringify(parsed)}`);
    }
  }
  return { message: `${header}.${body}`, signature: part(sig, "signature"), payload: decodePayload(token) };
}

function decodePayload(token: string): RjwtPayload {
  const body = typeof token === "string" ? token.split(".")[1] : undefined;
  if (body === undefined) throw new UnauthorizedError("invalid bearer token: expected <header>.<payload>.<signature>");
  let p: unknown;
  try {
    p = JSON.parse(part(body, "payload").toString("utf8"));
  } catch (e) {
    if (e instanceof UnauthorizedError) throw e;
    throw new UnauthorizedError("invalid bearer token: the payload is not JSON");
  }
  const t = p as Partial<RjwtPayload> | null;
  const ok =
    t !== null &&
    typeof t === "object" &&
    typeof t.iss === "string" &&
    Number.isSafeInteger(t.iat) &&
    Number.isSafeInteger(t.exp) &&
    typeof t.actor_id === "string" &&
    (t.inherit === null || t.inherit === undefined || typeof t.inherit === "string");
  if (!ok) throw new UnauthorizedError("invalid bearer token: the payload needs iss, iat, exp, actor_id, custom, inherit");
  checkClaim(t!.custom);
  return { ...(t as RjwtPayload), inherit: t!.inherit ?? null };
}

/** True when `token` has the shape of an RJWT (three base64 parts), so it should be verified as one. */
export function looksLikeRjwt(token: string): boolean {
  const dots = token.split(".");
  return dots.length === 3 && dots[0] === HEADER;
}

/**
 * Verifies a token and its whole chain at `now` (ms since the epoch, default the clock): each
 * signature against the key `resolve` gives for its (host, actor), times, and the chain's
 * expiries. Throws `UnauthorizedError` naming the problem.
 *
 * @example
 * ```ts
 * const { claims } = await verifyRjwt(token, (host, actor) => keyring.key(host, actor));
 * ```
 */
export async function verifyRjwt(token: string, resolve: RjwtKeyResolver, now = Date.now()): Promise<VerifiedRjwt> {
  if (typeof token !== "string" || token.length > MAX_RJWT_BYTES) throw new UnauthorizedError("invalid bearer token: too long");
  const claims: RjwtClaim[] = [];
  const seconds = now / 1000;
  let text: string | null = token;
  let childExp = -Infinity;
  let exp = Infinity;
  for (let depth = 0; text !== null; depth++) {
    if (depth >= MAX_RJWT_DEPTH) throw new UnauthorizedError(`invalid bearer token: a chain deeper than ${MAX_RJWT_DEPTH}`);
    const { message, signature, payload } = split(text);
    if (seconds < payload.iat || seconds >= payload.exp) throw new UnauthorizedError("bearer token is expired (or not yet valid)");
    if (childExp > payload.exp) {
      // The child (checked before) outlives this parent.
      throw new UnauthorizedError("invalid bearer token: cannot extend the expiration time of a recursive token");
    }
    const key = await resolve(payload.iss, payload.actor_id);
    let good = false;
    try {
      good = verify(null, Buffer.from(message), key, signature);
    } catch {
      good = false;
    }
    if (!good) throw new UnauthorizedError(`invalid bearer token: bad signature for actor ${JSON.stringify(payload.actor_id)} at ${payload.iss}`);
    claims.push({ host: payload.iss, actor: payload.actor_id, link: payload.custom[0], mask: payload.custom[1] });
    if (depth === 0) exp = payload.exp;
    childExp = payload.exp;
    text = payload.inherit;
  }
  return { claims, exp };
}

/**
 * True when `token`'s chain holds a link signed by `actor` at `host` (checked against `key`)
 * whose claim is on `link` with every bit of `mask`, valid at `now` (ms). The other links are not
 * verified: a link's signature covers the whole chain it extends, so only the holder of that
 * signed link can present it.
 *
 * @example
 * ```ts
 * holdsSignedClaim(token, { host: "http://a:8702", actor: "host", key, link: "/txn/1-2-ab…", mask: USER_EXEC });
 * ```
 */
export function holdsSignedClaim(
  token: string,
  want: { readonly host: string; readonly actor: string; readonly key: KeyObject; readonly link: string; readonly mask: number },
  now = Date.now(),
): boolean {
  if (typeof token !== "string" || token.length > MAX_RJWT_BYTES) return false;
  const seconds = now / 1000;
  let text: string | null = token;
  try {
    for (let depth = 0; text !== null && depth < MAX_RJWT_DEPTH; depth++) {
      const { message, signature, payload } = split(text);
      if (payload.iss === want.host && payload.actor_id === want.actor && payload.custom[0] === want.link && (payload.custom[1] & want.mask) === want.mask) {
        return seconds >= payload.iat && seconds < payload.exp && verify(null, Buffer.from(message), want.key, signature);
      }
      text = payload.inherit;
    }
  } catch {
    return false;
  }
  return false;
}
