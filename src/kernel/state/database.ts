/**
 * `Database`: the state behind one kernel — the catalog of `/state` tables, the FIFO transaction
 * lock (one transaction at a time: serializable) and, with a data directory, the durable lmdb
 * store (storage/lmdb-store.ts) that commits are flushed to. It hands out transactions
 * (transaction.ts) and knows nothing of ops, of routes outside `/state`, of sessions or of
 * `/lib`: those belong to the kernel (kernel.ts), which runs every call in one of its transactions.
 */
import { BadRequestError, UnavailableError } from "../../errors.js";
import { closeDataDir, openDataDir } from "../storage/data-dir.js";
import type { DataDirLock } from "../storage/data-dir-lock.js";
import { HeapTable } from "../storage/heap-table.js";
import { type StoreOp, LmdbStore, MAX_KEY_BYTES } from "../storage/lmdb-store.js";
import { LmdbTable } from "../storage/lmdb-table.js";
import { Integrity } from "./integrity.js";
import type { Table } from "../storage/table-engine.js";
import type { TableSchema } from "../storage/table-schema.js";
import { type StateTxn, Txn, type TxnHost } from "./transaction.js";

export type { StateTxn } from "./transaction.js";
export type { StateValue } from "./table-routes.js";

/** Default bound of the transaction lock's wait queue (`Database.queueLimit`). */
export const DEFAULT_LOCK_QUEUE_LIMIT = 256;

/**
 * The transaction lock's wait queue is full: a typed 503 `temporarily_unavailable`. The HTTP server
 * sends `retryAfterS` as the `Retry-After` header.
 */
export class LockQueueFullError extends UnavailableError {
  /** Seconds after which a retry may find room. */
  readonly retryAfterS = 1;
  constructor(limit: number) {
    super(`the host is busy: ${limit} transactions are already waiting for the transaction lock; retry later`);
  }
}

/** Options of `Database.open`. */
export interface DatabaseOptions {
  /**
   * Directory of the durable store; in memory when absent. Opened exclusively (a second opener
   * gets `DataDirLockedError`); a bad path gives `DataDirPathError`, damaged data
   * `DataCorruptionError` (storage/data-dir.ts).
   */
  readonly dataDir?: string;
}

/**
 * The state of one kernel: tables in memory (heap B+ trees, heap-table.ts), or durable tables
 * whose rows live in lmdb (lmdb-table.ts).
 *
 * @example
 * ```ts
 * const db = await Database.open({ dataDir: "./data" });
 * const txn = await db.begin();
 * txn.request("put", ["app", "t"], null, tableLiteral(schema, []));
 * await txn.commit();
 * await db.close();
 * ```
 */
export class Database implements TxnHost {
  private readonly namespaces = new Map<string, Map<string, Table>>();
  /** The foreign-key rules every attached table's writes go through (integrity.ts). */
  private readonly integrity = new Integrity({
    lookup: (ns, name) => this.lookup(ns, name),
    allTables: () => [...this.namespaces.values()].flatMap((tables) => [...tables.values()]),
  });
  /**
   * Whether writes check foreign keys (integrity.ts). A cluster's shard turns it off: a referenced
   * row may be on another host, and the cluster client checks references over every shard.
   */
  get enforceReferences(): boolean {
    return this.#enforceReferences;
  }
  set enforceReferences(on: boolean) {
    this.#enforceReferences = on;
    for (const tables of this.namespaces.values()) for (const table of tables.values()) table.guard = on ? this.integrity : undefined;
  }
  #enforceReferences = true;
  private lastTid = 0;
  private locked = false;
  private readonly waiters: { resolve: (txn: Txn) => void; reject: (e: Error) => void }[] = [];
  /** Most transactions that may wait for the lock; `begin` refuses more (`LockQueueFullError`). */
  queueLimit = DEFAULT_LOCK_QUEUE_LIMIT;
  private failure: Error | undefined;
  /** Resolves when every write handed to the store so far is durable. */
  private tail: Promise<void> = Promise.resolve();
  /** Writes handed to the store that have not settled yet (0: everything is durable or failed). */
  private pendingWrites = 0;
  private closed = false;
  /** True while the lock is held by a transaction that keeps the committed state readable. */
  private sessionHeld = false;
  /** The catalog as committed, copied before such a transaction first creates or drops a table. */
  private committedCatalog: Map<string, Map<string, Table>> | undefined;

  private constructor(
    private readonly store: LmdbStore | undefined,
    private readonly lock?: DataDirLock,
  ) {}

  /** Opens a database: in memory, or durable in `dataDir` (its tables opened, no row read). */
  static async open(opts: DatabaseOptions = {}): Promise<Database> {
    if (opts.dataDir === undefined) return new Database(undefined);
    const { store, lock, tables } = await openDataDir(opts.dataDir);
    const db = new Database(store, lock);
    for (const { ns, name, table } of tables) {
      db.attach(ns, name, table);
      db.lastTid = Math.max(db.lastTid, table.tid);
    }
    return db;
  }

  /** True when backed by a data directory. */
  get durable(): boolean {
    return this.store !== undefined;
  }

