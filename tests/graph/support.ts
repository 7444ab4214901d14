/**
 * Test support for the graph suite: a schema with every kind of relation, fast-check generators
 * of random graphs and random traversals, and two references that share no code with the kernel:
 * a plan interpreter over plain row arrays (oracle/plan-oracle.ts, run by `planRunner`) and a
 * spec-level reference over adjacency maps (`reference`: it knows each relation by hand, never
 * reads the catalog or the plan). Both order and compare values with oracle/values.ts.
 */
import fc from "fast-check";
import { col, table } from "../../src/orm/index.js";
import { schema } from "../../src/orm/schema.js";
import type { CmpOp } from "../../src/ir/traverse-plan.js";
import { interpretPlan, type OracleRow, type OracleTables } from "./oracle/plan-oracle.js";
import { holds, order } from "./oracle/values.js";
import type { Json } from "../../src/ir/types.js";
import type { Executor, Runner } from "../../src/executor.js";
import { connect } from "../../src/connect.js";
import { createGraph, VisitBudgetError, type Graph, type Traversal, type UntypedShape } from "../../src/graph/index.js";

// ---------------------------------------------------------------------------------------------
// The schema: a self foreign key, an edge table with a property and parallel edges, a plain FK.
// Random graphs point anywhere (and rows are deleted in any order): references are not enforced.

export const people = table("people", {
  id: col.u32().key(),
  name: col.string(16),
  age: col.u32().nullable(),
  city: col.string(8),
  boss: col.u32().nullable().references((): { name: string } => people, { name: "boss", inverse: "reports", enforce: false }),
});

export const knows = table("knows", {
  a: col.u32().key().references(() => people, { enforce: false }),
  b: col.u32().key().references(() => people, { enforce: false }),
  n: col.u32().key(),
  since: col.u32(),
}).edge("knows", { from: "a", to: "b", inverse: "known_by" });

export const posts = table("posts", {
  id: col.u32().key(),
  author: col.u32().references(() => people, { name: "author", inverse: "posts", enforce: false }),
  lang: col.string(4),
});

export const testSchema = schema({ namespace: "gtest", tables: { people, knows, posts } });

export type Person = { id: number; name: string; age: number | null; city: string; boss: number | null };
export type Knows = { a: number; b: number; n: number; since: number };
export type Post = { id: number; author: number; lang: string };

export interface GraphData {
  people: Person[];
  knows: Knows[];
  posts: Post[];
}

export const COLUMNS = {
  people: ["id", "name", "age", "city", "boss"],
  knows: ["a", "b", "n", "since"],
  posts: ["id", "author", "lang"],
} as const;
export type TableName = keyof typeof COLUMNS;
export const KEYS: Record<TableName, number> = { people: 1, knows: 3, posts: 1 };
/** The secondary indexes the ORM declares (one per foreign key not already a key prefix). */
const INDEXES: Record<TableName, string[][]> = { people: [["boss"]], knows: [["b"]], posts: [["author"]] };

export const CITIES = ["paris", "rome", "oslo"];
export const LANGS = ["en", "fr"];

// ---------------------------------------------------------------------------------------------
// Random graphs: self-loops, cycles, parallel edges, isolated nodes come from unconstrained picks.

export function graphArb(maxPeople = 7): fc.Arbitrary<GraphData> {
  return fc.integer({ min: 1, max: maxPeople }).chain((n) => {
    const id = fc.integer({ min: 1, max: n });
    const person = (i: number) =>
      fc.record({
        id: fc.constant(i),
        name: fc.constantFrom("ada", "bob", "cy", "di"),
        age: fc.option(fc.integer({ min: 10, max: 60 }), { nil: null }),
        city: fc.constantFrom(...CITIES),
        boss: fc.option(id, { nil: null }),
      });
    return fc.record({
      people: fc.tuple(...Array.from({ length: n }, (_, i) => person(i + 1))),
      knows: fc.uniqueArray(fc.record({ a: id, b: id, n: fc.integer({ min: 0, max: 1 }), since: fc.integer({ min: 2000, max: 2003 }) }), {
        maxLength: n * 2 + 2,
        selector: (k) => `${k.a}/${k.b}/${k.n}`,
      }),
      posts: fc.uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 12 }), author: id, lang: fc.constantFrom(...LANGS) }), {
        maxLength: n + 2,
        selector: (p) => p.id,
      }),
    });
  });
}

