/**
 * The builder's contract: immutable, compiles to one parameterized POST OpDef without user values,
 * explains itself, and refuses bad input with typed errors before anything runs.
 */
import { describe, expect, it } from "vitest";
import { createGraph, type Graph, type UntypedShape } from "../../src/graph/index.js";
import { param } from "../../src/ir/index.js";
import { decodeOpDef, freeIds } from "../../src/ir/index.js";
import { BadRequestError, TcError } from "../../src/errors.js";
import { embedded } from "../../src/kernel/index.js";
import { connect } from "../../src/connect.js";
import { planRunner, testSchema } from "./support.js";


const data = {
  people: [
    { id: 1, name: "ada", age: 36, city: "paris", boss: null },
    { id: 2, name: "bob", age: 17, city: "rome", boss: 1 },
    { id: 3, name: "cy", age: null, city: "paris", boss: 1 },
  ],
  knows: [
    { a: 1, b: 2, n: 0, since: 2001 },
    { a: 2, b: 3, n: 0, since: 2002 },
    { a: 3, b: 1, n: 0, since: 2003 },
  ],
  posts: [{ id: 1, author: 3, lang: "en" }],
};
const g = createGraph(testSchema, planRunner(data)) as unknown as Graph<UntypedShape>;

describe("compile", () => {
  it("one POST OpDef with one step on the traverse route; no user value inside; params sorted", () => {
    const t = g.match("people", { city: "paris'; DROP TABLE people; --" }).out("knows").where("age", ">=", param("min")).where("name", "=", param("name")).limit(5);
    const { op, params, literals } = t.compile();
    const text = JSON.stringify(op);
    expect(text).not.toContain("DROP TABLE");
    expect(text).not.toContain('"lit"');
    expect(params).toEqual(["min", "name"]);
    expect(Object.values(literals)).toEqual(["paris'; DROP TABLE people; --", 5]);
    const decoded = decodeOpDef(op);
    expect(decoded.verb).toBe("post");
    expect(decoded.steps).toHaveLength(1);
    expect(freeIds(decoded)).toEqual([...Object.keys(literals), ...params].sort());
    expect(Object.keys((op as Record<string, [string, Record<string, unknown>][]>)["/state/scalar/op/post"]![0]![1])).toEqual(["/state/gtest/people/traverse"]);
  });

  it("the same structure with other values compiles to the same op object, each with its own values", async () => {
    const a = g.match("people", { id: 1 }).out("knows").compile();
    const b = g.match("people", { id: 2 }).out("knows").compile();
    // One op object per shape: the executor's op cache hits by identity.
    expect(b.op).toBe(a.op);
    expect(a.literals).not.toEqual(b.literals);
    expect(g.match("people", { id: 2 }).out("knows").limit(1).compile().op).not.toBe(a.op);
    for (const [id, want] of [[1, [2]], [2, [3]], [3, [1]]] as const) {
      expect((await g.match("people", { id }).out("knows").select(["id"]).execute()).map((r) => r.id)).toEqual(want);
    }
    // A shape compiled before does not let a bad value or a bad name of the same shape through.
    expect(() => g.match("people", { id: Number.NaN }).out("knows").compile()).toThrow(BadRequestError);
    expect(() => g.match("people", { id: 1 }).out("knows").where("nope", "=", 1).compile()).toThrow(BadRequestError);
    expect(() => g.match("people", { id: 1 }).out("knows").where("name", "=", param("bad name")).compile()).toThrow(BadRequestError);
  });

  it("builders are immutable: each call returns a new traversal", async () => {
    const base = g.match("people", { id: 1 });
    const one = base.out("knows");
    const two = one.out("knows");
    expect(base.compile().plan.steps).toHaveLength(0);
    expect(one.compile().plan.steps).toHaveLength(1);
    expect(two.compile().plan.steps).toHaveLength(2);
    expect(await one.select(["id"]).execute()).toEqual([{ id: 2 }]);
    expect(await two.select(["id"]).execute()).toEqual([{ id: 3 }]);
    expect(await base.select(["name"]).execute()).toEqual([{ name: "ada" }]);
  });

  it("explain() names the lookups, the semantics, the budget and the route", () => {
    const text = g.match("people", { id: param("me") }).out("knows", { hops: [1, 3] }).distinct().budget(5000).explain();
    expect(text).toContain("match people where id = $me — key lookup");
    expect(text).toContain("1. out(knows) hops [1, 3]: people → people via knows(a) = id → people(id) = b");
    expect(text).toContain("breadth-first over sets");
    expect(text).toContain("visit budget: 5000 rows");
    expect(text).toContain("GET /state/gtest/people/traverse");
    expect(g.withLowering("core").match("people").out("knows").distinct().explain()).toContain("core IR");
  });
});

