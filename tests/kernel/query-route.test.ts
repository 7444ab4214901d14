/**
 * The `query` route's semantics, errors and budgets (PROFILE §6.11), on every executor, with raw
 * plans: three-valued logic, like/escape, in lists and subqueries, joins (index lookup, hash and
 * loop give the same rows), aggregates and their misuse, the order tiebreak (the same rows
 * whatever index serves the order, also read in reverse), nested loads three levels deep, and
 * sessions reading their own writes. The extension list of `GET /host` too.
 */
import { afterAll, describe, expect, it } from "vitest";
import { MissingExtensionError } from "../../src/errors.js";
import { requireExtensions, type Executor, type Runner } from "../../src/executor.js";
import type { QueryExpr, QueryPlan } from "../../src/ir/query-plan.js";
import type { Json } from "../../src/ir/types.js";
import { decodeOpDef } from "../../src/ir/index.js";
import { embedded, Kernel } from "../../src/kernel/index.js";
import { directTraverse } from "../../src/kernel/ops/direct-traverse.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

const S = "/state/scalar/value/";
const INT = `${S}number/int/64`;
const STR = `${S}string`;
const N = { nullable: true };

const col = (src: string, c: string): QueryExpr => ({ t: "col", src, col: c });
const lit = (v: unknown): QueryExpr => ({ t: "value", value: { lit: v } });
const param = (name: string): QueryExpr => ({ t: "value", value: { param: name } });
const eq = (l: QueryExpr, r: QueryExpr): QueryExpr => ({ t: "cmp", op: "=", l, r });
const outer = (src: string, c: string): QueryExpr => ({ t: "outer", src, col: c });
const count: QueryExpr = { t: "agg", fn: "count", arg: null, distinct: false };

function plan(table: string, as: string, over: Partial<QueryPlan> = {}): QueryPlan {
  return {
    v: 1,
    from: { table, as },
    joins: [],
    where: null,
    groupBy: null,
    having: null,
    select: [{ as: "id", expr: col(as, "id") }],
    distinct: false,
    with: [],
    orderBy: [],
    limit: null,
    offset: null,
    ...over,
  };
}

function query(r: Runner, ns: string, p: QueryPlan, params: Record<string, Json> = {}): Promise<Json> {
  return r.request({ verb: "get", path: `/state/${ns}/${p.from.table}/query`, key: [JSON.stringify(p), params] });
}

async function create(ex: Runner, ns: string, name: string, schema: Json, rows: Json[]): Promise<void> {
  await ex.request({ verb: "put", path: `/state/${ns}/${name}`, key: null, body: { "/state/collection/table": [schema, rows] } });
}

/** users(id, name, age?) by age; posts(id, author, title) by author; comments(id, post, body). */
async function social(ex: Runner, ns: string): Promise<void> {
  await create(ex, ns, "users", [[[["id", INT]], [["name", STR], ["age", INT, null, N]]], [["by_age", ["age"]]]], [
    [1, "ada", 30],
    [2, "bob", null],
    [3, "cy", 30],
    [4, "dee", 20],
    [5, "eve", 30],
  ]);
  await create(ex, ns, "posts", [[[["id", INT]], [["author", INT], ["title", STR]]], [["by_author", ["author"]]]], [
    [10, 1, "a1"],
    [11, 1, "a2"],
    [12, 3, "c1"],
    [13, 1, "a3"],
  ]);
  // No index on `post`: joins and nested loads on it are hash joins / scans.
  await create(ex, ns, "comments", [[[["id", INT]], [["post", INT], ["body", STR]]], []], [
    [100, 10, "x"],
    [101, 10, "y"],
    [102, 12, "z"],
  ]);
  // The same rows as users, without any secondary index.
  await create(ex, ns, "users2", [[[["id", INT]], [["name", STR], ["age", INT, null, N]]], []], [
    [1, "ada", 30],
    [2, "bob", null],
    [3, "cy", 30],
    [4, "dee", 20],
    [5, "eve", 30],
  ]);
}

async function failure(p: Promise<unknown>): Promise<{ kind: string; message: string }> {
  const e = await p.then(
    () => {
      throw new Error("expected a failure");
    },
    (err: unknown) => err as { kind: string; message: string },
  );
  return e;
}

