/**
 * A session over a cluster: one transaction on every host of every shard (`ClusterTxn`), its
 * calls run by the executor's rules, committed or rolled back together. After a failed call the
 * transaction is rolled back, and every later call (and the commit) answers the original cause as
 * a host answers it ("session rolled back after: …", same kind).
 */
import { errorOfKind, type ForeignKeyError, TcError, BadRequestError } from "../errors.js";
import type { ExecRequest, Session } from "../executor.js";
import type { Json, OpDef } from "../ir/types.js";
import type { ClusterTxn } from "./hosts.js";
import { toJson } from "./op-scan.js";

/** What a session needs of its executor. */
export interface SessionHost {
  /** Runs one call of the session inside its transaction. */
  runIn(txn: ClusterTxn, call: { op?: Json; args?: Readonly<Record<string, Json>>; request?: ExecRequest }): Promise<Json>;
  /** The session ended (committed or rolled back). */
  ended(txn: ClusterTxn): void;
  extensions(): Promise<ReadonlySet<string>>;
}

/** A transaction over the cluster: sessions on every host, committed or rolled back together. */
export class ClusterSession implements Session {
  constructor(
    private readonly ex: SessionHost,
    private readonly txn: ClusterTxn,
  ) {}
  /** The error that ended this session: every later call and the commit answer it. */
  #failure: unknown;
  #check(): void {
    if (this.#failure !== undefined) {
      // As a host answers every call after a failed one: the original kind, naming the cause.
      const f = this.#failure;
      if (!(f instanceof TcError)) throw f;
      const c = f as Partial<ForeignKeyError>;
      throw errorOfKind(f.kind, `session rolled back after: ${f.message}`, { table: c.table, columns: c.columns, key: c.key, references: c.references });
    }
    if (this.txn.done) throw new BadRequestError("this session is already committed or rolled back");
  }
  execute(op: Json | OpDef, args: Readonly<Record<string, Json>> = {}): Promise<Json> {
    return this.#call(() => ({ op: toJson(op), args }));
  }
  request(req: ExecRequest): Promise<Json> {
    return this.#call(() => ({ request: req }));
  }
  /** Runs one call; a failed one rolls the transaction back and ends the session. */
  async #call(call: () => Parameters<SessionHost["runIn"]>[1]): Promise<Json> {
    this.#check();
    try {
      return await this.ex.runIn(this.txn, call());
    } catch (e) {
      this.#failure = e;
      await this.txn.rollback();
      this.ex.ended(this.txn);
      throw e;
    }
  }
  extensions(): Promise<ReadonlySet<string>> {
    return this.ex.extensions();
  }
  async commit(): Promise<void> {
    this.#check();
    try {
      await this.txn.commit();
    } finally {
      this.ex.ended(this.txn);
    }
  }
  async rollback(): Promise<void> {
    try {
      await this.txn.rollback();
    } finally {
      this.ex.ended(this.txn);
    }
  }
}
