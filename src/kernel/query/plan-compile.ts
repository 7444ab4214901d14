/**
 * Compiles a validated `QueryPlan` against the namespace's tables, once per plan text: aliases
 * and columns resolved to row positions, expressions to closures (expr-eval.ts), static types
 * checked, and the access paths chosen — an index range or equality lookup for `from` (the
 * engine's index-support rule, as selectors use it), an index lookup, hash or loop per join, an
 * index serving the order when there is one.
 */
import { childExprs, type QueryExpr, type QueryPlan, type QueryValue } from "../../ir/query-plan.js";
import { NotFoundError } from "../../errors.js";
import type { ColumnConstraint } from "../storage/scan-plan.js";
import type { Table } from "../storage/table-engine.js";
import type { Column } from "../storage/table-schema.js";
import {
  type Access,
  type AggSpec,
  bad,
  type CompiledJoin,
  type CompiledPlan,
  type CompiledWith,
  type ConstraintSpec,
  Env,
  type Ev,
  type JoinStrategy,
  type Kind,
  norm,
  OuterBox,
} from "./compiled.js";
import { showValue } from "../../ir/show-value.js";
import { compileExpr, type ExprCx, kindOf, type ResolvedColumn, type SubqueryValues } from "./expr-eval.js";
import { conjuncts, withJoinImplied } from "./join-implied.js";
import { runPlan } from "./plan-run.js";

/** A parameter the plan reads, with the kinds its uses expect (checked as it is bound). */
export interface ParamSpec {
  readonly name: string;
  readonly index: number;
  readonly kinds: Set<Kind | "tuple" | "count">;
}

/** A compiled root plan: the plan tree, its parameters, and the tables it was compiled for. */
export interface CompiledQuery {
  readonly plan: CompiledPlan;
  readonly env: Env;
  readonly params: readonly ParamSpec[];
  /** Every table read, by name, as resolved when compiled (a replaced table means recompile). */
  readonly tables: ReadonlyMap<string, Table>;
}

interface Alias {
  readonly slot: number;
  readonly table: Table;
  readonly maybeNull: boolean;
}

/** Shared by every plan of one compiled tree. */
class Root {
  readonly env = new Env();
  readonly params = new Map<string, ParamSpec>();
  readonly tables = new Map<string, Table>();
  constructor(
    readonly lookup: (name: string) => Table | undefined,
    readonly ns: string,
  ) {}

  table(name: string): Table {
    let t = this.tables.get(name);
    if (t === undefined) {
      t = this.lookup(name);
      if (t === undefined) throw new NotFoundError(`query: no table /state/${this.ns}/${name}`);
      this.tables.set(name, t);
    }
    return t;
  }

  param(name: string, kind: Kind | "tuple" | "count"): number {
    let p = this.params.get(name);
    if (p === undefined) {
      p = { name, index: this.params.size, kinds: new Set() };
      this.params.set(name, p);
    }
    if (kind !== "unknown") p.kinds.add(kind);
    return p.index;
  }
}

/**
 * True when every table a compiled plan read (`CompiledQuery.tables`) is still the one `lookup`
 * finds by its name: a kept plan whose table was dropped, re-created or altered is compiled again.
 *
 * @example
 * ```ts
 * if (!tablesFresh(q.tables, lookup)) q = compileQuery(plan, lookup, ns);
 * ```
 */
export function tablesFresh(tables: ReadonlyMap<string, Table>, lookup: (name: string) => Table | undefined): boolean {
  for (const [name, table] of tables) if (lookup(name) !== table) return false;
  return true;
}

/**
 * Compiles `plan` over the tables `lookup` finds in namespace `ns`.
 *
 * @example
 * ```ts
 * const q = compileQuery(parseQueryPlan(text), (n) => host.lookup("app", n), "app");
 * runQuery(q, params, meter); // [[1, "ada"], …]
 * ```
 */
