/**
 * The one compiler: a query node → a POST OpDef (IR JSON) whose free ids are its parameters.
 *
 * Every value a user gives directly is bound to a generated parameter (`_0`, `_1`, … — names a
 * user's `param()` may not take, since they start with `_`), so the op for
 * `where("name", "=", x)` is the same JSON whatever `x` is: values never become code. Step names
 * also start with `_` so that no user parameter can shadow one.
 *
 * Reads: the planner's selector is a GET on the table (a key lookup, or an index range), then the
 * `order` route, `limit`, `select` and `rows`; predicates no index serves are evaluated per row by
 * the `filter` route extension (default), or — the core lowering — by a `fold` over the range's
 * rows whose closure keeps the rows that pass; an order no index serves uses the `sort` route
 * extension, or an insertion sort by `fold` (core, O(n²), numeric columns only). Writes
 * use the table routes (`insert`, `insert_rows`, upsert, range update, delete) and are chained
 * before the statement's final read with `after`.
 */
import { BadRequestError, InternalError } from "../errors.js";
import { idProblem } from "../ir/id.js";
import { after, cond, del, forEach, get, linkValue, one, opdef, post, put, ref, type JsonSteps } from "../ir/json.js";
import { PATHS, type Json } from "../ir/types.js";
import type { ColumnMeta, TableMeta } from "./meta.js";
import type { DeleteNode, InsertNode, Operand, Predicate, QueryNode, SelectNode, UpdateNode } from "./nodes.js";
import { rowDecoder as tupleDecoder } from "./row-factory.js";
import { explainPlan, planRead, type Explanation, type Lowerings, type Plan, type SelectorPart } from "./planner.js";

/** What `compile()` returns: the op, its parameter names (sorted), and the generated bindings. */
export interface CompiledQuery {
  /** The POST OpDef, as IR JSON. */
  readonly op: Json;
  /** Every free id of the op (generated and named parameters), sorted. */
  readonly params: readonly string[];
  /** Values of the generated parameters (`_0`, …): pass them with the named ones to `execute`. */
  readonly bound: Readonly<Record<string, Json>>;
}

/** How a named parameter is checked at execution. */
export interface ParamUse {
  readonly column: ColumnMeta | null;
  /** `in`: a list of column values; `amount`: a non-negative integer (limit/offset). */
  readonly shape: "value" | "list" | "amount";
}

/** @internal the compiler's full output */
export interface Compiled extends CompiledQuery {
  /** Maps the op's JSON result to what `execute()` returns. */
  readonly decode: (result: Json) => unknown;
  /** Named (user) parameters and how to check them. */
  readonly userParams: ReadonlyMap<string, ParamUse>;
  readonly explain: Explanation | null;
}

export interface CompileOptions {
  /** Prefix of generated parameter names (a batch gives each statement its own). */
  readonly prefix?: string;
  /** Lower multi-row inserts to core IR instead of the `insert_rows` extension. */
  readonly coreInsert?: boolean;
  /** `false`: neither read nor fill the per-shape template cache (benchmarks of a cold compile). */
  readonly cache?: boolean;
  /** Per-row filters by a core-IR `fold` instead of the `filter` route extension. */
  readonly coreFilter?: boolean;
  /** Unserved orders by a core-IR insertion sort instead of the `sort` route extension. */
  readonly coreSort?: boolean;
}

/**
 * A value as the wire carries it: link columns hold `{"<path>": []}`, or the typed form
 * `{"/state/scalar/value/link": "<url>"}` for an absolute link (v2 IR refuses an absolute link as
 * a key: it would read as an op call on that host).
 */
export function toWire(column: ColumnMeta | null, value: unknown): Json {
  if (column?.dtype === "link" && typeof value === "string") {
    return value.startsWith("/") ? one(value, []) : linkValue(value);
  }
  return value as Json;
}

/**
 * Assigns parameter names. A value operand's name is fixed by its position in the node (its
 * "slot", see `slotOperands`), not by the order the compiler happens to reach it, so a cached
 * compilation can be re-bound to another node of the same shape by walking that node's slots.
 */
class Binder {
  readonly bound: Record<string, Json> = {};
  readonly userParams = new Map<string, ParamUse>();
  readonly usedSlots = new Set<number>();
  constructor(
    readonly prefix: string,
    private readonly slots: ReadonlyMap<Operand, number>,
  ) {}

