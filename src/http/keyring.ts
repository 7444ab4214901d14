/**
 * Where a host finds the public keys that verify RJWT bearer tokens (src/http/rjwt.ts): its own
 * actors (whose keys it also serves at `GET /host/public_key`), and issuers it trusts — with a
 * key given in its configuration, or fetched once from the issuer's own `GET /host/public_key`.
 *
 * Default-deny: a token whose (host, actor) is not listed here is refused, whatever host its
 * `iss` names — a token cannot tell a host where to find the key that verifies it.
 */
import type { KeyObject } from "node:crypto";
import { UnauthorizedError } from "../errors.js";
import { publicKeyFromBase64 } from "./rjwt.js";

/** An issuer a host trusts: one actor, or every actor (`actor` omitted) of `host`. */
export interface TrustedIssuer {
  /** The issuer's host link, as tokens name it in `iss` (e.g. `http://127.0.0.1:8702`). */
  readonly host: string;
  readonly actor?: string;
  /** The actor's Ed25519 public key (raw 32 bytes, standard base64); absent: fetched from the host. */
  readonly publicKey?: string;
}

/** How a key is fetched from an issuer: `GET <host>/host/public_key?key=<JSON actor id>` → a JSON string. */
export type PublicKeyFetch = (host: string, actor: string) => Promise<string>;

/** The timeout of one public-key fetch. */
export const PUBLIC_KEY_FETCH_MS = 2000;

/** Fetches an actor's public key from its host over HTTP (the global `fetch`). */
export const fetchPublicKey: PublicKeyFetch = async (host, actor) => {
  const url = `${host.replace(/\/+$/, "")}/host/public_key?key=${encodeURIComponent(JSON.stringify(actor))}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(PUBLIC_KEY_FETCH_MS) });
  } catch (e) {
    throw new UnauthorizedError(`cannot fetch the public key of ${JSON.stringify(actor)} from ${host}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new UnauthorizedError(`${host} has no public key for actor ${JSON.stringify(actor)} (HTTP ${res.status})`);
  const body: unknown = await res.json().catch(() => undefined);
  if (typeof body !== "string") throw new UnauthorizedError(`${host}/host/public_key did not answer a JSON string`);
  return body;
};

/**
 * The trusted keys of a host.
 *
 * @example
 * ```ts
 * const ring = new Keyring([{ host: "http://a:8702", actor: "admin", publicKey: "…base64…" }]);
 * const key = await ring.key("http://a:8702", "admin");
 * ```
 */
export class Keyring {
  readonly #keys = new Map<string, KeyObject | Promise<KeyObject>>();
  readonly #hosts = new Set<string>();
  readonly #actors = new Set<string>();

  constructor(
    issuers: readonly TrustedIssuer[],
    private readonly fetchKey: PublicKeyFetch = fetchPublicKey,
  ) {
    for (const issuer of issuers) {
      if (typeof issuer?.host !== "string" || issuer.host.length === 0) throw new UnauthorizedError("a trusted issuer needs a host");
      if (issuer.actor === undefined) {
        if (issuer.publicKey !== undefined) throw new UnauthorizedError(`trusted issuer ${issuer.host}: a public key needs its actor`);
        this.#hosts.add(issuer.host);
        continue;
      }
      const id = slot(issuer.host, issuer.actor);
      this.#actors.add(id);
      if (issuer.publicKey !== undefined) this.#keys.set(id, publicKeyFromBase64(issuer.publicKey));
    }
  }

  /** Trusts one more actor, with its key (the host's own transaction actor, once it is served). */
  add(host: string, actor: string, publicKey: string): void {
    const id = slot(host, actor);
    this.#actors.add(id);
    this.#keys.set(id, publicKeyFromBase64(publicKey));
  }

  /** The key of `actor` at `host`; `UnauthorizedError` when the pair is not trusted or its key cannot be had. */
  key(host: string, actor: string): KeyObject | Promise<KeyObject> {
    const id = slot(host, actor);
    const known = this.#keys.get(id);
    if (known !== undefined) return known;
    if (!this.#actors.has(id) && !this.#hosts.has(host)) {
      throw new UnauthorizedError(`bearer token issued by an untrusted actor ${JSON.stringify(actor)} at ${host}`);
    }
    const pending = this.fetchKey(host, actor).then(
      (text) => {
        const key = publicKeyFromBase64(text);
        this.#keys.set(id, key);
        return key;
      },
      (e: unknown) => {
        // A failed fetch is not remembered: the issuer may be back for the next request.
        this.#keys.delete(id);
        throw e;
      },
    );
    this.#keys.set(id, pending);
    return pending;
  }
}

function slot(host: string, actor: string): string {
  return `${host}\u0000${actor}`;
}
