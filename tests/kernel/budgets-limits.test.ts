/**
 * Each execution limit (PROFILE §2) is configurable with `Kernel.open({ limits })`, stops what it
 * names with a `BudgetExceededError` (400) whose message names the limit, and leaves ops within
 * it alone: string length (`concat`, `render`), tuple size (`concat`, `slice`, tuple steps, table
 * rows read, `for_each` over map keys), bytes allocated (accumulators, the encoded result), and
 * the wall clock in every loop that can run long (`fold` copying big tuples, `for_each`, calls
 * into `/lib`, a core-lowered traversal).
 */
import { afterEach, describe, expect, it } from "vitest";
import { BudgetExceededError, Kernel, embedded, type ExecLimits } from "../../src/kernel/index.js";
import { TcError } from "../../src/errors.js";
import type { Json } from "../../src/ir/types.js";
import type { Graph, UntypedShape } from "../../src/graph/index.js";
import { connect } from "../../src/connect.js";
import { testSchema } from "../graph/support.js";
import { id, post } from "./support/budget-attacks.js";

const WHILE = "/state/scalar/ref/while";
const FOR_EACH = "/state/scalar/ref/for_each";
const SCHEMA: Json = [[[["k", "/state/scalar/value/number/uint/32"]], [["v", "/state/scalar/value/string", 16]]], []];

const kernels: Kernel[] = [];
afterEach(async () => {
  await Promise.all(kernels.splice(0).map((k) => k.close()));
});

async function kernel(limits: Partial<ExecLimits>): Promise<Kernel> {
  const k = await Kernel.open({ limits });
  kernels.push(k);
  return k;
}

/** The budget error `p` fails with (it must fail with one). */
async function exceeded(p: Promise<unknown>): Promise<BudgetExceededError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BudgetExceededError);
    expect((e as TcError).status).toBe(400);
    expect((e as TcError).kind).toBe("bad_request");
    return e as BudgetExceededError;
  }
  throw new Error("expected the op to exceed its budget");
}

/** A tuple of 2^k integers, built by doubling. */
const doubled = (k: number): Json => ({
  [WHILE]: [post(["n", { "$state/len": {} }], ["c", { "$n/lt": { r: 2 ** k } }]), post(["s", { "$state/concat": { r: id("state") } }]), [0]],
});

describe("string length", () => {
  it("concat and render refuse a string past maxStringLength; shorter ones pass", async () => {
    const k = await kernel({ maxStringLength: 100 });
    const a = "a".repeat(50);
    expect(await k.execute(post(["r", { "$a/concat": { r: id("a") } }]), { a })).toBe(a + a);
    const e = await exceeded(k.execute(post(["r", { "$a/concat": { r: "b" } }]), { a: a + a }));
    expect(e.limit).toBe("maxStringLength");
    expect(e.message).toContain("string length limit (maxStringLength = 100)");
    expect(e.message).toContain("concat would make 101 code units");
    const t = "{{a}}-{{a}}";
    expect(await k.execute(post(["r", { "$t/render": { a: id("a") } }]), { t, a: "x".repeat(40) })).toBe(`${"x".repeat(40)}-${"x".repeat(40)}`);
    expect((await exceeded(k.execute(post(["r", { "$t/render": { a: id("a") } }]), { t, a: a }))).limit).toBe("maxStringLength");
  });
});

