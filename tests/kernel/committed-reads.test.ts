/**
 * Plain reads are not blocked by an open session: while a session holds the transaction lock
 * with uncommitted writes (inserts, updates, deletes, a bulk insert, a created and a
 * dropped table, every row deleted), a plain `GET` outside it answers at once with the last committed state — on
 * every executor. Once the session commits, plain reads see its writes; after a rollback, still
 * the old state. Writes and traversals outside the session still wait for it.
 */
import fc from "fast-check";
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

  it("range deletes and updates of many rows inside a session (one pass over the indexes) hide nothing outside until it commits", async () => {
    await ex.request({ verb: "put", path: `${T}/insert_rows`, key: null, body: Array.from({ length: 1000 }, (_, i) => [1000 + i, "r", i % 7]) as Json });
    const before = await snapshot();
    const count = (await ex.request({ verb: "get", path: `${T}/count`, key: null })) as number;
    const byN = rowsOf(await ex.request({ verb: "get", path: T, key: [["n", 3]] }));
    const s = await ex.session();
    // 80 rows: few compared with the table (their index entries found one by one in one walk);
    // then 300 (the whole index walked once).
    await s.request({ verb: "delete", path: T, key: [["id", [["in", 1700], ["ex", 1780]]]] });
    await s.request({ verb: "delete", path: T, key: [["id", [["in", 1050], ["ex", 1350]]]] });
    // 80 rows updated: their old index entries taken out in one walk, the new ones put in.
    await s.request({ verb: "put", path: T, key: [["id", [["in", 1800], ["ex", 1880]]]], body: { n: 11 } });
    const updated = Array.from({ length: 80 }, (_, i) => [1800 + i, "r", 11]);
    // (An equality on n reads the hash multi-index beside the table; a range reads the index's tree.)
    const elevens: Json = [["n", [["in", 10], ["ex", 12]]]];
    expect(rowsOf(await s.request({ verb: "get", path: T, key: [["n", 11]] }))).toEqual(updated);
    expect(rowsOf(await s.request({ verb: "get", path: T, key: elevens }))).toEqual(updated);
    expect(rowsOf(await soon(ex.request({ verb: "get", path: T, key: [["n", 11]] })))).toEqual([]);
    expect(await s.request({ verb: "get", path: `${T}/count`, key: null })).toBe(count - 380);
    expect(await snapshot()).toEqual(before);
    expect(rowsOf(await soon(ex.request({ verb: "get", path: T, key: [["n", 3]] })))).toEqual(byN);
    await s.commit();
    expect(await ex.request({ verb: "get", path: `${T}/count`, key: null })).toBe(count - 380);
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: [["n", 11]] }))).toEqual(updated);
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: elevens }))).toEqual(updated);
    const kept = (r: Json) => {
      const id = (r as number[])[0]!;
      return (id < 1050 || id >= 1350) && (id < 1700 || id >= 1780) && (id < 1800 || id >= 1880);
    };
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: [["n", 3]] }))).toEqual(byN.filter(kept));
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: [["n", [["in", 3], ["in", 3]]]] }))).toEqual(byN.filter(kept));
    for (const n of [0, 1, 2, 3, 4, 5, 6]) {
      const rows = rowsOf(await ex.request({ verb: "get", path: T, key: [["n", [["in", n], ["in", n]]]] })) as number[][];
      expect(rows.filter((r) => r[0]! >= 1000).map((r) => r[0])).toEqual(Array.from({ length: 1000 }, (_, i) => 1000 + i).filter((id) => (id - 1000) % 7 === n && kept([id])));
    }
    expect(rowsOf(await ex.request({ verb: "get", path: T, key: [["id", [["in", 1040], ["ex", 1360]]]] }))).toEqual(
      Array.from({ length: 20 }, (_, i) => (i < 10 ? 1040 + i : 1340 + i)).map((id) => [id, "r", (id - 1000) % 7]),
    );
    await ex.request({ verb: "delete", path: T, key: [["id", [["in", 1000], null]]] });
  });

  it("point writes to a table keyed by two columns inside a session hide nothing outside; a rollback undoes them", async () => {
    const E = "/state/cr/e";
    const U32 = "/state/scalar/value/number/uint/32";
    const edges: Json[] = Array.from({ length: 40 }, (_, i) => [i % 8, i]);
    await ex.request({ verb: "put", path: E, key: null, body: { "/state/collection/table": [[[[["a", U32], ["b", U32]], []], []], edges] } });
    const all = async (): Promise<Json[]> => rowsOf(await soon(ex.request({ verb: "get", path: E, key: null })));
    const before = await all();
    for (const end of ["rollback", "commit"] as const) {
      const s = await ex.session();
      await s.request({ verb: "put", path: E, key: [3, 100], body: [] });
      await s.request({ verb: "delete", path: E, key: [3, 11] });
      await s.request({ verb: "put", path: `${E}/insert`, key: [0, 101], body: [] });
      expect(await s.request({ verb: "get", path: E, key: [3, 100] })).toEqual([3, 100]);
      expect(await s.request({ verb: "get", path: E, key: [3, 11] })).toBeNull();
      expect(await all()).toEqual(before);
      await s[end]();
    }
    const after = await all();
    expect(after).toEqual([...before.filter((r) => JSON.stringify(r) !== "[3,11]"), [0, 101], [3, 100]].sort((x, y) => (x as number[])[0]! - (y as number[])[0]! || (x as number[])[1]! - (y as number[])[1]!));
    await expect(ex.request({ verb: "put", path: `${E}/insert`, key: [0, 101], body: [] })).rejects.toMatchObject({ kind: "conflict" });
    expect(await all()).toEqual(after);
    await ex.request({ verb: "delete", path: E, key: null });
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

describe.each(EXECUTORS.slice(0, 2))("committed reads under random session writes on $name", (factory) => {
  type Model = Map<number, [number, string, number]>;
  const op = fc.oneof(
    fc.record({ kind: fc.constant("put" as const), id: fc.integer({ min: 0, max: 40 }), n: fc.integer({ min: 0, max: 4 }) }),
    fc.record({ kind: fc.constant("delete" as const), id: fc.integer({ min: 0, max: 40 }) }),
    fc.record({ kind: fc.constant("deleteRange" as const), lo: fc.integer({ min: 0, max: 40 }), span: fc.integer({ min: 0, max: 15 }) }),
    fc.record({ kind: fc.constant("updateN" as const), n: fc.integer({ min: 0, max: 4 }), v: fc.string({ maxLength: 3 }) }),
    fc.record({ kind: fc.constant("bulk" as const), from: fc.integer({ min: 41, max: 60 }), count: fc.integer({ min: 1, max: 5 }) }),
  );
  const apply = (m: Model, o: Record<string, unknown>): void => {
    switch (o.kind) {
      case "put":
        m.set(o.id as number, [o.id as number, `p${o.id}`, o.n as number]);
        break;
      case "delete":
        m.delete(o.id as number);
        break;
      case "deleteRange":
        for (const k of [...m.keys()]) if (k >= (o.lo as number) && k < (o.lo as number) + (o.span as number)) m.delete(k);
        break;
      case "updateN":
        for (const [k, r] of m) if (r[2] === o.n) m.set(k, [k, o.v as string, r[2]]);
        break;
      case "bulk":
        for (let i = 0; i < (o.count as number); i++) if (!m.has((o.from as number) + i)) m.set((o.from as number) + i, [(o.from as number) + i, "b", 1]);
        break;
    }
  };
  const request = (o: Record<string, unknown>, m: Model): { verb: "put" | "delete"; path: string; key: Json; body?: Json } => {
    switch (o.kind) {
      case "put":
        return { verb: "put", path: T, key: [o.id as number], body: [`p${o.id}`, o.n as number] };
      case "delete":
        return { verb: "delete", path: T, key: [o.id as number] };
      case "deleteRange":
        return { verb: "delete", path: T, key: [["id", [["in", o.lo as number], ["ex", (o.lo as number) + (o.span as number)]]]] };
      case "updateN":
        return { verb: "put", path: T, key: [["n", o.n as number]], body: { v: o.v as string } };
      default: {
        const rows: Json[] = [];
        for (let i = 0; i < (o.count as number); i++) if (!m.has((o.from as number) + i)) rows.push([(o.from as number) + i, "b", 1]);
        return { verb: "put", path: `${T}/insert_rows`, key: null, body: rows };
      }
    }
  };

  it("a plain read always equals the last committed state", { timeout: 60_000 }, async () => {
    const ex = await factory.create();
    try {
      await ex.request({ verb: "put", path: T, key: null, body: literal([]) });
      const committed: Model = new Map();
      const check = async (): Promise<void> => {
        const want = [...committed.values()].sort((a, b) => a[0] - b[0]);
        expect(rowsOf(await soon(ex.request({ verb: "get", path: T, key: null })))).toEqual(want);
        expect(rowsOf(await soon(ex.request({ verb: "get", path: T, key: [["id", [["in", 10], ["ex", 30]]]] })))).toEqual(want.filter((r) => r[0] >= 10 && r[0] < 30));
        const byN = want.filter((r) => r[2] === 2);
        expect(rowsOf(await soon(ex.request({ verb: "get", path: T, key: [["n", 2]] })))).toEqual(byN);
        expect(await soon(ex.request({ verb: "get", path: `${T}/count`, key: null }))).toBe(want.length);
      };
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(op, { maxLength: 6 }), { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), async (sessions, commits) => {
          for (const [i, ops] of sessions.entries()) {
            const s = await ex.session();
            const pending: Model = new Map(committed);
            for (const o of ops) {
              await s.request(request(o, pending));
              apply(pending, o);
              await check();
            }
            if (commits[i]) {
              await s.commit();
              committed.clear();
              for (const [k, v] of pending) committed.set(k, v);
            } else {
              await s.rollback();
            }
            await check();
          }
        }),
        { numRuns: 15 },
      );
    } finally {
      await ex.close();
      await factory.cleanup?.();
    }
  });
});
