/**
 * Core lowering of trail results (non-distinct rows and counts, `paths()`, `return()`, with
 * `orderBy`): the extension's depth-first enumeration, replayed step for step by one `while`
 * loop over an explicit stack, so results, their order and the rows touched are the same.
 *
 * A task on the stack is `[kind, step, depth, row, trail, path, bindings, neighbors]`:
 * - VISIT: continue the trail at plan step `step` from `row` (where/as inline, then a hop or the end);
 * - EXPAND: `row` is `depth` hops into hop `step`: look its neighbors up (counted) and queue ITER;
 * - ITER: take the next unused relationship of `neighbors` (the rest stays queued).
 * Taking a hop pushes EXPAND (if `depth < max`) under VISIT of the next step (if `depth >= min`),
 * which is the extension's `walk()`: the continuation first, then the longer walks. Once the page
 * is full (`produced >= offset + limit`, without `orderBy`) the extension unwinds; its walks
 * still waiting on a continuation look their neighbors up on the way out, so here every queued
 * EXPAND is still counted and everything else is dropped.
 */
import { call, cond, opdef, ref, whileLoop, type JsonSteps } from "../../ir/json.js";
import type { Json } from "../../ir/types.js";
import type { PlanResult, PlanStep } from "../../ir/traverse-plan.js";
import { CoreLowering } from "./base.js";
import { fold } from "./steps.js";

const VISIT = 0;
const EXPAND = 1;
const ITER = 2;

/** The names of the current task's parts inside the loop's step op. */
const T = {
  rest: "m_rest",
  produced: "m_produced",
  touched: "m_touched",
  out: "m_out",
  kind: "m_kind",
  step: "m_step",
  depth: "m_depth",
  row: "m_row",
  trail: "m_trail",
  path: "m_path",
  binds: "m_binds",
  nbrs: "m_nbrs",
} as const;

type TrailResult = Exclude<PlanResult, { kind: "shortest" }>;

export class TrailLowering extends CoreLowering {
  private get result(): TrailResult {
    return this.plan.result as TrailResult;
  }
  private get orderBy() {
    const r = this.result;
    return r.kind === "rows" ? r.orderBy : [];
  }
  /** Only the number of trails is wanted (a count without `orderBy`): nothing is collected. */
  private get countOnly(): boolean {
    return this.result.count && this.orderBy.length === 0;
  }

  /** The table the traversal is at before plan step `k`. */
  private tableAt(k: number): string {
    let table = this.plan.start.table;
    for (let i = 0; i < k; i++) {
      const s = this.plan.steps[i]!;
      if (s.kind === "hop") table = s.target;
    }
    return table;
  }

  protected body(): JsonSteps {
    const plan = this.plan;
    const steps: JsonSteps = [...this.startSteps(true), ...this.windowSteps()];
    const ordered = this.orderBy.length > 0;
    // With orderBy every trail is needed; else the enumeration order is the result order and
    // it stops once the page is full, skipping the offset as it goes.
    steps.push(["stop_at", ordered ? null : ref("stop")]);
    steps.push(["skip", ordered ? 0 : ref("offset")]);
    const startRow = this.names.next("start");
    steps.push([
      "stack0",
      // Pushed in reverse: the first start row on top.
      fold(
        "start_rows",
        startRow,
        opdef([
          ["task", [[VISIT, 0, 0, ref(startRow), [], [[plan.start.table, ref(startRow)]], [], []]]],
          ["pushed", call("task", "concat", { r: ref("state") })],
        ]),
        [],
      ),
    ]);
    const loopCond = opdef([
      ["stack", call("state", "get", { i: "stack" })],
      ["size", call("stack", "len")],
      ["go", call("size", "gt", { r: 0 })],
    ]);
    steps.push(["trails", whileLoop(loopCond, this.stepOp(), { stack: ref("stack0"), produced: 0, touched: ref("touched0"), out: [] })]);
    steps.push(["produced", call("trails", "get", { i: "produced" })]);
    steps.push(["collected", call("trails", "get", { i: "out" })]);
    steps.push(...this.finish());
    return steps;
  }

  /** The result from `produced` and `collected`, as the extension's `trails()` returns it. */
  private finish(): JsonSteps {
    const r = this.result;
    const table = this.tableAt(this.plan.steps.length);
    if (this.countOnly) {
      // windowCount: max(0, min(produced - offset, limit)).
      return [
        ["after_offset", call("produced", "sub", { r: ref("offset") })],
        ["positive", call("after_offset", "gt", { r: 0 })],
        ["available", cond(ref("positive"), ref("after_offset"), 0)],
        ["result", cond(ref("no_limit"), ref("available"), opdef([["under", call("available", "lt", { r: ref("limit") })], ["capped", cond(ref("under"), ref("available"), ref("limit"))]]))],
      ];
    }
    if (r.kind !== "rows") return [["result", call("collected", "slice", { start: 0, stop: ref("limit") })]];
    if (this.orderBy.length) {
      return [...this.orderBySteps(table, "collected", this.orderBy, "sorted"), ...this.pageResultSteps("sorted", table, r.select, r.count)];
    }
    return this.pageResultSteps("collected", table, r.select, r.count, true);
  }