export function rowTuple(t: TableName, row: Record<string, unknown>): unknown[] {
  return COLUMNS[t].map((c) => row[c] ?? null);
}

// ---------------------------------------------------------------------------------------------
// The tables as row tuples, and a runner that answers the traverse op with the plan interpreter.

/** The data as the plan interpreter's tables (row tuples, the ORM's key and indexes). */
export function memoryStore(data: GraphData): OracleTables {
  const table = (t: TableName) => ({ columns: COLUMNS[t], keyCount: KEYS[t], indexes: INDEXES[t], rows: (data[t] as unknown as Record<string, unknown>[]).map((r) => rowTuple(t, r)) });
  return { people: table("people"), knows: table("knows"), posts: table("posts") };
}

/** A Runner that understands only the traverse op: decodes it and runs the plan interpreter on the data. */
export function planRunner(data: GraphData): Runner {
  const tables = memoryStore(data);
  return {
    async execute(op, args = {}) {
      const steps = (op as { "/state/scalar/op/post": [string, Record<string, [[string, Record<string, unknown>]]>][] })["/state/scalar/op/post"];
      const call = steps[steps.length - 1]![1];
      const [[planText, bound]] = Object.values(call)[0]!;
      const params: Record<string, unknown> = {};
      for (const [k, ref] of Object.entries(bound)) params[k] = args[Object.keys(ref as object)[0]!.slice(1)];
      return interpretPlan(tables, planText, params) as Json;
    },
    async request() {
      throw new Error("not supported");
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Random traversal specs (a builder-level description both sides interpret).

export type HopDir = "out" | "in" | "both";
export type Op =
  | { kind: "hop"; dir: HopDir; rel: string; hops?: [number, number] }
  | { kind: "where"; col: string; op: CmpOp; value: unknown }
  | { kind: "as"; alias: string };

export interface Spec {
  start: { table: TableName; filter: Record<string, unknown> };
  ops: Op[];
  result: "rows" | "distinct" | "paths" | "return" | "count" | "distinct_count";
  orderBy: { col: string; desc: boolean }[];
  select: string[] | null;
  limit: number | null;
  offset: number | null;
}

interface RelDef {
  dir: HopDir;
  rel: string;
  from: TableName;
  to: TableName;
  self: boolean;
}
/** The hops available at each table (names as the ORM derives them for the test schema). */
export const HOPS: RelDef[] = [
  { dir: "out", rel: "boss", from: "people", to: "people", self: true },
  { dir: "out", rel: "reports", from: "people", to: "people", self: true },
  { dir: "out", rel: "knows", from: "people", to: "people", self: true },
  { dir: "out", rel: "known_by", from: "people", to: "people", self: true },
  { dir: "out", rel: "knows_by_a", from: "people", to: "knows", self: false },
  { dir: "out", rel: "knows_by_b", from: "people", to: "knows", self: false },
  { dir: "out", rel: "posts", from: "people", to: "posts", self: false },
  { dir: "out", rel: "a", from: "knows", to: "people", self: false },
  { dir: "out", rel: "b", from: "knows", to: "people", self: false },
  { dir: "out", rel: "author", from: "posts", to: "people", self: false },
  { dir: "in", rel: "knows", from: "people", to: "people", self: true },
  { dir: "in", rel: "boss", from: "people", to: "people", self: true },
  { dir: "in", rel: "author", from: "people", to: "posts", self: false },
  { dir: "in", rel: "a", from: "people", to: "knows", self: false },
  { dir: "in", rel: "posts", from: "posts", to: "people", self: false },
  { dir: "both", rel: "knows", from: "people", to: "people", self: true },
  { dir: "both", rel: "boss", from: "people", to: "people", self: true },
];

const WHERES: Record<TableName, fc.Arbitrary<Op>> = {
  people: fc.oneof(
    fc.record({ kind: fc.constant("where" as const), col: fc.constant("city"), op: fc.constantFrom<CmpOp>("=", "!="), value: fc.constantFrom(...CITIES) }),
    fc.record({ kind: fc.constant("where" as const), col: fc.constant("age"), op: fc.constantFrom<CmpOp>("<", ">=", "="), value: fc.integer({ min: 10, max: 60 }) }),
    fc.record({ kind: fc.constant("where" as const), col: fc.constant("id"), op: fc.constant<CmpOp>("in"), value: fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { maxLength: 3 }) }),
  ),
  knows: fc.record({ kind: fc.constant("where" as const), col: fc.constant("since"), op: fc.constantFrom<CmpOp>(">", "<=", "!="), value: fc.integer({ min: 2000, max: 2003 }) }),
  posts: fc.record({ kind: fc.constant("where" as const), col: fc.constant("lang"), op: fc.constantFrom<CmpOp>("=", "!="), value: fc.constantFrom(...LANGS) }),
};

/** A random valid spec: walks tables, picking hops that exist where the traversal is. */
export function specArb(opts: { maxOps?: number; results?: Spec["result"][] } = {}): fc.Arbitrary<Spec> {
  const maxOps = opts.maxOps ?? 4;
  const results = opts.results ?? ["rows", "distinct", "paths", "return", "count", "distinct_count"];
  return fc
    .record({
      startTable: fc.constantFrom<TableName>("people", "people", "people", "knows", "posts"),
      filterKind: fc.integer({ min: 0, max: 3 }),
      filterValue: fc.integer({ min: 1, max: 7 }),
      city: fc.constantFrom(...CITIES),
      choices: fc.array(fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })), { maxLength: maxOps }),
      whereSeeds: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: maxOps, maxLength: maxOps }),
      result: fc.constantFrom(...results),
      order: fc.integer({ min: 0, max: 3 }),
      selectSeed: fc.integer({ min: 0, max: 3 }),
      limit: fc.option(fc.integer({ min: 0, max: 5 }), { nil: null, freq: 3 }),
      offset: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null, freq: 3 }),
    })
    .map((r) => {
      let table: TableName = r.startTable;
      const filter: Record<string, unknown> = {};
      if (table === "people") {
        if (r.filterKind === 1 || r.filterKind === 3) filter["id"] = r.filterValue;
        if (r.filterKind === 2 || r.filterKind === 3) filter["city"] = r.city;
      } else if (table === "posts" && r.filterKind === 1) filter["id"] = r.filterValue;
      else if (table === "knows" && r.filterKind === 1) filter["a"] = r.filterValue;
      const ops: Op[] = [];
      let aliasN = 0;
      r.choices.forEach(([kind, pick, lo, span], i) => {
        const k = kind % 10;
        if (k < 6) {
          const options = HOPS.filter((h) => h.from === table);
          const h = options[pick % options.length]!;
          const op: Op = { kind: "hop", dir: h.dir, rel: h.rel };
          if (h.self && k >= 3) op.hops = [Math.min(lo, 2), Math.min(lo, 2) + Math.min(span, 2)];
          ops.push(op);
          table = h.to;
        } else if (k < 8) {
          const sample = fc.sample(WHERES[table], { seed: r.whereSeeds[i]!, numRuns: 1 })[0]!;
          ops.push(sample);
        } else {
          ops.push({ kind: "as", alias: `x${aliasN++}` });
        }
      });
      let result = r.result;
      const hasAs = ops.some((o) => o.kind === "as");
      if (result === "return" && !hasAs) ops.push({ kind: "as", alias: `x${aliasN++}` });
      if ((result === "distinct" || result === "distinct_count") && hasAs) result = "rows";
      const cols = COLUMNS[table];
      const orderBy =
        (result === "rows" || result === "distinct") && r.order > 0
          ? [{ col: cols[r.order % cols.length]!, desc: r.order === 2 }]
          : [];
      const select = (result === "rows" || result === "distinct") && r.selectSeed > 1 ? [cols[r.selectSeed % cols.length]!, cols[0]] : null;
      return { start: { table: r.startTable, filter }, ops, result, orderBy, select: select ? [...new Set(select)] : null, limit: r.limit, offset: r.offset };
    });
}

