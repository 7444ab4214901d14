/**
 * Reads: a select node → a POST OpDef. The planner's selector is a GET on the table
 * (a key lookup, or an index range), then the `order` route, `filter`, `sort`, `limit`, `select`
 * and `rows`; with core lowerings the rows are filtered and sorted by `fold` instead
 * (`core-lowerings.ts`). Also the read-side pieces writes reuse (selector, filter key, source view)
 * and the decoding of result tuples into row objects.
 */
import { get, opdef, post, ref, type JsonSteps } from "../ir/json.js";
import type { Json } from "../ir/types.js";
import type { CompiledBody, CompileOptions } from "./compile-types.js";
import { filterOp, sortOp } from "./core-lowerings.js";
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
  const planned = planRead(meta, node.where, node.orderBy);
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
