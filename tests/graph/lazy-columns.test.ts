/**
 * What a lazy slot space keeps of the columns traversals use (`keySlotsPolicy.lazyRowsFrom` = 0:
 * every durable table's slot space is lazy): dictionary codes of a low-cardinality column, a
 * numeric vector of a column of numbers and nulls, rows read from the table for any other column.
 * Filters of every operator, result pages and forward foreign-key hops on a durable store must
 * answer as the same traversals on a memory store, whose slot spaces keep their rows — first,
 * and then after each kind of write that reaches those structures: inserts, updates of coded and
 * numeric cells, deletes, a session rolled back, a bigint that ends a numeric column, a bulk
 * insert, a truncate, and a schema change that adds a column. Traversals run before each write,
 * so the structures exist when it comes.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EXECUTORS, executorsFor } from "../support/executors.js";
import { connect } from "../../src/connect.js";
import { col, schema, table } from "../../src/orm/index.js";
import type { Graph, UntypedShape } from "../../src/graph/index.js";
import type { CmpOp } from "../../src/ir/traverse-plan.js";
import { ColumnCodes } from "../../src/kernel/storage/derived/column-codes.js";
import { ColumnNumbers } from "../../src/kernel/storage/derived/column-vector.js";
import { KeySlots, keySlotsPolicy } from "../../src/kernel/storage/derived/key-slots.js";

const authors = table("authors", { id: col.u32().key(), name: col.string(16) });
const itemColumns = {
  id: col.u32().key(),
  author: col.u32().nullable().references(() => authors, { name: "author", inverse: "items", enforce: false }),
  /** Two values: coded. */
  lang: col.string(4),
  /** A few numbers, negative zero and null: coded, and a numeric vector. */
  score: col.f64().nullable(),
  /** Hundreds of integers: a numeric vector only. */
  n: col.u32(),
  /** Hundreds of fractions, negatives and nulls: a numeric vector only. */
  w: col.f64().nullable(),
  /** Numbers until a bigint beyond 2^53 comes: then read from rows. */
  big: col.i64({ mode: "bigint" }),
  /** Hundreds of strings: read from rows. */
  title: col.string(16),
};
const items = table("items", itemColumns);
const v1 = schema({ namespace: "lazycols", tables: { authors, items } });
/** v1 with a column added (no rewrite: stored rows read its default). */
const v2 = schema({ namespace: "lazycols", tables: { authors, items: table("items", { ...itemColumns, extra: col.f64().default(1.5) }) } });

interface Item {
  id: number;
  author: number | null;
  lang: string;
  score: number | null;
  n: number;
  w: number | null;
  big: bigint;
  title: string;
  extra?: number;
}

const SCORES = [0, -0, 0.5, -2.25, 3, null];
const AUTHORS = 12;

/** A deterministic item for `id` (`salt` varies its cells for updates). */
function item(id: number, salt = 0): Item {
  const h = (id * 2654435761 + salt * 40503) >>> 0;
  return {
    id,
    author: h % 13 === 0 ? null : (h % (AUTHORS + 2)) + 1,
    lang: (h >>> 3) % 3 === 0 ? "fr" : "en",
    score: SCORES[(h >>> 5) % SCORES.length]!,
    n: (h >>> 7) % 700,
    w: h % 7 === 0 ? null : ((h >>> 9) % 1000) / 8 - 40,
    big: BigInt((h >>> 2) % 900) - 300n,
    title: `t${(h >>> 4) % 500}`,
  };
}

