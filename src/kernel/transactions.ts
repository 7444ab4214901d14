/**
 * Transactions as calls see them (PROFILE §4 "Transactions"): the one implementation of implicit
 * begin, `hold`, continuation by id, pinning an unseen id to its owner, and finalize, used by the
 * HTTP server and `embedded()` alike through `Kernel.request` / `execute` / `finalize`.
 *
 * Held transactions live in a `SessionTable` (sessions.ts) under their ids; ids and the tokens the
 * kernel signs for them come from txn-tokens.ts. The kernel itself runs a call in a transaction
 * (`TxnKernel`): begin, scope, commit, roll back.
 */
import { TcError, BadRequestError, InternalError, UnauthorizedError, UnavailableError, NotFoundError } from "../errors.js";
import { runReplaying } from "./egress/call-replay.js";
import { checkedGrant, checkSessionGrant, type CheckedGrant } from "./ops/grant.js";
import { SessionTable } from "./sessions.js";
import type { Database, StateTxn } from "./state/database.js";
import type { TxnScope } from "./txn-scope.js";
import { checkTxnId, HostActor, mintTxnId } from "./txn-tokens.js";

/** Filled by an implicit begin: the id the kernel minted, and the owner token it signed. */
export interface TxnTicket {
  id?: string;
  token?: string;
}

/**
 * How a call takes part in a transaction (PROFILE §4 "Transactions"):
 * - `id` absent: an implicit begin — the kernel mints an id (into `out`). The transaction commits
 *   when the call succeeds and rolls back when it fails, unless `hold`: then it stays open for
 *   continuations until finalized, or rolled back by its idle timeout or budget, and `out` also
 *   gets a token the kernel signs holding the owner claim `[/txn/<id>, 0o300]` (chained onto
 *   `token` when that is an RJWT). A transaction that ends with its call gets none: nothing can
 *   continue it, and its caller finalizes it again (a no-op) with its own token.
 * - `id` of an open transaction: the call runs in it; `owner` must be the one that began it, or
 *   `token` must hold the kernel's owner claim on it (401 otherwise).
 * - `id` never seen here: accepted only with a `token` (401 otherwise) and an id of the v2 form
 *   (400), pinned to `owner` as a new held transaction before the call runs (a participant's
 *   continuation).
 * - `id` of an ended transaction: 409 after a commit or rollback, 408 after a timeout, the
 *   failure's kind after a failed call.
 *
 * A string is an `id` with no owner.
 */
export interface TxnRequest {
  readonly id?: string;
  /** Who makes the call (the HTTP server: the bearer token's principal). */
  readonly owner?: string;
  /** The bearer token of the call, when it had one. */
  readonly token?: string;
  readonly hold?: boolean;
  readonly out?: TxnTicket;
}

/** A transaction reference: an id, or a {@link TxnRequest}. */
export type SessionRef = string | TxnRequest;

/** What transactions need of their kernel. */
export interface TxnKernel {
  readonly db: Database;
  scope(txn: StateTxn): TxnScope;
  /** Runs `fn` in `scope`, then commits (rolled back on any error). */
  runAndCommit<T>(scope: TxnScope, fn: (scope: TxnScope) => T): Promise<T>;
  commit(scope: TxnScope): Promise<void>;
  /** Rolls `scope` back; a promise while the other hosts it called are rolled back too. */
  rollback(scope: TxnScope): Promise<void> | undefined;
  /** Rolls `scope` back, then rejects with `e` (as a `TcError`) once the other hosts are rolled back too. */
  failed(scope: TxnScope, e: unknown): Promise<never>;
  closed(): boolean;
}

/**
 * The transactions of one kernel.
 *
 * @example
 * ```ts
 * const out: TxnTicket = {};
 * await txns.run({ hold: true, owner: "alice", out }, fn); // out.id, out.token
 * await txns.run({ id: out.id, owner: "alice" }, fn);       // continues it
 * await txns.finalize(out.id!, true, { owner: "alice" });   // commits it
 * ```
 */
export class Transactions {
  readonly sessions: SessionTable<TxnScope>;
  /** Unseen ids being pinned (their transaction waits for the lock): a second call waits for the first. */
  private readonly pinning = new Map<string, Promise<void>>();
  /** The kernel's own actor: signs the tokens of the transactions it begins. */
  readonly host: HostActor;

