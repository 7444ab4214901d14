import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TcError, UriError } from "../../src/errors.js";
import {
  isSemver,
  LINK_ROOTS,
  parseLink,
  parseOrigin,
  segmentProblem,
  semverProblem,
  toLink,
  uri,
} from "../../src/ir/uri.js";

/** Runs `fn`, expects a UriError, and returns it so the caller can check the named segment. */
function uriError(fn: () => unknown): UriError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UriError);
    expect(e).toBeInstanceOf(TcError);
    expect((e as UriError).kind).toBe("bad_request");
    return e as UriError;
  }
  throw new Error("expected a UriError, but nothing was thrown");
}

function rejects(fn: () => unknown, segment: string, problem?: RegExp): void {
  const e = uriError(fn);
  expect(e.segment).toBe(segment);
  expect(e.message).toContain(JSON.stringify(segment));
  if (problem) expect(e.message).toMatch(problem);
}

describe("builders", () => {
  it("uri.state joins the namespace and path", () => {
    expect(uri.state("social", "users")).toBe("/state/social/users");
    expect(uri.state("social", "users", "count")).toBe("/state/social/users/count");
    expect(uri.state("social")).toBe("/state/social");
  });

  it("uri.library builds /lib/<publisher>/<name>/<version>/<path>", () => {
    expect(uri.library("acme", "foo", "1.0.0")).toBe("/lib/acme/foo/1.0.0");
    expect(uri.library("acme", "foo", "1.0.0", "bar")).toBe("/lib/acme/foo/1.0.0/bar");
    expect(uri.library("acme", "q", "0.0.0-q3fa9", "run")).toBe("/lib/acme/q/0.0.0-q3fa9/run");
  });

  it("uri.service builds /service/<publisher>/<namespace>/<name>/<version>/<path>", () => {
    expect(uri.service("acme", "graph", "social", "0.1.0")).toBe("/service/acme/graph/social/0.1.0");
    expect(uri.service("acme", "graph", "social", "0.1.0", "friends", "of")).toBe(
      "/service/acme/graph/social/0.1.0/friends/of",
    );
  });

  it("uri.klass and its alias uri.class_ build /class/<publisher>/<name>/<version>", () => {
    expect(uri.klass("acme", "User", "1.0.0")).toBe("/class/acme/User/1.0.0");
    expect(uri.class_("acme", "User", "1.0.0", "new")).toBe("/class/acme/User/1.0.0/new");
  });

  it("uri.healthz, uri.host and uri.root", () => {
    expect(uri.healthz()).toBe("/healthz");
    expect(uri.host("metrics")).toBe("/host/metrics");
    expect(uri.host()).toBe("/host");
    for (const root of LINK_ROOTS) expect(uri.root(root)).toBe(`/${root}`);
  });

  it("uri.link and toLink give a validated IR Link node", () => {
    expect(uri.link(uri.state("social", "users"))).toEqual({ kind: "link", href: "/state/social/users" });
    expect(toLink("http://127.0.0.1:8702/lib/acme/foo/1.0.0")).toEqual({
      kind: "link",
      href: "http://127.0.0.1:8702/lib/acme/foo/1.0.0",
    });
  });

  it("uri.append extends path-only and absolute links", () => {
    expect(uri.append("/lib/acme/foo/1.0.0", "bar")).toBe("/lib/acme/foo/1.0.0/bar");
    expect(uri.append("http://h:8702/state/social", "users", "count")).toBe("http://h:8702/state/social/users/count");
  });

  it("uri.absolute puts a path under an origin", () => {
    expect(uri.absolute("http://127.0.0.1:8702", "/lib/acme/foo/1.0.0")).toBe(
      "http://127.0.0.1:8702/lib/acme/foo/1.0.0",
    );
    expect(uri.absolute("https://Example.COM/", uri.healthz())).toBe("https://example.com/healthz");
  });

  it("segment names with a single dot, dashes, underscores and non-ASCII letters are fine", () => {
    expect(uri.state("my-app", "user_profiles.v2", "größe")).toBe("/state/my-app/user_profiles.v2/größe");
    expect(uri.state("emoji", "\u{1F600}")).toBe("/state/emoji/\u{1F600}"); // a paired surrogate is fine
  });
});

