/**
 * Links and URIs (PROFILE §1, §3, §5; reference wire-format §1.4, §4.1).
 *
 * A link is path-only (`/state/social/users`) or absolute (`http://host:port/lib/acme/foo/1.0.0`).
 * The top-level directories are exactly `/state`, `/lib`, `/class`, `/service`, `/host` and
 * `/healthz`. Components carry an immutable semver version:
 * `/lib/<publisher>/<name>/<version>`, `/class/<publisher>/<name>/<version>` and
 * `/service/<publisher>/<namespace>/<name>/<version>`.
 *
 * Validation is deliberately stricter than both Python clients (reference client-features §2.10,
 * §3.1), which accepted `//`, `..`, whitespace, `$x`, `?q=1` and non-semver versions: every
 * segment must be an `Id` (see `id.ts`) and must not be `.`, contain `%` (no percent-encoding, so
 * a segment means the same thing on every transport), `?`, `#`, a lone surrogate (it cannot be
 * sent as UTF-8) or an invisible format character (zero-width, bidi controls: they make two
 * different links look the same). Absolute links must be `http` or
 * `https` with a plain host and an optional port — no userinfo, query or fragment. Every rejection
 * is a `UriError` naming the offending segment.
 */
import { UriError } from "../errors.js";
import { idProblem } from "./id.js";
import { isWellFormedString } from "./well-formed.js";
import type { Link } from "./types.js";

/** The top-level directories of the canonical URI surface (reference wire-format §4.1). */
export const LINK_ROOTS = ["state", "lib", "class", "service", "host", "healthz"] as const;
export type LinkRoot = (typeof LINK_ROOTS)[number];

/** Scheme, host and port of an absolute link. `port` defaults to 80 (http) or 443 (https). */
export interface LinkAuthority {
  readonly scheme: "http" | "https";
  /** Lower-cased host name, dotted IPv4 address, or bracketed IPv6 address (`[::1]`). */
  readonly host: string;
  readonly port: number;
}

/** The versioned component a `/lib`, `/class` or `/service` link points into. */
export interface LinkComponent {
  readonly kind: "lib" | "class" | "service";
  readonly publisher: string;
  /** Only for `/service/<publisher>/<namespace>/<name>/<version>`. */
  readonly namespace?: string;
  readonly name: string;
  /** A semver 2.0 version, e.g. `1.0.0` or `0.0.0-q3fa9`. */
  readonly version: string;
  /** The component's own canonical path, e.g. `/lib/acme/foo/1.0.0`. */
  readonly path: string;
  /** The segments below the component, e.g. `["bar"]` for `/lib/acme/foo/1.0.0/bar`. */
  readonly route: readonly string[];
}

/** A validated link, with its canonical path and its authority kept apart. */
export interface ParsedLink {
  /** The link exactly as given (it is already canonical apart from scheme/host case). */
  readonly href: string;
  /** The canonical path: `/` + segments joined by `/`. */
  readonly path: string;
  /** Every path segment, the top-level directory first: `["state", "social", "users"]`. */
  readonly segments: readonly string[];
  /** Present only for absolute links. */
  readonly authority?: LinkAuthority;
  readonly root: LinkRoot;
  readonly component?: LinkComponent;
}

// ---------------------------------------------------------------------------------------------
// Segments and versions

const PERCENT = "%";
const INVISIBLE = /\p{Cf}/u;

/**
 * Why `segment` cannot be a path segment, or `undefined` when it can: it must be an `Id`, must
 * not be `.`, and must not contain `?`, `#`, `%`, lone surrogates or invisible format characters.
 *
 * @example
 * ```ts
 * segmentProblem("users");  // undefined
 * segmentProblem("..");     // "'.' and '..' are not allowed as segments"
 * ```
 */
export function segmentProblem(segment: unknown): string | undefined {
  if (typeof segment !== "string") return "a segment must be a string";
  if (segment.length === 0) return "empty segment (a link must not contain '//' or end with '/')";
  if (segment === "." || segment === "..") return "'.' and '..' are not allowed as segments";
  if (segment.includes("/")) return "a segment must not contain '/' (pass each segment separately)";
  if (segment.includes("?")) return "query strings are not allowed in links";
  if (segment.includes("#")) return "fragments are not allowed in links";
  if (segment.includes(PERCENT)) return "percent-encoding is not allowed in links ('%')";
  const idIssue = idProblem(segment);
  if (idIssue) return idIssue;
  if (!isWellFormedString(segment)) return "a segment must be well-formed Unicode (lone surrogate)";
  if (INVISIBLE.test(segment)) {
    return "a segment must not contain invisible format characters (zero-width, bidi controls)";
  }
  return undefined;
}

