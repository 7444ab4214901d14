/**
 * The one error family of tinychain-orm. Every failure the library reports — a malformed IR
 * document, a bad URI, a missing table, a conflict, a remote host's error body — is a `TcError`
 * carrying one of the TinyChain error kinds (PROFILE §4), so callers can branch on `kind` or on
 * the subclass, whichever transport produced it.
 */

/** The error kinds of the TinyChain profile, with their HTTP status. */
export const ERROR_STATUS = {
  bad_request: 400,
  bad_gateway: 502,
  too_many_requests: 429,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  payload_too_large: 413,
  internal_error: 500,
  not_implemented: 501,
  temporarily_unavailable: 503,
} as const;

export type ErrorKind = keyof typeof ERROR_STATUS;

/**
 * Base class of every error the library throws on purpose.
 *
 * @example
 * ```ts
 * try { decode(json) } catch (e) { if (e instanceof TcError) console.log(e.kind, e.message) }
 * ```
 */
export class TcError extends Error {
  readonly kind: ErrorKind;
  /**
   * How long the host asked the caller to wait before trying again (`Retry-After`, or a v2 error
   * body's `pressure.retry_after_ms`), when it said.
   */
  declare retryAfterMs?: number;
  /** A v2 error body's `pressure` (why the host is busy: reason, resource, reliability), when it sent one. */
  declare pressure?: ErrorPressure;
  /** A v2 error body's `stack`, when the host sent a non-empty one. */
  declare remoteStack?: readonly string[];
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = new.target.name;
  }
  /** The HTTP status of this error's kind. */
  get status(): number {
    return ERROR_STATUS[this.kind];
  }
  /** The v2 error body: `{"<kind>": {"message": ..., "stack": []}}` (plus a subclass's structured fields). */
  toBody(): Record<string, { message: string; stack: string[] }> {
    return { [this.kind]: { message: this.message, stack: [] } };
  }
}

/** A v2 error body's `pressure` metadata (reference §4.5). */
export interface ErrorPressure {
  readonly reason?: string;
  readonly resource?: string;
  readonly retryAfterMs?: number;
  readonly reliability?: string;
}

export class BadRequestError extends TcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("bad_request", message, options);
  }
}
export class UnauthorizedError extends TcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unauthorized", message, options);
  }
}
export class ForbiddenError extends TcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("forbidden", message, options);
  }
}
export class NotFoundError extends TcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("not_found", message, options);
  }
}
export class MethodNotAllowedError extends TcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("method_not_allowed", message, options);
  }
}
export class TimeoutError extends TcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("request_timeout", message, options);
  }
}
/**
 * What a conflict is about, when known: the table (`/state/<ns>/<name>`), the columns whose
 * values clash (a key, a unique column, a foreign key) and those values (`key`, JSON values in
 * the columns' order; a 64-bit integer beyond ±(2^53 − 1) as its decimal string).
 */
export interface ConflictDetails {
  readonly table?: string;
  readonly columns?: readonly string[];
  readonly key?: readonly unknown[];
}

/**
 * A write that clashes with what is stored: an existing key, a unique value, a reference (see
 * `ForeignKeyError`). `table`, `columns` and `key` say where, when known; `column` is the first
 * of `columns`. Over HTTP they travel in the error body next to the message and are rebuilt.
 *
 * @example
 * ```ts
 * try { await db.insertInto("users").values(u).execute() } catch (e) {
 *   if (e instanceof ConflictError) console.log(e.table, e.columns, e.key); // "/state/app/users" ["email"] ["a@b.c"]
 * }
 * ```
 */
export class ConflictError extends TcError {
  readonly table: string | undefined;
  readonly columns: readonly string[] | undefined;
  readonly key: readonly unknown[] | undefined;
  constructor(message: string, options?: { cause?: unknown } & ConflictDetails) {
    super("conflict", message, options);
    this.table = options?.table;
    this.columns = options?.columns === undefined ? undefined : Object.freeze([...options.columns]);
    this.key = options?.key === undefined ? undefined : Object.freeze([...options.key]);
  }
  /** The first of `columns` (the one column of a unique or foreign key). */
  get column(): string | undefined {
    return this.columns?.[0];
  }
  /** The structured fields, as the error body carries them. */
  details(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (this.table !== undefined) out.table = this.table;
    if (this.columns !== undefined) out.columns = [...this.columns];
    if (this.key !== undefined) out.key = [...this.key];
    return out;
  }
  override toBody(): Record<string, { message: string; stack: string[] }> {
    return { [this.kind]: { message: this.message, stack: [], ...this.details() } };
  }
}

