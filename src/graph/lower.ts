/**
 * Core lowering of a traversal plan: the same result built only from core IR forms (`while`,
 * `cond`, the `fold`/`slice`/`concat`/`eq`/… built-ins and table selectors), for hosts without
 * the `traverse` extension. Tests prove it returns what the extension returns.
 *
 * Covered: distinct traversals (`.distinct()` rows and counts) with every relation kind and
 * direction, variable-length hops, `where` (ordered comparisons on numbers), `select`,
 * `offset`/`limit`, and the visit budget. Sets are tuples, so membership is a linear fold: the
 * lowering is quadratic in the rows reached and meant for small graphs or as a fallback. Trail
 * enumeration (`paths()`, `return()`, non-distinct rows), `orderBy` and `shortestPath` need the
 * extension (`NotImplementedError` here).
 */
import { NotImplementedError } from "../errors.js";
import type { Json } from "../ir/types.js";
import type { PlanFilter, PlanHop, PlanLookup, PlanValue, TraversePlan } from "../client/embedded/traverse.js";
import type { Catalog } from "./catalog.js";

type J = Json;

const post = (steps: [string, J][]): J => ({ "/state/scalar/op/post": steps as unknown as J });
const ref = (name: string): J => ({ [`$${name}`]: [] });
const call = (subject: string, method: string, params: Record<string, J> = {}): J => ({ [`$${subject}/${method}`]: params });
const getOn = (subject: string, key: J): J => ({ [subject]: [key] });
const cond = (c: J, then: J, otherwise: J): J => ({ "/state/scalar/ref/cond": [c, then, otherwise] });
const whileLoop = (c: J, step: J, state: J): J => ({ "/state/scalar/ref/while": [c, step, state] });
const fold = (items: string, itemName: string, op: J, value: J): J => call(items, "fold", { item_name: itemName, op, value });

/** Fresh step names, deterministic for one lowering. */
class Names {
  private n = 0;
  next(prefix: string): string {
    return `${prefix}${this.n++}`;
  }
}

/** Lowers a plan to a POST OpDef of core forms (IR JSON). */
export function lowerToCore(plan: TraversePlan, catalog: Catalog): Json {
  const r = plan.result;
  if (r.kind !== "rows" || !r.distinct) {
    throw new NotImplementedError(
      "core lowering covers distinct traversals (rows and counts); paths(), return(), trails and shortestPath() need the traverse extension",
    );
  }
  if (r.orderBy.length > 0) throw new NotImplementedError("core lowering does not order by columns; use the traverse extension for orderBy()");
  return new Lowering(plan, catalog).program();
}

class Lowering {
  private readonly names = new Names();
  constructor(
    private readonly plan: TraversePlan,
    private readonly catalog: Catalog,
  ) {}

  private columns(table: string): readonly string[] {
    return this.catalog.table(table).columns;
  }
  private pos(table: string, col: string): number {
    const i = this.columns(table).indexOf(col);
    if (i < 0) throw new NotImplementedError(`core lowering: ${table} has no column ${col}`);
    return i;
  }
  private keyCount(table: string): number {
    return this.catalog.table(table).keyColumns.length;
  }
  private link(table: string): string {
    return `/state/${this.catalog.namespace}/${table}`;
  }

  /** An OpDef that fails with the budget message (a `get` on a map without that key → 400 naming it). */
  private failBudget(): J {
    const b = this.plan.budget;
    return post([
      ["m", { ok: true }],
      ["fail", call("m", "get", { i: `traversal visit budget exceeded: more than ${b} rows touched (visit budget ${b}; raise it with .budget(n) or narrow the traversal)` })],
    ]);
  }

  /** Steps that add `n` (a step name) to `touched` (a step name) and check the budget; result in `out`. */
  private countSteps(touched: string, n: string, out: string): [string, J][] {
    const sum = this.names.next("sum");
    const over = this.names.next("over");
    return [
      [sum, call(touched, "add", { r: ref(n) })],
      [over, call(sum, "gt", { r: this.plan.budget })],
      [out, cond(ref(over), this.failBudget(), ref(sum))],
    ];
  }

  /** The value of a plan value (a literal, or the parameter in scope). */
  private value(v: PlanValue): J {
    return "param" in v ? ref(v.param) : (v.lit as J);
  }