  constructor(
    private readonly k: TxnKernel,
    budgetMs: number,
    idleMs: number,
    hostLink: string,
  ) {
    this.host = HostActor.generate("host", hostLink);
    this.sessions = new SessionTable<TxnScope>(budgetMs, (scope) => k.rollback(scope), idleMs, (token, id) => this.host.holdsTxnClaim(token, id));
  }

  /**
   * Begins a held transaction with no call in it (a session's begin, the service worker's
   * iterations): it stays open across calls until finalized, or rolled back by its idle timeout
   * or budget. Returns its minted id, also written into `ref.out` with the owner token. A call
   * with `{ hold: true }` does the same and runs in it.
   */
  async begin(ref: Omit<TxnRequest, "id" | "hold">, grant: CheckedGrant): Promise<string> {
    const id = mintTxnId();
    await this.beginHeld(id, ref.owner, grant, ref.token);
    this.name(ref, id);
    return id;
  }

  /**
   * An implicit begin that ends with its call: mints its id, into `out`. No owner token is signed
   * (an Ed25519 signature, about 40% of a small request served over HTTP): a transaction that has
   * ended can only be finalized again, a no-op its caller makes with its own token.
   */
  ticket(ref: TxnRequest): string {
    const id = mintTxnId();
    if (ref.out !== undefined) ref.out.id = id;
    return id;
  }

  /** Fills the call's `out` with held transaction `id` and its owner token. */
  private name(ref: TxnRequest, id: string): void {
    if (ref.out !== undefined) {
      ref.out.id = id;
      ref.out.token = this.host.txnToken(id, ref.token);
    }
  }

  /** Remembers how an implicit transaction that was not held ended: committed with its call, or rolled back. */
  settleAfter<T>(done: Promise<T>, id: string, owner: string | undefined): Promise<T> {
    return done.then(
      (result) => {
        this.sessions.settle(id, "committed", owner);
        return result;
      },
      (e: unknown) => {
        this.sessions.settle(id, "rolledback", owner);
        throw e;
      },
    );
  }

  /**
   * Opens a held transaction under `id` for `owner`: it takes the transaction lock (waiting for
   * it), so only a principal that may write can begin one.
   */
  private async beginHeld(id: string, owner: string | undefined, grant: CheckedGrant, token: string | undefined): Promise<void> {
    checkSessionGrant(grant);
    const scope = this.k.scope(this.k.db.tryBegin() ?? (await this.k.db.begin()));
    if (this.k.closed()) {
      this.k.rollback(scope);
      throw new UnavailableError("the kernel is closed");
    }
    // It may hold the lock across calls: plain reads meanwhile read the committed state.
    scope.txn.keepCommitted();
    scope.bind(id, token);
    this.sessions.open(scope, owner, id);
  }

  /** Pins an id this kernel has not seen to the call's owner: a new held transaction under it. */
  private pin(ref: TxnRequest & { readonly id: string }, grant: CheckedGrant): Promise<void> {
    const waiting = this.pinning.get(ref.id);
    if (waiting !== undefined) return waiting;
    if (ref.token === undefined) {
      return Promise.reject(new UnauthorizedError("a transaction id this host has not seen needs a bearer token: the transaction is pinned to its owner"));
    }
    try {
      checkTxnId(ref.id, this.sessions.budgetMs);
    } catch (e) {
      return Promise.reject(e);
    }
    const pinned = this.beginHeld(ref.id, ref.owner, grant, ref.token).finally(() => this.pinning.delete(ref.id));
    this.pinning.set(ref.id, pinned);
    return pinned;
  }

