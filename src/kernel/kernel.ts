/**
 * `Kernel`: the host. It takes requests and ops (from `embedded()` in index.ts, or the HTTP
 * server), routes them (router.ts), runs ops (ops/), keeps sessions (sessions.ts) and the
 * libraries installed under `/lib` (ops/library.ts), and runs every call in a transaction of its
 * `Database` (state/database.ts), which owns the `/state` tables, the transaction lock and the
 * durable store. One `execute` or plain `request` is one transaction: all of its writes commit
 * together, or — on any error — none of them.
 */
import {
  BadRequestError,
  ForbiddenError,
  InternalError,
  MethodNotAllowedError,
  NotFoundError,
  TcError,
  UnavailableError,
} from "../errors.js";
import { assertId, decodeOpDef, encode, opHash } from "../ir/index.js";
import type { Json, OpDef, Verb } from "../ir/types.js";
import type { ExecRequest } from "../executor.js";
import { Database, DEFAULT_LOCK_QUEUE_LIMIT, type StateTxn } from "./state/database.js";
import {
  DEFAULT_LIBRARY_QUOTA,
  isContentAddressed,
  LibraryRegistry,
  parseInstall,
  type LibraryQuota,
  type LibraryVersion,
} from "./ops/library.js";
import { checkedGrant, checkSessionGrant, checkStatePath, GrantedTxn, type CheckedGrant, type Grant } from "./ops/grant.js";
import { DEFAULT_LIMITS, ExecContext, needsClock, type ExecLimits } from "./ops/exec-context.js";
import { invokeOp, refuseEgress } from "./ops/op-executor.js";
import { checkRoute, dispatch, healthz, parseRoute, routeLink, type Route } from "./router.js";
import { SessionTable } from "./sessions.js";
import { loadStoredVersions, removeVersion, storeVersion } from "./library-store.js";
import { TABLES_PATH, tableList } from "./table-list.js";
import { ServiceHost } from "./services/service-host.js";
import { Egress, type EgressOptions } from "./egress/remote-call.js";
import { KernelScope, type TxnScope } from "./txn-scope.js";
import { HOST_PATH, hostInfo } from "./host-info.js";
import { directTraverse, runDirect, type DirectTraverse } from "./ops/direct-traverse.js";
import { EncodedJson } from "./ops/encoded-json.js";
import { decodeData, isOpDef, queryRowsJson, toJson, valueMap, type KernelValue } from "./ops/kernel-value.js";

/** Options of `Kernel.open`. */
export interface KernelOptions {
  /** Directory of the durable store; in memory when absent. */
  readonly dataDir?: string;
  /** Time budget of a session's transaction in ms (default 3000). */
  readonly txnBudgetMs?: number;
  /**
   * A session with no call on it for this long (ms) is rolled back (default 500; at most the
   * budget counts). Later use of its id answers 408, as after the budget.
   */
  readonly sessionIdleMs?: number;
  /**
   * Most transactions (plain calls and session begins) that may wait for the transaction lock
   * (default 256); beyond it a call is refused with `UnavailableError` (503, `Retry-After: 1`).
   */
  readonly lockQueueLimit?: number;
  /** Execution guards (step budget, `while` iterations, call nesting, time). */
  readonly limits?: Partial<ExecLimits>;
  /** Size of the decoded-op cache (by content hash); default 4096. */
  readonly opCacheSize?: number;
  /** Per-principal limits on `/lib` installs (default 10 000 versions, 64 MiB). */
  readonly libQuota?: Partial<LibraryQuota>;
  /**
   * Ops that may run long (any op that is not flat, and every `/lib` call) each start on an
   * event-loop turn of their own, one after another, so that I/O (a `/healthz` probe, other
   * requests' bytes) is served between two of them. `serve()` turns this on for the kernel it
   * opens (pass it yourself to a kernel you hand to `serve({ kernel })`); default off (an
   * embedded caller awaits its own ops).
   */
  readonly opTurns?: boolean;
  /** Calls to other hosts: routes for paths served elsewhere, absolute targets allowed (default: none). */
  readonly egress?: EgressOptions;
  /** The wall-clock budget of one iteration of a `/service` task (default 3000 ms, TinyChain's cap). */
  readonly serviceIterationMs?: number;
}