// ---------------------------------------------------------------------------------------------
// The reference: adjacency maps and the definitions, spelled out.

interface Nb {
  relId: string;
  relKey: unknown[];
  node: Record<string, unknown>;
  nodeTable: TableName;
}

function keyOf(t: TableName, row: Record<string, unknown>): unknown[] {
  return COLUMNS[t].slice(0, KEYS[t]).map((c) => row[c]);
}

/** Builds `neighbors(table, dir, rel, row)` from the data by hand. */
export function adjacency(data: GraphData): (table: TableName, dir: HopDir, rel: string, row: Record<string, unknown>) => Nb[] {
  const person = new Map(data.people.map((p) => [p.id, p]));
  const k = (r: Knows) => [r.a, r.b, r.n];
  const fwd: Record<string, (row: Record<string, unknown>) => Nb[]> = {
    "people.boss": (p) => (p["boss"] != null && person.has(p["boss"] as number) ? [{ relId: `boss:${p["id"]}`, relKey: [p["id"]], node: person.get(p["boss"] as number)!, nodeTable: "people" }] : []),
    "people.reports": (p) => data.people.filter((q) => q.boss === p["id"]).map((q) => ({ relId: `boss:${q.id}`, relKey: [q.id], node: q, nodeTable: "people" as const })),
    "people.knows": (p) =>
      data.knows.filter((e) => e.a === p["id"] && person.has(e.b)).map((e) => ({ relId: `knows:${k(e)}`, relKey: k(e), node: person.get(e.b)!, nodeTable: "people" as const })),
    "people.known_by": (p) =>
      data.knows.filter((e) => e.b === p["id"] && person.has(e.a)).map((e) => ({ relId: `knows:${k(e)}`, relKey: k(e), node: person.get(e.a)!, nodeTable: "people" as const })),
    "people.knows_by_a": (p) => data.knows.filter((e) => e.a === p["id"]).map((e) => ({ relId: `a:${k(e)}`, relKey: k(e), node: e, nodeTable: "knows" as const })),
    "people.knows_by_b": (p) => data.knows.filter((e) => e.b === p["id"]).map((e) => ({ relId: `b:${k(e)}`, relKey: k(e), node: e, nodeTable: "knows" as const })),
    "people.posts": (p) => data.posts.filter((x) => x.author === p["id"]).map((x) => ({ relId: `author:${x.id}`, relKey: [x.id], node: x, nodeTable: "posts" as const })),
    "knows.a": (e) => (person.has(e["a"] as number) ? [{ relId: `a:${k(e as Knows)}`, relKey: k(e as Knows), node: person.get(e["a"] as number)!, nodeTable: "people" }] : []),
    "knows.b": (e) => (person.has(e["b"] as number) ? [{ relId: `b:${k(e as Knows)}`, relKey: k(e as Knows), node: person.get(e["b"] as number)!, nodeTable: "people" }] : []),
    "posts.author": (x) => (person.has(x["author"] as number) ? [{ relId: `author:${x["id"]}`, relKey: [x["id"]], node: person.get(x["author"] as number)!, nodeTable: "people" }] : []),
  };
  // `in(rel)` at a table = the inverse relation, spelled out.
  const inverse: Record<string, string> = {
    "people.knows": "people.known_by",
    "people.boss": "people.reports",
    "people.author": "people.posts",
    "people.a": "people.knows_by_a",
    "posts.posts": "posts.author",
  };
  return (table, dir, rel, row) => {
    if (dir === "out") return fwd[`${table}.${rel}`]!(row);
    if (dir === "in") return fwd[inverse[`${table}.${rel}`]!]!(row);
    const out = [...fwd[`${table}.${rel}`]!(row), ...fwd[inverse[`${table}.${rel}`]!]!(row)];
    const seen = new Set<string>();
    return out.filter((n) => {
      const id = n.relId + "|" + JSON.stringify(keyOf(n.nodeTable, n.node));
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  };
}

function tableAfter(spec: Spec): TableName[] {
  // table at each op index (after applying it)
  let t = spec.start.table;
  return spec.ops.map((o) => {
    if (o.kind === "hop") t = HOPS.find((h) => h.dir === o.dir && h.rel === o.rel && h.from === t)!.to;
    return t;
  });
}

function rowsOf(data: GraphData, t: TableName): Record<string, unknown>[] {
  return data[t] as unknown as Record<string, unknown>[];
}

function sortByKey(t: TableName, rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return [...rows].sort((a, b) => order(keyOf(t, a), keyOf(t, b)));
}

interface Trail {
  seq: unknown[];
  end: Record<string, unknown>;
  path: { table: TableName; row: Record<string, unknown> }[];
  bindings: Record<string, Record<string, unknown>>;
}

/** What the spec must return, by definition. */
export function reference(data: GraphData, spec: Spec): unknown {
  const nb = adjacency(data);
  const tables = tableAfter(spec);
  const endTable = tables.length ? tables[tables.length - 1]! : spec.start.table;
  const start = sortByKey(
    spec.start.table,
    rowsOf(data, spec.start.table).filter((r) => Object.entries(spec.start.filter).every(([c, v]) => r[c] === v)),
  );
  const window = <T>(xs: T[]): T[] => xs.slice(spec.offset ?? 0, spec.limit === null ? undefined : (spec.offset ?? 0) + spec.limit);
  const project = (rows: Record<string, unknown>[]) => (spec.select ? rows.map((r) => Object.fromEntries(spec.select!.map((c) => [c, r[c]]))) : rows);
  const sortByOrder = (rows: Record<string, unknown>[]) =>
    [...rows].sort((a, b) => {
      for (const o of spec.orderBy) {
        const c = order(a[o.col], b[o.col]);
        if (c !== 0) return o.desc ? -c : c;
      }
      return 0;
    });

  if (spec.result === "distinct" || spec.result === "distinct_count") {
    // Walk semantics over sets: level sets L_k without pruning; a hop [min,max] = ∪_{k=min..max} L_k.
    let t = spec.start.table;
    let cur = new Map(start.map((r) => [JSON.stringify(keyOf(t, r)), r]));
    spec.ops.forEach((o, i) => {
      const next = tables[i]!;
      if (o.kind === "where") {
        cur = new Map([...cur].filter(([, r]) => holds(r[o.col], o.op, o.value)));
      } else if (o.kind === "hop") {
        const [min, max] = o.hops ?? [1, 1];
        let level = cur;
        const union = new Map<string, Record<string, unknown>>();
        for (let d = 0; d <= max; d++) {
          if (d >= min) for (const [id, r] of level) union.set(id, r);
          if (d === max) break;
          const nl = new Map<string, Record<string, unknown>>();
          for (const r of level.values()) for (const n of nb(t, o.dir, o.rel, r)) nl.set(JSON.stringify(keyOf(next, n.node)), n.node);
          level = nl;
        }
        cur = union;
      }
      t = next;
    });
    const rows = sortByOrder(sortByKey(endTable, [...cur.values()]));
    const page = window(rows);
    return spec.result === "distinct_count" ? page.length : project(page);
  }

  // Trails: enumerate every path, keep those with no relationship twice, sort canonically.
  const trails: Trail[] = [];
  const walk = (i: number, t: TableName, row: Record<string, unknown>, tr: Trail, used: Set<string>): void => {
    if (i === spec.ops.length) {
      trails.push({ ...tr, end: row });
      return;
    }
    const o = spec.ops[i]!;
    if (o.kind === "where") {
      if (holds(row[o.col], o.op, o.value)) walk(i + 1, t, row, tr, used);
      return;
    }
    if (o.kind === "as") return walk(i + 1, t, row, { ...tr, bindings: { ...tr.bindings, [o.alias]: row } }, used);
    const [min, max] = o.hops ?? [1, 1];
    const go = (d: number, at: Record<string, unknown>, pairs: unknown[], path: Trail["path"], used2: Set<string>): void => {
      if (d >= min) walk(i + 1, tables[i]!, at, { ...tr, seq: [...tr.seq, pairs], path }, used2);
      if (d === max) return;
      for (const n of nb(t, o.dir, o.rel, at)) {
        if (used2.has(n.relId)) continue;
        go(d + 1, n.node, [...pairs, [n.relKey, keyOf(n.nodeTable, n.node)]], [...path, { table: n.nodeTable, row: n.node }], new Set([...used2, n.relId]));
      }
    };
    go(0, row, [], tr.path, used);
  };
  for (const r of start) walk(0, spec.start.table, r, { seq: [keyOf(spec.start.table, r)], end: r, path: [{ table: spec.start.table, row: r }], bindings: {} }, new Set());
  trails.sort((a, b) => order(a.seq, b.seq));

  if (spec.result === "count") return window(trails).length;
  if (spec.result === "paths") return window(trails).map((tr) => tr.path);
  if (spec.result === "return") {
    const aliases = spec.ops.filter((o): o is Extract<Op, { kind: "as" }> => o.kind === "as").map((o) => o.alias);
    return window(trails).map((tr) => Object.fromEntries(aliases.map((a) => [a, tr.bindings[a]])));
  }
  return project(window(sortByOrder(trails.map((tr) => tr.end))));
}

/** Null-normalizes rows (absent nullable fields are null) for comparison. */
export function norm(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (_k, v) => (v === undefined ? null : v)));
}

