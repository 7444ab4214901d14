/**
 * Routing (PROFILE §4): `/healthz`, the top-level directories, 404 for unknown paths, 405 for wrong
 * verbs, 400 for malformed paths.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/index.js";
import { TcError } from "../../src/errors.js";
import type { ExecRequest } from "../../src/executor.js";
import type { Json } from "../../src/ir/types.js";

let k: Kernel;
beforeAll(async () => {
  k = await Kernel.open();
  const schema: Json = [[[["name", "/state/scalar/value/string", 16]], [["n", "/state/scalar/value/number/int/64"]]], []];
  await k.request({ verb: "put", path: "/state/route/t", key: null, body: { "/state/collection/table": [schema, []] } });
});
afterAll(async () => {
  await k.close();
});

async function kindOf(req: ExecRequest): Promise<string> {
  try {
    await k.request(req);
  } catch (e) {
    expect(e).toBeInstanceOf(TcError);
    return (e as TcError).kind;
  }
  return "ok";
}

describe("routing", () => {
  it("GET /healthz answers ok without touching a transaction (even while a session holds the lock)", async () => {
    const commits = k.stats.commits;
    const s = await k.beginSession();
    expect(await k.request({ verb: "get", path: "/healthz" })).toEqual({ status: "ok" });
    await k.rollbackSession(s);
    expect(k.stats.commits).toBe(commits);
  });

  it.each([
    [{ verb: "put", path: "/healthz", key: null, body: 1 }, "method_not_allowed"],
    [{ verb: "patch" as never, path: "/state/route/t" }, "method_not_allowed"],
    [{ verb: "post", path: "/state/route/t", body: {} }, "method_not_allowed"],
    [{ verb: "delete", path: "/lib" }, "method_not_allowed"],
    [{ verb: "get", path: "/nowhere" }, "not_found"],
    [{ verb: "get", path: "/tmp/x" }, "not_found"],
    [{ verb: "get", path: "/state" }, "not_found"],
    [{ verb: "get", path: "/state/route" }, "not_found"],
    [{ verb: "get", path: "/state/route/missing" }, "not_found"],
    [{ verb: "get", path: "/state/_kernel/lib" }, "not_found"],
    [{ verb: "get", path: "/host/metrics" }, "not_found"],
    [{ verb: "get", path: "/class/acme/User/1.0.0" }, "not_found"],
    [{ verb: "post", path: "/class/acme/User/1.0.0/new", body: {} }, "not_found"],
    [{ verb: "get", path: "/service/acme/ns/svc/1.0.0" }, "not_found"],
    [{ verb: "get", path: "http://example.com/state/a/b" }, "not_found"],
    [{ verb: "get", path: "/state/scalar/value/string", key: 5 }, "bad_request"],
    [{ verb: "get", path: "/state//t" }, "bad_request"],
    [{ verb: "get", path: "/state/route/../t" }, "bad_request"],
    [{ verb: "get", path: "state/route/t" }, "bad_request"],
    [{ verb: "get", path: "/state/route/t", key: { $x: [] } }, "bad_request"],
  ] as [ExecRequest, string][])("%j → %s", async (req, kind) => {
    expect(await kindOf(req)).toBe(kind);
  });

  it("a request that is not an object is 400", async () => {
    expect(await kindOf(null as never)).toBe("bad_request");
    expect(await kindOf("GET /healthz" as never)).toBe("bad_request");
  });

  it("serves table routes under /state", async () => {
    await k.request({ verb: "put", path: "/state/route/t", key: ["a"], body: [1] });
    expect(await k.request({ verb: "get", path: "/state/route/t", key: ["a"] })).toEqual(["a", 1]);
    expect(await k.request({ verb: "get", path: "/state/route/t/count", key: null })).toBe(1);
    await k.request({ verb: "delete", path: "/state/route/t", key: ["a"] });
    expect(await k.request({ verb: "get", path: "/state/route/t/is_empty", key: null })).toBe(true);
  });
});