describe.each(WITH_CLUSTER)("query route ($name)", (factory) => {
  const open = executorsFor(factory, afterAll);
  let ex: Executor;
  const ns = "q";
  it("sets up", async () => {
    ex = await open();
    await social(ex, ns);
  });

  it("lists query and returning in GET /host and in extensions()", async () => {
    const info = (await ex.request({ verb: "get", path: "/host", key: null })) as { extensions: string[] };
    expect(info.extensions).toEqual(expect.arrayContaining(["filter", "sort", "insert_rows", "traverse", "query", "returning"]));
    const served = await ex.extensions!();
    expect([...served].sort()).toEqual([...info.extensions].sort());
    await expect(requireExtensions(ex, ["query", "returning"])).resolves.toBeUndefined();
    await expect(requireExtensions(ex, ["no_such_extension"])).rejects.toBeInstanceOf(MissingExtensionError);
    const s = await ex.session();
    expect((await s.extensions!()).has("query")).toBe(true);
    await s.rollback();
  });

  it("keeps a row only when where is true (three-valued logic)", async () => {
    const age = col("u", "age");
    const ids = (where: QueryExpr) => query(ex, ns, plan("users", "u", { where }));
    // bob's age is null: neither `age = 30` nor `not (age = 30)` holds for him.
    expect(await ids(eq(age, lit(30)))).toEqual([[1], [3], [5]]);
    expect(await ids({ t: "not", e: eq(age, lit(30)) })).toEqual([[4]]);
    expect(await ids({ t: "or", of: [eq(age, lit(20)), eq(age, lit(null))] })).toEqual([[4]]);
    expect(await ids({ t: "not", e: { t: "and", of: [eq(age, lit(null)), lit(false)] } })).toEqual([[1], [2], [3], [4], [5]]);
    expect(await ids({ t: "isNull", e: age })).toEqual([[2]]);
    expect(await ids({ t: "between", e: age, low: lit(20), high: param("hi"), negate: false }).catch((e) => e.message)).toMatch(/missing parameter "hi"/);
  });

  it("answers in and not in with SQL's null rules, and in over a subquery", async () => {
    const age = col("u", "age");
    const ids = (where: QueryExpr, params: Record<string, Json> = {}) => query(ex, ns, plan("users", "u", { where }), params);
    expect(await ids({ t: "in", e: age, list: { param: "ages" }, negate: false }, { ages: [20, 99] })).toEqual([[4]]);
    expect(await ids({ t: "in", e: age, list: { param: "ages" }, negate: true }, { ages: [20] })).toEqual([[1], [3], [5]]);
    // NOT IN a list holding null is never true.
    expect(await ids({ t: "in", e: age, list: [lit(20), lit(null)], negate: true })).toEqual([]);
    expect(await ids({ t: "in", e: age, list: [], negate: true })).toEqual([[1], [2], [3], [4], [5]]);
    // In a list on a column leading an index (lookups per listed value): the rows by key.
    const keys = { t: "in", e: col("u", "id"), list: { param: "ids" }, negate: false } as const;
    expect(await ids(keys, { ids: [5, 1, 5, null, 3, 9] })).toEqual([[1], [3], [5]]);
    expect(await query(ex, ns, plan("users", "u", { where: keys, limit: { lit: 2 } }), { ids: [5, 1, 3] })).toEqual([[1], [3]]);
    expect(await ids({ t: "in", e: age, list: [lit(30), lit(20)], negate: false })).toEqual([[1], [3], [4], [5]]);
    const authors = plan("posts", "p", { select: [{ as: "a", expr: col("p", "author") }] });
    expect(await ids({ t: "inQuery", e: col("u", "id"), query: authors, negate: false })).toEqual([[1], [3]]);
    expect(await ids({ t: "inQuery", e: col("u", "id"), query: authors, negate: true })).toEqual([[2], [4], [5]]);
    const e = await failure(ids({ t: "in", e: age, list: { param: "ages" }, negate: false }, { ages: ["x"] }));
    expect(e.kind).toBe("bad_request");
    expect(e.message).toMatch(/in list/);
  });

  it("matches like patterns case-sensitively, with an escape, and refuses malformed ones", async () => {
    await create(ex, ns, "words", [[[["id", INT]], [["w", STR]]], []], [
      [1, "a_b"],
      [2, "axb"],
      [3, "A_B"],
      [4, "\u{1F600}b"],
      [5, "50%"],
    ]);
    const like = (p: string, escape: string | null = "\\", negate = false) =>
      query(ex, ns, plan("words", "w", { where: { t: "like", e: col("w", "w"), pattern: param("p"), escape, negate } }), { p });
    expect(await like("a_b")).toEqual([[1], [2]]);
    expect(await like("a\\_b")).toEqual([[1]]);
    expect(await like("_b")).toEqual([[4]]);
    expect(await like("%\\%")).toEqual([[5]]);
    expect(await like("a%", null, true)).toEqual([[3], [4], [5]]);
    expect((await failure(like("a\\"))).message).toMatch(/malformed like pattern.*ends/);
    expect((await failure(like("a\\b"))).message).toMatch(/malformed like pattern.*must precede/);
    expect((await failure(like("a", "ab"))).message).toMatch(/escape is one character/);
  });

  it("joins inner and left, by index lookup, hash or loop, with the same rows", async () => {
    const on = eq(col("p", "author"), col("u", "id"));
    const select = [
      { as: "u", expr: col("u", "id") },
      { as: "p", expr: col("p", "id") },
    ];
    const left = (table: string) => query(ex, ns, plan(table, "u", { joins: [{ table: "posts", as: "p", kind: "left", on }], select }));
    const expected = [[1, 10], [1, 11], [1, 13], [2, null], [3, 12], [4, null], [5, null]];
    expect(await left("users")).toEqual(expected);
    // posts → users and → users2 (the same rows, without the secondary index): the same pairs.
    const byPost = (table: string) =>
      query(ex, ns, plan("posts", "p", { joins: [{ table, as: "u", kind: "inner", on }], select, orderBy: [{ expr: col("u", "id"), desc: true }] }));
    expect(await byPost("users")).toEqual(await byPost("users2"));
    expect(await byPost("users")).toEqual([[3, 12], [1, 10], [1, 11], [1, 13]]);
    // A loop join (no equality) and a three-table chain through an unindexed column (hash).
    const loop = await query(ex, ns, plan("users", "u", {
      joins: [{ table: "posts", as: "p", kind: "inner", on: { t: "cmp", op: ">", l: col("p", "author"), r: col("u", "id") } }],
      select,
    }));
    expect(loop).toEqual([[1, 12], [2, 12]]);
    const chain = await query(ex, ns, plan("users", "u", {
      joins: [
        { table: "posts", as: "p", kind: "inner", on },
        { table: "comments", as: "c", kind: "left", on: eq(col("c", "post"), col("p", "id")) },
      ],
      select: [...select, { as: "c", expr: col("c", "body") }],
    }));
    expect(chain).toEqual([[1, 10, "x"], [1, 10, "y"], [1, 11, null], [1, 13, null], [3, 12, "z"]]);
  });

  it("aggregates with groupBy, having, distinct and the implicit single group", async () => {
    const age = col("u", "age");
    const grouped = await query(ex, ns, plan("users", "u", {
      groupBy: [age],
      select: [
        { as: "age", expr: age },
        { as: "n", expr: count },
        { as: "sum", expr: { t: "agg", fn: "sum", arg: col("u", "id"), distinct: false } },
        { as: "avg", expr: { t: "agg", fn: "avg", arg: col("u", "id"), distinct: false } },
        { as: "min", expr: { t: "agg", fn: "min", arg: col("u", "name"), distinct: false } },
      ],
      having: { t: "cmp", op: ">=", l: count, r: lit(1) },
      orderBy: [{ expr: count, desc: true }],
    }));
    expect(grouped).toEqual([[30, 3, 9, 3, "ada"], [null, 1, 2, 2, "bob"], [20, 1, 4, 4, "dee"]]);
    const none = await query(ex, ns, plan("users", "u", {
      where: eq(age, lit(99)),
      select: [
        { as: "n", expr: count },
        { as: "max", expr: { t: "agg", fn: "max", arg: age, distinct: false } },
        { as: "d", expr: { t: "agg", fn: "count", arg: age, distinct: true } },
      ],
    }));
    expect(none).toEqual([[0, null, 0]]);
    const distinct = await query(ex, ns, plan("users", "u", { select: [{ as: "age", expr: age }], distinct: true, orderBy: [{ expr: age, desc: true }] }));
    expect(distinct).toEqual([[30], [20], [null]]);
    expect((await failure(query(ex, ns, plan("users", "u", { groupBy: [age], select: [{ as: "n", expr: col("u", "name") }] })))).message).toMatch(
      /column u\.name must appear in groupBy/,
    );
    expect((await failure(query(ex, ns, plan("users", "u", { where: { t: "cmp", op: ">", l: count, r: lit(1) } })))).message).toMatch(/aggregate/);
    expect((await failure(query(ex, ns, plan("users", "u", { select: [{ as: "s", expr: { t: "agg", fn: "sum", arg: col("u", "name"), distinct: false } }] })))).message).toMatch(
      /sum takes a number/,
    );
  });

  it("breaks ties by primary key ascending, whatever index serves the order", async () => {
    for (const desc of [false, true]) {
      for (const [limit, offset] of [[2, 0], [3, 1], [10, 0]]) {
        const p = (table: string) =>
          plan(table, "u", { orderBy: [{ expr: col("u", "age"), desc }], limit: { lit: limit }, offset: { lit: offset } });
        const indexed = await query(ex, ns, p("users"));
        expect(indexed).toEqual(await query(ex, ns, p("users2")));
      }
    }
    expect(await query(ex, ns, plan("users", "u", { orderBy: [{ expr: col("u", "age"), desc: true }], limit: { lit: 3 } }))).toEqual([[1], [3], [5]]);
    expect(await query(ex, ns, plan("users", "u", { orderBy: [{ expr: col("u", "age"), desc: true }] }))).toEqual([[1], [3], [5], [4], [2]]);
    expect(await query(ex, ns, plan("users", "u", { orderBy: [{ expr: col("u", "age"), desc: false }, { expr: col("u", "name"), desc: true }] }))).toEqual([[2], [4], [5], [3], [1]]);
    // An index on (city, n) read for city alone gives rows by n: the result is still by key.
    await create(ex, ns, "people", [[[["id", INT]], [["city", STR], ["n", INT]]], [["by_city_n", ["city", "n"]]]], [
      [1, "x", 9],
      [2, "x", 1],
      [3, "y", 5],
      [4, "x", 5],
    ]);
    const inX = (over: Partial<QueryPlan>) => query(ex, ns, plan("people", "p", { where: eq(col("p", "city"), lit("x")), ...over }));
    expect(await inX({})).toEqual([[1], [2], [4]]);
    expect(await inX({ limit: { lit: 2 } })).toEqual([[1], [2]]);
    expect(await inX({ where: { t: "cmp", op: ">", l: col("p", "n"), r: lit(0) }, limit: { lit: 3 } })).toEqual([[1], [2], [3]]);
    // Joined through that index (its first column), the joined rows come by key too.
    const viaCity = await query(ex, ns, plan("words", "w", {
      joins: [{ table: "people", as: "p", kind: "inner", on: eq(col("p", "city"), lit("x")) }],
      select: [{ as: "w", expr: col("w", "id") }, { as: "p", expr: col("p", "id") }],
      limit: { lit: 4 },
    }));
    expect(viaCity).toEqual([[1, 1], [1, 2], [1, 4], [2, 1]]);
    // Many rows for the index prefix and a small limit (the first rows by key are selected, not
    // sorted): the same pages as with every row sorted, also when filters or joins drop rows.
    const many: Json[] = [];
    for (let i = 0; i < 300; i++) many.push([(i * 7919) % 1000, i % 3 === 0 ? "m" : "n", (i * 31) % 17]);
    await create(ex, ns, "crowd", [[[["id", INT]], [["city", STR], ["n", INT]]], [["by_city_n", ["city", "n"]]]], many);
    await create(ex, ns, "crowd2", [[[["id", INT]], [["city", STR], ["n", INT]]], []], many);
    for (const [limit, offset] of [[1, 0], [5, 0], [5, 3], [20, 0], [200, 10]]) {
      for (const where of [eq(col("c", "city"), lit("n")), { t: "and", of: [eq(col("c", "city"), lit("n")), { t: "cmp", op: ">", l: col("c", "n"), r: lit(12) }] } as QueryExpr]) {
        for (const joins of [[], [{ table: "people", as: "p", kind: "inner" as const, on: eq(col("p", "city"), lit("x")) }]]) {
          const p = (table: string) =>
            plan(table, "c", { where, joins, select: [{ as: "id", expr: col("c", "id") }, ...(joins.length ? [{ as: "p", expr: col("p", "id") }] : [])], limit: { lit: limit }, offset: { lit: offset } });
          const got = await query(ex, ns, p("crowd"));
          expect(got).toEqual(await query(ex, ns, p("crowd2")));
          expect((got as unknown[]).length).toBeGreaterThan(0);
        }
      }
    }
  });

  it("loads nested rows three levels deep, per parent ordered and limited", async () => {
    const comments = plan("comments", "c", { where: eq(col("c", "post"), outer("p", "id")), select: [{ as: "body", expr: col("c", "body") }] });
    const posts = plan("posts", "p", {
      where: eq(col("p", "author"), outer("u", "id")),
      select: [{ as: "title", expr: col("p", "title") }],
      orderBy: [{ expr: col("p", "id"), desc: true }],
      limit: { param: "n" },
      with: [{ as: "comments", kind: "many", plan: comments }],
    });
    const first = plan("posts", "p", { where: eq(col("p", "author"), outer("u", "id")), select: [{ as: "title", expr: col("p", "title") }] });
    const users = plan("users", "u", {
      where: { t: "in", e: col("u", "id"), list: [lit(1), lit(2), lit(3)], negate: false },
      select: [{ as: "name", expr: col("u", "name") }],
      with: [
        { as: "posts", kind: "many", plan: posts },
        { as: "first", kind: "one", plan: first },
      ],
    });
    expect(await query(ex, ns, users, { n: 2 })).toEqual([
      ["ada", [["a3", []], ["a2", []]], ["a1"]],
      ["bob", [], null],
      ["cy", [["c1", [["z"]]]], ["c1"]],
    ]);
    expect((await failure(query(ex, ns, plan("users", "u", { where: eq(col("u", "id"), outer("x", "id")) })))).message).toMatch(/outer reference/);
  });

  it("refuses bad plans with a 400 naming the problem", async () => {
    const bad = async (p: unknown, params: Record<string, Json> = {}, path = `/state/${ns}/users/query`) =>
      failure(ex.request({ verb: "get", path, key: [typeof p === "string" ? p : JSON.stringify(p), params] }));
    const cases: [unknown, RegExp, Record<string, Json>?][] = [
      ["{", /not valid JSON/],
      [{ ...plan("users", "u"), v: 2 }, /invalid plan at plan\.v/],
      [plan("users", "u", { select: [{ as: "x", expr: col("z", "id") }] }), /unknown alias "z"/],
      [plan("users", "u", { select: [{ as: "x", expr: col("u", "nope") }] }), /unknown column "nope"/],
      [plan("users", "u", { where: eq(col("u", "age"), lit("x")) }), /type mismatch/],
      [plan("users", "u", { where: eq(col("u", "age"), param("a")) }), /missing parameter "a"/],
      [plan("users", "u", { where: eq(col("u", "age"), param("a")) }), /parameter "a" must be a number/, { a: "x" }],
      [plan("users", "u", { limit: { param: "n" } }), /parameter "n" must be a non-negative integer/, { n: -1 }],
      [plan("users", "u", { select: [{ as: "a", expr: col("u", "id") }, { as: "a", expr: col("u", "name") }] }), /named twice/],
      [plan("posts", "p"), /reads from posts/],
      [plan("users", "u", { select: [{ as: "n", expr: { t: "agg", fn: "count", arg: null, distinct: true } }] }), /cannot be distinct/],
      [plan("users", "u", { select: [{ as: "s", expr: { t: "agg", fn: "sum", arg: param("x"), distinct: false } }] }), /sum takes numbers/, { x: "a" }],
      [plan("users", "u", { select: [{ as: "x", expr: param("x") }] }), /parameter "x" must be null, a number/, { x: { deep: 1 } }],
    ];
    for (const [p, re, params] of cases) {
      const e = await bad(p, params);
      expect(e.kind, String(re)).toBe("bad_request");
      expect(e.message).toMatch(re);
    }
    let deep: QueryExpr = lit(true);
    for (let i = 0; i < 200; i++) deep = { t: "not", e: deep };
    expect((await bad(plan("users", "u", { where: deep }))).message).toMatch(/nested deeper/);
    expect((await bad(plan("nope", "n"), {}, `/state/${ns}/nope/query`)).kind).toBe("not_found");
    expect((await failure(ex.request({ verb: "put", path: `/state/${ns}/users/query`, key: [JSON.stringify(plan("users", "u")), {}], body: null }))).kind).toBe("method_not_allowed");
  });

  it("runs inside ops: alone (the direct path) and as one step of several, with the same results", async () => {
    const p = plan("users", "u", { where: { t: "cmp", op: ">=", l: col("u", "age"), r: param("min") }, orderBy: [{ expr: col("u", "age"), desc: false }] });
    const step = { [`/state/${ns}/users/query`]: [[JSON.stringify(p), { min: { $min: [] } }]] };
    const alone = { "/state/scalar/op/post": [["rows", step]] } as Json;
    const behind = { "/state/scalar/op/post": [["first", 0], ["rows", step]] } as Json;
    expect(directTraverse(decodeOpDef(alone))?.path).toEqual([ns, "users", "query"]);
    expect(directTraverse(decodeOpDef(behind))).toBeUndefined();
    expect(await ex.execute(alone, { min: 25 })).toEqual([[1], [3], [5]]);
    expect(await ex.execute(behind, { min: 25 })).toEqual([[1], [3], [5]]);
    for (const op of [alone, behind]) {
      const e = await failure(ex.execute(op, { min: "x" }));
      expect(e.kind).toBe("bad_request");
      expect(e.message).toMatch(/parameter "min" must be a number/);
    }
  });

  it("reads a session's own writes", async () => {
    const s = await ex.session();
    await s.request({ verb: "put", path: `/state/${ns}/users`, key: [6], body: ["fay", 30] });
    const p = plan("users", "u", { where: eq(col("u", "age"), lit(30)) });
    expect(await query(s, ns, p)).toEqual([[1], [3], [5], [6]]);
    await s.rollback();
    expect(await query(ex, ns, p)).toEqual([[1], [3], [5]]);
  });
});

