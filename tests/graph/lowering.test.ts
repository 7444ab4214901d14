/**
 * The `traverse` extension and its core lowering (core IR forms only) give identical results —
 * and the reference's — for every result kind (distinct and trail rows, counts, paths,
 * return/as, orderBy, shortestPath) on random graphs, on every executor, and touch the same rows:
 * both complete within the same smallest visit budget and fail one below it with `VisitBudgetError`.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";
import { connect } from "../../src/connect.js";
import { NotImplementedError } from "../../src/errors.js";
import { VisitBudgetError, type Graph, type UntypedShape } from "../../src/graph/index.js";
import { buildSpec, CITIES, graphArb, loadGraph, norm, reference, referenceShortest, smallestBudget, specArb, type GraphData, type HopDir } from "./support.js";


/** The error `promise` fails with (or undefined). */
function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

/**
 * Asserts that the core lowering touches exactly the rows the extension touches: it completes
 * (with the extension's result) within the extension's smallest budget, and fails one below it.
 */
async function expectSameBudget(ext: (budget: number) => Promise<unknown>, core: (budget: number) => Promise<unknown>): Promise<void> {
  const budget = await smallestBudget(ext, 8192);
  if (budget === Infinity) {
    // Past the search's largest budget: the core lowering is refused there too.
    const failure = await failureOf(core(8192));
    if (!overOpBudget(failure)) expect(failure).toBeInstanceOf(VisitBudgetError);
    return;
  }
  let lowered: unknown;
  try {
    lowered = await core(budget);
  } catch (e) {
    // The core lowering is quadratic or worse (PROFILE §6.3): on an unlucky random graph it can
    // run past the op's step or time budget, a documented limit rather than a wrong answer.
    if (overOpBudget(e)) return;
    throw e;
  }
  expect(norm(lowered)).toEqual(norm(await ext(budget)));
  if (budget > 1) {
    const failure = await failureOf(core(budget - 1));
    if (overOpBudget(failure)) return;
    expect(failure).toBeInstanceOf(VisitBudgetError);
    expect(failure).toMatchObject({ budget: budget - 1 });
  }
}

/** The op's own step, time or memory budget (not the traversal's visit budget), on any transport. */
function overOpBudget(e: unknown): boolean {
  return e instanceof Error && /op exceeded its (step budget|time budget|memory) limit/.test(e.message);
}

/**
 * Graphs dense enough that results usually hold several rows (so their order is tested): 3–5
 * people, up to three `knows` edges each (parallel edges and self-loops included), bosses, posts.
 */
const denseGraphArb: fc.Arbitrary<GraphData> = fc.integer({ min: 3, max: 5 }).chain((n) => {
  const id = fc.integer({ min: 1, max: n });
  const person = (i: number) =>
    fc.record({
      id: fc.constant(i),
      name: fc.constantFrom("ada", "bob", "cy", "di", "Éve", "zoé"),
      age: fc.option(fc.integer({ min: 10, max: 60 }), { nil: null, freq: 4 }),
      city: fc.constantFrom("paris", "rome", "oslo"),
      boss: fc.option(id, { nil: null, freq: 3 }),
    });
  return fc.record({
    people: fc.tuple(...Array.from({ length: n }, (_, i) => person(i + 1))),
    knows: fc.uniqueArray(fc.record({ a: id, b: id, n: fc.integer({ min: 0, max: 1 }), since: fc.integer({ min: 2000, max: 2003 }) }), {
      minLength: n,
      maxLength: 3 * n,
      selector: (k) => `${k.a}/${k.b}/${k.n}`,
    }),
    posts: fc.uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 12 }), author: id, lang: fc.constantFrom("en", "fr") }), {
      minLength: 1,
      maxLength: n + 2,
      selector: (p) => p.id,
    }),
  });
});
const anyGraph = fc.oneof(graphArb(5), denseGraphArb);

/** Every result kind the builder has: rows, counts, paths, return/as, orderBy, distinct or not. */
const anySpec = specArb({ maxOps: 4 });

