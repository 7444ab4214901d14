/**
 * Distinct results come in key order whatever the key type: small integer ids, ids past 2^32,
 * negative and fractional numbers, and strings (including ones that sort differently by UTF-16
 * unit and by code point) — with offset and limit applied after ordering. On every executor.
 */
import { afterAll, describe, expect, it } from "vitest";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";
import { connect } from "../../src/connect.js";
import { col, schema, table } from "../../src/orm/index.js";
import type { Graph, UntypedShape } from "../../src/graph/index.js";

function numberKeyed() {
  const nodes = table("nodes", { id: col.f64().key(), label: col.string(8) });
  const links = table("links", {
    src: col.f64().key().references(() => nodes),
    dst: col.f64().key().references(() => nodes),
  }).edge("links", { from: "src", to: "dst" });
  return schema({ namespace: "order_f64", tables: { nodes, links } });
}

function stringKeyed() {
  const nodes = table("nodes", { id: col.string(16).key(), label: col.string(8) });
  const links = table("links", {
    src: col.string(16).key().references(() => nodes),
    dst: col.string(16).key().references(() => nodes),
  }).edge("links", { from: "src", to: "dst" });
  return schema({ namespace: "order_string", tables: { nodes, links } });
}

const NUMBERS = [2 ** 40, -3, 0.5, 7, 2 ** 32, 4294967295, -(2 ** 33), 1];
// U+FFFF sorts before U+1F600 by code point, after it by UTF-16 unit.
const STRINGS = ["b", "a", "\u{1F600}", "\uFFFF", "", "ab", "z", "A"];

function codePointOrder(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

describe.each(WITH_CLUSTER)("distinct result order on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);

  it.each([
    ["f64", NUMBERS, (a: number, b: number) => a - b],
    ["string", STRINGS, codePointOrder],
  ] as const)("%s keys", async (kind, ids, order) => {
    const executor = await createExecutor();
    const db = await connect(kind === "f64" ? numberKeyed() : stringKeyed(), executor);
    await db.sync();
    const root = kind === "f64" ? 123456.25 : "root";
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const anyDb = db as any;
    await anyDb.insertInto("nodes").values([{ id: root, label: "r" }, ...ids.map((id) => ({ id, label: "n" }))]).execute();
    await anyDb.insertInto("links").values(ids.map((dst) => ({ src: root, dst }))).execute();
    const g = db.graph as unknown as Graph<UntypedShape>;
    const sorted = [...ids].sort(order as (a: unknown, b: unknown) => number);
    const all = (await g.match("nodes", { id: root }).out("links").distinct().select(["id"]).execute()) as { id: unknown }[];
    expect(all.map((r) => r.id)).toEqual(sorted);
    const page = (await g.match("nodes", { id: root }).out("links").distinct().select(["id"]).offset(2).limit(3).execute()) as { id: unknown }[];
    expect(page.map((r) => r.id)).toEqual(sorted.slice(2, 5));
  });
});

/** A parent with more children than the page sort's scratch holds (`SCRATCH_MAX`, 65,536). */
function bigFamily() {
  const parents = table("parents", { id: col.u32().key() });
  const kids = table("kids", { id: col.u32().key(), parent: col.u32().references(() => parents, { name: "parent", inverse: "kids" }) });
  return schema({ namespace: "order_big", tables: { parents, kids } });
}

describe.each(WITH_CLUSTER)("pages of a large distinct result on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);
  const N = 84_000;

  it.each([
    ["in key order", [[0, N]]],
    ["upper half first", [[N / 2, N], [0, N / 2]]],
  ] as const)("%s", async (_name, batches) => {
    const db = await connect(bigFamily(), await createExecutor());
    await db.sync();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const anyDb = db as any;
    await anyDb.insertInto("parents").values([{ id: 1 }, { id: 2 }]).execute();
    const g = db.graph as unknown as Graph<UntypedShape>;
    const kids = () => g.match("parents", { id: 1 }).out("kids").distinct();
    for (const [from, to] of batches) {
      const rows = Array.from({ length: to - from }, (_, i) => ({ id: from + i, parent: (from + i) % 7 === 0 ? 2 : 1 }));
      await anyDb.insertInto("kids").values(rows).execute();
      // A traversal between the batches, so the kernel's slots see the second batch arrive after it.
      await kids().count().execute();
    }
    const ids = Array.from({ length: N }, (_, i) => i).filter((i) => i % 7 !== 0);
    expect(await kids().count().execute()).toBe(ids.length);
    const ofPage = (rows: unknown) => (rows as { id: number }[]).map((r) => r.id);
    expect(ofPage(await kids().limit(5).execute())).toEqual(ids.slice(0, 5));
    expect(ofPage(await kids().offset(ids.length - 3).limit(10).execute())).toEqual(ids.slice(-3));
    expect(ofPage(await kids().offset(30_000).limit(4).execute())).toEqual(ids.slice(30_000, 30_004));
    // A small page after the big one: the scratch must not hand back the big set's slots.
    expect(ofPage(await g.match("parents", { id: 2 }).out("kids").distinct().limit(3).execute())).toEqual([0, 7, 14]);
  });
});

