/**
 * `GET /host` (PROFILE §6): what the host serves beyond the core profile, as
 * `{"extensions": [...]}`. A client reads it once and refuses, before anything runs, a statement
 * needing an extension the host lacks (`requireExtensions` in src/executor.ts).
 */
import { MethodNotAllowedError } from "../errors.js";
import { QUERY_EXTENSION, RETURNING_EXTENSION } from "../ir/query-plan.js";
import type { Json, Verb } from "../ir/types.js";

/** Listed by a host opened as a cluster's shard (`KernelOptions.shardMember`, PROFILE §6.16). */
export const SHARD_MEMBER_EXTENSION = "shard_member";

/** The path of the host description. */
export const HOST_PATH = "/host";

/**
 * Every extension this kernel serves, by its PROFILE §6 name: `filter` and `sort` (§6.1),
 * `insert_rows` (§6.2), `traverse` (§6.3), `nullable` (§6.4), `txn` (§6.5), `lib_admin` (§6.9),
 * `tables` (§6.10), `query` (§6.11), `returning` (§6.12), `alter` (§6.13), `service` (§6.14).
 */
export const KERNEL_EXTENSIONS: readonly string[] = [
  "filter",
  "sort",
  "insert_rows",
  "traverse",
  "nullable",
  "txn",
  "lib_admin",
  "tables",
  QUERY_EXTENSION,
  RETURNING_EXTENSION,
  "alter",
  "service",
];

/**
 * Answers `verb` on `/host`.
 *
 * @example
 * ```ts
 * hostInfo("get"); // { extensions: ["filter", "sort", …, "query", "returning"] }
 * hostInfo("get", true); // … plus "shard_member"
 * ```
 */
export function hostInfo(verb: Verb, shardMember = false): Json {
  if (verb !== "get") throw new MethodNotAllowedError(`${HOST_PATH} answers GET only, found ${verb.toUpperCase()}`);
  return { extensions: shardMember ? [...KERNEL_EXTENSIONS, SHARD_MEMBER_EXTENSION] : [...KERNEL_EXTENSIONS] };
}
