/**
 * Plain reads are not blocked by an open session: while a session holds the transaction lock
 * with uncommitted writes (inserts, updates, deletes, a bulk insert, a created and a
 * dropped table, every row deleted), a plain `GET` outside it answers at once with the last committed state — on
 * every executor. Once the session commits, plain reads see its writes; after a rollback, still
 * the old state. Writes and traversals outside the session still wait for it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Executor } from "../../src/executor.js";
import type { Json } from "../../src/ir/types.js";
import { EXECUTORS } from "../support/executors.js";

const T = "/state/cr/t";
const U = "/state/cr/u";
const SCHEMA: Json = [[[["id", "/state/scalar/value/number/uint/32"]], [["v", "/state/scalar/value/string", 16], ["n", "/state/scalar/value/number/int/32"]]], [["by_n", ["n"]]]];
const literal = (rows: Json[]): Json => ({ "/state/collection/table": [SCHEMA, rows] });
const ROWS: Json[] = Array.from({ length: 50 }, (_, i) => [i, `v${i}`, i % 5]);

/** The rows of a view answer. */
function rowsOf(answer: unknown): Json[] {
  return (answer as Record<string, [Json, Json[]]>)["/state/collection/table"]![1];
}

/** Resolves with `p`'s value, or rejects if it takes longer than `ms` (a blocked read). */
function soon<T>(p: Promise<T>, ms = 1_000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms))]);
}

describe.each(EXECUTORS)("plain reads during an open session on $name", (factory) => {
  let ex: Executor;
  beforeAll(async () => {
    ex = await factory.create();
    await ex.request({ verb: "put", path: T, key: null, body: literal(ROWS) });
    await ex.request({ verb: "put", path: U, key: null, body: literal([[1, "u", 1]]) });
  });
  afterAll(async () => {
    await ex.close();
    await factory.cleanup?.();
  });

  const snapshot = async (): Promise<Json[]> => [
    await soon(ex.request({ verb: "get", path: T, key: [3] })),
    rowsOf(await soon(ex.request({ verb: "get", path: T, key: [["id", [["in", 0], ["ex", 6]]]] }))),
    rowsOf(await soon(ex.request({ verb: "get", path: T, key: [["n", 2]] }))),
    await soon(ex.request({ verb: "get", path: `${T}/count`, key: null })),
    await soon(ex.request({ verb: "get", path: `${T}/count`, key: [["n", 0]] })),
    await soon(ex.request({ verb: "get", path: U, key: [1] })),
  ] as Json[];

  it("answers at once with the committed state, then the session's writes once it commits", async () => {
    const before = await snapshot();
    expect(before[0]).toEqual([3, "v3", 3]);
    expect(before[3]).toBe(50);
    const s = await ex.session();
    await s.request({ verb: "put", path: T, key: [3], body: ["changed", 9] });
    await s.request({ verb: "delete", path: T, key: [4] });
    await s.request({ verb: "put", path: `${T}/insert_rows`, key: null, body: Array.from({ length: 300 }, (_, i) => [100 + i, "new", 2]) as Json });
    await s.request({ verb: "put", path: T, key: [["n", 0]], body: { v: "zero" } });
    await s.request({ verb: "put", path: "/state/cr/fresh", key: null, body: literal([[1, "f", 1]]) });
    await s.request({ verb: "delete", path: U, key: null });
    // Inside the session its writes show; outside, nothing changed.
    expect(await s.request({ verb: "get", path: T, key: [3] })).toEqual([3, "changed", 9]);
    expect(await snapshot()).toEqual(before);
    await expect(soon(ex.request({ verb: "get", path: "/state/cr/fresh", key: [1] }))).rejects.toMatchObject({ kind: "not_found" });
    await s.commit();
    const after = await snapshot().catch((e: unknown) => e);
    // U was dropped by the commit.
    expect(after).toMatchObject({ kind: "not_found" });
    expect(await ex.request({ verb: "get", path: T, key: [3] })).toEqual([3, "changed", 9]);
    expect(await ex.request({ verb: "get", path: `${T}/count`, key: null })).toBe(349);
    expect(await ex.request({ verb: "get", path: "/state/cr/fresh", key: [1] })).toEqual([1, "f", 1]);
    await ex.request({ verb: "put", path: U, key: null, body: literal([[1, "u", 1]]) });
  });

  it("a rolled-back session leaves what plain reads saw; deleting every row inside it hides nothing outside", async () => {
    const before = await snapshot();
    const s = await ex.session();
    await s.request({ verb: "delete", path: T, key: [["id", [null, null]]] });
    expect(await s.request({ verb: "get", path: `${T}/count`, key: null })).toBe(0);
    expect(await snapshot()).toEqual(before);
    await s.rollback();
    expect(await snapshot()).toEqual(before);
  });

  it("writes outside the session still wait for it", async () => {
    const s = await ex.session();
    await s.request({ verb: "put", path: T, key: [1], body: ["in session", 1] });
    let written = false;
    const write = ex.request({ verb: "put", path: T, key: [2], body: ["outside", 2] }).then(() => (written = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(written).toBe(false);
    expect(await soon(ex.request({ verb: "get", path: T, key: [1] }))).toEqual([1, "v1", 1]);
    await s.commit();
    await write;
    expect(await ex.request({ verb: "get", path: T, key: [2] })).toEqual([2, "outside", 2]);
    expect(await ex.request({ verb: "get", path: T, key: [1] })).toEqual([1, "in session", 1]);
  });
});