  /** Binds slot `i` (insert payloads) to `value`; returns its reference. */
  slot(i: number, value: Json): Json {
    const name = `${this.prefix}${i}`;
    this.bound[name] = value;
    this.usedSlots.add(i);
    return ref(name);
  }

  operand(o: Operand, column: ColumnMeta | null, shape: ParamUse["shape"]): Json {
    if (o.kind === "param") {
      const problem = idProblem(o.name);
      if (problem) throw new BadRequestError(`invalid parameter name ${JSON.stringify(o.name)}: ${problem}`);
      if (o.name.startsWith("_")) {
        throw new BadRequestError(`parameter names starting with "_" are reserved for generated parameters: ${o.name}`);
      }
      const prev = this.userParams.get(o.name);
      if (!prev || (prev.column === null && column !== null)) this.userParams.set(o.name, { column, shape });
      return ref(o.name);
    }
    const i = this.slots.get(o);
    if (i === undefined) throw new InternalError("ORM compiler: a value operand has no parameter slot");
    return this.slot(i, wireValue(o.value, column, shape));
  }

  params(): string[] {
    return [...Object.keys(this.bound), ...this.userParams.keys()].sort();
  }
}

function wireValue(value: unknown, column: ColumnMeta | null, shape: ParamUse["shape"]): Json {
  return shape === "list" ? [...new Set(value as unknown[])].map((v) => toWire(column, v)) : toWire(column, value);
}

/** The value operands of a node in canonical order, with how each is sent. */
function slotOperands(node: QueryNode): { operand: Operand; column: ColumnMeta | null; shape: ParamUse["shape"] }[] {
  const out: { operand: Operand; column: ColumnMeta | null; shape: ParamUse["shape"] }[] = [];
  if (node.kind === "insert") return out;
  const cols = node.table.columnsByName;
  if (node.kind === "update") for (const [c, o] of node.set) if (o.kind === "value") out.push({ operand: o, column: cols[c]!, shape: "value" });
  for (const p of node.where) {
    if (p.operand?.kind === "value") out.push({ operand: p.operand, column: cols[p.column]!, shape: p.op === "in" ? "list" : "value" });
  }
  if (node.kind === "select") {
    if (node.limit?.kind === "value") out.push({ operand: node.limit, column: null, shape: "amount" });
    if (node.offset?.kind === "value") out.push({ operand: node.offset, column: null, shape: "amount" });
  }
  return out;
}

/**
 * Insert payloads by slot: one row → [key, values] (+ the `{column: value}` map of the columns
 * given, for `"update"`); several → [rows] (or [[key, values(, map)]…]).
 */
function insertPayloads(node: InsertNode, options: CompileOptions): Json[] {
  const meta = node.table;
  const k = meta.keyColumns.length;
  const wire = node.rows.map((row) => row.map((v, i) => toWire(meta.columns[i]!, v)));
  const given = (r: number): Json => {
    const map: Record<string, Json> = {};
    for (const name of [...node.provided[r]!].sort()) map[name] = wire[r]![meta.columnsByName[name]!.position]!;
    return map;
  };
  if (wire.length === 1) return node.onConflict === "update" ? [wire[0]!.slice(0, k), wire[0]!.slice(k), given(0)] : [wire[0]!.slice(0, k), wire[0]!.slice(k)];
  if (node.onConflict === "error" && !options.coreInsert) return [wire];
  if (node.onConflict === "update") return [wire.map((row, r) => [row.slice(0, k), row.slice(k), given(r)])];
  return [wire.map((row) => [row.slice(0, k), row.slice(k)])];
}

const SEP = "\u0001"; // control characters never occur in Ids, so keys cannot collide

function amountSig(a: Operand | null): string {
  return a === null ? "-" : a.kind === "param" ? `$${a.name}` : "?";
}

/** Everything about a node that shapes its op, and nothing else (no values). */
function signature(node: QueryNode, options: CompileOptions): string {
  const preds = (ps: readonly Predicate[]) =>
    ps.map((p) => `${p.column}${SEP}${p.op}${SEP}${p.operand === null ? "" : p.operand.kind === "param" ? `$${p.operand.name}` : "?"}`).join(SEP + SEP);
  const head = `${options.prefix ?? "_"}${SEP}${node.kind}${SEP}${options.coreFilter === true}${options.coreSort === true}${SEP}`;
  switch (node.kind) {
    case "select":
      return `${head}${preds(node.where)}${SEP}|${node.orderBy ? `${node.orderBy.column}${SEP}${node.orderBy.direction}` : "-"}${SEP}${amountSig(node.limit)}${SEP}${amountSig(node.offset)}${SEP}${node.columns ? node.columns.join(SEP) : "*"}${SEP}${node.count}`;
    case "insert":
      return `${head}${node.onConflict}${SEP}${node.rows.length === 1 ? "one" : "many"}${SEP}${options.coreInsert === true}`;
    case "update":
      return `${head}${node.set.map(([c, o]) => `${c}${SEP}${amountSig(o)}`).join(SEP)}${SEP}|${preds(node.where)}`;
    case "delete":
      return `${head}${preds(node.where)}`;
  }
}