describe.each(WITH_CLUSTER)("core lowering on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);
  const memory = factory.name === "embedded memory";

  it("extension and core lowering return the same (and the reference's) results", async () => {
    const executor = await createExecutor();
    await fc.assert(
      fc.asyncProperty(anyGraph, fc.array(anySpec, { minLength: 3, maxLength: 3 }), async (data, specs) => {
        const db = await loadGraph(executor, data);
        const ext = db.graph as unknown as Graph<UntypedShape>;
        const core = ext.withLowering("core");
        for (const spec of specs) {
          const viaExtension = await buildSpec(ext, spec).execute();
          let viaCore: unknown;
          try {
            viaCore = await buildSpec(core, spec).execute();
          } catch (e) {
            if (overOpBudget(e)) continue; // a documented limit of the quadratic lowering, not a wrong answer
            throw e;
          }
          expect(norm(viaCore)).toEqual(norm(viaExtension));
          expect(norm(viaCore)).toEqual(norm(reference(data, spec)));
        }
      }),
      { numRuns: memory ? 150 : 6 },
    );
  });

  it("the core lowering touches exactly the rows the extension touches (the same smallest budget)", async () => {
    const executor = await createExecutor();
    await fc.assert(
      fc.asyncProperty(anyGraph, anySpec, async (data, spec) => {
        const db = await loadGraph(executor, data);
        const ext = db.graph as unknown as Graph<UntypedShape>;
        const core = ext.withLowering("core");
        await expectSameBudget(
          (budget) => buildSpec(ext, spec, budget).execute(),
          (budget) => buildSpec(core, spec, budget).execute(),
        );
      }),
      { numRuns: memory ? 100 : 5 },
    );
  });

  it("shortestPath: the same path (or null) as the extension and the reference, and the same rows touched", async () => {
    const executor = await createExecutor();
    const endpoint = fc.oneof(
      fc.integer({ min: 1, max: 5 }).map((id) => ({ id })),
      fc.constantFrom(...CITIES).map((city) => ({ city })),
    );
    const relation = fc.constantFrom<[HopDir, string]>(["out", "knows"], ["in", "knows"], ["both", "knows"], ["out", "boss"], ["out", "reports"], ["both", "boss"], ["out", "known_by"]);
    await fc.assert(
      fc.asyncProperty(anyGraph, endpoint, endpoint, relation, fc.integer({ min: 0, max: 4 }), async (data, from, to, [direction, rel], maxHops) => {
        const db = await loadGraph(executor, data);
        const ext = db.graph as unknown as Graph<UntypedShape>;
        const core = ext.withLowering("core");
        const shortest = (g: Graph<UntypedShape>, budget?: number) =>
          g.shortestPath(g.match("people", from), g.match("people", to), rel, { maxHops, direction, ...(budget ? { budget } : {}) }).execute();
        const viaCore = await shortest(core);
        expect(norm(viaCore)).toEqual(norm(await shortest(ext)));
        expect(norm(viaCore)).toEqual(norm(referenceShortest(data, from, to, direction, rel, maxHops)));
        await expectSameBudget(
          (budget) => shortest(ext, budget),
          (budget) => shortest(core, budget),
        );
      }),
      { numRuns: memory ? 80 : 5 },
    );
  });

  it("shortestPath: fewest hops, ties to the smallest path, the start itself, null when out of reach", async () => {
    const executor = await createExecutor();
    // 1 → 2 → 4, 1 → 3 → 4 (a tie, broken by the edge keys: via 2), 1 → 5 → 6 → 4 (longer), 7 alone.
    const people = Array.from({ length: 7 }, (_, i) => ({ id: i + 1, name: "p", age: 30, city: i === 6 ? "oslo" : "rome", boss: null }));
    const edges: [number, number, number][] = [[1, 3, 0], [1, 2, 1], [3, 4, 0], [2, 4, 0], [1, 5, 0], [5, 6, 0], [6, 4, 0], [2, 4, 1]];
    const knows = edges.map(([a, b, n]) => ({ a, b, n, since: 2000 }));
    const db = await loadGraph(executor, { people, knows, posts: [] });
    const ext = db.graph as unknown as Graph<UntypedShape>;
    const core = ext.withLowering("core");
    const ids = (path: unknown) => (path === null ? null : (path as { row: { id: number } }[]).map((s) => s.row.id));
    const cases: [Record<string, unknown>, Record<string, unknown>, HopDir, number, number[] | null][] = [
      [{ id: 1 }, { id: 4 }, "out", 8, [1, 2, 4]],
      [{ id: 4 }, { id: 1 }, "in", 8, [4, 2, 1]],
      [{ id: 4 }, { id: 1 }, "out", 8, null],
      [{ id: 1 }, { id: 4 }, "out", 1, null],
      [{ id: 1 }, { id: 4 }, "out", 2, [1, 2, 4]],
      [{ id: 6 }, { id: 3 }, "both", 8, [6, 4, 3]],
      [{ id: 1 }, { id: 1 }, "out", 3, [1]],
      [{ id: 1 }, { city: "oslo" }, "both", 8, null],
      [{ city: "rome" }, { id: 6 }, "out", 8, [6]],
      [{ city: "rome" }, { city: "oslo" }, "both", 8, null],
    ];
    for (const [from, to, direction, maxHops, expected] of cases) {
      for (const g of [ext, core]) {
        expect(ids(await g.shortestPath(g.match("people", from), g.match("people", to), "knows", { maxHops, direction }).execute())).toEqual(expected);
      }
    }
  });

  it("trails on a dense graph: the same rows touched, and the same typed budget failure", async () => {
    const executor = await createExecutor();
    const people = Array.from({ length: 5 }, (_, i) => ({ id: i + 1, name: `p${i}`, age: 20 + i, city: "oslo", boss: ((i + 1) % 5) + 1 }));
    const knows = people.flatMap((a) => people.map((b) => ({ a: a.id, b: b.id, n: 0, since: 2000 + ((a.id + b.id) % 3) })));
    const db = await loadGraph(executor, { people, knows, posts: [] });
    const ext = db.graph as unknown as Graph<UntypedShape>;
    const core = ext.withLowering("core");
    const queries: ((g: Graph<UntypedShape>, budget: number) => Promise<unknown>)[] = [
      (g, b) => g.match("people", { id: 1 }).out("knows", { hops: [1, 3] }).budget(b).count().execute(),
      (g, b) => g.match("people", { id: 1 }).out("knows", { hops: [1, 3] }).limit(7).budget(b).paths().execute(),
      (g, b) => g.match("people").out("knows_by_a").where("since", ">", 2000).out("b").both("boss").offset(3).limit(4).budget(b).execute(),
      (g, b) => g.match("people", { id: 2 }).as("a").out("knows").as("b").out("knows", { hops: [0, 1] }).as("c").limit(9).budget(b).return({ a: "a", c: "c" }).execute(),
      (g, b) => g.match("people", { id: 3 }).out("knows", { hops: [2, 2] }).orderBy("name", "desc").limit(5).budget(b).execute(),
    ];
    for (const query of queries) {
      await expectSameBudget(
        (budget) => query(ext, budget),
        (budget) => query(core, budget),
      );
    }
    const failure = await failureOf(queries[0]!(core, 100));
    expect(failure).toBeInstanceOf(VisitBudgetError);
    expect((failure as VisitBudgetError).message).toContain("visit budget 100");
  });

  it("start rows are read as the extension reads them: a secondary index, a key, a scan, nothing for = null", async () => {
    const executor = await createExecutor();
    const people = Array.from({ length: 6 }, (_, i) => ({ id: i + 1, name: `p${i}`, age: 20 + i, city: i % 2 ? "oslo" : "rome", boss: i === 0 ? null : 7 - i }));
    const posts = [5, 1, 3, 2, 4].map((id) => ({ id, author: id % 2 ? 2 : 3, lang: "en" }));
    const db = await loadGraph(executor, { people, knows: [{ a: 1, b: 2, n: 0, since: 2000 }], posts });
    const ext = db.graph as unknown as Graph<UntypedShape>;
    const core = ext.withLowering("core");
    const queries: ((g: Graph<UntypedShape>, budget: number) => Promise<unknown>)[] = [
      (g, b) => g.match("posts", { author: 2 }).out("author").budget(b).paths().execute(),
      (g, b) => g.match("posts", { author: 3, lang: "en" }).budget(b).execute(),
      (g, b) => g.match("people", { boss: 5 }).out("boss", { hops: [0, 3] }).budget(b).execute(),
      (g, b) => g.match("people", { boss: 5 }).out("boss", { hops: [0, 3] }).distinct().budget(b).count().execute(),
      (g, b) => g.match("people", { city: "oslo", boss: 1 }).budget(b).execute(),
      (g, b) => g.match("people", { boss: null }).out("reports").budget(b).execute(),
      (g, b) => g.match("people", { id: 4, city: "rome" }).out("boss").budget(b).execute(),
      (g, b) => g.shortestPath(g.match("people", { boss: 2 }), g.match("people", { id: 1 }), "boss", { budget: b }).execute(),
    ];
    for (const query of queries) {
      await expectSameBudget(
        (budget) => query(ext, budget),
        (budget) => query(core, budget),
      );
    }
    expect(await queries[5]!(core, 1)).toEqual([]);
  });

  it("variable-length hops on a ring and a chain: both lowerings reach exactly the expected rows", async () => {
    const executor = await createExecutor();
    const N = 7;
    const people = Array.from({ length: N }, (_, i) => ({ id: i + 1, name: "p", age: 20 + i, city: "rome", boss: i + 2 <= N ? i + 2 : null }));
    const knows = people.map((p) => ({ a: p.id, b: (p.id % N) + 1, n: 0, since: 2000 + (p.id % 3) }));
    const db = await loadGraph(executor, { people, knows, posts: [{ id: 1, author: 4, lang: "en" }] });
    const ext = db.graph as unknown as Graph<UntypedShape>;
    const core = ext.withLowering("core");
    const cases: [(g: Graph<UntypedShape>) => { execute(): Promise<unknown> }, unknown][] = [
      [(g) => g.match("people", { id: 1 }).out("knows", { hops: [1, 3] }).distinct().select(["id"]), [{ id: 2 }, { id: 3 }, { id: 4 }]],
      [(g) => g.match("people", { id: 1 }).out("knows", { hops: [2, 4] }).distinct().select(["id"]), [{ id: 3 }, { id: 4 }, { id: 5 }]],
      [(g) => g.match("people", { id: 1 }).out("knows", { hops: [0, 2] }).distinct().count(), 3],
      [(g) => g.match("people", { id: 1 }).both("knows", { hops: [1, 2] }).distinct().select(["id"]), [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 6 }, { id: 7 }]],
      [(g) => g.match("people", { id: 1 }).in("knows", { hops: [3, 3] }).distinct().select(["id"]), [{ id: 5 }]],
      [(g) => g.match("people", { id: 1 }).out("boss", { hops: [1, 8] }).distinct().count(), N - 1],
      [(g) => g.match("people", { id: 6 }).out("reports", { hops: [2, 8] }).where("age", ">=", 21).distinct().select(["id"]), [{ id: 2 }, { id: 3 }, { id: 4 }]],
      [(g) => g.match("people").out("knows_by_a").where("since", "=", 2001).out("b").distinct().select(["id"]), [{ id: 1 }, { id: 2 }, { id: 5 }]],
      [(g) => g.match("people", { id: 3 }).out("knows", { hops: [1, 2] }).out("posts").distinct().select(["lang"]), [{ lang: "en" }]],
      [(g) => g.match("people").out("knows", { hops: [1, 6] }).distinct().offset(2).limit(3).select(["id"]), [{ id: 3 }, { id: 4 }, { id: 5 }]],
    ];
    for (const [build, expected] of cases) {
      expect(await build(ext).execute()).toEqual(expected);
      expect(await build(core).execute()).toEqual(expected);
    }
  });

  it("the core lowering uses no extension route and enforces the budget", async () => {
    const executor = await createExecutor();
    const people = Array.from({ length: 8 }, (_, i) => ({ id: i + 1, name: "p", age: 30, city: "oslo", boss: null }));
    const knows = people.flatMap((a) => people.map((b) => ({ a: a.id, b: b.id, n: 0, since: 2001 })));
    const db = await loadGraph(executor, { people, knows, posts: [] });
    const core = (db.graph as unknown as Graph<UntypedShape>).withLowering("core");
    const t = core.match("people", { id: 1 }).out("knows", { hops: [1, 3] }).distinct();
    expect(JSON.stringify(t.compile().op)).not.toContain("/traverse");
    expect(await t.count().execute()).toBe(8);
    await expect(t.budget(50).count().execute()).rejects.toBeInstanceOf(VisitBudgetError);
    await expect(t.budget(50).count().execute()).rejects.toMatchObject({ budget: 50 });
    const every = [
      core.match("people", { id: 1 }).out("knows").out("knows"),
      core.match("people").out("knows").orderBy("age", "desc"),
      core.match("people").out("knows", { hops: [1, 2] }).paths(),
      core.match("people").as("a").out("knows").as("b").return({ a: "a", b: "b" }),
      core.shortestPath(core.match("people", { id: 1 }), core.match("people", { id: 2 }), "knows"),
    ];
    for (const q of every) expect(JSON.stringify(q.compile().op)).not.toContain("/traverse");
  });
});

