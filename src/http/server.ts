/**
 * The HTTP server adapter: exposes a kernel over `node:http` with the request shapes of PROFILE §4.
 *
 * Wire summary (also in the README):
 * - `GET|PUT|DELETE <path>?key=<url-encoded JSON>`; PUT's body is the value; `POST <path>` with a
 *   JSON object of params. `application/json`, at most `bodyLimit` bytes (1 MiB default; 413).
 * - `GET /healthz` → 200 `{"status":"ok"}`, no transaction, no token needed.
 * - Transactions (PROFILE §4 "Transactions"; the kernel decides, transactions.ts): a request to
 *   `/state`, `/lib`, `/class` or `/service` without `?txn_id=` begins one; the response carries
 *   its id (`x-tc-txn-id`). It commits with the request, unless the request says `x-tc-txn: hold`:
 *   then it stays open, and the response also carries an owner token the kernel signed
 *   (`x-tc-bearer-token`; an empty POST with it to a component root begins one with no call in it
 *   → 204). `?txn_id=`
 *   continues one (a bearer token of its owner, else 401) or pins an id unseen here to the
 *   token's owner. Commit = empty-body `POST`, rollback = empty-body `DELETE`, to a component root
 *   (`/lib`, `/class`, `/service`, `/state/<ns>`, `/lib/<p>/<n>/<v>`, …) with `?txn_id` → 204.
 *   `/host/...` and `/healthz` ignore `txn_id`.
 * - Errors: status by kind, body `{"<kind>": {"message": "...", "stack": []}}`; a 503 for a full
 *   transaction-lock queue carries `Retry-After`.
 * - Connections: `maxConnections` and the header / request / keep-alive / socket timeouts
 *   (connection-limits.ts, PROFILE §4 "Connections").
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Server as NetServer, type AddressInfo, type Socket } from "node:net";
import {
  BadRequestError,
  InternalError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  TcError,
  UnauthorizedError,
  UnavailableError,
} from "../errors.js";
import type { Json, Verb } from "../ir/types.js";
import type { ExecRequest } from "../executor.js";
import type { ExecLimits } from "../kernel/ops/exec-context.js";
import {
  anonymousOwner,
  bearerToken,
  checkTxnClaims,
  kernelDecides,
  TokenAuthority,
  type Principal,
  type ServedGrant,
  type TokenConfig,
} from "./auth.js";
import { checkingIntervalMs, limitConnections, resolveConnectionLimits, type ConnectionOptions } from "./connection-limits.js";
import { isComponentRoot, parseTarget, quote, type Target } from "./target.js";
import { OpNames } from "./op-names.js";

/**
 * How a request takes part in a transaction, as the server hands it to the kernel (the kernel's
 * `TxnRequest`): the `?txn_id=` (absent: an implicit begin, whose id and token the kernel writes
 * into `out`), the caller (`owner`, its bearer `token`), and `hold` (`x-tc-txn: hold`).
 */
export type ServedSession =
  | string
  | {
      readonly id?: string;
      readonly owner?: string;
      readonly token?: string;
      readonly hold?: boolean;
      readonly out?: { id?: string; token?: string };
    };

/**
 * What the server needs from a kernel (the embedded `Kernel` satisfies it). The kernel begins,
 * continues and finalizes transactions (PROFILE §4: owners checked on every use, 401 for
 * another; 408 after a budget; an unseen id pinned to its owner), and checks every link a call
 * reaches against `grant` (the token's; absent on a host without tokens), 403 outside it.
 */
export interface ServedKernel {
  request(req: ExecRequest, session?: ServedSession, grant?: ServedGrant): Promise<Json>;
  /**
   * Begins a held transaction with no call in it, named in `ref.out` (an empty POST with
   * `x-tc-txn: hold` at a component root: a session's begin). 403 without a write grant.
   */
  hold(ref: { readonly owner?: string; readonly token?: string; readonly out?: { id?: string; token?: string } }, grant?: ServedGrant): Promise<string>;
  /** Commits (`commit`) or rolls back transaction `id` for its owner (an empty POST / DELETE at a component root). */
  finalize(id: string, commit: boolean, by?: { readonly owner?: string; readonly token?: string }): Promise<void>;
  close(): Promise<void>;
  /** Puts the kernel under the served op budget (event-loop turns, `opMillis` per op) and names it by `url`; see `Kernel.serving`. */
  serving?(opMillis: number, url?: string): void;
  /** The actor that signs the kernel's transaction tokens: served at `GET /host/public_key`, trusted by the host's keyring. */
  readonly hostActor?: { readonly id: string; readonly link: string; publicKeyBase64(): string };
}