// Semver 2.0 (https://semver.org/#backusnaur-form-grammar-for-valid-semver-versions).
const NUMERIC_ID = "(?:0|[1-9][0-9]*)";
const PRERELEASE_ID = `(?:${NUMERIC_ID}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)`;
const BUILD_ID = "[0-9A-Za-z-]+";
const SEMVER = new RegExp(
  `^${NUMERIC_ID}\\.${NUMERIC_ID}\\.${NUMERIC_ID}` +
    `(?:-${PRERELEASE_ID}(?:\\.${PRERELEASE_ID})*)?` +
    `(?:\\+${BUILD_ID}(?:\\.${BUILD_ID})*)?$`,
);

/**
 * Why `version` is not a semver 2.0 version, or `undefined` when it is.
 *
 * @example
 * ```ts
 * semverProblem("0.0.0-q3fa9"); // undefined
 * semverProblem("v1.2.3");      // "not a semver 2.0 version ..."
 * ```
 */
export function semverProblem(version: unknown): string | undefined {
  if (typeof version !== "string") return "a version must be a string";
  if (!SEMVER.test(version)) {
    return (
      "not a semver 2.0 version (MAJOR.MINOR.PATCH with optional -prerelease and +build, " +
      "no leading zeros, no 'v' prefix), e.g. 1.0.0 or 0.0.0-q3fa9"
    );
  }
  return undefined;
}

/**
 * True when `version` is a semver 2.0 version.
 *
 * @example
 * ```ts
 * isSemver("1.2.3-rc.1+build.5"); // true
 * isSemver("1.2");                // false
 * ```
 */
export function isSemver(version: unknown): version is string {
  return semverProblem(version) === undefined;
}

function checkSegment(segment: unknown, context?: string): string {
  const problem = segmentProblem(segment);
  if (problem) throw new UriError(shown(segment), context ? `${problem} in ${context}` : problem);
  return segment as string;
}

function checkVersion(version: unknown, context?: string): string {
  checkSegment(version, context);
  const problem = semverProblem(version);
  if (problem) throw new UriError(shown(version), context ? `${problem} in ${context}` : problem);
  return version as string;
}

/** A printable name for a value that is not a string, without running any of its own code. */
function shown(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return String(value);
  return Array.isArray(value) ? "[array]" : `[${typeof value}]`;
}

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * Parses and validates a path-only or absolute link.
 *
 * @example
 * ```ts
 * const l = parseLink("http://127.0.0.1:8702/lib/acme/foo/1.0.0/bar");
 * l.path;                 // "/lib/acme/foo/1.0.0/bar"
 * l.authority;            // { scheme: "http", host: "127.0.0.1", port: 8702 }
 * l.component?.version;   // "1.0.0"
 * l.component?.route;     // ["bar"]
 * parseLink("/state//users"); // throws UriError (segment "")
 * ```
 */
export function parseLink(href: unknown): ParsedLink {
  if (typeof href !== "string") throw new UriError(shown(href), "a link must be a string");
  if (href.startsWith("/")) return finish(href, href, undefined);

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(href);
  if (!scheme) {
    throw new UriError(href, "a link must be path-only ('/state/...') or absolute ('http://host:port/...')");
  }
  const { authority, rest } = splitAbsolute(href);
  if (rest === "") throw new UriError(href, "an absolute link must have a path ('http://host:port/state/...')");
  return finish(href, rest, authority);
}

/**
 * Parses the origin of a host (`http://host[:port]`, an optional trailing `/`) into its authority.
 *
 * @example
 * ```ts
 * parseOrigin("http://127.0.0.1:8702"); // { scheme: "http", host: "127.0.0.1", port: 8702 }
 * parseOrigin("https://example.com/");  // { scheme: "https", host: "example.com", port: 443 }
 * ```
 */