describe("tuple size", () => {
  it("concat, slice, tuple steps, for_each over map keys and table reads stop at maxTupleLength", async () => {
    const k = await kernel({ maxTupleLength: 10 });
    const five = [1, 2, 3, 4, 5];
    expect(await k.execute(post(["r", { "$a/concat": { r: id("a") } }]), { a: five })).toEqual([...five, ...five]);
    const e = await exceeded(k.execute(post(["r", { "$a/concat": { r: [6] } }]), { a: [...five, ...five] }));
    expect(e.limit).toBe("maxTupleLength");
    expect(e.message).toContain("tuple size limit (maxTupleLength = 10)");
    expect((await exceeded(k.execute(post(["r", Array.from({ length: 11 }, (_, i) => ({ "$x/add": { r: i } }))]), { x: 0 }))).limit).toBe("maxTupleLength");
    const keys = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, i]));
    expect((await exceeded(k.execute(post(["m", { "$x/get": { i: 0 } }], ["r", { [FOR_EACH]: [id("m"), post(["r", id("k")]), "k"] }]), { x: [keys] }))).limit).toBe("maxTupleLength");
    await k.request({ verb: "put", path: "/state/lim/t", key: null, body: { "/state/collection/table": [SCHEMA, Array.from({ length: 11 }, (_, i) => [i, `v${i}`])] } });
    expect((await exceeded(k.execute(post(["r", { "/state/lim/t/rows": [null] }])))).limit).toBe("maxTupleLength");
    expect((await exceeded(k.execute(post(["v", { "/state/lim/t": [null] }], ["r", { "$v/rows": [null] }])))).limit).toBe("maxTupleLength");
    expect(await k.execute(post(["v", { "/state/lim/t": [null] }], ["l", { "$v/limit": [3] }], ["r", { "$l/rows": [null] }]))).toEqual([[0, "v0"], [1, "v1"], [2, "v2"]]);
    // Plain requests are reads of the caller's own table, not ops: no op budget applies.
    expect(await k.request({ verb: "get", path: "/state/lim/t/count", key: null })).toBe(11);
  });
});

describe("bytes allocated", () => {
  it("a growing accumulator and an oversized encoded result stop at maxOpBytes", async () => {
    const k = await kernel({ maxOpBytes: 200_000 });
    // Appending one item at a time: 1,000 tuples of up to 1,000 items (~4 MB copied in all).
    const append = post(["r", { [WHILE]: [post(["n", { "$state/len": {} }], ["c", { "$n/lt": { r: 1000 } }]), post(["s", { "$state/concat": { r: [0] } }]), []] }]);
    const e = await exceeded(k.execute(append));
    expect(e.limit).toBe("maxOpBytes");
    expect(e.message).toContain("memory limit (maxOpBytes = 200000)");
    // A value sharing its parts: 20 small tuples, 2^20 once encoded.
    const shared = post(["r", { [WHILE]: [post(["n", { "$state/get": { i: 0 } }], ["c", { "$n/lt": { r: 20 } }]), post(["n", { "$state/get": { i: 0 } }], ["r", [{ "$n/add": { r: 1 } }, [id("state"), id("state")]]]), [0, 0]] }]);
    expect((await exceeded(k.execute(shared))).limit).toBe("maxOpBytes");
    expect(await k.execute(post(["r", { "$a/concat": { r: id("a") } }]), { a: [1, 2] })).toEqual([1, 2, 1, 2]);
  });
});

describe("bytes allocated by ordinary work", () => {
  it("the default budget fits an accumulator grown one item at a time to 10,000 items, and caps the result's JSON", async () => {
    const k = await kernel({});
    // ~400 MB estimated in all (10,000 tuples of up to 10,000 items): the shape of a core-lowered
    // filter or sort over a few thousand rows, which must not need a raised budget.
    const append = post(["r", { [WHILE]: [post(["n", { "$state/len": {} }], ["c", { "$n/lt": { r: 10_000 } }]), post(["s", { "$state/concat": { r: [0] } }]), []] }], ["n", { "$r/len": {} }]);
    expect(await k.execute(append)).toBe(10_000);
    const small = await kernel({ maxResultBytes: 100_000 });
    const e = await exceeded(small.execute(post(["r", doubled(15)])));
    expect(e.limit).toBe("maxResultBytes");
    expect(e.message).toContain("result size limit (maxResultBytes = 100000)");
  });
});

