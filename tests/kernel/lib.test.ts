/**
 * `/lib` (PROFILE §5): install, re-install the same content (no-op), different content (409),
 * call members by verb, listings, staging in transactions, and persistence on the durable store.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/index.js";
import { TcError } from "../../src/errors.js";
import { opHash } from "../../src/ir/index.js";
import type { Json } from "../../src/ir/types.js";

const SCHEMA: Json = [[[["name", "/state/scalar/value/string", 16]], [["n", "/state/scalar/value/number/int/64"]]], []];
const T = "/state/libt/t";
const LIB = "/lib/acme/greeter/0.1.0";

const DEFINITION: Json = {
  [LIB]: {
    hello: {
      "/state/scalar/op/get": ["name", [["_tmp0", "Hello, {{name}}!"], ["result", { "$_tmp0/render": { name: { $name: [] } } }]]],
    },
    sum: { "/state/scalar/op/post": [["result", { "$a/add": { r: { $b: [] } } }]] },
    store: { "/state/scalar/op/put": ["key", "value", [["w", { [T]: [{ $key: [] }, { $value: [] }] }]]] },
    forget: { "/state/scalar/op/delete": ["key", [["d", { "/state/scalar/ref/op/delete": [T, { $key: [] }] }]]] },
    motto: ["be", "kind"],
    ping: { method: "GET", path: "/healthz" },
  },
};

const kernels: Kernel[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(kernels.splice(0).map((k) => k.close()));
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function kernel(dataDir?: string): Promise<Kernel> {
  const k = await Kernel.open(dataDir === undefined ? {} : { dataDir });
  kernels.push(k);
  return k;
}

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TcError);
    return (e as TcError).kind;
  }
  return "ok";
}

async function installed(): Promise<Kernel> {
  const k = await kernel();
  await k.request({ verb: "put", path: T, key: null, body: { "/state/collection/table": [SCHEMA, []] } });
  expect(await k.request({ verb: "put", path: "/lib", body: DEFINITION })).toBeNull();
  return k;
}

describe("/lib install", () => {
  it("re-installing the same content is a no-op; different content is 409", async () => {
    const k = await installed();
    expect(await k.request({ verb: "put", path: "/lib", body: JSON.parse(JSON.stringify(DEFINITION)) as Json })).toBeNull();
    const changed = { [LIB]: { motto: ["be", "brave"] } };
    expect(await kindOf(k.request({ verb: "put", path: "/lib", body: changed }))).toBe("conflict");
    expect(await k.request({ verb: "get", path: `${LIB}/motto` })).toEqual(["be", "kind"]);
  });

  it("refuses malformed definitions with 400", async () => {
    const k = await kernel();
    for (const body of [
      null,
      [],
      { "/lib/acme/x": {} },
      { "/lib/acme/x/1.0.0": 5 },
      { "/lib/acme/x/1.0.0": {}, "/lib/acme/y/1.0.0": {} },
      { "/lib/acme/x/not-semver": {} },
      { "/lib/acme/x/1.0.0": { bad: { "/state/scalar/op/post": "x" } } },
      { "/lib/acme/x/1.0.0": { ping: { method: "POST", path: "/healthz" } } },
    ] as Json[]) {
      expect(await kindOf(k.request({ verb: "put", path: "/lib", body }))).toBe("bad_request");
    }
  });

  it("an install inside a rolled-back session is gone; a committed one stays", async () => {
    const k = await kernel();
    const s = await k.beginSession();
    await k.request({ verb: "put", path: "/lib", body: DEFINITION }, s);
    expect(await k.request({ verb: "get", path: `${LIB}/motto` }, s)).toEqual(["be", "kind"]);
    await k.rollbackSession(s);
    expect(await kindOf(k.request({ verb: "get", path: `${LIB}/motto` }))).toBe("not_found");
  });

  it("installed libraries survive a reopen of the durable store", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tc-orm-lib-"));
    dirs.push(dir);
    const k = await kernel(dir);
    await k.request({ verb: "put", path: "/lib", body: DEFINITION });
    await k.close();
    const again = await kernel(dir);
    expect(await again.request({ verb: "get", path: `${LIB}/hello`, key: "again" })).toBe("Hello, again!");
    expect(await kindOf(again.request({ verb: "put", path: "/lib", body: { [LIB]: { motto: 1 } } }))).toBe("conflict");
  });
});

describe("/lib members", () => {
  it("calls each member with its verb", async () => {
    const k = await installed();
    expect(await k.request({ verb: "get", path: `${LIB}/hello`, key: "World" })).toBe("Hello, World!");
    expect(await k.request({ verb: "post", path: `${LIB}/sum`, body: { a: 2, b: 3 } })).toBe(5);
    expect(await k.request({ verb: "put", path: `${LIB}/store`, key: ["x"], body: [7] })).toBeNull();
    expect(await k.request({ verb: "get", path: T, key: ["x"] })).toEqual(["x", 7]);
    expect(await k.request({ verb: "delete", path: `${LIB}/forget`, key: ["x"] })).toBeNull();
    expect(await k.request({ verb: "get", path: `${T}/count`, key: null })).toBe(0);
    expect(await k.request({ verb: "get", path: `${LIB}/motto` })).toEqual(["be", "kind"]);
    expect(await k.request({ verb: "get", path: `${LIB}/ping` })).toEqual({ status: "ok" });
  });

  it("wrong verb 405, unknown member or library 404", async () => {
    const k = await installed();
    expect(await kindOf(k.request({ verb: "post", path: `${LIB}/hello`, body: {} }))).toBe("method_not_allowed");
    expect(await kindOf(k.request({ verb: "put", path: `${LIB}/motto`, key: null, body: 1 }))).toBe("method_not_allowed");
    expect(await kindOf(k.request({ verb: "get", path: `${LIB}/nobody` }))).toBe("not_found");
    expect(await kindOf(k.request({ verb: "get", path: "/lib/acme/other/1.0.0/hello" }))).toBe("not_found");
    expect(await kindOf(k.request({ verb: "get", path: `${LIB}/hello/extra` }))).toBe("not_found");
  });

  it("ops call members by link", async () => {
    const k = await installed();
    const op: Json = {
      "/state/scalar/op/post": [
        ["greeting", { [`${LIB}/hello`]: [{ $who: [] }] }],
        ["total", { [`${LIB}/sum`]: { a: 1, b: 2 } }],
        ["result", [{ $greeting: [] }, { $total: [] }]],
      ],
    };
    expect(await k.execute(op, { who: "op" })).toEqual(["Hello, op!", 3]);
  });

  it("a prepared query: an op installed under a content-addressed version, then called", async () => {
    const k = await installed();
    const query: Json = { "/state/scalar/op/post": [["result", { "$x/mul": { r: 2 } }]] };
    const version = `0.0.0-q${opHash(query).slice(0, 16)}`;
    const path = `/lib/tinychain-orm/q/${version}`;
    await k.request({ verb: "put", path: "/lib", body: { [path]: { run: query } } });
    await k.request({ verb: "put", path: "/lib", body: { [path]: { run: query } } });
    expect(await k.request({ verb: "post", path: `${path}/run`, body: { x: 21 } })).toBe(42);
  });

  it("a member calls a sibling through $self", async () => {
    const k = await kernel();
    const path = "/lib/acme/selfish/1.0.0";
    await k.request({
      verb: "put",
      path: "/lib",
      body: {
        [path]: {
          double: { "/state/scalar/op/post": [["result", { "$x/mul": { r: 2 } }]] },
          quadruple: {
            "/state/scalar/op/post": [
              ["twice", { "$self/double": { x: { $x: [] } } }],
              ["result", { "$self/double": { x: { $twice: [] } } }],
            ],
          },
        },
      },
    });
    expect(await k.request({ verb: "post", path: `${path}/quadruple`, body: { x: 3 } })).toBe(12);
    // outside a library there is no $self
    const e = await k.execute({ "/state/scalar/op/post": [["r", { "$self/double": { x: 1 } }]] }).catch((err: unknown) => err);
    expect((e as TcError).kind).toBe("not_found");
  });

  it("a member that calls itself forever stops at the nesting limit (400)", async () => {
    const k = await kernel();
    const path = "/lib/acme/rec/1.0.0";
    await k.request({
      verb: "put",
      path: "/lib",
      body: { [path]: { loop: { "/state/scalar/op/post": [["result", { [`${path}/loop`]: {} }]] } } },
    });
    const e = await k.request({ verb: "post", path: `${path}/loop`, body: {} }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(TcError);
    expect((e as TcError).kind).toBe("bad_request");
    expect((e as TcError).message).toContain("maxDepth");
  });

  it("lists libraries and describes a version", async () => {
    const k = await installed();
    expect(await k.request({ verb: "get", path: "/lib" })).toEqual({ acme: true });
    expect(await k.request({ verb: "get", path: LIB })).toEqual({ dependencies: [], id: LIB, version: "0.1.0" });
  });
});