export function parseOrigin(origin: unknown): LinkAuthority {
  if (typeof origin !== "string") throw new UriError(shown(origin), "an origin must be a string");
  const { authority, rest } = splitAbsolute(origin);
  if (rest !== "" && rest !== "/") {
    throw new UriError(rest, "an origin must not have a path ('http://host:port')");
  }
  return authority;
}

/** Splits `scheme://authority/path` into a validated authority and the raw path (maybe ""). */
function splitAbsolute(href: string): { authority: LinkAuthority; rest: string } {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(.*)$/s.exec(href);
  if (!match) throw new UriError(href, "an absolute link must look like 'http://host:port/...'");
  const [, rawScheme = "", rawAuthority = "", rest = ""] = match;
  const scheme = rawScheme.toLowerCase();
  if (scheme !== "http" && scheme !== "https") {
    throw new UriError(rawScheme, "only http and https links are supported");
  }
  return { authority: parseAuthority(scheme, rawAuthority), rest };
}

function parseAuthority(scheme: "http" | "https", raw: string): LinkAuthority {
  if (raw.length === 0) throw new UriError(raw, "an absolute link must name a host");
  if (raw.includes("@")) throw new UriError(raw, "userinfo ('user@host') is not allowed in links");
  if (raw.includes("?")) throw new UriError(raw, "query strings are not allowed in links");
  if (raw.includes("#")) throw new UriError(raw, "fragments are not allowed in links");

  let host: string;
  let portText: string | undefined;
  if (raw.startsWith("[")) {
    const close = raw.indexOf("]");
    if (close < 0) throw new UriError(raw, "unterminated IPv6 address (missing ']')");
    host = raw.slice(0, close + 1);
    const after = raw.slice(close + 1);
    if (after !== "") {
      if (!after.startsWith(":")) throw new UriError(raw, "unexpected text after the IPv6 address");
      portText = after.slice(1);
    }
    if (!isIpv6(host.slice(1, -1))) throw new UriError(host, "not a valid IPv6 address");
  } else {
    const colon = raw.indexOf(":");
    if (colon >= 0) {
      host = raw.slice(0, colon);
      portText = raw.slice(colon + 1);
    } else {
      host = raw;
    }
    const problem = hostProblem(host);
    if (problem) throw new UriError(host, problem);
    host = host.toLowerCase();
  }

  let port = scheme === "https" ? 443 : 80;
  if (portText !== undefined) {
    if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) {
      throw new UriError(portText, "a port must be a decimal number from 1 to 65535 without leading zeros");
    }
    port = Number(portText);
  }
  return Object.freeze({ scheme, host, port });
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function hostProblem(host: string): string | undefined {
  if (host.length === 0) return "an absolute link must name a host";
  if (host.length > 253) return "a host name must be at most 253 characters";
  const labels = host.split(".");
  for (const label of labels) {
    if (!LABEL.test(label)) {
      return "a host must be a DNS name (letters, digits, '-' and '.'), a dotted IPv4 address or [IPv6]";
    }
  }
  // A name whose last label is numeric can only be an IPv4 address (as in the WHATWG URL parser).
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? "")) {
    const ipv4 = labels.length === 4 && labels.every((l) => /^(?:0|[1-9][0-9]{0,2})$/.test(l) && Number(l) <= 255);
    if (!ipv4) return "not a valid IPv4 address (four numbers 0-255 without leading zeros)";
  }
  return undefined;
}

function isIpv6(text: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  let groups = text;
  // An optional trailing dotted IPv4 part counts as two 16-bit groups.
  const lastColon = groups.lastIndexOf(":");
  const tail = groups.slice(lastColon + 1);
  if (tail.includes(".")) {
    if (lastColon < 0 || !/^[0-9.]+$/.test(tail) || hostProblem(tail) !== undefined) return false;
    groups = groups.slice(0, lastColon + 1) + "0:0";
  }
  const halves = groups.split("::");
  if (halves.length > 2) return false;
  const parse = (part: string): string[] | undefined => {
    if (part === "") return [];
    const gs = part.split(":");
    return gs.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g)) ? gs : undefined;
  };
  const head = parse(halves[0] ?? "");
  if (!head) return false;
  if (halves.length === 1) return head.length === 8;
  const rest = parse(halves[1] ?? "");
  if (!rest) return false;
  return head.length + rest.length <= 7;
}

