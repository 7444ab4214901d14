/**
 * Libraries defined in TypeScript (PROFILE §5): a deterministic manifest with its dependency set,
 * one-call install, typed stubs, and the host's rule that a library calls another only when it
 * declares it — on every executor.
 */
import { afterAll, describe, expect, expectTypeOf, it } from "vitest";
import { BadRequestError, ConflictError, ForbiddenError, NotImplementedError } from "../../src/errors.js";
import type { Executor } from "../../src/executor.js";
import { id, post, ref } from "../../src/ir/build.js";
import type { IdRef } from "../../src/ir/types.js";
import { defineLibrary, installLibrary, route, type Deferred } from "../../src/library/index.js";
import { EXECUTORS, executorsFor } from "../support/executors.js";

/** A source library: a greeting (GET with a typed key), a sum (POST with typed params), a value. */
const src = defineLibrary({
  publisher: "example-devco",
  name: "source",
  version: "0.1.0",
  routes: {
    hello: route.get<string, string>("name", (b) => {
      const g = b.step("greeting", "Hello, {{name}}!");
      return b.returns(post(ref(g, "render"), { name: b.key }));
    }),
    sum: route.post<{ a: number; b: number }, number>((b) => b.returns(post(ref("a", "add"), { r: id("b") }))),
    version: route.value("0.1.0"),
  },
});
const stub = src.stub();

const alias = defineLibrary({
  publisher: "example-devco",
  name: "alias",
  version: "0.1.0",
  dependencies: [src],
  routes: {
    ping: route.forward(stub.version()),
    greet: route.get<string, string>("who", (b) => b.returns(stub.hello("alias").scalar)),
  },
});

describe("defineLibrary", () => {
  it("compiles to the v2 manifest, deterministically (routes and dependencies sorted)", () => {
    expect(alias.manifest()).toEqual({
      schema: { id: "/lib/example-devco/alias/0.1.0", version: "0.1.0", dependencies: ["/lib/example-devco/source/0.1.0"] },
      routes: [
        { path: "/greet", opdef: expect.any(Object) },
        { path: "/ping", op: { method: "GET", path: "/lib/example-devco/source/0.1.0/version" } },
      ],
    });
    const again = defineLibrary({
      publisher: "example-devco",
      name: "alias",
      version: "0.1.0",
      dependencies: ["/lib/example-devco/source/0.1.0", src],
      routes: { greet: alias.routes.greet, ping: alias.routes.ping },
    });
    expect(JSON.stringify(again.installBody())).toBe(JSON.stringify(alias.installBody()));
    const body = alias.installBody() as { artifacts: { bytes: string }[] };
    expect(JSON.parse(Buffer.from(body.artifacts[0]!.bytes, "base64").toString())).toEqual(alias.manifest());
  });

  it("refuses a route reaching an undeclared library, bad names and versions", () => {
    expect(() =>
      defineLibrary({ publisher: "acme", name: "caller", version: "1.0.0", routes: { x: route.get("k", (b) => b.returns(stub.hello("x").scalar)) } }),
    ).toThrow(/calls \/lib\/example-devco\/source\/0.1.0, which is not among its dependencies/);
    expect(() => defineLibrary({ publisher: "Acme!", name: "x", version: "1.0.0", routes: { v: route.value(1) } })).toThrow(BadRequestError);
    expect(() => defineLibrary({ publisher: "acme", name: "x", version: "one", routes: { v: route.value(1) } })).toThrow(/semantic version/);
    expect(() => defineLibrary({ publisher: "acme", name: "x", version: "1.0.0", routes: {} })).toThrow(/at least one route/);
    expect(() => route.forward(stub.sum({ a: 1, b: 2 }))).toThrow(/GET member/);
  });

  it("types the stubs from the routes", () => {
    // A value of the declared type, or (inside another op) a reference.
    expectTypeOf(stub.hello).parameter(0).toEqualTypeOf<string | IdRef>();
    expectTypeOf(stub.hello("x")).toEqualTypeOf<Deferred<string>>();
    expectTypeOf(stub.sum).parameter(0).toEqualTypeOf<{ a: number; b: number } | { readonly a: number | IdRef; readonly b: number | IdRef }>();
    expectTypeOf(stub.sum({ a: 1, b: 2 })).toEqualTypeOf<Deferred<number>>();
    expectTypeOf(stub.version()).toEqualTypeOf<Deferred<"0.1.0">>();
    // @ts-expect-error a GET member with a string key takes a string
    stub.hello(1);
    // @ts-expect-error params are typed
    stub.sum({ a: 1 });
  });
});

