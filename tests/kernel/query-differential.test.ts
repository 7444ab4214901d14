/**
 * The `query` route against SQLite (better-sqlite3), plan by plan: random small tables (nulls,
 * duplicates, unicode strings), random where expressions (comparisons, and/or/not, isNull, like
 * with escapes, between, in / not in lists holding nulls), 1–3 tables joined inner or left
 * (through an indexed or an unindexed column), group by with aggregates and having, distinct,
 * multi-key order with limit/offset. The results must equal SQLite's as sequences: SQLite gets
 * the same ORDER BY followed by the plan's tiebreak (primary keys slot by slot, group values,
 * output columns), `PRAGMA case_sensitive_like = ON` and `ESCAPE '\'`.
 */
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { QueryExpr, QueryPlan } from "../../src/ir/query-plan.js";
import type { Json } from "../../src/ir/types.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

const S = "/state/scalar/value/";
const INT = `${S}number/int/64`;

type Kind = "int" | "str";
interface Col {
  readonly name: string;
  readonly kind: Kind;
}
const COLS: Record<string, readonly Col[]> = {
  a: [{ name: "id", kind: "int" }, { name: "x", kind: "int" }, { name: "s", kind: "str" }],
  b: [{ name: "id", kind: "int" }, { name: "aid", kind: "int" }, { name: "x", kind: "int" }, { name: "s", kind: "str" }],
  c: [{ name: "id", kind: "int" }, { name: "bid", kind: "int" }, { name: "x", kind: "int" }, { name: "s", kind: "str" }],
};

const STRINGS = ["", "a", "ab", "b", "a%", "_b", "\u00e9", "\u{1F600}", "\uFFFF", "A", "ba", "a\\b"];
const xArb = fc.option(fc.integer({ min: 0, max: 4 }), { nil: null, freq: 4 });
const sArb = fc.option(fc.constantFrom(...STRINGS), { nil: null, freq: 4 });
const refArb = fc.option(fc.integer({ min: 1, max: 8 }), { nil: null, freq: 5 });

interface Data {
  a: [number, number | null, string | null][];
  b: [number, number | null, number | null, string | null][];
  c: [number, number | null, number | null, string | null][];
  /** Which secondary indexes exist (a.x; b.aid; c.bid). */
  indexed: [boolean, boolean, boolean];
}

const idsArb = (max: number) => fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: max });
const dataArb: fc.Arbitrary<Data> = fc.record({
  a: idsArb(8).chain((ids) => fc.tuple(...ids.map((id) => fc.tuple(fc.constant(id), xArb, sArb)))),
  b: idsArb(9).chain((ids) => fc.tuple(...ids.map((id) => fc.tuple(fc.constant(id), refArb, xArb, sArb)))),
  c: idsArb(7).chain((ids) => fc.tuple(...ids.map((id) => fc.tuple(fc.constant(id), refArb, xArb, sArb)))),
  indexed: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
}) as fc.Arbitrary<Data>;

/** A plan expression with its SQL text. */
interface Pair {
  readonly e: QueryExpr;
  readonly sql: string;
}

const col = (src: string, c: string): Pair => ({ e: { t: "col", src, col: c }, sql: `${src}.${c}` });
const sqlLit = (v: unknown): string => (v === null ? "NULL" : typeof v === "string" ? `'${v.replace(/'/g, "''")}'` : String(v));