describe("the size of a table read", () => {
  it("a plain GET of a whole table, and an op returning a view, are refused past maxResultBytes as they are encoded", async () => {
    const k = await kernel({ maxResultBytes: 100_000 });
    const rows = Array.from({ length: 5_000 }, (_, i) => [i, "sixteen-chars-ab"]);
    await k.request({ verb: "put", path: "/state/big/t", key: null, body: { "/state/collection/table": [SCHEMA, rows] } });
    const plain = await exceeded(k.request({ verb: "get", path: "/state/big/t", key: null }));
    expect(plain.limit).toBe("maxResultBytes");
    const viaOp = await exceeded(k.execute(post(["r", { "/state/big/t": [null] }])));
    expect(viaOp.limit).toBe("maxResultBytes");
    // A view within the limit, and a point get, still answer.
    const few = (await k.request({ verb: "get", path: "/state/big/t", key: [["k", [["in", 0], ["ex", 10]]]] })) as Record<string, [Json, Json[]]>;
    expect(few["/state/collection/table"]![1]).toHaveLength(10);
    expect(await k.request({ verb: "get", path: "/state/big/t", key: [7] })).toEqual([7, "sixteen-chars-ab"]);
  });
});

describe("time", () => {
  it("a fold whose steps each copy a big tuple stops near maxMillis (the clock is read as the copying goes)", async () => {
    const k = await kernel({ maxMillis: 50 });
    // 2^20 items; each fold item copies almost all of them (slice), 2,048 items in all.
    const op = post(["big", doubled(20)], ["items", doubled(11)], ["r", { "$items/fold": { item_name: "x", value: 0, op: post(["s", { "$big/slice": { start: 1 } }], ["r", { "$s/len": {} }]) } }]);
    const started = performance.now();
    const e = await exceeded(k.execute(op));
    expect(e.limit).toBe("maxMillis");
    // Generous on a loaded machine: 50 ms of budget, checked after every ~64 KiB copied.
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("for_each and calls into /lib stop at maxMillis", async () => {
    const k = await kernel({ maxMillis: 50 });
    const spin = post(["r", { [WHILE]: [post(["c", true]), post(["s", { "$state/add": { r: 1 } }]), 0] }]);
    await k.request({ verb: "put", path: "/lib", body: { "/lib/acme/spin/0.1.0": { spin } } });
    const op = post(["items", doubled(10)], ["r", { [FOR_EACH]: [id("items"), post(["r", { "/lib/acme/spin/0.1.0/spin": {} }]), "x"] }]);
    expect((await exceeded(k.execute(op))).limit).toBe("maxMillis");
    expect((await exceeded(k.request({ verb: "post", path: "/lib/acme/spin/0.1.0/spin", body: {} }))).limit).toBe("maxMillis");
  });

  it("a core-lowered 2-hop traversal on a big graph stops at maxMillis", async () => {
    const ex = embedded({ limits: { maxMillis: 50 } });
    try {
      const n = 1500;
      const people = Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `p${i}`, age: 30, city: "oslo", boss: null }));
      const knows = people.flatMap((p) => Array.from({ length: 8 }, (_, j) => ({ a: p.id, b: ((p.id * 7 + j * 131) % n) + 1, n: j, since: 2000 })));
      // Loaded in chunks: one insert of every row would itself exceed a 50 ms budget.
      const db = await connect(testSchema, ex);
      await db.sync();
      for (let i = 0; i < people.length; i += 250) await db.insertInto("people").values(people.slice(i, i + 250)).execute();
      for (let i = 0; i < knows.length; i += 250) await db.insertInto("knows").values(knows.slice(i, i + 250)).execute();
      const core = (db.graph as unknown as Graph<UntypedShape>).withLowering("core");
      const e = await exceeded(core.match("people").out("knows").out("knows").count().execute());
      expect(e.limit).toBe("maxMillis");
      // A small traversal still runs.
      expect(await core.match("people", { id: 1 }).out("knows").count().execute()).toBe(8);
    } finally {
      await ex.close();
    }
  }, 60_000);
});
