/**
 * Grants: which paths a caller may reach, with which verbs. A grant travels with every call into
 * the kernel (`Kernel.execute` / `request`, `embedded({ grant })`, the HTTP server's bearer
 * tokens) in the call's `ExecContext`, and every link the call reaches is checked against it at
 * the moment the kernel resolves it (`router.ts` for links, `GrantedTxn` for tables and views):
 * literal, computed, read from a row, rendered, or reached through a `/lib` op. Library ops run
 * with their caller's grant, so installing or calling one never widens what the caller may reach.
 */
import { BadRequestError, ForbiddenError } from "../../errors.js";
import type { Verb } from "../../ir/types.js";
import { parsePlan } from "../../ir/traverse-plan.js";
import { exprTables, parseQueryPlan, parseReturningPlan, queryPlanTables, RETURNING_ROUTES } from "../../ir/query-plan.js";
import type { TableView } from "../state/table-view.js";
import type { KernelValue, OpResult } from "./kernel-value.js";
import type { RouteMeter } from "./route-meter.js";

/**
 * What a caller may reach: each path in `paths` and everything below it (segment-wise: `/state/a`
 * covers `/state/a/t`, not `/state/ab`; `"/"` covers everything), with the verbs in `verbs`
 * (default all four).
 */
export interface Grant {
  readonly paths: readonly string[];
  readonly verbs?: readonly Verb[];
  /** Who holds the grant: the owner of the `/lib` versions it installs, whose quota they count against. Default `"local"`. */
  readonly principal?: string;
  /** The holder's name in error messages; default the principal. */
  readonly name?: string;
}

const ALL_VERBS: readonly Verb[] = ["get", "put", "post", "delete"];

/** The principal of calls made without a grant (in process). */
export const LOCAL_PRINCIPAL = "local";

function segmentsOf(path: string): string[] {
  return path.split("/").filter((s) => s !== "");
}

/** A validated grant, ready for checks. Build one with {@link checkedGrant}. */
export class CheckedGrant {
  /** True when the grant covers every path with every verb: checks are skipped. */
  readonly all: boolean;
  readonly principal: string;
  readonly name: string;
  /** True when the grant has a write verb (put, post or delete). */
  readonly writes: boolean;
  private readonly paths: readonly (readonly string[])[];
  private readonly verbs: ReadonlySet<Verb>;

  constructor(grant: Grant) {
    this.paths = grant.paths.map(segmentsOf);
    this.verbs = new Set(grant.verbs ?? ALL_VERBS);
    this.principal = grant.principal ?? LOCAL_PRINCIPAL;
    this.name = grant.name ?? this.principal;
    this.all = this.verbs.size === ALL_VERBS.length && this.paths.some((p) => p.length === 0);
    this.writes = this.verbs.has("put") || this.verbs.has("post") || this.verbs.has("delete");
  }

  /** True when some granted path is a segment-wise prefix of `segments`. */
  covers(segments: readonly string[]): boolean {
    return this.paths.some((g) => g.length <= segments.length && g.every((s, i) => segments[i] === s));
  }

  /** Throws `ForbiddenError` (403) unless the grant allows `verb` on `segments`. */
  check(verb: Verb, segments: readonly string[]): void {
    if (this.all) return;
    if (!this.verbs.has(verb)) {
      throw new ForbiddenError(
        `${this.name} may not ${verb.toUpperCase()} (allowed: ${[...this.verbs].join(", ") || "none"}): /${segments.join("/")}`,
      );
    }
    if (!this.covers(segments)) throw new ForbiddenError(`${this.name} has no rights to /${segments.join("/")}`);
  }

  /** `check` on a raw path string, split on `/` as it is (empty segments kept, so `//` never matches a grant). */
  checkHref(verb: Verb, href: string): void {
    if (this.all) return;
    this.check(verb, href.startsWith("/") ? href.slice(1).split("/") : [href]);
  }
}

/** The grant of a caller without one: everything. */
export const FULL_GRANT = new CheckedGrant({ paths: ["/"] });

const CHECKED = new WeakMap<Grant, CheckedGrant>();

/**
 * Validates a grant (cached per grant object); `undefined` is {@link FULL_GRANT}. Throws
 * `BadRequestError` for a malformed grant.
 *
 * @example
 * ```ts
 * const g = checkedGrant({ paths: ["/state/social"], verbs: ["get"] });
 * g.check("get", ["state", "social", "users"]);  // ok
 * g.check("put", ["state", "social", "users"]);  // ForbiddenError
 * ```
 */
