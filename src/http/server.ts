/**
 * The HTTP server adapter: exposes a kernel over `node:http` with the request shapes of PROFILE §4.
 *
 * Wire summary (also in the README):
 * - `GET|PUT|DELETE <path>?key=<url-encoded JSON>`; PUT's body is the value; `POST <path>` with a
 *   JSON object of params. `application/json`, at most `bodyLimit` bytes (1 MiB default; 413).
 * - `GET /healthz` → 200 `{"status":"ok"}`, no transaction, no token needed.
 * - Sessions: `POST /host/txn` (empty body or `{}`) begins one and answers 204 with the id in the
 *   `x-tc-txn-id` header. Continuations carry `?txn_id=<id>` and the bearer token that began it
 *   (another token → 401). Commit = empty-body `POST`, rollback = empty-body `DELETE`, to a
 *   component root (`/lib`, `/state`, `/state/<ns>`, `/lib/<p>/<n>/<v>`, …) with `?txn_id` → 204.
 *   The kernel rolls back a session older than its budget; later use answers 408.
 * - Errors: status by kind, body `{"<kind>": {"message": "...", "stack": []}}`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Server as NetServer, type AddressInfo, type Socket } from "node:net";
import {
  BadRequestError,
  ForbiddenError,
  InternalError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  TcError,
  UnavailableError,
} from "../errors.js";
import type { Json, Verb } from "../ir/types.js";
import type { ExecRequest } from "../executor.js";
import type { ExecLimits } from "../kernel/ops/exec-context.js";
import { anonymousOwner, TokenAuthority, mayAccess, type Principal, type TokenConfig } from "./auth.js";
import { referencedPaths } from "./links.js";
import { isComponentRoot, parseTarget, quote, type Target } from "./target.js";

/** A session as the server hands it to the kernel: its id and the principal that owns it. */
export type ServedSession = string | { readonly id: string; readonly owner?: string };

/**
 * What the server needs from a kernel (the embedded `Kernel` satisfies it). The kernel checks a
 * session's owner on every use (401 for another owner), answers 408 after its budget and 404 for
 * an unknown id.
 */
export interface ServedKernel {
  request(req: ExecRequest, session?: ServedSession): Promise<Json>;
  beginSession(owner?: string): Promise<string>;
  commitSession(id: string, owner?: string): Promise<void>;
  rollbackSession(id: string, owner?: string): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link serve}. */
export interface ServeOptions {
  /** The kernel to serve. When absent, one is opened on `dataDir` (memory when that is absent too). */
  readonly kernel?: ServedKernel;
  /** Data directory of the kernel opened when `kernel` is not given. */
  readonly dataDir?: string;
  /** Session time budget of the kernel opened when `kernel` is not given (ms). */
  readonly txnBudgetMs?: number;
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

/** Default maximum request body (PROFILE §4). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** Response header carrying a session's transaction id. */
export const TXN_HEADER = "x-tc-txn-id";

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
  let kernel = opts.kernel;
  const ownsKernel = kernel === undefined;
  if (kernel === undefined) {
    const { Kernel } = await import("../kernel/kernel.js");
    kernel = (await Kernel.open({
      ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
      ...(opts.txnBudgetMs !== undefined ? { txnBudgetMs: opts.txnBudgetMs } : {}),
      ...servedOpOptions(opts.limits),
    })) as ServedKernel;
  }
  const k: ServedKernel = kernel;
  const closeKernel = opts.closeKernel ?? ownsKernel;
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const authority = opts.tokens ? new TokenAuthority(opts.tokens) : undefined;
  const log = opts.log;
  /** Paths each installed library version touches, for invoker-rights checks on calls. */
  const libraryPaths = new Map<string, string[][]>();
  let inFlight = 0;
  let closing = false;
  /**
   * Open connections: requests in progress, and the session last continued on it. While shutting
   * down, a connection carrying an open session stays up so the session can commit or roll back.
   */
  const conns = new Map<Socket, { active: number; session: string | undefined }>();
  /** Responses of session continuations: they keep their connection open while shutting down. */
  const sessionResponses = new WeakSet<ServerResponse>();
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

  /** Checks that `principal` may touch every resource path `doc` names. */
  const authorizeReferences = (principal: Principal | undefined, doc: Json | undefined): void => {
    if (!principal || doc === undefined) return;
    for (const segs of referencedPaths(doc)) {
      if (!mayAccess(principal, segs)) {
        throw new ForbiddenError(`${principal.name} has no rights to /${segs.join("/")}, which the request refers to`);
      }
    }
  };

