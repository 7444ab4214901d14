/**
 * The `alter` route (PROFILE §6.13) at the wire level, on every executor: what it does to rows,
 * indexes and the catalog, every bad input as a typed error that changes nothing, and a rollback
 * (a failed op, a session) that puts the old table back.
 */
import { afterAll, describe, expect, it } from "vitest";
import { BadRequestError, ConflictError, MethodNotAllowedError } from "../../src/errors.js";
import type { Executor } from "../../src/executor.js";
import type { Json } from "../../src/ir/types.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

const U64 = "/state/scalar/value/number/uint/64";
const U32 = "/state/scalar/value/number/uint/32";
const STR = "/state/scalar/value/string";
const OLD: Json = [[[["id", U64]], [["name", STR, 8], ["qty", U32]]], [["by_qty", ["qty"]]]];
const NEW: Json = [[[["id", U64]], [["label", STR, 16], ["qty", U32], ["score", U32]]], [["by_score", ["score"]]]];
const ROWS: Json = [[1, "a", 5], [2, "b", 5], [3, "c", 7]];

async function seeded(ex: Executor, ns: string): Promise<string> {
  await ex.request({ verb: "put", path: `/state/${ns}/t`, key: null, body: { "/state/collection/table": [OLD, ROWS] } });
  return `/state/${ns}/t`;
}

/** The rows of a slice `GET <table>` with a selector (from the table literal it answers). */
async function slice(ex: Executor, path: string, key: Json): Promise<Json> {
  const lit = (await ex.request({ verb: "get", path, key })) as Record<string, Json[]>;
  return lit["/state/collection/table"]![1]!;
}

const alter = (ex: Executor, path: string, body: Json) => ex.request({ verb: "put", path: `${path}/alter`, key: null, body });

async function unchanged(ex: Executor, path: string): Promise<void> {
  expect(await ex.request({ verb: "get", path: `${path}/schema`, key: null })).toEqual(OLD);
  expect(await ex.request({ verb: "get", path: `${path}/rows`, key: null })).toEqual(ROWS);
}

let n = 0;

