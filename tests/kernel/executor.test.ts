/**
 * The op executor through the kernel's public API (PROFILE §2): planning, shadowing, lazy cond,
 * after/while/for_each/fold, every built-in, link and view subjects, caching, and the errors.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kernel, BudgetExceededError } from "../../src/kernel/index.js";
import { planStats } from "../../src/kernel/ops/op-planner.js";
import { executorStats } from "../../src/kernel/ops/op-executor.js";
import { TcError } from "../../src/errors.js";
import type { Json } from "../../src/ir/types.js";

const POST = "/state/scalar/op/post";
const COND = "/state/scalar/ref/cond";
const AFTER = "/state/scalar/ref/after";
const WHILE = "/state/scalar/ref/while";
const FOR_EACH = "/state/scalar/ref/for_each";
const SCHEMA: Json = [[[["name", "/state/scalar/value/string", 64]], [["n", "/state/scalar/value/number/int/64"]]], []];

const post = (...steps: [string, Json][]): Json => ({ [POST]: steps });
const id = (name: string): Json => ({ [`$${name}`]: [] });

let kernel: Kernel;

beforeAll(async () => {
  kernel = await Kernel.open();
});
afterAll(async () => {
  await kernel.close();
});

async function run(op: Json, args: Record<string, Json> = {}): Promise<Json> {
  return kernel.execute(op, args);
}

async function failure(op: Json, args: Record<string, Json> = {}, k: Kernel = kernel): Promise<TcError> {
  try {
    await k.execute(op, args);
  } catch (e) {
    expect(e).toBeInstanceOf(TcError);
    return e as TcError;
  }
  throw new Error("expected the op to fail");
}

/** A fresh table `/state/<ns>/t` (name → n). */
async function freshTable(ns: string, rows: Json[] = []): Promise<string> {
  await kernel.request({ verb: "put", path: `/state/${ns}/t`, key: null, body: { "/state/collection/table": [SCHEMA, rows] } });
  return `/state/${ns}/t`;
}

describe("planning", () => {
  it("returns the last step; listed order does not matter", async () => {
    expect(await run(post(["b", { "$a/add": { r: 1 } }], ["a", 1], ["result", id("b")]))).toBe(2);
  });

  it("a repeated step name is refused by the decoder (400)", async () => {
    expect((await failure(post(["a", 1], ["a", 5], ["result", { "$a/mul": { r: 2 } }]))).kind).toBe("bad_request");
  });

  it("never runs a dead step: an unreferenced PUT writes nothing", async () => {
    const t = await freshTable("dead");
    const result = await run(post(["write", { [t]: [["x"], [1]] }], ["result", { [`${t}/count`]: [null] }]));
    expect(result).toBe(0);
    expect(await kernel.request({ verb: "get", path: `${t}/count`, key: null })).toBe(0);
  });

  it("does not fail on a dead step that references a missing id or misuses a class link", async () => {
    expect(await run(post(["broken", id("nowhere")], ["result", 7]))).toBe(7);
    expect(await run(post(["broken", { "/state/collection/table": [null] }], ["result", 7]))).toBe(7);
    expect((await failure(post(["r", { "/state/collection/table": [null] }]))).kind).toBe("bad_request");
  });

  it("chains side effects with after", async () => {
    const t = await freshTable("after");
    const op = post(["w", { [t]: [["x"], [3]] }], ["result", { [AFTER]: [id("w"), { [t]: [["x"]] }] }]);
    expect(await run(op)).toEqual(["x", 3]);
  });

  it("a cycle is 400, even through three steps", async () => {
    expect((await failure(post(["a", id("a")]))).kind).toBe("bad_request");
    const e = await failure(post(["a", id("c")], ["b", id("a")], ["c", id("b")], ["r", id("c")]));
    expect(e.kind).toBe("bad_request");
    expect(e.message).toMatch(/circular/);
  });

  it("a missing id is 404 naming the id", async () => {
    const e = await failure(post(["r", { "$ghost/add": { r: 1 } }]));
    expect(e.kind).toBe("not_found");
    expect(e.message).toContain("$ghost");
  });

  it("an empty POST form is 404 (no result step)", async () => {
    expect((await failure({ [POST]: [] })).kind).toBe("not_found");
  });
});

