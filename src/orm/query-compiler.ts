/**
 * A relational select node → a `QueryPlan` (src/ir/query-plan.ts) run by the kernel's `query`
 * extension in one GET (`/state/<ns>/<table>/query`, key `[plan_json, {params}]`), the decoder of
 * its row tuples (select cells, then one cell per `with`), and its explanation. Every value is a
 * parameter of the op (generated `_0`, `_1`, … or the user's `param()` names), so the plan text
 * of a shape is the same whatever the values.
 */
import { BadRequestError } from "../errors.js";
import { get, opdef, post, type JsonSteps } from "../ir/json.js";
import { QUERY_EXTENSION, type QueryExpr, type QueryPlan, type QuerySelectItem, type QueryWith } from "../ir/query-plan.js";
import type { Json } from "../ir/types.js";
import { aggregateNumber, cellDecoder } from "./cell-codec.js";
import type { CompiledBody } from "./compile-types.js";
import type { OExpr, OValue } from "./expr.js";
import { LIKE_ESCAPE } from "./expr.js";
import type { ColumnMeta, TableMeta } from "./meta.js";
import type { Predicate } from "./nodes.js";
import { refName, wireValue, type Binder } from "./param-binder.js";
import { planRead, type Explanation, type JoinExplanation, type WithExplanation } from "./planner.js";
import type { QNode, QSelect } from "./query-node.js";
import { rowDecoder } from "./row-factory.js";
import { describeExpr } from "./query-describe.js";
import { showValue } from "../ir/show-value.js";

/** Binds values while a plan is built: the plan names parameters, the op's key maps them to refs. */
export class PlanParams {
  readonly map: Record<string, Json> = {};
  private next = 0;
  constructor(private readonly b: Binder) {}
  /** Binds a value to the next slot (generated values are numbered in plan order). */
  bind(v: OValue): { readonly param: string } {
    const r = v.operand.kind === "param" ? this.b.operand(v.operand, v.column, v.shape) : this.b.slot(this.next++, wireValue(v.operand.value, v.column, v.shape));
    const name = refName(r);
    this.map[name] = r;
    return { param: name };
  }
}

function outputColumn(e: OExpr): ColumnMeta | null {
  if (e.t === "col" || e.t === "outer") return e.meta;
  if (e.t === "agg" && (e.fn === "min" || e.fn === "max") && e.arg) return outputColumn(e.arg);
  return null;
}

/** An expression node as plan JSON, its values bound through `p`. */
export function toExpr(e: OExpr, p: PlanParams): QueryExpr {
  switch (e.t) {
    case "ref":
      throw new BadRequestError(`unresolved column ${showValue(e.name)}`);
    case "col":
      return { t: "col", src: e.src, col: e.col };
    case "outer":
      return { t: "outer", src: e.src, col: e.col };
    case "value":
      return { t: "value", value: p.bind(e) };
    case "cmp":
      return { t: "cmp", op: e.op, l: toExpr(e.l, p), r: toExpr(e.r, p) };
    case "and":
    case "or":
      return { t: e.t, of: e.of.map((y) => toExpr(y, p)) };
    case "not":
      return { t: "not", e: toExpr(e.e, p) };
    case "isNull":
      return { t: "isNull", e: toExpr(e.e, p) };
    case "like":
      return { t: "like", e: toExpr(e.e, p), pattern: toExpr(e.pattern, p), escape: LIKE_ESCAPE, negate: e.negate };
    case "between":
      return { t: "between", e: toExpr(e.e, p), low: toExpr(e.low, p), high: toExpr(e.high, p), negate: e.negate };
    case "in":
      return { t: "in", e: toExpr(e.e, p), list: p.bind(e.list), negate: e.negate };
    case "inQuery": {
      const sub = planOf(e.query, p, null);
      if (sub.plan.select.length !== 1 || sub.plan.with.length > 0) throw new BadRequestError(`"in" with a subquery needs a select of exactly one column`);
      return { t: "inQuery", e: toExpr(e.e, p), query: sub.plan, negate: e.negate };
    }
    case "agg":
      return { t: "agg", fn: e.fn, arg: e.arg ? toExpr(e.arg, p) : null, distinct: e.distinct };
  }
}

