/**
 * tinychain-orm — typed tables, query builders and graph traversals compiled to TinyChain IR,
 * executed by an embedded kernel or a remote TinyChain host.
 */
export * from "./errors.js";
export type * from "./client/executor.js";
