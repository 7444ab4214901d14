/**
 * The contract every transport implements (embedded kernel, HTTP client). The ORM and the graph
 * layer only ever talk to an `Executor`: they hand it an op and its arguments and get plain JSON
 * back. Transaction ids never cross this interface: a session is an object, not an id.
 */
import type { Json, OpDef, Verb } from "./ir/types.js";

/** One request against a path: what a plain HTTP request carries (PROFILE §4). */
export interface ExecRequest {
  readonly verb: Verb;
  /** A path such as `/state/social/users/count` or `/lib/acme/q/0.0.0-qabc/run`. */
  readonly path: string;
  /** The key (GET/PUT/DELETE); `null` when absent. */
  readonly key?: Json;
  /** PUT: the value. POST: the params object. */
  readonly body?: Json;
}

/** The calls that run inside one transaction: a whole executor call, or a session's. */
export interface Runner {
  /**
   * Executes a composite op (an OpDef, as IR JSON or decoded) with its arguments bound by name,
   * inside one transaction, and returns the value of its last step as JSON.
   */
  execute(op: Json | OpDef, args?: Readonly<Record<string, Json>>): Promise<Json>;
  /** Runs one request (verb, path, key, body) and returns its result as JSON. */
  request(req: ExecRequest): Promise<Json>;
}

/** A multi-request transaction. Commit or roll back exactly once; afterwards it is closed. */
export interface Session extends Runner {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** A place where ops run: the embedded kernel or a remote host. */
export interface Executor extends Runner {
  /** Opens a session: every call on it runs in one transaction until commit or rollback. */
  session(): Promise<Session>;
  /** Releases the executor's resources (stores, connections). */
  close(): Promise<void>;
}