describe("parameters", () => {
  it("a parameter shadows a step of the same name, and that step's deps do not run", async () => {
    const op = post(["x", id("missing")], ["r", { "$x/add": { r: 1 } }]);
    expect(await run(op, { x: 41 })).toBe(42);
  });

  it("a parameter shadows the result step itself", async () => {
    expect(await run(post(["r", id("boom")]), { r: "given" })).toBe("given");
  });

  it("binds a GET OpDef's key and discards PUT results", async () => {
    const get: Json = { "/state/scalar/op/get": ["k", [["r", { "$k/mul": { r: 3 } }]]] };
    expect(await run(get, { k: 5 })).toBe(15);
    const t = await freshTable("putop");
    const put: Json = { "/state/scalar/op/put": ["k", "v", [["r", { [t]: [id("k"), id("v")] }]]] };
    expect(await run(put, { k: ["a"], v: [9] })).toBeNull();
    expect(await kernel.request({ verb: "get", path: t, key: ["a"] })).toEqual(["a", 9]);
  });

  it("arguments are data: a reference in an argument is refused before anything runs", async () => {
    const e = await failure(post(["r", id("x")]), { x: { $y: [] } });
    expect(e.kind).toBe("bad_request");
  });

  it("argument names must be Ids", async () => {
    expect((await failure(post(["r", 1]), { "a b": 1 })).kind).toBe("bad_request");
  });

  it("malformed op JSON is 400", async () => {
    expect((await failure({ "/state/scalar/op/post": "nope" })).kind).toBe("bad_request");
    expect((await failure(42)).kind).toBe("bad_request");
  });
});

describe("cond", () => {
  const branches = (flag: Json): Json =>
    post(
      ["flag", flag],
      ["base", 10],
      [
        "result",
        {
          [COND]: [
            id("flag"),
            post(["r", { "$base/add": { r: 1 } }]),
            post(["bad", id("never_defined")], ["r", { "$bad/add": { r: 1 } }]),
          ],
        },
      ],
    );

  it("runs only the selected OpDef branch, as a closure over outer steps", async () => {
    expect(await run(branches(true))).toBe(11);
  });

  it("the failing branch fails only when selected", async () => {
    expect((await failure(branches(false))).kind).toBe("not_found");
  });

  it("numbers are conditions (non-zero = true); literal branches are returned as is", async () => {
    const op = (c: Json): Json => post(["c", c], ["r", { [COND]: [id("c"), "yes", ["no"]] }]);
    expect(await run(op(2))).toBe("yes");
    expect(await run(op(0))).toEqual(["no"]);
  });

  it("a condition that is none or a string is 400", async () => {
    const op = (c: Json): Json => post(["c", c], ["r", { [COND]: [id("c"), 1, 0] }]);
    expect((await failure(op(null))).kind).toBe("bad_request");
    expect((await failure(op("true"))).kind).toBe("bad_request");
  });

  it("the unselected branch writes nothing", async () => {
    const t = await freshTable("condw");
    const op = post(["f", false], ["r", { [COND]: [id("f"), post(["w", { [t]: [["x"], [1]] }], ["r", id("w")]), "skipped"] }]);
    expect(await run(op)).toBe("skipped");
    expect(await kernel.request({ verb: "get", path: `${t}/count`, key: null })).toBe(0);
  });
});