/** Builds the spec with the public builder API (untyped: specs are random). */
export function buildSpec(graph: Graph<UntypedShape>, spec: Spec, budget?: number) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let t: Traversal<UntypedShape, string, any, any> = graph.match(spec.start.table, spec.start.filter);
  for (const o of spec.ops) {
    if (o.kind === "hop") {
      const opts = o.hops ? { hops: o.hops } : undefined;
      t = o.dir === "out" ? t.out(o.rel, opts) : o.dir === "in" ? t.in(o.rel, opts) : t.both(o.rel, opts);
    } else if (o.kind === "where") {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      t = t.where(o.col, o.op as any, o.value as any);
    } else t = t.as(o.alias);
  }
  if (spec.result === "distinct" || spec.result === "distinct_count") t = t.distinct();
  if (budget !== undefined) t = t.budget(budget);
  for (const o of spec.orderBy) t = t.orderBy(o.col, o.desc ? "desc" : "asc");
  if (spec.select) t = t.select(spec.select);
  if (spec.offset !== null) t = t.offset(spec.offset);
  if (spec.limit !== null) t = t.limit(spec.limit);
  switch (spec.result) {
    case "count":
    case "distinct_count":
      return t.count();
    case "paths":
      return t.paths();
    case "return": {
      const aliases = spec.ops.filter((o) => o.kind === "as").map((o) => (o as { alias: string }).alias);
      return t.return(Object.fromEntries(aliases.map((a) => [a, a])));
    }
    default:
      return t;
  }
}

