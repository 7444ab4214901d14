/**
 * Distinct results come in key order whatever the key type: small integer ids, ids past 2^32,
 * negative and fractional numbers, and strings (including ones that sort differently by UTF-16
 * unit and by code point) — with offset and limit applied after ordering. On every executor.
 */
import { afterAll, describe, expect, it } from "vitest";
import { EXECUTORS, executorsFor } from "../support/executors.js";
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

describe.each(EXECUTORS)("distinct result order on $name", (factory) => {
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
