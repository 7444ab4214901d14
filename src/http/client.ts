/**
 * The HTTP client Executor: runs ops and requests on a remote TinyChain host (or an embedded
 * kernel served by `serve`) through a pooled, keep-alive undici `Pool`.
 *
 * Ops are prepared statements: the first `execute` of an op installs it under a content-addressed
 * library version `/lib/tinychain-orm/prepared/0.0.0-q<hash>` (member `op`), every execution then
 * calls that member with the arguments — one round trip. A 404 on the call (the host lost or never
 * committed the install) re-installs once and retries.
 *
 * A session (`session()`, http-session.ts) is a transaction the host begins with the session's
 * first call and holds open (PROFILE §4 "Transactions"); its id stays inside the session.
 */
import type { IncomingHttpHeaders } from "node:http";
import { Client, Pool, type Dispatcher } from "undici";
import {
  BadRequestError,
  InternalError,
  TcError,
  TimeoutError,
  UnavailableError,
} from "../errors.js";
import { cleanOpName, encode, opHash, opName, OP_NAME_HEADER } from "../ir/index.js";
import type { Json, OpDef, Verb } from "../ir/types.js";
import { PATHS } from "../ir/types.js";
import { isWellFormedString } from "../ir/well-formed.js";
import type { ExecRequest, Executor } from "../executor.js";
import { errorFromResponse, retryAfterMs } from "../wire-errors.js";
import { BEGIN_HEADERS, HttpSession, sessionChannel, type Channel, type RawResponse } from "./http-session.js";

/** Options of {@link http}. */
export interface HttpOptions {
  /** Bearer token sent with every request. */
  readonly token?: string;
  /** Per-request timeout in ms (headers and body each); default 30 000. */
  readonly timeoutMs?: number;
  /** Maximum pooled connections; default 16. */
  readonly connections?: number;
  /** Library publisher/name under which ops are installed; default `tinychain-orm/prepared`. */
  readonly library?: { readonly publisher: string; readonly name: string };
  /**
   * Tries for a GET or a session begin answered 503 or 429 with `Retry-After` (default 3), and the
   * longest wait (default 2000 ms).
   */
  readonly retry?: { readonly tries?: number; readonly maxDelayMs?: number };
}

const OPDEF_VERBS: Record<string, Verb> = {
  [PATHS.opdef.get]: "get",
  [PATHS.opdef.put]: "put",
  [PATHS.opdef.post]: "post",
  [PATHS.opdef.delete]: "delete",
};

/** An op prepared for this host: where it lives and how to call it. */
interface Prepared {
  readonly hash: string;
  readonly version: string;
  readonly memberPath: string;
  /** `memberPath` checked and percent-encoded once, ready for the request line. */
  readonly callPath: string;
  readonly verb: Verb;
  /** GET/PUT/DELETE: the names of the key and value parameters. */
  readonly keyName?: string;
  readonly valueName?: string;
  /** The `PUT /lib` body that installs it. */
  readonly installBody: Json;
  /** Headers of the install: the op's readable name (`x-tc-op-name`) when it has one. */
  readonly installHeaders?: Record<string, string>;
}


type WireArgs = Readonly<Record<string, Json>>;

const NO_HEADERS: IncomingHttpHeaders = Object.freeze({});

/**
 * One request on an undici dispatcher, collected straight from the dispatch callbacks: status,
 * headers and the body text, with no response stream, async resource or promise per chunk in
 * between (what `dispatcher.request()` + `body.text()` would add to every call). Settles once:
 * resolves with any status, rejects with a typed transport error. A GET answered 503 or 429 with
 * `Retry-After` is dispatched again after that delay, at most `retriesLeft` more times.
 */