  /** Waits for the lock (FIFO) and starts a transaction; refused when `queueLimit` already wait. */
  begin(): Promise<StateTxn> {
    if (this.failure || this.closed) return Promise.reject(this.unavailable());
    if (!this.locked) {
      this.locked = true;
      return Promise.resolve(new Txn(this));
    }
    if (this.waiters.length >= this.queueLimit) return Promise.reject(new LockQueueFullError(this.queueLimit));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Starts a transaction at once when the lock is free; `undefined` otherwise. */
  tryBegin(): StateTxn | undefined {
    if (this.locked || this.failure || this.closed) return undefined;
    this.locked = true;
    return new Txn(this);
  }

  /** Refuses new transactions (queued ones are rejected), waits for pending writes, closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(this.unavailable());
    await this.tail;
    if (!this.store) return;
    if (this.failure === undefined) {
      // Deferred index changes go into lmdb's entries, so the next open replays no index log.
      const ops: StoreOp[] = [];
      for (const tables of this.namespaces.values()) {
        for (const t of tables.values()) {
          const op = t instanceof LmdbTable ? t.drainDeferred() : undefined;
          if (op !== undefined) ops.push(op);
        }
      }
      if (ops.length !== 0) await this.store.write(ops).catch((e: unknown) => void (this.failure ??= e instanceof Error ? e : new Error(String(e))));
    }
    await closeDataDir(this.store, this.lock!, this.failure === undefined);
  }

  /** Links of every table (`/state/<ns>/<name>`), sorted. */
  tablePaths(): string[] {
    const out: string[] = [];
    for (const tables of this.namespaces.values()) for (const t of tables.values()) out.push(t.path);
    return out.sort();
  }

  private unavailable(): UnavailableError {
    return this.failure
      ? new UnavailableError(`the durable store failed; the database is unavailable: ${this.failure.message}`)
      : new UnavailableError("the database is closed");
  }

  private release(): void {
    this.sessionHeld = false;
    this.committedCatalog = undefined;
    const next = this.waiters.shift();
    if (!next) {
      this.locked = false;
    } else if (this.failure || this.closed) {
      next.reject(this.unavailable());
      this.release();
    } else {
      next.resolve(new Txn(this));
    }
  }

  // ---- TxnHost --------------------------------------------------------------------------------
  lookup(ns: string, name: string): Table | undefined {
    return this.namespaces.get(ns)?.get(name);
  }

  /**
   * A read-only transaction over the last committed state, for a read that need not wait while
   * a session holds the lock (`keepCommitted`); `undefined` when the lock is free or held by a
   * transaction that does not keep it (the caller then waits for the lock as usual). Its tables
   * are the tables' committed views (`Table.committed()`); it takes no lock and writes nothing.
   *
   * @example
   * ```ts
   * const txn = db.readCommitted() ?? (await db.begin());
   * txn.request("get", ["app", "t"], [1], undefined); // as committed, whatever the session wrote
   * await txn.commit();
   * ```
   */
  readCommitted(): StateTxn | undefined {
    if (this.failure || this.closed) throw this.unavailable();
    if (!this.locked || !this.sessionHeld) return undefined;
    const catalog = this.committedCatalog ?? this.namespaces;
    const durable = this.durable;
    const refuse = (): never => {
      throw new BadRequestError("a read of the committed state cannot create or drop tables");
    };
    return new Txn({
      durable,
      lookup: (ns, name) => catalog.get(ns)?.get(name)?.committed(),
      attach: refuse,
      detach: refuse,
      newTid: refuse,
      newTable: refuse,
      finish: () => undefined,
      abandon: () => undefined,
    });
  }

  keepCommitted(): void {
    this.sessionHeld = true;
  }

  /** Copies the catalog before its first change while the committed state is kept. */
  private catalogChanging(): void {
    if (!this.sessionHeld || this.committedCatalog !== undefined) return;
    this.committedCatalog = new Map([...this.namespaces].map(([ns, tables]) => [ns, new Map(tables)]));
  }

  attach(ns: string, name: string, table: Table): void {
    this.catalogChanging();
    let tables = this.namespaces.get(ns);
    if (!tables) this.namespaces.set(ns, (tables = new Map()));
    tables.set(name, table);
    table.attached = true;
    table.guard = this.#enforceReferences ? this.integrity : undefined;
    this.integrity.invalidate();
    if (this.store) table.keyByteLimit = MAX_KEY_BYTES;
  }

  detach(ns: string, name: string): void {
    this.catalogChanging();
    const tables = this.namespaces.get(ns);
    const table = tables?.get(name);
    if (!tables || !table) return;
    tables.delete(name);
    table.attached = false;
    table.guard = undefined;
    this.integrity.invalidate();
    if (tables.size === 0) this.namespaces.delete(ns);
  }

  newTid(): number {
    return ++this.lastTid;
  }

  /** A new, empty table of this database's engine (heap in memory, lmdb when durable), with a new id. */
  newTable(path: string, schema: TableSchema): Table {
    const tid = this.newTid();
    if (this.store === undefined) {
      const table = new HeapTable(path, schema);
      table.tid = tid;
      return table;
    }
    return new LmdbTable(path, schema, this.store, tid, 0);
  }

  finish(ops: StoreOp[] | undefined): Promise<void> | undefined {
    // The next transaction may start now: its own commit is queued after this one, so it can
    // only be acknowledged after this one is durable. If a write fails, the database stops.
    this.release();
    if (!this.store) return undefined;
    if (this.failure) return Promise.reject(this.unavailable());
    // Nothing to write: acknowledged once every earlier write is durable (at once if none is pending).
    if (!ops || ops.length === 0) return this.pendingWrites === 0 ? undefined : this.tail;
    this.pendingWrites++;
    const written = this.store.write(ops).catch((e: unknown) => {
      this.failure ??= e instanceof Error ? e : new Error(String(e));
      throw this.unavailable();
    });
    const settled = (): void => {
      this.pendingWrites--;
    };
    written.then(settled, settled);
    const prior = this.tail;
    this.tail = written.catch(() => undefined);
    return prior.then(() => written);
  }

  abandon(): void {
    this.release();
  }
}