/** Default of `KernelOptions.sessionIdleMs`: well under the 3 s budget, far above a round trip. */
export const DEFAULT_SESSION_IDLE_MS = 500;

/** A session reference: its id, and the owner that began it (the HTTP server's bearer token). */
export type SessionRef = string | { readonly id: string; readonly owner?: string };

/** Counters for tests and benchmarks. */
export interface KernelStats {
  /** Ops decoded from JSON (cache misses). */
  decodes: number;
  /** Executions whose op was found by JSON object identity. */
  identityHits: number;
  /** Executions whose op was found by content hash. */
  hashHits: number;
  /** Committed transactions. */
  commits: number;
  /** Rolled-back transactions. */
  rollbacks: number;
}

/** A decoded op as the op cache keeps it: the OpDef, and whether its executions need a clock. */
interface PreparedOp {
  readonly op: OpDef;
  readonly clock: boolean;
  /** Set when the op is one traverse request, which then runs as that request (ops/direct-traverse.ts). */
  readonly direct: DirectTraverse | undefined;
}

function preparedOp(op: OpDef): PreparedOp {
  return { op, clock: needsClock(op), direct: directTraverse(op) };
}

const VERBS: ReadonlySet<string> = new Set(["get", "put", "post", "delete"]);
/** With `opTurns`: ops may keep the event loop busy this long (ms) before it pauses for I/O. */
const TURN_BUSY_MS = 20;
/** With `opTurns`: how long the event loop then waits for I/O before the next op (ms). */
const TURN_PAUSE_MS = 2;

/**
 * The embedded kernel.
 *
 * @example
 * ```ts
 * const kernel = await Kernel.open({});                   // in memory
 * await kernel.request({ verb: "get", path: "/healthz" }); // {"status": "ok"}
 * await kernel.execute({"/state/scalar/op/post": [["r", {"$x/add": {"r": 1}}]]}, { x: 41 }); // 42
 * await kernel.close();
 * ```
 */
export class Kernel {
  /** Counters (decodes, cache hits, commits, rollbacks). */
  readonly stats: KernelStats = { decodes: 0, identityHits: 0, hashHits: 0, commits: 0, rollbacks: 0 };

  private readonly libs = new LibraryRegistry();
  private readonly sessions: SessionTable<TxnScope>;
  private limits: ExecLimits;
  /** True when `KernelOptions.limits.maxMillis` was given (serving keeps it). */
  private readonly ownClock: boolean;
  private readonly opCacheSize: number;
  private readonly libQuota: LibraryQuota;
  private opTurns: boolean;
  /** The last turn handed out by `nextTurn` (when `opTurns`). */
  private lastTurn: Promise<void> = Promise.resolve();
  /** Milliseconds ops ran in their turns since the event loop last had a pause for I/O. */
  private busyMs = 0;
  private readonly byObject = new WeakMap<object, PreparedOp>();
  private readonly byHash = new Map<string, PreparedOp>();
  private closed = false;
  /** Where ops may call other hosts (egress/); undefined: nowhere. */
  private readonly egress: Egress | undefined;
  /** The `/service` queues and their worker (services/). */
  private services!: ServiceHost;