/** The output columns of a node: its `select`, or every column of `from`. */
export function selectItems(node: QNode): readonly QSelect[] {
  return node.select ?? node.table.columns.map((c) => ({ as: c.name, expr: { t: "col", src: node.alias, col: c.name, meta: c } as OExpr }));
}

type Decode = (row: Json) => unknown;

interface Planned {
  readonly plan: QueryPlan;
  /** Makes the decoder (only when the plan text is new: see `compileQuery`). */
  readonly decoder: () => Decode;
}

/** The parent of a nested plan: its alias (for `outer` references). */
interface Parent {
  readonly alias: string;
}

function planOf(node: QNode, p: PlanParams, parent: Parent | null, link?: { readonly on: OExpr; readonly via: { readonly table: TableMeta; readonly alias: string; readonly on: OExpr } | null }): Planned {
  const items = selectItems(node);
  const names = new Set<string>();
  for (const s of items) {
    if (names.has(s.as)) throw new BadRequestError(`${node.table.name}: output column ${s.as} is selected twice`);
    names.add(s.as);
  }
  for (const w of node.with) {
    if (names.has(w.as)) throw new BadRequestError(`${node.table.name}: with(${showValue(w.as)}) clashes with a selected column`);
    names.add(w.as);
  }
  const grouped = node.groupBy !== null || items.some((s) => s.expr.t === "agg" || containsAgg(s.expr));
  if (node.having && !grouped) throw new BadRequestError(`${node.table.name}: having() needs groupBy() or an aggregate in select()`);
  const select: QuerySelectItem[] = items.map((s) => ({ as: s.as, expr: toExpr(s.expr, p) }));
  // Nested loads: the target's plan, tied to this row by `outer` references.
  const withs: QueryWith[] = [];
  const nestedDecoders: { as: string; many: boolean; decoder: () => Decode }[] = [];
  for (const w of node.with) {
    const r = w.relation;
    const self: Parent = { alias: node.alias };
    const outer = (col: string): OExpr => ({ t: "outer", src: self.alias, col, meta: node.table.columnsByName[col]! });
    const child = w.node;
    let planned: Planned;
    if (r.lookups.length === 1) {
      const l = r.lookups[0]!;
      const on: OExpr = { t: "cmp", op: "=", l: { t: "col", src: child.alias, col: l.cols[0]!, meta: child.table.columnsByName[l.cols[0]!]! }, r: outer(l.from[0]!) };
      planned = planOf(child, p, self, { on, via: null });
    } else {
      // An edge relation: the edge table's rows of this row, joined to their targets.
      const [edge, target] = r.lookups as [typeof r.lookups[0], typeof r.lookups[0]];
      const via = { table: schemaTable(w, edge!.table), alias: `_via_${w.as}` };
      const viaCol = (c: string): OExpr => ({ t: "col", src: via.alias, col: c, meta: via.table.columnsByName[c]! });
      const on: OExpr = { t: "cmp", op: "=", l: viaCol(edge!.cols[0]!), r: outer(edge!.from[0]!) };
      const joinOn: OExpr = { t: "cmp", op: "=", l: { t: "col", src: child.alias, col: target!.cols[0]!, meta: child.table.columnsByName[target!.cols[0]!]! }, r: viaCol(target!.from[0]!) };
      planned = planOf(child, p, self, { on, via: { ...via, on: joinOn } });
    }
    const many = !(r.kind === "foreign_key" && r.direction === "forward");
    withs.push({ as: w.as, kind: many ? "many" : "one", plan: planned.plan });
    nestedDecoders.push({ as: w.as, many, decoder: planned.decoder });
  }
  let from = { table: node.table.name, as: node.alias };
  const joins = node.joins.map((j) => ({ table: j.table.name, as: j.alias, kind: j.kind, on: toExpr(j.on, p) }));
  let where: QueryExpr | null = node.where ? toExpr(node.where, p) : null;
  if (link) {
    const tie = toExpr(link.on, p);
    if (link.via) {
      // From the edge table (served by its index on the `from` column), joined to the target.
      joins.unshift({ table: node.table.name, as: node.alias, kind: "inner", on: toExpr(link.via.on, p) });
      from = { table: link.via.table.name, as: link.via.alias };
    }
    where = where === null ? tie : { t: "and", of: [tie, ...(where.t === "and" ? where.of : [where])] };
  }
  void parent;
  const plan: QueryPlan = {
    v: 1,
    from,
    joins,
    where,
    groupBy: node.groupBy ? node.groupBy.map((g) => toExpr(g, p)) : null,
    having: node.having ? toExpr(node.having, p) : null,
    select,
    distinct: node.distinct,
    ...(node.distinctOn ? { distinctOn: node.distinctOn.map((e) => toExpr(e, p)) } : {}),
    with: withs,
    orderBy: node.orderBy.map((o) => ({ expr: toExpr(orderTarget(o.expr, items), p), desc: o.desc })),
    limit: node.limit ? p.bind({ t: "value", operand: node.limit, column: null, shape: "value" }) : null,
    offset: node.offset ? p.bind({ t: "value", operand: node.offset, column: null, shape: "value" }) : null,
  };
  return { plan, decoder: () => decoderOf(items, nestedDecoders.map((d) => ({ as: d.as, many: d.many, decode: d.decoder() }))) };
}

