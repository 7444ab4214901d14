/**
 * tinychain-orm — typed tables, query builders and graph traversals compiled to TinyChain IR,
 * executed by an embedded kernel or a remote TinyChain host.
 *
 * @example
 * ```ts
 * import { table, col, schema, connect, embedded } from "tinychain-orm";
 * const users = table("users", { id: col.u64().key(), name: col.string(64) });
 * const db = await connect(schema({ namespace: "app", tables: { users } }), embedded());
 * await db.sync();
 * ```
 */
export * from "./errors.js";
export type * from "./executor.js";
export * from "./ir/index.js";
// The kernel's public face; its value and storage classes (TableView, TableLiteral, KernelValue,
// toJson, decodeData) stay internal: no public signature needs them.
export {
  Kernel,
  DEFAULT_SESSION_IDLE_MS,
  DEFAULT_LOCK_QUEUE_LIMIT,
  LockQueueFullError,
  BudgetExceededError,
  DEFAULT_LIMITS,
  BUILTIN_METHODS,
  DEFAULT_LIBRARY_QUOTA,
  LibraryQuotaError,
  embedded,
  type KernelOptions,
  type KernelStats,
  type SessionRef,
  type ExecLimits,
  type Grant,
  type LibraryQuota,
  type EmbeddedOptions,
} from "./kernel/index.js";
export * from "./http/index.js";
export * from "./orm/index.js";
export * from "./graph/index.js";
export * from "./library/index.js";
export * from "./service/index.js";
export * from "./cluster/index.js";
// Explicit re-exports settle the names two modules share: the public `connect` is the one that
// attaches `db.graph`; `RowOf` is the ORM's (the graph's is exported as `GraphRowOf`).
export { connect, type Db } from "./connect.js";
export type { RowOf } from "./orm/index.js";
export type { GraphRowOf } from "./graph/index.js";