describe("query grants", () => {
  it("needs GET on every table a plan reads, unless the grant covers the namespace", async () => {
    const k = await Kernel.open({});
    const admin: Runner = { execute: (op, args) => k.execute(op, args ?? {}), request: (req) => k.request(req) };
    await social(admin, "g");
    const grant = { paths: ["/state/g/users", "/state/g/posts"], verbs: ["get", "post"] as ("get" | "post")[] };
    const limited: Runner = { execute: (op, args) => k.execute(op, args ?? {}, undefined, grant), request: (req) => k.request(req, undefined, grant) };
    const join = plan("users", "u", { joins: [{ table: "posts", as: "p", kind: "inner", on: eq(col("p", "author"), col("u", "id")) }] });
    expect(await query(limited, "g", join)).toEqual([[1], [1], [1], [3]]);
    const toComments = plan("users", "u", { joins: [{ table: "comments", as: "c", kind: "left", on: eq(col("c", "post"), col("u", "id")) }] });
    expect((await failure(query(limited, "g", toComments))).kind).toBe("forbidden");
    const inComments = plan("users", "u", { where: { t: "inQuery", e: col("u", "id"), query: plan("comments", "c"), negate: false } });
    expect((await failure(query(limited, "g", inComments))).kind).toBe("forbidden");
    const del = { where: { t: "inQuery", e: { t: "col", src: "t", col: "id" }, query: plan("comments", "c"), negate: false }, columns: null };
    const e = await failure(limited.request({ verb: "post", path: "/state/g/posts/delete_returning", body: { plan: JSON.stringify(del), params: {} } }));
    expect(e.kind).toBe("forbidden");
    expect(await query(admin, "g", plan("posts", "p"))).toEqual([[10], [11], [12], [13]]);
    await k.close();
  });
});