export function compileQuery(plan: QueryPlan, lookup: (name: string) => Table | undefined, ns: string): CompiledQuery {
  const root = new Root(lookup, ns);
  const compiled = compilePlan(root, plan, undefined, "plan");
  return { plan: compiled, env: root.env, params: [...root.params.values()], tables: root.tables };
}

/**
 * Compiles expressions over one table under alias `alias` (the `returning` routes' `where` and
 * `set`), sharing one parameter list and environment.
 *
 * @example
 * ```ts
 * const { evs, env, params } = compileTableExprs(table, "t", [where], lookup, "app", ["where"]);
 * bindParams(env, params, { min: 3 });
 * evs[0]!([row]); // true, false or null
 * ```
 */
export function compileTableExprs(
  table: Table,
  alias: string,
  exprs: readonly (QueryExpr | null)[],
  lookup: (name: string) => Table | undefined,
  ns: string,
  whats: readonly string[],
): { evs: (Ev | null)[]; kinds: Kind[]; env: Env; params: readonly ParamSpec[]; tables: ReadonlyMap<string, Table> } {
  const root = new Root(lookup, ns);
  const aliases = new Map<string, Alias>([[alias, { slot: 0, table, maybeNull: false }]]);
  const kinds: Kind[] = [];
  const evs = exprs.map((e, i) => {
    if (e === null) {
      kinds.push("unknown");
      return null;
    }
    const c = compileExpr(rowCx(root, aliases, 1, undefined, whats[i]!), e);
    kinds.push(c.kind);
    return c.ev;
  });
  return { evs, kinds, env: root.env, params: [...root.params.values()], tables: root.tables };
}

function rowCx(root: Root, aliases: Map<string, Alias>, visible: number, parent: ParentScope | undefined, where: string): ExprCx {
  return {
    env: root.env,
    mode: "row",
    where,
    column: (src, col) => resolve(aliases, visible, src, col, where),
    outer: (src, col) => resolveOuter(parent, src, col, where),
    param: (name, kind) => root.param(name, kind),
    subquery: (plan) => subquery(root, plan, where),
  };
}

/** The parent of a nested plan: its aliases, and the box its rows are handed down in. */
interface ParentScope {
  readonly aliases: Map<string, Alias>;
  readonly box: OuterBox;
  /** Distinct parents: only the selected expressions (canonical JSON) may be referred to. */
  readonly selected: ReadonlySet<string> | undefined;
}

function resolve(aliases: Map<string, Alias>, visible: number, src: string, col: string, where: string): ResolvedColumn {
  const a = aliases.get(src);
  if (a === undefined || a.slot >= visible) {
    throw bad(`${where}: unknown alias ${JSON.stringify(src)}${a === undefined ? "" : " (a join's condition may name only its own and earlier aliases)"} (aliases: ${[...aliases.keys()].slice(0, visible).join(", ")})`);
  }
  const column = a.table.schema.column(col);
  if (column === undefined) {
    throw bad(`${where}: unknown column ${JSON.stringify(col)} of ${src} (table ${a.table.path}; columns: ${a.table.schema.columns.map((c) => c.name).join(", ")})`);
  }
  return { slot: a.slot, column, maybeNull: a.maybeNull };
}

function resolveOuter(parent: ParentScope | undefined, src: string, col: string, where: string): { box: OuterBox; slot: number; column: Column } {
  if (parent === undefined) throw bad(`${where}: an outer reference (${src}.${col}) is allowed only in a nested plan (with)`);
  const r = resolve(parent.aliases, Infinity, src, col, `${where} (outer)`);
  if (parent.selected !== undefined && !parent.selected.has(JSON.stringify({ t: "col", src, col }))) {
    throw bad(`${where}: the parent plan is distinct: an outer reference must name a selected column, not ${src}.${col}`);
  }
  return { box: parent.box, slot: r.slot, column: r.column };
}