/** The relation's edge table metadata (kept on the nested node's relation). */
function schemaTable(w: QNode["with"][number], name: string): TableMeta {
  const t = w.edgeTable;
  if (!t || t.name !== name) throw new BadRequestError(`with(${w.as}): edge table ${name} is unknown`);
  return t;
}

/** An order key naming an output column (`ref`) → that column's expression. */
function orderTarget(e: OExpr, items: readonly QSelect[]): OExpr {
  if (e.t !== "ref") return e;
  const item = items.find((s) => s.as === e.name);
  if (!item) throw new BadRequestError(`orderBy: unknown column ${showValue(e.name)} (neither a column in scope nor a selected name)`);
  return item.expr;
}

function containsAgg(e: OExpr): boolean {
  switch (e.t) {
    case "agg":
      return true;
    case "cmp":
      return containsAgg(e.l) || containsAgg(e.r);
    case "and":
    case "or":
      return e.of.some(containsAgg);
    case "not":
    case "isNull":
      return containsAgg(e.e);
    default:
      return false;
  }
}

function decoderOf(items: readonly QSelect[], nested: readonly { as: string; many: boolean; decode: Decode }[]): Decode {
  const names = items.map((s) => s.as);
  // A cell of a column (or its min/max) decodes as that column's cells do (links, dates, JSON,
  // bytes, 64-bit integers); a sum or average is a number.
  const decoders: Record<string, (v: Json) => unknown> = {};
  for (const s of items) {
    const c = outputColumn(s.expr);
    const d = c !== null ? cellDecoder(c) : s.expr.t === "agg" && (s.expr.fn === "sum" || s.expr.fn === "avg") ? aggregateNumber : undefined;
    if (d !== undefined) decoders[s.as] = d;
  }
  const flat = rowDecoder(names, decoders);
  if (nested.length === 0) return (row) => flat(row as Json[]);
  const n = items.length;
  return (row) => {
    const cells = row as Json[];
    const out = flat(cells);
    for (let i = 0; i < nested.length; i++) {
      const { as, many, decode } = nested[i]!;
      const cell = cells[n + i] ?? null;
      out[as] = many ? ((cell as Json[] | null) ?? []).map(decode) : cell === null ? null : decode(cell);
    }
    return out;
  };
}

/**
 * A relational select → its op (one GET of the `query` route, then `len` for `count()`), its
 * decoder and its explanation. The op needs the host's `query` extension.
 *
 * @example
 * ```ts
 * const { op, decode } = compileQuery(node, new Binder("_", new Map()));
 * ```
 */
