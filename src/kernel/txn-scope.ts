/**
 * A transaction's kernel state (`ExecContext.scope`): its state transaction, its view of `/lib`
 * (made on first use), and the other hosts it called (to finalize with it).
 */
import type { Egress, Participant } from "./egress/remote-call.js";
import type { LibraryRegistry, LibraryTxn } from "./ops/library.js";
import type { KernelTxnState } from "./router.js";
import type { StateTxn } from "./state/database.js";

/** The kernel's per-transaction state. */
export interface TxnScope extends KernelTxnState {
  readonly txn: StateTxn;
  readonly libs: LibraryTxn;
  /** The other hosts this transaction called, to finalize with it. */
  joined(): Map<string, Participant> | undefined;
  /** The transaction's view of `/lib`, or `undefined` when it never looked at `/lib`. */
  libChanges(): LibraryTxn | undefined;
}

/**
 * A transaction's scope. Its library view is made on first use: most transactions never touch
 * `/lib`, and a view made later sees the same registry (it reads the registry live).
 */
export class KernelScope implements TxnScope {
  private libView: LibraryTxn | undefined;
  private others: Map<string, Participant> | undefined;
  constructor(
    readonly txn: StateTxn,
    private readonly registry: LibraryRegistry,
    readonly egress: Egress | undefined,
  ) {}
  participants(): Map<string, Participant> {
    return (this.others ??= new Map());
  }
  /** The participants, or undefined when the transaction called no other host. */
  joined(): Map<string, Participant> | undefined {
    return this.others !== undefined && this.others.size > 0 ? this.others : undefined;
  }
  get libs(): LibraryTxn {
    return (this.libView ??= this.registry.begin());
  }
  libChanges(): LibraryTxn | undefined {
    return this.libView;
  }
}

