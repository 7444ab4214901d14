/**
 * The `returning` routes (PROFILE §6.12) on every executor: rows answered as written (read back
 * after the write), `onConflict` error / ignore / update, all-or-nothing on a conflict or a bad
 * row, update and delete by a where expression (with parameters), and their errors.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Executor, Runner } from "../../src/executor.js";
import type { QueryExpr } from "../../src/ir/query-plan.js";
import type { Json } from "../../src/ir/types.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { embedded } from "../../src/kernel/index.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

const S = "/state/scalar/value/";
const SCHEMA: Json = [[[["id", `${S}number/int/64`]], [["name", `${S}string`], ["n", `${S}number/int/64`, null, { nullable: true }]]], []];
const T = "/state/r/t";

const col = (c: string): QueryExpr => ({ t: "col", src: "t", col: c });
const lit = (v: unknown): QueryExpr => ({ t: "value", value: { lit: v } });

function post(r: Runner, route: string, plan: unknown, params: Record<string, Json> = {}): Promise<Json> {
  return r.request({ verb: "post", path: `${T}/${route}`, body: { plan: JSON.stringify(plan), params } });
}

async function all(r: Runner): Promise<Json> {
  return r.request({ verb: "get", path: `${T}/query`, key: [JSON.stringify({ v: 1, from: { table: "t", as: "t" }, joins: [], where: null, groupBy: null, having: null, select: ["id", "name", "n"].map((c) => ({ as: c, expr: col(c) })), distinct: false, with: [], orderBy: [], limit: null, offset: null }), {}] });
}

async function failure(p: Promise<unknown>): Promise<{ kind: string; message: string }> {
  return p.then(
    () => {
      throw new Error("expected a failure");
    },
    (err: unknown) => err as { kind: string; message: string },
  );
}

describe.each(WITH_CLUSTER)("returning routes ($name)", (factory) => {
  const open = executorsFor(factory, afterAll);
  let ex: Executor;

  it("inserts and answers the rows as stored, projected, in the order given", async () => {
    ex = await open();
    await ex.request({ verb: "put", path: T, key: null, body: { "/state/collection/table": [SCHEMA, [[1, "a", 1]]] } });
    const plan = { rows: [[3, { param: "name" }, null], [2, "b", 2]], columns: ["name", "id"], onConflict: "error", update: null };
    expect(await post(ex, "insert_returning", plan, { name: "c" })).toEqual([["c", 3], ["b", 2]]);
    expect(await all(ex)).toEqual([[1, "a", 1], [2, "b", 2], [3, "c", null]]);
  });

  it("writes nothing when one row conflicts or is malformed", async () => {
    const conflict = await failure(post(ex, "insert_returning", { rows: [[4, "d", 4], [1, "x", 0]], columns: null, onConflict: "error", update: null }));
    expect(conflict.kind).toBe("conflict");
    const dup = await failure(post(ex, "insert_returning", { rows: [[5, "e", 5], [5, "e", 5]], columns: null, onConflict: "error", update: null }));
    expect(dup.kind).toBe("conflict");
    const badRow = await failure(post(ex, "insert_returning", { rows: [[6, "f", 6], [7, 7, 7]], columns: null, onConflict: "error", update: null }));
    expect(badRow.kind).toBe("bad_request");
    expect(await all(ex)).toEqual([[1, "a", 1], [2, "b", 2], [3, "c", null]]);
  });

  it("skips existing rows with ignore and updates the listed columns with update", async () => {
    expect(await post(ex, "insert_returning", { rows: [[1, "zz", 9], [4, "d", 4]], columns: null, onConflict: "ignore", update: null })).toEqual([[4, "d", 4]]);
    expect(await post(ex, "insert_returning", { rows: [[1, "A", 10], [5, "e", 5]], columns: null, onConflict: "update", update: [["n"], ["name"]] })).toEqual([
      [1, "a", 10],
      [5, "e", 5],
    ]);
    const keyUpdate = await failure(post(ex, "insert_returning", { rows: [[1, "A", 10]], columns: null, onConflict: "update", update: [["id"]] }));
    expect(keyUpdate.message).toMatch(/cannot update key column "id"/);
  });

  it("updates and deletes by a where expression, answering the rows in key order", async () => {
    const where: QueryExpr = { t: "cmp", op: ">=", l: col("id"), r: { t: "value", value: { param: "min" } } };
    const upd = { where, set: [["n", { t: "value", value: { param: "n" } }], ["name", col("name")]], columns: ["id", "n"] };
    expect(await post(ex, "update_returning", upd, { min: 4, n: 0 })).toEqual([[4, 0], [5, 0]]);
    expect(await post(ex, "delete_returning", { where: { t: "isNull", e: col("n") }, columns: ["name"] })).toEqual([["c"]]);
    expect(await all(ex)).toEqual([[1, "a", 10], [2, "b", 2], [4, "d", 0], [5, "e", 0]]);
    expect(await post(ex, "delete_returning", { where: { t: "cmp", op: ">", l: col("n"), r: lit(100) }, columns: null })).toEqual([]);
    // A subquery in where reads the table as it was before the statement.
    const zeros = { v: 1, from: { table: "t", as: "z" }, joins: [], where: { t: "cmp", op: "=", l: { t: "col", src: "z", col: "n" }, r: lit(0) }, groupBy: null, having: null, select: [{ as: "id", expr: { t: "col", src: "z", col: "id" } }], distinct: false, with: [], orderBy: [], limit: null, offset: null };
    const bump = {
      where: { t: "inQuery", e: col("id"), query: zeros, negate: false },
      set: [["name", { t: "value", value: { lit: "zero" } }], ["n", col("id")]],
      columns: null,
    };
    expect(await post(ex, "update_returning", bump)).toEqual([[4, "zero", 4], [5, "zero", 5]]);
    expect(await post(ex, "update_returning", { ...bump, set: [["name", lit("again")]] })).toEqual([]);
  });

  it("takes the rows from one parameter holding them, as they are", async () => {
    const plan = { rows: { param: "rows" }, columns: ["id", "name"], onConflict: "ignore", update: null };
    // Row 1 exists (ignored); a cell shaped like a parameter reference is a value here, not a reference.
    const rows: Json = [[1, "x", 0], [6, "f", 6], [7, "g", null]];
    expect(await post(ex, "insert_returning", plan, { rows })).toEqual([[6, "f"], [7, "g"]]);
    const asText = await failure(post(ex, "insert_returning", plan, { rows: [[8, { param: "name" }, 1]], name: "h" }));
    expect(asText.kind).toBe("bad_request");
    const upd = { rows: { param: "rows" }, columns: null, onConflict: "update", update: [["n"], ["name"]] };
    expect(await post(ex, "insert_returning", upd, { rows: [[6, "F", 60], [7, "G", 70]] })).toEqual([[6, "f", 60], [7, "G", null]]);
    const miscounted = await failure(post(ex, "insert_returning", upd, { rows: [[6, "F", 60]] }));
    expect(miscounted.message).toMatch(/update lists 2 column sets for 1 rows/);
    for (const [given, re] of [
      [undefined, /missing parameter "rows"/],
      [5, /parameter "rows" must hold a tuple of row tuples/],
      [[[9, "i", 9], 9], /parameter "rows" must hold a tuple of row tuples/],
      [[[9, "i"]], /has 3 values/],
    ] as const) {
      const e = await failure(post(ex, "insert_returning", plan, given === undefined ? {} : { rows: given as Json }));
      expect(e.kind, String(re)).toBe("bad_request");
      expect(e.message).toMatch(re);
    }
    const bad = await failure(post(ex, "insert_returning", { ...plan, rows: { param: "rows", extra: 1 } }, { rows: [] }));
    expect(bad.message).toMatch(/invalid plan at plan\.rows/);
    await post(ex, "delete_returning", { where: { t: "cmp", op: ">=", l: col("id"), r: lit(6) }, columns: null });
  });

  it("runs a plan text again on the tables as they are now (a table dropped, re-created or altered since)", async () => {
    const w = "/state/r2/w";
    const u = "/state/r2/u";
    const ID: Json = [[["id", `${S}number/int/64`]], []];
    await ex.request({ verb: "put", path: w, key: null, body: { "/state/collection/table": [SCHEMA, [[1, "a", 1], [2, "b", 2], [3, "c", 3]]] } });
    await ex.request({ verb: "put", path: u, key: null, body: { "/state/collection/table": [[ID, []], [[1], [2]]] } });
    const ids = { v: 1, from: { table: "u", as: "u" }, joins: [], where: null, groupBy: null, having: null, select: [{ as: "id", expr: { t: "col", src: "u", col: "id" } }], distinct: false, with: [], orderBy: [], limit: null, offset: null };
    const plan = { where: { t: "inQuery", e: col("id"), query: ids, negate: false }, set: [["n", { t: "value", value: { param: "n" } }]], columns: null };
    const run = (n: number) => ex.request({ verb: "post", path: `${w}/update_returning`, body: { plan: JSON.stringify(plan), params: { n } } });
    expect(await run(10)).toEqual([[1, "a", 10], [2, "b", 10]]);
    expect(await run(11)).toEqual([[1, "a", 11], [2, "b", 11]]);
    // The same tables, their rows changed: the subquery is read again (not the last call's values).
    await ex.request({ verb: "delete", path: u, key: [2] });
    expect(await run(9)).toEqual([[1, "a", 9]]);
    await ex.request({ verb: "put", path: `${u}/insert`, key: [2], body: [] });
    expect(await run(11)).toEqual([[1, "a", 11], [2, "b", 11]]);
    // The subquery's table replaced by another of that name.
    await ex.request({ verb: "delete", path: u, key: null });
    await ex.request({ verb: "put", path: u, key: null, body: { "/state/collection/table": [[ID, []], [[3]]] } });
    expect(await run(12)).toEqual([[3, "c", 12]]);
    // The written table altered: a column appended (rows kept), then the same text.
    const wider: Json = [[[["id", `${S}number/int/64`]], [["name", `${S}string`], ["n", `${S}number/int/64`, null, { nullable: true }], ["z", `${S}number/int/64`]]], []];
    await ex.request({ verb: "put", path: `${w}/alter`, key: null, body: { schema: wider, columns: { z: ["value", 0] } } });
    expect(await run(13)).toEqual([[3, "c", 13, 0]]);
    const del = { where: { t: "inQuery", e: col("id"), query: ids, negate: false }, columns: ["id"] };
    const drop = () => ex.request({ verb: "post", path: `${w}/delete_returning`, body: { plan: JSON.stringify(del), params: {} } });
    await ex.request({ verb: "put", path: `${u}/insert`, key: [1], body: [] });
    expect(await drop()).toEqual([[1], [3]]);
    expect(await drop()).toEqual([]);
    await ex.request({ verb: "delete", path: u, key: null });
    expect((await failure(drop())).kind).toBe("not_found");
  });

  it("refuses bad plans, and other verbs", async () => {
    const cases: [string, unknown, RegExp, Record<string, Json>?][] = [
      ["update_returning", { where: null, set: [["id", lit(1)]], columns: null }, /cannot update key column "id"/],
      ["update_returning", { where: null, set: [["nope", lit(1)]], columns: null }, /no column "nope"/],
      ["update_returning", { where: null, set: [["n", lit("x")]], columns: null }, /column "n"/],
      ["update_returning", { where: { t: "cmp", op: "=", l: col("n"), r: { t: "value", value: { param: "p" } } }, set: [["n", lit(1)]], columns: null }, /missing parameter "p"/],
      ["delete_returning", { where: { t: "cmp", op: "=", l: col("name"), r: lit(1) }, columns: null }, /type mismatch/],
      ["delete_returning", { where: null, columns: ["nope"] }, /no column "nope"/],
      ["insert_returning", { rows: [[9, { param: "q" }, 1]], columns: null, onConflict: "error", update: null }, /missing parameter "q"/],
      ["insert_returning", { rows: [], columns: null, onConflict: "maybe", update: null }, /invalid plan at plan\.onConflict/],
    ];
    for (const [route, plan, re, params] of cases) {
      const e = await failure(post(ex, route, plan, params));
      expect(e.kind, String(re)).toBe("bad_request");
      expect(e.message).toMatch(re);
    }
    const get = await failure(ex.request({ verb: "get", path: `${T}/delete_returning`, key: null }));
    expect(get.kind).toBe("method_not_allowed");
    expect(await all(ex)).toEqual([[1, "a", 10], [2, "b", 2], [4, "zero", 4], [5, "zero", 5]]);
  });
});

describe.each([
  ["memory", false],
  ["durable", true],
] as const)("update and delete returning read only the rows their where can match (%s)", (_name, durable) => {
  it("a key equality or range is a lookup, not a scan of the table: it fits a step budget a scan exceeds", async () => {
    const dir = durable ? mkdtempSync(join(tmpdir(), "ret-narrow-")) : undefined;
    // Every row read counts as a step: 20,000 rows cannot be read under 5,000 steps.
    const big = embedded({ dataDir: dir, limits: { maxSteps: 5_000 } });
    try {
      await big.request({ verb: "put", path: T, key: null, body: { "/state/collection/table": [SCHEMA, []] } });
      for (let lo = 0; lo < 20_000; lo += 1_000) {
        await big.request({ verb: "put", path: `${T}/insert_rows`, key: null, body: Array.from({ length: 1_000 }, (_, i) => [lo + i, "x", (lo + i) % 7]) as Json });
      }
      const id = (op: string, v: number): QueryExpr => ({ t: "cmp", op, l: col("id"), r: lit(v) }) as QueryExpr;
      const p = { t: "cmp", op: "=", l: col("id"), r: { t: "value", value: { param: "k" } } } as QueryExpr;
      expect(await post(big, "update_returning", { where: p, set: [["name", lit("y")]], columns: ["id", "name"] }, { k: 12_345 })).toEqual([[12_345, "y"]]);
      const range = { t: "and", of: [id(">=", 100), id("<", 103)] } as unknown as QueryExpr;
      expect(await post(big, "update_returning", { where: range, set: [["n", lit(-1)]], columns: ["id", "n"] })).toEqual([[100, -1], [101, -1], [102, -1]]);
      expect(await post(big, "delete_returning", { where: { t: "and", of: [id("=", 9), { t: "cmp", op: "=", l: col("n"), r: lit(2) }] }, columns: ["id"] })).toEqual([[9]]);
      expect(await post(big, "delete_returning", { where: { t: "and", of: [id("=", 10), { t: "cmp", op: "=", l: col("n"), r: lit(2) }] }, columns: ["id"] })).toEqual([]);
      // The same statement with a predicate no index serves reads every row, over the budget.
      await expect(post(big, "update_returning", { where: { t: "cmp", op: "=", l: col("n"), r: lit(5) }, set: [["name", lit("z")]], columns: ["id"] })).rejects.toThrow(/step budget/);
      expect(await post(big, "delete_returning", { where: id("=", 12_345), columns: null })).toEqual([[12_345, "y", 12_345 % 7]]);
    } finally {
      await big.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });
});