/** Random expressions over the aliases in scope; values become params half the time. */
function exprArb(aliases: readonly string[], depth: number, params: Map<string, unknown>): fc.Arbitrary<Pair> {
  const colArb = fc.constantFrom(...aliases.flatMap((a) => COLS[a]!.map((c) => ({ a, c }))));
  const value = (kind: Kind, nullable = true): fc.Arbitrary<Pair> =>
    fc.tuple(kind === "int" ? (nullable ? fc.option(fc.integer({ min: -1, max: 5 }), { nil: null, freq: 6 }) : fc.integer({ min: -1, max: 5 })) : nullable ? sArb : fc.constantFrom(...STRINGS), fc.boolean()).map(([v, asParam]) => {
      if (asParam) {
        const name = `p${params.size}`;
        params.set(name, v);
        return { e: { t: "value", value: { param: name } }, sql: sqlLit(v) };
      }
      return { e: { t: "value", value: { lit: v } }, sql: sqlLit(v) };
    });
  const cmp = colArb.chain(({ a, c }) =>
    fc.tuple(fc.constantFrom("=", "!=", "<", "<=", ">", ">=") as fc.Arbitrary<"=">, value(c.kind), fc.boolean()).map(([op, v, flip]) => {
      const l = col(a, c.name);
      return flip
        ? { e: { t: "cmp", op, l: v.e, r: l.e } as QueryExpr, sql: `(${v.sql} ${op} ${l.sql})` }
        : { e: { t: "cmp", op, l: l.e, r: v.e } as QueryExpr, sql: `(${l.sql} ${op} ${v.sql})` };
    }),
  );
  const isNull = colArb.map(({ a, c }) => ({ e: { t: "isNull", e: col(a, c.name).e } as QueryExpr, sql: `(${a}.${c.name} IS NULL)` }));
  const strCols = aliases.flatMap((a) => COLS[a]!.filter((c) => c.kind === "str").map((c) => ({ a, c })));
  const patternArb = fc.array(fc.constantFrom("%", "_", "a", "b", "\\%", "\\_", "\\\\", "\u00e9", "\u{1F600}", "A"), { maxLength: 4 }).map((p) => p.join(""));
  const like = fc.tuple(fc.constantFrom(...strCols), patternArb, fc.boolean(), fc.boolean()).map(([{ a, c }, p, negate, asParam]) => {
    let pattern: QueryExpr = { t: "value", value: { lit: p } };
    if (asParam) {
      const name = `p${params.size}`;
      params.set(name, p);
      pattern = { t: "value", value: { param: name } };
    }
    return {
      e: { t: "like", e: col(a, c.name).e, pattern, escape: "\\", negate } as QueryExpr,
      sql: `(${a}.${c.name} ${negate ? "NOT LIKE" : "LIKE"} ${sqlLit(p)} ESCAPE '\\')`,
    };
  });
  const between = colArb
    .filter(({ c }) => c.kind === "int")
    .chain(({ a, c }) =>
      fc.tuple(value("int"), value("int"), fc.boolean()).map(([lo, hi, negate]) => ({
        e: { t: "between", e: col(a, c.name).e, low: lo.e, high: hi.e, negate } as QueryExpr,
        sql: `(${a}.${c.name} ${negate ? "NOT BETWEEN" : "BETWEEN"} ${lo.sql} AND ${hi.sql})`,
      })),
    );
  const inList = colArb.chain(({ a, c }) =>
    fc.tuple(fc.array(kindValue(c.kind), { maxLength: 3 }), fc.boolean(), fc.boolean()).map(([items, negate, asParam]) => {
      let list: QueryExpr[] | { param: string } = items.map((v) => ({ t: "value", value: { lit: v } }) as QueryExpr);
      if (asParam) {
        const name = `p${params.size}`;
        params.set(name, items);
        list = { param: name };
      }
      return {
        e: { t: "in", e: col(a, c.name).e, list, negate } as QueryExpr,
        sql: `(${a}.${c.name} ${negate ? "NOT IN" : "IN"} (${items.map(sqlLit).join(", ")}))`,
      };
    }),
  );
  const leaf = fc.oneof(cmp, cmp, isNull, like, between, inList);
  if (depth <= 0) return leaf;
  const sub = exprArb(aliases, depth - 1, params);
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(sub, { minLength: 1, maxLength: 3 }).map((of) => ({ e: { t: "and", of: of.map((x) => x.e) } as QueryExpr, sql: `(${of.map((x) => x.sql).join(" AND ")})` })) },
    { weight: 1, arbitrary: fc.array(sub, { minLength: 1, maxLength: 3 }).map((of) => ({ e: { t: "or", of: of.map((x) => x.e) } as QueryExpr, sql: `(${of.map((x) => x.sql).join(" OR ")})` })) },
    { weight: 1, arbitrary: sub.map((x) => ({ e: { t: "not", e: x.e } as QueryExpr, sql: `(NOT ${x.sql})` })) },
  );
}

function kindValue(kind: Kind): fc.Arbitrary<unknown> {
  return kind === "int" ? fc.option(fc.integer({ min: 0, max: 5 }), { nil: null, freq: 5 }) : sArb;
}

interface Case {
  readonly plan: QueryPlan;
  readonly sql: string;
  readonly params: Record<string, unknown>;
}