function selectorJson(meta: TableMeta, parts: readonly SelectorPart[], b: Binder): Json {
  if (parts.length === 0) return null;
  return parts.map((part) => {
    const column = meta.columnsByName[part.column]!;
    if ("eq" in part) return [part.column, b.operand(part.eq.operand!, column, "value")];
    const bound = (p: Predicate | null): Json =>
      p === null ? null : [p.op === ">=" || p.op === "<=" ? "in" : "ex", b.operand(p.operand!, column, "value")];
    return [part.column, [bound(part.lower), bound(part.upper)]];
  });
}

const COMPARE: Record<string, string> = { "=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge" };

/**
 * The closure `fold` runs per row: `{_acc}` plus the row `_row` in scope; returns `{_acc}` with
 * the row appended when every predicate holds. `keep` says what to append (the row, or a key
 * selector for writes).
 */
function filterOp(meta: TableMeta, preds: readonly Predicate[], b: Binder, keep: Json): Json {
  const steps: JsonSteps = [];
  const tests: string[] = [];
  preds.forEach((p, i) => {
    const column = meta.columnsByName[p.column]!;
    const c = `_c${i}`;
    const t = `_t${i}`;
    steps.push([c, post(`$_row/get`, { i: column.position })]);
    if (p.op === "isNull" || p.op === "isNotNull") {
      steps.push([t, post(`$${c}/${p.op === "isNull" ? "eq" : "ne"}`, { r: null })]);
    } else if (p.op === "in") {
      const list = b.operand(p.operand!, column, "list");
      const member = opdef([
        ["_e", post("$_x/eq", { r: ref(c) })],
        ["_r", post("$_e/or", { r: ref("state") })],
      ]);
      steps.push([`_l${i}`, list]);
      steps.push([t, post(`$_l${i}/fold`, { item_name: "_x", value: false, op: member })]);
    } else {
      const test = post(`$${c}/${COMPARE[p.op]}`, { r: b.operand(p.operand!, column, "value") });
      if (column.nullable && p.op !== "=") {
        // SQL semantics: a comparison with null is not true.
        steps.push([`_n${i}`, post(`$${c}/ne`, { r: null })]);
        steps.push([t, cond(ref(`_n${i}`), test, false)]);
      } else {
        steps.push([t, test]);
      }
    }
    tests.push(t);
  });
  let all = tests[0]!;
  for (let i = 1; i < tests.length; i++) {
    const name = `_a${i}`;
    steps.push([name, post(`$${all}/and`, { r: ref(tests[i]!) })]);
    all = name;
  }
  steps.push(["_r", { _acc: cond(ref(all), post("$_acc/concat", { r: [keep] }), ref("_acc")) }]);
  return opdef(steps);
}

/** The key of the `filter` route: `[[column, op, value], …]`, values bound as parameters. */
function filterKey(meta: TableMeta, preds: readonly Predicate[], b: Binder): Json {
  return preds.map((p) => {
    if (p.operand === null) return [p.column, p.op];
    return [p.column, p.op, b.operand(p.operand, meta.columnsByName[p.column]!, p.op === "in" ? "list" : "value")];
  });
}

const NUMERIC = new Set(["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64"]);

/**
 * Core lowering of the `sort` route for one column: an insertion sort by `fold` (O(n²) closure
 * calls — the fallback for hosts without the extension). Each row goes after every row already
 * placed that sorts before it or ties with it, so the sort is stable; nulls sort first ascending,
 * last descending (as the extension does). Core IR compares numbers only.
 */