describe("loops", () => {
  it("while passes the state as `state` until the condition is false", async () => {
    const op = post(
      ["result", { [WHILE]: [post(["c", { "$state/lt": { r: 10 } }]), post(["s", { "$state/add": { r: 3 } }]), 1] }],
    );
    expect(await run(op)).toBe(10);
  });

  it("while stops at its iteration limit with a typed error", async () => {
    const k = await Kernel.open({ limits: { maxWhileIterations: 50 } });
    try {
      const forever = post(["result", { [WHILE]: [post(["c", true]), post(["s", id("state")]), 0] }]);
      const e = await failure(forever, {}, k);
      expect(e).toBeInstanceOf(BudgetExceededError);
      expect(e.kind).toBe("bad_request");
      expect(e.message).toContain("maxWhileIterations");
    } finally {
      await k.close();
    }
  });

  it("the step budget stops a long for_each", async () => {
    const k = await Kernel.open({ limits: { maxSteps: 100 } });
    try {
      const op = post(["xs", Array.from({ length: 200 }, (_, i) => i)], ["r", { [FOR_EACH]: [id("xs"), post(["r", id("i")]), "i"] }]);
      const e = await failure(op, {}, k);
      expect(e).toBeInstanceOf(BudgetExceededError);
      expect(e.message).toContain("maxSteps");
    } finally {
      await k.close();
    }
  });

  it("the time budget stops a long loop", async () => {
    const k = await Kernel.open({ limits: { maxMillis: 50 } });
    try {
      const forever = post(["result", { [WHILE]: [post(["c", true]), post(["s", { "$state/add": { r: 1 } }]), 0] }]);
      const started = Date.now();
      const e = await failure(forever, {}, k);
      expect(e).toBeInstanceOf(BudgetExceededError);
      expect(e.message).toContain("maxMillis");
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await k.close();
    }
  });

  it("for_each returns the last result, iterates map keys sorted, and null when empty", async () => {
    const each = (items: Json): Json => post(["xs", items], ["r", { [FOR_EACH]: [id("xs"), post(["r", { "$i/concat": { r: "!" } }]), "i"] }]);
    expect(await run(each(["a", "b"]))).toBe("b!");
    expect(await run(each({ zeta: 1, alpha: 2 }))).toBe("zeta!");
    expect(await run(each([]))).toBeNull();
    expect((await failure(each(5))).kind).toBe("bad_request");
  });

  it("for_each writes through a captured table link", async () => {
    const t = await freshTable("each");
    const op = post(
      ["t", { [t]: [] }],
      ["rows", [["a", 1], ["b", 2], ["c", 3]]],
      [
        "w",
        {
          [FOR_EACH]: [
            id("rows"),
            post(
              ["k", { "$row/slice": { stop: 1 } }],
              ["v", { "$row/slice": { start: 1 } }],
              ["r", { "$t/insert": [id("k"), id("v")] }],
            ),
            "row",
          ],
        },
      ],
      ["result", { [AFTER]: [id("w"), { "$t/count": [null] }] }],
    );
    expect(await run(op)).toBe(3);
  });

  it("fold with a map accumulator spreads it into params", async () => {
    const op = post(
      ["xs", [1, 2, 3, 4]],
      [
        "r",
        {
          "$xs/fold": {
            item_name: "x",
            value: { sum: 0, count: 0 },
            op: post(["s", { "$sum/add": { r: id("x") } }], ["c", { "$count/add": { r: 1 } }], ["r", { sum: id("s"), count: id("c") }]),
          },
        },
      ],
    );
    expect(await run(op)).toEqual({ count: 4, sum: 10 });
  });
});