const JOINS = [
  { alias: "b", on: (pre: string) => ({ e: { t: "cmp", op: "=", l: col("b", "aid").e, r: col(pre, "id").e } as QueryExpr, sql: `b.aid = ${pre}.id` }) },
  { alias: "b", on: (pre: string) => ({ e: { t: "cmp", op: "=", l: col("b", "x").e, r: col(pre, "x").e } as QueryExpr, sql: `b.x = ${pre}.x` }) },
] as const;

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    joinShape: fc.constantFrom(0, 1, 2, 3),
    kinds: fc.tuple(fc.constantFrom("inner", "left"), fc.constantFrom("inner", "left")),
    mode: fc.constantFrom("plain", "plain", "grouped", "distinct"),
    seed: fc.integer(),
  })
  .chain(({ joinShape, kinds, mode }) => {
    const aliases = ["a"];
    const joins: { table: string; as: string; kind: "inner" | "left"; on: Pair }[] = [];
    if (joinShape >= 1) {
      aliases.push("b");
      joins.push({ table: "b", as: "b", kind: kinds[0] as "inner", on: (joinShape === 2 ? JOINS[1] : JOINS[0]).on("a") });
    }
    if (joinShape === 3) {
      aliases.push("c");
      joins.push({ table: "c", as: "c", kind: kinds[1] as "inner", on: { e: { t: "cmp", op: "=", l: col("c", "bid").e, r: col("b", "id").e }, sql: "c.bid = b.id" } });
    }
    const params = new Map<string, unknown>();
    const allCols = aliases.flatMap((a) => COLS[a]!.map((c) => col(a, c.name)));
    const limitArb = fc.option(fc.integer({ min: 0, max: 6 }), { nil: null });
    return fc
      .record({
        where: fc.option(exprArb(aliases, 2, params), { nil: null }),
        select: fc.uniqueArray(fc.constantFrom(...allCols), { minLength: 1, maxLength: 3, selector: (p) => p.sql }),
        order: fc.uniqueArray(fc.tuple(fc.constantFrom(...allCols), fc.boolean()), { maxLength: 2, selector: (p) => p[0].sql }),
        limit: limitArb,
        offset: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
        aggs: fc.uniqueArray(fc.constantFrom("count(*)", "count", "sum", "avg", "min", "max", "countDistinct", "minS"), { minLength: 1, maxLength: 3 }),
        having: fc.boolean(),
      })
      .map((r): Case => {
        const from = `FROM a AS a ${joins.map((j) => `${j.kind === "left" ? "LEFT JOIN" : "JOIN"} ${j.table} AS ${j.as} ON ${j.on.sql}`).join(" ")}`;
        const whereSql = r.where ? ` WHERE ${r.where.sql}` : "";
        let select: { as: string; expr: QueryExpr }[];
        let selectSql: string[];
        let groupBy: QueryExpr[] | null = null;
        let having: QueryExpr | null = null;
        let orderBy: { expr: QueryExpr; desc: boolean }[];
        let orderSql: string[];
        let tail = "";
        const key = aliases.map((a) => `${a}.id ASC`);
        if (mode === "grouped") {
          const g = r.select.slice(0, 2);
          const aggPairs = r.aggs.map((k): Pair => {
            const x = col("a", "x");
            switch (k) {
              case "count(*)":
                return { e: { t: "agg", fn: "count", arg: null, distinct: false }, sql: "count(*)" };
              case "countDistinct":
                return { e: { t: "agg", fn: "count", arg: x.e, distinct: true }, sql: "count(DISTINCT a.x)" };
              case "minS":
                return { e: { t: "agg", fn: "min", arg: col("a", "s").e, distinct: false }, sql: "min(a.s)" };
              default:
                return { e: { t: "agg", fn: k as "sum", arg: x.e, distinct: false }, sql: `${k}(a.x)` };
            }
          });
          groupBy = g.map((p) => p.e);
          select = [...g, ...aggPairs].map((p, i) => ({ as: `c${i}`, expr: p.e }));
          selectSql = [...g, ...aggPairs].map((p) => p.sql);
          if (r.having) {
            having = { t: "cmp", op: ">", l: { t: "agg", fn: "count", arg: null, distinct: false }, r: { t: "value", value: { lit: 1 } } };
            tail += " HAVING count(*) > 1";
          }
          const keys = [...g, aggPairs[0]!];
          orderBy = r.order.slice(0, 1).map(([, desc], i) => ({ expr: keys[i % keys.length]!.e, desc }));
          orderSql = orderBy.map((o, i) => `${keys[i % keys.length]!.sql} ${o.desc ? "DESC" : "ASC"}`);
          orderSql.push(...g.map((p) => `${p.sql} ASC`));
          tail = ` GROUP BY ${g.map((p) => p.sql).join(", ")}${tail}`;
        } else {
          select = r.select.map((p, i) => ({ as: `c${i}`, expr: p.e }));
          selectSql = r.select.map((p) => p.sql);
          if (mode === "distinct") {
            const keys = r.order.filter(([p]) => r.select.some((s) => s.sql === p.sql));
            orderBy = keys.map(([p, desc]) => ({ expr: p.e, desc }));
            orderSql = keys.map(([p, desc]) => `${p.sql} ${desc ? "DESC" : "ASC"}`);
            orderSql.push(...r.select.map((p) => `${p.sql} ASC`));
          } else {
            orderBy = r.order.map(([p, desc]) => ({ expr: p.e, desc }));
            orderSql = r.order.map(([p, desc]) => `${p.sql} ${desc ? "DESC" : "ASC"}`);
            orderSql.push(...key);
          }
        }
        const limitSql = r.limit !== null ? ` LIMIT ${r.limit}${r.offset !== null ? ` OFFSET ${r.offset}` : ""}` : r.offset !== null ? ` LIMIT -1 OFFSET ${r.offset}` : "";
        const sql = `SELECT ${mode === "distinct" ? "DISTINCT " : ""}${selectSql.join(", ")} ${from}${whereSql}${tail} ORDER BY ${orderSql.join(", ")}${limitSql}`;
        const plan: QueryPlan = {
          v: 1,
          from: { table: "a", as: "a" },
          joins: joins.map((j) => ({ table: j.table, as: j.as, kind: j.kind, on: j.on.e })),
          where: r.where ? r.where.e : null,
          groupBy,
          having,
          select,
          distinct: mode === "distinct",
          with: [],
          orderBy,
          limit: r.limit === null ? null : { lit: r.limit },
          offset: r.offset === null ? null : { param: "off" },
        };
        const bound: Record<string, unknown> = Object.fromEntries(paramsOf(plan, r.offset, params));
        return { plan, sql, params: bound };
      });
  });

