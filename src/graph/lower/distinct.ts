/**
 * Core lowering of distinct results (`distinct()` rows and counts): every hop maps a set of rows
 * (a tuple without repeated keys) to a set — `min` exact levels, then breadth-first with the
 * reached set as the visited set — and the end set is put in key order.
 */
import { BadRequestError } from "../../errors.js";
import { call, cond, get, opdef, ref, whileLoop, type JsonSteps } from "../../ir/json.js";
import type { Json } from "../../ir/types.js";
import type { PlanHop, TraversePlan } from "../../ir/traverse-plan.js";
import { CoreLowering } from "./base.js";
import { firstCells, fold } from "./steps.js";

/** Distinct traversals: every hop maps a set of rows (a tuple without repeated keys) to a set. */
export class DistinctLowering extends CoreLowering {
  /**
   * A fold op over a set's rows (accumulator `{out, touched}`) that appends every row one hop
   * reaches from `row`, counting each row a lookup returns and checking the budget.
   */
  private expandOp(hop: PlanHop): Json {
    const steps: [string, Json][] = [
      ["acc_out", ref("out")],
      ["acc_touched", ref("touched")],
    ];
    let out = "acc_out";
    let touched = "acc_touched";
    for (const alt of hop.alts) {
      const l1 = alt.lookups[0]!;
      // The lookup OpDef runs as a closure over `row` (a cond on a true ref evaluates it).
      const firstRows = this.names.next("rows");
      steps.push([firstRows, cond(ref("yes"), this.lookupOp(l1, hop.source, "row"), [])]);
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
      const inner = opdef([
        ["yes", true],
        ["got", cond(ref("yes"), this.lookupOp(l2, l1.table, "row"), [])],
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
    return opdef(steps);
  }

  /** A fold op that appends `row` to the accumulator `{out}` unless a row with its key is in `seen` or `out`. */
  private dedupeOp(table: string, seenName: string | null): Json {
    const kc = this.keyCount(table);
    const inTuple = (tuple: string, result: string): JsonSteps => this.containsSteps(tuple, "rk", result, firstCells(kc));
    const steps: [string, Json][] = [["rk", call("row", "slice", { start: 0, stop: kc })], ...inTuple("out", "in_out")];
    if (seenName) {
      steps.push(...inTuple(seenName, "in_seen"));
      steps.push(["dup", call("in_out", "or", { r: ref("in_seen") })]);
    } else steps.push(["dup", ref("in_out")]);
    steps.push(["added", cond(ref("dup"), ref("out"), opdef([["more", call("out", "concat", { r: [ref("row")] })]]))]);
    steps.push(["next", { out: ref("added") }]);
    return opdef(steps);
  }

  /**
   * A while loop over `{level, touched, i}` computing one hop of a set: `min` exact levels
   * (deduplicated), then breadth-first with the reached set as the visited set up to `max`.
   * Returns steps producing `outRows` and `outTouched` from `inRows` and `inTouched`.
   */
  private hopSteps(hop: PlanHop, inRows: string, inTouched: string, outRows: string, outTouched: string): [string, Json][] {
    const expand = this.expandOp(hop);
    const target = hop.target;
    // Exact levels.
    const exactCond = loopWhile("level", hop.min);
    const exactStep = opdef([
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
    const bfsStep = opdef([
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

  protected body(): JsonSteps {
    const plan = this.plan;
    const r = plan.result as Extract<TraversePlan["result"], { kind: "rows" }>;
    const steps: JsonSteps = this.startSteps(false);
    let rows = "start_rows";
    let touched = "touched0";
    let current = plan.start.table;
    for (const s of plan.steps) {
      // (The plan validator refuses as() with distinct(), as the kernel does.)
      if (s.kind === "as") throw new BadRequestError("traverse: distinct() returns endpoints; as()/return() enumerate trails — use one or the other");
      if (s.kind === "where") {
        const kept = this.names.next("kept");
        steps.push(...this.filterSteps(current, rows, [s.filter], kept));
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
    if (r.count && r.orderBy.length === 0) {
      // A count needs no order.
      steps.push(["ordered", ref(rows)]);
    } else if (this.catalog.table(current).numericKey) {
      steps.push(...this.sortByKeySteps(current, rows, "ordered"));
    } else {
      steps.push(["end_view", get(this.link(current), null)]);
      steps.push(["end_all", get("$end_view/rows", null)]);
      steps.push([
        "ordered",
        fold(
          "end_all",
          "row",
          opdef([
            ["rk", call("row", "slice", { start: 0, stop: kc })],
            ...this.containsSteps(rows, "rk", "member", firstCells(kc)),
            ["kept", cond(ref("member"), opdef([["more", call("state", "concat", { r: [ref("row")] })]]), ref("state"))],
          ]),
          [],
        ),
      ]);
    }
    // orderBy: a stable sort of the key-ordered rows (ties keep key order).
    steps.push(...this.orderBySteps(current, "ordered", r.orderBy, "by_columns"));
    // The budget is checked as rows are touched; referencing it keeps the checks in the op's graph.
    steps.push(["checked", { rows: ref("by_columns"), touched: ref(touched) }]);
    steps.push(["final_rows", call("checked", "get", { i: "rows" })]);
    steps.push(...this.windowSteps());
    steps.push(...this.pageResultSteps("final_rows", current, r.select, r.count));
    return steps;
  }
}

/** A `while` condition over `{i, <set>}`: go on while `i < bound` and the set is not empty. */
function loopWhile(set: string, bound: number): Json {
  return opdef([
    ["i", call("state", "get", { i: "i" })],
    [set, call("state", "get", { i: set })],
    ["more", call("i", "lt", { r: bound })],
    ["size", call(set, "len")],
    ["nonempty", call("size", "gt", { r: 0 })],
    ["go", call("more", "and", { r: ref("nonempty") })],
  ]);
}
