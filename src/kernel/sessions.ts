/**
 * Sessions: multi-request transactions whose id the kernel mints (PROFILE §4 "Transactions").
 *
 * A session holds one open transaction. Its id is 128 random bits (unguessable); every
 * continuation must name the same owner (the HTTP server passes the bearer token) or gets 401.
 * A session older than its budget, or idle (no call on it) for longer than its idle timeout, is
 * rolled back by a timer, and any later use of its id answers 408 `request_timeout`. Finished
 * (committed / rolled back) and unknown ids answer 404.
 *
 * One timer per session serves both limits: it fires at the earlier deadline and, when the
 * session was used meanwhile, re-arms for the new one, so a call on a session only stamps a time.
 */
import { randomBytes } from "node:crypto";
import { type ErrorKind, NotFoundError, TimeoutError, UnauthorizedError, errorOfKind } from "../errors.js";

/** How long an expired id is remembered (to answer 408 instead of 404). */
const EXPIRED_MEMORY_MS = 10 * 60_000;
const EXPIRED_MEMORY_MAX = 100_000;

interface Entry<T> {
  readonly txn: T;
  readonly owner: string | undefined;
  readonly startedAt: number;
  /** When the last call on the session ran (or when it began). */
  lastUsed: number;
  timer: NodeJS.Timeout;
}

/** Why a session was rolled back by the table: its budget ran out, or it sat idle. */
type ExpiryReason = "budget" | "idle";

/** Why a session ended without a commit: a limit ran out, or a call on it failed. */
type Ended = { at: number; reason: ExpiryReason } | { at: number; reason: "failed"; kind: ErrorKind; message: string };

/** Longest part of a failed call's message kept to name it to later calls. */
const CAUSE_MAX_CHARS = 2000;

/**
 * The open sessions of one kernel. `T` is the kernel's transaction state.
 *
 * @example
 * ```ts
 * const sessions = new SessionTable<Txn>(3000, (txn) => txn.rollback(), 500);
 * const id = sessions.open(txn, "token-a");
 * sessions.use(id, "token-a");   // txn
 * sessions.finish(id, "token-a"); // txn (then commit or roll it back)
 * ```
 */
export class SessionTable<T> {
  private readonly open_ = new Map<string, Entry<T>>();
  private readonly expired = new Map<string, Ended>();

  constructor(
    readonly budgetMs: number,
    /** Called when a session's budget or idle timeout runs out: roll its transaction back. */
    private readonly onExpire: (txn: T, id: string) => void,
    /** Longest time a session may go without a call before it is rolled back (ms; default: the budget). */
    readonly idleMs: number = budgetMs,
  ) {}

  /** Registers an open transaction under a fresh id and starts its timer (budget and idle timeout). */
  open(txn: T, owner?: string): string {
    const id = randomBytes(16).toString("base64url");
    const now = Date.now();
    const timer = setTimeout(() => this.check(id), Math.min(this.budgetMs, this.idleMs));
    timer.unref();
    this.open_.set(id, { txn, owner, startedAt: now, lastUsed: now, timer });
    return id;
  }

  /**
   * The transaction of an open session (404 unknown, 408 expired, 401 other owner), for a call on
   * it: its idle time starts again from now (the kernel runs a call synchronously, so its start is
   * its end).
   */
  use(id: string, owner?: string): T {
    const entry = this.entry(id, owner);
    entry.lastUsed = Date.now();
    return entry.txn;
  }

  /** Ends a session (before commit or rollback) and returns its transaction. */
  finish(id: string, owner?: string): T {
    const entry = this.entry(id, owner);
    clearTimeout(entry.timer);
    this.open_.delete(id);
    return entry.txn;
  }

  /**
   * Ends a session whose call failed (its transaction is rolled back by the caller): every later
   * use of its id fails with the same kind of error, whose message names the original cause.
   */
  fail(id: string, owner: string | undefined, kind: ErrorKind, message: string): T {
    const txn = this.finish(id, owner);
    const cause = message.length > CAUSE_MAX_CHARS ? `${message.slice(0, CAUSE_MAX_CHARS)}…` : message;
    this.remember(id, { at: Date.now(), reason: "failed", kind, message: cause });
    return txn;
  }

  /** Number of open sessions. */
  get size(): number {
    return this.open_.size;
  }

  /** Ends every session (kernel close), returning their transactions to roll back. */
  drain(): T[] {
    const txns: T[] = [];
    for (const [id, entry] of this.open_) {
      clearTimeout(entry.timer);
      txns.push(entry.txn);
      this.open_.delete(id);
    }
    return txns;
  }

  private entry(id: string, owner: string | undefined): Entry<T> {
    const entry = typeof id === "string" ? this.open_.get(id) : undefined;
    if (!entry) {
      const expired = typeof id === "string" ? this.expired.get(id) : undefined;
      if (expired?.reason === "failed") {
        throw errorOfKind(expired.kind, `session rolled back after: ${expired.message}`);
      }
      if (expired?.reason === "idle") {
        throw new TimeoutError(`the transaction was idle (no call on it) for more than ${this.idleMs} ms and was rolled back`);
      }
      if (expired) {
        throw new TimeoutError(`the transaction exceeded its time budget of ${this.budgetMs} ms and was rolled back`);
      }
      throw new NotFoundError("unknown or finished transaction id");
    }
    if (entry.owner !== owner) {
      throw new UnauthorizedError("this transaction was begun by another principal");
    }
    return entry;
  }

  /** The timer: rolls the session back when a limit has run out, else re-arms for the next deadline. */
  private check(id: string): void {
    const entry = this.open_.get(id);
    if (!entry) return;
    const now = Date.now();
    const budgetLeft = entry.startedAt + this.budgetMs - now;
    const idleLeft = entry.lastUsed + this.idleMs - now;
    if (budgetLeft <= 0 || idleLeft <= 0) {
      this.open_.delete(id);
      this.remember(id, { at: now, reason: budgetLeft <= 0 ? "budget" : "idle" });
      this.onExpire(entry.txn, id);
      return;
    }
    entry.timer = setTimeout(() => this.check(id), Math.min(budgetLeft, idleLeft));
    entry.timer.unref();
  }

  private remember(id: string, ended: Ended): void {
    const now = ended.at;
    if (this.expired.size >= EXPIRED_MEMORY_MAX) {
      for (const [old, { at }] of this.expired) {
        if (now - at < EXPIRED_MEMORY_MS && this.expired.size < EXPIRED_MEMORY_MAX) break;
        this.expired.delete(old);
      }
    }
    this.expired.set(id, ended);
  }
}