  /** The while loop's step: pop one task and run it. */
  private stepOp(): Json {
    const steps: JsonSteps = [
      ["m_stack", call("state", "get", { i: "stack" })],
      [T.produced, call("state", "get", { i: "produced" })],
      [T.touched, call("state", "get", { i: "touched" })],
      [T.out, call("state", "get", { i: "out" })],
      ["m_task", call("m_stack", "get", { i: -1 })],
      [T.rest, call("m_stack", "slice", { start: 0, stop: -1 })],
      [T.kind, call("m_task", "get", { i: 0 })],
      [T.step, call("m_task", "get", { i: 1 })],
      [T.depth, call("m_task", "get", { i: 2 })],
      [T.row, call("m_task", "get", { i: 3 })],
      [T.trail, call("m_task", "get", { i: 4 })],
      [T.path, call("m_task", "get", { i: 5 })],
      [T.binds, call("m_task", "get", { i: 6 })],
      [T.nbrs, call("m_task", "get", { i: 7 })],
      ["m_unbounded", call("stop_at", "eq", { r: null })],
      ["m_stopped", cond(ref("m_unbounded"), false, opdef([["full", call(T.produced, "ge", { r: ref("stop_at") })]]))],
      ["m_is_visit", call(T.kind, "eq", { r: VISIT })],
      ["m_is_expand", call(T.kind, "eq", { r: EXPAND })],
    ];
    const hops = this.plan.steps.map((s, k) => [s, k] as const).filter(([s]) => s.kind === "hop").map(([, k]) => k);
    const unchanged = this.state(T.rest);
    // Stopped: only queued EXPANDs still look their neighbors up (counted), nothing is queued.
    const countOnly = this.dispatch(
      hops.map((k) => [k, this.expandSteps(k, false)]),
      unchanged,
    );
    const stopped = cond(ref("m_is_expand"), opdef(countOnly), unchanged);
    const visit = this.dispatch(
      this.plan.steps.map((_, k) => k).concat(this.plan.steps.length).map((k) => [k, this.visitSteps(k, T.row, T.binds)]),
      unchanged,
    );
    const expand = this.dispatch(hops.map((k) => [k, this.expandSteps(k, true)]), unchanged);
    const iter = this.dispatch(hops.map((k) => [k, this.iterSteps(k)]), unchanged);
    steps.push(["m_next", cond(ref("m_stopped"), stopped, cond(ref("m_is_visit"), opdef(visit), cond(ref("m_is_expand"), opdef(expand), opdef(iter))))]);
    return opdef(steps);
  }

  /** The loop state with `stack` and optionally a new `produced`/`touched`/`out`. */
  private state(stack: string, produced: string = T.produced, touched: string = T.touched, out: string = T.out): Json {
    return { stack: ref(stack), produced: ref(produced), touched: ref(touched), out: ref(out) };
  }

  /** Steps ending in the step-`k` case of the current task (`m_step`), else `fallback`. */
  private dispatch(cases: (readonly [number, JsonSteps])[], fallback: Json): JsonSteps {
    if (cases.length === 0) return [["m_case", fallback]];
    let expr: Json = fallback;
    const steps: JsonSteps = [];
    for (let c = cases.length - 1; c >= 0; c--) {
      const [k, body] = cases[c]!;
      const is = this.names.next("is_step");
      steps.push([is, call(T.step, "eq", { r: k })]);
      expr = cond(ref(is), opdef(body), expr);
    }
    steps.push(["m_case", expr]);
    return steps;
  }

  /** A task tuple. */
  private task(kind: number, step: number, depth: Json, row: string, trail: string, path: string, binds: string, nbrs: Json): Json {
    return [kind, step, depth, ref(row), ref(trail), ref(path), ref(binds), nbrs];
  }

  /**
   * Steps pushing the extension's `walk(h, depth, row)` onto `base`, ending in the new stack:
   * EXPAND (when `depth < max`) under VISIT of step `h + 1` (when `depth >= min`).
   */
  private walkSteps(h: number, depth: string, row: string, trail: string, path: string, binds: string, base: string, out: string): JsonSteps {
    const hop = this.hopAt(h);
    const n = this.names;
    const deeper = n.next("deeper");
    const arrived = n.next("arrived");
    const expand = n.next("expand");
    const visit = n.next("visit");
    const withExpand = n.next("with_expand");
    return [
      [deeper, call(depth, "lt", { r: hop.max })],
      [arrived, call(depth, "ge", { r: hop.min })],
      [expand, cond(ref(deeper), [this.task(EXPAND, h, ref(depth), row, trail, path, binds, [])], [])],
      [visit, cond(ref(arrived), [this.task(VISIT, h + 1, 0, row, trail, path, binds, [])], [])],
      [withExpand, call(base, "concat", { r: ref(expand) })],
      [out, call(withExpand, "concat", { r: ref(visit) })],
    ];
  }

