/**
 * The kernel's router: what a path means (`/state`, `/lib`, `/healthz`, …) and how a call on it
 * runs inside a transaction. Used for plain requests and for op refs whose subject is a link.
 *
 * Top-level directories are those of PROFILE §4: `/state`, `/lib`, `/class`, `/service`, `/host`,
 * `/healthz`; anything else is 404. `/class` is recognised but not served; `/service` and `/host`
 * are requests of their own (served by `Kernel.request`), not op steps: here all three answer 404
 * naming what the host does serve. Absolute `http://` links, and library versions not installed
 * here, go out only as the kernel's egress configuration allows (egress/); otherwise 404.
 */
import { BadRequestError, ForbiddenError, MethodNotAllowedError, NotFoundError, TcError } from "../errors.js";
import { parseLink } from "../ir/uri.js";
import type { Verb } from "../ir/types.js";
import { checkDependency, isContentAddressed, memberFor, type LibraryTxn } from "./ops/library.js";
import type { Egress, OutboundTxn } from "./egress/remote-call.js";
import type { CheckedGrant } from "./ops/grant.js";
import type { ExecContext } from "./ops/exec-context.js";
import { invokeOp, refuseEgress, isAbsoluteHref } from "./ops/op-executor.js";
import { planOp } from "./ops/op-planner.js";
import { PATHS } from "../ir/types.js";
import { isMap, valueMap, type KernelValue, type OpResult } from "./ops/kernel-value.js";

/** Namespace under `/state` the kernel keeps for itself (library definitions); never routable. */
export const INTERNAL_NAMESPACE = "_kernel";

/** A parsed route. */
export type Route =
  | { readonly kind: "healthz" }
  | { readonly kind: "state"; readonly path: readonly string[] }
  | { readonly kind: "value_class"; readonly href: string }
  | { readonly kind: "table_class" }
  | { readonly kind: "lib_dir"; readonly prefix: readonly string[] }
  | { readonly kind: "lib"; readonly id: string; readonly version: string; readonly route: readonly string[] }
  | { readonly kind: "not_found"; readonly href: string; readonly why: string }
  | { readonly kind: "remote"; readonly href: string };

/** Per-transaction kernel state carried in `ExecContext.scope`. */
export interface KernelTxnState {
  readonly libs: LibraryTxn;
  /** Where calls may go beyond this host (undefined: nowhere). */
  readonly egress?: Egress;
  /** The transaction as its calls to other hosts see it: id, participants, their tokens (made on first use). */
  outbound?(): OutboundTxn;
}

const ROOTS = new Set(["state", "lib", "class", "service", "host", "healthz"]);
const ROUTE_CACHE = new Map<string, Route | TcError>();
const ROUTE_CACHE_MAX = 4096;

/**
 * Parses a path (or an absolute link) into a route; cached per string. Throws `UriError` (400)
 * for a malformed path.
 *
 * @example
 * ```ts
 * parseRoute("/state/social/users/count"); // { kind: "state", path: ["social", "users", "count"] }
 * parseRoute("/nope");                     // { kind: "not_found", … }
 * ```
 */
export function parseRoute(href: string): Route {
  let r = ROUTE_CACHE.get(href);
  if (r === undefined) {
    try {
      r = buildRoute(href);
    } catch (e) {
      if (!(e instanceof TcError)) throw e;
      r = e;
    }
    if (ROUTE_CACHE.size >= ROUTE_CACHE_MAX) ROUTE_CACHE.clear();
    ROUTE_CACHE.set(href, r);
  }
  if (r instanceof TcError) throw r;
  return r;
}