/** The other end of a foreign key: the referenced table and its key column(s). */
export interface ReferenceDetails {
  readonly table: string;
  readonly columns: readonly string[];
}

/**
 * A write that breaks a foreign key: a referencing row whose value is no key of the target
 * (insert, update), or a delete of a target row that rows still reference with `onDelete:
 * "restrict"`. `table`/`columns` are the referencing side, `key` the referenced key value,
 * `references` the target table and its key column.
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof ForeignKeyError) console.log(e.table, e.columns, e.key, e.references) }
 * // "/state/app/issues" ["project"] [777] { table: "/state/app/projects", columns: ["id"] }
 * ```
 */
export class ForeignKeyError extends ConflictError {
  readonly references: ReferenceDetails;
  constructor(message: string, details: ConflictDetails & { readonly references: ReferenceDetails }, options?: { cause?: unknown }) {
    super(message, { ...options, ...details });
    this.references = Object.freeze({ table: details.references.table, columns: Object.freeze([...details.references.columns]) });
  }
  override details(): Record<string, unknown> {
    return { ...super.details(), references: { table: this.references.table, columns: [...this.references.columns] } };
  }
}
/**
 * A queued task ended `failed`: one of its iterations failed `MAX_ATTEMPTS` times (PROFILE §6.14).
 * `task` is its path, `reason` the error recorded on it.
 */
export class TaskFailedError extends ConflictError {
  readonly task: string;
  readonly reason: string;
  constructor(task: string, reason: string) {
    super(`task ${task} failed: ${reason}`);
    this.task = task;
    this.reason = reason;
  }
}
export class PayloadTooLargeError extends TcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("payload_too_large", message, options);
  }
}
export class InternalError extends TcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("internal_error", message, options);
  }
}
export class NotImplementedError extends TcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("not_implemented", message, options);
  }
}
/**
 * The host does not serve an extension a statement needs (it is missing from the host's
 * `GET /host` `extensions` list). Raised before anything runs; `extension` names it.
 *
 * @example
 * ```ts
 * try { await q.execute() } catch (e) { if (e instanceof MissingExtensionError) console.log(e.extension) }
 * ```
 */
export class MissingExtensionError extends NotImplementedError {
  readonly extension: string;
  constructor(extension: string, host: string) {
    super(`${host} does not serve the "${extension}" extension this statement needs (see docs/PROFILE.md §6)`);
    this.extension = extension;
  }
}
/** A host this request went through could not get a good answer from another (502). */
export class BadGatewayError extends TcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("bad_gateway", message, options);
  }
}
/** The host is rate-limiting the caller (429); `retryAfterMs` says when to try again, when known. */
export class TooManyRequestsError extends TcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("too_many_requests", message, options);
  }
}
export class UnavailableError extends TcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("temporarily_unavailable", message, options);
  }
}

/**
 * A JSON document that is not valid TinyChain IR. `path` is the JSON path of the offending
 * node (`$` is the root, e.g. `$["/state/scalar/op/post"][1][1]`), `expected` says what would
 * have been accepted there.
 */
export class IrDecodeError extends BadRequestError {
  readonly path: string;
  readonly expected: string;
  constructor(path: string, expected: string, found?: string) {
    super(`invalid IR at ${path}: expected ${expected}${found ? `, found ${found}` : ""}`);
    this.path = path;
    this.expected = expected;
  }
}

/** A URI or path segment that breaks the profile's link rules; `segment` names the culprit. */
export class UriError extends BadRequestError {
  readonly segment: string;
  constructor(segment: string, problem: string) {
    super(`invalid URI segment ${JSON.stringify(segment)}: ${problem}`);
    this.segment = segment;
  }
}

