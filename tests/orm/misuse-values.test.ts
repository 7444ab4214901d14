/**
 * Builders quote the values they refuse: a value JSON cannot print (a bigint in the wrong place,
 * a symbol, a function, an object whose toJSON throws, one without a prototype) must still give a
 * typed error naming the problem, never a TypeError from the message itself.
 */
import { afterAll, describe, expect, it } from "vitest";
import { connect } from "../../src/connect.js";
import { TcError } from "../../src/errors.js";
import { showValue } from "../../src/ir/show-value.js";
import { embedded } from "../../src/kernel/index.js";
import { col, schema, table } from "../../src/orm/index.js";

const users = table("users", { id: col.u32().key(), name: col.string(8), at: col.timestamp(), big: col.u64({ mode: "bigint" }), doc: col.json() });
const follows = table("follows", { a: col.u32().key().references(() => users), b: col.u32().key().references(() => users) }).edge("follows", { from: "a", to: "b" });

const WEIRD: [string, unknown][] = [
  ["a bigint", 5n],
  ["a symbol", Symbol("s")],
  ["a function", () => 1],
  ["an invalid Date", new Date(NaN)],
  ["NaN", NaN],
  ["a throwing toJSON", { toJSON: () => { throw new Error("boom"); } }],
  ["an object without a prototype", Object.create(null)],
  ["a Map", new Map([[1, 2]])],
  ["a list with a bigint", [1n]],
  ["an object with a bigint", { a: 1n }],
  ["bytes", new Uint8Array(2)],
  ["undefined", undefined],
  ["a lone surrogate", "\uD800"],
];

describe("values builders refuse", () => {
  const ex = embedded();
  afterAll(() => ex.close());

  it("showValue prints whatever it is given", () => {
    expect(showValue("users")).toBe('"users"');
    expect(showValue(5n)).toBe("5n");
    expect(showValue(Symbol("s"))).toBe("Symbol(s)");
    expect(showValue({ toJSON: () => { throw new Error("x"); } })).toMatch(/object/);
    expect(showValue("x".repeat(300)).length).toBeLessThan(210);
  });

  it.each(WEIRD)("%s, anywhere a builder takes a value, gives a typed error or works", async (_name, w) => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const db: any = await connect(schema({ namespace: "misuse", tables: { users, follows } }), ex);
    await db.sync();
    const row = { id: 1, name: "a", at: new Date(0), big: 1n, doc: {} };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const calls: [string, () => any][] = [
      ["where", () => db.selectFrom("users").where("name", "=", w)],
      ["where on a timestamp", () => db.selectFrom("users").where("at", ">", w)],
      ["in", () => db.selectFrom("users").where("big", "in", w)],
      ["limit", () => db.selectFrom("users").limit(w)],
      ["offset", () => db.selectFrom("users").offset(w)],
      ["orderBy", () => db.selectFrom("users").orderBy(w)],
      ["select", () => db.selectFrom("users").select([w])],
      ["selectFrom", () => db.selectFrom(w)],
      ["innerJoin", () => db.selectFrom("users").innerJoin(w, "users.id", "users.id")],
      ["with", () => db.selectFrom("users").with(w)],
      ["groupBy", () => db.selectFrom("users").groupBy(w)],
      ["an expression", () => db.selectFrom("users").where((eb: any) => eb("name", "=", w))],
      ["eb.or", () => db.selectFrom("users").where((eb: any) => eb.or(w))],
      ["like", () => db.selectFrom("users").where("name", "like", w)],
      ["an alias", () => db.selectFrom("users").select((eb: any) => [eb.fn.count("id").as(w)])],
      ["values", () => db.insertInto("users").values(w)],
      ["a cell", () => db.insertInto("users").values({ ...row, name: w })],
      ["a json cell", () => db.insertInto("users").values({ ...row, id: 2, doc: w })],
      ["set", () => db.updateTable("users").set({ at: w }).where("id", "=", 1)],
      ["returning", () => db.insertInto("users").values({ ...row, id: 3 }).returning(w)],
      ["execute args", () => db.selectFrom("users").execute(w)],
      ["graph match", () => db.graph.match("users", { name: w })],
      ["graph match table", () => db.graph.match(w)],
      ["graph where", () => db.graph.match("users").where("at", "<", w)],
      ["graph out", () => db.graph.match("users").out(w)],
      ["graph in", () => db.graph.match("users").in(w)],
      ["graph limit", () => db.graph.match("users").limit(w)],
      ["graph select", () => db.graph.match("users").select(w)],
      ["graph as", () => db.graph.match("users").as(w)],
      ["graph execute args", () => db.graph.match("users").execute(w)],
      ["col.string", () => col.string(w as number)],
      ["table name", () => table(w as string, { id: col.u32().key() })],
      ["schema namespace", () => schema({ namespace: w as string, tables: {} })],
      ["raw request", () => db.executor.request(w)],
      ["raw op", () => db.executor.execute(w, {})],
    ];
    const untyped: string[] = [];
    for (const [what, call] of calls) {
      try {
        const r = call();
        if (r && typeof r.then === "function") await r;
        else if (r && typeof r.execute === "function") await r.execute();
      } catch (e) {
        if (!(e instanceof TcError)) untyped.push(`${what}: ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`);
      }
    }
    expect(untyped).toEqual([]);
  });
});