type Filter = [keyof Item, CmpOp, unknown];
/** Filters of every operator on every kind of column (a null value matches nothing). */
const FILTERS: Filter[] = [
  ["lang", "=", "en"],
  ["lang", "!=", "en"],
  ["lang", "in", ["fr", "de"]],
  ["lang", "<", "f"],
  ["lang", "=", "de"],
  ["lang", "=", null],
  ["score", "=", 0],
  ["score", "=", -0],
  ["score", "<", 0],
  ["score", ">", -1],
  ["score", ">=", 0.5],
  ["score", "!=", 3],
  ["score", "in", [0.5, 3, null]],
  ["score", "=", null],
  ["n", "<", 100],
  ["n", ">", 600],
  ["n", "in", [1, 2, 3, 500]],
  ["n", "=", 42],
  ["n", "<=", 1.5],
  ["w", "<", 0],
  ["w", ">=", 12.5],
  ["w", "in", [-40, 0.125, null]],
  ["w", "!=", 1],
  ["big", ">", 0n],
  ["big", "<", 2n ** 59n],
  ["big", "=", 2n ** 60n],
  ["big", "in", [-5n, 7n, 2n ** 60n]],
  ["title", "=", "t7"],
  ["title", ">", "t3"],
  ["id", "<", 300],
  ["id", "in", [5, 7, 601, 1000]],
  ["author", "=", 3],
  ["author", "<=", 4],
];

/** The traversals compared: filtered pages after an inverse hop, forward hops, counts. */
function traversals(g: Graph<UntypedShape>, filters: readonly Filter[]): [string, () => Promise<unknown>][] {
  const out: [string, () => Promise<unknown>][] = [];
  for (const [c, op, v] of filters) {
    const name = `${c} ${op} ${String(v)}`;
    out.push([`items where ${name}`, () => g.match("authors").out("items").distinct().where(c, op, v).execute()]);
    out.push([`count where ${name}`, () => g.match("authors").out("items").distinct().where(c, op, v).count().execute()]);
    out.push([`authors of items where ${name}`, () => g.match("authors").out("items").distinct().where(c, op, v).out("author").distinct().execute()]);
  }
  out.push(["a page of a window", () => g.match("authors").out("items").distinct().offset(5).limit(40).execute()]);
  out.push(["a page of selected columns", () => g.match("authors").out("items").distinct().where("lang", "=", "fr").select(["score", "n", "id"]).execute()]);
  out.push(["one author's items", () => g.match("authors", { id: 3 }).out("items").where("score", ">", 0).execute()]);
  out.push(["forward hop from every item", () => g.match("authors").out("items").distinct().out("author").distinct().count().execute()]);
  return out;
}

const usual = keySlotsPolicy.lazyRowsFrom;
let ns = 0;

