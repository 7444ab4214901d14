/**
 * Sessions of the HTTP client (client.ts): a transaction the host begins with the session's
 * first call (`x-tc-txn: hold`) and names in its answer (`x-tc-txn-id`, with an owner token in
 * `x-tc-bearer-token`); later calls carry `?txn_id=` and that token (or the configured one when
 * that is an opaque token of a token file), and commit / rollback are an empty POST / DELETE to
 * `/lib` (PROFILE §4 "Transactions"). The id and the token stay inside the session object.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import { BadRequestError, InternalError } from "../errors.js";
import type { Json, OpDef } from "../ir/types.js";
import type { ExecRequest, Session } from "../executor.js";
import { looksLikeRjwt } from "../rjwt.js";

const TXN_HEADER = "x-tc-txn-id";
const TXN_TOKEN_HEADER = "x-tc-bearer-token";
const TXN_MODE_HEADER = "x-tc-txn";

/** One answer, as the client collected it. */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/**
 * Where a request goes: the shared pool, or a session's own connection plus its transaction id.
 * A session pins one connection (like a database driver pins a connection to a transaction): its
 * transaction holds the host's lock, so its requests must never queue behind pooled requests that
 * are themselves waiting for that lock.
 */
export interface Channel {
  readonly dispatcher: Dispatcher;
  /** The session's transaction id, once the host answered its first call with it. */
  txnId?: string;
  /** Headers every request on this channel adds (a session's `x-tc-txn: hold`, then its token). */
  headers?: Record<string, string>;
  /** Sees every response (a session learns its id and token from its first call; throws when a host names none). */
  observe?(res: RawResponse): void;
}

/**
 * The channel of a new session on its own connection: its first call says `x-tc-txn: hold`; the
 * answer's id and owner token name the transaction for the calls after it. `auth` is the
 * client's configured `Authorization` value.
 */
export function sessionChannel(client: Dispatcher, auth: string | undefined): Channel {
  const channel: Channel = {
    dispatcher: client,
    headers: { [TXN_MODE_HEADER]: "hold" },
    observe({ status, headers }) {
      if (channel.txnId !== undefined) return;
      const id = headers[TXN_HEADER];
      if (typeof id !== "string" || id === "") {
        // A host that answers a held begin without naming it cannot continue it: calls would not be one transaction.
        if (status >= 200 && status < 300) throw new InternalError(`the host answered a session's first call without an ${TXN_HEADER} header: it cannot hold a transaction across calls`);
        return;
      }
      channel.txnId = id;
      // The host's owner token carries the configured token's claims when that is an RJWT; an
      // opaque token of a token file cannot be chained, and stays the proof of ownership.
      const token = headers[TXN_TOKEN_HEADER];
      const opaque = auth !== undefined && !looksLikeRjwt(auth.slice("Bearer ".length));
      channel.headers = typeof token === "string" && token !== "" && !opaque ? { authorization: `Bearer ${token}` } : undefined;
      channel.observe = undefined;
    },
  };
  return channel;
}

/** What a session needs of its client (the `HttpExecutor`'s internal calls). */
export interface SessionClient {
  executeInSession(op: Json | OpDef, args: Readonly<Record<string, Json>> | undefined, ch: Channel, local: Set<string>): Promise<Json>;
  requestIn(req: ExecRequest, ch?: Channel): Promise<Json>;
  extensions(): Promise<ReadonlySet<string>>;
  finalize(ch: Channel, commit: boolean): Promise<void>;
  adoptInstalls(hashes: Iterable<string>): void;
}

/** A multi-request transaction on a remote host; the transaction id stays inside. */
export class HttpSession implements Session {
  readonly #client: SessionClient;
  readonly #channel: Channel;
  /** Op hashes installed inside this session (visible to the client once it commits). */
  readonly #installs = new Set<string>();
  #done = false;

  constructor(client: SessionClient, channel: Channel) {
    this.#client = client;
    this.#channel = channel;
  }

  /** The first call while it is under way: later calls wait for the id it brings. */
  #beginning: Promise<unknown> | undefined;

  #open(): Channel {
    if (this.#done) throw new BadRequestError("this session is already committed or rolled back");
    return this.#channel;
  }

  /**
   * Runs a call on the session's channel. Until the host named the transaction, one call at a time
   * goes first (it begins it); the others wait for it. A first call refused before any
   * transaction began leaves the next call to begin one.
   */
  #run(call: (ch: Channel) => Promise<Json>): Promise<Json> {
    let ch: Channel;
    try {
      ch = this.#open();
    } catch (e) {
      return Promise.reject(e);
    }
    if (ch.txnId !== undefined) return call(ch);
    if (this.#beginning !== undefined) return this.#beginning.then(() => this.#run(call));
    const first = call(ch);
    const settled = first.then(
      () => undefined,
      () => undefined,
    );
    this.#beginning = settled;
    void settled.then(() => {
      if (this.#beginning === settled) this.#beginning = undefined;
    });
    return first;
  }

  execute(op: Json | OpDef, args?: Readonly<Record<string, Json>>): Promise<Json> {
    return this.#run((ch) => this.#client.executeInSession(op, args, ch, this.#installs));
  }

  request(req: ExecRequest): Promise<Json> {
    // `/host/...` and `/healthz` are not transactional: they are asked outside the transaction.
    const top = typeof req?.path === "string" ? req.path.split("/")[1] : undefined;
    if (top === "host" || top === "healthz") return this.#stillOpen().then(() => this.#client.requestIn(req));
    return this.#run((ch) => this.#client.requestIn(req, ch));
  }

  #stillOpen(): Promise<void> {
    try {
      this.#open();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  extensions(): Promise<ReadonlySet<string>> {
    return this.#client.extensions();
  }

  async commit(): Promise<void> {
    const id = this.#open();
    this.#done = true;
    await this.#beginning;
    await this.#client.finalize(id, true);
    this.#client.adoptInstalls(this.#installs);
  }

  async rollback(): Promise<void> {
    const id = this.#open();
    this.#done = true;
    await this.#beginning;
    await this.#client.finalize(id, false);
  }

  /** For `console.log`: never shows the transaction id. */
  toJSON(): string {
    return "[HttpSession]";
  }
}

