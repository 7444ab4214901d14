/**
 * Sessions: multi-request transactions whose id the kernel mints (PROFILE §4 "Transactions").
 *
 * A session holds one open transaction. Its id is 128 random bits (unguessable); every
 * continuation must name the same owner (the HTTP server passes the bearer token) or gets 401.
 * A session older than its budget is rolled back by a timer, and any later use of its id answers
 * 408 `request_timeout`. Finished (committed / rolled back) and unknown ids answer 404.
 */
import { randomBytes } from "node:crypto";
import { NotFoundError, TimeoutError, UnauthorizedError } from "../errors.js";

/** How long an expired id is remembered (to answer 408 instead of 404). */
const EXPIRED_MEMORY_MS = 10 * 60_000;
const EXPIRED_MEMORY_MAX = 100_000;

interface Entry<T> {
  readonly txn: T;
  readonly owner: string | undefined;
  readonly startedAt: number;
  readonly timer: NodeJS.Timeout;
}

/**
 * The open sessions of one kernel. `T` is the kernel's transaction state.
 *
 * @example
 * ```ts
 * const sessions = new SessionTable<Txn>(3000, (txn) => txn.rollback());
 * const id = sessions.open(txn, "token-a");
 * sessions.use(id, "token-a");   // txn
 * sessions.finish(id, "token-a"); // txn (then commit or roll it back)
 * ```
 */
export class SessionTable<T> {
  private readonly open_ = new Map<string, Entry<T>>();
  private readonly expired = new Map<string, number>();

  constructor(
    readonly budgetMs: number,
    /** Called when a session's budget runs out: roll its transaction back. */
    private readonly onExpire: (txn: T, id: string) => void,
  ) {}

  /** Registers an open transaction under a fresh id and starts its budget timer. */
  open(txn: T, owner?: string): string {
    const id = randomBytes(16).toString("base64url");
    const timer = setTimeout(() => this.expire(id), this.budgetMs);
    timer.unref();
    this.open_.set(id, { txn, owner, startedAt: Date.now(), timer });
    return id;
  }

  /** The transaction of an open session (404 unknown, 408 expired, 401 other owner). */
  use(id: string, owner?: string): T {
    return this.entry(id, owner).txn;
  }

  /** Ends a session (before commit or rollback) and returns its transaction. */
  finish(id: string, owner?: string): T {
    const entry = this.entry(id, owner);
    clearTimeout(entry.timer);
    this.open_.delete(id);
    return entry.txn;
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
      if (typeof id === "string" && this.expired.has(id)) {
        throw new TimeoutError(`the transaction exceeded its time budget of ${this.budgetMs} ms and was rolled back`);
      }
      throw new NotFoundError("unknown or finished transaction id");
    }
    if (entry.owner !== owner) {
      throw new UnauthorizedError("this transaction was begun by another principal");
    }
    return entry;
  }

  private expire(id: string): void {
    const entry = this.open_.get(id);
    if (!entry) return;
    this.open_.delete(id);
    this.remember(id);
    this.onExpire(entry.txn, id);
  }

  private remember(id: string): void {
    const now = Date.now();
    if (this.expired.size >= EXPIRED_MEMORY_MAX) {
      for (const [old, at] of this.expired) {
        if (now - at < EXPIRED_MEMORY_MS && this.expired.size < EXPIRED_MEMORY_MAX) break;
        this.expired.delete(old);
      }
    }
    this.expired.set(id, now);
  }
}