function sortOp(meta: TableMeta, column: string, reverse: boolean): Json {
  const c = meta.columnsByName[column]!;
  if (!NUMERIC.has(c.dtype)) {
    throw new BadRequestError(
      `${meta.namespace}/${meta.name}: ordering by the ${c.dtype} column ${column} without an index needs the sort extension ` +
        `(core IR compares numbers only); use sort: "extension" or declare .index("by_${column}", ["${column}"])`,
    );
  }
  const i = c.position;
  const cmp = reverse ? "ge" : "le";
  // `before`: the placed row `_e` stays before the new row `_row`.
  const before: JsonSteps = [["_ec", post("$_e/get", { i })]];
  if (c.nullable) {
    before.push(["_enn", post("$_ec/ne", { r: null })]);
    before.push(["_both", post("$_enn/and", { r: ref("_cnn") })]);
    before.push(["_lt", cond(ref("_both"), post(`$_ec/${cmp}`, { r: ref("_c") }), false)]);
    // Ascending: a null placed row stays first; descending: a null new row goes last.
    before.push(["_nul", reverse ? post("$_cnn/not", {}) : post("$_enn/not", {})]);
    before.push(["_b", post("$_nul/or", { r: ref("_lt") })]);
  } else {
    before.push(["_b", post(`$_ec/${cmp}`, { r: ref("_c") })]);
  }
  before.push(["_r", cond(ref("_b"), post("$state/add", { r: 1 }), ref("state"))]);
  const steps: JsonSteps = [["_c", post("$_row/get", { i })]];
  if (c.nullable) steps.push(["_cnn", post("$_c/ne", { r: null })]);
  steps.push(["_at", post("$_acc/fold", { item_name: "_e", value: 0, op: opdef(before) })]);
  steps.push(["_head", post("$_acc/slice", { stop: ref("_at") })]);
  steps.push(["_tail", post("$_acc/slice", { start: ref("_at") })]);
  steps.push(["_mid", post("$_head/concat", { r: [ref("_row")] })]);
  steps.push(["_r", { _acc: post("$_mid/concat", { r: ref("_tail") }) }]);
  return opdef(steps);
}

/** The view a read starts from: the selector's range (or all rows), ordered when asked. */
function sourceSteps(meta: TableMeta, plan: Plan, b: Binder, steps: JsonSteps): string {
  const sel = selectorJson(meta, plan.selector, b);
  if (plan.order) {
    const order = [[...plan.order.columns], plan.order.reverse];
    if (sel === null) {
      steps.push(["_v", get(`${meta.path}/order`, order)]);
    } else {
      steps.push(["_s", get(meta.path, sel)]);
      steps.push(["_v", get("$_s/order", order)]);
    }
  } else {
    steps.push(["_v", get(meta.path, sel)]);
  }
  return "_v";
}

/** Whole-row decoders by table (the usual case: one per table, not one per compiled query). */
const WHOLE_ROW = new WeakMap<TableMeta, (cells: readonly unknown[]) => unknown>();

/** Decodes result tuples (cells in `tupleColumns` order) into row objects of `columns` (all when null). */
function rowDecoder(meta: TableMeta, columns: readonly string[] | null, tupleColumns: readonly string[]): (row: Json) => unknown {
  // Made on the first row, not at compile time: many compiled queries never decode a row.
  let decode = columns === null ? WHOLE_ROW.get(meta) : undefined;
  return (row) => {
    if (decode === undefined) {
      const names = columns ?? tupleColumns;
      const links = names.filter((n) => meta.columnsByName[n]?.dtype === "link");
      decode = tupleDecoder(names, links, names.map((n) => tupleColumns.indexOf(n)));
      if (columns === null) WHOLE_ROW.set(meta, decode);
    }
    return decode(row as Json[]);
  };
}