  /** Steps computing `out` = does `row` (a step) satisfy filter `f` on `table`. */
  private matchSteps(table: string, row: string, f: PlanFilter, out: string): [string, J][] {
    const cell = this.names.next("cell");
    const cellNull = this.names.next("cnull");
    const val = this.names.next("val");
    const valNull = this.names.next("vnull");
    const steps: [string, J][] = [
      [cell, call(row, "get", { i: this.pos(table, f.col) })],
      [cellNull, call(cell, "eq", { r: null })],
      [val, this.value(f.value)],
    ];
    const test: J =
      f.op === "in"
        ? fold(val, "v", post([["hit", call("v", "eq", { r: ref(cell) })], ["any", call("state", "or", { r: ref("hit") })]]), false)
        : call(cell, COMPARE_BUILTIN[f.op], { r: ref(val) });
    // null on either side never matches: evaluate the comparison only when both are present.
    steps.push([valNull, f.op === "in" ? false : call(val, "eq", { r: null })]);
    const either = this.names.next("anynull");
    steps.push([either, call(cellNull, "or", { r: ref(valNull) })]);
    steps.push([out, cond(ref(either), false, post([["t", test]]))]);
    return steps;
  }

  /** A fold op keeping the rows of `table` that satisfy every filter (accumulator: the kept tuple). */
  private filterOp(table: string, filters: readonly PlanFilter[]): J {
    const steps: [string, J][] = [];
    const oks: string[] = [];
    for (const f of filters) {
      const ok = this.names.next("ok");
      steps.push(...this.matchSteps(table, "row", f, ok));
      oks.push(ok);
    }
    let all = oks[0]!;
    for (let i = 1; i < oks.length; i++) {
      const next = this.names.next("both");
      steps.push([next, call(all, "and", { r: ref(oks[i]!) })]);
      all = next;
    }
    steps.push(["kept", cond(ref(all), post([["added", call("state", "concat", { r: [ref("row")] })]]), ref("state"))]);
    return post(steps);
  }

  /**
   * An OpDef taking `{row}` that returns the rows of one lookup (`[]` when a `from` value is
   * null): a point GET when `cols` is the table's key, else an index range and its rows.
   */
  private lookupOp(l: PlanLookup, fromTable: string): J {
    const steps: [string, J][] = [];
    const vals = l.from.map((c, i) => {
      steps.push([`v${i}`, call("row", "get", { i: this.pos(fromTable, c) })]);
      steps.push([`n${i}`, call(`v${i}`, "eq", { r: null })]);
      return `v${i}`;
    });
    let anyNull = "n0";
    for (let i = 1; i < vals.length; i++) {
      steps.push([`nn${i}`, call(anyNull, "or", { r: ref(`n${i}`) })]);
      anyNull = `nn${i}`;
    }
    const key = this.catalog.table(l.table).keyColumns;
    const byKey = key.length === l.cols.length && key.every((c, i) => c === l.cols[i]);
    const fetch = byKey
      ? post([
          ["found", getOn(this.link(l.table), vals.map(ref))],
          ["missing", call("found", "eq", { r: null })],
          ["rows", cond(ref("missing"), [], post([["one", [ref("found")]]]))],
        ])
      : post([
          ["view", getOn(this.link(l.table), l.cols.map((c, i) => [c, ref(vals[i]!)]))],
          ["rows", getOn("$view/rows", null)],
        ]);
    steps.push(["result", cond(ref(anyNull), [], fetch)]);
    return post(steps);
  }