export async function runSpec(runner: Runner, spec: Spec): Promise<unknown> {
  const graph = createGraph(testSchema, runner) as unknown as Graph<UntypedShape>;
  return buildSpec(graph, spec).execute();
}


/** A row tuple, as the plan interpreter holds it. */
export type TraverseRow = OracleRow;

/** The shortest path by definition: every trail of ≤ maxHops hops, the fewest hops, then the smallest in canonical order. */
export function referenceShortest(
  data: GraphData,
  from: Record<string, unknown>,
  to: Record<string, unknown>,
  dir: HopDir,
  rel: string,
  maxHops: number,
): { table: TableName; row: Record<string, unknown> }[] | null {
  const nb = adjacency(data);
  const matches = (r: Record<string, unknown>, f: Record<string, unknown>) => Object.entries(f).every(([c, v]) => r[c] === v);
  const starts = sortByKey("people", rowsOf(data, "people").filter((r) => matches(r, from)));
  let best: { seq: unknown[]; path: { table: TableName; row: Record<string, unknown> }[] } | null = null;
  const walk = (at: Record<string, unknown>, seq: unknown[], pairs: unknown[], path: { table: TableName; row: Record<string, unknown> }[], used: Set<string>) => {
    if (matches(at, to)) {
      const full = [...seq, pairs];
      if (!best || path.length < best.path.length || (path.length === best.path.length && order(full, best.seq) < 0)) best = { seq: full, path };
    }
    if (pairs.length === maxHops) return;
    for (const n of nb("people", dir, rel, at)) {
      if (used.has(n.relId)) continue;
      walk(n.node, seq, [...pairs, [n.relKey, keyOf("people", n.node)]], [...path, { table: "people", row: n.node }], new Set([...used, n.relId]));
    }
  };
  for (const s of starts) walk(s, [keyOf("people", s)], [], [{ table: "people", row: s }], new Set());
  return best === null ? null : (best as { path: { table: TableName; row: Record<string, unknown> }[] }).path;
}

/** Connects the test schema to `executor` and replaces the tables' rows with `data`. */
export async function loadGraph(executor: Executor, data: GraphData) {
  const db = await connect(testSchema, executor);
  await db.sync();
  for (const t of ["people", "knows", "posts"] as const) {
    await db.deleteFrom(t).execute();
    const rows = data[t] as never[];
    if (rows.length) await db.insertInto(t).values(rows).execute();
  }
  return db;
}

/**
 * The smallest visit budget (1 … `max`) within which `run(budget)` completes, found by bisection:
 * two traversals that touch the same rows have the same one. `Infinity` when even `max` is not
 * enough (a random traversal can touch more rows than the search covers).
 */
export async function smallestBudget(run: (budget: number) => Promise<unknown>, max = 4096): Promise<number> {
  let lo = 1;
  let hi = max;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    try {
      await run(mid);
      hi = mid;
    } catch (error) {
      if (!(error instanceof VisitBudgetError)) throw error;
      lo = mid + 1;
    }
  }
  if (lo === max) {
    // The bisection never ran `max` itself: past it, the traversal is over the search's cap.
    try {
      await run(max);
    } catch (error) {
      if (!(error instanceof VisitBudgetError)) throw error;
      return Infinity;
    }
  }
  return lo;
}