/** The values of the params the plan names (generated names are never reused), plus the offset. */
function paramsOf(plan: QueryPlan, offset: number | null, values: ReadonlyMap<string, unknown>): [string, unknown][] {
  const out: [string, unknown][] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x !== null && typeof x === "object") {
      const o = x as Record<string, unknown>;
      if (typeof o.param === "string" && o.param !== "off") out.push([o.param, values.get(o.param)]);
      Object.values(o).forEach(walk);
    }
  };
  walk(plan);
  if (offset !== null) out.push(["off", offset]);
  return out;
}

function schemaOf(t: "a" | "b" | "c", indexed: boolean): Json {
  const nullable = { nullable: true };
  const values = COLS[t]!.slice(1).map((c) => (c.kind === "int" ? [c.name, INT, null, nullable] : [c.name, `${S}string`, null, nullable]));
  const ix = { a: "x", b: "aid", c: "bid" }[t];
  return [[[["id", INT]], values], indexed ? [[`by_${ix}`, [ix]]] : []] as Json;
}

describe.each(WITH_CLUSTER)("query vs SQLite ($name)", (factory) => {
  const open = executorsFor(factory, afterAll);
  const runs = factory.name === "embedded memory" ? 80 : 15;
  it("gives SQLite's rows, in SQLite's order", async () => {
    const ex = await open();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(dataArb, fc.array(caseArb, { minLength: 1, maxLength: 4 }), async (data, cases) => {
        const ns = `d${n++}`;
        const db = new Database(":memory:");
        db.pragma("case_sensitive_like = ON");
        for (const t of ["a", "b", "c"] as const) {
          const cols = COLS[t]!;
          db.exec(`CREATE TABLE ${t} (${cols.map((c, i) => `${c.name} ${c.kind === "int" ? "INTEGER" : "TEXT"}${i === 0 ? " PRIMARY KEY" : ""}`).join(", ")})`);
          const rows = data[t] as unknown[][];
          const ins = db.prepare(`INSERT INTO ${t} VALUES (${cols.map(() => "?").join(", ")})`);
          for (const r of rows) ins.run(...r);
          await ex.request({ verb: "put", path: `/state/${ns}/${t}`, key: null, body: { "/state/collection/table": [schemaOf(t, data.indexed[["a", "b", "c"].indexOf(t)]!), rows as Json] } });
        }
        for (const c of cases) {
          const expected = db.prepare(c.sql).raw(true).all();
          const got = await ex.request({ verb: "get", path: `/state/${ns}/a/query`, key: [JSON.stringify(c.plan), c.params as Json] });
          expect(got, `${c.sql}\n${JSON.stringify(c.params)}`).toEqual(expected);
        }
        db.close();
      }),
      { numRuns: runs },
    );
  });
});

/** Nested loads and subqueries: each parent's nested rows equal SQLite's query for that parent. */
const nestedArb = fc.record({
  desc: fc.boolean(),
  limit: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
  inOp: fc.constantFrom("=", "<", ">="),
  inValue: fc.integer({ min: 0, max: 4 }),
  negate: fc.boolean(),
});