function compileSelect(node: SelectNode, b: Binder, options: CompileOptions): Omit<Compiled, "params" | "bound" | "userParams"> {
  const meta = node.table;
  const allColumns = meta.columns.map((c) => c.name);
  const plan = planRead(meta, node.where, node.orderBy);
  // Once rows are a tuple (core filter), the sort must be core too.
  const coreFilter = options.coreFilter === true && plan.filtered.length > 0;
  const sort = node.count ? null : plan.sort;
  const coreSort = sort !== null && (options.coreSort === true || coreFilter);
  const lowering: Lowerings = { coreFilter, coreSort };
  const explain = explainPlan(meta, plan, lowering);
  const steps: JsonSteps = [];
  const full = rowDecoder(meta, node.columns, allColumns);

  if (plan.point && !node.limit && !node.offset) {
    const key = plan.selector.map((part) => b.operand((part as { eq: Predicate }).eq.operand!, meta.columnsByName[part.column]!, "value"));
    if (node.count) {
      steps.push(["_r", get(`${meta.path}/contains`, key)]);
      return { op: opdef(steps), decode: (r) => (r === true ? 1 : 0), explain };
    }
    steps.push(["_r", get(meta.path, key)]);
    return { op: opdef(steps), decode: (r) => (r === null ? [] : [full(r)]), explain };
  }

  const limit = node.limit ? b.operand(node.limit, null, "amount") : null;
  const offset = node.offset ? b.operand(node.offset, null, "amount") : null;

  if (!plan.lookup && !coreFilter && !coreSort) {
    if (node.count && !limit && !offset && plan.filtered.length === 0) {
      steps.push(["_r", get(`${meta.path}/count`, selectorJson(meta, plan.selector, b))]);
      return { op: opdef(steps), decode: (r) => r, explain };
    }
    let cur = sourceSteps(meta, plan, b, steps);
    if (plan.filtered.length > 0) {
      steps.push(["_fv", get(`$${cur}/filter`, filterKey(meta, plan.filtered, b))]);
      cur = "_fv";
    }
    if (sort) {
      steps.push(["_sv", get(`$${cur}/sort`, [[sort.column], sort.reverse])]);
      cur = "_sv";
    }
    if (node.count && !limit && !offset) {
      steps.push(["_r", get(`$${cur}/count`, null)]);
      return { op: opdef(steps), decode: (r) => r, explain };
    }
    if (limit !== null) {
      let n: Json = limit;
      if (offset !== null) {
        steps.push(["_stop", post(`$${offsetName(offset)}/add`, { r: limit })]);
        n = ref("_stop");
      }
      steps.push(["_lim", get(`$${cur}/limit`, n)]);
      cur = "_lim";
    }
    const projected = node.columns && !node.count;
    if (projected) {
      steps.push(["_proj", get(`$${cur}/select`, [...node.columns!])]);
      cur = "_proj";
    }
    steps.push(["_rows", get(`$${cur}/rows`, null)]);
    cur = "_rows";
    if (offset !== null) {
      steps.push(["_page", post(`$${cur}/slice`, { start: offset })]);
      cur = "_page";
    }
    if (node.count) {
      steps.push(["_r", post(`$${cur}/len`, {})]);
      return { op: opdef(steps), decode: (r) => r, explain };
    }
    const decodeRow = projected ? rowDecoder(meta, node.columns, node.columns!) : full;
    return { op: opdef(steps), decode: (r) => (r as Json[]).map(decodeRow), explain };
  }

  if (plan.lookup) {
    // One index range per listed value, concatenated (values are deduplicated when bound).
    const column = plan.lookup.column;
    steps.push(["_list", b.operand(plan.lookup.operand!, meta.columnsByName[column]!, "list")]);
    const perValue = opdef([
      ["_lv", get(meta.path, [[column, ref("_x")]])],
      ...(plan.filtered.length > 0 && !coreFilter
        ? ([["_lf", get("$_lv/filter", filterKey(meta, plan.filtered, b))], ["_lr", get("$_lf/rows", null)]] as JsonSteps)
        : ([["_lr", get("$_lv/rows", null)]] as JsonSteps)),
      ["_r", { _acc: post("$_acc/concat", { r: ref("_lr") }) }],
    ]);
    steps.push(["_lf", post("$_list/fold", { item_name: "_x", value: { _acc: [] }, op: perValue })]);
    steps.push(["_rows", post("$_lf/get", { i: "_acc" })]);
  } else {
    let src = sourceSteps(meta, plan, b, steps);
    if (plan.filtered.length > 0 && !coreFilter) {
      steps.push(["_fv", get(`$${src}/filter`, filterKey(meta, plan.filtered, b))]);
      src = "_fv";
    }
    steps.push(["_rows", get(`$${src}/rows`, null)]);
  }
  let cur = "_rows";
  if (coreFilter) {
    steps.push([
      "_f",
      post("$_rows/fold", { item_name: "_row", value: { _acc: [] }, op: filterOp(meta, plan.filtered, b, ref("_row")) }),
    ]);
    steps.push(["_kept", post("$_f/get", { i: "_acc" })]);
    cur = "_kept";
  }
  if (sort) {
    steps.push(["_sf", post(`$${cur}/fold`, { item_name: "_row", value: { _acc: [] }, op: sortOp(meta, sort.column, sort.reverse) })]);
    steps.push(["_sorted", post("$_sf/get", { i: "_acc" })]);
    cur = "_sorted";
  }
  if (limit !== null || offset !== null) {
    const params: Record<string, Json> = {};
    if (offset !== null) params.start = offset;
    if (limit !== null) {
      if (offset !== null) {
        steps.push(["_stop", post(`$${offsetName(offset)}/add`, { r: limit })]);
        params.stop = ref("_stop");
      } else {
        params.stop = limit;
      }
    }
    steps.push(["_page", post(`$${cur}/slice`, params)]);
    cur = "_page";
  }
  if (node.count) {
    steps.push(["_r", post(`$${cur}/len`, {})]);
    return { op: opdef(steps), decode: (r) => r, explain };
  }
  steps.push(["_r", ref(cur)]);
  return { op: opdef(steps), decode: (r) => (r as Json[]).map(full), explain };
}