describe("closure frames", () => {
  /** `$xs/fold` (each op below defines `xs`). */
  const fold = (itemName: string, value: Json, op: Json): Json => ({ "$xs/fold": { item_name: itemName, value, op } });

  it("a closure captures the caller's steps and params, and a name it binds wins over a captured one", async () => {
    const op = post(
      ["base", 100],
      ["xs", [1, 2, 3]],
      // `base` is captured; `x` is bound per item and also a param of the caller, which it hides.
      ["r", fold("x", 0, post(["t", { "$x/add": { r: id("base") } }], ["r", { "$state/add": { r: id("t") } }]))],
    );
    expect(await run(op, { x: 1000 })).toBe(306);
  });

  it("an item name equal to `state` binds the item (the later binding wins)", async () => {
    const op = post(["xs", [1, 2, 3]], ["r", fold("state", 0, post(["r", { "$state/mul": { r: 10 } }]))]);
    expect(await run(op)).toBe(30);
  });

  it("a closure's bound name shadows its own step, whose deps then do not run", async () => {
    const op = post(["xs", [1, 2]], ["r", fold("x", 0, post(["x", id("missing")], ["r", { "$state/add": { r: id("x") } }]))]);
    expect(await run(op)).toBe(3);
  });

  it("closures nest: a for_each inside a fold inside a while sees every enclosing frame", async () => {
    const t = await freshTable("frames");
    const inner = post(["k", { "$s/concat": { r: id("x") } }], ["r", { [t]: [[id("k")], [id("n")]] }]);
    const step = post(
      ["n", { "$state/add": { r: 1 } }],
      ["s", "w"],
      ["xs", ["a", "b"]],
      ["each", { "$xs/fold": { item_name: "x", value: null, op: post(["r", { [FOR_EACH]: [[1], inner, "unused"] }]) } }],
      ["r", { [AFTER]: [id("each"), id("n")] }],
    );
    const op = post(["result", { [WHILE]: [post(["c", { "$state/lt": { r: 2 } }]), step, 0] }]);
    expect(await run(op)).toBe(2);
    expect(await kernel.request({ verb: "get", path: t, key: ["wa"] })).toEqual(["wa", 2]);
    expect(await kernel.request({ verb: "get", path: t, key: ["wb"] })).toEqual(["wb", 2]);
  });

  it("a closure's reference to a name neither bound nor in the caller's frame is a 404 naming it", async () => {
    const e = await failure(post(["xs", [1]], ["r", fold("x", 0, post(["r", id("nowhere")]))]));
    expect(e.kind).toBe("not_found");
    expect(e.message).toContain("$nowhere");
  });

  it("a closure referring to a step of its caller runs that step first (a soft dependency)", async () => {
    // `later` is listed after the fold that reads it; `out`, the last step, is the result.
    const op = post(["xs", [1, 2]], ["r", fold("x", 0, post(["r", { "$state/add": { r: id("later") } }]))], ["later", 5], ["out", id("r")]);
    expect(await run(op)).toBe(10);
  });

  it("many bound names: a later binding of a name still wins, and binding stays linear (200k arguments)", async () => {
    // Twenty accumulator entries bound over a captured `k15`.
    const entries: Record<string, Json> = {};
    for (let i = 0; i < 20; i++) entries[`k${i}`] = i;
    const op = post(["k15", 100], ["xs", [1]], ["r", fold("x", entries, post(["r", { "$k15/add": { r: id("x") } }]))]);
    expect(await run(op)).toBe(16); // the accumulator's k15 (15), not the captured step (100), plus x
    const args: Record<string, Json> = {};
    for (let i = 0; i < 200_000; i++) args[`p${i}`] = i;
    const started = Date.now();
    expect(await run(post(["r", { "$p199999/add": { r: 1 } }]), args)).toBe(200_000);
    // A duplicate check scanning the names bound so far would take tens of seconds here.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("an error inside a closure leaves no binding behind for the next call", async () => {
    const bad = post(["xs", [1]], ["r", fold("x", 0, post(["r", { "$x/div": { r: 0 } }]))]);
    expect((await failure(bad)).kind).toBe("bad_request");
    // The same shapes again, with different values: nothing of the failed call is bound.
    const good = post(["xs", [5]], ["r", fold("x", 0, post(["r", { "$x/add": { r: id("state") } }]))]);
    expect(await run(good)).toBe(5);
    const k = await Kernel.open({ limits: { maxDepth: 3 } });
    try {
      const deep = post(["xs", [1]], ["r", fold("a", 0, post(["r", fold("b", 0, post(["r", fold("c", 0, post(["r", 1]))]))]))]);
      expect((await failure(deep, {}, k)).message).toContain("maxDepth");
      // A step named as the refused closure's item: a binding left behind would shadow it.
      const after = post(["xs", [5]], ["c", 7], ["r", fold("x", 0, post(["r", { "$x/add": { r: id("c") } }]))]);
      expect(await k.execute(after, {})).toBe(12);
    } finally {
      await k.close();
    }
  });
});