describe("query budgets", () => {
  const cross = plan("big", "a", {
    joins: [{ table: "big", as: "b", kind: "inner", on: lit(true) }],
    select: [{ as: "n", expr: count }],
  });
  async function big(ex: Executor): Promise<void> {
    await create(ex, "b", "big", [[[["id", INT]], [["v", INT]]], []], Array.from({ length: 2000 }, (_, i) => [i, i % 7]));
  }

  it("stops a cross join at the op's step budget with a typed 400", async () => {
    const ex = embedded({ limits: { maxSteps: 100_000 } });
    await big(ex);
    const e = await failure(query(ex, "b", cross));
    expect(e.kind).toBe("bad_request");
    expect(e.message).toMatch(/step budget limit \(maxSteps = 100000\)/);
    // The host still answers.
    expect(await query(ex, "b", plan("big", "a", { select: [{ as: "n", expr: count }] }))).toEqual([[2000]]);
    await ex.close();
  });

  it("reads the from table through what an inner join's equality implies (a where on the joined table's key)", async () => {
    // 20,000 posts over 2,000 authors: a scan of the posts cannot fit in 2,000 steps.
    const ex = embedded({ limits: { maxSteps: 2_000 } });
    await create(ex, "j", "authors", [[[["id", INT]], [["name", STR]]], []], Array.from({ length: 2_000 }, (_, i) => [i, `a${i}`]));
    await create(ex, "j", "posts", [[[["id", INT]], [["author", INT], ["title", STR]]], [["by_author", ["author"]]]], Array.from({ length: 20_000 }, (_, i) => [i, i % 2_000, `t${i}`]));
    const joined = (where: QueryExpr, kind: "inner" | "left" = "inner") =>
      plan("posts", "p", { joins: [{ table: "authors", as: "a", kind, on: eq(col("p", "author"), col("a", "id")) }], where, select: [{ as: "id", expr: col("p", "id") }, { as: "name", expr: col("a", "name") }] });
    const ids = (author: number) => Array.from({ length: 10 }, (_, k) => [author + 2_000 * k, `a${author}`]);
    expect(await query(ex, "j", joined(eq(col("a", "id"), param("a"))), { a: 7 })).toEqual(ids(7));
    expect(await query(ex, "j", joined(eq(lit(7), col("a", "id"))))).toEqual(ids(7));
    const range = { t: "between", e: col("a", "id"), low: lit(7), high: lit(8), negate: false } as QueryExpr;
    expect(await query(ex, "j", joined(range))).toEqual([...ids(7), ...ids(8)].sort((x, y) => (x[0] as number) - (y[0] as number)));
    const list = { t: "in", e: col("a", "id"), list: [lit(9), lit(3)], negate: false } as QueryExpr;
    expect(await query(ex, "j", joined(list))).toEqual([...ids(3), ...ids(9)].sort((x, y) => (x[0] as number) - (y[0] as number)));
    // The other conditions still hold: an id no author has, a condition on the name too.
    expect(await query(ex, "j", joined(eq(col("a", "id"), lit(99_999))))).toEqual([]);
    expect(await query(ex, "j", joined({ t: "and", of: [eq(col("a", "id"), lit(7)), eq(col("a", "name"), lit("nobody"))] }))).toEqual([]);
    // A left join implies nothing for the posts without an author: it scans, over the budget.
    expect((await failure(query(ex, "j", joined(eq(col("a", "id"), lit(7)), "left")))).message).toMatch(/step budget/);
    await ex.close();
  });

  it("stops a long query at the op's time budget, and a huge result at the tuple limit", async () => {
    const ex = embedded({ limits: { maxMillis: 30 } });
    await big(ex);
    const slow = await failure(query(ex, "b", cross));
    expect(slow.message).toMatch(/time budget/);
    await ex.close();
    const narrow = embedded({ limits: { maxTupleLength: 1000 } });
    await big(narrow);
    const wide = await failure(query(narrow, "b", plan("big", "a")));
    expect(wide.message).toMatch(/tuple size/);
    await narrow.close();
  });
});