/** Options of {@link serve}; the connection limits (timeouts, `maxConnections`) are in {@link ConnectionOptions}. */
export interface ServeOptions extends ConnectionOptions {
  /**
   * The kernel to serve. When absent, one is opened on `dataDir` (memory when that is absent too).
   * A kernel given here is put under the served op budget (`Kernel.serving`: event-loop turns,
   * 50 ms per op) unless it was opened with its own `limits.maxMillis`.
   */
  readonly kernel?: ServedKernel;
  /** Data directory of the kernel opened when `kernel` is not given. */
  readonly dataDir?: string;
  /** Session time budget of the kernel opened when `kernel` is not given (ms). */
  readonly txnBudgetMs?: number;
  /**
   * Per-principal `/lib` quota of the kernel opened when `kernel` is not given: library versions
   * and bytes of definitions one principal may install (default 10 000 and 64 MiB; 403 past it).
   */
  readonly libQuota?: { readonly maxVersions?: number; readonly maxBytes?: number };
  /** Session idle timeout of the kernel opened when `kernel` is not given (ms, default 500). */
  readonly sessionIdleMs?: number;
  /** Bound of the transaction lock's wait queue of the kernel opened when `kernel` is not given (default 256). */
  readonly lockQueueLimit?: number;
  /** Where ops of the kernel opened when `kernel` is not given may call other hosts (PROFILE §6.15; default: nowhere). */
  readonly egress?: import("../kernel/egress/remote-call.js").EgressOptions;
  /** The kernel opened when `kernel` is not given is a cluster's shard (PROFILE §6.16; `KernelOptions.shardMember`). */
  readonly shardMember?: boolean;
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Interface to listen on; default `127.0.0.1`. */
  readonly host?: string;
  /** Token configuration; when absent every request is allowed without a token. */
  readonly tokens?: TokenConfig;
  /** Maximum request body in bytes; default 1 MiB. */
  readonly bodyLimit?: number;
  /**
   * Longest wait in `close()` for in-flight requests and open sessions to finish (ms, default
   * 30 000); then remaining connections are cut. Sessions also end by the kernel's budget.
   */
  readonly drainTimeoutMs?: number;
  /** Close the kernel on `close()`; default true when the server opened it, false otherwise. */
  readonly closeKernel?: boolean;
  /** Access log sink (one line per request). Lines never contain tokens, keys or bodies. */
  readonly log?: (line: string) => void;
  /**
   * Execution limits of the kernel opened when `kernel` is not given (PROFILE §2): served ops run
   * under `maxMillis` = {@link DEFAULT_SERVED_OP_MILLIS} unless this says otherwise.
   */
  readonly limits?: Partial<ExecLimits>;
}

/**
 * Wall-clock budget of one op run by a kernel `serve()` opens (ms). Ops run synchronously on the
 * event loop: this is the longest one op can keep `/healthz` and every other request waiting.
 */
export const DEFAULT_SERVED_OP_MILLIS = 50;

/**
 * Kernel options for serving: ops that may run long take event-loop turns one at a time
 * (`opTurns`), each within a short wall-clock budget, so the server answers between them.
 */
function servedOpOptions(limits: Partial<ExecLimits> | undefined): { limits: Partial<ExecLimits>; opTurns: true } {
  return { limits: { maxMillis: DEFAULT_SERVED_OP_MILLIS, ...limits }, opTurns: true };
}

/** A running server. */
export interface ServerHandle {
  /** `http://<host>:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The underlying `node:http` server. */
  readonly server: Server;
  /** Graceful shutdown: stop accepting, finish in-flight requests, close the kernel (rolling back open sessions). */
  close(): Promise<void>;
}

/** The transaction headers of a response: the id continued, or the id and owner token of a transaction the request began. */
function txnHeaders(continued: string | undefined, begun: { id?: string; token?: string } | undefined): Record<string, string> | undefined {
  if (continued !== undefined) return { [TXN_HEADER]: continued };
  if (begun?.id === undefined) return undefined;
  return begun.token === undefined ? { [TXN_HEADER]: begun.id } : { [TXN_HEADER]: begun.id, [TXN_TOKEN_HEADER]: begun.token };
}

/** Default maximum request body (PROFILE §4). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** Response header carrying a transaction's id. */
export const TXN_HEADER = "x-tc-txn-id";
/** Response header carrying the owner token of a transaction the request began. */
export const TXN_TOKEN_HEADER = "x-tc-bearer-token";
/** Request header: `hold` keeps the transaction a request begins open for continuations. */
export const TXN_MODE_HEADER = "x-tc-txn";