/** The name inside a `{"$name": []}` reference. */
function offsetName(r: Json): string {
  return Object.keys(r as Record<string, Json>)[0]!.slice(1);
}

function compileInsert(node: InsertNode, b: Binder, options: CompileOptions): Omit<Compiled, "params" | "bound" | "userParams"> {
  const meta = node.table;
  const payloads = insertPayloads(node, options);
  const steps: JsonSteps = [];
  const writeOne = (key: Json, values: Json, set?: Json): Json => {
    if (node.onConflict === "update") {
      // An existing row gets the given columns only (a range update on its key); a new one is
      // inserted whole, with defaults.
      const k = offsetName(key);
      const update = opdef([
        ["_sel", meta.keyColumns.map((c, i) => [c, post(`$${k}/get`, { i })])],
        ["_r", put(meta.path, ref("_sel"), set!)],
      ]);
      return cond(get(`${meta.path}/contains`, key), update, put(`${meta.path}/insert`, key, values));
    }
    const insert = put(`${meta.path}/insert`, key, values);
    if (node.onConflict === "ignore") return cond(get(`${meta.path}/contains`, key), null, insert);
    return insert;
  };
  let write: Json;
  let written: Json = 1;
  if (node.rows.length === 1) {
    write = writeOne(b.slot(0, payloads[0]!), b.slot(1, payloads[1]!), node.onConflict === "update" ? b.slot(2, payloads[2]!) : undefined);
  } else if (node.onConflict === "error" && !options.coreInsert) {
    write = put(`${meta.path}/insert_rows`, null, b.slot(0, payloads[0]!));
    written = post(`$${b.prefix}0/len`, {});
  } else {
    const rows = b.slot(0, payloads[0]!);
    const perRow = opdef([
      ["_k", post("$_item/get", { i: 0 })],
      ["_vals", post("$_item/get", { i: 1 })],
      ...(node.onConflict === "update" ? ([["_set", post("$_item/get", { i: 2 })]] as JsonSteps) : []),
      ["_r", writeOne(ref("_k"), ref("_vals"), ref("_set"))],
    ]);
    write = forEach(rows, perRow, "_item");
    written = post(`$${b.prefix}0/len`, {});
  }
  if (node.onConflict === "ignore") {
    steps.push(["_n0", get(`${meta.path}/count`, null)]);
    steps.push(["_w", after(ref("_n0"), write)]);
    steps.push(["_n1", after(ref("_w"), get(`${meta.path}/count`, null))]);
    steps.push(["_r", post("$_n1/sub", { r: ref("_n0") })]);
  } else {
    steps.push(["_w", write]);
    steps.push(["_r", after(ref("_w"), written)]);
  }
  const unique = meta.columns.filter((c) => c.unique && !c.key);
  if (unique.length > 0) {
    // After the write, every inserted row's unique values must occur once.
    const checks: JsonSteps = [];
    const perRow: JsonSteps = [];
    const rowValue = (c: ColumnMeta): Json => post(c.position < meta.keyColumns.length ? "$_k/get" : "$_vals/get", { i: c.position < meta.keyColumns.length ? c.position : c.position - meta.keyColumns.length });
    perRow.push(["_true", true], ["_nomap", { none: null }]);
    unique.forEach((c, i) => {
      perRow.push([`_uv${i}`, rowValue(c)]);
      uniqueCheck(meta, c, ref(`_uv${i}`), perRow, String(i));
    });
    perRow.push(["_r", unique.map((_, i) => ref(`_u${i}`))]);
    if (node.rows.length === 1) {
      checks.push(["_k", ref(`${b.prefix}0`)], ["_vals", ref(`${b.prefix}1`)]);
      checks.push(...perRow.slice(0, -1));
      checks.push(["_chk", after(ref("_w"), perRow[perRow.length - 1]![1])]);
    } else {
      const pairs = node.onConflict === "error" && !options.coreInsert
        ? opdef([["_k", post("$_item/slice", { stop: meta.keyColumns.length })], ["_vals", post("$_item/slice", { start: meta.keyColumns.length })], ...perRow])
        : opdef([["_k", post("$_item/get", { i: 0 })], ["_vals", post("$_item/get", { i: 1 })], ...perRow]);
      checks.push(["_chk", after(ref("_w"), forEach(ref(`${b.prefix}0`), pairs, "_item"))]);
    }
    const last = steps.pop()!;
    steps.push(...checks);
    steps.push([last[0], after(ref("_chk"), last[1])]);
  }
  return { op: opdef(steps), decode: (r) => r, explain: null };
}

