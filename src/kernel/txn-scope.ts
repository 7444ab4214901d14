/**
 * A transaction's kernel state (`ExecContext.scope`): its state transaction, its view of `/lib`
 * (made on first use), its id and caller's token once known, the other hosts it called (to
 * finalize with it), and the call log of the request running in it (egress/call-replay.ts).
 */
import { CallLog, type ReplayScope } from "./egress/call-replay.js";
import type { Egress, OutboundTxn, Participant } from "./egress/remote-call.js";
import type { LibraryRegistry, LibraryTxn } from "./ops/library.js";
import type { KernelTxnState } from "./router.js";
import type { StateTxn } from "./state/database.js";
import { looksLikeRjwt } from "../rjwt.js";
import { mintTxnId, type HostActor } from "./txn-tokens.js";

/** The kernel's per-transaction state. */
export interface TxnScope extends KernelTxnState, ReplayScope {
  readonly txn: StateTxn;
  readonly libs: LibraryTxn;
  /** Names the transaction: its id, and the bearer token of the call that began it (chained into outbound tokens). */
  bind(id: string, callerToken: string | undefined): void;
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
  private others: OutboundTxn | undefined;
  private txnId: string | undefined;
  private callerToken: string | undefined;
  private calls: CallLog | undefined;
  constructor(
    readonly txn: StateTxn,
    private readonly registry: LibraryRegistry,
    readonly egress: Egress | undefined,
    private readonly host: HostActor,
  ) {}
  bind(id: string, callerToken: string | undefined): void {
    this.txnId = id;
    this.callerToken = callerToken;
  }
  endCalls(): void {
    this.calls = undefined;
  }
  outbound(): OutboundTxn {
    return (this.others ??= {
      participants: new Map(),
      calls: () => (this.calls ??= new CallLog()),
      // A transaction nobody named yet (an embedded call) gets its id on its first outbound call.
      id: () => (this.txnId ??= mintTxnId()),
      token: (path, mask, routeToken) => {
        const caller = this.callerToken;
        const callerRjwt = caller !== undefined && looksLikeRjwt(caller);
        // An opaque route token is what the remote host expects from this one: sent as it is.
        if (!callerRjwt && routeToken !== undefined && !looksLikeRjwt(routeToken)) return routeToken;
        return this.host.participantToken(this.others!.id(), path, mask, callerRjwt ? caller : routeToken);
      },
    });
  }
  /** The participants, or undefined when the transaction called no other host. */
  joined(): Map<string, Participant> | undefined {
    return this.others !== undefined && this.others.participants.size > 0 ? this.others.participants : undefined;
  }
  get libs(): LibraryTxn {
    return (this.libView ??= this.registry.begin());
  }
  libChanges(): LibraryTxn | undefined {
    return this.libView;
  }
}