function finish(href: string, path: string, authority: LinkAuthority | undefined): ParsedLink {
  const segments = path.slice(1).split("/");
  segments.forEach((segment) => checkSegment(segment, `link ${JSON.stringify(href)}`));
  const first = segments[0] as string;
  if (!(LINK_ROOTS as readonly string[]).includes(first)) {
    throw new UriError(
      first,
      `unknown top-level directory in ${JSON.stringify(href)}; expected one of ${LINK_ROOTS.map((r) => "/" + r).join(", ")}`,
    );
  }
  const root = first as LinkRoot;
  if (root === "healthz" && segments.length > 1) {
    throw new UriError(segments[1] as string, "/healthz has no sub-paths");
  }
  const component = componentOf(root, segments, href);
  const parsed: ParsedLink = {
    href,
    path: "/" + segments.join("/"),
    segments: Object.freeze(segments),
    ...(authority ? { authority } : {}),
    root,
    ...(component ? { component } : {}),
  };
  return Object.freeze(parsed);
}

const COMPONENT_SHAPES = {
  lib: ["publisher", "name", "version"],
  class: ["publisher", "name", "version"],
  service: ["publisher", "namespace", "name", "version"],
} as const;

function componentOf(root: LinkRoot, segments: string[], href: string): LinkComponent | undefined {
  if (root !== "lib" && root !== "class" && root !== "service") return undefined;
  if (segments.length === 1) return undefined; // the directory itself, e.g. `PUT /lib`
  const shape = COMPONENT_SHAPES[root];
  if (segments.length < shape.length + 1) {
    throw new UriError(
      segments[segments.length - 1] as string,
      `incomplete component link ${JSON.stringify(href)}; expected /${root}/<${shape.join(">/<")}>`,
    );
  }
  const parts: Record<string, string> = {};
  shape.forEach((field, i) => (parts[field] = segments[i + 1] as string));
  checkVersion(parts.version, `link ${JSON.stringify(href)}`);
  return Object.freeze({
    kind: root,
    publisher: parts.publisher as string,
    ...(root === "service" ? { namespace: parts.namespace as string } : {}),
    name: parts.name as string,
    version: parts.version as string,
    path: "/" + segments.slice(0, shape.length + 1).join("/"),
    route: Object.freeze(segments.slice(shape.length + 1)),
  });
}

// ---------------------------------------------------------------------------------------------
// Building

function build(root: LinkRoot, segments: readonly unknown[]): string {
  const context = `/${root} link`;
  return "/" + [root, ...segments.map((s) => checkSegment(s, context))].join("/");
}

/**
 * Validates `href` and returns it as an IR `Link` node.
 *
 * @example
 * ```ts
 * toLink("/state/social/users"); // { kind: "link", href: "/state/social/users" }
 * toLink("/tmp/x");              // throws UriError (segment "tmp")
 * ```
 */
export function toLink(href: string): Link {
  parseLink(href);
  return Object.freeze({ kind: "link", href });
}

/**
 * Builders for canonical links. Each validates every segment (and the version) and returns the
 * path string; `uri.link` turns a path into an IR `Link` node.
 *
 * @example
 * ```ts
 * uri.state("social", "users");                          // "/state/social/users"
 * uri.library("acme", "foo", "1.0.0", "bar");            // "/lib/acme/foo/1.0.0/bar"
 * uri.service("acme", "graph", "social", "0.1.0");       // "/service/acme/graph/social/0.1.0"
 * uri.klass("acme", "User", "1.0.0");                    // "/class/acme/User/1.0.0"
 * uri.healthz();                                         // "/healthz"
 * uri.link(uri.state("social", "users"));                // { kind: "link", href: "/state/social/users" }
 * uri.absolute("http://127.0.0.1:8702", uri.healthz());  // "http://127.0.0.1:8702/healthz"
 * ```
 */
