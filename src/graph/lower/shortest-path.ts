/**
 * Core lowering of `shortestPath()`: the extension's breadth-first search, one frontier row per
 * `while` iteration, with neighbors in canonical order, so the first target reached is the
 * extension's (fewest hops, then the smallest path) and the rows touched are the same. The
 * visited rows are a tuple of `[key, row, previous key]`; the path is read back from it.
 */
import { call, cond, opdef, ref, whileLoop, type JsonSteps } from "../../ir/json.js";
import type { Json } from "../../ir/types.js";
import type { PlanFilter, PlanHop, PlanResult } from "../../ir/traverse-plan.js";
import { CoreLowering } from "./base.js";
import { fold } from "./steps.js";

/** A visited entry is `[key, …]`: membership compares its key. */
const firstKey = (el: string): Json => call(el, "get", { i: 0 });

export class ShortestLowering extends CoreLowering {
  protected body(): JsonSteps {
    const hop = this.hopAt(0);
    const to = (this.plan.result as Extract<PlanResult, { kind: "shortest" }>).to;
    const table = hop.target;
    const kc = this.keyCount(hop.source);
    const n = this.names;
    const steps: JsonSteps = [...this.startSteps(true)];

    // The start rows: each one visited (no previous row); with min 0 the first target is the path.
    const start = n.next("start");
    const startKey = n.next("key");
    const startHit = n.next("hit");
    const fresh = n.next("fresh");
    const isTarget0 = n.next("target");
    const startOp = opdef([
      [startKey, call(start, "slice", { start: 0, stop: kc })],
      ...this.containsSteps("visited", startKey, "seen", firstKey),
      [fresh, call("seen", "not")],
      [
        "next",
        cond(
          ref(fresh),
          opdef([
            ["visited2", call("visited", "concat", { r: [[ref(startKey), ref(start), null]] })],
            ["frontier2", call("frontier", "concat", { r: [ref(start)] })],
            ["unfound", call("found", "eq", { r: null })],
            ...(hop.min === 0 ? this.matchAllSteps(table, start, to, isTarget0) : ([[isTarget0, false]] as JsonSteps)),
            [startHit, call("unfound", "and", { r: ref(isTarget0) })],
            ["found2", cond(ref(startHit), ref(startKey), ref("found"))],
            ["moved", { visited: ref("visited2"), frontier: ref("frontier2"), found: ref("found2") }],
          ]),
          { visited: ref("visited"), frontier: ref("frontier"), found: ref("found") },
        ),
      ],
    ]);
    steps.push(["begun", fold("start_rows", start, startOp, { visited: [], frontier: [], found: null })]);
    for (const k of ["visited", "frontier", "found"]) steps.push([`begun_${k}`, call("begun", "get", { i: k })]);

    // Breadth-first: one frontier row per iteration; a level ends when its last row is expanded.
    const loopCond = opdef([
      ["found", call("state", "get", { i: "found" })],
      ["frontier", call("state", "get", { i: "frontier" })],
      ["depth", call("state", "get", { i: "depth" })],
      ["searching", call("found", "eq", { r: null })],
      ["size", call("frontier", "len")],
      ["some", call("size", "gt", { r: 0 })],
      ["within", call("depth", "le", { r: hop.max })],
      ["both", call("searching", "and", { r: ref("some") })],
      ["go", call("both", "and", { r: ref("within") })],
    ]);
    steps.push(["searched", whileLoop(loopCond, this.stepOp(hop, kc, table, to), {
      visited: ref("begun_visited"),
      frontier: ref("begun_frontier"),
      found: ref("begun_found"),
      next: [],
      at: 0,
      depth: 1,
      touched: ref("touched0"),
    })]);
    // The loop's result holds the budget checks; the path is read from its visited rows.
    // (Names that no nested op binds: `found`/`visited` are fold parameters there.)
    steps.push(["sp_found", call("searched", "get", { i: "found" })], ["sp_visited", call("searched", "get", { i: "visited" })]);
    steps.push(["none", call("sp_found", "eq", { r: null })]);
    const back = opdef([
      ["at", call("state", "get", { i: "at" })],
      ["path", call("state", "get", { i: "path" })],
      ["entry", fold("sp_visited", "v", opdef([["vk", call("v", "get", { i: 0 })], ["same", call("vk", "eq", { r: ref("at") })], ["hit", cond(ref("same"), ref("v"), ref("state"))]]), null)],
      ["row", call("entry", "get", { i: 1 })],
      ["prev", call("entry", "get", { i: 2 })],
      ["step", [[table, ref("row")]]],
      ["longer", call("step", "concat", { r: ref("path") })],
      ["next", { at: ref("prev"), path: ref("longer") }],
    ]);
    const more = opdef([["at", call("state", "get", { i: "at" })], ["open", call("at", "eq", { r: null })], ["go", call("open", "not")]]);
    steps.push(["result", cond(ref("none"), null, opdef([["walked", whileLoop(more, back, { at: ref("sp_found"), path: [] })], ["path", call("walked", "get", { i: "path" })]]))]);
    return steps;
  }

