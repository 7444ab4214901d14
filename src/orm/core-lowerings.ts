/**
 * Core-IR lowerings of the `filter` and `sort` route extensions, for hosts without them (a db
 * opts in with `filter: "core"`, `sort: "core"`): per-row filters as the closure of a `fold`, and
 * an unserved order as an insertion sort by `fold`. `tests/orm/lowerings.test.ts` proves each
 * equivalent to its extension.
 */
import { BadRequestError } from "../errors.js";
import { cond, get, opdef, post, ref, type JsonSteps } from "../ir/json.js";
import type { Json } from "../ir/types.js";
import type { TableMeta } from "./meta.js";
import type { Predicate } from "./nodes.js";
import type { Binder } from "./param-binder.js";

const COMPARE: Record<string, string> = { "=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge" };
const RANGE = new Set(["<", "<=", ">", ">="]);
const NUMERIC = new Set(["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64"]);

/**
 * `cell op value` for a string or link column, where core `lt`/`ge`/… compare numbers only:
 * the table engine compares instead. The primary index orders rows by key ++ value columns, so a
 * range on it that fixes the row's cells before the column (`_row` in scope) and bounds the column
 * by the cell and the value (`[cell, value)` for `<`, `(value, cell]` for `>`, …) holds this row
 * exactly when `cell op value` — strings by code point, links by href, as the `filter` route
 * compares. An OpDef (run by `cond`) ending in that test.
 */
function engineCompare(meta: TableMeta, position: number, op: string, cell: Json, value: Json): Json {
  const prefix: Json[] = meta.columns.slice(0, position).map((c, j) => [c.name, post("$_row/get", { i: j })]);
  const bounds: Record<string, Json> = {
    "<": [["in", cell], ["ex", value]],
    "<=": [["in", cell], ["in", value]],
    ">": [["ex", value], ["in", cell]],
    ">=": [["in", value], ["in", cell]],
  };
  return opdef([
    ["_hits", get(`${meta.path}/count`, [...prefix, [meta.columns[position]!.name, bounds[op]!]])],
    ["_r", post("$_hits/gt", { r: 0 })],
  ]);
}

/**
 * The closure `fold` runs per row: `{_acc}` plus the row `_row` in scope; returns `{_acc}` with
 * the row appended when every predicate holds. `keep` says what to append (the row, or a key
 * selector for writes).
 */
export function filterOp(meta: TableMeta, preds: readonly Predicate[], b: Binder, keep: Json): Json {
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
      const value = b.operand(p.operand!, column, "value");
      // The engine's comparison is an OpDef: run as the branch of a `cond` (on the null guard).
      const byEngine = RANGE.has(p.op) && !NUMERIC.has(column.dtype);
      const test = byEngine ? engineCompare(meta, column.position, p.op, ref(c), value) : post(`$${c}/${COMPARE[p.op]}`, { r: value });
      if ((column.nullable && p.op !== "=") || byEngine) {
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


/**
 * Core lowering of the `sort` route for one column: an insertion sort by `fold` (O(n²) closure
 * calls — the fallback for hosts without the extension). Each row goes after every row already
 * placed that sorts before it or ties with it, so the sort is stable; nulls sort first ascending,
 * last descending (as the extension does). Core IR compares numbers only.
 */
export function sortOp(meta: TableMeta, column: string, reverse: boolean): Json {
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

/**
 * Core lowering of a descending order an index serves, with ties by key ascending: the index is
 * read forwards (rows ascending by `column`, ties in key order) and a `fold` puts each run of
 * equal `column` values before the runs already seen, each run kept as it is. (Read in reverse,
 * the index would give tying rows in descending key order.) Nulls, first ascending, come last.
 * O(rows × runs) tuple copies; compares with `eq`, so any column type.
 */
export function descendingRunsOp(meta: TableMeta, column: string): Json {
  const i = meta.columnsByName[column]!.position;
  return opdef([
    ["_c", post("$_row/get", { i })],
    ["_has", post("$_grp/ne", { r: [] })],
    ["_g0", cond(ref("_has"), post("$_grp/get", { i: 0 }), null)],
    ["_g0c", cond(ref("_has"), post("$_g0/get", { i }), null)],
    ["_same", cond(ref("_has"), post("$_g0c/eq", { r: ref("_c") }), false)],
    ["_ng", cond(ref("_same"), post("$_grp/concat", { r: [ref("_row")] }), [ref("_row")])],
    ["_na", cond(ref("_same"), ref("_acc"), post("$_grp/concat", { r: ref("_acc") }))],
    ["_r", { _acc: ref("_na"), _grp: ref("_ng") }],
  ]);
}
