/**
 * A parameter may have any valid name, including the names the lowerings give their own steps
 * (`result`, `offset`, `state`, …): a traversal answers the same whatever its parameters are
 * called, on the extension and on the core lowering. A value that cannot be a window bound or an
 * `in` list is refused by both with the same typed error.
 */
import { describe, expect, it } from "vitest";
import { BadRequestError } from "../../src/errors.js";
import { WITH_CLUSTER } from "../support/executors.js";
import { param } from "../../src/ir/index.js";
import type { Graph, UntypedShape } from "../../src/graph/index.js";
import { loadGraph } from "./support.js";

// Names the extension op and the core lowering use for steps, loop state and fold items.
const NAMES = ["result", "offset", "limit", "stop", "zero", "state", "rows", "t", "hit", "any", "next", "same", "m_row", "start_rows", "x_1", "item_0", "lit_0"];

describe("parameter names", () => {
  it("do not collide with the lowerings' own step names", async () => {
    const executor = await WITH_CLUSTER[0]!.create();
    try {
      const people = [1, 2, 3, 4].map((id) => ({ id, name: `p${id}`, age: 10 * id, city: "rome", boss: null }));
      const knows = [[1, 2], [1, 3], [2, 3], [3, 4]].map(([a, b]) => ({ a: a!, b: b!, n: 0, since: 2000 }));
      const db = await loadGraph(executor, { people, knows, posts: [] });
      const ext = db.graph as unknown as Graph<UntypedShape>;
      const core = ext.withLowering("core");
      for (const name of NAMES) {
        const p = param(name);
        const cases = [
          [(g: Graph<UntypedShape>) => g.match("people", { id: p }).out("knows", { hops: [1, 2] }).distinct().select(["id"]), 1, [{ id: 2 }, { id: 3 }, { id: 4 }]],
          [(g: Graph<UntypedShape>) => g.match("people", { id: 1 }).out("knows").where("age", ">", p).select(["id"]), 15, [{ id: 2 }, { id: 3 }]],
          [(g: Graph<UntypedShape>) => g.match("people", { id: 1 }).out("knows").out("knows").distinct().limit(p).count(), 1, 1],
          [(g: Graph<UntypedShape>) => g.match("people", { id: 1 }).out("knows").offset(p).select(["id"]), 1, [{ id: 3 }]],
        ] as const;
        for (const [build, value, expected] of cases) {
          expect(await build(ext).execute({ [name]: value }), `extension, parameter ${name}`).toEqual(expected);
          expect(await build(core).execute({ [name]: value }), `core, parameter ${name}`).toEqual(expected);
        }
        const shortest = (g: Graph<UntypedShape>) => g.shortestPath(g.match("people", { id: p }), g.match("people", { id: 4 }), "knows");
        const path = await shortest(ext).execute({ [name]: 1 });
        expect(path, `extension shortestPath, parameter ${name}`).not.toBeNull();
        expect(await shortest(core).execute({ [name]: 1 }), `core shortestPath, parameter ${name}`).toEqual(path);
      }
    } finally {
      await executor.close();
    }
  });

  it("that cannot be a window bound or an in list are refused alike by both lowerings", async () => {
    const executor = await WITH_CLUSTER[0]!.create();
    try {
      const people = [1, 2, 3].map((id) => ({ id, name: `p${id}`, age: 10 * id, city: "rome", boss: null }));
      const knows = [[1, 2], [1, 3]].map(([a, b]) => ({ a: a!, b: b!, n: 0, since: 2000 }));
      const db = await loadGraph(executor, { people, knows, posts: [] });
      const ext = db.graph as unknown as Graph<UntypedShape>;
      const n = param("n");
      const builds = [
        [(g: Graph<UntypedShape>) => g.match("people", { id: 1 }).out("knows").distinct().limit(n), "the limit and must be a non-negative integer"],
        [(g: Graph<UntypedShape>) => g.match("people", { id: 1 }).out("knows").limit(n), "the limit and must be a non-negative integer"],
        [(g: Graph<UntypedShape>) => g.match("people", { id: 1 }).out("knows").offset(n).count(), "the offset and must be a non-negative integer"],
        [(g: Graph<UntypedShape>) => g.match("people", { id: 1 }).out("knows").where("age", "in", n), 'the list of an "in" filter and must be a list'],
      ] as const;
      for (const g of [ext, ext.withLowering("core")]) {
        for (const [build, message] of builds) {
          const bad = message.includes("list") ? [5, "20", null, true] : [-1, 1.5, "2", null, -0.5];
          for (const value of bad) {
            const run = build(g).execute({ n: value as never });
            await expect(run).rejects.toBeInstanceOf(BadRequestError);
            await expect(build(g).execute({ n: value as never })).rejects.toThrow(message);
          }
        }
        expect(await builds[0][0](g).execute({ n: 1 })).toEqual([people[1]]);
        expect(await builds[3][0](g).execute({ n: [30] })).toEqual([people[2]]);
      }
    } finally {
      await executor.close();
    }
  });
});
