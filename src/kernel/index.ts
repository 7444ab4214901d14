/**
 * `src/kernel`: the in-process kernel and `embedded()`, the `Executor` that runs ops on it (the
 * public entry of this folder; see README.md for its layout).
 *
 * - Every `execute` and every plain `request` is one transaction; a session is one transaction
 *   across calls, begun as a held transaction (`Kernel.hold`) and continued under the id and
 *   owner token the kernel minted, which stay inside the session — the same begin / continue /
 *   finalize the HTTP server uses (transactions.ts). Transactions are **serializable**: one FIFO
 *   lock, held by a session from its start to its commit or rollback (or its time budget,
 *   default 3 s, or its idle timeout — no call on it for 500 ms by default — after either of
 *   which it answers 408). At most
 *   `lockQueueLimit` (256) calls wait for the lock; more are refused with `UnavailableError` (503).
 *   A plain GET on a table while a session is open does not wait: it reads the committed state.
 * - Ops are decoded and planned once (cached by object identity, then by content hash) and run
 *   synchronously from first step to last; any error rolls the whole call back.
 * - Guards: `limits` (step budget, `while` iterations, call nesting, wall-clock ms, string and
 *   tuple sizes, bytes allocated, the result's JSON size) with `BudgetExceededError` (400) when
 *   exceeded; defaults in docs/PROFILE.md §2.
 * - `/lib` installs are stored in the same transaction as other writes (durable with `dataDir`).
 * - `grant` sandboxes every call: each link an op reaches is checked against it when it runs
 *   (`ForbiddenError`, 403, and the call is rolled back); a session needs a write verb.
 */
import { randomUUID } from "node:crypto";
import { BadRequestError } from "../errors.js";
import type { Json, OpDef } from "../ir/types.js";
import type { ExecRequest, Executor, Session } from "../executor.js";
import { Kernel, type KernelOptions, type TxnRequest } from "./kernel.js";
import { checkedGrant, type Grant } from "./ops/grant.js";
import { KERNEL_EXTENSIONS } from "./host-info.js";

/** What `GET /host` lists, as `Runner.extensions()` answers it in process. */
const SERVED: ReadonlySet<string> = new Set(KERNEL_EXTENSIONS);

export { Kernel, DEFAULT_SESSION_IDLE_MS, type KernelOptions, type KernelStats, type SessionRef, type TxnRequest, type TxnTicket } from "./kernel.js";
export { DEFAULT_LOCK_QUEUE_LIMIT, LockQueueFullError } from "./state/database.js";
export { BudgetExceededError, DEFAULT_LIMITS, type ExecLimits } from "./ops/exec-context.js";
export { BUILTIN_METHODS } from "./ops/builtins.js";
export { type Grant } from "./ops/grant.js";
export { DEFAULT_LIBRARY_QUOTA, LibraryQuotaError, type LibraryQuota } from "./ops/library.js";
export { TableLiteral, TableView, toJson, decodeData, type KernelValue } from "./ops/kernel-value.js";

/** Options of `embedded()`. */
export interface EmbeddedOptions extends KernelOptions {
  /**
   * What this executor's calls may reach (default: everything), e.g. `{ paths: ["/state/app"],
   * verbs: ["get"] }` to run ops you did not write read-only on one namespace. Every link an op
   * resolves — literal, computed, read from a row, or reached through a `/lib` op — is checked.
   */
  readonly grant?: Grant;
}

/**
 * An `Executor` backed by an in-process kernel: in memory by default, durable with `dataDir`.
 * The kernel opens lazily on first use; `close()` releases it.
 *
 * @example
 * ```ts
 * const ex = embedded();                          // or embedded({ dataDir: "./data" })
 * await ex.execute(op, { me: 1 });
 * const sandbox = embedded({ grant: { paths: ["/state/app"], verbs: ["get"] } });
 * const s = await ex.session();
 * await s.request({ verb: "put", path: "/state/app/counter", key: ["c"], body: [1] });
 * await s.commit();
 * await ex.close();
 * ```
 */
export function embedded(opts: EmbeddedOptions = {}): Executor {
  const grant = opts.grant;
  if (grant !== undefined) checkedGrant(grant); // validated now (and cached), not at the first call
  let opening: Promise<Kernel> | undefined;
  // The kernel once open: calls then go straight to it (no promise hop through `opening`).
  let open: Kernel | undefined;
  let closed = false;
  const kernel = (): Promise<Kernel> => {
    if (closed) return Promise.reject(new BadRequestError("this executor is closed"));
    return (opening ??= Kernel.open(opts).then((k) => (open = k)));
  };
  return {
    execute(op: Json | OpDef, args?: Readonly<Record<string, Json>>): Promise<Json> {
      if (open !== undefined && !closed) return open.execute(op, args ?? {}, undefined, grant);
      return kernel().then((k) => k.execute(op, args ?? {}, undefined, grant));
    },
    request(req: ExecRequest): Promise<Json> {
      if (open !== undefined && !closed) return open.request(req, undefined, grant);
      return kernel().then((k) => k.request(req, undefined, grant));
    },
    extensions(): Promise<ReadonlySet<string>> {
      return Promise.resolve(SERVED);
    },
    async session(): Promise<Session> {
      const k = await kernel();
      // Its calls prove they own it by an owner name only this session knows: an owner token
      // (an Ed25519 signature per session) is for callers in other processes.
      const owner = `session:${randomUUID()}`;
      const id = await k.hold({ owner }, grant);
      return openSession(k, id, owner, grant);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (opening) await (await opening).close();
    },
  };
}

/**
 * A `Session` on a kernel: a held transaction begun now (`Kernel.hold`), continued and finalized
 * under the id the kernel minted and the owner it was begun for, which stay inside this closure.
 */
function openSession(kernel: Kernel, id: string, owner: string, grant: Grant | undefined): Session {
  let done = false;
  const ref: TxnRequest = { id, owner };
  const check = (): void => {
    if (done) throw new BadRequestError("this session is already committed or rolled back");
  };
  const finalize = async (commit: boolean): Promise<void> => {
    check();
    done = true;
    await kernel.finalize(id, commit, ref);
  };
  return {
    async execute(op, args) {
      check();
      return kernel.execute(op, args ?? {}, ref, grant);
    },
    async request(req) {
      check();
      return kernel.request(req, ref, grant);
    },
    extensions() {
      return Promise.resolve(SERVED);
    },
    commit: () => finalize(true),
    rollback: () => finalize(false),
  };
}
