/**
 * Reads: a select node → a POST OpDef. The planner's selector is a GET on the table
 * (a key lookup, or an index range), then the `order` route, `filter`, `sort`, `limit`, `select`
 * and `rows`; with core lowerings the rows are filtered and sorted by `fold` instead
 * (`core-lowerings.ts`). Also the read-side pieces writes reuse (selector, filter key, source view)
 * and the decoding of result tuples into row objects.
 */
import { cond, get, opdef, post, ref, type JsonSteps } from "../ir/json.js";
import type { Json } from "../ir/types.js";
import type { CompiledBody, CompileOptions } from "./compile-types.js";
import { descendingRunsOp, filterOp, sortOp } from "./core-lowerings.js";
import type { TableMeta } from "./meta.js";
import type { Predicate, SelectNode } from "./nodes.js";
import { refName, type Binder } from "./param-binder.js";
import { explainPlan, planRead, type Lowerings, type ReadPlan, type SelectorPart } from "./planner.js";
import { rowDecoder as tupleDecoder } from "./row-factory.js";
import { cellDecoders } from "./cell-codec.js";

/** The table selector of the planned parts (`[[column, value | [lower, upper]], …]`), or null for all rows. */
export function selectorJson(meta: TableMeta, parts: readonly SelectorPart[], b: Binder): Json {
  if (parts.length === 0) return null;
  return parts.map((part) => {
    const column = meta.columnsByName[part.column]!;
    if ("eq" in part) return [part.column, b.operand(part.eq.operand!, column, "value")];
    const bound = (p: Predicate | null): Json =>
      p === null ? null : [p.op === ">=" || p.op === "<=" ? "in" : "ex", b.operand(p.operand!, column, "value")];
    return [part.column, [bound(part.lower), bound(part.upper)]];
  });
}

/** The key of the `filter` route: `[[column, op, value], …]`, values bound as parameters. */
export function filterKey(meta: TableMeta, preds: readonly Predicate[], b: Binder): Json {
  return preds.map((p) => {
    if (p.operand === null) return [p.column, p.op];
    return [p.column, p.op, b.operand(p.operand, meta.columnsByName[p.column]!, p.op === "in" ? "list" : "value")];
  });
}

/** The view a read starts from: the selector's range (or all rows), ordered when asked. */
export function sourceSteps(meta: TableMeta, plan: ReadPlan, b: Binder, steps: JsonSteps): string {
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
      decode = tupleDecoder(names, cellDecoders(meta, names), names.map((n) => tupleColumns.indexOf(n)));
      if (columns === null) WHOLE_ROW.set(meta, decode);
    }
    return decode(row as Json[]);
  };
}

/**
 * A page (limit/offset) of a select whose order an index serves only in reverse, with ties by key
 * ascending (as every plan gives them), reading about `offset + limit` rows:
 *
 * 1. the range read in reverse, `offset + limit` (= L) rows, only the order column kept;
 * 2. fewer than L rows: the whole range is that small — read it forwards (ties in key order),
 *    sort it stably descending, slice the page;
 * 3. else let `v` be the L-th row's value: the rows ordered before it are those with a value
 *    above `v` (fewer than L): read forwards and sorted stably descending; then the rows whose
 *    value is `v`, an equality on the index (key order), as many as are missing; slice the page.
 *
 * When the L-th value is null (the page reaches the nulls, last in descending order), the whole
 * range is sorted as in 2.
 */