describe("built-ins", () => {
  const call = (subject: Json, method: string, params: Json = {}): Json =>
    post(["x", subject], ["r", { [`$x/${method}`]: params }]);

  it.each([
    [2, "add", { r: 3 }, 5],
    [2, "sub", { r: 3 }, -1],
    [2, "mul", { r: 3 }, 6],
    [3, "div", { r: 2 }, 1.5],
    [7, "mod", { r: 3 }, 1],
    [1, "eq", { r: 1 }, true],
    [[1, "a"], "eq", { r: [1, "a"] }, true],
    [1, "ne", { r: 2 }, true],
    [3, "gt", { r: 2 }, true],
    [3, "lt", { r: 2 }, false],
    [2, "ge", { r: 2 }, true],
    [1, "le", { r: 2 }, true],
    [true, "and", { r: 0 }, false],
    [false, "or", { r: 1 }, true],
    [true, "xor", { r: true }, false],
    [0, "not", {}, true],
    [[1, 2, 3], "len", {}, 3],
    [{ a: 1, b: 2 }, "len", {}, 2],
    [[1, 2, 3, 4], "slice", { start: 1, stop: -1 }, [2, 3]],
    [[1, 2, 3], "slice", { start: -10, stop: 10 }, [1, 2, 3]],
    [[1, 2, 3], "head", {}, 1],
    [[1, 2, 3], "tail", {}, [2, 3]],
    ["ab", "concat", { r: "cd" }, "abcd"],
    [[1], "concat", { r: [2] }, [1, 2]],
    [Array.from({ length: 40 }, (_, i) => i), "concat", { r: [40, [41]] }, [...Array.from({ length: 41 }, (_, i) => i), [41]]],
    ["{{a}}-{{b}}-{{c}}", "render", { a: "x", b: 2 }, "x-2-{{c}}"],
    [[10, 20], "get", { i: -1 }, 20],
    [{ k: "v" }, "get", { i: "k" }, "v"],
  ] as [Json, string, Json, Json][])("%j %s %j = %j", async (subject, method, params, expected) => {
    expect(await run(call(subject, method, params))).toEqual(expected);
  });

  it("eq: a link equals a string with the same text", async () => {
    expect(await run(call({ "/state/a/b": [] }, "eq", { r: "/state/a/b" }))).toBe(true);
  });

  it("fold and reduce are the same", async () => {
    const folding = (m: string): Json =>
      call([1, 2, 3], m, { item_name: "i", value: 0, op: post(["r", { "$state/add": { r: id("i") } }]) });
    expect(await run(folding("fold"))).toBe(6);
    expect(await run(folding("reduce"))).toBe(6);
  });

  it.each([
    [1, "pow", { r: 2 }, "not_found"],
    [1, "div", { r: 0 }, "bad_request"],
    [[], "head", {}, "bad_request"],
    [[1], "get", { i: 5 }, "bad_request"],
    ["a", "add", { r: 1 }, "bad_request"],
    [1, "add", {}, "bad_request"],
    [1, "len", {}, "bad_request"],
    [9007199254740991, "add", { r: 1 }, "bad_request"],
    [4503599627370496, "mul", { r: 4 }, "bad_request"],
  ] as [Json, string, Json, string][])("%j %s %j fails with %s", async (subject, method, params, kind) => {
    const e = await failure(call(subject, method, params));
    expect(e.kind).toBe(kind);
    if (kind === "not_found") expect(e.message).toContain(method);
  });

  it("a GET on a built-in name is 404 (built-ins are POST)", async () => {
    const e = await failure(post(["x", 1], ["r", { "$x/gt": [0] }]));
    expect(e.kind).toBe("not_found");
    expect(e.message).toContain("gt");
  });
});

describe("subjects", () => {
  it("a link value in scope forwards `$t/route` to the link", async () => {
    const t = await freshTable("fwd", [["a", 1], ["b", 2]]);
    expect(await run(post(["t", { [t]: [] }], ["r", { "$t/count": [null] }]))).toBe(2);
    expect(await run(post(["t", t], ["r", { "$t": [["b"]] }]))).toEqual(["b", 2]);
  });

  it("absolute http links are 404 (no egress)", async () => {
    const e = await failure(post(["r", { "/state/scalar/ref/op/get": ["http://127.0.0.1:1/lib/a/b/1.0.0/x", null] }]));
    expect(e.kind).toBe("not_found");
    expect(e.message).toMatch(/egress/);
  });

  it("unknown top-level directories, /class and /service are 404", async () => {
    expect((await failure(post(["r", { "/nope/x": [null] }]))).kind).toBe("not_found");
    const e = await failure(post(["r", { "/class/a/b/1.0.0": [null] }]));
    expect(e.kind).toBe("not_found");
    expect(e.message).toMatch(/serves no \/class components/);
    expect((await failure(post(["r", { "/service/a/b/c/1.0.0/x": {} }]))).kind).toBe("not_found");
  });

  it("a missing table is 404", async () => {
    expect((await failure(post(["r", { "/state/none/here": [null] }]))).kind).toBe("not_found");
  });
});