/** The top-level directories whose requests run in a transaction the caller may name (`/host` and `/healthz` ignore `txn_id`). */
const TRANSACTIONAL = new Set(["state", "lib", "class", "service"]);

const VERBS: Record<string, Verb> = { GET: "get", PUT: "put", POST: "post", DELETE: "delete" };
const JSON_TYPE = "application/json";

/**
 * True when the request carries a body. Without Content-Length and Transfer-Encoding HTTP/1.1 says
 * there is none (the common GET); a declared length of 0 is none too.
 */
function hasBody(req: IncomingMessage): boolean {
  const h = req.headers;
  const declared = h["content-length"];
  return (declared !== undefined && declared !== "0") || h["transfer-encoding"] !== undefined;
}

/**
 * Reads the request body up to `limit` bytes; rejects with 413 as soon as it is exceeded. Call it
 * only when {@link hasBody} says there is one.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared === undefined) return streamBody(req, limit);
  const length = Number(declared);
  if (length > limit) {
    return Promise.reject(new PayloadTooLargeError(`request body of ${declared} bytes exceeds the limit of ${limit} bytes`));
  }
  // A small body usually arrives in the same packet as the headers; the parser pushes it right
  // after the 'request' event. One microtask later it is buffered: take it without stream events.
  return Promise.resolve().then(() => {
    if (req.readableLength === length) {
      const buf = req.read() as Buffer | null;
      if (buf !== null && buf.length === length) {
        req.resume(); // lets the stream end (its 'end' event) without further reads
        return buf;
      }
      if (buf !== null) req.unshift(buf);
    }
    return streamBody(req, limit);
  });
}

function streamBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer): void => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.off("data", onData);
        req.pause();
        reject(new PayloadTooLargeError(`request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.once("error", (e) => {
      if (done) return;
      done = true;
      reject(new BadRequestError(`request body could not be read: ${e.message}`));
    });
  });
}

function parseJsonBody(buf: Buffer, contentType: string | undefined): Json | undefined {
  if (buf.length === 0) return undefined;
  if (contentType !== undefined && contentType !== JSON_TYPE) {
    const type = contentType.split(";")[0]!.trim().toLowerCase();
    if (type !== JSON_TYPE) throw new BadRequestError(`unsupported content type ${quote(type)}: bodies must be ${JSON_TYPE}`);
  }
  try {
    return JSON.parse(buf.toString("utf8")) as Json;
  } catch (e) {
    throw new BadRequestError(`request body is not valid JSON: ${(e as Error).message}`);
  }
}

function isPlainObject(v: unknown): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Answers a CONNECT request: node:http hands CONNECT to 'connect' listeners instead of the request
 * handler (and drops the connection without a word when there is none), so it gets the 405 every
 * other unknown method gets, then the connection is closed.
 */