  /** The loop's step: expand frontier row `at`, visit what it reaches, move to the next level at the end of one. */
  private stepOp(hop: PlanHop, kc: number, table: string, to: readonly PlanFilter[]): Json {
    const n = this.names;
    const entries = n.next("entries");
    const touched = n.next("touched");
    const e = n.next("e");
    const isTarget = n.next("target");
    const node = "s_node";
    const visitOp = opdef([
      ["searching", call("found", "eq", { r: null })],
      [
        "visit_acc",
        cond(
          ref("searching"),
          opdef([
            [node, call(e, "get", { i: 2 })],
            ["nkey", call(node, "slice", { start: 0, stop: kc })],
            ...this.containsSteps("visited", "nkey", "seen", firstKey),
            [
              "moved",
              cond(
                ref("seen"),
                { visited: ref("visited"), next: ref("next"), found: null },
                opdef([
                  ["visited2", call("visited", "concat", { r: [[ref("nkey"), ref(node), ref("s_key")]] })],
                  ["next2", call("next", "concat", { r: [ref(node)] })],
                  ["deep", call("s_depth", "ge", { r: hop.min })],
                  ...this.matchAllSteps(table, node, to, isTarget),
                  ["hit", call("deep", "and", { r: ref(isTarget) })],
                  ["found2", cond(ref("hit"), ref("nkey"), null)],
                  ["visiting", { visited: ref("visited2"), next: ref("next2"), found: ref("found2") }],
                ]),
              ),
            ],
          ]),
          { visited: ref("visited"), next: ref("next"), found: ref("found") },
        ),
      ],
    ]);
    return opdef([
      ["s_visited", call("state", "get", { i: "visited" })],
      ["s_frontier", call("state", "get", { i: "frontier" })],
      ["s_next", call("state", "get", { i: "next" })],
      ["s_at", call("state", "get", { i: "at" })],
      ["s_depth", call("state", "get", { i: "depth" })],
      ["s_touched", call("state", "get", { i: "touched" })],
      ["s_row", call("s_frontier", "get", { i: ref("s_at") })],
      ["s_key", call("s_row", "slice", { start: 0, stop: kc })],
      ...this.neighborsSteps(hop, "s_row", entries, "s_touched", touched),
      ["s_visits", fold(entries, e, visitOp, { visited: ref("s_visited"), next: ref("s_next"), found: null })],
      ["s_visited2", call("s_visits", "get", { i: "visited" })],
      ["s_next2", call("s_visits", "get", { i: "next" })],
      ["s_found", call("s_visits", "get", { i: "found" })],
      ["s_at2", call("s_at", "add", { r: 1 })],
      ["s_size", call("s_frontier", "len")],
      ["s_level_done", call("s_at2", "ge", { r: ref("s_size") })],
      ["s_depth2", call("s_depth", "add", { r: 1 })],
      [
        "s_state",
        cond(
          ref("s_level_done"),
          { visited: ref("s_visited2"), frontier: ref("s_next2"), next: [], at: 0, depth: ref("s_depth2"), found: ref("s_found"), touched: ref(touched) },
          { visited: ref("s_visited2"), frontier: ref("s_frontier"), next: ref("s_next2"), at: ref("s_at2"), depth: ref("s_depth"), found: ref("s_found"), touched: ref(touched) },
        ),
      ],
    ]);
  }
}
