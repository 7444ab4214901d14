/**
 * Traversal results hold cells as the ORM's row objects hold them: a link column is a string (its
 * href), whichever result shape carries it (rows, selected columns, paths, bound aliases). On
 * every executor.
 */
import { afterAll, describe, expect, it } from "vitest";
import { EXECUTORS, executorsFor } from "../support/executors.js";
import { connect } from "../../src/connect.js";
import { col, schema, table } from "../../src/orm/index.js";
import type { Graph, UntypedShape } from "../../src/graph/index.js";

function linkSchema() {
  const pages = table("pages", { id: col.u32().key(), url: col.link(), home: col.link().nullable() });
  const refs = table("refs", {
    from: col.u32().key().references(() => pages),
    to: col.u32().key().references(() => pages),
  }).edge("cites", { from: "from", to: "to", inverse: "cited_by" });
  return schema({ namespace: "cells_link", tables: { pages, refs } });
}

const PAGES = [
  { id: 1, url: "/state/app/one", home: "http://example.com/a" },
  { id: 2, url: "http://example.com/two", home: null },
  { id: 3, url: "/lib/x/three", home: "/state/app/one" },
];

describe.each(EXECUTORS)("cells in traversal results on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);

  it("link cells are strings, as the ORM returns them", async () => {
    const db = await connect(linkSchema(), await createExecutor());
    await db.sync();
    await db.insertInto("pages").values(PAGES).execute();
    await db.insertInto("refs").values([{ from: 1, to: 2 }, { from: 1, to: 3 }, { from: 2, to: 3 }]).execute();
    const orm = await db.selectFrom("pages").orderBy("id").execute();
    expect(orm).toEqual(PAGES);
    const g = db.graph as unknown as Graph<UntypedShape>;

    expect(await g.match("pages", { id: 1 }).out("cites").distinct().execute()).toEqual([PAGES[1], PAGES[2]]);
    expect(await g.match("pages", { id: 1 }).out("cites").execute()).toEqual([PAGES[1], PAGES[2]]);
    expect(await g.match("pages", { id: 1 }).out("cites").distinct().select(["url"]).execute()).toEqual([{ url: PAGES[1]!.url }, { url: PAGES[2]!.url }]);
    const paths = await g.match("pages", { id: 2 }).out("cites").paths().execute();
    expect(paths).toEqual([[{ table: "pages", row: PAGES[1] }, { table: "pages", row: PAGES[2] }]]);
    const bound = await g.match("pages", { id: 2 }).as("a").out("cites").as("b").return({ from: "a", to: "b" }).execute();
    expect(bound).toEqual([{ from: PAGES[1], to: PAGES[2] }]);
    expect(await g.match("pages", { url: "/lib/x/three" }).in("cites").distinct().execute()).toEqual([PAGES[0], PAGES[1]]);
    expect(await g.match("pages", { url: "http://example.com/two" }).out("cites").execute()).toEqual([PAGES[2]]);
    expect(await g.match("pages").where("home", "=", "http://example.com/a").out("cites").distinct().count().execute()).toBe(2);
  });
});