describe("parseLink", () => {
  it("parses a path-only /state link", () => {
    const l = parseLink("/state/social/users");
    expect(l).toEqual({
      href: "/state/social/users",
      path: "/state/social/users",
      segments: ["state", "social", "users"],
      root: "state",
    });
    expect(l.authority).toBeUndefined();
    expect(l.component).toBeUndefined();
  });

  it("parses a path-only /lib link with its component and route", () => {
    const l = parseLink("/lib/acme/foo/1.0.0/bar");
    expect(l.path).toBe("/lib/acme/foo/1.0.0/bar");
    expect(l.segments).toEqual(["lib", "acme", "foo", "1.0.0", "bar"]);
    expect(l.root).toBe("lib");
    expect(l.component).toEqual({
      kind: "lib",
      publisher: "acme",
      name: "foo",
      version: "1.0.0",
      path: "/lib/acme/foo/1.0.0",
      route: ["bar"],
    });
  });

  it("parses an absolute http link, keeping authority and path apart", () => {
    const l = parseLink("http://127.0.0.1:8702/lib/acme/foo/1.0.0/bar");
    expect(l.href).toBe("http://127.0.0.1:8702/lib/acme/foo/1.0.0/bar");
    expect(l.path).toBe("/lib/acme/foo/1.0.0/bar");
    expect(l.authority).toEqual({ scheme: "http", host: "127.0.0.1", port: 8702 });
    expect(l.segments).toEqual(["lib", "acme", "foo", "1.0.0", "bar"]);
    expect(l.component?.version).toBe("1.0.0");
  });

  it("parses an absolute https link with a default port and a lower-cased host", () => {
    const l = parseLink("HTTPS://Tiny.Example.com/service/acme/graph/social/2.0.0-rc.1+build.7/friends");
    expect(l.authority).toEqual({ scheme: "https", host: "tiny.example.com", port: 443 });
    expect(l.path).toBe("/service/acme/graph/social/2.0.0-rc.1+build.7/friends");
    expect(l.component).toEqual({
      kind: "service",
      publisher: "acme",
      namespace: "graph",
      name: "social",
      version: "2.0.0-rc.1+build.7",
      path: "/service/acme/graph/social/2.0.0-rc.1+build.7",
      route: ["friends"],
    });
  });

  it("defaults the http port to 80 and accepts bracketed IPv6 hosts", () => {
    expect(parseLink("http://localhost/healthz").authority).toEqual({ scheme: "http", host: "localhost", port: 80 });
    expect(parseLink("http://[::1]:8702/healthz").authority).toEqual({ scheme: "http", host: "[::1]", port: 8702 });
    expect(parseLink("http://[2001:db8::ffff:192.0.2.1]/healthz").authority?.host).toBe("[2001:db8::ffff:192.0.2.1]");
  });

  it("parses /class components and bare top-level directories", () => {
    expect(parseLink("/class/acme/User/1.0.0").component).toEqual({
      kind: "class",
      publisher: "acme",
      name: "User",
      version: "1.0.0",
      path: "/class/acme/User/1.0.0",
      route: [],
    });
    for (const root of LINK_ROOTS) {
      const l = parseLink(`/${root}`);
      expect(l.root).toBe(root);
      expect(l.segments).toEqual([root]);
      expect(l.component).toBeUndefined();
    }
  });

  it("accepts the link forms the IR fixtures use", () => {
    for (const href of [
      "/state/scalar/value/string",
      "/state/scalar/value/number/float/64",
      "/state/collection/table",
      "/lib/a/b/0.1.0/hello",
    ]) {
      expect(parseLink(href).path).toBe(href);
    }
  });

  it("parseOrigin reads a host origin", () => {
    expect(parseOrigin("http://127.0.0.1:8702")).toEqual({ scheme: "http", host: "127.0.0.1", port: 8702 });
    expect(parseOrigin("https://example.com/")).toEqual({ scheme: "https", host: "example.com", port: 443 });
  });

  it("returns frozen results", () => {
    const l = parseLink("/lib/acme/foo/1.0.0/bar");
    expect(Object.isFrozen(l)).toBe(true);
    expect(Object.isFrozen(l.segments)).toBe(true);
    expect(Object.isFrozen(l.component)).toBe(true);
  });
});