function subquery(root: Root, plan: QueryPlan, where: string): () => SubqueryValues {
  if (plan.select.length !== 1) throw bad(`${where}: an inQuery plan selects exactly one column, got ${plan.select.length}`);
  if (plan.with.length > 0) throw bad(`${where}: an inQuery plan has no with`);
  const compiled = compilePlan(root, plan, undefined, `${where} inQuery`);
  const env = root.env;
  // Read once per execution, kept in `env.sides` (emptied when the execution ends).
  return () => {
    let values = env.sides.get(compiled) as SubqueryValues | undefined;
    if (values === undefined) {
      const rows = runPlan(compiled, env.visits!);
      const set = new Set<unknown>();
      let hasNull = false;
      for (const r of rows) {
        const v = r[0];
        if (v === null) hasNull = true;
        else set.add(norm(v));
      }
      values = { set, hasNull };
      env.sides.set(compiled, values);
    }
    return values;
  };
}

/** The aliases an expression names (its own plan's columns; not those of subplans). */
function aliasesOf(e: QueryExpr, out: Set<string>): Set<string> {
  if (e.t === "col") out.add(e.src);
  else if (e.t === "agg") out.add("\u0000agg");
  for (const x of childExprs(e)) aliasesOf(x, out);
  return out;
}

function hasAgg(e: QueryExpr): boolean {
  return aliasesOf(e, new Set()).has("\u0000agg");
}