describe.each(WITH_CLUSTER)("PUT <table>/alter on $name", (factory) => {
  const create = executorsFor(factory, afterAll);

  it("rewrites the rows into the new schema, renames, builds the new indexes", async () => {
    const ex = await create();
    const path = await seeded(ex, `a${n++}`);
    const ns = path.split("/")[2]!;
    const body = { schema: NEW, columns: { label: ["column", "name"], score: ["values", [10, 20, 30]] }, rename: "u", expect: OLD, unique: ["score"] };
    expect(await alter(ex, path, body)).toBe(3);
    expect(await ex.request({ verb: "get", path: `/state/${ns}/u/rows`, key: null })).toEqual([[1, "a", 5, 10], [2, "b", 5, 20], [3, "c", 7, 30]]);
    expect(await ex.request({ verb: "get", path: `/state/${ns}/u/schema`, key: null })).toEqual(NEW);
    expect(await ex.request({ verb: "get", path: `/state/${ns}/u/count`, key: [["score", [["in", 15], null]]] })).toBe(2);
    await expect(ex.request({ verb: "get", path: `${path}/schema`, key: null })).rejects.toThrow(`table ${path} not found`);
  });

  it("keeps composite-key rows readable through kept and moved indexes after a rewrite and after appended columns", async () => {
    const ex = await create();
    const path = `/state/a${n++}/c`;
    const two: Json = [[[["a", U32], ["b", STR, 4]], [["c", U32], ["d", STR]]], [["by_c", ["c"]], ["by_d", ["d"]]]];
    const rows: Json = [[1, "x", 9, "p"], [1, "y", 8, "q"], [2, "x", 9, "r"], [3, "z", 7, "s"]];
    await ex.request({ verb: "put", path, key: null, body: { "/state/collection/table": [two, rows] } });
    // a rewrite with the same keys: `d` gets new cells; by_c (unchanged cells) stays, by_d is rebuilt
    await alter(ex, path, { schema: two, columns: { d: ["values", ["P", "Q", "R", "S"]] } });
    expect(await slice(ex, path, [["c", 9]])).toEqual([[1, "x", 9, "P"], [2, "x", 9, "R"]]);
    expect(await slice(ex, path, [["d", "Q"]])).toEqual([[1, "y", 8, "Q"]]);
    expect(await slice(ex, path, [["a", 1], ["b", "y"]])).toEqual([[1, "y", 8, "Q"]]);
    // appended columns, indexes reordered (by_d first, a new one on the new column)
    const wider: Json = [[[["a", U32], ["b", STR, 4]], [["c", U32], ["d", STR], ["e", U32], ["f", STR, null, { nullable: true }]]], [["by_d", ["d"]], ["by_e", ["e", "c"]], ["by_c", ["c"]]]];
    await alter(ex, path, { schema: wider, columns: { e: ["value", 4] } });
    await ex.request({ verb: "put", path: `${path}/insert`, key: [4, "w"], body: [9, "T", 5, "new"] });
    expect(await slice(ex, path, [["c", 9]])).toEqual([[1, "x", 9, "P", 4, null], [2, "x", 9, "R", 4, null], [4, "w", 9, "T", 5, "new"]]);
    expect(await slice(ex, path, [["e", 4]])).toEqual([[3, "z", 7, "S", 4, null], [1, "y", 8, "Q", 4, null], [1, "x", 9, "P", 4, null], [2, "x", 9, "R", 4, null]]);
    expect(await ex.request({ verb: "get", path: `${path}/count`, key: [["e", 4]] })).toBe(4);
    expect(await slice(ex, path, [["d", "S"]])).toEqual([[3, "z", 7, "S", 4, null]]);
  });

  it("refuses bad input with a typed error and changes nothing", async () => {
    const ex = await create();
    const path = await seeded(ex, `a${n++}`);
    const cases: [Json, new (...a: never[]) => Error, string][] = [
      [[1, 2], BadRequestError, "the body is a map"],
      [{ schema: NEW, bogus: 1 }, BadRequestError, 'unknown field "bogus"'],
      [{ columns: {} }, BadRequestError, 'needs the new schema (field "schema")'],
      [{ schema: [[1]] }, BadRequestError, "invalid table schema"],
      [{ schema: NEW, columns: { label: ["column", "name"] } }, BadRequestError, 'new column "score" is not nullable and has no source'],
      [{ schema: NEW, columns: { label: ["column", "nope"], score: ["value", 1] } }, BadRequestError, "taken from unknown column"],
      [{ schema: NEW, columns: { label: ["copy", "name"], score: ["value", 1] } }, BadRequestError, 'unknown source kind "copy"'],
      [{ schema: NEW, columns: { label: ["column", "name"], score: ["values", [1]] } }, BadRequestError, '"values" has 1 values for 3 rows'],
      [{ schema: NEW, columns: { label: ["column", "name"], score: ["value", -1] } }, BadRequestError, "score"],
      [{ schema: NEW, columns: { label: ["value", "x".repeat(17)], score: ["value", 1] } }, BadRequestError, "label"],
      [{ schema: NEW, columns: { label: ["column", "name"], score: ["value", 1], zz: ["value", 1] } }, BadRequestError, 'columns names "zz"'],
      [{ schema: NEW, columns: { label: ["column", "name"], score: ["value", 1] }, unique: ["qty"] }, ConflictError, 'cannot make column qty unique: existing rows repeat 1 value(s): 5 at keys [1], [2]'],
      [{ schema: NEW, columns: { label: ["column", "name"], score: ["value", 1] }, expect: NEW }, ConflictError, "no longer the expected one"],
      [{ schema: NEW, columns: { label: ["column", "name"], score: ["value", 1] }, rename: "a/b" }, BadRequestError, "table name"],
    ];
    for (const [body, kind, message] of cases) {
      const e = await alter(ex, path, body).catch((x: unknown) => x);
      expect(e, JSON.stringify(body)).toBeInstanceOf(kind);
      expect((e as Error).message).toContain(message);
    }
    await ex.request({ verb: "put", path: path.replace(/t$/, "other"), key: null, body: { "/state/collection/table": [OLD, []] } });
    const taken = await alter(ex, path, { schema: OLD, rename: "other" }).catch((x: unknown) => x);
    expect(taken).toBeInstanceOf(ConflictError);
    expect((taken as Error).message).toContain("a table exists there");
    await expect(ex.request({ verb: "get", path: `${path}/alter`, key: null })).rejects.toThrow(MethodNotAllowedError);
    await expect(ex.request({ verb: "put", path: `${path}/alter`, key: [1], body: { schema: OLD } })).rejects.toThrow(BadRequestError);
    await unchanged(ex, path);
  });

  it("a failed op after the alter, or a rolled-back session, puts the old table back", async () => {
    const ex = await create();
    const path = await seeded(ex, `a${n++}`);
    const body = { schema: NEW, columns: { label: ["column", "name"], score: ["value", 1] } };
    const op = { "/state/scalar/op/post": [["a", { [`${path}/alter`]: [null, body] }], ["b", { "/state/scalar/ref/after": [{ $a: [] }, { [`${path}/insert`]: [[1], ["dup", 1, 1]] }] }]] };
    await expect(ex.execute(op as Json)).rejects.toThrow(ConflictError);
    await unchanged(ex, path);
    const s = await ex.session();
    await s.request({ verb: "put", path: `${path}/alter`, key: null, body });
    expect(await s.request({ verb: "get", path: `${path}/schema`, key: null })).toEqual(NEW);
    await s.rollback();
    await unchanged(ex, path);
  });

  it("an index-only change shares the rows; writes after it, and a rollback, leave each table right", async () => {
    const ex = await create();
    const path = await seeded(ex, `a${n++}`);
    const IDX: Json = [[[["id", U64]], [["name", STR, 8], ["qty", U32]]], [["by_name", ["name"]]]];
    const s = await ex.session();
    await s.request({ verb: "put", path: `${path}/alter`, key: null, body: { schema: IDX } });
    await s.request({ verb: "put", path, key: [4], body: ["a", 9] });
    await s.request({ verb: "delete", path, key: [1] });
    expect(await s.request({ verb: "get", path: `${path}/count`, key: [["name", "a"]] })).toBe(1);
    await s.rollback();
    await unchanged(ex, path);
    expect(await ex.request({ verb: "get", path: `${path}/count`, key: [["qty", 5]] })).toBe(2);
    await alter(ex, path, { schema: IDX, expect: OLD });
    await ex.request({ verb: "put", path, key: [4], body: ["a", 9] });
    await ex.request({ verb: "put", path, key: [2], body: ["z", 1] });
    expect(await ex.request({ verb: "get", path: `${path}/count`, key: [["name", "a"]] })).toBe(2);
    expect(await ex.request({ verb: "get", path: `${path}/rows`, key: null })).toEqual([[1, "a", 5], [2, "z", 1], [3, "c", 7], [4, "a", 9]]);
    await expect(ex.request({ verb: "get", path: `${path}/count`, key: [["qty", 5]] })).rejects.toThrow(BadRequestError);
  });
});
