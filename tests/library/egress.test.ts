/**
 * The reference example of TinyChain's client guide, with default-deny egress (PROFILE §6.15):
 * library A, installed in an embedded kernel with no server of its own, calls its dependency B
 * served by a second process over HTTP. The call succeeds through a configured route; without
 * the declared dependency, or without the route, it is refused with a typed error; a write in A
 * and one in B commit or roll back together.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ForbiddenError, NotFoundError } from "../../src/errors.js";
import type { Executor } from "../../src/executor.js";
import { http } from "../../src/http/index.js";
import { embedded } from "../../src/kernel/index.js";
import { installLibrary } from "../../src/library/index.js";
import { a, b, NOTES } from "../support/egress.js";
import { startServe } from "../http/cli-process.js";

/** C: calls B without declaring it. */
const c = {
  schema: { id: "/lib/acme/c/1.0.0", version: "1.0.0", dependencies: [] },
  routes: [{ path: "/greet", op: { method: "GET", path: "/lib/example-devco/b/1.0.0/hello" } }],
};

describe("a library calling a dependency served by another process", () => {
  let server: { child: ChildProcess; url: string };
  let remote: Executor;
  let local: Executor;

  beforeAll(async () => {
    server = await startServe(["--port", "0"]);
    remote = http(server.url);
    await remote.request({ verb: "put", path: "/state/remote/notes", body: NOTES });
    await installLibrary(remote, b);
    local = embedded({ egress: { routes: { "/lib/example-devco/b": server.url } } });
    await local.request({ verb: "put", path: "/state/local/notes", body: NOTES });
    await installLibrary(local, a);
    await local.request({ verb: "put", path: "/lib", body: c as never });
  }, 60_000);
  afterAll(async () => {
    await local?.close();
    await remote?.close();
    server?.child.kill("SIGTERM");
  });

  const rows = async (ex: Executor, path: string) =>
    ((await ex.request({ verb: "get", path })) as Record<string, [unknown, unknown[][]]>)["/state/collection/table"]![1];

  it("calls B through the configured route", async () => {
    expect(await a.stub().greet().run(local)).toBe("Hello, A!");
  });

  it("commits a write in A and one in B together, and rolls both back together", async () => {
    await a.stub().both(1, "x").run(local);
    expect(await rows(local, "/state/local/notes")).toEqual([[1, "x"]]);
    expect(await rows(remote, "/state/remote/notes")).toEqual([[1, "x"]]);
    const e = await a.stub().both(2, "fail").run(local).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    expect(await rows(local, "/state/local/notes")).toEqual([[1, "x"]]);
    expect(await rows(remote, "/state/remote/notes")).toEqual([[1, "x"]]);
  });

  it("refuses a library calling B without declaring it", async () => {
    const e = await local.execute({ "/state/scalar/op/post": [["_r", { "/lib/acme/c/1.0.0/greet": [null] }]] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ForbiddenError);
    expect((e as Error).message).toMatch(/may not call \/lib\/example-devco\/b\/1.0.0: it is not among its declared dependencies/);
  });

  it("refuses the call without a route, and an absolute link the configuration does not allow", async () => {
    const bare = embedded();
    try {
      await installLibrary(bare, a);
      const e = await a.stub().greet().run(bare).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NotFoundError);
      expect((e as Error).message).toMatch(/no library \/lib\/example-devco\/b\/1.0.0 is installed/);
      const abs = await bare.execute({ "/state/scalar/op/post": [["l", { "/state/scalar/value/link": `${server.url}/lib/example-devco/b/1.0.0/hello` }], ["_r", { $l: ["x"] }]] }).catch((x: unknown) => x);
      expect((abs as Error).message).toMatch(/does not call other hosts/);
    } finally {
      await bare.close();
    }
    // Allowed for that authority and path: the call goes out.
    const allowed = embedded({ egress: { allow: [{ authority: server.url, paths: ["/lib/example-devco/b"] }] } });
    try {
      const got = await allowed.execute({ "/state/scalar/op/post": [["l", { "/state/scalar/value/link": `${server.url}/lib/example-devco/b/1.0.0/hello` }], ["_r", { $l: ["x"] }]] });
      expect(got).toBe("Hello, x!");
      const other = await allowed.execute({ "/state/scalar/op/post": [["l", { "/state/scalar/value/link": `${server.url}/state/remote/notes` }], ["_r", { $l: [[1]] }]] }).catch((x: unknown) => x);
      expect((other as Error).message).toMatch(/does not call other hosts/);
    } finally {
      await allowed.close();
    }
  });
});