function answerConnect(req: IncomingMessage, socket: Socket): void {
  const e = new MethodNotAllowedError(`method ${quote(req.method ?? "")} is not allowed: use GET, PUT, POST or DELETE`);
  const text = JSON.stringify(e.toBody());
  socket.on("error", () => socket.destroy());
  socket.end(
    `HTTP/1.1 405 Method Not Allowed\r\nallow: GET, PUT, POST, DELETE\r\ncontent-type: ${JSON_TYPE}\r\n` +
      `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    () => socket.destroy(),
  );
}

/**
 * Starts an HTTP server for a kernel.
 *
 * @example
 * ```ts
 * const srv = await serve({ dataDir: "./data", port: 8702 });
 * console.log(srv.url);   // http://127.0.0.1:8702
 * await srv.close();
 * ```
 */
export async function serve(opts: ServeOptions = {}): Promise<ServerHandle> {
  const limits = resolveConnectionLimits(opts);
  let kernel = opts.kernel;
  const ownsKernel = kernel === undefined;
  if (kernel === undefined) {
    const { Kernel } = await import("../kernel/kernel.js");
    kernel = (await Kernel.open({
      ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
      ...(opts.txnBudgetMs !== undefined ? { txnBudgetMs: opts.txnBudgetMs } : {}),
      ...(opts.libQuota !== undefined ? { libQuota: opts.libQuota } : {}),
      ...(opts.sessionIdleMs !== undefined ? { sessionIdleMs: opts.sessionIdleMs } : {}),
      ...(opts.lockQueueLimit !== undefined ? { lockQueueLimit: opts.lockQueueLimit } : {}),
      ...(opts.egress !== undefined ? { egress: opts.egress } : {}),
      ...(opts.shardMember === true ? { shardMember: true } : {}),
      ...servedOpOptions(opts.limits),
    })) as ServedKernel;
  }
  const k: ServedKernel = kernel;
  const closeKernel = opts.closeKernel ?? ownsKernel;
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const authority = opts.tokens ? new TokenAuthority(opts.tokens) : undefined;
  const log = opts.log;
  // Readable names of installed ops for the access log (only kept when there is a log).
  const opNames = log ? new OpNames() : undefined;
  let inFlight = 0;
  let closing = false;
  /**
   * Open connections: requests in progress, and the session last continued on it. While shutting
   * down, a connection carrying an open session stays up so the session can commit or roll back.
   */
  const conns = new Map<Socket, { active: number; session: string | undefined }>();
  /** Responses of session continuations: they keep their connection open while shutting down. */
  const sessionResponses = new WeakSet<ServerResponse>();
  /** Requests that began a transaction: what the kernel minted for them, and whether they hold it. */
  const tickets = new WeakMap<ServerResponse, { ticket: { id?: string; token?: string }; hold: boolean }>();
  let onDrained: (() => void) | undefined;
  const drained = (): boolean => {
    if (inFlight > 0) return false;
    for (const c of conns.values()) if (c.session !== undefined) return false;
    return true;
  };
  const checkDrained = (): void => {
    if (closing && onDrained && drained()) onDrained();
  };
  const markSession = (res: ServerResponse, session: string | undefined): void => {
    const conn = conns.get(res.req.socket);
    if (conn) conn.session = session;
    if (session !== undefined) sessionResponses.add(res);
  };

  const send = (res: ServerResponse, status: number, body: Json | undefined, headers?: Record<string, string>): void => {
    if (res.headersSent) return;
    if (closing && !sessionResponses.has(res)) res.setHeader("connection", "close");
    if (body === undefined) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    const length = Buffer.byteLength(text);
    if (headers === undefined) res.writeHead(status, ["content-type", JSON_TYPE, "content-length", String(length)]);
    else res.writeHead(status, { ...headers, "content-type": JSON_TYPE, "content-length": length });
    // One string: node:http sends the head and this body in a single write.
    res.end(text);
  };

  const sendError = (res: ServerResponse, err: TcError, closeConnection = false): void => {
    if (closeConnection) res.setHeader("connection", "close");
    if (err instanceof MethodNotAllowedError) res.setHeader("allow", "GET, PUT, POST, DELETE");
    send(res, err.status, err.toBody());
  };

  const ownerOf = (principal: Principal | undefined, req: IncomingMessage): string =>
    principal ? principal.id : anonymousOwner(req.headers.authorization);

  /**
   * Handles one request. Synchronous up to the first thing it has to wait for (the body, the
   * kernel): it returns a promise only then, so a request costs no extra promise hops.
   */
  const handle = (req: IncomingMessage, res: ServerResponse): Promise<void> | undefined => {
    const verb = VERBS[req.method ?? ""];
    if (verb === undefined) throw new MethodNotAllowedError(`method ${quote(req.method ?? "")} is not allowed: use GET, PUT, POST or DELETE`);
    const target = parseTarget(req.url ?? "/");

    if (target.segments[0] === "healthz") {
      if (target.segments.length > 1) throw new NotFoundError(`no resource at ${target.path}`);
      if (verb !== "get") throw new MethodNotAllowedError("/healthz answers GET only");
      send(res, 200, { status: "ok" });
      return undefined;
    }
    // Shutting down: no new work, but open sessions may still continue and commit or roll back.
    if (closing && target.txnId === undefined) throw new UnavailableError("the host is shutting down");

    if (target.segments[0] === "host" && target.segments[1] === "public_key") {
      publicKey(res, verb, target);
      return undefined;
    }
    const principal = authority?.authenticate(req.headers.authorization);
    if (principal instanceof Promise) return principal.then((p) => withBody(req, res, verb, target, p));
    return withBody(req, res, verb, target, principal);
  };

  const withBody = (req: IncomingMessage, res: ServerResponse, verb: Verb, target: Target, principal: Principal | undefined): Promise<void> | undefined => {
    if (!hasBody(req)) return respond(req, res, verb, target, principal, undefined);
    return readBody(req, bodyLimit).then((buf) =>
      respond(req, res, verb, target, principal, parseJsonBody(buf, req.headers["content-type"])),
    );
  };

  /** `GET /host/public_key?key=<JSON actor id>`: an actor's Ed25519 public key (base64), non-transactional, public. */
  const publicKey = (res: ServerResponse, verb: Verb, target: Target): void => {
    if (target.segments.length !== 2) throw new NotFoundError(`no resource at ${target.path}`);
    if (verb !== "get") throw new MethodNotAllowedError("/host/public_key answers GET only");
    const actor = target.key;
    if (typeof actor !== "string") throw new BadRequestError('GET /host/public_key takes ?key=<JSON string: the actor id>');
    const own = k.hostActor;
    const key = authority?.publicKeys.get(actor) ?? (own !== undefined && own.id === actor ? own.publicKeyBase64() : undefined);
    if (key === undefined) throw new NotFoundError(`this host has no actor ${JSON.stringify(actor)}`);
    send(res, 200, key);
  };

  /** The rest of a request once its body (if any) is parsed. */
  const respond = (
    req: IncomingMessage,
    res: ServerResponse,
    verb: Verb,
    target: Target,
    principal: Principal | undefined,
    body: Json | undefined,
  ): Promise<void> | undefined => {
    // `/host/...` is not transactional: `txn_id` is ignored there (and `/healthz` never gets here).
    const transactional = TRANSACTIONAL.has(target.segments[0]!);
    const txnId = transactional ? target.txnId : undefined;
    let session: ServedSession | undefined;
    let ticket: { id?: string; token?: string } | undefined;
    if (transactional) {
      const owner = ownerOf(principal, req);
      const token = bearerToken(req.headers.authorization);
      if (txnId !== undefined) {
        if (token === undefined) throw new UnauthorizedError("?txn_id= needs a bearer token: its owner's, or the token the host answered with (x-tc-bearer-token)");
        if (principal?.txnClaims !== undefined) checkTxnClaims(principal.txnClaims, txnId);
        const finalize = (verb === "post" || verb === "delete") && body === undefined && target.key === undefined && isComponentRoot(target.segments);
        if (finalize) {
          markSession(res, undefined);
          return k.finalize(txnId, verb === "post", { owner, token }).then(() => send(res, 204, undefined, { [TXN_HEADER]: txnId }));
        }
        markSession(res, txnId);
        session = { id: txnId, owner, token };
      } else {
        ticket = {};
        const hold = req.headers[TXN_MODE_HEADER] === "hold";
        if (hold && verb === "post" && body === undefined && target.key === undefined && isComponentRoot(target.segments)) {
          // A begin with no call in it (a session's): 204, named like any implicit begin.
          const begun = ticket;
          return k.hold({ owner, ...(token !== undefined ? { token } : {}), out: begun }, principal?.grant).then((id) => {
            // The client gave up while the begin waited for the lock: nobody can use it.
            if (res.destroyed || req.socket.destroyed) return void k.finalize(id, false, { owner, token: begun.token }).catch(() => undefined);
            markSession(res, id);
            send(res, 204, undefined, txnHeaders(undefined, begun));
          });
        }
        session = { owner, ...(token !== undefined ? { token } : {}), ...(hold ? { hold } : {}), out: ticket };
        tickets.set(res, { ticket, hold });
      }
    }
    // Fail fast on the request's own path; the kernel checks every link the call reaches.
    if (principal && !kernelDecides(verb, target.segments)) authority!.authorize(principal, verb, target.segments);

    let request: ExecRequest;
    switch (verb) {
      case "get":
      case "delete":
        if (body !== undefined) throw new BadRequestError(`${verb.toUpperCase()} takes its key in ?key=<JSON>, not in the body`);
        request = { verb, path: target.path, key: target.key ?? null };
        break;
      case "put":
        if (body === undefined) throw new BadRequestError("PUT needs a JSON body (the value)");
        request = { verb, path: target.path, key: target.key ?? null, body };
        break;
      case "post":
        if (target.key !== undefined) throw new BadRequestError("POST takes its params in the body, not in ?key=");
        if (body !== undefined && !isPlainObject(body)) throw new BadRequestError("POST body must be a JSON object of params");
        request = { verb, path: target.path, body: body ?? {} };
        break;
    }
    const grant = principal?.grant;
    const headers = (): Record<string, string> | undefined => txnHeaders(txnId, ticket);
    if (verb === "put" && target.path === "/lib") {
      return k.request(request, session, grant).then(() => {
        opNames?.installed(body, req.headers);
        send(res, 204, undefined, headers());
      });
    }
    return k.request(request, session, grant).then((result) => {
      if (ticket?.id !== undefined && tickets.get(res)?.hold === true) {
        // A held transaction: its connection stays up while the host shuts down. A client that
        // gave up meanwhile can never name it: it must not hold the lock until its idle timeout.
        if (res.destroyed || req.socket.destroyed) {
          void k.finalize(ticket.id, false, { owner: ownerOf(principal, req), token: ticket.token }).catch(() => undefined);
          return;
        }
        markSession(res, ticket.id);
      }
      send(res, 200, result === undefined ? null : result, headers());
    });
  };

  /** Answers a failed request with its error (a non-TcError is logged and answered 500). */
  const fail = (res: ServerResponse, e: unknown): void => {
    // A transaction the request began (now rolled back) is still named, as on success.
    const begun = tickets.get(res)?.ticket;
    if (begun?.id !== undefined && !res.headersSent) {
      res.setHeader(TXN_HEADER, begun.id);
      if (begun.token !== undefined) res.setHeader(TXN_TOKEN_HEADER, begun.token);
    }
    // A busy host (the transaction lock's wait queue is full) says when to retry.
    const retryAfterS = (e as { retryAfterS?: unknown } | undefined)?.retryAfterS;
    if (typeof retryAfterS === "number" && !res.headersSent) res.setHeader("retry-after", String(Math.ceil(retryAfterS)));
    if (e instanceof TcError) {
      sendError(res, e, e.kind === "payload_too_large");
    } else {
      log?.(`internal error: ${e instanceof Error ? e.message : String(e)}`);
      sendError(res, new InternalError("internal error"));
    }
  };

  // Keys travel in the query string, so allow request lines up to the target limit (64 KiB).
  const server = createServer({ keepAlive: true, maxHeaderSize: 64 * 1024, connectionsCheckingInterval: checkingIntervalMs(limits) }, (req, res) => {
    inFlight++;
    const conn = conns.get(req.socket);
    if (conn) conn.active++;
    const started = log ? performance.now() : 0;
    // 'close' fires once per response, so `on` (no once-wrapper) is enough.
    res.on("close", () => {
      inFlight--;
      if (conn) conn.active--;
      if (log) {
        let path = req.url ?? "";
        const q = path.indexOf("?");
        if (q >= 0) path = path.slice(0, q);
        const name = opNames!.of(path);
        log(`${req.method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}${name !== undefined ? ` [${name}]` : ""} ${res.statusCode} ${(performance.now() - started).toFixed(1)}ms`);
      }
      checkDrained();
    });
    let pending: Promise<void> | undefined;
    try {
      pending = handle(req, res);
    } catch (e) {
      fail(res, e);
      return;
    }
    pending?.then(undefined, (e: unknown) => fail(res, e));
  });
  server.on("connection", (socket: Socket) => {
    conns.set(socket, { active: 0, session: undefined });
    socket.once("close", () => {
      conns.delete(socket);
      checkDrained();
    });
  });
  limitConnections(server, limits);

  server.on("connect", answerConnect);

  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  // A kernel handed in gets the same served op budget as one opened here, unless it set its own;
  // either signs its transaction tokens as this host (its first `rjwt.self` link, else its URL),
  // and this host's keyring trusts them.
  k.serving?.(DEFAULT_SERVED_OP_MILLIS, opts.tokens?.rjwt?.self?.[0] ?? `http://${urlHost}:${port}`);
  const hostActor = k.hostActor;
  if (hostActor !== undefined) authority?.trust({ host: hostActor.link, actor: hostActor.id, publicKey: hostActor.publicKeyBase64() });

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      // Stop accepting. (`http.Server#close` would also cut idle keep-alive connections, among
      // them those of open sessions, so the plain `net` close is used until the drain is over.)
      const stopped = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
      // Idle connections without an open session go now; the rest once they are done.
      for (const [socket, c] of conns) if (c.active === 0 && c.session === undefined) socket.destroy();
      if (!drained()) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          onDrained = resolve;
          timer = setTimeout(resolve, opts.drainTimeoutMs ?? 30_000);
        });
        clearTimeout(timer);
      }
      server.closeAllConnections();
      server.close(() => undefined); // clears the HTTP server's own timers; already not listening
      await stopped;
      // Closing the kernel rolls back its open sessions.
      if (closeKernel) await k.close();
    })();
    return closed;
  };

  return { url: `http://${urlHost}:${port}`, port, server, close };
}
