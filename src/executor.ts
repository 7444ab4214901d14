/**
 * The contract every transport implements (embedded kernel, HTTP client). The ORM and the graph
 * layer only ever talk to an `Executor`: they hand it an op and its arguments and get plain JSON
 * back. Transaction ids never cross this interface: a session is an object, not an id.
 */
import { MissingExtensionError } from "./errors.js";
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
  /**
   * The extensions the host serves (PROFILE §6: `GET /host` lists them), fetched once and cached.
   * A runner without this method is assumed to serve the core profile only.
   */
  extensions?(): Promise<ReadonlySet<string>>;
  /**
   * Where an op's work goes, without running it: per step the table, the shards asked, the
   * requests and the rows (a cluster's gathering, PROFILE §6.16). Absent on a single host.
   */
  fanOut?(op: Json | OpDef, args?: Readonly<Record<string, Json>>): Promise<readonly FanOutStep[]>;
}

/** One step of an op's fan-out over a cluster's shards (`Runner.fanOut`). */
export interface FanOutStep {
  /** What the step reads: `start`, `hop 1 (follows) depth 1`, `key`, `whole table`, `partial aggregates`, … */
  readonly step: string;
  /** The table read, `/state/<ns>/<name>`. */
  readonly table: string;
  readonly shards: number;
  readonly requests: number;
  readonly rows: number;
}

/**
 * Refuses, before anything runs, a statement needing extensions the runner's host lacks.
 *
 * @example
 * ```ts
 * await requireExtensions(runner, ["query"]); // MissingExtensionError when the host lacks it
 * ```
 */
export async function requireExtensions(runner: Runner, names: readonly string[], host = "the host"): Promise<void> {
  if (names.length === 0) return;
  const served = runner.extensions ? await runner.extensions() : new Set<string>();
  for (const name of names) if (!served.has(name)) throw new MissingExtensionError(name, host);
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
