/**
 * Sessions of the HTTP client (client.ts): a held transaction the host begins for the session (an
 * empty `POST /lib` with `x-tc-txn: hold`) and names in its answer (`x-tc-txn-id`, with an owner
 * token in `x-tc-bearer-token`); the session's calls carry `?txn_id=` and that token (or the
 * configured one when that is an opaque token of a token file), and commit / rollback are an
 * empty POST / DELETE to `/lib` (PROFILE §4 "Transactions"). The id and the token stay inside the
 * session object.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import { BadRequestError, InternalError } from "../errors.js";
import type { Json, OpDef } from "../ir/types.js";
import type { ExecRequest, Session } from "../executor.js";
import { looksLikeRjwt } from "../rjwt.js";

const TXN_HEADER = "x-tc-txn-id";
const TXN_TOKEN_HEADER = "x-tc-bearer-token";

/** The headers of a session's begin (an empty POST to `/lib`). */
export const BEGIN_HEADERS: Readonly<Record<string, string>> = Object.freeze({ "x-tc-txn": "hold" });

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
  /** A session's transaction id. */
  readonly txnId?: string;
  /** Headers every request on this channel adds (a session's owner token). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The owner token the host answered a session's begin with (what a participant host may be shown). */
  readonly ownerToken?: string;
}

/**
 * The channel of a session on its own connection, from the headers of its begin: the id names the
 * transaction, and the owner token (or the configured `auth`, an opaque token-file token the host
 * cannot chain) proves ownership on every call. A host that names no transaction cannot hold one
 * across calls: `InternalError`.
 */
export function sessionChannel(client: Dispatcher, auth: string | undefined, headers: IncomingHttpHeaders): Channel {
  const id = headers[TXN_HEADER];
  if (typeof id !== "string" || id === "") {
    throw new InternalError(`the host began a session without an ${TXN_HEADER} header: it cannot hold a transaction across calls`);
  }
  const token = headers[TXN_TOKEN_HEADER];
  const opaque = auth !== undefined && !looksLikeRjwt(auth.slice("Bearer ".length));
  const useToken = typeof token === "string" && token !== "" && !opaque;
  return {
    dispatcher: client,
    txnId: id,
    ...(useToken ? { headers: { authorization: `Bearer ${token}` } } : {}),
    ...(typeof token === "string" && token !== "" ? { ownerToken: token } : {}),
  };
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

  #open(): Channel {
    if (this.#done) throw new BadRequestError("this session is already committed or rolled back");
    return this.#channel;
  }

  execute(op: Json | OpDef, args?: Readonly<Record<string, Json>>): Promise<Json> {
    try {
      return this.#client.executeInSession(op, args, this.#open(), this.#installs);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  request(req: ExecRequest): Promise<Json> {
    try {
      return this.#client.requestIn(req, this.#open());
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
    await this.#client.finalize(id, true);
    this.#client.adoptInstalls(this.#installs);
  }

  async rollback(): Promise<void> {
    const id = this.#open();
    this.#done = true;
    await this.#client.finalize(id, false);
  }

  /**
   * The transaction's id and the owner token its host answered with: what another host needs to
   * take part in it (`HttpExecutor.join`). Only for a cluster's own participants: whoever holds
   * both can act as the owner.
   */
  ticket(): { readonly id: string; readonly token?: string } {
    const ch = this.#channel;
    return { id: ch.txnId!, ...(ch.ownerToken !== undefined ? { token: ch.ownerToken } : {}) };
  }

  /** For `console.log`: never shows the transaction id. */
  toJSON(): string {
    return "[HttpSession]";
  }
}