const FLIP: Record<string, string> = { "=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

function compilePlan(root: Root, plan: QueryPlan, parent: ParentScope | undefined, where: string): CompiledPlan {
  const from = root.table(plan.from.table);
  const aliases = new Map<string, Alias>([[plan.from.as, { slot: 0, table: from, maybeNull: false }]]);
  const tables: Table[] = [from];
  const box = parent ? parent.box : new OuterBox();
  // Joins: aliases become visible in order.
  const joinSpecs = plan.joins.map((j, i) => {
    if (aliases.has(j.as)) throw bad(`${where}: alias ${JSON.stringify(j.as)} is used twice`);
    const table = root.table(j.table);
    const slot = i + 1;
    aliases.set(j.as, { slot, table, maybeNull: j.kind === "left" });
    tables.push(table);
    return { j, table, slot };
  });
  // A join's later inner join does not make an earlier left join's rows non-null: kept as declared.
  const n = tables.length;
  const cx = (what: string, visible = n): ExprCx => rowCx(root, aliases, visible, parent, `${where}.${what}`);

  const grouped =
    plan.groupBy !== null || plan.having !== null || plan.select.some((s) => hasAgg(s.expr)) || plan.orderBy.some((o) => hasAgg(o.expr));
  const plain = !grouped && !plan.distinct;
  // A plain plan without orderBy is ordered by keys only: rows kept in key order need no sort.
  const tieOrderOnly = plain && plan.orderBy.length === 0;
  const joins: CompiledJoin[] = joinSpecs.map(({ j, table, slot }) => {
    const what = `join ${JSON.stringify(j.as)} on`;
    if (hasAgg(j.on)) throw bad(`${where}.${what}: an aggregate cannot appear in a join condition`);
    const on = compileExpr(cx(what, slot + 1), j.on);
    if (on.kind !== "bool" && on.kind !== "unknown") throw bad(`${where}.${what}: a join condition is a boolean expression`);
    return { alias: j.as, table, slot, left: j.kind === "left", on: on.ev, strategy: joinStrategy(j.as, table, j.on, cx(what, slot + 1), tieOrderOnly) };
  });

  if (plan.where && hasAgg(plan.where)) throw bad(`${where}.where: an aggregate cannot appear in where (use having)`);
  // Each conjunct of `where` is tested as soon as the last alias it names is bound.
  const whereAt: Ev[][] = tables.map(() => []);
  /** The conjuncts tested on `from`'s rows, by their compiled test (some may be served by its access path). */
  const fromConjuncts = new Map<Ev, QueryExpr>();
  for (const c of conjuncts(plan.where)) {
    const compiled = compileExpr(cx("where"), c);
    if (compiled.kind !== "bool" && compiled.kind !== "unknown") throw bad(`${where}.where: a condition is a boolean expression`);
    let level = 0;
    for (const a of aliasesOf(c, new Set())) level = Math.max(level, aliases.get(a)?.slot ?? 0);
    whereAt[level]!.push(compiled.ev);
    if (level === 0) fromConjuncts.set(compiled.ev, c);
  }

  const names = new Set<string>();
  for (const s of [...plan.select, ...plan.with]) {
    if (names.has(s.as)) throw bad(`${where}: output column ${JSON.stringify(s.as)} is named twice`);
    names.add(s.as);
  }

  let group: CompiledPlan["group"] = null;
  let select: Ev[];
  let order: Ev[];
  if (grouped) {
    if (plan.with.length > 0) throw bad(`${where}: a grouped plan cannot load nested rows (with)`);
    const keyExprs = plan.groupBy ?? [];
    const keys = keyExprs.map((e, i) => {
      if (hasAgg(e)) throw bad(`${where}.groupBy[${i}]: an aggregate cannot appear in groupBy`);
      return compileExpr(cx(`groupBy[${i}]`), e).ev;
    });
    const canon = keyExprs.map((e) => JSON.stringify(e));
    const aggs: AggSpec[] = [];
    const aggCanon: string[] = [];
    const gcx = (what: string): ExprCx => ({
      ...cx(what),
      mode: "group",
      groupSlot: (c) => canon.indexOf(c),
      aggSlot: (e) => {
        const c = JSON.stringify(e);
        let k = aggCanon.indexOf(c);
        let kind: Kind = "number";
        let argKind: Kind = "unknown";
        const arg = e.arg === null ? null : compileExpr(cx(`${what} ${e.fn}`), e.arg);
        if (arg) argKind = arg.kind;
        if ((e.fn === "sum" || e.fn === "avg") && argKind !== "number" && argKind !== "unknown") {
          throw bad(`${where}.${what}: ${e.fn} takes a number, got a ${argKind}`);
        }
        if (e.arg === null && e.fn !== "count") throw bad(`${where}.${what}: ${e.fn} needs an argument`);
        if (e.arg === null && e.distinct) throw bad(`${where}.${what}: count of rows (arg null) cannot be distinct`);
        if (e.fn === "min" || e.fn === "max") kind = argKind;
        if (k < 0) {
          k = aggs.length;
          aggs.push({ fn: e.fn, arg: arg ? arg.ev : null, distinct: e.distinct });
          aggCanon.push(c);
        }
        return { slot: keys.length + k, kind };
      },
    });
    const having = plan.having ? compileExpr(gcx("having"), plan.having).ev : null;
    select = plan.select.map((s) => compileExpr(gcx(`select ${JSON.stringify(s.as)}`), s.expr).ev);
    order = plan.distinct ? [] : plan.orderBy.map((o, i) => compileExpr(gcx(`orderBy[${i}]`), o.expr).ev);
    group = { keys, aggs, having };
  } else {
    select = plan.select.map((s) => compileExpr(cx(`select ${JSON.stringify(s.as)}`), s.expr).ev);
    order = plan.distinct ? [] : plan.orderBy.map((o, i) => compileExpr(cx(`orderBy[${i}]`), o.expr).ev);
  }
  let distinctOn: Ev[] | null = null;
  if (plan.distinctOn !== undefined) {
    if (!plain) throw bad(`${where}.distinctOn: a grouped or distinct plan cannot have distinctOn`);
    distinctOn = plan.distinctOn.map((e, i) => {
      if (hasAgg(e)) throw bad(`${where}.distinctOn[${i}]: an aggregate cannot appear in distinctOn`);
      return compileExpr(cx(`distinctOn[${i}]`), e).ev;
    });
  }
  if (plan.distinct) {
    const outCanon = plan.select.map((s) => JSON.stringify(s.expr));
    order = plan.orderBy.map((o, i) =>
      compileExpr({ ...cx(`orderBy[${i}]`), mode: "output", outputSlot: (c) => outCanon.indexOf(c) }, o.expr).ev,
    );
  }
  const count = (v: QueryPlan["limit"], what: string): Ev | null => {
    if (v === null) return null;
    if ("param" in v) {
      const i = root.param(v.param, "count");
      const env = root.env;
      return () => env.p[i];
    }
    if (typeof v.lit !== "number" || !Number.isInteger(v.lit) || v.lit < 0) throw bad(`${where}.${what}: a non-negative integer, got ${JSON.stringify(v.lit)}`);
    const lit = v.lit;
    return () => lit;
  };

  const parentScope: ParentScope = {
    aliases,
    box: undefined as unknown as OuterBox,
    selected: plan.distinct ? new Set(plan.select.map((s) => JSON.stringify(s.expr))) : undefined,
  };
  const withs: CompiledWith[] = plan.with.map((w) => {
    const childBox = new OuterBox();
    const child = compilePlan(root, w.plan, { ...parentScope, box: childBox }, `${where}.with ${JSON.stringify(w.as)}`);
    return { as: w.as, many: w.kind === "many", plan: child };
  });

  const served = new Set<QueryExpr>();
  const access = accessPath(from, plan, aliases, cx("where"), joins.length === 0 && plain && plan.limit !== null, tieOrderOnly, served);
  // An equality lookup finds exactly the rows its equalities hold for (the index compares cells
  // as `=` does; a null value finds nothing): those conjuncts are not tested again.
  if (served.size > 0) whereAt[0] = whereAt[0]!.filter((ev) => !served.has(fromConjuncts.get(ev)!));
  const natural =
    (access.t === "scan" || access.t === "in" || (access.t !== "ordered" && (access.pkOrdered || access.sortFrom))) &&
    joins.every((j) => j.strategy.t !== "lookup" || j.strategy.pkOrdered || j.strategy.sortRows);
  return {
    env: root.env,
    box,
    from: { alias: plan.from.as, table: from },
    access,
    joins,
    tables,
    whereAt,
    group,
    select,
    distinct: plan.distinct,
    distinctOn,
    order,
    desc: plan.orderBy.map((o) => o.desc),
    limit: count(plan.limit, "limit"),
    offset: count(plan.offset, "offset"),
    withs,
    natural,
  };
}

/** The join's strategy: an index lookup, else a hash join, on an equality of its `on`; else a loop. */
function joinStrategy(alias: string, table: Table, on: QueryExpr, cx: ExprCx, tieOrderOnly: boolean): JoinStrategy {
  let hash: JoinStrategy | undefined;
  for (const c of conjuncts(on)) {
    if (c.t !== "cmp" || c.op !== "=") continue;
    for (const [mine, other] of [
      [c.l, c.r],
      [c.r, c.l],
    ] as const) {
      if (mine.t !== "col" || mine.src !== alias) continue;
      const others = aliasesOf(other, new Set());
      if (others.has(alias) || others.has("\u0000agg")) continue;
      const column = table.schema.column(mine.col);
      if (column === undefined) continue;
      const key = compileExpr(cx, other).ev;
      const leading = table.indexes.some((ix) => ix.columns[0]!.name === mine.col);
      if (leading) {
        const ix = table.plan([{ column, eq: true, value: null }]).index;
        const pkOrdered = ix.primary || ix.listed === 1;
        const onIsKey = conjuncts(on).length === 1;
        const prefetch = other.t === "col" && !table.durable;
        return { t: "lookup", key, lookup: table.equalityLookup([mine.col]), index: ix.name, pkOrdered, sortRows: !pkOrdered && tieOrderOnly, onIsKey, prefetch };
      }
      hash ??= { t: "hash", key, position: column.position };
    }
  }
  return hash ?? { t: "loop" };
}

/** The bounds `where` puts on `from`'s columns through free expressions (top-level conjuncts). */
function bounds(plan: QueryPlan, aliases: Map<string, Alias>, cx: ExprCx): Map<string, { column: Column; eq?: Ev; eqFrom?: QueryExpr; lo?: { ev: Ev; inclusive: boolean }; hi?: { ev: Ev; inclusive: boolean } }> {
  const from = aliases.get(plan.from.as)!.table;
  const out = new Map<string, { column: Column; eq?: Ev; eqFrom?: QueryExpr; lo?: { ev: Ev; inclusive: boolean }; hi?: { ev: Ev; inclusive: boolean } }>();
  const entry = (col: string) => {
    const column = from.schema.column(col)!;
    let b = out.get(col);
    if (b === undefined) out.set(col, (b = { column }));
    return b;
  };
  const free = (e: QueryExpr) => {
    const a = aliasesOf(e, new Set());
    return a.size === 0 && !JSON.stringify(e).includes('"inQuery"');
  };
  for (const c of conjuncts(plan.where)) {
    if (c.t === "cmp" && c.op !== "!=") {
      let col: QueryExpr = c.l;
      let other: QueryExpr = c.r;
      let op: string = c.op;
      if (!(col.t === "col" && col.src === plan.from.as && free(other))) {
        col = c.r;
        other = c.l;
        op = FLIP[c.op]!;
        if (!(col.t === "col" && col.src === plan.from.as && free(other))) continue;
      }
      if (from.schema.column(col.col) === undefined) continue;
      const ev = compileExpr(cx, other).ev;
      const b = entry(col.col);
      if (op === "=") {
        if (b.eq === undefined) {
          b.eq = ev;
          b.eqFrom = c;
        }
      }
      else if (op === ">" || op === ">=") b.lo ??= { ev, inclusive: op === ">=" };
      else b.hi ??= { ev, inclusive: op === "<=" };
    } else if (c.t === "between" && !c.negate && c.e.t === "col" && c.e.src === plan.from.as && free(c.low) && free(c.high)) {
      if (from.schema.column(c.e.col) === undefined) continue;
      const b = entry(c.e.col);
      b.lo ??= { ev: compileExpr(cx, c.low).ev, inclusive: true };
      b.hi ??= { ev: compileExpr(cx, c.high).ev, inclusive: true };
    }
  }
  return out;
}

/** `from.col in (…)` (a top-level conjunct, not negated) on a column leading an index, if any. */
function inAccess(from: Table, plan: QueryPlan, cx: ExprCx): Access | undefined {
  for (const c of conjuncts(plan.where)) {
    if (c.t !== "in" || c.negate || c.e.t !== "col" || c.e.src !== plan.from.as) continue;
    const name = c.e.col;
    if (from.schema.column(name) === undefined || !from.indexes.some((ix) => ix.columns[0]!.name === name)) continue;
    let values: Ev;
    if (Array.isArray(c.list)) {
      const items = (c.list as readonly QueryExpr[]).map((e) => {
        if (aliasesOf(e, new Set()).size > 0 || JSON.stringify(e).includes('"inQuery"')) return undefined;
        return compileExpr(cx, e).ev;
      });
      if (items.some((x) => x === undefined)) continue;
      const evs = items as Ev[];
      values = (x) => evs.map((f) => f(x));
    } else {
      const v = c.list as QueryValue;
      if ("lit" in v) {
        if (!Array.isArray(v.lit)) continue;
        const list = v.lit as unknown[];
        values = () => list;
      } else {
        const i = cx.param(v.param, "tuple");
        const env = cx.env;
        values = () => env.p[i];
      }
    }
    // Items of another kind than the column's are refused as the where conjunct would refuse them.
    const kind = kindOf(from.schema.column(name)!);
    const raw = values;
    const checked: Ev = (x) => {
      const list = raw(x) as unknown[];
      for (const item of list) {
        if (item === null) continue;
        const k = typeof item === "number" || typeof item === "bigint" ? "number" : typeof item === "string" ? "string" : typeof item === "boolean" ? "bool" : "link";
        if (k !== kind && !(kind === "link" && k === "string") && !(kind === "string" && k === "link")) {
          throw bad(`${plan.from.as}.${name}: an item of the in list is ${showValue(item, 40)}, expected a ${kind}`);
        }
      }
      return list;
    };
    return { t: "in", values: checked, lookup: from.equalityLookup([name]) };
  }
  return undefined;
}

/** `from`'s access path; `served` gets the `where` conjuncts an equality lookup makes true. */
function accessPath(from: Table, given: QueryPlan, aliases: Map<string, Alias>, cx: ExprCx, mayOrder: boolean, tieOrderOnly: boolean, served: Set<QueryExpr>): Access {
  // What inner joins imply on `from`'s columns counts too (only for the access path).
  const plan = withJoinImplied(given, (alias) => aliases.get(alias)?.table);
  const b = bounds(plan, aliases, cx);
  // The index covering the most bounds: equality on a prefix of its columns, then one range.
  let best: ConstraintSpec[] = [];
  let bestScore = 0;
  for (const ix of from.indexes) {
    const specs: ConstraintSpec[] = [];
    let score = 0;
    for (const col of ix.columns) {
      const x = b.get(col.name);
      if (x === undefined) break;
      if (x.eq) {
        specs.push({ column: x.column, eq: x.eq, lo: undefined, hi: undefined });
        score += 2;
        continue;
      }
      if (x.lo || x.hi) {
        specs.push({ column: x.column, eq: undefined, lo: x.lo, hi: x.hi });
        score += 1;
      }
      break;
    }
    if (score > bestScore) {
      best = specs;
      bestScore = score;
    }
  }
  const dummy = (specs: readonly ConstraintSpec[]): ColumnConstraint[] =>
    specs.map((s) =>
      s.eq
        ? { column: s.column, eq: true, value: null }
        : { column: s.column, eq: false, lo: s.lo ? { value: null, inclusive: true } : undefined, hi: s.hi ? { value: null, inclusive: true } : undefined },
    );
  const eqOnly = best.every((s) => s.eq !== undefined);
  // An index serving the order (all keys columns of `from`, one direction) when a limit can stop early.
  if (mayOrder && plan.orderBy.length > 0 && eqOnly) {
    const keys = plan.orderBy;
    const cols = keys.map((k) => (k.expr.t === "col" && k.expr.src === plan.from.as ? k.expr.col : undefined));
    if (cols.every((c) => c !== undefined && from.schema.column(c) !== undefined) && keys.every((k) => k.desc === keys[0]!.desc)) {
      const order = cols as string[];
      try {
        const p = from.plan(dummy(best), order, keys[0]!.desc);
        const fixed = new Set(best.map((s) => s.column.name));
        let e = 0;
        while (e < p.index.columns.length && fixed.has(p.index.columns[e]!.name)) e++;
        const skipped = order.findIndex((c) => !fixed.has(c));
        const covered = e + (skipped < 0 ? 0 : order.length - skipped);
        if (p.index.primary || covered >= p.index.listed) {
          return { t: "ordered", specs: best, order, reverse: keys[0]!.desc, orderPos: order.map((c) => from.schema.column(c)!.position) };
        }
      } catch {
        // No index serves this order: the rows are sorted (top-k) instead.
      }
    }
  }
  if (bestScore === 0) return inAccess(from, plan, cx) ?? { t: "scan" };
  const probe = from.plan(dummy(best));
  if (eqOnly) {
    const lookup = from.equalityLookup(best.map((s) => s.column.name));
    for (const s of best) served.add(b.get(s.column.name)!.eqFrom!);
    const pkOrdered = probe.index.primary || best.length >= probe.index.listed;
    return { t: "lookup", values: best.map((s) => s.eq!), lookup, pkOrdered, sortFrom: !pkOrdered && tieOrderOnly };
  }
  const pkOrdered = probe.index.primary;
  return { t: "range", specs: best, pkOrdered, sortFrom: !pkOrdered && tieOrderOnly };
}