export const uri = Object.freeze({
  /**
   * `/state/<namespace>/<path...>` — where tables and built-ins live.
   *
   * @example
   * ```ts
   * uri.state("social", "users", "count"); // "/state/social/users/count"
   * ```
   */
  state(namespace: string, ...path: string[]): string {
    return build("state", [namespace, ...path]);
  },

  /**
   * `/lib/<publisher>/<name>/<version>/<path...>`; `version` must be semver 2.0.
   *
   * @example
   * ```ts
   * uri.library("acme", "foo", "0.0.0-q3fa9", "run"); // "/lib/acme/foo/0.0.0-q3fa9/run"
   * ```
   */
  library(publisher: string, name: string, version: string, ...path: string[]): string {
    checkVersion(version, "/lib link");
    return build("lib", [publisher, name, version, ...path]);
  },

  /**
   * `/service/<publisher>/<namespace>/<name>/<version>/<path...>`; `version` must be semver 2.0.
   *
   * @example
   * ```ts
   * uri.service("acme", "graph", "social", "1.0.0", "friends"); // "/service/acme/graph/social/1.0.0/friends"
   * ```
   */
  service(publisher: string, namespace: string, name: string, version: string, ...path: string[]): string {
    checkVersion(version, "/service link");
    return build("service", [publisher, namespace, name, version, ...path]);
  },

  /**
   * `/class/<publisher>/<name>/<version>/<path...>`; `version` must be semver 2.0.
   *
   * @example
   * ```ts
   * uri.klass("acme", "User", "1.0.0"); // "/class/acme/User/1.0.0"
   * ```
   */
  klass(publisher: string, name: string, version: string, ...path: string[]): string {
    checkVersion(version, "/class link");
    return build("class", [publisher, name, version, ...path]);
  },

  /**
   * Alias of `uri.klass`.
   *
   * @example
   * ```ts
   * uri.class_("acme", "User", "1.0.0"); // "/class/acme/User/1.0.0"
   * ```
   */
  class_(publisher: string, name: string, version: string, ...path: string[]): string {
    return uri.klass(publisher, name, version, ...path);
  },

  /**
   * `/host/<path...>` — the host's own endpoints.
   *
   * @example
   * ```ts
   * uri.host("metrics"); // "/host/metrics"
   * ```
   */
  host(...path: string[]): string {
    return build("host", path);
  },

  /**
   * `/healthz`.
   *
   * @example
   * ```ts
   * uri.healthz(); // "/healthz"
   * ```
   */
  healthz(): string {
    return "/healthz";
  },

  /**
   * A top-level directory by itself, e.g. `/lib` (the target of a library install).
   *
   * @example
   * ```ts
   * uri.root("lib"); // "/lib"
   * ```
   */
  root(root: LinkRoot): string {
    if (!(LINK_ROOTS as readonly string[]).includes(root)) {
      throw new UriError(shown(root), `unknown top-level directory; expected one of ${LINK_ROOTS.join(", ")}`);
    }
    return "/" + root;
  },

  /**
   * Appends validated segments to a link (path-only or absolute) and re-validates the result.
   *
   * @example
   * ```ts
   * uri.append("/lib/acme/foo/1.0.0", "bar");          // "/lib/acme/foo/1.0.0/bar"
   * uri.append("http://h:8702/state/social", "users"); // "http://h:8702/state/social/users"
   * ```
   */
  append(base: string, ...segments: string[]): string {
    const parsed = parseLink(base);
    segments.forEach((s) => checkSegment(s, `segments appended to ${JSON.stringify(base)}`));
    const href = [parsed.href, ...segments].join("/");
    parseLink(href);
    return href;
  },

  /**
   * Puts a path-only link under a host's origin (`http(s)://host[:port]`).
   *
   * @example
   * ```ts
   * uri.absolute("http://127.0.0.1:8702", "/lib/acme/foo/1.0.0"); // "http://127.0.0.1:8702/lib/acme/foo/1.0.0"
   * ```
   */
  absolute(origin: string, path: string): string {
    const authority = parseOrigin(origin);
    const parsed = parseLink(path);
    if (parsed.authority) throw new UriError(path, "already an absolute link");
    const defaultPort = authority.scheme === "https" ? 443 : 80;
    const port = authority.port === defaultPort ? "" : `:${authority.port}`;
    return `${authority.scheme}://${authority.host}${port}${parsed.path}`;
  },

  /**
   * Validates a link and returns it as an IR `Link` node (same as `toLink`).
   *
   * @example
   * ```ts
   * uri.link("/lib/acme/foo/1.0.0"); // { kind: "link", href: "/lib/acme/foo/1.0.0" }
   * ```
   */
  link(href: string): Link {
    return toLink(href);
  },

  /** Same as `parseLink`. */
  parse(href: string): ParsedLink {
    return parseLink(href);
  },
});