function reversedPage(node: SelectNode, plan: ReadPlan, b: Binder): CompiledBody {
  const meta = node.table;
  const column = node.orderBy!.column;
  const c = meta.columnsByName[column]!;
  const order = plan.order!;
  const eqParts = plan.selector.filter((p) => "eq" in p);
  const range = plan.selector.find((p) => !("eq" in p)) as { lower: Predicate | null; upper: Predicate | null } | undefined;
  const eqJson = (selectorJson(meta, eqParts, b) as Json[] | null) ?? [];
  const bound = (p: Predicate | null | undefined): Json =>
    p ? [p.op === ">=" || p.op === "<=" ? "in" : "ex", b.operand(p.operand!, c, "value")] : null;
  const lower = bound(range?.lower);
  const upper = bound(range?.upper);
  const limit = node.limit ? b.operand(node.limit, null, "amount") : null;
  const offset = node.offset ? b.operand(node.offset, null, "amount") : null;
  const filter = plan.filtered.length > 0 ? filterKey(meta, plan.filtered, b) : null;
  /** Steps of a view of `selector` (null: all rows), in index order (reversed or not), filtered. */
  const view = (steps: JsonSteps, tag: string, parts: readonly Json[], reverse: boolean, ordered = true): string => {
    const sel = parts.length > 0 ? [...parts] : null;
    if (!ordered) {
      steps.push([`_${tag}v`, get(meta.path, sel)]);
    } else if (sel === null) {
      steps.push([`_${tag}v`, get(`${meta.path}/order`, [[...order.columns], reverse])]);
    } else {
      steps.push([`_${tag}s`, get(meta.path, sel)]);
      steps.push([`_${tag}v`, get(`$_${tag}s/order`, [[...order.columns], reverse])]);
    }
    if (filter === null) return `_${tag}v`;
    steps.push([`_${tag}f`, get(`$_${tag}v/filter`, filter)]);
    return `_${tag}f`;
  };
  const project = (steps: JsonSteps, tag: string, from: string): string => {
    if (!node.columns) return from;
    steps.push([`_${tag}p`, get(`$${from}/select`, [...node.columns])]);
    return `_${tag}p`;
  };
  const rangeParts = range ? [...eqJson, [column, [lower, upper]]] : eqJson;
  const steps: JsonSteps = [];
  // L = offset + limit (no limit: the page is every row after offset — read them all).
  if (limit !== null && offset !== null) steps.push(["_L", post(`$${refName(offset)}/add`, { r: limit })]);
  else if (limit !== null) steps.push(["_L", limit]);
  const slice: Record<string, Json> = {};
  if (offset !== null) slice.start = offset;
  if (limit !== null) slice.stop = ref("_L");
  // The whole range, forwards, sorted stably descending (the small case, and no limit at all).
  const small: JsonSteps = [];
  const sv = view(small, "whole", rangeParts, false);
  small.push(["_asort", get(`$${sv}/sort`, [[column], true])]);
  small.push(["_ar", get(`$${project(small, "whole", "_asort")}/rows`, null)]);
  small.push(["_r", post("$_ar/slice", slice)]);
  if (limit === null) {
    steps.push(...small.slice(0, -1), ["_page", post("$_ar/slice", slice)]);
  } else {
    const tv = view(steps, "rev", rangeParts, true);
    steps.push(["_tl", get(`$${tv}/limit`, ref("_L"))]);
    steps.push(["_tc", get("$_tl/select", [column])]);
    steps.push(["_tr", get("$_tc/rows", null)]);
    steps.push(["_tn", post("$_tr/len", {})]);
    steps.push(["_short", post("$_tn/lt", { r: ref("_L") })]);
    const edge: JsonSteps = [];
    edge.push(["_lastI", post("$_tn/sub", { r: 1 })]);
    edge.push(["_last", post("$_tr/get", { i: ref("_lastI") })]);
    edge.push(["_boundary", post("$_last/get", { i: 0 })]);
    edge.push(["_bnull", post("$_boundary/eq", { r: null })]);
    const big: JsonSteps = [];
    const above = view(big, "above", [...eqJson, [column, [["ex", ref("_boundary")], upper]]], false);
    big.push(["_bsort", get(`$${above}/sort`, [[column], true])]);
    big.push(["_br", get(`$${project(big, "above", "_bsort")}/rows`, null)]);
    big.push(["_bm", post("$_br/len", {})]);
    big.push(["_rest", post("$_L/sub", { r: ref("_bm") })]);
    const ties = view(big, "tie", [...eqJson, [column, ref("_boundary")]], false, false);
    big.push(["_cl", get(`$${ties}/limit`, ref("_rest"))]);
    big.push(["_cr", get(`$${project(big, "tie", "_cl")}/rows`, null)]);
    big.push(["_all", post("$_br/concat", { r: ref("_cr") })]);
    big.push(["_r", post("$_all/slice", slice)]);
    steps.push(["_z", post("$_tn/eq", { r: 0 })]);
    // A null boundary (the page reaches the nulls, last in descending order): the small path.
    edge.push(["_r", cond(ref("_bnull"), opdef(small), opdef(big))]);
    steps.push(["_page", cond(ref("_z"), [], cond(ref("_short"), opdef(small), opdef(edge)))]);
  }
  const decodeRow = rowDecoder(meta, node.columns, node.columns ?? meta.columns.map((x) => x.name));
  const explain = explainPlan(meta, { ...plan, order: { ...order, reverse: false }, sort: { column, reverse: true } }, {});
  return { op: opdef(steps), decode: (r) => (r as Json[]).map(decodeRow), explain };
}