describe("bad input is a typed error before anything runs", () => {
  const bad: [string, () => unknown][] = [
    ["unknown table", () => g.match("nope")],
    ["unknown filter column", () => g.match("people", { nope: 1 })],
    ["unknown relation", () => g.match("people").out("nope")],
    ["relation of another table", () => g.match("posts").out("knows")],
    ["where on a column of another table", () => g.match("people").out("posts").where("city", "=", "x")],
    ["unknown operator", () => g.match("people").where("age", "like" as "=", 1)],
    ["in without a list", () => g.match("people").where("id", "in", 1 as never)],
    ["a non-JSON value", () => g.match("people").where("id", "=", (() => 1) as never)],
    ["an unsafe integer", () => g.match("people").where("id", "=", 2 ** 60)],
    ["a bad param name", () => g.match("people").where("id", "=", { kind: "id", name: "a b" } as never)],
    ["negative limit", () => g.match("people").limit(-1)],
    ["hop after select", () => g.match("people").select(["id"]).out("knows")],
    ["as after distinct", () => g.match("people").distinct().as("x")],
    ["paths after distinct", () => g.match("people").distinct().paths()],
    ["return of an unbound alias", () => g.match("people").as("x").return({ a: "y" as never })],
    ["alias bound twice", () => g.match("people").as("x").out("knows").as("x")],
    ["both on a relation to another table", () => g.match("people").both("posts")],
    ["zero budget", () => g.match("people").budget(0)],
    ["shortestPath across tables", () => g.shortestPath(g.match("people"), g.match("posts"), "knows")],
  ];
  it.each(bad)("%s", (_name, f) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as Error).message.length).toBeGreaterThan(10);
  });

  it("execute() refuses missing and unknown parameters", async () => {
    const t = g.match("people", { id: param("me") });
    await expect(t.execute({})).rejects.toThrow(/missing parameter me/);
    await expect(t.execute({ me: 1, you: 2 })).rejects.toThrow(/unknown parameter you/);
    await expect(t.execute({ me: 1 })).resolves.toHaveLength(1);
  });
});

describe("on the embedded kernel", () => {
  it("runs inside a session (one transaction with the ORM's writes)", async () => {
    const executor = embedded();
    const db = await connect(testSchema, executor);
    await db.sync();
    await db.insertInto("people").values(data.people).execute();
    await db.insertInto("knows").values(data.knows).execute();
    const graph = db.graph as unknown as Graph<UntypedShape>;
    const session = await executor.session();
    await session.execute({ "/state/scalar/op/post": [["w", { "/state/gtest/knows": [[1, 3, 0], [2009]] }]] });
    const inside = await graph.on(session).match("people", { id: 1 }).out("knows").select(["id"]).execute();
    expect(inside).toEqual([{ id: 2 }, { id: 3 }]);
    await session.rollback();
    expect(await graph.match("people", { id: 1 }).out("knows").select(["id"]).execute()).toEqual([{ id: 2 }]);
    // A parameter of the wrong shape is refused before the op runs; sent to the kernel anyway, it
    // is a typed error there too.
    const byIds = graph.match("people").where("id", "in", param("ids"));
    await expect(byIds.execute({ ids: 5 })).rejects.toThrow(/parameter ids is the list of an "in" filter/);
    await expect(executor.execute(byIds.compile().op, { ids: 5 })).rejects.toBeInstanceOf(TcError);
    await expect(executor.execute(byIds.compile().op, { ids: 5 })).rejects.toThrow(/needs a tuple/);
    await executor.close();
  });
});

describe("db.session", () => {
  it("s.graph runs inside the session's transaction", async () => {
    const executor = embedded();
    const db = await connect(testSchema, executor);
    await db.sync();
    await db.insertInto("people").values(data.people).execute();
    const seen = await db.session(async (s) => {
      await s.insertInto("knows").values([{ a: 1, b: 2, n: 0, since: 2020 }]).execute();
      return (s.graph as unknown as Graph<UntypedShape>).match("people", { id: 1 }).out("knows").count().execute();
    });
    expect(seen).toBe(1);
    expect(await (db.graph as unknown as Graph<UntypedShape>).match("people", { id: 1 }).out("knows").count().execute()).toBe(1);
    await expect(
      db.session(async (s) => {
        await s.insertInto("knows").values([{ a: 2, b: 3, n: 0, since: 2020 }]).execute();
        expect(await (s.graph as unknown as Graph<UntypedShape>).match("people", { id: 2 }).out("knows").count().execute()).toBe(1);
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(await (db.graph as unknown as Graph<UntypedShape>).match("people", { id: 2 }).out("knows").count().execute()).toBe(0);
    await executor.close();
  });
});