/** The marker a failed uniqueness check leaves in the error message (see `uniqueViolation`). */
export const UNIQUE_MARKER = "tc_unique_violation.";

/**
 * A uniqueness check after a write: no value of `column` may occur more than once. Core IR has
 * no "raise", so a violation reads a missing key of a map (`_nomap`), which fails the op — and
 * with it the whole transaction — with a message carrying `UNIQUE_MARKER` + column; the ORM turns
 * that into a `ConflictError`. A null never violates (several nulls are allowed).
 */
function uniqueCheck(meta: TableMeta, column: ColumnMeta, value: Json, steps: JsonSteps, tag: string): string {
  const fail = post("$_nomap/get", { i: `${UNIQUE_MARKER}${column.name}` });
  const n = `_u${tag}n`;
  const ok = `_u${tag}ok`;
  const body: JsonSteps = [
    [n, get(`${meta.path}/count`, [[column.name, value]])],
    [ok, post(`$${n}/le`, { r: 1 })],
    ["_r", cond(ref(ok), null, fail)],
  ];
  const name = `_u${tag}`;
  if (column.nullable) {
    steps.push([`_u${tag}null`, post(`$_uv${tag}/eq`, { r: null })]);
    steps.push([name, cond(ref(`_u${tag}null`), null, opdef(body))]);
  } else {
    steps.push([name, cond(ref("_true"), opdef(body), null)]);
  }
  return name;
}

/**
 * Update/delete: an index-served selection is written in one range request; otherwise the keys
 * of the rows that pass the filter are collected by `fold` and written one by one (`for_each`).
 * Both return the number of rows affected.
 */
