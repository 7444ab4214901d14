/**
 * The HTTP client Executor: runs ops and requests on a remote TinyChain host (or an embedded
 * kernel served by `serve`) through a pooled, keep-alive undici `Pool`.
 *
 * Ops are prepared statements: the first `execute` of an op installs it under a content-addressed
 * library version `/lib/tinychain-orm/prepared/0.0.0-q<hash>` (member `op`), every execution then
 * calls that member with the arguments — one round trip. A 404 on the call (the host lost or never
 * committed the install) re-installs once and retries.
 */
import { Client, Pool, type Dispatcher } from "undici";
import {
  BadRequestError,
  InternalError,
  TcError,
  TimeoutError,
  UnavailableError,
} from "../../errors.js";
import { encode, opHash } from "../../ir/index.js";
import type { Json, OpDef, Verb } from "../../ir/types.js";
import { PATHS } from "../../ir/types.js";
import type { ExecRequest, Executor, Session } from "../executor.js";
import { errorFromResponse } from "./wire-errors.js";

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
  /** Tries for a GET answered 503 with `Retry-After` (default 3), and the longest wait (default 2000 ms). */
  readonly retry?: { readonly tries?: number; readonly maxDelayMs?: number };
}

const TXN_HEADER = "x-tc-txn-id";
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
  readonly verb: Verb;
  /** GET/PUT/DELETE: the names of the key and value parameters. */
  readonly keyName?: string;
  readonly valueName?: string;
  /** The `PUT /lib` body that installs it. */
  readonly installBody: Json;
}

/**
 * Where a request goes: the shared pool, or a session's own connection plus its transaction id.
 * A session pins one connection (like a database driver pins a connection to a transaction): its
 * transaction holds the host's lock, so its requests must never queue behind pooled requests that
 * are themselves waiting for that lock.
 */
interface Channel {
  readonly dispatcher: Dispatcher;
  readonly txnId?: string;
}

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

function isDecodedOpDef(op: Json | OpDef): op is OpDef {
  return typeof op === "object" && op !== null && !Array.isArray(op) && (op as { kind?: unknown }).kind === "opdef";
}