class Exchange implements Dispatcher.DispatchHandler {
  #status = 0;
  #headers: IncomingHttpHeaders = NO_HEADERS;
  #chunks: Buffer[] = [];

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly opts: Dispatcher.DispatchOptions,
    private readonly retriesLeft: number,
    private readonly maxDelayMs: number,
    private readonly resolve: (res: RawResponse) => void,
    private readonly reject: (err: TcError) => void,
  ) {}

  start(): void {
    try {
      this.dispatcher.dispatch(this.opts, this);
    } catch (e) {
      this.onResponseError(undefined, e as Error);
    }
  }

  /** Present so undici treats this as a current-style handler (it adapts those without it). */
  onRequestStart(): void {}

  onResponseStart(_controller: unknown, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx interim responses come first; the final status overwrites them.
    this.#status = statusCode;
    this.#headers = headers;
  }

  onResponseData(_controller: unknown, chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if ((this.#status === 503 || this.#status === 429) && this.retriesLeft > 0) {
      const wait = retryAfterMs(this.#headers["retry-after"]);
      if (wait !== undefined) {
        const again = new Exchange(this.dispatcher, this.opts, this.retriesLeft - 1, this.maxDelayMs, this.resolve, this.reject);
        setTimeout(() => again.start(), Math.min(wait, this.maxDelayMs));
        return;
      }
    }
    const chunks = this.#chunks;
    const text = chunks.length === 0 ? "" : (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString("utf8");
    this.resolve({ status: this.#status, headers: this.#headers, text });
  }

  onResponseError(_controller: unknown, err: Error): void {
    this.reject(transportError(err, `${this.opts.method} ${this.opts.path.split("?")[0]}`));
  }
}

/** 2xx → the JSON value (204/empty → null); anything else → the typed error of its body/status. */
function decodeResponse(res: RawResponse): Json {
  if (res.status < 200 || res.status >= 300) throw errorFromResponse(res.status, res.text, res.headers);
  if (res.status === 204 || res.text === "") return null;
  try {
    return JSON.parse(res.text) as Json;
  } catch {
    throw new InternalError(`the host answered ${res.status} with a body that is not JSON: ${res.text.slice(0, 200)}`);
  }
}

/** The value of the parameter `name` in `args` (null when absent or unnamed). */
function argOf(args: WireArgs, name: string | undefined): Json {
  return name !== undefined && Object.hasOwn(args, name) ? args[name]! : null;
}

function isDecodedOpDef(op: Json | OpDef): op is OpDef {
  return typeof op === "object" && op !== null && !Array.isArray(op) && (op as { kind?: unknown }).kind === "opdef";
}

function encodeQuery(key: Json | undefined, txnId: string | undefined): string {
  const k = key !== undefined && key !== null ? `key=${encodeURIComponent(JSON.stringify(key))}` : undefined;
  const t = txnId !== undefined ? `txn_id=${encodeURIComponent(txnId)}` : undefined;
  if (k === undefined) return t === undefined ? "" : `?${t}`;
  return t === undefined ? `?${k}` : `?${k}&${t}`;
}

function checkPath(path: string): void {
  if (typeof path !== "string" || !path.startsWith("/") || path.includes("?") || path.includes("#") || /^[a-z][a-z0-9+.-]*:/i.test(path)) {
    throw new BadRequestError(`expected a path such as /state/<ns>/<table>, got ${JSON.stringify(String(path)).slice(0, 100)}`);
  }
  if (!isWellFormedString(path)) {
    throw new BadRequestError(`the path ${JSON.stringify(path).slice(0, 100)} has a lone surrogate (an unpaired UTF-16 code unit in U+D800..U+DFFF), which a URL cannot carry`);
  }
}

/** Paths made only of these characters need no percent-encoding (the common case). */
const PLAIN_PATH = /^[A-Za-z0-9_.\/-]*$/;

function encodePath(path: string): string {
  if (PLAIN_PATH.test(path)) return path;
  return path
    .split("/")
    .map((s) => encodeURIComponent(s))
    .join("/");
}

function transportError(e: unknown, what: string): TcError {
  if (e instanceof TcError) return e;
  const code = (e as { code?: string } | undefined)?.code ?? "";
  const message = e instanceof Error ? e.message : String(e);
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || code === "UND_ERR_CONNECT_TIMEOUT") {
    return new TimeoutError(`${what} timed out (${code})`, { cause: e });
  }
  if (code === "UND_ERR_ABORTED" || (e as Error | undefined)?.name === "AbortError") {
    return new TimeoutError(`${what} was aborted`, { cause: e });
  }
  if (code === "UND_ERR_DESTROYED" || code === "UND_ERR_CLOSED") return new UnavailableError(`${what}: the client is closed`, { cause: e });
  return new UnavailableError(`${what} failed: ${code ? `${code} ` : ""}${message}`, { cause: e });
}

/** The HTTP Executor; create it with {@link http}. */
export class HttpExecutor implements Executor {
  readonly url: string;
  readonly #pool: Pool;
  readonly #shared: Channel;
  /** Connections pinned by open sessions (closed with the executor). */
  readonly #sessionClients = new Set<Client>();
  /** Session connections kept open for the next session (at most `connections`). */
  readonly #idleSessionClients: Client[] = [];
  readonly #maxIdleSessionClients: number;
  readonly #auth: string | undefined;
  readonly #timeoutMs: number;
  readonly #publisher: string;
  readonly #libName: string;
  readonly #tries: number;
  readonly #maxDelayMs: number;
  /** Installs done (or under way) by this client, by op hash. */
  readonly #installed = new Map<string, Promise<void>>();
  /** Op hashes whose install is confirmed: their calls skip the wait on the install. */
  readonly #ready = new Set<string>();
  /** Prepared ops by op object, so re-executing the same object does not re-hash it. */
  readonly #byObject = new WeakMap<object, Prepared>();
  #closed = false;
  /** What `GET /host` listed (`extensions()`), once asked. */
  #extensions: Promise<ReadonlySet<string>> | undefined;
  /** Request headers without and with a JSON body (built once). */
  readonly #headers: Record<string, string>;
  readonly #jsonHeaders: Record<string, string>;

  constructor(url: string, opts: HttpOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new BadRequestError(`invalid host URL ${JSON.stringify(String(url)).slice(0, 100)}`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new BadRequestError(`host URL must be http:// or https://, got ${JSON.stringify(parsed.protocol)}`);
    }
    if ((parsed.pathname !== "/" && parsed.pathname !== "") || parsed.search || parsed.hash || parsed.username || parsed.password) {
      throw new BadRequestError("host URL must be an origin only (scheme://host:port), without a path, query or credentials");
    }
    if (opts.token !== undefined && (typeof opts.token !== "string" || !/^\S+$/.test(opts.token))) {
      throw new BadRequestError("token must be a non-empty string without whitespace");
    }
    this.url = parsed.origin;
    this.#auth = opts.token !== undefined ? `Bearer ${opts.token}` : undefined;
    this.#headers = { accept: "application/json", ...(this.#auth ? { authorization: this.#auth } : {}) };
    this.#jsonHeaders = { ...this.#headers, "content-type": "application/json" };
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#publisher = opts.library?.publisher ?? "tinychain-orm";
    this.#libName = opts.library?.name ?? "prepared";
    this.#tries = Math.max(1, Math.min(opts.retry?.tries ?? 3, 10));
    this.#maxDelayMs = opts.retry?.maxDelayMs ?? 2000;
    this.#pool = new Pool(parsed.origin, {
      connections: opts.connections ?? 16,
      pipelining: 1,
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 60_000,
    });
    this.#shared = { dispatcher: this.#pool };
    this.#maxIdleSessionClients = opts.connections ?? 16;
  }

  /**
   * One HTTP exchange; rejects with transport failures as typed errors, resolves with any status.
   * `retryable` (default: reads) exchanges answered 503 or 429 with `Retry-After` are sent again.
   */
  #send(dispatcher: Dispatcher, method: string, pathAndQuery: string, body: string | undefined, retryable = method === "GET", extra?: Record<string, string>): Promise<RawResponse> {
    if (this.#closed) return Promise.reject(new BadRequestError("this HTTP executor is closed"));
    const headers = body === undefined ? this.#headers : this.#jsonHeaders;
    const opts: Dispatcher.DispatchOptions = {
      method: method as Dispatcher.HttpMethod,
      path: pathAndQuery,
      headers: extra === undefined ? headers : { ...headers, ...extra },
      body: body ?? null,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    };
    // Only reads and session begins are retried (on 503 or 429 with Retry-After): the host did nothing.
    const retries = retryable ? this.#tries - 1 : 0;
    return new Promise((resolve, reject) => new Exchange(dispatcher, opts, retries, this.#maxDelayMs, resolve, reject).start());
  }

  /** Sends and decodes: 2xx → JSON (204/empty → null); anything else → the typed error. */
  #call(ch: Channel, method: string, pathAndQuery: string, body: string | undefined, extra?: Record<string, string>): Promise<Json> {
    const headers = ch.headers === undefined ? extra : extra === undefined ? ch.headers : { ...ch.headers, ...extra };
    return this.#send(ch.dispatcher, method, pathAndQuery, body, method === "GET", headers).then(decodeResponse);
  }

  /** @internal Runs a request on a channel (the shared pool, or a session's connection). */
  requestIn(req: ExecRequest, ch: Channel = this.#shared): Promise<Json> {
    try {
      const txnId = ch.txnId;
      if (typeof req !== "object" || req === null) throw new BadRequestError("request must be an object {verb, path, key?, body?}");
      checkPath(req.path);
      const path = encodePath(req.path);
      switch (req.verb) {
        case "get":
        case "delete":
          return this.#call(ch, req.verb.toUpperCase(), path + encodeQuery(req.key, txnId), undefined);
        case "put":
          return this.#call(ch, "PUT", path + encodeQuery(req.key, txnId), JSON.stringify(req.body ?? null));
        case "post": {
          const params = req.body ?? {};
          if (typeof params !== "object" || params === null || Array.isArray(params)) {
            throw new BadRequestError("a POST request's body must be an object of params");
          }
          return this.#call(ch, "POST", path + encodeQuery(undefined, txnId), JSON.stringify(params));
        }
        default:
          throw new BadRequestError(`unknown verb ${JSON.stringify(String((req as { verb: unknown }).verb))}: use get, put, post or delete`);
      }
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #prepare(op: Json | OpDef): Prepared {
    const cached = typeof op === "object" && op !== null ? this.#byObject.get(op) : undefined;
    if (cached) return cached;
    const json: Json = isDecodedOpDef(op) ? encode(op) : op;
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new BadRequestError("execute expects an OpDef such as {\"/state/scalar/op/post\": [...]}");
    }
    const keys = Object.keys(json);
    const verb = keys.length === 1 ? OPDEF_VERBS[keys[0]!] : undefined;
    if (verb === undefined) throw new BadRequestError("execute expects an OpDef such as {\"/state/scalar/op/post\": [...]}");
    const form = (json as Record<string, Json>)[keys[0]!];
    let keyName: string | undefined;
    let valueName: string | undefined;
    if (verb !== "post") {
      if (!Array.isArray(form) || typeof form[0] !== "string") throw new BadRequestError(`a ${verb.toUpperCase()} OpDef starts with its key name`);
      keyName = form[0] as string;
      if (verb === "put") {
        if (typeof form[1] !== "string") throw new BadRequestError("a PUT OpDef starts with its key and value names");
        valueName = form[1] as string;
      }
    }
    const hash = opHash(json);
    const version = `/lib/${this.#publisher}/${this.#libName}/0.0.0-q${hash}`;
    const memberPath = `${version}/op`;
    checkPath(memberPath);
    const prepared: Prepared = {
      hash,
      version,
      memberPath,
      callPath: encodePath(memberPath),
      verb,
      ...(keyName !== undefined ? { keyName } : {}),
      ...(valueName !== undefined ? { valueName } : {}),
      installBody: { [version]: { op: json } },
    };
    const name = opName(op);
    if (name !== undefined) (prepared as { installHeaders?: Record<string, string> }).installHeaders = { [OP_NAME_HEADER]: encodeURIComponent(cleanOpName(name)) };
    if (typeof op === "object" && op !== null) this.#byObject.set(op, prepared);
    return prepared;
  }

  /** Installs `p` outside any session, once per client (concurrent callers share the request). */
  #install(p: Prepared, force: boolean): Promise<void> {
    const known = this.#installed.get(p.hash);
    if (known && !force) return known;
    this.#ready.delete(p.hash);
    const pending = this.#call(this.#shared, "PUT", "/lib", JSON.stringify(p.installBody), p.installHeaders).then(() => {
      if (this.#installed.get(p.hash) === pending) this.#ready.add(p.hash);
    });
    this.#installed.set(p.hash, pending);
    pending.catch(() => {
      if (this.#installed.get(p.hash) === pending) this.#installed.delete(p.hash);
    });
    return pending;
  }

  /** The request line and body that call `p` with `args` (`txnId` for a session's call). */
  static #callOf(p: Prepared, args: WireArgs, txnId: string | undefined): { method: string; path: string; body: string | undefined } {
    switch (p.verb) {
      case "post":
        return { method: "POST", path: p.callPath + encodeQuery(undefined, txnId), body: JSON.stringify(args) };
      case "put":
        return { method: "PUT", path: p.callPath + encodeQuery(argOf(args, p.keyName), txnId), body: JSON.stringify(argOf(args, p.valueName)) };
      default:
        return { method: p.verb === "get" ? "GET" : "DELETE", path: p.callPath + encodeQuery(argOf(args, p.keyName), txnId), body: undefined };
    }
  }

  #invoke(p: Prepared, args: WireArgs, ch: Channel): Promise<Json> {
    const call = HttpExecutor.#callOf(p, args, ch.txnId);
    return this.#call(ch, call.method, call.path, call.body);
  }

  /**
   * Calls an installed op outside any session. A 404 (the install is gone, e.g. a restarted
   * in-memory host) installs it again and calls once more.
   */
  #invokeShared(p: Prepared, args: WireArgs, retry: boolean): Promise<Json> {
    const call = HttpExecutor.#callOf(p, args, undefined);
    return this.#send(this.#pool, call.method, call.path, call.body).then((res) => {
      if (retry && res.status >= 300) {
        const err = errorFromResponse(res.status, res.text, res.headers);
        if (err.kind !== "not_found") throw err;
        return this.#install(p, true).then(() => this.#invokeShared(p, args, false));
      }
      return decodeResponse(res);
    });
  }

  static #checkArgs(args: WireArgs | undefined): WireArgs {
    const a = args ?? {};
    if (typeof a !== "object" || a === null || Array.isArray(a)) throw new BadRequestError("execute: args must be an object of named values");
    return a;
  }

  /**
   * @internal Executes a prepared op inside a session. An op not yet installed by this client is
   * installed inside the session (a session holds the host's transaction, so an install outside
   * it could wait on it); it counts as installed for the whole client only once the session
   * commits. A failed call ends the session on the host, so there is no retry here.
   */
  async executeInSession(op: Json | OpDef, args: WireArgs | undefined, ch: Channel, local: Set<string>): Promise<Json> {
    const a = HttpExecutor.#checkArgs(args);
    const p = this.#prepare(op);
    if (!local.has(p.hash) && !this.#installed.has(p.hash)) {
      await this.#call(ch, "PUT", `/lib${encodeQuery(undefined, ch.txnId)}`, JSON.stringify(p.installBody), p.installHeaders);
      local.add(p.hash);
    }
    try {
      return await this.#invoke(p, a, ch);
    } catch (e) {
      if (e instanceof TcError && e.kind === "not_found" && !local.has(p.hash)) {
        this.#installed.delete(p.hash);
        this.#ready.delete(p.hash);
      }
      throw e;
    }
  }

  /** @internal Records ops installed inside a committed session as installed for the client. */
  adoptInstalls(hashes: Iterable<string>): void {
    for (const h of hashes) {
      if (this.#installed.has(h)) continue;
      this.#installed.set(h, Promise.resolve());
      this.#ready.add(h);
    }
  }

  /**
   * Executes a prepared op in its own transaction: one round trip once it is installed (the
   * install is the first call's extra round trip).
   */
  execute(op: Json | OpDef, args?: WireArgs): Promise<Json> {
    try {
      const a = HttpExecutor.#checkArgs(args);
      // Fast path: this op object was prepared and its install confirmed.
      const known = typeof op === "object" && op !== null ? this.#byObject.get(op) : undefined;
      if (known !== undefined && this.#ready.has(known.hash)) return this.#invokeShared(known, a, true);
      const p = this.#prepare(op);
      return this.#install(p, false).then(() => this.#invokeShared(p, a, true));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  request(req: ExecRequest): Promise<Json> {
    return this.requestIn(req);
  }

  /**
   * The extensions the host lists in `GET /host` (fetched once; a host without the route — 404 —
   * serves none).
   */
  extensions(): Promise<ReadonlySet<string>> {
    this.#extensions ??= this.requestIn({ verb: "get", path: "/host", key: null }).then(
      (info) => {
        const list = (info as { extensions?: unknown } | null)?.extensions;
        return new Set(Array.isArray(list) ? list.filter((x): x is string => typeof x === "string") : []);
      },
      (e: unknown) => {
        if (e instanceof TcError && e.kind === "not_found") return new Set<string>();
        this.#extensions = undefined;
        throw e;
      },
    );
    return this.#extensions;
  }

  /**
   * A session: a held transaction the host begins now (an empty `POST /lib` with
   * `x-tc-txn: hold`) on a connection of its own; its id and owner token stay inside it.
   */
  async session(): Promise<HttpSession> {
    const client = this.#sessionClient();
    try {
      // A refused begin (503: the host's lock queue is full) began nothing: it is tried again.
      const res = await this.#send(client, "POST", "/lib", undefined, true, BEGIN_HEADERS);
      decodeResponse(res);
      return new HttpSession(this, sessionChannel(client, this.#auth, res.headers));
    } catch (e) {
      await this.#release(client, false);
      throw e;
    }
  }

  /**
   * A participant's session (TinyChain's participant protocol, PROFILE §4 "Transactions"): it
   * continues transaction `id`, which another host began, on a connection of its own. Its calls
   * carry `?txn_id=<id>` and a bearer token: this client's configured one when it has one (the
   * host must accept it: a token-file entry, or an RJWT from an issuer it trusts), else `token`
   * (the owner token the beginning host answered with, which a host without token checks takes
   * as any text). Nothing is sent now: the first call pins the id, unseen here, to that token's
   * owner — until then the host knows no such transaction, so a commit or rollback before any
   * call is answered 404.
   */
  join(id: string, token?: string): HttpSession {
    if (this.#closed) throw new BadRequestError("this HTTP executor is closed");
    if (typeof id !== "string" || id === "") throw new BadRequestError("join needs the transaction id the beginning host answered with");
    const bearer = this.#auth ?? (token !== undefined ? `Bearer ${token}` : undefined);
    if (bearer === undefined) throw new BadRequestError("joining a transaction begun on another host needs a bearer token (configure one, or pass the owner token)");
    const client = this.#sessionClient();
    return new HttpSession(this, { dispatcher: client, txnId: id, headers: { authorization: bearer }, ...(token !== undefined ? { ownerToken: token } : {}) });
  }

  /** A connection of its own for a session: an idle one kept from an earlier session, or a new one. */
  #sessionClient(): Client {
    if (this.#closed) throw new BadRequestError("this HTTP executor is closed");
    const client = this.#idleSessionClients.pop() ?? new Client(this.url, { pipelining: 1, keepAliveTimeout: 4_000 });
    this.#sessionClients.add(client);
    return client;
  }

  /** Ends a session's hold on its connection: keeps it for the next session, or closes it. */
  async #release(client: Client, reusable: boolean): Promise<void> {
    if (!this.#sessionClients.delete(client)) return;
    if (reusable && !this.#closed && !client.destroyed && !client.closed && this.#idleSessionClients.length < this.#maxIdleSessionClients) {
      this.#idleSessionClients.push(client);
      return;
    }
    await client.close().catch(() => undefined);
  }

  /** @internal Commits (POST) or rolls back (DELETE) a session with an empty body to `/lib`, then frees its connection. */
  async finalize(ch: Channel, commit: boolean): Promise<void> {
    let ok = false;
    try {
      await this.#call(ch, commit ? "POST" : "DELETE", `/lib${encodeQuery(undefined, ch.txnId)}`, undefined);
      ok = true;
    } finally {
      await this.#release(ch.dispatcher as Client, ok);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pinned = [...this.#sessionClients, ...this.#idleSessionClients.splice(0)];
    this.#sessionClients.clear();
    await Promise.all([this.#pool.close(), ...pinned.map((c) => c.destroy().catch(() => undefined))]);
  }
}

/**
 * An Executor for a remote TinyChain host (or `tinychain-orm serve`).
 *
 * @example
 * ```ts
 * const exec = http("http://127.0.0.1:8702", { token: process.env.TC_TOKEN, timeoutMs: 5000 });
 * const n = await exec.request({ verb: "get", path: "/state/social/users/count", key: null });
 * const s = await exec.session(); await s.execute(op, { id: 1 }); await s.commit();
 * await exec.close();
 * ```
 */
export function http(url: string, opts?: HttpOptions): Executor {
  return new HttpExecutor(url, opts);
}