const ERROR_CLASSES: Record<ErrorKind, new (message: string) => TcError> = {
  bad_request: BadRequestError,
  bad_gateway: BadGatewayError,
  too_many_requests: TooManyRequestsError,
  unauthorized: UnauthorizedError,
  forbidden: ForbiddenError,
  not_found: NotFoundError,
  method_not_allowed: MethodNotAllowedError,
  request_timeout: TimeoutError,
  conflict: ConflictError,
  payload_too_large: PayloadTooLargeError,
  internal_error: InternalError,
  not_implemented: NotImplementedError,
  temporarily_unavailable: UnavailableError,
};

/**
 * Builds the typed error for a kind (used by transports decoding error bodies); a conflict's
 * structured fields (`table`, `columns`, `key`, and `references` for a `ForeignKeyError`) are
 * taken from `details` when they have the right shape.
 */
export function errorOfKind(kind: ErrorKind, message: string, details?: Record<string, unknown>): TcError {
  if (kind === "conflict" && details !== undefined) {
    const table = typeof details.table === "string" ? details.table : undefined;
    const columns = Array.isArray(details.columns) && details.columns.every((c) => typeof c === "string") ? (details.columns as string[]) : undefined;
    const key = Array.isArray(details.key) ? details.key : undefined;
    const r = details.references as { table?: unknown; columns?: unknown } | undefined;
    if (r && typeof r === "object" && typeof r.table === "string" && Array.isArray(r.columns) && r.columns.every((c) => typeof c === "string")) {
      return new ForeignKeyError(message, { table, columns, key, references: { table: r.table, columns: r.columns as string[] } });
    }
    return new ConflictError(message, { table, columns, key });
  }
  return new ERROR_CLASSES[kind](message);
}

/** True when `kind` is one of the profile's error kinds. */
export function isErrorKind(kind: string): kind is ErrorKind {
  return Object.prototype.hasOwnProperty.call(ERROR_STATUS, kind);
}

/** The kind whose status is `status`, or `internal_error` for an unknown status. */
export function kindOfStatus(status: number): ErrorKind {
  for (const [kind, s] of Object.entries(ERROR_STATUS)) if (s === status) return kind as ErrorKind;
  return status >= 500 ? "internal_error" : "bad_request";
}

/**
 * A traversal touched more rows than its visit budget allows. Nothing was written; the
 * transaction that ran it is rolled back. Raise the budget with `.budget(n)` or narrow the query.
 */
export class VisitBudgetError extends BadRequestError {
  readonly budget: number;
  constructor(budget: number) {
    super(`traversal visit budget exceeded: more than ${budget} rows touched (visit budget ${budget}; raise it with .budget(n) or narrow the traversal)`);
    this.budget = budget;
  }
}

/** The message prefix a budget failure carries on the wire (so a transport can re-type it). */
export const VISIT_BUDGET_MESSAGE = /traversal visit budget exceeded: more than (\d+) rows touched/;

/**
 * A data directory that another open kernel holds (in this process or another): a data directory
 * is opened by one kernel at a time. `pid` is the holder's process id.
 */
export class DataDirLockedError extends UnavailableError {
  readonly dataDir: string;
  readonly pid: number;
  constructor(dataDir: string, pid: number, detail = "") {
    super(`data directory ${JSON.stringify(dataDir)} is in use by process ${pid}${detail}; close that kernel first (lock file ${dataDir}/tinychain.lock)`);
    this.dataDir = dataDir;
    this.pid = pid;
  }
}

/**
 * Stored data that fails its checksums or cannot be read: `damaged` names what (a file, a table,
 * a row). Nothing was loaded; the data directory is left as it was (see `tinychain-orm verify`).
 */
export class DataCorruptionError extends UnavailableError {
  readonly dataDir: string;
  readonly damaged: string;
  constructor(dataDir: string, damaged: string, problem: string) {
    super(`data directory ${JSON.stringify(dataDir)} is damaged: ${damaged}: ${problem}`);
    this.dataDir = dataDir;
    this.damaged = damaged;
  }
}

/** A data directory path that cannot be used (a file, unreadable, empty, through a file). */
export class DataDirPathError extends BadRequestError {
  readonly dataDir: string;
  constructor(dataDir: string, problem: string) {
    super(`data directory ${JSON.stringify(dataDir)} cannot be used: ${problem}`);
    this.dataDir = dataDir;
  }
}