describe("caching", () => {
  it("executing the same op again neither re-decodes nor re-plans it", async () => {
    const k = await Kernel.open();
    try {
      const op = post(["a", 1], ["r", { "$a/add": { r: id("b") } }]);
      expect(await k.execute(op, { b: 1 })).toBe(2);
      const plans = planStats.plans;
      const schedules = planStats.schedules;
      const compiled = executorStats.compiledSteps;
      expect(k.stats.decodes).toBe(1);
      for (let i = 0; i < 5; i++) expect(await k.execute(op, { b: i })).toBe(1 + i);
      expect(k.stats.decodes).toBe(1);
      expect(k.stats.identityHits).toBe(5);
      // a structurally equal copy is found by content hash
      expect(await k.execute(JSON.parse(JSON.stringify(op)) as Json, { b: 2 })).toBe(3);
      expect(k.stats.decodes).toBe(1);
      expect(k.stats.hashHits).toBe(1);
      expect(planStats.plans).toBe(plans);
      expect(planStats.schedules).toBe(schedules);
      expect(executorStats.compiledSteps).toBe(compiled);
    } finally {
      await k.close();
    }
  });
});

describe("properties", () => {
  /** A random DAG of steps s0..sn: literals, or `$sj/<op>` of two earlier steps. */
  const dag = fc
    .array(
      fc.record({
        literal: fc.integer({ min: -1000, max: 1000 }),
        kind: fc.constantFrom("lit", "add", "sub", "mul"),
        a: fc.nat(),
        b: fc.nat(),
      }),
      { minLength: 1, maxLength: 25 },
    )
    .map((specs) =>
      specs.map((spec, i) =>
        i === 0 || spec.kind === "lit"
          ? { kind: "lit" as const, literal: spec.literal }
          : { kind: spec.kind as "add" | "sub" | "mul", a: spec.a % i, b: spec.b % i },
      ),
    );

  it("a form is a dataflow graph: any listed order of the non-result steps gives the same result", async () => {
    await fc.assert(
      fc.asyncProperty(dag, fc.integer(), async (steps, seed) => {
        const values: number[] = [];
        const json: [string, Json][] = steps.map((st, i) => {
          if (st.kind === "lit") {
            values.push(st.literal);
            return [`s${i}`, st.literal];
          }
          const x = values[st.a]!;
          const y = values[st.b]!;
          values.push(st.kind === "add" ? x + y : st.kind === "sub" ? x - y : x * y);
          return [`s${i}`, { [`$s${st.a}/${st.kind}`]: { r: id(`s${st.b}`) } }];
        });
        const last = json.pop()!;
        // shuffle the other steps deterministically from the seed
        const shuffled = json
          .map((step, i) => ({ step, k: Math.imul(i + 1, seed | 1) >>> 7 }))
          .sort((p, q) => p.k - q.k)
          .map((p) => p.step);
        const expected = values[values.length - 1]!;
        // Every step must stay exact: the kernel refuses an intermediate result past ±(2^53 − 1)
        // with a 400 even when the last step would land back in range.
        fc.pre(values.every((v) => Number.isSafeInteger(v)));
        expect(await run(post(...json, last))).toBe(expected);
        expect(await run(post(...shuffled, last))).toBe(expected);
      }),
      { numRuns: 60 },
    );
  });

  it("data arguments round-trip unchanged through an identity op", async () => {
    const data = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        fc.string(),
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/), tie("value"), { maxKeys: 4 }),
      ),
    })).value;
    await fc.assert(
      fc.asyncProperty(data, async (value) => {
        expect(await run(post(["r", id("x")]), { x: value as Json })).toEqual(value);
      }),
      { numRuns: 100 },
    );
  });
});

describe("op cache and caller mutation", () => {
  it("freezes an executed op so a later mutation cannot leave a stale cached plan", async () => {
    const { embedded } = await import("../../src/kernel/index.js");
    const ex = embedded();
    try {
      const op = { "/state/scalar/op/post": [["a", 1], ["b", { "$a/add": { r: 1 } }]] } as const;
      const json = JSON.parse(JSON.stringify(op));
      expect(await ex.execute(json, {})).toBe(2);
      expect(Object.isFrozen(json)).toBe(true);
      expect(() => {
        json["/state/scalar/op/post"][0][1] = 41;
      }).toThrow(TypeError);
      expect(await ex.execute(json, {})).toBe(2);
    } finally {
      await ex.close();
    }
  });
});