describe.each(WITH_CLUSTER)("query with and inQuery vs SQLite ($name)", (factory) => {
  const open = executorsFor(factory, afterAll);
  const runs = factory.name === "embedded memory" ? 40 : 8;
  it("loads each parent's nested rows as SQLite's per-parent query gives them", async () => {
    const ex = await open();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(dataArb, nestedArb, async (data, c) => {
        const ns = `w${n++}`;
        const db = new Database(":memory:");
        for (const t of ["a", "b", "c"] as const) {
          const cols = COLS[t]!;
          db.exec(`CREATE TABLE ${t} (${cols.map((k, i) => `${k.name} ${k.kind === "int" ? "INTEGER" : "TEXT"}${i === 0 ? " PRIMARY KEY" : ""}`).join(", ")})`);
          const ins = db.prepare(`INSERT INTO ${t} VALUES (${cols.map(() => "?").join(", ")})`);
          for (const r of data[t] as unknown[][]) ins.run(...r);
          await ex.request({ verb: "put", path: `/state/${ns}/${t}`, key: null, body: { "/state/collection/table": [schemaOf(t, data.indexed[["a", "b", "c"].indexOf(t)]!), data[t] as Json] } });
        }
        const sub: QueryPlan = {
          v: 1, from: { table: "b", as: "sb" }, joins: [], where: { t: "cmp", op: c.inOp as "=", l: col("sb", "x").e, r: { t: "value", value: { param: "v" } } },
          groupBy: null, having: null, select: [{ as: "aid", expr: col("sb", "aid").e }], distinct: false, with: [], orderBy: [], limit: null, offset: null,
        };
        const comments: QueryPlan = {
          v: 1, from: { table: "c", as: "c" }, joins: [], where: { t: "cmp", op: "=", l: col("c", "bid").e, r: { t: "outer", src: "b", col: "id" } },
          groupBy: null, having: null, select: [{ as: "id", expr: col("c", "id").e }], distinct: false, with: [], orderBy: [], limit: null, offset: null,
        };
        const bs: QueryPlan = {
          v: 1, from: { table: "b", as: "b" }, joins: [], where: { t: "cmp", op: "=", l: col("b", "aid").e, r: { t: "outer", src: "a", col: "id" } },
          groupBy: null, having: null, select: [{ as: "id", expr: col("b", "id").e }, { as: "s", expr: col("b", "s").e }], distinct: false,
          with: [{ as: "cs", kind: "many", plan: comments }],
          orderBy: [{ expr: col("b", "x").e, desc: c.desc }], limit: c.limit === null ? null : { lit: c.limit }, offset: null,
        };
        const first: QueryPlan = { ...bs, with: [], select: [{ as: "id", expr: col("b", "id").e }], orderBy: [{ expr: col("b", "id").e, desc: true }], limit: null };
        const plan: QueryPlan = {
          v: 1, from: { table: "a", as: "a" }, joins: [], where: { t: "inQuery", e: col("a", "id").e, query: sub, negate: c.negate },
          groupBy: null, having: null, select: [{ as: "id", expr: col("a", "id").e }], distinct: false,
          with: [{ as: "bs", kind: "many", plan: bs }, { as: "first", kind: "one", plan: first }], orderBy: [], limit: null, offset: null,
        };
        const parents = db.prepare(`SELECT a.id FROM a WHERE a.id ${c.negate ? "NOT IN" : "IN"} (SELECT aid FROM b WHERE x ${c.inOp} ?) ORDER BY a.id`).raw(true).all(c.inValue) as [number][];
        const nested = db.prepare(`SELECT id, s FROM b WHERE aid = ? ORDER BY x ${c.desc ? "DESC" : "ASC"}, id${c.limit === null ? "" : ` LIMIT ${c.limit}`}`).raw(true);
        const cs = db.prepare("SELECT id FROM c WHERE bid = ? ORDER BY id").raw(true);
        const firstQ = db.prepare("SELECT id FROM b WHERE aid = ? ORDER BY id DESC LIMIT 1").raw(true);
        const expected = parents.map(([id]) => [
          id,
          (nested.all(id) as [number, string | null][]).map(([bid, s]) => [bid, s, cs.all(bid)]),
          firstQ.all(id)[0] ?? null,
        ]);
        const got = await ex.request({ verb: "get", path: `/state/${ns}/a/query`, key: [JSON.stringify(plan), { v: c.inValue }] });
        expect(got).toEqual(expected);
        db.close();
      }),
      { numRuns: runs },
    );
  });
});

