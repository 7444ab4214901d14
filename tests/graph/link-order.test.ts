/**
 * `.where()` with `<`, `<=`, `>`, `>=` on a link column orders links by href (code point, as keys
 * are ordered), against a string as `=` compares them — for distinct and trail results and a
 * shortest path's target, on every executor; the core lowering refuses such a `where` when the op
 * is built (core built-ins order numbers only).
 */
import { afterAll, describe, expect, it } from "vitest";
import { connect } from "../../src/connect.js";
import { NotImplementedError } from "../../src/errors.js";
import type { Graph, UntypedShape } from "../../src/graph/index.js";
import { col, schema, table } from "../../src/orm/index.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";
import { holds } from "./oracle/values.js";

const pages = table("pages", { id: col.u32().key(), url: col.link(), home: col.link().nullable() });
const refs = table("refs", {
  from: col.u32().key().references(() => pages),
  to: col.u32().key().references(() => pages),
}).edge("cites", { from: "from", to: "to", inverse: "cited_by" });
const S = schema({ namespace: "link_order", tables: { pages, refs } });

const PAGES = [
  { id: 1, url: "/state/app/one", home: "http://example.com/a" },
  { id: 2, url: "http://example.com/two", home: null },
  { id: 3, url: "/lib/x/three", home: "/state/app/one" },
  { id: 4, url: "/state/app/\u{1F600}", home: "/state/app/\uFFFF" },
];
const OPS = ["<", "<=", ">", ">="] as const;
const PIVOTS = ["/state/app/one", "/state/app/\uFFFF", "/lib", "http://example.com/two", "z"];

/** The ids of `rows` whose `col` passes, by the oracle's semantics (a link cell as `{href}`). */
function expected(rows: readonly (typeof PAGES)[number][], col: "url" | "home", op: (typeof OPS)[number], v: string): number[] {
  return rows.filter((r) => r[col] !== null && holds({ href: r[col] }, op, v)).map((r) => r.id);
}

describe.each(WITH_CLUSTER)("ordered where on a link column on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);

  it("orders links by href, against a string", async () => {
    const db = await connect(S, await createExecutor());
    await db.sync();
    await db.insertInto("pages").values(PAGES).execute();
    await db.insertInto("refs").values([{ from: 1, to: 2 }, { from: 1, to: 3 }, { from: 1, to: 4 }, { from: 2, to: 3 }]).execute();
    const g = db.graph as unknown as Graph<UntypedShape>;
    const ids = (rows: readonly Record<string, unknown>[]): number[] => rows.map((r) => r.id as number);
    let matched = 0;
    for (const op of OPS) {
      for (const v of PIVOTS) {
        const all = expected(PAGES, "url", op, v);
        matched += all.length;
        expect(ids(await g.match("pages").where("url", op, v).execute())).toEqual(all);
        expect(ids(await g.match("pages").where("home", op, v).distinct().execute())).toEqual(expected(PAGES, "home", op, v));
        const out = expected(PAGES.slice(1), "url", op, v);
        expect(ids(await g.match("pages", { id: 1 }).out("cites").where("url", op, v).execute())).toEqual(out);
        expect(ids(await g.match("pages", { id: 1 }).out("cites").distinct().where("url", op, v).execute())).toEqual(out);
      }
    }
    expect(matched).toBeGreaterThan(0);
    expect(ids(await g.match("pages").where("url", "<", "/state/app/one").execute())).toEqual([3]);
    expect(ids(await g.match("pages").where("url", ">", "/state/app/one").execute())).toEqual([2, 4]);
    const core = (g as unknown as { withLowering(l: "core"): Graph<UntypedShape> }).withLowering("core");
    expect(() => core.match("pages").where("url", "<", "/state").compile()).toThrow(NotImplementedError);
  });
});