describe("core lowering with string keys (ordered by their rank in the table's key order)", () => {
  it("matches the extension for every result kind", async () => {
    const { col, schema, table } = await import("../../src/orm/index.js");
    const topics = table("topics", {
      name: col.string(16).key(),
      parent: col.string(16).nullable().references((): { name: string } => topics, { name: "parent", inverse: "children", enforce: false }),
      kind: col.string(8),
      rank: col.u32(),
    }).index("by_kind_rank", ["kind", "rank"]);
    const related = table("related", {
      src: col.string(16).key().references(() => topics, { enforce: false }),
      dst: col.string(16).key().references(() => topics, { enforce: false }),
      weight: col.u32(),
    }).edge("related", { from: "src", to: "dst", inverse: "related_by" });
    const s = schema({ namespace: "strkeys", tables: { topics, related } });
    const executor = await WITH_CLUSTER[0]!.create();
    const db = await connect(s, executor);
    await db.sync();
    await db.insertInto("topics").values([
      { name: "root", parent: null, kind: "a", rank: 3 },
      { name: "zeta", parent: "root", kind: "b", rank: 1 },
      { name: "alpha", parent: "root", kind: "b", rank: 2 },
      { name: "mid", parent: "alpha", kind: "a", rank: 1 },
      { name: "leaf", parent: "mid", kind: "b", rank: 0 },
      { name: "Éclair", parent: "zeta", kind: "a", rank: 2 },
      { name: "beta", parent: null, kind: "a", rank: 0 },
    ]).execute();
    const edges: [string, string, number][] = [["alpha", "zeta", 1], ["zeta", "alpha", 2], ["leaf", "root", 3], ["mid", "mid", 4], ["root", "alpha", 5], ["alpha", "mid", 6], ["Éclair", "beta", 7]];
    await db.insertInto("related").values(edges.map(([src, dst, weight]) => ({ src, dst, weight }))).execute();
    const ext = db.graph as unknown as Graph<UntypedShape>;
    const core = ext.withLowering("core");
    const q = (g: Graph<UntypedShape>) => g.match("topics", { name: "root" }).out("children", { hops: [1, 3] }).distinct().select(["name"]);
    const expected = [{ name: "alpha" }, { name: "leaf" }, { name: "mid" }, { name: "zeta" }, { name: "Éclair" }];
    expect(await q(ext).execute()).toEqual(expected);
    expect(await q(core).execute()).toEqual(expected);
    const queries: ((g: Graph<UntypedShape>) => Promise<unknown>)[] = [
      (g) => g.match("topics").out("children", { hops: [0, 3] }).execute(),
      (g) => g.match("topics").out("children", { hops: [1, 3] }).offset(1).limit(4).paths().execute(),
      (g) => g.match("topics").both("related", { hops: [1, 3] }).orderBy("parent", "desc").execute(),
      (g) => g.match("topics").both("related", { hops: [1, 2] }).distinct().orderBy("parent").execute(),
      (g) => g.match("topics").as("x").out("related_by_src").as("e").out("dst").as("y").return({ x: "x", e: "e", y: "y" }).execute(),
      (g) => g.match("topics").out("parent", { hops: [1, 2] }).orderBy("name", "desc").count().execute(),
      (g) => g.shortestPath(g.match("topics", { name: "root" }), g.match("topics", { name: "leaf" }), "children").execute(),
      (g) => g.shortestPath(g.match("topics", { name: "leaf" }), g.match("topics", { name: "zeta" }), "related", { direction: "both" }).execute(),
      (g) => g.shortestPath(g.match("topics", { name: "beta" }), g.match("topics", { name: "root" }), "related").execute(),
      // Start rows from a secondary index (kind, rank): listed by rank there, in key order here.
      (g) => g.match("topics", { kind: "b" }).out("children", { hops: [0, 1] }).paths().execute(),
      (g) => g.shortestPath(g.match("topics", { kind: "a" }), g.match("topics", { kind: "b" }), "related", { direction: "both" }).execute(),
    ];
    for (const query of queries) expect(norm(await query(core))).toEqual(norm(await query(ext)));
    expect(norm(await queries[6]!(core))).toHaveLength(4);
    expect(await queries[8]!(core)).toBeNull();
    // Equality on strings lowers; ordering strings does not (core IR orders numbers only).
    const eq = (g: Graph<UntypedShape>) => g.match("topics", { name: "root" }).out("children").where("name", "!=", "zeta").select(["name"]).execute();
    expect(await eq(core)).toEqual(await eq(ext));
    const ordered = (g: Graph<UntypedShape>) => g.match("topics", { name: "root" }).out("children").where("name", ">", "b").execute();
    expect(await ordered(ext)).toEqual(expect.any(Array));
    await expect(ordered(core)).rejects.toBeInstanceOf(NotImplementedError);
    await expect(ordered(core)).rejects.toThrow(/orders a non-numeric column/);
    await executor.close();
  });
});