  /** Invoker rights on library calls: the caller needs rights on every path the version touches. */
  const authorizeLibraryCall = (principal: Principal | undefined, target: Target): void => {
    if (!principal || target.segments[0] !== "lib" || target.segments.length < 5) return;
    const version = `/${target.segments.slice(0, 4).join("/")}`;
    const touched = libraryPaths.get(version);
    // A version installed before this process started: its paths are unknown here, so only a
    // principal with rights on all of /state may call it (re-installing records its paths).
    for (const segs of touched ?? [["state"]]) {
      if (!mayAccess(principal, segs)) {
        throw new ForbiddenError(`${principal.name} has no rights to /${segs.join("/")}, which ${version} uses`);
      }
    }
  };

  const rememberInstall = (principal: Principal | undefined, target: Target, body: Json | undefined): void => {
    if (!principal || target.path !== "/lib" || !isPlainObject(body)) return;
    for (const [version, members] of Object.entries(body)) {
      const segs = version.split("/").filter((s) => s !== "");
      if (!mayAccess(principal, segs)) throw new ForbiddenError(`${principal.name} has no rights to ${quote(version)}`);
      libraryPaths.set(`/${segs.join("/")}`, referencedPaths(members).filter((p) => p.join("/") !== segs.join("/")));
    }
  };

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

    const principal = authority?.authenticate(req.headers.authorization);
    if (!hasBody(req)) return respond(req, res, verb, target, principal, undefined);
    return readBody(req, bodyLimit).then((buf) =>
      respond(req, res, verb, target, principal, parseJsonBody(buf, req.headers["content-type"])),
    );
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
    const txnId = target.txnId;
    if (txnId === undefined && verb === "post" && target.path === "/host/txn") {
      if (body !== undefined && !(isPlainObject(body) && Object.keys(body).length === 0)) {
        throw new BadRequestError("POST /host/txn takes an empty body");
      }
      if (target.key !== undefined) throw new BadRequestError("POST /host/txn takes no key");
      return k.beginSession(ownerOf(principal, req)).then((id) => {
        markSession(res, id);
        send(res, 204, undefined, { [TXN_HEADER]: id });
      });
    }

    let session: ServedSession | undefined;
    let txnHeaders: Record<string, string> | undefined;
    if (txnId !== undefined) {
      const owner = ownerOf(principal, req);
      txnHeaders = { [TXN_HEADER]: txnId };
      const finalize =
        (verb === "post" || verb === "delete") && body === undefined && target.key === undefined && isComponentRoot(target.segments);
      if (finalize) {
        markSession(res, undefined);
        const done = verb === "post" ? k.commitSession(txnId, owner) : k.rollbackSession(txnId, owner);
        return done.then(() => send(res, 204, undefined, txnHeaders));
      }
      markSession(res, txnId);
      session = { id: txnId, owner };
    }
    if (principal) authority!.authorize(principal, verb, target.segments);

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
    if (principal) {
      authorizeReferences(principal, request.key);
      authorizeReferences(principal, request.body);
      authorizeLibraryCall(principal, target);
    }

    if (verb === "put" && target.path === "/lib") {
      return k.request(request, session).then(() => {
        rememberInstall(principal, target, request.body);
        send(res, 204, undefined, txnHeaders);
      });
    }
    return k.request(request, session).then((result) => send(res, 200, result === undefined ? null : result, txnHeaders));
  };

  /** Answers a failed request with its error (a non-TcError is logged and answered 500). */
  const fail = (res: ServerResponse, e: unknown): void => {
    if (e instanceof TcError) {
      sendError(res, e, e.kind === "payload_too_large");
    } else {
      log?.(`internal error: ${e instanceof Error ? e.message : String(e)}`);
      sendError(res, new InternalError("internal error"));
    }
  };

  // Keys travel in the query string, so allow request lines up to the target limit (64 KiB).
  const server = createServer({ keepAlive: true, maxHeaderSize: 64 * 1024 }, (req, res) => {
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
        log(`${req.method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path} ${res.statusCode} ${(performance.now() - started).toFixed(1)}ms`);
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
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || err.code === "ECONNRESET") {
      socket.destroy();
      return;
    }
    const e =
      err.code === "HPE_INVALID_METHOD"
        ? new MethodNotAllowedError("unknown HTTP method: use GET, PUT, POST or DELETE")
        : err.code === "HPE_HEADER_OVERFLOW"
          ? new BadRequestError("request headers too large")
          : new BadRequestError("malformed HTTP request");
    const text = JSON.stringify(e.toBody());
    const reason = e.status === 405 ? "Method Not Allowed" : "Bad Request";
    socket.end(
      `HTTP/1.1 ${e.status} ${reason}\r\ncontent-type: ${JSON_TYPE}\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    );
  });

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
