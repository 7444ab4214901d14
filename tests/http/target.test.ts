/**
 * Request-target parsing (property tests): whatever the bytes, the result is either a target made
 * only of valid Ids under a top-level directory, or a typed 400/404 — never another error.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isComponentRoot, parseTarget, TOP_LEVEL } from "../../src/http/target.js";
import { TcError } from "../../src/errors.js";
import { isId } from "../../src/ir/id.js";

const pieces = fc.oneof(
  fc.constantFrom("/", "//", "/.", "/..", "?", "&", "=", "%", "%2F", "%2e", "%5C", "%00", "%ZZ", "#", "+", "key", "txn_id", "state", "lib", "healthz", "$", "{", "\"", "\u0000", "\ud800"),
  fc.string({ unit: "grapheme", maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 6 }),
);
const targets = fc.array(pieces, { maxLength: 16 }).map((xs) => `/${xs.join("")}`);

describe("parseTarget", () => {
  it("returns only Id segments under a top-level directory, or throws a 400/404 TcError", () => {
    fc.assert(
      fc.property(targets, (raw) => {
        try {
          const t = parseTarget(raw);
          expect(TOP_LEVEL.has(t.segments[0]!)).toBe(true);
          expect(t.segments.every((s) => isId(s))).toBe(true);
          expect(t.path).toBe(`/${t.segments.join("/")}`);
        } catch (e) {
          expect(e).toBeInstanceOf(TcError);
          expect([400, 404]).toContain((e as TcError).status);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("decodes the key as JSON and keeps the txn id", () => {
    const t = parseTarget(`/state/a/b?key=${encodeURIComponent('[1,"x y"]')}&txn_id=abc_DEF-1`);
    expect(t).toEqual({ segments: ["state", "a", "b"], path: "/state/a/b", key: [1, "x y"], txnId: "abc_DEF-1" });
    expect(parseTarget("/lib").key).toBeUndefined();
  });

  it("knows the component roots", () => {
    const roots = ["/lib", "/class", "/service", "/state/social", "/lib/acme/q/1.0.0", "/class/a/b/1.0.0", "/service/a/b/c/1.0.0"];
    // `/state` itself is not a component; `/host` and `/healthz` are not transactional.
    const notRoots = ["/state", "/host", "/host/txn", "/state/social/users", "/lib/acme/q", "/lib/acme/q/1.0.0/op", "/service/a/b/c", "/healthz"];
    for (const p of roots) expect(isComponentRoot(parseTarget(p).segments)).toBe(true);
    for (const p of notRoots) expect(isComponentRoot(parseTarget(p).segments)).toBe(false);
  });
});