export function checkedGrant(grant: Grant | CheckedGrant | undefined): CheckedGrant {
  if (grant === undefined) return FULL_GRANT;
  if (grant instanceof CheckedGrant) return grant;
  let checked = CHECKED.get(grant);
  if (checked === undefined) {
    if (grant === null || typeof grant !== "object" || !Array.isArray(grant.paths)) {
      throw new BadRequestError('a grant is {paths: ["/state/<ns>", …], verbs?: ["get", …]}');
    }
    if (!grant.paths.every((p) => typeof p === "string" && p.startsWith("/"))) {
      throw new BadRequestError("a grant's paths must be strings starting with '/'");
    }
    if (grant.verbs !== undefined && (!Array.isArray(grant.verbs) || !grant.verbs.every((v) => ALL_VERBS.includes(v)))) {
      throw new BadRequestError('a grant\'s verbs must be some of "get", "put", "post", "delete"');
    }
    if (grant.principal !== undefined && (typeof grant.principal !== "string" || grant.principal.length === 0)) {
      throw new BadRequestError("a grant's principal must be a non-empty string");
    }
    checked = new CheckedGrant(grant);
    CHECKED.set(grant, checked);
  }
  return checked;
}

/** Throws 403 unless a session may begin under `grant`: a session holds the transaction lock, so it needs a write verb. */
export function checkSessionGrant(grant: CheckedGrant): void {
  if (!grant.writes) {
    throw new ForbiddenError(`${grant.name} may not begin a session: a session needs a write grant (put, post or delete)`);
  }
}

/**
 * A state transaction seen through a grant: every table request and every request on a table
 * view is checked (the view's table, with the verb of the request) before it runs. Used only for
 * calls whose grant is not {@link FULL_GRANT}.
 */
export class GrantedTxn {
  constructor(
    private readonly txn: Pick<GrantedTxn, "request" | "viewRequest">,
    private readonly grant: CheckedGrant,
  ) {}

  request(verb: Verb, path: readonly string[], key: KernelValue, value: KernelValue | undefined, meter?: RouteMeter): OpResult {
    checkStatePath(this.grant, verb, path, key);
    if (path.length === 3 && (RETURNING_ROUTES as readonly string[]).includes(path[2]!) && !this.grant.covers(["state", path[0]!])) {
      // A write's `where`/`set` may read other tables (inQuery): each must be readable.
      for (const table of returningTables(path[2]!, value)) this.grant.check("get", ["state", path[0]!, table]);
    }
    return this.txn.request(verb, path, key, value, meter);
  }

  viewRequest(view: TableView, verb: Verb, path: readonly string[], key: KernelValue, value: KernelValue | undefined): KernelValue {
    this.grant.check(verb, segmentsOf(view.table.path));
    return this.txn.viewRequest(view, verb, path, key, value);
  }
}

/**
 * Checks a request on `/state/<path…>`. A traversal (`…/<table>/traverse`) reads every table its
 * plan names: unless the grant covers the whole namespace, each of them is checked too.
 */
export function checkStatePath(grant: CheckedGrant, verb: Verb, path: readonly string[], key: unknown): void {
  if (grant.all) return;
  const segments = ["state", ...path];
  grant.check(verb, segments);
  if (path.length === 3 && path[2] === "traverse" && !grant.covers(["state", path[0]!]) && Array.isArray(key)) {
    for (const table of planTables(key[0])) grant.check(verb, ["state", path[0]!, table]);
  }
  if (path.length === 3 && path[2] === "query" && !grant.covers(["state", path[0]!]) && Array.isArray(key)) {
    for (const table of queryTables(key[0])) grant.check(verb, ["state", path[0]!, table]);
  }
}

/** The tables the expressions of a `returning` plan read (a malformed plan names none). */
function returningTables(route: string, value: unknown): Set<string> {
  const out = new Set<string>();
  const entries = (value as { kind?: unknown; entries?: Record<string, unknown> } | undefined)?.entries;
  if (route === "insert_returning" || entries === undefined) return out;
  try {
    const plan = parseReturningPlan(route as "update_returning", entries.plan);
    if (plan.where) exprTables(plan.where, out);
    for (const [, e] of plan.set ?? []) exprTables(e, out);
  } catch {
    // The route refuses it.
  }
  return out;
}

/** The tables a query plan text reads (a malformed plan names none: the route refuses it). */
function queryTables(text: unknown): Set<string> {
  try {
    return queryPlanTables(parseQueryPlan(text));
  } catch {
    return new Set();
  }
}

/** The tables a traverse plan text reads (a malformed plan names none: the route refuses it). */
function planTables(text: unknown): Set<string> {
  const tables = new Set<string>();
  let plan;
  try {
    plan = parsePlan(text);
  } catch {
    return tables;
  }
  tables.add(plan.start.table);
  for (const step of plan.steps) {
    if (step.kind !== "hop") continue;
    tables.add(step.source).add(step.target);
    for (const alt of step.alts) for (const l of alt.lookups) tables.add(l.table);
  }
  return tables;
}
