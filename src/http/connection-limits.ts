/**
 * Connection limits of the HTTP server (PROFILE §4 "Connections"): how many connections it keeps,
 * how long a client may take to send a request, how long an idle keep-alive connection or a
 * stalled one (no bytes moving either way) stays open, and what happens to a connection whose
 * client sent something the HTTP parser refuses (an error answer, then the socket is destroyed).
 *
 * Every limit ends in the connection being closed, so a client that sends slowly, never finishes
 * a request, never reads its responses or opens connections without using them holds no server
 * descriptor for longer than the timeouts.
 */
import type { Server } from "node:http";
import type { Duplex } from "node:stream";
import { BadRequestError, MethodNotAllowedError, TcError, TimeoutError } from "../errors.js";

/** Connection options of `serve()` (all optional; defaults in {@link CONNECTION_DEFAULTS}). */
export interface ConnectionOptions {
  /** Most open connections; more are closed as soon as they are accepted. Default 2048. */
  readonly maxConnections?: number;
  /** Time a client has to send a request's headers (ms, default 10 000); then 408 and close. */
  readonly headersTimeoutMs?: number;
  /** Time a client has to send a whole request, body included (ms, default 30 000); then 408 and close. */
  readonly requestTimeoutMs?: number;
  /** How long a keep-alive connection may sit idle between requests (ms, default 5 000). */
  readonly keepAliveTimeoutMs?: number;
  /**
   * How long a connection may go with no bytes moving in either direction while it has a request
   * (ms, default 30 000): a client that never reads its responses, or one that opened a connection
   * and sent nothing. Then it is destroyed.
   */
  readonly socketTimeoutMs?: number;
}

/** The limits in force, every one set. */
export type ConnectionLimits = { readonly [K in keyof ConnectionOptions]-?: number };

/** Defaults of {@link ConnectionOptions}. */
export const CONNECTION_DEFAULTS: ConnectionLimits = {
  maxConnections: 2048,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  socketTimeoutMs: 30_000,
};

/** How long an error answer to a refused request may take to flush before the socket is cut. */
const ERROR_LINGER_MS = 1000;

/**
 * Validates the options and fills in the defaults. The headers timeout is at most the request
 * timeout (the whole request includes its headers).
 *
 * @example
 * ```ts
 * resolveConnectionLimits({ headersTimeoutMs: 2000 }).requestTimeoutMs; // 30000
 * ```
 */
export function resolveConnectionLimits(opts: ConnectionOptions): ConnectionLimits {
  const out: Record<string, number> = {};
  for (const name of Object.keys(CONNECTION_DEFAULTS) as (keyof ConnectionOptions)[]) {
    const v = opts[name] ?? CONNECTION_DEFAULTS[name];
    if (!Number.isInteger(v) || v < 1) throw new BadRequestError(`${name} must be a positive integer, found ${String(v)}`);
    out[name] = v;
  }
  out.headersTimeoutMs = Math.min(out.headersTimeoutMs!, out.requestTimeoutMs!);
  return out as ConnectionLimits;
}

/**
 * How often the server checks for requests past their headers / request timeout: often enough
 * that a timeout is enforced within a quarter of itself, at most once a second.
 */
export function checkingIntervalMs(limits: ConnectionLimits): number {
  return Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4)));
}

/**
 * Applies the limits to a `node:http` server created with `connectionsCheckingInterval:
 * checkingIntervalMs(limits)`, and answers malformed or timed-out requests with a typed error
 * before destroying their socket.
 *
 * @example
 * ```ts
 * const limits = resolveConnectionLimits({ maxConnections: 100 });
 * const server = createServer({ connectionsCheckingInterval: checkingIntervalMs(limits) }, handler);
 * limitConnections(server, limits);
 * ```
 */
export function limitConnections(server: Server, limits: ConnectionLimits): void {
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // No 'timeout' listener: node:http destroys a socket that is inactive this long. (A new
  // connection that sends nothing is cut by the headers timeout, which runs from the connection.)
  server.timeout = limits.socketTimeoutMs;
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    const started = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (!socket.writable || started || err.code === "ECONNRESET") {
      socket.destroy();
      return;
    }
    const e = clientErrorOf(err);
    const text = JSON.stringify(e.toBody());
    const reason = e.status === 405 ? "Method Not Allowed" : e.status === 408 ? "Request Timeout" : "Bad Request";
    // Answer, then destroy the socket once the answer is flushed — or after a short linger if
    // the client does not read it — so a refused client never keeps a descriptor.
    const timer = setTimeout(() => socket.destroy(), ERROR_LINGER_MS);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
    socket.end(
      `HTTP/1.1 ${e.status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
      () => socket.destroy(),
    );
  });
}

/** The typed error a client error of the HTTP parser is answered with. */
function clientErrorOf(err: NodeJS.ErrnoException): TcError {
  switch (err.code) {
    case "HPE_INVALID_METHOD":
      return new MethodNotAllowedError("unknown HTTP method: use GET, PUT, POST or DELETE");
    case "HPE_HEADER_OVERFLOW":
      return new BadRequestError("request headers too large");
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return new TimeoutError("the request was not received in time");
    default:
      return new BadRequestError("malformed HTTP request");
  }
}