function encodeQuery(key: Json | undefined, txnId: string | undefined): string {
  const parts: string[] = [];
  if (key !== undefined && key !== null) parts.push(`key=${encodeURIComponent(JSON.stringify(key))}`);
  if (txnId !== undefined) parts.push(`txn_id=${encodeURIComponent(txnId)}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

function checkPath(path: string): void {
  if (typeof path !== "string" || !path.startsWith("/") || path.includes("?") || path.includes("#") || /^[a-z][a-z0-9+.-]*:/i.test(path)) {
    throw new BadRequestError(`expected a path such as /state/<ns>/<table>, got ${JSON.stringify(String(path)).slice(0, 100)}`);
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

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined || v.trim() === "") return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
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
  /** Prepared ops by op object, so re-executing the same object does not re-hash it. */
  readonly #byObject = new WeakMap<object, Prepared>();
  #closed = false;
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

  /** One HTTP exchange; throws transport failures as typed errors, returns any status. */
  async #send(dispatcher: Dispatcher, method: string, pathAndQuery: string, body: string | undefined): Promise<RawResponse> {
    if (this.#closed) throw new BadRequestError("this HTTP executor is closed");
    const headers = body === undefined ? this.#headers : this.#jsonHeaders;
    let attempt = 0;
    for (;;) {
      attempt++;
      let res: RawResponse;
      try {
        const r = await dispatcher.request({
          method: method as "GET",
          path: pathAndQuery,
          headers,
          ...(body !== undefined ? { body } : {}),
          headersTimeout: this.#timeoutMs,
          bodyTimeout: this.#timeoutMs,
        });
        res = { status: r.statusCode, headers: r.headers, text: await r.body.text() };
      } catch (e) {
        throw transportError(e, `${method} ${pathAndQuery.split("?")[0]}`);
      }
      if (res.status === 503 && method === "GET" && attempt < this.#tries) {
        const wait = retryAfterMs(res.headers["retry-after"]);
        if (wait !== undefined) {
          await new Promise((r) => setTimeout(r, Math.min(wait, this.#maxDelayMs)));
          continue;
        }
      }
      return res;
    }
  }

  /** Sends and decodes: 2xx → JSON (204/empty → null); anything else → the typed error. */
  async #call(ch: Channel, method: string, pathAndQuery: string, body: string | undefined): Promise<{ value: Json; res: RawResponse }> {
    const res = await this.#send(ch.dispatcher, method, pathAndQuery, body);
    if (res.status < 200 || res.status >= 300) throw errorFromResponse(res.status, res.text);
    if (res.status === 204 || res.text === "") return { value: null, res };
    try {
      return { value: JSON.parse(res.text) as Json, res };
    } catch {
      throw new InternalError(`the host answered ${res.status} with a body that is not JSON: ${res.text.slice(0, 200)}`);
    }
  }

  /** @internal Runs a request on a channel (the shared pool, or a session's connection). */
  async requestIn(req: ExecRequest, ch: Channel = this.#shared): Promise<Json> {
    const txnId = ch.txnId;
    if (typeof req !== "object" || req === null) throw new BadRequestError("request must be an object {verb, path, key?, body?}");
    checkPath(req.path);
    const path = encodePath(req.path);
    switch (req.verb) {
      case "get":
      case "delete":
        return (await this.#call(ch, req.verb.toUpperCase(), path + encodeQuery(req.key, txnId), undefined)).value;
      case "put":
        return (await this.#call(ch, "PUT", path + encodeQuery(req.key, txnId), JSON.stringify(req.body ?? null))).value;
      case "post": {
        const params = req.body ?? {};
        if (typeof params !== "object" || params === null || Array.isArray(params)) {
          throw new BadRequestError("a POST request's body must be an object of params");
        }
        return (await this.#call(ch, "POST", path + encodeQuery(undefined, txnId), JSON.stringify(params))).value;
      }
      default:
        throw new BadRequestError(`unknown verb ${JSON.stringify(String((req as { verb: unknown }).verb))}: use get, put, post or delete`);
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
    const prepared: Prepared = {
      hash,
      version,
      memberPath: `${version}/op`,
      verb,
      ...(keyName !== undefined ? { keyName } : {}),
      ...(valueName !== undefined ? { valueName } : {}),
      installBody: { [version]: { op: json } },
    };
    if (typeof op === "object" && op !== null) this.#byObject.set(op, prepared);
    return prepared;
  }

  /** Installs `p` outside any session, once per client (concurrent callers share the request). */
  #install(p: Prepared, force: boolean): Promise<void> {
    const known = this.#installed.get(p.hash);
    if (known && !force) return known;
    const pending = this.#call(this.#shared, "PUT", "/lib", JSON.stringify(p.installBody)).then(() => undefined);
    this.#installed.set(p.hash, pending);
    pending.catch(() => {
      if (this.#installed.get(p.hash) === pending) this.#installed.delete(p.hash);
    });
    return pending;
  }

  #invoke(p: Prepared, args: Readonly<Record<string, Json>>, ch: Channel): Promise<Json> {
    const arg = (name: string | undefined): Json => (name !== undefined && Object.hasOwn(args, name) ? args[name]! : null);
    switch (p.verb) {
      case "post":
        return this.requestIn({ verb: "post", path: p.memberPath, body: args as Json }, ch);
      case "put":
        return this.requestIn({ verb: "put", path: p.memberPath, key: arg(p.keyName), body: arg(p.valueName) }, ch);
      default:
        return this.requestIn({ verb: p.verb, path: p.memberPath, key: arg(p.keyName) }, ch);
    }
  }

  static #checkArgs(args: Readonly<Record<string, Json>> | undefined): Readonly<Record<string, Json>> {
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
  async executeInSession(op: Json | OpDef, args: Readonly<Record<string, Json>> | undefined, ch: Channel, local: Set<string>): Promise<Json> {
    const a = HttpExecutor.#checkArgs(args);
    const p = this.#prepare(op);
    if (!local.has(p.hash) && !this.#installed.has(p.hash)) {
      await this.#call(ch, "PUT", `/lib${encodeQuery(undefined, ch.txnId)}`, JSON.stringify(p.installBody));
      local.add(p.hash);
    }
    try {
      return await this.#invoke(p, a, ch);
    } catch (e) {
      if (e instanceof TcError && e.kind === "not_found" && !local.has(p.hash)) this.#installed.delete(p.hash);
      throw e;
    }
  }

  /** @internal Records ops installed inside a committed session as installed for the client. */
  adoptInstalls(hashes: Iterable<string>): void {
    for (const h of hashes) if (!this.#installed.has(h)) this.#installed.set(h, Promise.resolve());
  }

  /** Executes a prepared op in its own transaction; a 404 on the call re-installs once. */
  async #execute(op: Json | OpDef, args: Readonly<Record<string, Json>> | undefined): Promise<Json> {
    const a = HttpExecutor.#checkArgs(args);
    const p = this.#prepare(op);
    await this.#install(p, false);
    try {
      return await this.#invoke(p, a, this.#shared);
    } catch (e) {
      if (!(e instanceof TcError) || e.kind !== "not_found") throw e;
      // The install may be gone (e.g. a restarted in-memory host): install again, call once more.
      await this.#install(p, true);
      return await this.#invoke(p, a, this.#shared);
    }
  }

  execute(op: Json | OpDef, args?: Readonly<Record<string, Json>>): Promise<Json> {
    return this.#execute(op, args);
  }

  request(req: ExecRequest): Promise<Json> {
    return this.requestIn(req);
  }

  async session(): Promise<Session> {
    if (this.#closed) throw new BadRequestError("this HTTP executor is closed");
    const client = this.#idleSessionClients.pop() ?? new Client(this.url, { pipelining: 1, keepAliveTimeout: 4_000 });
    this.#sessionClients.add(client);
    try {
      const { res } = await this.#call({ dispatcher: client }, "POST", "/host/txn", undefined);
      const id = res.headers[TXN_HEADER];
      if (typeof id !== "string" || id === "") throw new InternalError(`the host began a session without an ${TXN_HEADER} header`);
      return new HttpSession(this, { dispatcher: client, txnId: id });
    } catch (e) {
      await this.#release(client, false);
      throw e;
    }
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

/** A multi-request transaction on a remote host; the transaction id stays inside. */
class HttpSession implements Session {
  readonly #client: HttpExecutor;
  readonly #channel: Channel;
  /** Op hashes installed inside this session (visible to the client once it commits). */
  readonly #installs = new Set<string>();
  #done = false;

  constructor(client: HttpExecutor, channel: Channel) {
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

  /** For `console.log`: never shows the transaction id. */
  toJSON(): string {
    return "[HttpSession]";
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