  private constructor(
    private readonly db: Database,
    opts: KernelOptions,
  ) {
    const budget = opts.txnBudgetMs ?? 3000;
    if (!(budget > 0)) throw new BadRequestError(`txnBudgetMs must be positive, found ${budget}`);
    const idle = opts.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
    if (!(idle > 0)) throw new BadRequestError(`sessionIdleMs must be positive, found ${idle}`);
    const queue = opts.lockQueueLimit ?? DEFAULT_LOCK_QUEUE_LIMIT;
    if (!(Number.isInteger(queue) && queue >= 0)) throw new BadRequestError(`lockQueueLimit must be an integer ≥ 0, found ${queue}`);
    db.queueLimit = queue;
    this.sessions = new SessionTable<TxnScope>(budget, (scope) => this.rollback(scope), idle);
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.ownClock = opts.limits?.maxMillis !== undefined;
    this.opCacheSize = opts.opCacheSize ?? 4096;
    this.libQuota = { ...DEFAULT_LIBRARY_QUOTA, ...opts.libQuota };
    if (!(this.libQuota.maxVersions >= 0) || !(this.libQuota.maxBytes >= 0)) {
      throw new BadRequestError("libQuota: maxVersions and maxBytes must be non-negative numbers");
    }
    this.opTurns = opts.opTurns === true;
    this.egress = opts.egress ? new Egress(opts.egress) : undefined;
  }

  /**
   * Makes this kernel fit to be served (the HTTP server calls it for a kernel it is given): ops
   * take event-loop turns (`opTurns`) and each runs within `opMillis` of wall-clock time, unless
   * the kernel was opened with its own `limits.maxMillis`. Applies to every later call, embedded
   * ones included.
   *
   * @example
   * ```ts
   * const kernel = await Kernel.open();
   * kernel.serving(50); // what serve({ kernel }) does
   * ```
   */
  serving(opMillis: number): void {
    if (!(opMillis > 0)) throw new BadRequestError(`the served op budget must be positive, found ${opMillis}`);
    this.opTurns = true;
    if (!this.ownClock) this.limits = { ...this.limits, maxMillis: opMillis };
  }

