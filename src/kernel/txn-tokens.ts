/**
 * Transaction ids and the tokens a kernel signs for the transactions it begins (PROFILE §4
 * "Transactions").
 *
 * - An id has TinyChain v2's form `<timestamp in ns>-<nonce 0..65535>-<64 lowercase hex trace>`;
 *   the kernel mints it with 256 random bits of trace, so an id cannot be guessed.
 * - An id this kernel has not seen (a participant's continuation) is accepted only in that form,
 *   with a timestamp no further in the future than {@link TXN_CLOCK_SKEW_MS} and no older than a
 *   transaction may live plus that skew.
 * - The kernel is an RJWT actor of its own (`HostActor`): with each held transaction it begins it
 *   signs a token whose claim is `[/txn/<id>, USER_EXEC | USER_WRITE]`, chained onto the caller's
 *   token when the caller sent an RJWT, and a call to another host adds a claim on the path it calls.
 *   Presenting that token proves ownership of the transaction (`holdsTxnClaim`).
 */
import { randomFillSync, randomInt } from "node:crypto";
import { BadRequestError } from "../errors.js";
import { holdsSignedClaim, looksLikeRjwt, RjwtActor, USER_EXEC, USER_WRITE } from "../rjwt.js";

/** How far an unseen id's timestamp may lie ahead of this host's clock, or behind its oldest live transaction (ms). */
export const TXN_CLOCK_SKEW_MS = 3000;
/** The mask of a transaction's owner claim: execute (commit) and write (rollback), as TinyChain v2's. */
export const TXN_OWNER_MASK = USER_EXEC | USER_WRITE;
/** How long a fresh transaction token is valid (s); a chained one expires with its parent. */
const TOKEN_TTL_S = 300;

const TXN_ID = /^([1-9][0-9]{0,19})-([0-9]{1,5})-[0-9a-f]{64}$/;

/** Traces minted from one fill of {@link traces}. */
const TRACES_PER_FILL = 128;
/**
 * Random bytes for the traces of the next ids, filled from the CSPRNG 128 traces at a time (as
 * `crypto.randomUUID` keeps its entropy): one `randomBytes(32)` per id was a native call and a
 * buffer each, a few µs of every request served.
 */
const traces = Buffer.alloc(32 * TRACES_PER_FILL);
let traceAt = TRACES_PER_FILL;

/** A new transaction id: now in ns, a random nonce, a random 256-bit trace. */
export function mintTxnId(): string {
  if (traceAt === TRACES_PER_FILL) {
    randomFillSync(traces);
    traceAt = 0;
  }
  const at = 32 * traceAt++;
  const trace = traces.toString("hex", at, at + 32);
  const ns = BigInt(Date.now()) * 1_000_000n + BigInt(randomInt(1_000_000));
  return `${ns}-${randomInt(65_536)}-${trace}`;
}

/**
 * Checks an id this host has not seen: its form, and its timestamp within `maxAgeMs` (plus the
 * skew) in the past and the skew in the future. 400 `invalid transaction id` otherwise.
 */
export function checkTxnId(id: string, maxAgeMs: number, now = Date.now()): void {
  const m = typeof id === "string" ? TXN_ID.exec(id) : null;
  if (m === null || Number(m[2]) > 65_535) throw new BadRequestError("invalid transaction id: expected <timestamp ns>-<nonce>-<64 hex digits>");
  const ms = Number(BigInt(m[1]!) / 1_000_000n);
  if (ms > now + TXN_CLOCK_SKEW_MS || ms < now - maxAgeMs - TXN_CLOCK_SKEW_MS) {
    throw new BadRequestError("invalid transaction id: its timestamp is too far from this host's clock");
  }
}

/** The claim link that owns transaction `id`. */
export function txnLink(id: string): string {
  return `/txn/${id}`;
}

/**
 * The kernel's own actor: signs the tokens of the transactions it begins and of the calls it
 * makes to other hosts, and recognizes them when they come back.
 *
 * @example
 * ```ts
 * const host = HostActor.generate();
 * const token = host.txnToken(id, callerToken); // [/txn/<id>, 0o300], chained onto the caller's
 * host.holdsTxnClaim(token, id);                // true
 * ```
 */
export class HostActor {
  /** The link this kernel signs as (`iss`): its served URL once served, else `KernelOptions.hostLink`. */
  link: string;
  #actor: RjwtActor | undefined;

  private constructor(
    /** The actor id (served by `GET /host/public_key?key=<JSON id>`). */
    readonly id: string,
    link: string,
  ) {
    this.link = link;
  }

  /**
   * An actor with a fresh key pair, made when it first signs, verifies or shows its key: a
   * kernel that never does (an in-memory kernel a cluster runs a statement on, most embedded
   * ones) skips the key generation, about 70 µs.
   */
  static generate(id = "host", link = "/host"): HostActor {
    return new HostActor(id, link);
  }

  /** The actor and its key pair. */
  get actor(): RjwtActor {
    return (this.#actor ??= RjwtActor.generate(this.id));
  }

  /** The owner token of transaction `id`: `[/txn/<id>, 0o300]`, chained onto `parent` when that is an RJWT. */
  txnToken(id: string, parent: string | undefined): string {
    return this.claim(parent, txnLink(id), TXN_OWNER_MASK);
  }

  /**
   * The token of a call to another host inside transaction `id`: the owner claim, then a claim on
   * exactly the path called with the mode of its verb (`mask`: read for GET, write for PUT and
   * DELETE, execute for POST), chained onto `parent` when that is an RJWT.
   */
  participantToken(id: string, path: string, mask: number, parent: string | undefined): string {
    return this.claim(this.txnToken(id, parent), path, mask);
  }

  /** True when `token` holds this actor's owner claim on transaction `id`. */
  holdsTxnClaim(token: string | undefined, id: string): boolean {
    // An actor that has not made its key yet has signed nothing.
    if (token === undefined || this.#actor === undefined || !looksLikeRjwt(token)) return false;
    return holdsSignedClaim(token, { host: this.link, actor: this.actor.id, key: this.actor.publicKey, link: txnLink(id), mask: USER_EXEC });
  }

  private claim(parent: string | undefined, link: string, mask: number): string {
    if (parent !== undefined && looksLikeRjwt(parent)) {
      try {
        return this.actor.extend(parent, { host: this.link, link, mask });
      } catch {
        // An unreadable parent (a host without token checks passes any text): a fresh token.
      }
    }
    return this.actor.sign({ host: this.link, link, mask, ttlSeconds: TOKEN_TTL_S });
  }
}
