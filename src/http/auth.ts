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
 * The server checks the request's own path here (failing fast, before the kernel's lock) and
 * hands the principal's `grant` to the kernel, which checks every link a call reaches as it runs
 * (src/kernel/ops/grant.ts): that check is the authority.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { BadRequestError, ForbiddenError, UnauthorizedError } from "../errors.js";
import type { Verb } from "../ir/types.js";

/** One entry of a token file. */
export interface TokenGrant {
  readonly token: string;
  readonly paths: readonly string[];
  readonly verbs?: readonly Verb[];
  readonly name?: string;
}

/** The parsed token file. */
export interface TokenConfig {
  readonly tokens: readonly TokenGrant[];
}

/**
 * What the kernel checks every link of a call against (the shape of the kernel's `Grant`):
 * paths and verbs, and the principal that owns the call's `/lib` installs.
 */
export interface ServedGrant {
  readonly paths: readonly string[];
  readonly verbs?: readonly Verb[];
  readonly principal?: string;
  readonly name?: string;
}

/** Who made a request: the owner of sessions and the subject of access checks. */
export interface Principal {
  /** A stable, non-secret identifier (a digest prefix, or the grant's name). */
  readonly id: string;
  readonly name: string;
  readonly paths: readonly (readonly string[])[];
  readonly verbs: ReadonlySet<Verb>;
  /** The grant the kernel checks each call of this principal against (one object per principal). */
  readonly grant: ServedGrant;
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
 * A stable owner id for a session when the host runs without a token file: the digest of the
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
  return { tokens: out };
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

/** Checks bearer tokens against a token configuration. */
export class TokenAuthority {
  readonly #byDigest = new Map<string, Principal>();

  constructor(config: TokenConfig) {
    config.tokens.forEach((grant, i) => {
      const d = digest(grant.token);
      const id = `p:${d.slice(0, 32)}`;
      const name = grant.name ?? `token #${i + 1}`;
      const verbs = grant.verbs ?? ALL_VERBS;
      this.#byDigest.set(d, {
        id,
        name,
        paths: grant.paths.map(splitPath),
        verbs: new Set(verbs),
        grant: { paths: [...grant.paths], verbs: [...verbs], principal: id, name },
      });
    });
  }

  /** The principal of an `Authorization` header; throws 401 when missing or unknown. */
  authenticate(header: string | undefined): Principal {
    const token = bearerToken(header);
    if (token === undefined) throw new UnauthorizedError("missing bearer token (Authorization: Bearer <token>)");
    const principal = this.#byDigest.get(digest(token));
    if (!principal) throw new UnauthorizedError("unknown bearer token");
    return principal;
  }

  /** Throws 403 unless `principal` may use `verb` on `segments`. */
  authorize(principal: Principal, verb: Verb, segments: readonly string[]): void {
    if (!principal.verbs.has(verb)) {
      throw new ForbiddenError(`${principal.name} may not ${verb.toUpperCase()} (allowed: ${[...principal.verbs].join(", ")})`);
    }
    if (!mayAccess(principal, segments)) {
      throw new ForbiddenError(`${principal.name} has no rights to /${segments.join("/")}`);
    }
  }
}

/**
 * Throws 403 unless `principal` may begin a session: a session holds the kernel's transaction
 * lock until it ends, so it needs a write verb (put, post or delete).
 */
export function authorizeSession(principal: Principal): void {
  if (!principal.verbs.has("put") && !principal.verbs.has("post") && !principal.verbs.has("delete")) {
    throw new ForbiddenError(`${principal.name} may not begin a session: a session needs a write grant (put, post or delete)`);
  }
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

/** True when one of `principal`'s granted paths is a segment-wise prefix of `segments`. */
export function mayAccess(principal: Principal, segments: readonly string[]): boolean {
  return principal.paths.some((grant) => grant.length <= segments.length && grant.every((s, i) => segments[i] === s));
}