export function compileQuery(node: QNode, b: Binder): CompiledBody & { readonly needs: readonly string[] } {
  const p = new PlanParams(b);
  const { plan, decoder } = planOf(node, p, null);
  const text = JSON.stringify(plan);
  // The op and decoder are functions of the plan text (values are parameters, and the parameter
  // map's names are the text's): one per text, so every statement of a shape sends the same op
  // object and the kernel's op cache hits by identity.
  let perTable = SHAPES.get(node.table);
  if (perTable === undefined) SHAPES.set(node.table, (perTable = [new Map(), new Map()]));
  const byText = perTable[node.count ? 1 : 0];
  let shape = byText.get(text);
  if (shape === undefined) {
    const steps: JsonSteps = [["_r", get(`${node.table.path}/query`, [text, p.map])]];
    if (node.count) steps.push(["_n", post("$_r/len", {})]);
    const decode = decoder();
    shape = { op: opdef(steps), decode: node.count ? (r: Json) => r : (r: Json) => (r as Json[]).map(decode) };
    if (byText.size >= MAX_SHAPES_PER_TABLE) byText.clear();
    byText.set(text, shape);
  }
  let explained: Explanation | undefined;
  const lazy = { get explain(): Explanation {
    explained ??= explainQuery(node);
    return explained;
  } };
  return Object.assign(lazy, { op: shape.op, decode: shape.decode, needs: NEEDS }) as CompiledBody & { readonly needs: readonly string[] };
}

const NEEDS: readonly string[] = [QUERY_EXTENSION];
/** The op and decoder of each plan text, per `from` table (a full table's shapes are dropped at once). */
const SHAPES = new WeakMap<TableMeta, [Shapes, Shapes]>();
type Shapes = Map<string, { readonly op: CompiledBody["op"]; readonly decode: CompiledBody["decode"] }>;
const MAX_SHAPES_PER_TABLE = 512;

/** The conjuncts of a `where` that a table range can serve: `col op value` on `alias`. */
function simplePredicates(where: OExpr | null, alias: string): { preds: Predicate[]; rest: OExpr[] } {
  const conj = where === null ? [] : where.t === "and" ? where.of : [where];
  const preds: Predicate[] = [];
  const rest: OExpr[] = [];
  for (const e of conj) {
    if (e.t === "cmp" && e.l.t === "col" && e.l.src === alias && e.r.t === "value" && e.op !== "!=") {
      preds.push({ column: e.l.col, op: e.op, operand: e.r.operand });
    } else if (e.t === "in" && !e.negate && e.e.t === "col" && e.e.src === alias) {
      preds.push({ column: e.e.col, op: "in", operand: e.list.operand });
    } else {
      rest.push(e);
    }
  }
  return { preds, rest };
}

/**
 * The predicates inner joins imply on the `from` alias's columns, as the host reads them for its
 * access path (kernel query/join-implied.ts): `from.x = j.y` in an inner join's `on` and `j.y op
 * value` in `where` give `x op value`. Every condition is still tested where it was.
 */
function impliedPredicates(node: QNode): Predicate[] {
  const equal = new Map<string, Map<string, string>>();
  for (const j of node.joins) {
    if (j.kind !== "inner") continue;
    for (const e of j.on.t === "and" ? j.on.of : [j.on]) {
      if (e.t !== "cmp" || e.op !== "=") continue;
      for (const [mine, theirs] of [[e.l, e.r], [e.r, e.l]] as const) {
        if (mine.t !== "col" || mine.src !== node.alias || theirs.t !== "col" || theirs.src !== j.alias || !sameKind(mine.meta, theirs.meta)) continue;
        let cols = equal.get(j.alias);
        if (cols === undefined) equal.set(j.alias, (cols = new Map()));
        cols.set(theirs.col, mine.col);
      }
    }
  }
  if (equal.size === 0 || node.where === null) return [];
  const onFrom = (e: OExpr): string | undefined => (e.t === "col" ? equal.get(e.src)?.get(e.col) : undefined);
  const out: Predicate[] = [];
  for (const e of node.where.t === "and" ? node.where.of : [node.where]) {
    if (e.t === "cmp" && e.op !== "!=" && e.r.t === "value") {
      const column = onFrom(e.l);
      if (column !== undefined) out.push({ column, op: e.op, operand: e.r.operand });
    } else if (e.t === "in" && !e.negate) {
      const column = onFrom(e.e);
      if (column !== undefined) out.push({ column, op: "in", operand: e.list.operand });
    }
  }
  return out;
}