function buildRoute(href: string): Route {
  if (isAbsoluteHref(href)) {
    parseLink(href);
    return { kind: "remote", href };
  }
  if (!href.startsWith("/")) throw new BadRequestError(`a path must start with '/', found ${JSON.stringify(href)}`);
  const root = href.slice(1).split("/", 1)[0]!;
  if (!ROOTS.has(root)) {
    return { kind: "not_found", href, why: `unknown top-level directory /${root} (expected /state, /lib, /class, /service, /host or /healthz)` };
  }
  if (href === "/lib") return { kind: "lib_dir", prefix: [] };
  const link = parseLink(href);
  const segs = link.segments;
  switch (link.root) {
    case "healthz":
      return { kind: "healthz" };
    case "state": {
      const path = segs.slice(1);
      if (path.length === 0) return { kind: "not_found", href, why: "/state is a directory, not a table" };
      const ns = path[0]!;
      if (ns === "scalar") {
        if (path[1] === "value" && path.length >= 3) return { kind: "value_class", href };
        return { kind: "not_found", href, why: `${href} is a scalar class path, not a table` };
      }
      if (ns === "collection") {
        if (href === PATHS.table) return { kind: "table_class" };
        return { kind: "not_found", href, why: `${href} is not a supported collection class` };
      }
      if (ns === INTERNAL_NAMESPACE) return { kind: "not_found", href, why: `no table at ${href}` };
      if (path.length < 2) return { kind: "not_found", href, why: `${href} is a namespace; address a table /state/<namespace>/<table>` };
      return { kind: "state", path };
    }
    case "lib": {
      const c = link.component;
      if (!c) return { kind: "lib_dir", prefix: [] };
      return { kind: "lib", id: c.path, version: c.version, route: c.route };
    }
    case "class":
      return { kind: "not_found", href, why: `${href}: this host serves no /class components (it serves /state, /lib, /service and /healthz)` };
    case "service":
      // Service calls run in transactions of their own (PROFILE §6.14): requests, not op steps.
      return { kind: "not_found", href, why: `${href}: a /service call is a request of its own, not a step of an op (it runs in its own transaction)` };
    case "host":
      return { kind: "not_found", href, why: `no route ${href} on this host` };
  }
}

/** Runs a GET on `/healthz`: never touches a transaction. */
export function healthz(verb: Verb): KernelValue {
  if (verb !== "get") throw new MethodNotAllowedError(`/healthz answers GET, not ${verb.toUpperCase()}`);
  return valueMap({ status: "ok" });
}

/**
 * Runs a call on a route inside `ctx`'s transaction. For POST, `value` is the params map.
 * Library installs are not served here (they need the raw JSON body: see `Kernel.request`).
 * A route's answer passes through as it is (an `EncodedJson` stays wrapped).
 *
 * Every call is checked against the caller's grant (`ctx.grant`) before anything runs: here for
 * `/lib`, `/class`, `/service`, `/host` and remote links, in `ctx.txn` (a `GrantedTxn`) for
 * `/state` tables and views.
 */
export function dispatch(
  ctx: ExecContext,
  verb: Verb,
  route: Route,
  key: KernelValue,
  value: KernelValue | undefined,
): OpResult {
  if (route.kind === "remote") {
    // Default-deny egress: only an authority and path the configuration allows, checked against
    // the grant by that path, as a local call on it would be.
    const st = state(ctx);
    const target = st.egress?.allowed(route.href);
    if (target === undefined || st.outbound === undefined) {
      if (!ctx.grant.all) checkRoute(ctx.grant, verb, route);
      return refuseEgress(route.href);
    }
    if (!ctx.grant.all) ctx.grant.check(verb, target.path.split("/").slice(1));
    return st.egress!.call(st.outbound(), target, verb, key, value);
  }
  if (!ctx.grant.all) checkRoute(ctx.grant, verb, route);
  switch (route.kind) {
    case "healthz":
      return healthz(verb);
    case "state":
      return ctx.txn.request(verb, route.path, key, value, ctx);
    case "value_class":
      // A v1 class reference such as {"/state/scalar/value/string": {}}: the class is its link.
      if ((verb === "post" && (!isMap(value) || Object.keys(value.entries).length === 0)) || (verb === "get" && key === null)) {
        return { kind: "link", href: route.href };
      }
      throw new BadRequestError(
        `casting with ${route.href} is not supported: a class link is only a value (GET with key null, or POST with no params)`,
      );
    case "table_class":
      throw new MethodNotAllowedError(
        `${PATHS.table} is a class: build a table literal with {"${PATHS.table}": [schema, rows]}`,
      );
    case "lib_dir":
      if (verb === "get") return listLibraries(state(ctx).libs, route.prefix);
      if (verb === "put") {
        throw new BadRequestError("install a library with a PUT /lib request, not from inside an op");
      }
      throw new MethodNotAllowedError(`/lib answers GET and PUT, not ${verb.toUpperCase()}`);
    case "lib":
      return callLibrary(ctx, verb, route, key, value);
    case "not_found":
      throw new NotFoundError(route.why);
  }
}