  /**
   * A fold op over a set's rows (accumulator `{out, touched}`) that appends every row one hop
   * reaches from `row`, counting each row a lookup returns and checking the budget.
   */
  private expandOp(hop: PlanHop): J {
    const steps: [string, J][] = [
      ["acc_out", ref("out")],
      ["acc_touched", ref("touched")],
    ];
    let out = "acc_out";
    let touched = "acc_touched";
    for (const alt of hop.alts) {
      const l1 = alt.lookups[0]!;
      // The lookup OpDef runs as a closure over `row` (a cond on a true ref evaluates it).
      const firstRows = this.names.next("rows");
      steps.push([firstRows, cond(ref("yes"), this.lookupOp(l1, hop.source), [])]);
      const n1 = this.names.next("len");
      steps.push([n1, call(firstRows, "len")]);
      const t1 = this.names.next("touched");
      steps.push(...this.countSteps(touched, n1, t1));
      touched = t1;
      if (alt.lookups.length === 1) {
        const o = this.names.next("out");
        steps.push([o, call(out, "concat", { r: ref(firstRows) })]);
        out = o;
        continue;
      }
      const l2 = alt.lookups[1]!;
      const second = this.names.next("second");
      const inner = post([
        ["yes", true],
        ["got", cond(ref("yes"), this.lookupOp(l2, l1.table), [])],
        ["n", call("got", "len")],
        ["out2", call("out", "concat", { r: ref("got") })],
        ...this.countSteps("touched", "n", "t2"),
        ["next", { out: ref("out2"), touched: ref("t2") }],
      ]);
      steps.push([second, fold(firstRows, "row", inner, { out: ref(out), touched: ref(touched) })]);
      const o = this.names.next("out");
      const t = this.names.next("touched");
      steps.push([o, call(second, "get", { i: "out" })]);
      steps.push([t, call(second, "get", { i: "touched" })]);
      out = o;
      touched = t;
    }
    steps.unshift(["yes", true]);
    steps.push(["next", { out: ref(out), touched: ref(touched) }]);
    return post(steps);
  }

  /** A fold op that appends `row` to the accumulator `{out}` unless a row with its key is in `seen` or `out`. */
  private dedupeOp(table: string, seenName: string | null): J {
    const kc = this.keyCount(table);
    const inTuple = (tuple: string, result: string): [string, J][] => [
      [
        result,
        fold(
          tuple,
          "x",
          post([
            ["xk", call("x", "slice", { start: 0, stop: kc })],
            ["same", call("xk", "eq", { r: ref("rk") })],
            ["any", call("state", "or", { r: ref("same") })],
          ]),
          false,
        ),
      ],
    ];
    const steps: [string, J][] = [["rk", call("row", "slice", { start: 0, stop: kc })], ...inTuple("out", "in_out")];
    if (seenName) {
      steps.push(...inTuple(seenName, "in_seen"));
      steps.push(["dup", call("in_out", "or", { r: ref("in_seen") })]);
    } else steps.push(["dup", ref("in_out")]);
    steps.push(["added", cond(ref("dup"), ref("out"), post([["more", call("out", "concat", { r: [ref("row")] })]]))]);
    steps.push(["next", { out: ref("added") }]);
    return post(steps);
  }

  /**
   * A while loop over `{level, touched, i}` computing one hop of a set: `min` exact levels
   * (deduplicated), then breadth-first with the reached set as the visited set up to `max`.
   * Returns steps producing `outRows` and `outTouched` from `inRows` and `inTouched`.
   */
  private hopSteps(hop: PlanHop, inRows: string, inTouched: string, outRows: string, outTouched: string): [string, J][] {
    const expand = this.expandOp(hop);
    const target = hop.target;
    // Exact levels.
    const exactCond = loopWhile("level", hop.min);
    const exactStep = post([
      ["i", call("state", "get", { i: "i" })],
      ["level", call("state", "get", { i: "level" })],
      ["touched", call("state", "get", { i: "touched" })],
      ["expanded", fold("level", "row", expand, { out: [], touched: ref("touched") })],
      ["raw", call("expanded", "get", { i: "out" })],
      ["t", call("expanded", "get", { i: "touched" })],
      ["dedup", fold("raw", "row", this.dedupeOp(target, null), { out: [] })],
      ["next_level", call("dedup", "get", { i: "out" })],
      ["i2", call("i", "add", { r: 1 })],
      ["next", { i: ref("i2"), level: ref("next_level"), touched: ref("t") }],
    ]);
    // BFS with the reached set as visited.
    const bfsCond = loopWhile("frontier", hop.max);
    const bfsStep = post([
      ["i", call("state", "get", { i: "i" })],
      ["frontier", call("state", "get", { i: "frontier" })],
      ["reached", call("state", "get", { i: "reached" })],
      ["touched", call("state", "get", { i: "touched" })],
      ["expanded", fold("frontier", "row", expand, { out: [], touched: ref("touched") })],
      ["raw", call("expanded", "get", { i: "out" })],
      ["t", call("expanded", "get", { i: "touched" })],
      ["fresh", fold("raw", "row", this.dedupeOp(target, "reached"), { out: [] })],
      ["new_rows", call("fresh", "get", { i: "out" })],
      ["reached2", call("reached", "concat", { r: ref("new_rows") })],
      ["i2", call("i", "add", { r: 1 })],
      ["next", { i: ref("i2"), frontier: ref("new_rows"), reached: ref("reached2"), touched: ref("t") }],
    ]);
    const exact = this.names.next("exact");
    const levelRows = this.names.next("level");
    const levelTouched = this.names.next("ltouched");
    const bfs = this.names.next("bfs");
    return [
      [exact, whileLoop(exactCond, exactStep, { i: 0, level: ref(inRows), touched: ref(inTouched) })],
      [levelRows, call(exact, "get", { i: "level" })],
      [levelTouched, call(exact, "get", { i: "touched" })],
      [bfs, whileLoop(bfsCond, bfsStep, { i: hop.min, frontier: ref(levelRows), reached: ref(levelRows), touched: ref(levelTouched) })],
      [outRows, call(bfs, "get", { i: "reached" })],
      [outTouched, call(bfs, "get", { i: "touched" })],
    ];
  }

