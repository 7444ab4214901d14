/**
 * Traversal results hold cells as the ORM's row objects hold them: a link column is a string (its
 * href), whichever result shape carries it (rows, selected columns, paths, bound aliases). On
 * every executor and on a cluster.
 */
import { afterAll, describe, expect, it } from "vitest";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";
import { connect } from "../../src/connect.js";
import { param } from "../../src/ir/index.js";
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

function notesSchema() {
  const authors = table("authors", { id: col.u32().key() });
  const notes = table("notes", {
    id: col.u32().key(),
    author: col.u32().references(() => authors, { name: "author", inverse: "notes" }),
    tag: col.string(8),
    lang: col.string(8),
  });
  return schema({ namespace: "cells_notes", tables: { authors, notes } });
}

const PAGES = [
  { id: 1, url: "/state/app/one", home: "http://example.com/a" },
  { id: 2, url: "http://example.com/two", home: null },
  { id: 3, url: "/lib/x/three", home: "/state/app/one" },
];

describe.each(WITH_CLUSTER)("cells in traversal results on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);

  it("dates, JSON, bytes, enums, uuids and bigints come back as the ORM returns them", async () => {
    const owners = table("owners", { id: col.u64({ mode: "bigint" }).key(), at: col.timestamp(), doc: col.json<{ k: number[] }>(), raw: col.bytes(), state: col.enum(["a", "b"]) });
    const pets = table("pets", { id: col.uuid().key(), owner: col.u64({ mode: "bigint" }).references(() => owners, { name: "owner", inverse: "pets" }) });
    const db = await connect(schema({ namespace: "cells_rich", tables: { owners, pets } }), await createExecutor());
    await db.sync();
    const owner = { id: 2n ** 64n - 1n, at: new Date(86_400_000), doc: { k: [1, 2] }, raw: new Uint8Array([0, 200]), state: "b" as const };
    const pet = { id: "5f0c7c3a-0000-4000-8000-00000000000a", owner: owner.id };
    await db.insertInto("owners").values(owner).execute();
    await db.insertInto("pets").values(pet).execute();
    const g = db.graph as unknown as Graph<UntypedShape>;
    expect(await g.match("pets", { id: pet.id }).out("owner").execute()).toEqual([owner]);
    expect(await g.match("owners").in("owner").distinct().execute()).toEqual([pet]);
  });

  it("filters on dates, bigints, bytes and uuids take those values, literal or as parameters, on both lowerings", async () => {
    const events = table("events", {
      id: col.uuid().key(),
      at: col.timestamp(),
      big: col.u64({ mode: "bigint" }),
      raw: col.bytes(),
    });
    const db = await connect(schema({ namespace: "cells_filters", tables: { events } }), await createExecutor());
    await db.sync();
    const rows = [
      { id: "00000000-0000-4000-8000-000000000001", at: new Date(1_000), big: 2n ** 64n - 1n, raw: new Uint8Array([1]) },
      { id: "00000000-0000-4000-8000-000000000002", at: new Date(2_000), big: 7n, raw: new Uint8Array([2, 0]) },
      { id: "00000000-0000-4000-8000-00000000000a", at: new Date(3_000), big: 2n ** 60n, raw: new Uint8Array([]) },
    ];
    await db.insertInto("events").values(rows).execute();
    const ext = db.graph as unknown as Graph<UntypedShape>;
    for (const g of [ext, ext.withLowering("core")]) {
      const ids = async (q: { execute(args?: Record<string, unknown>): Promise<unknown> }, args?: Record<string, unknown>) =>
        ((await q.execute(args as never)) as { id: string }[]).map((r) => r.id).sort();
      const id = (i: number) => rows[i]!.id;
      expect(await ids(g.match("events").where("at", ">", new Date(1_500)))).toEqual([id(1), id(2)]);
      expect(await ids(g.match("events").where("at", "<=", param("t")), { t: new Date(2_000) })).toEqual([id(0), id(1)]);
      expect(await ids(g.match("events", { big: 2n ** 64n - 1n }))).toEqual([id(0)]);
      expect(await ids(g.match("events").where("big", "in", [7n, 2n ** 60n]))).toEqual([id(1), id(2)]);
      expect(await ids(g.match("events").where("big", ">", param("b")), { b: 2n ** 59n })).toEqual([id(0), id(2)]);
      expect(await ids(g.match("events", { raw: new Uint8Array([2, 0]) }))).toEqual([id(1)]);
      expect(await ids(g.match("events", { id: rows[2]!.id.toUpperCase() }))).toEqual([id(2)]);
      expect(() => g.match("events").where("at", "=", 5n as never)).toThrow(/compares with a column of its type/);
      await expect(g.match("events").where("at", "<", param("t")).execute({ t: new Date(NaN) })).rejects.toThrow(/invalid Date/);
    }
  });

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

  it("rows read back exactly with sequential ids and coded columns, before and after writes", async () => {
    const db = await connect(notesSchema(), await createExecutor());
    await db.sync();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const anyDb = db as any;
    const g = db.graph as unknown as Graph<UntypedShape>;
    await anyDb.insertInto("authors").values([{ id: 1 }, { id: 2 }, { id: 3 }]).execute();
    // Ids handed out in sequence from 1, as an auto-increment column would.
    const notes = Array.from({ length: 40 }, (_, i) => ({
      id: i + 1,
      author: (i % 3) + 1,
      tag: ["a", "b", "c", "d"][(i * 7) % 4]!,
      lang: ["en", "fr", "en", "de", "ja"][i % 5]!,
    }));
    await anyDb.insertInto("notes").values(notes).execute();
    const expected = (authors: number[], pred: (n: (typeof notes)[number]) => boolean) =>
      notes.filter((n) => authors.includes(n.author) && pred(n)).sort((a, b) => a.id - b.id);
    const check = async () => {
      // A filter on `lang` (and one on `tag`) makes those columns coded; later pages read them back.
      expect(await g.match("authors", { id: 1 }).out("notes").where("lang", "=", "en").distinct().execute()).toEqual(expected([1], (n) => n.lang === "en"));
      expect(await g.match("authors", { id: 2 }).out("notes").where("tag", "=", "b").distinct().execute()).toEqual(expected([2], (n) => n.tag === "b"));
      expect(await g.match("authors").out("notes").distinct().execute()).toEqual(expected([1, 2, 3], () => true));
      expect(await g.match("authors").out("notes").distinct().select(["lang", "id"]).offset(3).limit(7).execute()).toEqual(
        expected([1, 2, 3], () => true).slice(3, 10).map((n) => ({ lang: n.lang, id: n.id })),
      );
      // Equality filters pin their column for the whole result (the page does not read it): one
      // tested as the hop reads its lists, one on the set after it.
      expect(await g.match("authors").out("notes").where("lang", "=", "en").where("tag", "=", "c").distinct().select(["tag", "lang", "id"]).execute()).toEqual(
        expected([1, 2, 3], (n) => n.lang === "en" && n.tag === "c").map((n) => ({ tag: n.tag, lang: n.lang, id: n.id })),
      );
      // A filter on the start pins nothing at the end, though the end is the same table.
      const frAuthors = [...new Set(notes.filter((n) => n.lang === "fr").map((n) => n.author))];
      expect(await g.match("notes").where("lang", "=", "fr").out("author").out("notes").distinct().execute()).toEqual(expected(frAuthors, () => true));
    };
    await check();
    // New values in coded columns, and updates of old ones.
    notes[4]!.lang = "pt";
    notes[5]!.tag = "zz";
    await anyDb.updateTable("notes").set({ lang: "pt" }).where("id", "=", 5).execute();
    await anyDb.updateTable("notes").set({ tag: "zz" }).where("id", "=", 6).execute();
    await check();
    // An id out of sequence, then one in it again.
    for (const id of [100, 41]) {
      const note = { id, author: 2, tag: "c", lang: "en" };
      notes.push(note);
      await anyDb.insertInto("notes").values(note).execute();
      await check();
    }
  });
});