describe("semver", () => {
  it.each(["0.0.0", "1.2.3", "10.20.30", "0.0.0-q3fa9", "1.0.0-alpha.1", "1.0.0-0.3.7", "1.0.0-x-y-z.--", "1.0.0+001", "1.0.0-rc.1+build.5.sha-9f"])(
    "accepts %s",
    (v) => {
      expect(isSemver(v)).toBe(true);
      expect(semverProblem(v)).toBeUndefined();
    },
  );
  it.each(["1.2", "v1.2.3", "01.2.3", "1.02.3", "1.2.03", "1.2.3-01", "1.2.3-", "1.2.3+", "1.2.3-a..b", "1.2.3.4", "", "1.2.3 ", "latest"])(
    "rejects %j",
    (v) => {
      expect(isSemver(v)).toBe(false);
      expect(semverProblem(v)).toMatch(/semver/);
    },
  );
});

describe("rejections name the offending segment", () => {
  // Builders
  it("empty namespace", () => rejects(() => uri.state(""), ""));
  it("empty path segment", () => rejects(() => uri.state("social", "", "users"), ""));
  it("'.' segment", () => rejects(() => uri.state("social", "."), "."));
  it("'..' segment", () => rejects(() => uri.state("..", "users"), ".."));
  it("segment with '/'", () => rejects(() => uri.state("social", "a/b"), "a/b"));
  it("segment with a space", () => rejects(() => uri.state("social", "a b"), "a b"));
  it("segment with a tab", () => rejects(() => uri.state("social", "a\tb"), "a\tb"));
  it("segment with leading whitespace", () => rejects(() => uri.state(" social"), " social"));
  it("segment with '$'", () => rejects(() => uri.library("p", "n", "1.0.0", "$x"), "$x"));
  it("segment with '?'", () => rejects(() => uri.library("p", "n", "1.0.0", "?q=1"), "?q=1"));
  it("segment with '#'", () => rejects(() => uri.state("social", "users#top"), "users#top"));
  it("segment with a control character", () => rejects(() => uri.state("social", "a\u0000b"), "a\u0000b"));
  it("segment with DEL", () => rejects(() => uri.state("social", "a\u007fb"), "a\u007fb"));
  it("segment with '%'", () => rejects(() => uri.state("social", "a%20b"), "a%20b"));
  it("segment with a lone surrogate", () => rejects(() => uri.state("social", "a\ud800"), "a\ud800"));
  it("segment with a zero-width space", () => rejects(() => uri.state("social", "us\u200bers"), "us\u200bers"));
  it("segment with a bidi override", () => rejects(() => uri.state("\u202esocial"), "\u202esocial"));
  it("non-Id segment (':')", () => rejects(() => uri.state("social", "a:b"), "a:b"));
  it("non-Id segment ('..' inside)", () => rejects(() => uri.state("social", "a..b"), "a..b"));
  it("reserved segment (__proto__)", () => rejects(() => uri.state("__proto__"), "__proto__"));
  it("non-string segment", () => rejects(() => uri.state("social", 7 as unknown as string), "7"));
  it("object segment whose toString is broken", () =>
    rejects(() => uri.state("social", { toString: "" } as unknown as string), "[object]"));
  it("symbol segment", () => rejects(() => uri.state(Symbol("s") as unknown as string), "Symbol(s)"));
  it("empty publisher", () => rejects(() => uri.library("", "foo", "1.0.0"), ""));
  it("library version 1.2", () => rejects(() => uri.library("acme", "foo", "1.2"), "1.2", /semver/));
  it("library version v1.2.3", () => rejects(() => uri.library("acme", "foo", "v1.2.3"), "v1.2.3"));
  it("library version with leading zeros", () => rejects(() => uri.library("acme", "foo", "01.2.3"), "01.2.3"));
  it("library version 'not-semver'", () => rejects(() => uri.library("acme", "foo", "not-semver"), "not-semver"));
  it("library version '.'", () => rejects(() => uri.library("acme", "foo", "."), "."));
  it("non-string library version", () => rejects(() => uri.library("acme", "foo", 1 as unknown as string), "1"));
  it("service version", () => rejects(() => uri.service("acme", "graph", "social", "1.0"), "1.0"));
  it("class version", () => rejects(() => uri.klass("acme", "User", "1"), "1"));
  it("class_ version", () => rejects(() => uri.class_("acme", "User", "1.0.0-"), "1.0.0-"));
  it("unknown root", () => rejects(() => uri.root("tmp" as never), "tmp"));
  it("append to an invalid base", () => rejects(() => uri.append("/tmp", "x"), "tmp"));
  it("append an invalid segment", () => rejects(() => uri.append("/state/a", ".."), ".."));
  it("append something that leaves /healthz", () => rejects(() => uri.append("/healthz", "x"), "x"));
  it("absolute onto an absolute path", () =>
    rejects(() => uri.absolute("http://h", "http://g/healthz"), "http://g/healthz"));
  it("toLink of an invalid link", () => rejects(() => toLink("/state/a b"), "a b"));

  // Parser: path-only links
  it("not a string", () => rejects(() => parseLink(42), "42"));
  it("an object with a throwing toString", () =>
    rejects(() => parseLink({ toString: () => { throw new Error("boom"); } }), "[object]"));
  it("empty string", () => rejects(() => parseLink(""), ""));
  it("relative path", () => rejects(() => parseLink("lib/a"), "lib/a"));
  it("'$' subject is not a link", () => rejects(() => parseLink("$x/a"), "$x/a"));
  it("bare '/'", () => rejects(() => parseLink("/"), ""));
  it("'//' in a path", () => rejects(() => parseLink("/lib//x"), "", /empty segment/));
  it("trailing '/'", () => rejects(() => parseLink("/state/social/"), ""));
  it("'..' in a path", () => rejects(() => parseLink("/lib/../x"), ".."));
  it("'.' in a path", () => rejects(() => parseLink("/state/./x"), "."));
  it("whitespace in a path", () => rejects(() => parseLink("/lib/p/n/1.0.0/a b"), "a b"));
  it("leading whitespace before the path", () => rejects(() => parseLink(" /state/x"), " /state/x"));
  it("trailing newline", () => rejects(() => parseLink("/state/x\n"), "x\n"));
  it("'$' in a path", () => rejects(() => parseLink("/lib/p/n/1.0.0/$x"), "$x"));
  it("query string in a path", () => rejects(() => parseLink("/state/x?y=1"), "x?y=1"));
  it("fragment in a path", () => rejects(() => parseLink("/state/x#y"), "x#y"));
  it("control character in a path", () => rejects(() => parseLink("/state/\u001bx"), "\u001bx"));
  it("percent-encoding in a path", () => rejects(() => parseLink("/state/a%2Fb"), "a%2Fb"));
  it("backslash in a path", () => rejects(() => parseLink("/state/a\\b"), "a\\b"));
  it("unknown top-level directory", () => rejects(() => parseLink("/tmp/x"), "tmp"));
  it("top-level directories are case-sensitive", () => rejects(() => parseLink("/State/x"), "State"));
  it("v1 /transact is not a v2 directory", () => rejects(() => parseLink("/transact/hypothetical"), "transact"));
  it("sub-path under /healthz", () => rejects(() => parseLink("/healthz/x"), "x"));
  it("incomplete /lib component", () => rejects(() => parseLink("/lib/acme/foo"), "foo"));
  it("incomplete /service component", () => rejects(() => parseLink("/service/acme/graph/social"), "social"));
  it("incomplete /class component", () => rejects(() => parseLink("/class/acme"), "acme"));
  it("non-semver version in a /lib link", () => rejects(() => parseLink("/lib/acme/foo/1.2/bar"), "1.2", /semver/));
  it("'v' version in a /class link", () => rejects(() => parseLink("/class/acme/User/v1.0.0"), "v1.0.0"));
  it("non-semver version in a /service link", () =>
    rejects(() => parseLink("/service/acme/graph/social/1.0.0.0"), "1.0.0.0"));

  // Parser: absolute links
  it("unsupported scheme", () => rejects(() => parseLink("ftp://h/state/x"), "ftp"));
  it("scheme without '//'", () => rejects(() => parseLink("h:abc"), "h:abc"));
  it("empty authority", () => rejects(() => parseLink("http:///lib"), ""));
  it("no path after the authority", () => rejects(() => parseLink("http://h:8702"), "http://h:8702"));
  it("bare '/' after the authority", () => rejects(() => parseLink("http://h:8702/"), ""));
  it("userinfo", () => rejects(() => parseLink("http://user@h/state/x"), "user@h", /userinfo/));
  it("userinfo with password", () => rejects(() => parseLink("http://u:p@h:1/state/x"), "u:p@h:1", /userinfo/));
  it("query string after the path", () => rejects(() => parseLink("http://h/state/x?key=1"), "x?key=1", /query/));
  it("query string right after the host", () => rejects(() => parseLink("http://h?x=/state"), "h?x=", /query/));
  it("fragment after the path", () => rejects(() => parseLink("http://h/state/x#frag"), "x#frag", /fragment/));
  it("non-numeric port", () => rejects(() => parseLink("http://h:abc/state/x"), "abc"));
  it("port 0", () => rejects(() => parseLink("http://h:0/state/x"), "0"));
  it("port above 65535", () => rejects(() => parseLink("http://h:70000/state/x"), "70000", /port/));
  it("port with leading zero", () => rejects(() => parseLink("http://h:08702/state/x"), "08702"));
  it("empty port", () => rejects(() => parseLink("http://h:/state/x"), ""));
  it("negative port", () => rejects(() => parseLink("http://h:-1/state/x"), "-1"));
  it("two ports", () => rejects(() => parseLink("http://h:1:2/state/x"), "1:2"));
  it("host with an underscore", () => rejects(() => parseLink("http://my_host/state/x"), "my_host"));
  it("host with a space", () => rejects(() => parseLink("http://my host/state/x"), "my host"));
  it("host with an empty label", () => rejects(() => parseLink("http://a..b/state/x"), "a..b"));
  it("invalid IPv4 address", () => rejects(() => parseLink("http://256.1.1.1/state/x"), "256.1.1.1"));
  it("IPv4 address with too few parts", () => rejects(() => parseLink("http://1.2.3/state/x"), "1.2.3"));
  it("invalid IPv6 address", () => rejects(() => parseLink("http://[1::2::3]/state/x"), "[1::2::3]"));
  it("IPv6 zone id", () => rejects(() => parseLink("http://[fe80::1%25eth0]/state/x"), "[fe80::1%25eth0]"));
  it("unterminated IPv6 address", () => rejects(() => parseLink("http://[::1/state/x"), "[::1"));
  it("unknown directory on an absolute link", () => rejects(() => parseLink("http://h/tmp"), "tmp"));
  it("'..' on an absolute link", () => rejects(() => parseLink("http://h/state/../lib"), ".."));
  it("origin with a path", () => rejects(() => parseOrigin("http://h/state"), "/state"));
});

