/**
 * `Kernel`: the host. It takes requests and ops (from `embedded()` in index.ts, or the HTTP
 * server), routes them (router.ts), runs ops (ops/), keeps sessions (sessions.ts) and the
 * libraries installed under `/lib` (ops/library.ts), and runs every call in a transaction of its
 * `Database` (state/database.ts), which owns the `/state` tables, the transaction lock and the
 * durable store. One `execute` or plain `request` is one transaction: all of its writes commit
 * together, or — on any error — none of them. How a call begins, continues or finalizes a
 * transaction (implicit begin, `hold`, an id to continue, an unseen id pinned to its owner) is
 * decided here, for the HTTP server and `embedded()` alike (PROFILE §4 "Transactions").
 */
import {
  BadRequestError,
  ForbiddenError,
  MethodNotAllowedError,
  NotFoundError,
  UnavailableError,
} from "../errors.js";
import { decodeOpDef, encode, jsonHash } from "../ir/index.js";
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
import { checkedGrant, checkStatePath, GrantedTxn, type CheckedGrant, type Grant } from "./ops/grant.js";
import { DEFAULT_LIMITS, ExecContext, needsClock, type ExecLimits } from "./ops/exec-context.js";
import { invokeOp, refuseEgress } from "./ops/op-executor.js";
import { checkRoute, dispatch, healthz, parseRoute, routeLink, type Route } from "./router.js";
import { loadStoredVersions, removeVersion, storeVersion } from "./library-store.js";
import { TABLES_PATH, tableList } from "./table-list.js";
import { ServiceHost } from "./services/service-host.js";
import { Egress, type EgressOptions } from "./egress/remote-call.js";
import { runReplaying } from "./egress/call-replay.js";
import { KernelScope, type TxnScope } from "./txn-scope.js";
import { asTcError, implicitRef, Transactions, type SessionRef, type TxnTicket } from "./transactions.js";

export type { SessionRef, TxnRequest, TxnTicket } from "./transactions.js";
import { HOST_PATH, hostInfo } from "./host-info.js";
import { directTraverse, runDirect, type DirectTraverse } from "./ops/direct-traverse.js";
import { EncodedJson } from "./ops/encoded-json.js";
import { decodeData, isOpDef, queryRowsJson, toJson, type KernelValue } from "./ops/kernel-value.js";
import { bindArgs, decodeParams } from "./ops/op-args.js";

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
  /**
   * This host is a shard of a cluster (PROFILE §6.16): foreign keys are kept in the schema but not
   * checked here, since a referenced row may live on another shard; the cluster client checks
   * them over every shard. `GET /host` lists the `shard_member` extension. Default false.
   */
  readonly shardMember?: boolean;
  /**
   * The link this kernel signs its transaction tokens as (`iss`; default `/host`, and the
   * server's URL once served, unless given here).
   */
  readonly hostLink?: string;
}