  /**
   * Runs `fn` in a session's transaction, or in a new one committed on success and rolled back on
   * any error. `fn` is synchronous: nothing else runs inside the transaction meanwhile.
   *
   * Inside a session a failed call never leaves partial writes: the whole session is rolled back
   * and ended.
   */
  run<T>(session: SessionRef | undefined, fn: (scope: TxnScope) => T, grant?: CheckedGrant): Promise<T> {
    if (session === undefined) return this.plain(fn, undefined, undefined);
    const ref: TxnRequest = typeof session === "string" ? { id: session } : session;
    const id = ref.id;
    if (id === undefined) {
      // An implicit begin: committed with the call, or held for continuations.
      if (!ref.hold) {
        const minted = this.ticket(ref);
        return this.settleAfter(this.plain(fn, minted, ref.token), minted, ref.owner);
      }
      // A held one is named once it is open: a begin refused (a read-only grant, a full lock
      // queue, a closed kernel) began nothing a caller could name.
      const minted = mintTxnId();
      return this.beginHeld(minted, ref.owner, grant ?? checkedGrant(undefined), ref.token).then(() => {
        this.name(ref, minted);
        return this.inSession(minted, ref, fn);
      });
    }
    if (this.sessions.status(id) === undefined) {
      return this.pin({ ...ref, id }, grant ?? checkedGrant(undefined)).then(() => this.inSession(id, ref, fn));
    }
    try {
      return Promise.resolve(this.inSession(id, ref, fn));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Runs `fn` in a new transaction committed on success and rolled back on any error; `id` names it when it was minted. */
  private plain<T>(fn: (scope: TxnScope) => T, id: string | undefined, token: string | undefined): Promise<T> {
    // Fast path: the lock is free, so the whole call runs synchronously up to the commit.
    const txn = this.k.db.tryBegin();
    if (txn) return this.k.runAndCommit(this.named(txn, id, token), fn);
    return this.k.db.begin().then((t) => this.k.runAndCommit(this.named(t, id, token), fn));
  }

  private named(txn: StateTxn, id: string | undefined, token: string | undefined): TxnScope {
    const scope = this.k.scope(txn);
    if (id !== undefined) scope.bind(id, token);
    return scope;
  }

  private inSession<T>(id: string, ref: TxnRequest, fn: (scope: TxnScope) => T): T | Promise<T> {
    const scope = this.sessions.use(id, ref.owner, ref.token);
    // A failed call ends the session; the error comes once the other hosts it called are rolled back too.
    const fail = (e: unknown): Promise<never> => {
      const err = asTcError(e);
      this.sessions.fail(id, ref.owner, err.kind, err.message, ref.token);
      return this.k.failed(scope, err);
    };
    let result: T | Promise<T>;
    try {
      result = runReplaying(scope, fn, this.sessions.budgetMs);
    } catch (e) {
      return fail(e);
    }
    if (!(result instanceof Promise)) return result;
    // The call waits for another host: the session takes no other call until it has its answer.
    return this.sessions.wait(id, result).catch(fail);
  }

  /**
   * Finalizes transaction `id` (an empty POST or DELETE at a component root): commits it, or
   * rolls it back. The caller must own it (`owner`, or a `token` holding the kernel's owner claim
   * on it; else 401). An open one ends now; an ended one answers a repeated commit of a committed
   * transaction — an implicit one that committed with its call — or a repeated rollback of a
   * rolled-back one with success, and the opposite with 409; 408 after a timeout; 404 for an id
   * never seen.
   */
  async finalize(id: string, commit: boolean, by: { readonly owner?: string; readonly token?: string } = {}): Promise<void> {
    const status = this.sessions.status(id);
    if (status === undefined) throw new NotFoundError("unknown transaction id: there is nothing to finalize");
    if (status !== "open") return this.sessions.refinalize(id, commit, by.owner, by.token);
    const scope = this.sessions.finish(id, by.owner, by.token);
    if (commit) {
      await this.k.commit(scope);
      this.sessions.settle(id, "committed", by.owner);
    } else {
      this.sessions.settle(id, "rolledback", by.owner);
      await this.k.rollback(scope);
    }
  }

  /** Ends every held transaction (kernel close), returning their scopes to roll back. */
  drain(): TxnScope[] {
    return this.sessions.drain();
  }
}

/** The reference of an implicit begin that is not held (it commits with its call), else undefined. */
export function implicitRef(session: SessionRef | undefined): TxnRequest | undefined {
  return typeof session === "object" && session.id === undefined && session.hold !== true ? session : undefined;
}

/** Every error leaving the kernel is a `TcError`; anything else is an internal error. */
export function asTcError(e: unknown): TcError {
  if (e instanceof TcError) return e;
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return new BadRequestError("the op nests too deeply (call stack exhausted)", { cause: e });
  }
  return new InternalError(`internal error: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}