describe("segmentProblem", () => {
  it("accepts Ids and explains rejections", () => {
    expect(segmentProblem("users")).toBeUndefined();
    expect(segmentProblem("a.b")).toBeUndefined();
    expect(segmentProblem(".")).toMatch(/'\.'/);
    expect(segmentProblem("")).toMatch(/empty/);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const SEGMENT_CHARS = [..."abcxyzABCXYZ0129-_.+!*,;~é日"];
/** Valid segments: mostly a friendly alphabet, sometimes any string that passes the rules. */
const segmentArb = fc.oneof(
  fc
    .string({ unit: fc.constantFrom(...SEGMENT_CHARS), minLength: 1, maxLength: 10 })
    .filter((s) => segmentProblem(s) === undefined),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }).filter((s) => segmentProblem(s) === undefined),
);
const numericId = fc.nat({ max: 10_000 }).map(String);
const prereleaseId = fc.oneof(
  numericId,
  fc.stringMatching(/^[0-9]*[A-Za-z-][0-9A-Za-z-]{0,5}$/),
);
const buildId = fc.stringMatching(/^[0-9A-Za-z-]{1,6}$/);
const semverArb = fc
  .tuple(
    numericId,
    numericId,
    numericId,
    fc.option(fc.array(prereleaseId, { minLength: 1, maxLength: 3 }), { nil: undefined }),
    fc.option(fc.array(buildId, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  )
  .map(
    ([a, b, c, pre, build]) =>
      `${a}.${b}.${c}${pre ? "-" + pre.join(".") : ""}${build ? "+" + build.join(".") : ""}`,
  );
const pathArb = fc.array(segmentArb, { maxLength: 4 });
const originArb = fc.constantFrom("", "http://127.0.0.1:8702", "https://example.com", "http://[::1]:1");

/** [built link, expected segments, expected component fields] */
const builtArb = fc.oneof(
  fc.tuple(segmentArb, pathArb).map(([ns, path]) => [uri.state(ns, ...path), ["state", ns, ...path], undefined] as const),
  fc
    .tuple(segmentArb, segmentArb, semverArb, pathArb)
    .map(
      ([p, n, v, path]) =>
        [uri.library(p, n, v, ...path), ["lib", p, n, v, ...path], { publisher: p, name: n, version: v, route: path }] as const,
    ),
  fc
    .tuple(segmentArb, segmentArb, semverArb, pathArb)
    .map(
      ([p, n, v, path]) =>
        [uri.klass(p, n, v, ...path), ["class", p, n, v, ...path], { publisher: p, name: n, version: v, route: path }] as const,
    ),
  fc
    .tuple(segmentArb, segmentArb, segmentArb, semverArb, pathArb)
    .map(
      ([p, ns, n, v, path]) =>
        [
          uri.service(p, ns, n, v, ...path),
          ["service", p, ns, n, v, ...path],
          { publisher: p, namespace: ns, name: n, version: v, route: path },
        ] as const,
    ),
  pathArb.map((path) => [uri.host(...path), ["host", ...path], undefined] as const),
);

describe("properties", () => {
  it("a link built from valid segments parses back to the same segments", () => {
    fc.assert(
      fc.property(builtArb, originArb, ([href, segments, component], origin) => {
        const full = origin ? uri.absolute(origin, href) : href;
        const parsed = parseLink(full);
        expect(parsed.segments).toEqual(segments);
        expect(parsed.path).toBe(href);
        expect(parsed.href).toBe(full);
        expect(parsed.authority === undefined).toBe(origin === "");
        if (component) expect(parsed.component).toMatchObject(component);
        else expect(parsed.component).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it("random strings either parse or throw UriError, never anything else", () => {
    const prefix = fc.constantFrom("", "/", "/state/", "/lib/a/b/", "http://", "https://h:", "http://h/", "http://[");
    const tail = fc.oneof(
      fc.string({ unit: "binary", maxLength: 30 }),
      fc.string({ unit: fc.constantFrom(..."/.:@?#%[]$ \t0123456789abch-+"), maxLength: 30 }),
    );
    fc.assert(
      fc.property(fc.oneof(tail, fc.tuple(prefix, tail).map(([p, t]) => p + t)), (s) => {
        try {
          const parsed = parseLink(s);
          // Whatever parses is consistent with itself.
          expect(parsed.path).toBe("/" + parsed.segments.join("/"));
          expect(parseLink(parsed.path).segments).toEqual(parsed.segments);
        } catch (e) {
          expect(e).toBeInstanceOf(UriError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("random values passed to the builders either build or throw UriError", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ unit: "binary", maxLength: 8 }), fc.anything()), { minLength: 4, maxLength: 6 }), (args) => {
        const [a, b, c, d, ...rest] = args as string[];
        for (const build of [
          () => uri.state(a as string, b as string),
          () => uri.library(a as string, b as string, c as string, ...rest),
          () => uri.service(a as string, b as string, c as string, d as string, ...rest),
          () => uri.klass(a as string, b as string, c as string),
        ]) {
          try {
            expect(parseLink(build()).path).toMatch(/^\//);
          } catch (e) {
            expect(e).toBeInstanceOf(UriError);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