/**
 * A select node → its op, the decoder of its result (rows, one row or a count) and its plan.
 *
 * @example
 * ```ts
 * const { op, decode } = compileSelect(node, new Binder("_", slots), {});
 * ```
 */
export function compileSelect(node: SelectNode, b: Binder, options: CompileOptions): CompiledBody {
  const meta = node.table;
  const allColumns = meta.columns.map((c) => c.name);
  let planned = planRead(meta, node.where, node.orderBy);
  if (planned.order?.reverse && !node.count && options.coreSort !== true && options.coreFilter !== true && (node.limit || node.offset)) {
    return reversedPage(node, planned, b);
  }
  // An index read in reverse gives tying rows in descending key order: read it forwards (ties in
  // key order) and sort stably descending (extension), or put the runs of equal values in reverse
  // (core), so ties come by key ascending as everywhere.
  let descendingRuns: string | undefined;
  if (planned.order?.reverse && !node.count && options.coreSort !== true) {
    planned = { ...planned, order: { ...planned.order, reverse: false }, sort: { column: node.orderBy!.column, reverse: true } };
  } else if (planned.order?.reverse && !node.count) {
    planned = { ...planned, order: { ...planned.order, reverse: false } };
    descendingRuns = node.orderBy!.column;
  }
  // `in` on the leading key column, with the filter extension: the whole table filtered, which
  // the host serves by reading the listed keys (in key order), instead of one op per value.
  const plan: ReadPlan =
    planned.lookup !== null && options.coreFilter !== true && planned.lookup.column === meta.keyColumns[0]
      ? { ...planned, lookup: null, served: [], filtered: [planned.lookup, ...planned.filtered] }
      : planned;
  // Once rows are a tuple (core filter), the sort must be core too.
  const coreFilter = options.coreFilter === true && plan.filtered.length > 0;
  const sort = node.count ? null : plan.sort;
  const coreSort = sort !== null && (options.coreSort === true || coreFilter);
  const lowering: Lowerings = { coreFilter, coreSort };
  const explain = explainPlan(meta, planned, lowering);
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

  if (!plan.lookup && !coreFilter && !coreSort && descendingRuns === undefined) {
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
        steps.push(["_stop", post(`$${refName(offset)}/add`, { r: limit })]);
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
  if (descendingRuns !== undefined) {
    steps.push(["_df", post(`$${cur}/fold`, { item_name: "_row", value: { _acc: [], _grp: [] }, op: descendingRunsOp(meta, descendingRuns) })]);
    steps.push(["_dg", post("$_df/get", { i: "_grp" })]);
    steps.push(["_da", post("$_df/get", { i: "_acc" })]);
    steps.push(["_desc", post("$_dg/concat", { r: ref("_da") })]);
    cur = "_desc";
  }
  if (limit !== null || offset !== null) {
    const params: Record<string, Json> = {};
    if (offset !== null) params.start = offset;
    if (limit !== null) {
      if (offset !== null) {
        steps.push(["_stop", post(`$${refName(offset)}/add`, { r: limit })]);
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
