/**
 * Parsing and validating an HTTP request target (path + query) against PROFILE §4: only the
 * profile's top-level directories, no `.`/`..`/empty segments, no encoded slashes, every segment
 * an `Id`, and a query that carries at most `key` (URL-encoded JSON) and `txn_id`.
 */
import { BadRequestError, NotFoundError } from "../errors.js";
import { idProblem } from "../ir/id.js";
import type { Json } from "../ir/types.js";

/** The top-level directories a TinyChain host serves (PROFILE §4); anything else is 404. */
export const TOP_LEVEL = new Set(["state", "lib", "class", "service", "host", "healthz"]);

/** A validated request target. */
export interface Target {
  /** Decoded path segments, e.g. `["state", "social", "users"]`. */
  readonly segments: readonly string[];
  /** The canonical path, `"/" + segments.join("/")`. */
  readonly path: string;
  /** The decoded `?key=` JSON; `undefined` when absent. */
  readonly key: Json | undefined;
  /** The `?txn_id=` value; `undefined` when absent. */
  readonly txnId: string | undefined;
}

const MAX_TARGET_LENGTH = 64 * 1024;
const TXN_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Quotes a user-supplied string for an error message, shortened so messages stay small. */
export function quote(s: string, max = 80): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}

/**
 * Parses `rawUrl` (the request line's target, e.g. `/state/a/b?key=%5B1%5D`).
 *
 * @example
 * ```ts
 * parseTarget("/state/social/users?key=%5B1%5D"); // { segments: ["state","social","users"], key: [1], ... }
 * parseTarget("/state/../etc");                  // throws BadRequestError
 * ```
 */
export function parseTarget(rawUrl: string): Target {
  if (rawUrl.length > MAX_TARGET_LENGTH) throw new BadRequestError("request target too long");
  if (!rawUrl.startsWith("/")) throw new BadRequestError("request target must be a path starting with '/'");
  const q = rawUrl.indexOf("?");
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? "" : rawUrl.slice(q + 1);
  if (rawUrl.includes("#")) throw new BadRequestError("request target must not contain a fragment");

  const { segments, path } = parsePath(rawPath);

  let key: Json | undefined;
  let txnId: string | undefined;
  // Only "key" and "txn_id" are accepted (anything else is refused), so two flags find repeats.
  let seenKey = false;
  let seenTxn = false;
  if (rawQuery !== "") {
    for (const pair of rawQuery.split("&")) {
      if (pair === "") continue;
      const eq = pair.indexOf("=");
      const name = eq < 0 ? pair : pair.slice(0, eq);
      const rawValue = eq < 0 ? "" : pair.slice(eq + 1);
      if (name !== "key" && name !== "txn_id") {
        throw new BadRequestError(`unknown query parameter ${quote(name)}: only "key" and "txn_id" are accepted`);
      }
      if (name === "key" ? seenKey : seenTxn) throw new BadRequestError(`query parameter ${quote(name)} given twice`);
      let value: string;
      try {
        value = decodeURIComponent(rawValue.includes("+") ? rawValue.replace(/\+/g, " ") : rawValue);
      } catch {
        throw new BadRequestError(`query parameter ${quote(name)}: malformed percent-encoding`);
      }
      if (name === "key") {
        seenKey = true;
        try {
          key = JSON.parse(value) as Json;
        } catch (e) {
          throw new BadRequestError(`query parameter "key" is not valid JSON: ${(e as Error).message}`);
        }
      } else {
        seenTxn = true;
        if (!TXN_ID.test(value)) throw new BadRequestError(`invalid transaction id ${quote(value)}`);
        txnId = value;
      }
    }
  }
  return { segments, path, key, txnId };
}

/** Validated paths by their raw form: prepared-op and table paths repeat on every request. */
const PATH_CACHE = new Map<string, { segments: readonly string[]; path: string }>();
const PATH_CACHE_MAX = 4096;

function parsePath(rawPath: string): { segments: readonly string[]; path: string } {
  const hit = PATH_CACHE.get(rawPath);
  if (hit) return hit;
  if (rawPath === "/") throw new NotFoundError("no resource at '/': use /state, /lib, /class, /service, /host or /healthz");
  const segments: string[] = [];
  for (const raw of rawPath.slice(1).split("/")) {
    if (raw === "") throw new BadRequestError(`invalid path ${quote(rawPath)}: empty segment ('//' or a trailing '/')`);
    if (/%(2f|5c|2e)/i.test(raw)) {
      throw new BadRequestError(`invalid path ${quote(rawPath)}: percent-encoded '/', '\\' or '.' is not allowed`);
    }
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw new BadRequestError(`invalid path ${quote(rawPath)}: malformed percent-encoding`);
    }
    if (seg === "." || seg === "..") throw new BadRequestError(`invalid path ${quote(rawPath)}: '.' and '..' segments are not allowed`);
    const problem = idProblem(seg);
    if (problem) throw new BadRequestError(`invalid path segment ${quote(seg)}: ${problem}`);
    segments.push(seg);
  }
  if (!TOP_LEVEL.has(segments[0]!)) {
    throw new NotFoundError(`no top-level directory ${quote(segments[0]!)}: use /state, /lib, /class, /service, /host or /healthz`);
  }
  const parsed = { segments: Object.freeze(segments), path: `/${segments.join("/")}` };
  if (rawPath.length <= 512) {
    if (PATH_CACHE.size >= PATH_CACHE_MAX) PATH_CACHE.clear();
    PATH_CACHE.set(rawPath, parsed);
  }
  return parsed;
}

/**
 * True when `segments` name a component root, where an empty POST (commit) or DELETE (rollback)
 * with `?txn_id` finalizes a transaction: `/lib`, `/class`, `/service` (the guide's), and
 * `/lib/<p>/<n>/<v>`, `/class/<p>/<n>/<v>`, `/service/<p>/<ns>/<n>/<v>` — and, this profile's
 * choice, a table namespace `/state/<ns>`. Not `/state` itself, nor `/host` (not transactional).
 */
export function isComponentRoot(segments: readonly string[]): boolean {
  const [top] = segments;
  const n = segments.length;
  if (top === "state") return n === 2;
  if (top === "lib" || top === "class") return n === 1 || n === 4;
  if (top === "service") return n === 1 || n === 5;
  return false;
}
