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
export * from "./kernel/index.js";
export * from "./http/index.js";
export * from "./orm/index.js";
export * from "./graph/index.js";
// Explicit re-exports settle the names two modules share: the public `connect` is the one that
// attaches `db.graph`; `RowOf` is the ORM's (the graph's is exported as `GraphRowOf`).
export { connect, type Db } from "./connect.js";
export type { RowOf } from "./orm/index.js";
export type { RowOf as GraphRowOf } from "./graph/index.js";