  /**
   * Steps ending in the next loop state for VISIT at step `k` of `row`: `where` and `as` inline,
   * then a hop's walk from depth 0, or the end of the plan (emit).
   */
  private visitSteps(k: number, row: string, binds: string): JsonSteps {
    const n = this.names;
    const steps = this.plan.steps;
    if (k === steps.length) return this.emitSteps(row, binds);
    const s = steps[k]!;
    if (s.kind === "where") {
      const ok = n.next("ok");
      return [...this.matchSteps(this.tableAt(k), row, s.filter, ok), [n.next("visited"), cond(ref(ok), opdef(this.visitSteps(k + 1, row, binds)), this.state(T.rest))]];
    }
    if (s.kind === "as") {
      const bound = n.next("binds");
      return [[bound, call(binds, "concat", { r: [ref(row)] })], ...this.visitSteps(k + 1, row, bound)];
    }
    const zero = n.next("depth");
    const stack = n.next("stack");
    return [[zero, 0], ...this.walkSteps(k, zero, row, T.trail, T.path, binds, T.rest, stack), [n.next("visited"), this.state(stack)]];
  }

  /** Steps ending in the next loop state after a trail reached the end of the plan. */
  private emitSteps(row: string, binds: string): JsonSteps {
    const n = this.names;
    const r = this.result;
    const produced = n.next("produced");
    const keep = n.next("keep");
    const out = n.next("out");
    let item: Json;
    if (r.kind === "paths") item = ref(T.path);
    else if (r.kind === "return") {
      const aliases = this.plan.steps.filter((s): s is Extract<PlanStep, { kind: "as" }> => s.kind === "as").map((s) => s.alias);
      item = r.fields.map(([, alias]) => call(binds, "get", { i: aliases.indexOf(alias) }));
    } else item = ref(row);
    const store = !this.countOnly;
    return [
      [produced, call(T.produced, "add", { r: 1 })],
      [keep, store ? call(produced, "gt", { r: ref("skip") }) : false],
      [out, cond(ref(keep), opdef([["more", call(T.out, "concat", { r: [item] })]]), ref(T.out))],
      [n.next("emitted"), this.state(T.rest, produced, T.touched, out)],
    ];
  }

  /** Steps ending in the next loop state for EXPAND at hop `h` (`queue`: push ITER; else only count). */
  private expandSteps(h: number, queue: boolean): JsonSteps {
    const hop = this.hopAt(h);
    const n = this.names;
    const entries = n.next("entries");
    const touched = n.next("touched");
    const steps: JsonSteps = this.neighborsSteps(hop, T.row, entries, T.touched, touched);
    if (!queue) return [...steps, [n.next("counted"), this.state(T.rest, T.produced, touched)]];
    const size = n.next("size");
    const some = n.next("some");
    const stack = n.next("stack");
    return [
      ...steps,
      [size, call(entries, "len")],
      [some, call(size, "gt", { r: 0 })],
      [stack, cond(ref(some), opdef([["queued", call(T.rest, "concat", { r: [this.task(ITER, h, ref(T.depth), T.row, T.trail, T.path, T.binds, ref(entries))] })]]), ref(T.rest))],
      [n.next("expanded"), this.state(stack, T.produced, touched)],
    ];
  }

  /** Steps ending in the next loop state for ITER at hop `h`: the next neighbor, unless its relationship is on the trail. */
  private iterSteps(h: number): JsonSteps {
    const hop = this.hopAt(h);
    const n = this.names;
    const first = n.next("nb");
    const others = n.next("others");
    const size = n.next("size");
    const more = n.next("more");
    const base = n.next("base");
    const relId = n.next("rel");
    const node = n.next("node");
    const used = n.next("used");
    const trail = n.next("trail");
    const path = n.next("path");
    const depth = n.next("depth");
    const stack = n.next("stack");
    const walked = n.next("walked");
    return [
      [first, call(T.nbrs, "get", { i: 0 })],
      [others, call(T.nbrs, "slice", { start: 1 })],
      [size, call(others, "len")],
      [more, call(size, "gt", { r: 0 })],
      [base, cond(ref(more), opdef([["requeued", call(T.rest, "concat", { r: [this.task(ITER, h, ref(T.depth), T.row, T.trail, T.path, T.binds, ref(others))] })]]), ref(T.rest))],
      [relId, call(first, "get", { i: 0 })],
      [node, call(first, "get", { i: 2 })],
      ...this.containsSteps(T.trail, relId, used),
      [
        stack,
        cond(
          ref(used),
          ref(base),
          opdef([
            [trail, call(T.trail, "concat", { r: [ref(relId)] })],
            [path, call(T.path, "concat", { r: [[hop.target, ref(node)]] })],
            [depth, call(T.depth, "add", { r: 1 })],
            ...this.walkSteps(h, depth, node, trail, path, T.binds, base, walked),
          ]),
        ),
      ],
      [n.next("iterated"), this.state(stack)],
    ];
  }
}