  /**
   * A fold op inserting `item` into the sorted tuple `state` (numeric keys of `kc` columns,
   * compared lexicographically).
   */
  private insertOp(kc: number): J {
    const less: [string, J][] = [];
    // less_i: key(item) < key(x) considering columns i..kc-1, given equality before i
    for (let i = kc - 1; i >= 0; i--) {
      less.push([`a${i}`, call("item", "get", { i })]);
      less.push([`b${i}`, call("x", "get", { i })]);
      less.push([`lt${i}`, call(`a${i}`, "lt", { r: ref(`b${i}`) })]);
      if (i === kc - 1) less.push([`less${i}`, ref(`lt${i}`)]);
      else {
        less.push([`eq${i}`, call(`a${i}`, "eq", { r: ref(`b${i}`) })]);
        less.push([`tie${i}`, call(`eq${i}`, "and", { r: ref(`less${i + 1}`) })]);
        less.push([`less${i}`, call(`lt${i}`, "or", { r: ref(`tie${i}`) })]);
      }
    }
    const walk = post([
      ...less,
      ["free", call("placed", "not")],
      ["here", call("free", "and", { r: ref("less0") })],
      ["out2", cond(ref("here"), post([["both", call("out", "concat", { r: [ref("item"), ref("x")] })]]), post([["one", call("out", "concat", { r: [ref("x")] })]]))],
      ["placed2", call("placed", "or", { r: ref("here") })],
      ["next", { out: ref("out2"), placed: ref("placed2") }],
    ]);
    return post([
      ["walked", fold("state", "x", walk, { out: [], placed: false })],
      ["w_out", call("walked", "get", { i: "out" })],
      ["w_placed", call("walked", "get", { i: "placed" })],
      ["sorted", cond(ref("w_placed"), ref("w_out"), post([["last", call("w_out", "concat", { r: [ref("item")] })]]))],
    ]);
  }

