/**
 * Writes: insert, update and delete nodes → POST OpDefs on the table routes (`insert`,
 * `insert_rows`, upsert, range update, delete, or the `filter` route's view written through),
 * each chained before the statement's result with `after`, and the `.unique()` checks that run
 * after a write in the same op.
 */
import { after, cond, del, forEach, get, opdef, post, put, ref, type JsonSteps } from "../ir/json.js";
import { PATHS, type Json } from "../ir/types.js";
import type { CompiledBody, CompileOptions } from "./compile-types.js";
import { filterOp } from "./core-lowerings.js";
import type { ColumnMeta, TableMeta } from "./meta.js";
import type { DeleteNode, InsertNode, UpdateNode } from "./nodes.js";
import { insertPayloads, refName, type Binder } from "./param-binder.js";
import { explainPlan, planRead } from "./planner.js";
import { filterKey, selectorJson, sourceSteps } from "./select-compiler.js";

/**
 * An insert node → its op (answering the number of rows written): one row, several by the
 * `insert_rows` extension, or a `for_each` of single-row writes (core, and every `onConflict`
 * other than `"error"`).
 *
 * @example
 * ```ts
 * const { op } = compileInsert(node, new Binder("_", new Map()), { coreInsert: true });
 * ```
 */
export function compileInsert(node: InsertNode, b: Binder, options: CompileOptions): CompiledBody {
  const meta = node.table;
  const payloads = insertPayloads(node, options);
  const steps: JsonSteps = [];
  const writeOne = (key: Json, values: Json, set?: Json): Json => {
    if (node.onConflict === "update") {
      // An existing row gets the given columns only (a range update on its key); a new one is
      // inserted whole, with defaults.
      const k = refName(key);
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
 * A uniqueness check after the write step `_w` (every caller names its write so): no value of
 * `column` may occur more than once. Core IR has
 * no "raise", so a violation reads a missing key of a map (`_nomap`), which fails the op — and
 * with it the whole transaction — with a message carrying `UNIQUE_MARKER` + column; the ORM turns
 * that into a `ConflictError`. A null never violates (several nulls are allowed).
 */
function uniqueCheck(meta: TableMeta, column: ColumnMeta, value: Json, steps: JsonSteps, tag: string): string {
  const fail = post("$_nomap/get", { i: `${UNIQUE_MARKER}${column.name}` });
  const n = `_u${tag}n`;
  const ok = `_u${tag}ok`;
  const body: JsonSteps = [
    // `after(_w, …)`: steps run in dataflow order, so without this dependency the count could
    // run before the write it checks.
    [n, after(ref("_w"), get(`${meta.path}/count`, [[column.name, value]]))],
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
 * Update/delete: an index-served selection is written in one range request; otherwise through the
 * `filter` route's view, or (core) the keys of the rows that pass the filter are collected by
 * `fold` and written one by one (`for_each`). Both return the number of rows affected.
 *
 * @example
 * ```ts
 * const { op } = compileWrite(deleteNode, new Binder("_", slots), {});
 * ```
 */
export function compileWrite(node: UpdateNode | DeleteNode, b: Binder, options: CompileOptions): CompiledBody {
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