  /** Opens a kernel on a new in-memory store, or on the durable store in `opts.dataDir`. */
  static async open(opts: KernelOptions = {}): Promise<Kernel> {
    const db = await Database.open(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir });
    const kernel = new Kernel(db, opts);
    try {
      kernel.libs.publish(await loadStoredVersions(db));
      kernel.services = await ServiceHost.load(db, kernel, opts.serviceIterationMs);
    } catch (e) {
      await db.close();
      throw e;
    }
    // Tasks left queued or running (by a crash or a close) resume.
    kernel.services.kick();
    return kernel;
  }

  /**
   * Executes a composite op with `args` bound by name (POST params, or the key/value names of a
   * GET/PUT/DELETE OpDef), in one transaction — or in a session's — and returns the value of its
   * last step as JSON. PUT and DELETE OpDefs answer `null`.
   *
   * `grant` (default: everything) is what the call may reach: every link the op resolves is
   * checked against it, and a call outside it fails with `ForbiddenError` (403), rolled back.
   */
  execute(op: Json | OpDef, args: Readonly<Record<string, Json>> = {}, session?: SessionRef, grant?: Grant, limits?: Partial<ExecLimits>): Promise<Json> {
    let prepared: PreparedOp;
    let params: Map<string, KernelValue>;
    let g: CheckedGrant;
    try {
      this.checkOpen();
      g = checkedGrant(grant);
      prepared = this.prepare(op);
      params = bindArgs(prepared.op, args);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.opTurns && prepared.clock) {
      return this.nextTurn().then(() => this.inTxn(session, (scope) => this.timed(() => this.executeIn(scope, prepared, params, g, limits))));
    }
    return this.inTxn(session, (scope) => this.executeIn(scope, prepared, params, g, limits));
  }

  /**
   * Runs one request (verb, path, key, body) in one transaction, or in a session's, under
   * `grant` (default: everything; see `execute`). `DELETE /lib/<publisher>/<name>/<version>`
   * removes a version: only its owner (the grant's principal that installed it) may.
   */
  async request(req: ExecRequest, session?: SessionRef, grant?: Grant): Promise<Json> {
    this.checkOpen();
    const g = checkedGrant(grant);
    if (req === null || typeof req !== "object") {
      throw new BadRequestError("a request is an object {verb, path, key?, body?}");
    }
    const verb = String(req.verb).toLowerCase();
    if (!VERBS.has(verb)) throw new MethodNotAllowedError(`unsupported verb ${JSON.stringify(req.verb)}`);
    const v = verb as Verb;
    if (typeof req.path !== "string") throw new BadRequestError("a request path must be a string");
    if (req.path === TABLES_PATH) return tableList(this.db.tablePaths(), v, g);
    if (req.path === "/service" || req.path.startsWith("/service/")) return this.services.request(req, g, session !== undefined);
    if (req.path === HOST_PATH) return hostInfo(v);
    const route = parseRoute(req.path);
    if (!g.all) {
      // Fail fast, before waiting for the transaction lock; the context checks again as it runs.
      if (route.kind === "state") checkStatePath(g, v, route.path, req.key);
      else if (!(route.kind === "lib_dir" && v === "put")) checkRoute(g, v, route);
    }
    switch (route.kind) {
      case "healthz":
        return toJson(healthz(v));
      case "not_found":
        throw new NotFoundError(route.why);
      case "remote":
        refuseEgress(route.href);
        break;
      case "lib_dir":
        if (v === "put") return this.install(parseInstall(req.body), session, g);
        break;
      case "lib":
        if (v === "delete" && route.route.length === 0) return this.uninstall(route.id, session, g);
        break;
    }
    const key = decodeData(req.key ?? null);
    let value: KernelValue | undefined;
    if (v === "put") value = decodeData(req.body ?? null);
    else if (v === "post") value = decodeParams(req.body);
    // Closures are passed inline, not bound to a name: a named closure made per call costs more
    // than the rest of a point GET where the build keeps function names.
    if (this.opTurns && route.kind === "lib") {
      await this.nextTurn();
      return this.inTxn(session, (scope) => this.timed(() => this.dispatchIn(scope, g, v, route, key, value)));
    }
    if (session === undefined && v === "get" && route.kind === "state" && route.path[2] !== "traverse" && route.path[2] !== "query") {
      // A plain read while a session holds the lock: the last committed state, without waiting.
      // (A traversal or a query reads derived structures kept for the live tables, so it waits.)
      const committed = this.db.readCommitted();
      if (committed !== undefined) return this.runAndCommit(this.scope(committed), (scope) => this.dispatchIn(scope, g, v, route, key, value));
    }
    return this.inTxn(session, (scope) => this.dispatchIn(scope, g, v, route, key, value));
  }

  /**
   * Runs one routed request in `scope`. The result's encoding is metered like an op's (a library
   * call's is charged to its op's budget): a plain `GET` of a whole table larger than
   * `maxResultBytes` is refused as it is encoded, not built whole first.
   */
  private dispatchIn(scope: TxnScope, g: CheckedGrant, v: Verb, route: Route, key: KernelValue, value: KernelValue | undefined): Json {
    const ctx = this.context(scope, g);
    const result = dispatch(ctx, v, route, key, value);
    return toJson(result, ctx.encoding());
  }

  /**
   * Begins a session: a transaction that stays open across calls until committed, rolled back, or
   * rolled back by its time budget. Returns its kernel-minted id (for the HTTP server; the
   * `Executor` API never shows it).
   */
  async beginSession(owner?: string, grant?: Grant): Promise<string> {
    this.checkOpen();
    // A session holds the transaction lock: only a principal that may write can take it.
    checkSessionGrant(checkedGrant(grant));
    const scope = this.scope(this.db.tryBegin() ?? (await this.db.begin()));
    if (this.closed) {
      this.rollback(scope);
      throw new UnavailableError("the kernel is closed");
    }
    // It may hold the lock across calls: plain reads meanwhile read the committed state.
    scope.txn.keepCommitted();
    return this.sessions.open(scope, owner);
  }

  /** Commits a session (404 unknown/finished, 408 expired, 401 other owner). */
  async commitSession(id: string, owner?: string): Promise<void> {
    await this.commit(this.sessions.finish(id, owner));
  }

  /** Rolls a session back (404 unknown/finished, 408 expired, 401 other owner). */
  async rollbackSession(id: string, owner?: string): Promise<void> {
    this.rollback(this.sessions.finish(id, owner));
  }

  /** Rolls back open sessions and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const scope of this.sessions.drain()) this.rollback(scope);
    // The worker stops after its iteration (which fails now, and is rolled back, if it had begun).
    await this.services?.stop();
    await this.db.close();
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Decodes an op once: cached by JSON object identity, then by content hash. The op object is
   * deep-frozen when it enters the identity cache, so a cached plan can never go stale because
   * the caller mutated the JSON afterwards (a mutation throws instead).
   */
  private prepare(op: Json | OpDef): PreparedOp {
    if (op === null || typeof op !== "object" || Array.isArray(op)) return preparedOp(decodeOpDef(op));
    const hit = this.byObject.get(op);
    if (hit) {
      this.stats.identityHits++;
      return hit;
    }
    // A decoded OpDef is re-validated once through its JSON form (it may have been built by hand).
    const json = isOpDef(op as KernelValue) ? encode(op as OpDef) : (op as Json);
    const hash = opHash(json);
    let prepared = this.byHash.get(hash);
    if (prepared) {
      this.stats.hashHits++;
    } else {
      prepared = preparedOp(decodeOpDef(json));
      this.stats.decodes++;
      if (this.byHash.size >= this.opCacheSize) this.byHash.delete(this.byHash.keys().next().value!);
      this.byHash.set(hash, prepared);
    }
    deepFreeze(op);
    this.byObject.set(op, prepared);
    return prepared;
  }

  /**
   * Resolves on an event-loop turn of its own: each call's turn comes one `setImmediate` after the
   * previous call's, so two ops that may run long never run in the same turn and the I/O that
   * arrived meanwhile (a `/healthz` probe) is served between them. Once ops have kept the loop
   * busy for `TURN_BUSY_MS`, the next turn comes after a timer and one more poll instead
   * (`TURN_PAUSE_MS`): the loop then waits for I/O that long, so a new connection is accepted
   * *and* its request read (two polls) before the next op. Turns do not wait for ops to finish (an op waiting
   * for the transaction lock does not hold up the next turn).
   */
  private nextTurn(): Promise<void> {
    const turn = this.lastTurn.then(
      () =>
        new Promise<void>((resolve) => {
          if (this.busyMs < TURN_BUSY_MS) {
            setImmediate(resolve);
            return;
          }
          this.busyMs = 0;
          // The loop waits for I/O until the timer, then polls once more (the immediate comes
          // after a poll): a connection accepted by the last poll before the timer is still read.
          setTimeout(() => setImmediate(resolve), TURN_PAUSE_MS);
        }),
    );
    this.lastTurn = turn;
    return turn;
  }

  /** Runs `fn` (an op in its turn), adding the time it takes to `busyMs`. */
  private timed<T>(fn: () => T): T {
    const started = performance.now();
    try {
      return fn();
    } finally {
      this.busyMs += performance.now() - started;
    }
  }

  private context(scope: TxnScope, grant: CheckedGrant, clock = true, limits?: Partial<ExecLimits>): ExecContext {
    const txn = grant.all ? scope.txn : new GrantedTxn(scope.txn, grant);
    return new ExecContext(txn, routeLink, limits ? { ...this.limits, ...limits } : this.limits, scope, clock, grant);
  }

  private scope(txn: StateTxn): TxnScope {
    return new KernelScope(txn, this.libs, this.egress);
  }

  /**
   * Runs `fn` in a session's transaction, or in a new one committed on success and rolled back on
   * any error. `fn` is synchronous: nothing else runs inside the transaction meanwhile.
   *
   * Inside a session a failed call never leaves partial writes: the whole session is rolled back
   * and ended.
   */
  private inTxn<T>(session: SessionRef | undefined, fn: (scope: TxnScope) => T): Promise<T> {
    if (session !== undefined) {
      try {
        return Promise.resolve(this.inSession(session, fn));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    // Fast path: the lock is free, so the whole call runs synchronously up to the commit.
    const txn = this.db.tryBegin();
    if (txn) return this.runAndCommit(this.scope(txn), fn);
    return this.db.begin().then((t) => this.runAndCommit(this.scope(t), fn));
  }

  private inSession<T>(session: SessionRef, fn: (scope: TxnScope) => T): T {
    const { id, owner } = typeof session === "string" ? { id: session, owner: undefined } : session;
    const scope = this.sessions.use(id, owner);
    try {
      return fn(scope);
    } catch (e) {
      const err = asTcError(e);
      this.sessions.fail(id, owner, err.kind, err.message);
      this.rollback(scope);
      throw err;
    }
  }

  /**
   * Runs a prepared op in `scope`'s transaction; its result as JSON. A result the route answered
   * already encoded (`EncodedJson`) is returned as it is, without a copy.
   */
  private executeIn(scope: TxnScope, prepared: PreparedOp, params: Map<string, KernelValue>, grant: CheckedGrant, limits?: Partial<ExecLimits>): Json {
    const direct = prepared.direct;
    if (direct !== undefined && direct.path[2] === "query") {
      // A query charges the rows it reads to the op's budget, and its result's encoding too; its
      // rows are built for this answer, so they are encoded in place.
      const ctx = this.context(scope, grant, false);
      const rows = runDirect(ctx.txn, direct, params, ctx);
      return Array.isArray(rows) ? queryRowsJson(rows as unknown[][], ctx.encoding()) : toJson(rows, ctx.encoding());
    }
    if (direct !== undefined) {
      const answer = runDirect(grant.all ? scope.txn : new GrantedTxn(scope.txn, grant), direct, params);
      return answer instanceof EncodedJson ? (answer.value as Json) : toJson(answer);
    }
    const ctx = this.context(scope, grant, prepared.clock || limits !== undefined, limits);
    const result = invokeOp(ctx, prepared.op, params);
    return result instanceof EncodedJson ? (result.value as Json) : toJson(result, ctx.encoding());
  }

  private runAndCommit<T>(scope: TxnScope, fn: (scope: TxnScope) => T): Promise<T> {
    let result: T;
    try {
      if (this.closed) throw new UnavailableError("the kernel is closed");
      result = fn(scope);
    } catch (e) {
      this.rollback(scope);
      return Promise.reject(asTcError(e));
    }
    let durable: Promise<void> | undefined;
    try {
      durable = scope.txn.commitNow();
    } catch (e) {
      return Promise.reject(asTcError(e));
    }
    // In memory (or with nothing to flush) the commit is complete now: one settled promise, no chain.
    if (durable === undefined) {
      try {
        this.committed(scope);
      } catch (e) {
        return Promise.reject(asTcError(e));
      }
      return Promise.resolve(result);
    }
    return durable.then(() => {
      this.committed(scope);
      return result;
    });
  }

  private commit(scope: TxnScope): Promise<void> {
    return scope.txn.commit().then(() => this.committed(scope));
  }

  /**
   * After a durable commit: count it, publish the libraries it installed, and commit the other
   * hosts it called (a participant failing to commit now is a `BadGatewayError`).
   */
  private committed(scope: TxnScope): void {
    this.stats.commits++;
    const libs = scope.libChanges();
    if (libs !== undefined && libs.changed) this.libs.apply(libs);
    const others = scope.joined();
    if (others !== undefined) {
      const failed = this.egress!.finalize(others, true);
      if (failed) throw failed;
    }
  }

  private rollback(scope: TxnScope): void {
    scope.txn.rollback();
    this.stats.rollbacks++;
    const others = scope.joined();
    if (others !== undefined) this.egress!.finalize(others, false);
  }

  /**
   * `PUT /lib`: stages the version, owned by the grant's principal, and writes its definition in
   * the same transaction. A content-addressed version (verified by `parseInstall`) needs no grant
   * on `/lib`: what its op reaches is checked against each caller's grant when it runs, so it
   * grants nothing. Any other version needs PUT on its path.
   */
  private install(lib: LibraryVersion, session: SessionRef | undefined, grant: CheckedGrant): Promise<Json> {
    if (!isContentAddressed(lib.version)) grant.checkHref("put", lib.id);
    const owned: LibraryVersion = { ...lib, owner: grant.principal };
    return this.inTxn(session, (scope) => {
      if (scope.libs.install(owned, this.libQuota)) {
        storeVersion(scope.txn, lib.id, lib.canonical, grant.principal);
      }
      return null;
    });
  }

  /**
   * `DELETE /lib/<publisher>/<name>/<version>`: removes a version in the transaction. Only the
   * principal that installed it may (a version stored without an owner: only a grant on
   * everything); others get 403.
   */
  private uninstall(id: string, session: SessionRef | undefined, grant: CheckedGrant): Promise<Json> {
    return this.inTxn(session, (scope) => {
      const lib = scope.libs.get(id);
      if (lib && lib.owner !== grant.principal && !(lib.owner === undefined && grant.all)) {
        throw new ForbiddenError(`${grant.name} may not remove ${id}: it was installed by another principal`);
      }
      scope.libs.remove(id);
      removeVersion(scope.txn, id);
      return null;
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new UnavailableError("the kernel is closed");
  }
}

/** Parameter names already checked (names repeat across executions; checking them is a regex). */
const CHECKED_NAMES = new Set<string>();

function paramName(name: string): string {
  if (CHECKED_NAMES.has(name)) return name;
  assertId(name, "parameter name");
  if (CHECKED_NAMES.size >= 65_536) CHECKED_NAMES.clear();
  CHECKED_NAMES.add(name);
  return name;
}

/** Binds execution arguments: names must be Ids, values are data (`decodeValue`). */
function bindArgs(op: OpDef, args: Readonly<Record<string, Json>>): Map<string, KernelValue> {
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    throw new BadRequestError("execution arguments must be an object of named values");
  }
  const params = new Map<string, KernelValue>();
  for (const name of Object.keys(args)) {
    params.set(paramName(name), decodeData(args[name]));
  }
  if (op.verb !== "post" && !params.has(op.keyName)) params.set(op.keyName, null);
  if (op.verb === "put" && !params.has(op.valueName)) params.set(op.valueName, null);
  return params;
}

/** A POST body: a map of params (absent = none). */
function decodeParams(body: Json | undefined): KernelValue {
  if (body === undefined || body === null) return valueMap({});
  if (typeof body !== "object" || Array.isArray(body)) {
    throw new BadRequestError("a POST body must be a JSON object of params");
  }
  const entries: Record<string, KernelValue> = {};
  for (const name of Object.keys(body)) {
    entries[paramName(name)] = decodeData((body as Record<string, Json>)[name]);
  }
  return valueMap(entries);
}

/** Every error leaving the kernel is a `TcError`; anything else is an internal error. */
function asTcError(e: unknown): TcError {
  if (e instanceof TcError) return e;
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return new BadRequestError("the op nests too deeply (call stack exhausted)", { cause: e });
  }
  return new InternalError(`internal error: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

/** Freezes a JSON/IR tree in place (already-frozen subtrees are skipped). */
function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}