  program(): J {
    const plan = this.plan;
    const r = plan.result as Extract<TraversePlan["result"], { kind: "rows" }>;
    const steps: [string, J][] = [];
    const start = plan.start;
    const table = start.table;
    // Start rows: a key lookup, an index range on an equality prefix, or every row.
    const eq = new Map<string, PlanValue>();
    for (const f of start.filters) if (f.op === "=" && !eq.has(f.col)) eq.set(f.col, f.value);
    const node = this.catalog.table(table);
    const meta = node.keyColumns;
    // The key, or the longest equality prefix of the primary index (key ++ values).
    const prefix: string[] = [];
    for (const c of meta.every((k) => eq.has(k)) ? meta : node.columns) {
      if (!eq.has(c)) break;
      prefix.push(c);
    }
    if (prefix.length === meta.length && meta.every((k, i) => prefix[i] === k)) {
      steps.push(["start_found", getOn(this.link(table), prefix.map((c) => this.value(eq.get(c)!)))]);
      steps.push(["start_missing", call("start_found", "eq", { r: null })]);
      steps.push(["start_rows", cond(ref("start_missing"), [], post([["one", [ref("start_found")]]]))]);
    } else {
      // An equality prefix of the primary index (key ++ values), or all rows; filters below.
      steps.push(["start_view", getOn(this.link(table), prefix.length ? prefix.map((c) => [c, this.value(eq.get(c)!)]) : null)]);
      steps.push(["start_rows", getOn("$start_view/rows", null)]);
    }
    steps.push(["start_n", call("start_rows", "len")]);
    steps.push(["zero", 0]);
    steps.push(...this.countSteps("zero", "start_n", "touched0"));
    let rows = "start_rows";
    if (start.filters.length) {
      steps.push(["start_kept", fold("start_rows", "row", this.filterOp(table, start.filters), [])]);
      rows = "start_kept";
    }
    let touched = "touched0";
    let current = table;
    for (const s of plan.steps) {
      if (s.kind === "as") throw new NotImplementedError("core lowering: as() needs the traverse extension");
      if (s.kind === "where") {
        const kept = this.names.next("kept");
        steps.push([kept, fold(rows, "row", this.filterOp(current, [s.filter]), [])]);
        rows = kept;
        continue;
      }
      const outRows = this.names.next("hop_rows");
      const outTouched = this.names.next("hop_touched");
      steps.push(...this.hopSteps(s, rows, touched, outRows, outTouched));
      rows = outRows;
      touched = outTouched;
      current = s.target;
    }
    // Canonical order (by key): numeric keys are insertion-sorted (quadratic in the result set);
    // other keys come from walking the end table in key order, keeping the rows in the set.
    const kc = this.keyCount(current);
    if (this.catalog.table(current).numericKey) {
      steps.push(["ordered", fold(rows, "item", this.insertOp(kc), [])]);
    } else {
      steps.push(["end_view", getOn(this.link(current), null)]);
      steps.push(["end_all", getOn("$end_view/rows", null)]);
      steps.push([
        "ordered",
        fold(
          "end_all",
          "row",
          post([
            ["rk", call("row", "slice", { start: 0, stop: kc })],
            [
              "member",
              fold(
                rows,
                "x",
                post([
                  ["xk", call("x", "slice", { start: 0, stop: kc })],
                  ["same", call("xk", "eq", { r: ref("rk") })],
                  ["any", call("state", "or", { r: ref("same") })],
                ]),
                false,
              ),
            ],
            ["kept", cond(ref("member"), post([["more", call("state", "concat", { r: [ref("row")] })]]), ref("state"))],
          ]),
          [],
        ),
      ]);
    }
    // The budget is checked as rows are touched; referencing it keeps the checks in the op's graph.
    steps.push(["checked", { rows: ref("ordered"), touched: ref(touched) }]);
    steps.push(["final_rows", call("checked", "get", { i: "rows" })]);
    const offset = plan.offset ? this.value(plan.offset) : 0;
    steps.push(["offset", offset]);
    steps.push(["limit", plan.limit ? this.value(plan.limit) : null]);
    steps.push(["no_limit", call("limit", "eq", { r: null })]);
    steps.push(["stop", cond(ref("no_limit"), null, post([["s", call("offset", "add", { r: ref("limit") })]]))]);
    steps.push(["page", call("final_rows", "slice", { start: ref("offset"), stop: ref("stop") })]);
    if (r.count) {
      steps.push(["result", call("page", "len")]);
    } else if (r.select) {
      const positions = r.select.map((c) => this.pos(current, c));
      steps.push([
        "result",
        fold("page", "row", post([["picked", positions.map((p) => call("row", "get", { i: p }))], ["more", call("state", "concat", { r: [ref("picked")] })]]), []),
      ]);
    } else steps.push(["result", ref("page")]);
    return post(steps);
  }
}

/** A `while` condition over `{i, <set>}`: go on while `i < bound` and the set is not empty. */
function loopWhile(set: string, bound: number): J {
  return post([
    ["i", call("state", "get", { i: "i" })],
    [set, call("state", "get", { i: set })],
    ["more", call("i", "lt", { r: bound })],
    ["size", call(set, "len")],
    ["nonempty", call("size", "gt", { r: 0 })],
    ["go", call("more", "and", { r: ref("nonempty") })],
  ]);
}

/** The scalar built-in that evaluates each comparison operator (PROFILE §2). */
const COMPARE_BUILTIN = { "=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge" } as const;