/**
 * Throws `ForbiddenError` (403) unless `grant` allows `verb` on `route`. Class paths carry no data
 * and are always allowed; `/state` tables are checked by the context's `GrantedTxn`; members of a
 * content-addressed library version (`0.0.0-q<hash>`, verified at install) need no grant, since
 * everything they reach is checked against the same grant.
 */
export function checkRoute(grant: CheckedGrant, verb: Verb, route: Route): void {
  switch (route.kind) {
    case "healthz":
    case "value_class":
    case "table_class":
    case "state":
      return;
    case "lib_dir":
      return grant.check(verb, ["lib", ...route.prefix]);
    case "lib":
      if (isContentAddressed(route.version)) return;
      return grant.check(verb, [...route.id.split("/").slice(1), ...route.route]);
    case "not_found":
      return grant.checkHref(verb, route.href);
    case "remote":
      throw new ForbiddenError(`${grant.name} may not call other hosts (${route.href})`);
  }
}

/** The `LinkRouter` the executor uses for link subjects. */
export function routeLink(
  ctx: ExecContext,
  verb: Verb,
  href: string,
  key: KernelValue,
  value: KernelValue | undefined,
): OpResult {
  return dispatch(ctx, verb, parseRoute(href), key, value);
}

function state(ctx: ExecContext): KernelTxnState {
  return ctx.scope as KernelTxnState;
}

function listLibraries(libs: LibraryTxn, prefix: readonly string[]): KernelValue {
  const entries: Record<string, KernelValue> = {};
  for (const id of libs.ids()) {
    const segs = id.split("/").slice(2); // ["publisher", "name", "version"]
    if (prefix.every((p, i) => segs[i] === p) && segs.length > prefix.length) {
      entries[segs[prefix.length]!] = segs.length > prefix.length + 1;
    }
  }
  return valueMap(entries);
}

function callLibrary(
  ctx: ExecContext,
  verb: Verb,
  route: Extract<Route, { kind: "lib" }>,
  key: KernelValue,
  value: KernelValue | undefined,
): OpResult {
  const libs = state(ctx).libs;
  if (route.route.length === 0) {
    if (verb !== "get") throw new MethodNotAllowedError(`${route.id} answers GET, not ${verb.toUpperCase()}`);
    const lib = libs.get(route.id);
    if (!lib) throw new NotFoundError(`no library ${route.id} is installed`);
    return valueMap({ dependencies: [...lib.dependencies], id: route.id, version: route.version });
  }
  if (!libs.get(route.id)) {
    // Not served here: another host's, through a configured route (or 404).
    const st = state(ctx);
    const target = st.egress?.routed(`${route.id}/${route.route.join("/")}`);
    if (target !== undefined && st.outbound !== undefined) {
      checkDependency(libs, ctx.library, route.id);
      return st.egress!.call(st.outbound(), target, verb, key, value);
    }
  }
  const member = memberFor(libs, route.id, route.route, verb);
  checkDependency(libs, ctx.library, route.id);
  switch (member.kind) {
    case "value":
      return member.value;
    case "op":
      return asLibrary(ctx, route.id, () => routeLink(ctx, "get", member.path, null, undefined));
    case "opdef": {
      const op = member.op;
      const params = new Map<string, KernelValue>();
      if (op.verb === "post") {
        if (isMap(value)) for (const [k, v] of Object.entries(value.entries)) params.set(k, v);
        else if (value !== undefined && value !== null) {
          throw new BadRequestError(`POST ${route.id}/${route.route[0]}: params must be a map`);
        }
      } else {
        params.set(op.keyName, key);
        if (op.verb === "put") params.set(op.valueName, value ?? null);
      }
      // `$self/<member>` calls a sibling member: `self` is the library's own link, unless the
      // op defines or receives a `self` of its own.
      if (!params.has("self") && planOp(op).freeIds.includes("self")) {
        params.set("self", { kind: "link", href: route.id });
      }
      return asLibrary(ctx, route.id, () => invokeOp(ctx, op, params));
    }
  }
}

/** Runs `fn` as a member of library `id`: the calls it makes are checked against `id`'s dependencies. */
function asLibrary(ctx: ExecContext, id: string, fn: () => OpResult): OpResult {
  const outer = ctx.library;
  ctx.library = id;
  try {
    return fn();
  } finally {
    ctx.library = outer;
  }
}