function compileWrite(node: UpdateNode | DeleteNode, b: Binder, options: CompileOptions): Omit<Compiled, "params" | "bound" | "userParams"> {
  const meta = node.table;
  // Writes go through one range (or a filter over it); `in` lookups are a read-only plan.
  const plan = planRead(meta, node.where, null, { lookups: false });
  const coreFilter = options.coreFilter === true;
  const explain = explainPlan(meta, plan, { coreFilter });
  const steps: JsonSteps = [];
  let setMap: Json = null;
  if (node.kind === "update") {
    const map: Record<string, Json> = {};
    for (const [column, operand] of node.set) map[column] = b.operand(operand, meta.columnsByName[column]!, "value");
    setMap = map;
  }
  const writeSel = (sel: Json): Json => (node.kind === "update" ? put(meta.path, sel, setMap) : del(meta.path, sel));
  const uniqueSet = node.kind === "update" ? node.set.filter(([c]) => meta.columnsByName[c]!.unique && !meta.columnsByName[c]!.key) : [];
  const withChecks = (): void => {
    if (uniqueSet.length === 0) return;
    const last = steps.pop()!;
    steps.push(["_true", true], ["_nomap", { none: null }]);
    const names = uniqueSet.map(([c], i) => {
      steps.push([`_uv${i}`, (setMap as Record<string, Json>)[c]!]);
      return uniqueCheck(meta, meta.columnsByName[c]!, ref(`_uv${i}`), steps, String(i));
    });
    steps.push(["_chk", after(ref("_w"), names.map(ref))]);
    steps.push([last[0], after(ref("_chk"), last[1])]);
  };
  if (plan.filtered.length === 0) {
    // Key `null` on the table path means the table itself (DELETE null drops it): select every
    // row with an open range on the first key column instead.
    const sel = selectorJson(meta, plan.selector, b) ?? [[meta.keyColumns[0]!, [null, null]]];
    steps.push(["_n", get(`${meta.path}/count`, sel)]);
    steps.push(["_w", after(ref("_n"), writeSel(sel))]);
    steps.push(["_r", after(ref("_w"), ref("_n"))]);
    withChecks();
    return { op: opdef(steps), decode: (r) => r, explain };
  }
  const src = sourceSteps(meta, plan, b, steps);
  if (!coreFilter) {
    // The filter route's view is written through: `PUT <view> null {…}` / `DELETE <view> null`
    // touch exactly its rows.
    steps.push(["_fv", get(`$${src}/filter`, filterKey(meta, plan.filtered, b))]);
    steps.push(["_n", get("$_fv/count", null)]);
    const write = node.kind === "update" ? put("$_fv", null, setMap) : del("$_fv", null);
    steps.push(["_w", after(ref("_n"), write)]);
    steps.push(["_r", after(ref("_w"), ref("_n"))]);
    withChecks();
    return { op: opdef(steps), decode: (r) => r, explain };
  }
  steps.push(["_rows", get(`$${src}/rows`, null)]);
  const keySelector: Json = meta.keyColumns.map((c, i) => [c, post("$_row/get", { i })]);
  // The selector must be computed per row inside the closure: a step, then appended.
  const filter = filterOp(meta, plan.filtered, b, ref("_key"));
  const filterSteps = (filter as Record<string, JsonSteps>)[PATHS.opdef.post]!;
  filterSteps.unshift(["_key", keySelector]);
  steps.push(["_f", post("$_rows/fold", { item_name: "_row", value: { _acc: [] }, op: filter })]);
  steps.push(["_kept", post("$_f/get", { i: "_acc" })]);
  steps.push(["_n", post("$_kept/len", {})]);
  steps.push(["_w", after(ref("_n"), forEach(ref("_kept"), opdef([["_r", writeSel(ref("_ks"))]]), "_ks"))]);
  steps.push(["_r", after(ref("_w"), ref("_n"))]);
  withChecks();
  return { op: opdef(steps), decode: (r) => r, explain };
}

/**
 * Compiles a query node.
 *
 * @example
 * ```ts
 * const { op, params, bound } = compileNode(node);
 * await executor.execute(op, { ...bound, ...namedArgs });
 * ```
 */
interface Template extends Omit<Compiled, "bound"> {
  readonly usedSlots: readonly number[];
}

const TEMPLATES = new WeakMap<TableMeta, Map<string, Template>>();
const MAX_TEMPLATES_PER_TABLE = 512;

export function compileNode(node: QueryNode, options: CompileOptions = {}): Compiled {
  const prefix = options.prefix ?? "_";
  const slots = slotOperands(node);
  let perTable = TEMPLATES.get(node.table);
  if (!perTable) {
    perTable = new Map();
    TEMPLATES.set(node.table, perTable);
  }
  const key = signature(node, options);
  const useCache = options.cache !== false;
  const hit = useCache ? perTable.get(key) : undefined;
  if (hit) {
    // Same shape as an earlier node: same op object (the kernel's cache hits by identity); only
    // the values of this node are bound.
    const bound: Record<string, Json> = {};
    if (node.kind === "insert") {
      const payloads = insertPayloads(node, options);
      for (const i of hit.usedSlots) bound[`${prefix}${i}`] = payloads[i]!;
    } else {
      for (const i of hit.usedSlots) {
        const s = slots[i]!;
        bound[`${prefix}${i}`] = wireValue((s.operand as { value: unknown }).value, s.column, s.shape);
      }
    }
    return { op: hit.op, params: hit.params, decode: hit.decode, explain: hit.explain, userParams: hit.userParams, bound };
  }
  const b = new Binder(prefix, new Map(slots.map((s, i) => [s.operand, i])));
  let out: Omit<Compiled, "params" | "bound" | "userParams">;
  switch (node.kind) {
    case "select":
      out = compileSelect(node, b, options);
      break;
    case "insert":
      out = compileInsert(node, b, options);
      break;
    case "update":
    case "delete":
      out = compileWrite(node, b, options);
      break;
  }
  const compiled: Compiled = { ...out, params: b.params(), bound: b.bound, userParams: b.userParams };
  if (useCache) {
    if (perTable.size >= MAX_TEMPLATES_PER_TABLE) perTable.clear();
    perTable.set(key, { ...compiled, usedSlots: [...b.usedSlots].sort((x, y) => x - y) });
  }
  return compiled;
}
