/**
 * The `traverse` extension and its core lowering (core IR forms only) give identical results —
 * and the reference's — on random graphs, on every executor; both enforce the visit budget.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { EXECUTORS, executorsFor } from "../support/executors.js";
import { connect } from "../../src/connect.js";
import { NotImplementedError } from "../../src/errors.js";
import { VisitBudgetError, type Graph, type UntypedShape } from "../../src/graph/index.js";
import { buildSpec, loadGraph, graphArb, norm, reference, specArb } from "./support.js";



const distinctSpecs = specArb({ maxOps: 3, results: ["distinct", "distinct_count"] }).map((s) => ({
  ...s,
  ops: s.ops.filter((o) => o.kind !== "as"),
  result: s.result === "distinct_count" ? ("distinct_count" as const) : ("distinct" as const),
  orderBy: [],
}));

describe.each(EXECUTORS)("core lowering on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);

  it("extension and core lowering return the same (and the reference's) results", async () => {
    const executor = await createExecutor();
    await fc.assert(
      fc.asyncProperty(graphArb(5), fc.array(distinctSpecs, { minLength: 3, maxLength: 3 }), async (data, specs) => {
        const db = await loadGraph(executor, data);
        const ext = db.graph as unknown as Graph<UntypedShape>;
        const core = ext.withLowering("core");
        for (const spec of specs) {
          const viaExtension = await buildSpec(ext, spec).execute();
          const viaCore = await buildSpec(core, spec).execute();
          expect(norm(viaCore)).toEqual(norm(viaExtension));
          expect(norm(viaCore)).toEqual(norm(reference(data, spec)));
        }
      }),
      { numRuns: factory.name === "embedded memory" ? 25 : 4 },
    );
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
    expect(() => core.match("people").out("knows").paths().compile()).toThrow(NotImplementedError);
  });
});

describe("core lowering with string keys (ordered by walking the end table)", () => {
  it("matches the extension", async () => {
    const { col, schema, table } = await import("../../src/orm/index.js");
    const topics = table("topics", {
      name: col.string(16).key(),
      parent: col.string(16).nullable().references((): { name: string } => topics, { name: "parent", inverse: "children" }),
    });
    const s = schema({ namespace: "strkeys", tables: { topics } });
    const executor = await EXECUTORS[0]!.create();
    const db = await connect(s, executor);
    await db.sync();
    await db.insertInto("topics").values([
      { name: "root", parent: null },
      { name: "zeta", parent: "root" },
      { name: "alpha", parent: "root" },
      { name: "mid", parent: "alpha" },
      { name: "leaf", parent: "mid" },
    ]).execute();
    const ext = db.graph as unknown as Graph<UntypedShape>;
    const core = ext.withLowering("core");
    const q = (g: Graph<UntypedShape>) => g.match("topics", { name: "root" }).out("children", { hops: [1, 3] }).distinct().select(["name"]);
    const expected = [{ name: "alpha" }, { name: "leaf" }, { name: "mid" }, { name: "zeta" }];
    expect(await q(ext).execute()).toEqual(expected);
    expect(await q(core).execute()).toEqual(expected);
    await executor.close();
  });
});
