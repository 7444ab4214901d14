/**
 * Outbound calls that do not hold the host's thread (PROFILE §6.15). Ops run synchronously inside
 * their transaction, yet a call to another host must wait for its answer with the event loop free:
 * the other host may ask this one for its public key meanwhile (to check the token the call
 * carries), and every other client is served meanwhile too.
 *
 * So a request runs with a call log. An outbound call whose answer the log does not hold stops the
 * op (`PendingCall`); the request's writes are undone to where it started; the call is made
 * asynchronously and its answer recorded; and the request runs again from its start, taking the
 * answers of the calls it made before from the log, in order. An op is a function of the state and
 * of the answers it gets, so a run again makes the same calls. One that makes a different call
 * (a random or generated value sent out) is refused with a `ConflictError`: the other host has
 * already received the first call, and the transaction rolls back with every participant.
 */
import { BadRequestError, ConflictError, TimeoutError } from "../../errors.js";
import type { StateTxn } from "../state/transaction.js";

/** The answer of one outbound HTTP request (`ok: false`: it got no answer). */
export interface OutboundResponse {
  readonly ok: boolean;
  readonly status?: number;
  readonly text?: string;
  readonly error?: string;
}

/** At most this many outbound calls per request (each one runs the request once more). */
export const MAX_CALLS_PER_REQUEST = 64;

interface RecordedCall {
  readonly method: string;
  readonly url: string;
  readonly body: string | undefined;
  readonly response: OutboundResponse;
}

/** The outbound calls one request made so far, with their answers. */
export class CallLog {
  private readonly calls: RecordedCall[] = [];
  private next = 0;

  /**
   * The recorded answer of this run's next call, or `undefined` when this run reached a call not
   * made yet. Throws `ConflictError` when the call differs from the one made at this point before.
   */
  take(method: string, url: string, body: string | undefined): OutboundResponse | undefined {
    const i = this.next;
    const c = this.calls[i];
    if (c === undefined) {
      if (i >= MAX_CALLS_PER_REQUEST) {
        throw new BadRequestError(`an op may make at most ${MAX_CALLS_PER_REQUEST} calls to other hosts per request`);
      }
      return undefined;
    }
    if (c.method !== method || c.url !== url || c.body !== body) {
      throw new ConflictError(
        `call ${i + 1} to another host changed when the op ran again after an answer (${c.method} ${shown(c.url)} → ${method} ${shown(url)}): ` +
          "an op that calls other hosts must make the same calls given the same answers (no random or generated values sent out)",
      );
    }
    this.next = i + 1;
    return c.response;
  }

  /** Records the answer of the call `take` did not find. */
  record(method: string, url: string, body: string | undefined, response: OutboundResponse): void {
    this.calls.push({ method, url, body, response });
  }

  /** Starts a run again from the first call. */
  rewind(): void {
    this.next = 0;
  }
}

/** A call's URL as an error shows it: without its transaction id. */
function shown(url: string): string {
  return url.replace(/([?&])txn_id=[^&]*&?/, "$1").replace(/[?&]$/, "");
}

/**
 * Thrown through an op that reached a call whose answer `log` does not hold yet: `send` makes the
 * call and records its answer there.
 */
export class PendingCall extends Error {
  constructor(
    readonly log: CallLog,
    readonly send: () => Promise<void>,
  ) {
    super("an outbound call is waiting for its answer");
  }
}

/** What a request's run needs from its transaction's scope. */
export interface ReplayScope {
  readonly txn: Pick<StateTxn, "savepoint" | "undoTo">;
  /**
   * Drops the call log of the request that ran (the scope makes one on the request's first
   * outbound call, and keeps it while the request runs again).
   */
  endCalls(): void;
}

/**
 * Runs `fn` (a request's synchronous run) in `scope`. It returns `fn`'s result at once unless the
 * run reached an outbound call: then a promise of the result of the run that got every answer,
 * or a `TimeoutError` once the calls took longer than `budgetMs` (the transaction's budget). A
 * request that calls no other host pays one savepoint and nothing else.
 *
 * @example
 * ```ts
 * const answer = runReplaying(scope, (s) => dispatchIn(s, grant, verb, route, key, value), 3000);
 * const json = answer instanceof Promise ? await answer : answer;
 * ```
 */
export function runReplaying<T, S extends ReplayScope>(scope: S, fn: (scope: S) => T, budgetMs: number): T | Promise<T> {
  const mark = scope.txn.savepoint();
  try {
    return fn(scope);
  } catch (e) {
    if (!(e instanceof PendingCall)) {
      scope.endCalls(); // a call that failed before it was sent may have made the log
      throw e;
    }
    scope.txn.undoTo(mark);
    return again(scope, fn, mark, e, performance.now() + budgetMs, budgetMs);
  }
}

async function again<T, S extends ReplayScope>(scope: S, fn: (scope: S) => T, mark: number, pending: PendingCall, deadline: number, budgetMs: number): Promise<T> {
  try {
    for (;;) {
      await pending.send();
      if (performance.now() > deadline) {
        throw new TimeoutError(`the request's calls to other hosts took longer than the transaction's budget of ${budgetMs} ms`);
      }
      pending.log.rewind();
      try {
        return fn(scope);
      } catch (e) {
        if (!(e instanceof PendingCall)) throw e;
        scope.txn.undoTo(mark);
        pending = e;
      }
    }
  } finally {
    scope.endCalls();
  }
}