describe.each(EXECUTORS)("libraries on $name", (factory) => {
  const create = executorsFor(factory, afterAll);
  let ex: Executor;

  it("installs with one call, serves typed calls, and forwards to a declared dependency", async () => {
    ex = await create();
    await installLibrary(ex, src);
    await installLibrary(ex, src); // the same definition again: a no-op
    await installLibrary(ex, alias);
    expect(await stub.hello("World").run(ex)).toBe("Hello, World!");
    expect(await stub.sum({ a: 2, b: 40 }).run(ex)).toBe(42);
    const a = alias.stub();
    expect(await a.ping().run(ex)).toBe("0.1.0");
    expect(await a.greet("x").run(ex)).toBe("Hello, alias!");
    expect(await ex.request({ verb: "get", path: alias.id })).toEqual({ dependencies: [src.id], id: alias.id, version: "0.1.0" });
    // Other content under an installed version.
    const changed = defineLibrary({ publisher: "example-devco", name: "source", version: "0.1.0", routes: { version: route.value("other") } });
    await expect(installLibrary(ex, changed)).rejects.toBeInstanceOf(ConflictError);
  });

  it("refuses a call on a library the caller does not declare, however the link is made", async () => {
    // Installed by hand: the manifest declares nothing, its routes call the source library anyway.
    const sneaky = {
      schema: { id: "/lib/acme/sneaky/1.0.0", version: "1.0.0", dependencies: [] },
      routes: [
        { path: "/direct", op: { method: "GET", path: "/lib/example-devco/source/0.1.0/version" } },
        {
          path: "/computed",
          opdef: {
            "/state/scalar/op/get": [
              "k",
              [
                ["p", "/lib/example-devco/{{x}}/0.1.0/version"],
                ["l", { "$p/render": { x: "source" } }],
                ["_r", { $l: [null] }],
              ],
            ],
          },
        },
      ],
    };
    await ex.request({ verb: "put", path: "/lib", body: sneaky as never });
    for (const member of ["direct", "computed"]) {
      const e = await ex.execute({ "/state/scalar/op/post": [["_r", { [`/lib/acme/sneaky/1.0.0/${member}`]: [null] }]] }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ForbiddenError);
      expect((e as Error).message).toMatch(/library \/lib\/acme\/sneaky\/1.0.0 may not call \/lib\/example-devco\/source\/0.1.0: it is not among its declared dependencies \(none\)/);
    }
    // A caller outside any library may call it directly.
    expect(await stub.version().run(ex)).toBe("0.1.0");
  });

  it("rejects malformed manifests with typed errors", async () => {
    const bad: [unknown, RegExp | typeof NotImplementedError][] = [
      [{ schema: { id: "/lib/a/b/1.0.0", version: "2.0.0" }, routes: [] }, /is not the last segment/],
      [{ schema: { id: "/lib/a/b/1.0.0", version: "1.0.0", dependencies: ["/state/x"] }, routes: [] }, /dependency of/],
      [{ schema: { id: "/lib/a/b/1.0.0", version: "1.0.0", dependencies: ["/lib/a/b/1.0.0"] }, routes: [] }, /cannot depend on itself/],
      [{ schema: { id: "/lib/a/b/1.0.0", version: "1.0.0" }, routes: [{ path: "/x", value: 1, opdef: {} }] }, /exactly one of/],
      [{ schema: { id: "/lib/a/b/1.0.0", version: "1.0.0" }, routes: [{ path: "/x", value: 1 }, { path: "/x", value: 2 }] }, /listed twice/],
      [{ schema: { id: "/lib/a/b/1.0.0", version: "1.0.0" }, artifacts: [{ path: "/lib/wasm", content_type: "application/wasm", bytes: "" }] }, NotImplementedError],
      [{ schema: { id: "/lib/a/b/1.0.0", version: "1.0.0" }, artifacts: [{ path: "/lib/ir", content_type: "application/tinychain+json", bytes: "!!" }] }, /base64 JSON/],
    ];
    for (const [body, want] of bad) {
      const e = await ex.request({ verb: "put", path: "/lib", body: body as never }).catch((x: unknown) => x);
      if (want instanceof RegExp) {
        expect(e).toBeInstanceOf(BadRequestError);
        expect((e as Error).message).toMatch(want);
      } else expect(e).toBeInstanceOf(want);
    }
  });
});

describe("a durable store", () => {
  it("keeps a library's dependencies across a reopen, and the rule with them", async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { embedded } = await import("../../src/kernel/index.js");
    const dir = await mkdtemp(join(tmpdir(), "tc-lib-deps-"));
    try {
      let ex = embedded({ dataDir: dir });
      await installLibrary(ex, src);
      await installLibrary(ex, alias);
      await ex.close();
      ex = embedded({ dataDir: dir });
      expect(await ex.request({ verb: "get", path: alias.id })).toEqual({ dependencies: [src.id], id: alias.id, version: "0.1.0" });
      expect(await alias.stub().greet("x").run(ex)).toBe("Hello, alias!");
      await installLibrary(ex, alias); // the same manifest: still a no-op after the reopen
      await ex.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