describe("columns kept by slot spaces that keep no rows, on the durable store against memory", () => {
  const durable = executorsFor(EXECUTORS.find((e) => e.name === "embedded durable")!, afterAll);
  const memory = executorsFor(EXECUTORS.find((e) => e.name === "embedded memory")!, afterAll);
  beforeEach(() => void (keySlotsPolicy.lazyRowsFrom = 0));
  afterEach(() => {
    keySlotsPolicy.lazyRowsFrom = usual;
    vi.restoreAllMocks();
  });

  it("answers filters, pages and forward hops as memory does, through every kind of write", async () => {
    const namespace = `lazycols${ns++}`;
    const at = <T extends typeof v1 | typeof v2>(s: T): T => schema({ namespace, tables: s.tables }) as unknown as T;
    const [durEx, memEx] = [await durable(), await memory()];
    const [dur, mem] = [await connect(at(v1), durEx), await connect(at(v1), memEx)];
    const both = [dur, mem];
    for (const db of both) {
      await db.sync();
      await db.insertInto("authors").values(Array.from({ length: AUTHORS }, (_, i) => ({ id: i + 1, name: `a${i + 1}` }))).execute();
      // Into the empty table: a bulk load (a `reset` of the slot space).
      await db.insertInto("items").values(Array.from({ length: 600 }, (_, i) => item(i + 1))).execute();
    }
    const prepared = vi.spyOn(KeySlots.prototype, "prepareColumns");
    const rowReads = vi.spyOn(KeySlots.prototype, "row");
    let graphs = both.map((db) => db.graph as unknown as Graph<UntypedShape>);
    const same = async (phase: string, filters: readonly Filter[] = FILTERS): Promise<void> => {
      const [d, m] = graphs.map((g) => traversals(g, filters));
      for (let i = 0; i < d!.length; i++) {
        const [name, run] = d![i]!;
        expect(await run(), `${phase}: ${name}`).toEqual(await m![i]![1]());
      }
    };
    const write = async (f: (db: (typeof both)[number]) => Promise<unknown>) => {
      for (const db of both) await f(db);
    };

    await same("loaded");
    // The lazy path made the columns it used (this is what is under test).
    expect(prepared).toHaveBeenCalled();

    await write(async (db) => {
      await db.insertInto("items").values([item(601, 1), { ...item(602, 1), score: -0, lang: "fr" }, { ...item(603), score: null, n: 699 }]).execute();
      await db.updateTable("items").set({ lang: "fr", score: 3, n: 5 }).where("id", "=", 10).execute();
      await db.updateTable("items").set({ score: null, author: 2 }).where("id", "<", 40).where("lang", "=", "en").execute();
      await db.updateTable("items").set({ score: -0, n: 650 }).where("n", ">", 600).execute();
      await db.deleteFrom("items").where("id", "=", 11).execute();
      await db.deleteFrom("items").where("id", ">", 590).where("id", "<", 600).execute();
    });
    await same("after inserts, updates and deletes");

    await write(async (db) => {
      const rolledBack = new Error("roll back");
      await expect(
        db.session(async (s) => {
          await s.insertInto("items").values([item(700, 2), { ...item(701), lang: "fr", score: 0.5 }]).execute();
          await s.updateTable("items").set({ lang: "fr", score: -2.25, n: 1 }).where("id", "<", 100).execute();
          await s.deleteFrom("items").where("id", ">", 500).execute();
          throw rolledBack;
        }),
      ).rejects.toBe(rolledBack);
    });
    await same("after a session rolled back");

    // A truncate and a bulk load inside a session, read there, then rolled back (`reset` to the
    // rows before).
    const inside: unknown[][] = [[], []];
    for (const [i, db] of both.entries()) {
      const rolledBack = new Error("roll back");
      await expect(
        db.session(async (s) => {
          await s.runner.request({ verb: "delete", path: `/state/${namespace}/items`, key: [] });
          await s.insertInto("items").values(Array.from({ length: 50 }, (_, k) => item(k + 1, 5))).execute();
          const g = s.graph as unknown as Graph<UntypedShape>;
          inside[i]!.push(await g.match("authors").out("items").distinct().where("w", "<", 0).execute());
          inside[i]!.push(await g.match("authors").out("items").distinct().where("lang", "=", "fr").select(["id", "n"]).execute());
          throw rolledBack;
        }),
      ).rejects.toBe(rolledBack);
    }
    expect(inside[0]).toEqual(inside[1]);
    await same("after a truncate and a load rolled back");

    // A bigint beyond 2^53 in a column the slot space held as numbers: read from rows after.
    await write((db) => db.insertInto("items").values({ ...item(604), big: 2n ** 60n }).execute());
    await write((db) => db.updateTable("items").set({ big: -(2n ** 61n) }).where("id", "=", 20).execute());
    await same("after bigints beyond 2^53");

    // Many rows into a table that has rows: one `added` each.
    await write((db) => db.insertInto("items").values(Array.from({ length: 300 }, (_, i) => item(1000 + i, 3))).execute());
    await same("after a bulk insert");

    // A truncate (a DELETE of the whole table): the slot space starts over (`reset`).
    const resets = vi.spyOn(KeySlots.prototype, "reset");
    for (const ex of [durEx, memEx]) await ex.request({ verb: "delete", path: `/state/${namespace}/items`, key: [] });
    expect(resets).toHaveBeenCalled();
    await same("after a truncate", FILTERS.slice(0, 6));
    await write((db) => db.insertInto("items").values(Array.from({ length: 400 }, (_, i) => item(i + 1, 4))).execute());
    await same("after a truncate and a load");

    // A schema change adding a column: a new table object, its slot space made anew.
    const migrated = [await connect(at(v2), durEx), await connect(at(v2), memEx)];
    for (const db of migrated) await db.migrate();
    graphs = migrated.map((db) => db.graph as unknown as Graph<UntypedShape>);
    const extra: Filter[] = [["extra", "=", 1.5], ["extra", ">", 2], ["n", "<", 50], ["lang", "=", "fr"]];
    // The new table's columns first used inside a session, which then rolls back.
    const insideV2: unknown[][] = [[], []];
    for (const [i, db] of migrated.entries()) {
      const rolledBack = new Error("roll back");
      await expect(
        db.session(async (s) => {
          await s.updateTable("items").set({ extra: 9, n: 3, lang: "fr" }).where("id", "<", 50).execute();
          await s.insertInto("items").values({ ...item(3000), extra: 7 }).execute();
          await s.deleteFrom("items").where("id", ">", 350).execute();
          const g = s.graph as unknown as Graph<UntypedShape>;
          for (const [c, op, v] of extra) insideV2[i]!.push(await g.match("authors").out("items").distinct().where(c, op, v).execute());
          throw rolledBack;
        }),
      ).rejects.toBe(rolledBack);
    }
    expect(insideV2[0]).toEqual(insideV2[1]);
    await same("after a column was added", extra);
    for (const db of migrated) {
      await db.updateTable("items").set({ extra: 4 }).where("id", "<", 30).execute();
      await db.insertInto("items").values({ ...item(2000), extra: -0 }).execute();
    }
    await same("after writes to the added column", extra);
    expect(rowReads).toHaveBeenCalled();
  }, 60_000);

  it("builds a page from codes and numeric vectors without reading rows, and filters on them likewise", async () => {
    const namespace = `lazycols${ns++}`;
    const db = await connect(schema({ namespace, tables: v1.tables }) as typeof v1, await durable());
    await db.sync();
    await db.insertInto("authors").values(Array.from({ length: AUTHORS }, (_, i) => ({ id: i + 1, name: `a${i + 1}` }))).execute();
    const rows = Array.from({ length: 400 }, (_, i) => item(i + 1));
    await db.insertInto("items").values(rows).execute();
    const g = db.graph as unknown as Graph<UntypedShape>;
    const page = (op: CmpOp, v: number) => g.match("authors").out("items").distinct().where("n", op, v).select(["id", "author", "lang", "score", "n"]).execute();
    const coded = vi.spyOn(ColumnCodes.prototype, "set");
    const numbers = vi.spyOn(ColumnNumbers.prototype, "set");
    // First use: the columns are made (by one scan); the page is right.
    // The items of an author that exists, as stored (a -0 is stored as 0).
    const reached = rows.filter((r) => r.author !== null && r.author <= AUTHORS).map(({ id, author, lang, score, n }) => ({ id, author, lang, score: score === 0 ? 0 : score, n }));
    expect(await page("<", 200)).toEqual(reached.filter((r) => r.n < 200));
    expect(numbers).toHaveBeenCalled();
    expect(coded).toHaveBeenCalled();
    // Then neither the filter nor the page reads a row: every cell comes from codes or numbers.
    const rowReads = vi.spyOn(KeySlots.prototype, "row");
    expect(await page(">=", 200)).toEqual(reached.filter((r) => r.n >= 200));
    expect(await g.match("authors").out("items").distinct().where("lang", "in", ["fr"]).where("score", "<", 1).out("author").distinct().count().execute()).toBe(
      new Set(rows.filter((r) => r.lang === "fr" && r.score !== null && r.score < 1 && r.author !== null && r.author <= AUTHORS).map((r) => r.author)).size,
    );
    expect(rowReads).not.toHaveBeenCalled();
    // A column of many strings is read from the rows.
    const titled = rows.filter((r) => r.title < "t12" && r.author !== null && r.author <= AUTHORS).map((r) => ({ id: r.id }));
    expect(titled.length).toBeGreaterThan(0);
    expect(await g.match("authors").out("items").distinct().where("title", "<", "t12").select(["id"]).execute()).toEqual(titled);
    expect(rowReads).toHaveBeenCalled();
  });
});