/** Whether two columns hold values of one kind (as the host compares them). */
function sameKind(a: ColumnMeta, b: ColumnMeta): boolean {
  const numeric = (c: ColumnMeta) => /^[iuf][0-9]+$/.test(c.dtype) && c.mode !== "bigint";
  return a.dtype === b.dtype || (numeric(a) && numeric(b));
}

/** The index of `meta` whose first column is `column` (the primary one first), if any. */
export function indexStartingWith(meta: TableMeta, column: string): string | null {
  if (meta.keyColumns[0] === column) return "primary";
  return meta.indexes.find((i) => i.columns[0] === column)?.name ?? null;
}

/** The column of `alias` that an equality of `on` ties to earlier aliases (or the parent row). */
function lookupColumn(on: OExpr, alias: string): string | null {
  const conj = on.t === "and" ? on.of : [on];
  for (const e of conj) {
    if (e.t !== "cmp" || e.op !== "=") continue;
    for (const [mine, other] of [[e.l, e.r], [e.r, e.l]] as const) {
      if (mine.t === "col" && mine.src === alias && !mentions(other, alias)) return mine.col;
    }
  }
  return null;
}

function mentions(e: OExpr, alias: string): boolean {
  switch (e.t) {
    case "col":
      return e.src === alias;
    case "cmp":
      return mentions(e.l, alias) || mentions(e.r, alias);
    case "and":
    case "or":
      return e.of.some((x) => mentions(x, alias));
    case "not":
    case "isNull":
      return mentions(e.e, alias);
    default:
      return false;
  }
}

/**
 * What `explain()` says of a relational select: how `from` is read (the index range its simple
 * predicates select, as the single-table planner would choose it), each join's strategy and the
 * index serving it (an index lookup when the joined table has an index starting with the join
 * column, else a hash join — the kernel's rule), each nested load's lookup, and the order.
 */
export function explainQuery(node: QNode): Explanation {
  const { preds, rest } = simplePredicates(node.where, node.alias);
  const plan = planRead(node.table, [...preds, ...impliedPredicates(node)], null);
  const joins: JoinExplanation[] = node.joins.map((j) => {
    const column = lookupColumn(j.on, j.alias);
    const index = column === null ? null : indexStartingWith(j.table, column);
    return { alias: j.alias, table: j.table.name, kind: j.kind, strategy: index ? "index lookup" : "hash join", index, on: describeExpr(j.on) };
  });
  const withs: WithExplanation[] = node.with.map((w) => {
    const first = w.relation.lookups[0]!;
    const table = first.table === w.node.table.name ? w.node.table : w.edgeTable!;
    return {
      as: w.as,
      relation: w.relation.description,
      kind: w.relation.kind === "foreign_key" && w.relation.direction === "forward" ? "one" : "many",
      strategy: "index lookup",
      index: indexStartingWith(table, first.cols[0]!) ?? "none",
      nested: explainQuery(w.node),
    };
  });
  const order = node.orderBy.map((o) => `${describeExpr(o.expr)} ${o.desc ? "desc" : "asc"}`);
  const ties = node.groupBy ? "group values asc" : node.distinct ? "output columns asc" : "primary key asc";
  return {
    table: `${node.table.namespace}/${node.table.name}`,
    access: plan.point ? "key lookup" : plan.lookup ? "index lookups" : plan.selector.length > 0 ? "index range" : "full scan",
    index: plan.index.name,
    served: plan.served.map((q) => `${q.column} ${q.op} ${q.operand?.kind === "param" ? `$${q.operand.name}` : "?"}`),
    filtered: [...plan.filtered.map((q) => `${q.column} ${q.op} ${q.operand?.kind === "param" ? `$${q.operand.name}` : q.operand ? "?" : ""}`.trim()), ...rest.map(describeExpr)],
    order: `${order.length > 0 ? `${order.join(", ")}, then ` : ""}${ties}${node.limit && order.length > 0 ? " (top-k: a bounded heap)" : ""}`,
    filter: null,
    route: "query route (extension)",
    joins,
    with: withs,
    ...(node.groupBy ? { groupBy: node.groupBy.map(describeExpr) } : {}),
  };
}
