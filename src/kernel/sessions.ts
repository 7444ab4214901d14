/**
 * Held transactions: transactions open across requests under an id (PROFILE §4 "Transactions").
 *
 * A held transaction is registered under its id — one the kernel minted (`txn-tokens.ts`), or a
 * participant's id pinned on first use — with its owner. Every continuation must name the same
 * owner, or present the kernel's own owner claim on the id (`ownerProof`), else 401. A held
 * transaction older than its budget, or idle (no call on it) for longer than its idle timeout, is
 * rolled back by a timer, and any later use of its id answers 408 `request_timeout`.
 *
 * Ended ids are remembered for a while (`EXPIRED_MEMORY_MS`): a committed one answers a repeated
 * commit with success and anything else with 409 `conflict`; a rolled-back one answers a repeated
 * rollback with success and anything else with 409; a failed one the kind of its failure. Ids
 * never seen answer `undefined` from `status`, and 404 when used as open.
 *
 * One timer per transaction serves both limits: it fires at the earlier deadline and, when the
 * transaction was used meanwhile, re-arms for the new one, so a call only stamps a time.
 */
import { ConflictError, type ErrorKind, NotFoundError, TimeoutError, UnauthorizedError, errorOfKind } from "../errors.js";
import { mintTxnId } from "./txn-tokens.js";

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
  /** A call on it is waiting for another host's answer: it is not idle, and takes no other call. */
  waiting: boolean;
}

/** Why a session was rolled back by the table: its budget ran out, or it sat idle. */
type ExpiryReason = "budget" | "idle";

/** How a transaction ended: committed, rolled back (by its owner), a limit ran out, or a call on it failed. */
export type Ended =
  | { at: number; reason: "committed" | "rolledback"; owner: string | undefined }
  | { at: number; reason: ExpiryReason }
  | { at: number; reason: "failed"; kind: ErrorKind; message: string };

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
    /** True when `token` proves ownership of transaction `id` whatever owner the call names. */
    private readonly ownerProof: (token: string | undefined, id: string) => boolean = () => false,
  ) {}

  /** Registers an open transaction under `id` (default: a fresh one) and starts its timer (budget and idle timeout). */
  open(txn: T, owner?: string, id: string = mintTxnId()): string {
    const now = Date.now();
    const timer = setTimeout(() => this.check(id), Math.min(this.budgetMs, this.idleMs));
    timer.unref();
    this.open_.set(id, { txn, owner, startedAt: now, lastUsed: now, timer, waiting: false });
    return id;
  }

  /**
   * The transaction of an open session (404 unknown, 408 expired, 401 other owner, 409 while a
   * call on it waits for another host), for a call on it: its idle time starts again from now (a
   * call runs synchronously unless it waits: see `wait`).
   */
  use(id: string, owner?: string, token?: string): T {
    const entry = this.entry(id, owner, token);
    if (entry.waiting) {
      throw new ConflictError("the transaction is running a call that waits for another host's answer: one call at a time");
    }
    entry.lastUsed = Date.now();
    return entry.txn;
  }

  /**
   * Marks the call running on session `id` as waiting for another host until `done` settles: the
   * session takes no other call (nor a finalize) meanwhile and does not count as idle; its budget
   * still runs. Its idle time starts again when the call ends.
   */
  wait<R>(id: string, done: Promise<R>): Promise<R> {
    const entry = this.open_.get(id);
    if (entry === undefined) return done;
    entry.waiting = true;
    const end = (): void => {
      entry.waiting = false;
      entry.lastUsed = Date.now();
    };
    return done.then(
      (r) => {
        end();
        return r;
      },
      (e: unknown) => {
        end();
        throw e;
      },
    );
  }

  /** Ends a session (before commit or rollback) and returns its transaction. */
  finish(id: string, owner?: string, token?: string): T {
    const entry = this.entry(id, owner, token);
    if (entry.waiting) {
      throw new ConflictError("the transaction is running a call that waits for another host's answer: it cannot end before that call");
    }
    clearTimeout(entry.timer);
    this.open_.delete(id);
    return entry.txn;
  }

  /**
   * Ends a session whose call failed (its transaction is rolled back by the caller): every later
   * use of its id fails with the same kind of error, whose message names the original cause.
   */
  fail(id: string, owner: string | undefined, kind: ErrorKind, message: string, token?: string): T {
    const txn = this.finish(id, owner, token);
    const cause = message.length > CAUSE_MAX_CHARS ? `${message.slice(0, CAUSE_MAX_CHARS)}…` : message;
    this.remember(id, { at: Date.now(), reason: "failed", kind, message: cause });
    return txn;
  }

  /** Whether `id` is open, how it ended (while remembered), or `undefined` for an id never seen. */
  status(id: string): "open" | Ended | undefined {
    return this.open_.has(id) ? "open" : this.expired.get(id);
  }

  /** Remembers how transaction `id` (no longer open) ended: committed or rolled back by `owner`. */
  settle(id: string, reason: "committed" | "rolledback", owner: string | undefined): void {
    this.remember(id, { at: Date.now(), reason, owner });
  }

  /**
   * Answers a repeated finalize of an ended transaction: a commit of a committed one, or a
   * rollback of a rolled-back one, succeeds (for its owner, else 401); the opposite is 409; an
   * expired or failed one answers as a use would (408, or its failure's kind); 404 when unknown.
   */
  refinalize(id: string, commit: boolean, owner: string | undefined, token?: string): void {
    const ended = this.expired.get(id);
    if (ended?.reason === "committed" || ended?.reason === "rolledback") {
      if (ended.owner !== owner && !this.ownerProof(token, id)) throw new UnauthorizedError("this transaction was begun by another principal");
      if ((ended.reason === "committed") !== commit) {
        throw new ConflictError(`the transaction was already ${ended.reason === "committed" ? "committed" : "rolled back"}`);
      }
      return;
    }
    this.entry(id, owner, token);
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

  private entry(id: string, owner: string | undefined, token?: string): Entry<T> {
    const entry = typeof id === "string" ? this.open_.get(id) : undefined;
    if (!entry) {
      const expired = typeof id === "string" ? this.expired.get(id) : undefined;
      if (expired?.reason === "committed" || expired?.reason === "rolledback") {
        throw new ConflictError(`the transaction was already ${expired.reason === "committed" ? "committed" : "rolled back"}`);
      }
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
    if (entry.owner !== owner && !this.ownerProof(token, id)) {
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
    const idleLeft = entry.waiting ? this.idleMs : entry.lastUsed + this.idleMs - now;
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
