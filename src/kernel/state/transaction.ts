/**
 * A state transaction: its lifecycle and atomicity. Requests on `/state/<ns>/<table>` and on
 * views run their routes (table-routes.ts) on the live tables, recording every write in the
 * transaction's undo log (undo-log.ts). Each request is atomic on its own: a failed request is
 * undone up to where it started. The whole transaction commits — its log becoming the write set
 * the database's durable store flushes — or rolls back as one.
 */
import { BadRequestError, NotFoundError } from "../../errors.js";
import type { Verb } from "../../ir/types.js";
import type { StoreOp } from "../storage/lmdb-store.js";
import type { EncodedJson } from "../ops/encoded-json.js";
import type { RouteMeter } from "../ops/route-meter.js";
import { type StateValue, type TableHost, missingTableRoute, tableRoute, viewRoute } from "./table-routes.js";
import type { TableView } from "./table-view.js";
import { UndoLog } from "./undo-log.js";

/** The transaction API the kernel codes against (`Database.begin()` hands one out). */
export interface StateTxn {
  /**
   * A request on /state: path = segments after "state", e.g. ["social","users","count"]. The
   * traverse route may answer an `EncodedJson` (a result already in JSON form).
   */
  request(verb: Verb, path: readonly string[], key: unknown, value: unknown, meter?: RouteMeter): StateValue | EncodedJson;
  /** A request on a view value from an earlier step (`$v/limit`): path relative to the view. */
  viewRequest(view: TableView, verb: Verb, path: readonly string[], key: unknown, value: unknown): StateValue;
  /** Resolves once the transaction's writes are durable (at once in memory). */
  commit(): Promise<void>;
  /**
   * `commit()` without a promise when none is needed: ends the transaction keeping its writes and
   * returns `undefined` when they are already durable (in memory, or nothing to write and nothing
   * pending), else a promise that resolves once they are.
   */
  commitNow(): Promise<void> | undefined;
  /** Undoes every write of this transaction. */
  rollback(): void;
  /** A point in this transaction's writes to undo back to (`undoTo`). */
  savepoint(): number;
  /** Undoes the writes made since `savepoint` answered `mark`; the transaction stays open. */
  undoTo(mark: number): void;
  /**
   * Keeps the committed state readable while this transaction writes (a session: it holds the
   * lock across calls), so `Database.readCommitted()` can serve reads meanwhile.
   */
  keepCommitted(): void;
}

/** What a transaction needs from its database: the table catalog, and the lock and store. */
export interface TxnHost extends TableHost {
  /**
   * Hands the write set to the store and frees the lock; resolves when durable, or returns
   * `undefined` when everything is durable already.
   */
  finish(ops: StoreOp[] | undefined): Promise<void> | undefined;
  /** Frees the lock after a rollback. */
  abandon(): void;
  /** The transaction holding the lock keeps the committed state readable (see `keepCommitted`). */
  keepCommitted?(): void;
}

/** The settled commit of a transaction whose writes were durable at once. */
const DURABLE: Promise<void> = Promise.resolve();

/**
 * One transaction. Obtain it from `Database.begin()` / `tryBegin()`.
 *
 * @example
 * ```ts
 * const txn = await db.begin();
 * txn.request("put", ["app", "t"], ["a"], [5]);
 * await txn.commit();
 * ```
 */
export class Txn implements StateTxn {
  private closed = false;
  private readonly log = new UndoLog();

  constructor(private readonly host: TxnHost) {}

  private assertOpen(): void {
    if (this.closed) throw new BadRequestError("this transaction has already ended");
  }

  // ---- lifecycle ------------------------------------------------------------------------------
  /** Ends the transaction, keeping its writes; resolves when they are durable. */
  commit(): Promise<void> {
    return this.commitNow() ?? DURABLE;
  }

  /** `commit()`, but `undefined` instead of a promise when the writes are durable already. */
  commitNow(): Promise<void> | undefined {
    this.assertOpen();
    this.closed = true;
    this.log.releaseCommitted();
    if (this.log.isEmpty()) return this.host.finish(undefined);
    const ops = this.host.durable ? this.log.writeSet() : undefined;
    this.log.clear();
    return this.host.finish(ops);
  }

  /** Ends the transaction, undoing all its writes. */
  rollback(): void {
    if (this.closed) return;
    this.log.undoTo(0, this.host);
    this.log.releaseCommitted();
    this.closed = true;
    this.host.abandon();
  }

  savepoint(): number {
    return this.log.mark();
  }

  undoTo(mark: number): void {
    this.assertOpen();
    this.log.undoTo(mark, this.host);
  }

  keepCommitted(): void {
    this.assertOpen();
    this.log.preserveCommitted();
    this.host.keepCommitted?.();
  }

  // ---- requests: each one atomic ----------------------------------------------------------------
  request(verb: Verb, path: readonly string[], key: unknown, value: unknown, meter?: RouteMeter): StateValue | EncodedJson {
    this.assertOpen();
    if (path.length < 2 || path.length > 3) {
      throw new NotFoundError(`/state/${path.join("/")} is not a table (tables live at /state/<namespace>/<name>)`);
    }
    const ns = path[0]!;
    const name = path[1]!;
    const route = path.length === 3 ? path[2]! : "";
    const mark = this.log.mark();
    try {
      const table = this.host.lookup(ns, name);
      if (table === undefined) return missingTableRoute(this.log, this.host, verb, ns, name, route, key, value);
      return tableRoute(this.log, this.host, table, ns, name, verb, route, key, value, meter);
    } catch (e) {
      this.log.undoTo(mark, this.host);
      throw e;
    }
  }

  viewRequest(view: TableView, verb: Verb, path: readonly string[], key: unknown, value: unknown): StateValue {
    this.assertOpen();
    if (path.length > 1) throw new NotFoundError(`a table view has no route ${path.join("/")}`);
    const mark = this.log.mark();
    try {
      return viewRoute(this.log, view, verb, path[0] ?? "", key, value);
    } catch (e) {
      this.log.undoTo(mark, this.host);
      throw e;
    }
  }
}