/** Default of `KernelOptions.sessionIdleMs`: well under the 3 s budget, far above a round trip. */
export const DEFAULT_SESSION_IDLE_MS = 500;

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
  /** Implicit begins, held transactions, continuations and finalize (transactions.ts). */
  private readonly txns: Transactions;
  /** True when `KernelOptions.hostLink` was given (serving keeps it). */
  private readonly ownLink: boolean;
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
  /** Whether this host is a cluster's shard (`KernelOptions.shardMember`). */
  private readonly shardMember: boolean;
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
    this.ownLink = opts.hostLink !== undefined;
    this.txns = new Transactions(
      {
        db,
        scope: (txn) => this.scope(txn),
        runAndCommit: (scope, fn) => this.runAndCommit(scope, fn),
        commit: (scope) => this.commit(scope),
        rollback: (scope) => this.rollback(scope),
        failed: (scope, e) => this.failed(scope, e),
        closed: () => this.closed,
      },
      budget,
      idle,
      opts.hostLink ?? "/host",
    );
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.ownClock = opts.limits?.maxMillis !== undefined;
    this.opCacheSize = opts.opCacheSize ?? 4096;
    this.libQuota = { ...DEFAULT_LIBRARY_QUOTA, ...opts.libQuota };
    if (!(this.libQuota.maxVersions >= 0) || !(this.libQuota.maxBytes >= 0)) {
      throw new BadRequestError("libQuota: maxVersions and maxBytes must be non-negative numbers");
    }
    this.opTurns = opts.opTurns === true;
    this.egress = opts.egress ? new Egress(opts.egress) : undefined;
    this.shardMember = opts.shardMember === true;
    if (this.shardMember) db.enforceReferences = false;
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
  serving(opMillis: number, url?: string): void {
    if (!(opMillis > 0)) throw new BadRequestError(`the served op budget must be positive, found ${opMillis}`);
    this.opTurns = true;
    if (!this.ownClock) this.limits = { ...this.limits, maxMillis: opMillis };
    if (url !== undefined && !this.ownLink) this.txns.host.link = url;
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
    const bound = params.size;
    if (this.opTurns && prepared.clock) {
      return this.nextTurn().then(() => this.txns.run(session, (scope) => this.timed(() => this.executeIn(scope, prepared, unbound(params, bound), g, limits)), g));
    }
    return this.txns.run(session, (scope) => this.executeIn(scope, prepared, unbound(params, bound), g, limits), g);
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
    if (req.path === "/service" || req.path.startsWith("/service/")) {
      // A service call runs in a transaction of its own (services/): an implicit begin is named
      // (and remembered as committed or rolled back) like any other.
      const implicit = implicitRef(session);
      if (implicit === undefined) return this.services.request(req, g, session !== undefined);
      const id = this.txns.ticket(implicit);
      return this.txns.settleAfter(this.services.request(req, g, false), id, implicit.owner);
    }
    if (req.path === HOST_PATH) return hostInfo(v, this.shardMember);
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
      return this.txns.run(session, (scope) => this.timed(() => this.dispatchIn(scope, g, v, route, key, value)), g);
    }
    if (v === "get" && route.kind === "state" && route.path[2] !== "traverse" && route.path[2] !== "query") {
      // A plain read while a session holds the lock: the last committed state, without waiting.
      // (A traversal or a query reads derived structures kept for the live tables, so it waits.)
      const implicit = implicitRef(session);
      if (session === undefined || implicit !== undefined) {
        const committed = this.db.readCommitted();
        if (committed !== undefined) {
          const read = this.runAndCommit(this.scope(committed), (scope) => this.dispatchIn(scope, g, v, route, key, value));
          return implicit === undefined ? read : this.txns.settleAfter(read, this.txns.ticket(implicit), implicit.owner);
        }
      }
    }
    return this.txns.run(session, (scope) => this.dispatchIn(scope, g, v, route, key, value), g);
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
   * Begins a held transaction with no call in it (the service worker's iterations, tests): it
   * stays open across calls until finalized, or rolled back by its idle timeout or budget.
   * Returns its kernel-minted id. A call with `{ hold: true }` does the same and runs in it.
   */
  async beginSession(owner?: string, grant?: Grant): Promise<string> {
    return this.hold({ ...(owner !== undefined ? { owner } : {}) }, grant);
  }

  /**
   * Begins a held transaction with no call in it for `ref.owner`, named in `ref.out` (its id and
   * owner token, as a held call's begin names it): what a session's begin is, in process and over
   * HTTP (an empty POST with `x-tc-txn: hold` to a component root). Needs a write grant (403).
   */
  async hold(ref: { readonly owner?: string; readonly token?: string; readonly out?: TxnTicket }, grant?: Grant): Promise<string> {
    this.checkOpen();
    return this.txns.begin(ref, checkedGrant(grant));
  }

  /** Commits a held transaction: {@link finalize} with `commit`. */
  commitSession(id: string, owner?: string): Promise<void> {
    return this.finalize(id, true, { owner });
  }

  /** Rolls a held transaction back: {@link finalize} without `commit`. */
  rollbackSession(id: string, owner?: string): Promise<void> {
    return this.finalize(id, false, { owner });
  }

  /**
   * Finalizes transaction `id` (an empty POST or DELETE at a component root): commits it, or
   * rolls it back. The caller must own it (`owner`, or a `token` holding the kernel's owner claim
   * on it; else 401). An open one ends now; an ended one answers a repeated commit of a committed
   * transaction — an implicit one that committed with its call — or a repeated rollback of a
   * rolled-back one with success, and the opposite with 409; 408 after a timeout; 404 for an id
   * never seen.
   */
  finalize(id: string, commit: boolean, by: { readonly owner?: string; readonly token?: string } = {}): Promise<void> {
    return this.txns.finalize(id, commit, by);
  }

  /** This kernel's own actor (its id, public key and the link it signs as), which signs its transaction tokens. */
  get hostActor(): { readonly id: string; readonly link: string; publicKeyBase64(): string } {
    const host = this.txns.host;
    return { id: host.id, link: host.link, publicKeyBase64: () => host.actor.publicKeyBase64() };
  }

  /** Rolls back open sessions and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.txns.drain().map((scope) => this.rollback(scope)));
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
    const hash = jsonHash(json);
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
    return new KernelScope(txn, this.libs, this.egress, this.txns.host);
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

  /**
   * Runs a request (`fn`) in `scope` and commits; on any error rolls back (with every other host
   * the transaction called) and rejects. Runs synchronously up to the commit unless the request
   * calls another host (egress/call-replay.ts).
   */
  private runAndCommit<T>(scope: TxnScope, fn: (scope: TxnScope) => T): Promise<T> {
    let result: T | Promise<T>;
    try {
      if (this.closed) throw new UnavailableError("the kernel is closed");
      result = runReplaying(scope, fn, this.txns.sessions.budgetMs);
    } catch (e) {
      return this.failed(scope, e);
    }
    if (result instanceof Promise) {
      return result.then(
        (r) => this.commitWith(scope, r),
        (e: unknown) => this.failed(scope, e),
      );
    }
    return this.commitWith(scope, result);
  }

  private failed(scope: TxnScope, e: unknown): Promise<never> {
    const err = asTcError(e);
    const others = this.rollback(scope);
    return others === undefined ? Promise.reject(err) : others.then(() => Promise.reject(err));
  }

  private commitWith<T>(scope: TxnScope, result: T): Promise<T> {
    let durable: Promise<void> | undefined;
    try {
      durable = scope.txn.commitNow();
    } catch (e) {
      return Promise.reject(asTcError(e));
    }
    // In memory (or with nothing to flush) the commit is complete now: one settled promise, no chain.
    if (durable === undefined) {
      let others: Promise<void> | undefined;
      try {
        others = this.committed(scope);
      } catch (e) {
        return Promise.reject(asTcError(e));
      }
      return others === undefined ? Promise.resolve(result) : others.then(() => result);
    }
    return durable.then(() => {
      const others = this.committed(scope);
      return others === undefined ? result : others.then(() => result);
    });
  }

  private commit(scope: TxnScope): Promise<void> {
    return scope.txn.commit().then(() => this.committed(scope));
  }

  /**
   * After a durable commit: count it, publish the libraries it installed, and commit the other
   * hosts it called (a participant failing to commit now is a `BadGatewayError`).
   */
  private committed(scope: TxnScope): Promise<void> | undefined {
    this.stats.commits++;
    const libs = scope.libChanges();
    if (libs !== undefined && libs.changed) this.libs.apply(libs);
    const others = scope.joined();
    if (others === undefined) return undefined;
    return this.egress!.finalize(others, true).then((failed) => {
      if (failed) throw failed;
    });
  }

  /** Rolls `scope` back; a promise when other hosts it called are being rolled back too. */
  private rollback(scope: TxnScope): Promise<void> | undefined {
    scope.txn.rollback();
    this.stats.rollbacks++;
    const others = scope.joined();
    if (others === undefined) return undefined;
    return this.egress!.finalize(others, false).then(() => undefined);
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
    return this.txns.run(
      session,
      (scope) => {
        if (scope.libs.install(owned, this.libQuota)) {
          storeVersion(scope.txn, lib.id, lib.canonical, grant.principal);
        }
        return null;
      },
      grant,
    );
  }

  /**
   * `DELETE /lib/<publisher>/<name>/<version>`: removes a version in the transaction. Only the
   * principal that installed it may (a version stored without an owner: only a grant on
   * everything); others get 403.
   */
  private uninstall(id: string, session: SessionRef | undefined, grant: CheckedGrant): Promise<Json> {
    return this.txns.run(session, (scope) => {
      const lib = scope.libs.get(id);
      if (lib && lib.owner !== grant.principal && !(lib.owner === undefined && grant.all)) {
        throw new ForbiddenError(`${grant.name} may not remove ${id}: it was installed by another principal`);
      }
      scope.libs.remove(id);
      removeVersion(scope.txn, id);
      return null;
    }, grant);
  }

  private checkOpen(): void {
    if (this.closed) throw new UnavailableError("the kernel is closed");
  }
}

/**
 * `params` holding only its first `size` entries, the arguments `bindArgs` bound: an op's run
 * binds its steps' values in the same map, so a request that runs again after an outbound call's
 * answer (egress/call-replay.ts) must not find the steps of the run before already done.
 */
function unbound(params: Map<string, KernelValue>, size: number): Map<string, KernelValue> {
  if (params.size === size) return params;
  let i = 0;
  for (const name of [...params.keys()]) if (i++ >= size) params.delete(name);
  return params;
}

/** Freezes a JSON/IR tree in place (already-frozen subtrees are skipped). */
function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}
