/**
 * What every core-lowered result shares: plan values, the visit budget, filters, index-served
 * lookups, the start rows, one hop's neighbors in canonical order, `orderBy` and the page.
 * The result kinds (distinct.ts, trails.ts, shortest-path.ts) build on it.
 */
import { BadRequestError, NotImplementedError } from "../../errors.js";
import { call, cond, get, opdef, ref, type JsonSteps } from "../../ir/json.js";
import type { Json } from "../../ir/types.js";
import type { OrderKey, PlanFilter, PlanHop, PlanLookup, PlanValue, TraversePlan } from "../../ir/traverse-plan.js";
import type { Catalog } from "../catalog.js";
import { containsSteps, firstCells, fold, insertionSortSteps, Names, tupleLessSteps, when } from "./steps.js";

/** The scalar built-in that evaluates each ordered comparison operator (docs/PROFILE.md §2). */
const COMPARE_BUILTIN = { "=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge" } as const;

/** The reserved step name holding parameter `name` inside a lowered op. */
const paramCopy = (name: string): string => `_p_${name}`;

export abstract class CoreLowering {
  protected readonly names = new Names();
  /** Top-level steps some results need before their main work (the key order of a table). */
  private readonly prelude: JsonSteps = [];
  private readonly keyLists = new Map<string, string>();

  constructor(
    protected readonly plan: TraversePlan,
    protected readonly catalog: Catalog,
  ) {}

  /** Parameters the lowered steps read (through their reserved copies, see `program`). */
  private readonly params = new Set<string>();

  /**
   * The lowered op: a POST OpDef of core forms. Its generated step names (`offset`, `t`, …) may
   * equal a caller's parameter names, so the body runs as a closure whose only free ids are the
   * parameters' copies under reserved names (`_p_<name>`: parameter names never start with `_`).
   */
  program(): Json {
    const body = this.body();
    const copies: JsonSteps = [...this.params].map((p) => [paramCopy(p), ref(p)]);
    return opdef([...copies, ["_run", true], ["_result", cond(ref("_run"), opdef([...this.prelude, ...body]), null)]]);
  }

  /** The steps of the op (its last step is the result). */
  protected abstract body(): JsonSteps;

  private columns(table: string): readonly string[] {
    return this.catalog.table(table).columns;
  }
  protected pos(table: string, col: string): number {
    const i = this.columns(table).indexOf(col);
    if (i < 0) throw new BadRequestError(`core lowering: table ${table} has no column ${col}`);
    return i;
  }
  /** The plan's step `k`, which the caller knows is a hop. */
  protected hopAt(k: number): PlanHop {
    const step = this.plan.steps[k];
    if (step?.kind !== "hop") throw new BadRequestError(`core lowering: step ${k} is not a hop`);
    return step;
  }
  protected keyCount(table: string): number {
    return this.catalog.table(table).keyColumns.length;
  }
  protected link(table: string): string {
    return `/state/${this.catalog.namespace}/${table}`;
  }
  /** The value of a plan value (a literal, or the parameter in scope). */
  protected value(v: PlanValue): Json {
    if (!("param" in v)) return v.lit as Json;
    this.params.add(v.param);
    return ref(paramCopy(v.param));
  }

  // --- the visit budget --------------------------------------------------------------------------

  /** An OpDef that fails with the budget message (a `get` on a map without that key → 400 naming it). */
  private failBudget(): Json {
    const b = this.plan.budget;
    return opdef([
      ["m", { ok: true }],
      ["fail", call("m", "get", { i: `traversal visit budget exceeded: more than ${b} rows touched (visit budget ${b}; raise it with .budget(n) or narrow the traversal)` })],
    ]);
  }

  /** Steps setting `out` = `touched + n` (step names), failing when that passes the budget. */
  protected countSteps(touched: string, n: string, out: string): JsonSteps {
    const sum = this.names.next("sum");
    const over = this.names.next("over");
    return [
      [sum, call(touched, "add", { r: ref(n) })],
      [over, call(sum, "gt", { r: this.plan.budget })],
      [out, cond(ref(over), this.failBudget(), ref(sum))],
    ];
  }

  // --- filters -----------------------------------------------------------------------------------

  /** Steps setting `out` = does `row` (a name in scope) satisfy `f` on `table` (null never matches). */
  protected matchSteps(table: string, row: string, f: PlanFilter, out: string): JsonSteps {
    if (f.op !== "=" && f.op !== "!=" && f.op !== "in" && !this.catalog.table(table).numericColumns.includes(f.col)) {
      // Core `lt`/`gt`/… compare numbers only; refuse here rather than fail on the first row.
      throw new NotImplementedError(
        `core lowering: where("${f.col}", "${f.op}", …) on ${table} orders a non-numeric column, and core IR compares only numbers in order; use the traverse extension`,
      );
    }
    const cell = this.names.next("cell");
    const cellNull = this.names.next("cnull");
    const val = this.names.next("val");
    const valNull = this.names.next("vnull");
    const either = this.names.next("anynull");
    const test: JsonSteps = f.op === "in" ? this.containsSteps(val, cell, "t") : [["t", call(cell, COMPARE_BUILTIN[f.op], { r: ref(val) })]];
    return [
      [cell, call(row, "get", { i: this.pos(table, f.col) })],
      [cellNull, call(cell, "eq", { r: null })],
      [val, this.value(f.value)],
      [valNull, f.op === "in" ? false : call(val, "eq", { r: null })],
      [either, call(cellNull, "or", { r: ref(valNull) })],
      // Evaluate the comparison only when both sides are present.
      [out, cond(ref(either), false, opdef(test))],
    ];
  }

  /** Steps setting `out` = does `row` satisfy every filter (`true` for none). */
  protected matchAllSteps(table: string, row: string, filters: readonly PlanFilter[], out: string): JsonSteps {
    if (filters.length === 0) return [[out, true]];
    const steps: JsonSteps = [];
    let all = "";
    filters.forEach((f, i) => {
      const ok = this.names.next("ok");
      steps.push(...this.matchSteps(table, row, f, ok));
      if (i === 0) all = ok;
      else {
        const both = this.names.next("both");
        steps.push([both, call(all, "and", { r: ref(ok) })]);
        all = both;
      }
    });
    steps.push([out, ref(all)]);
    return steps;
  }

  /** Steps setting `out` to the rows of the tuple `rows` (of `table`) that satisfy every filter. */
  protected filterSteps(table: string, rows: string, filters: readonly PlanFilter[], out: string): JsonSteps {
    const row = this.names.next("row");
    const ok = this.names.next("keep");
    return [[out, fold(rows, row, opdef([...this.matchAllSteps(table, row, filters, ok), ["kept", when(ok, [["more", call("state", "concat", { r: [ref(row)] })]], ref("state"))]]), [])]];
  }

  // --- lookups -----------------------------------------------------------------------------------

  /**
   * An OpDef returning the rows of one lookup from the row `row` (a name in scope; `[]` when a
   * `from` value is null): a point GET when `cols` is the table's key, else an index range and
   * its rows (in index order: by key within the range).
   */
  protected lookupOp(l: PlanLookup, fromTable: string, row: string): Json {
    const steps: JsonSteps = [];
    const vals = l.from.map((c, i) => {
      steps.push([`v${i}`, call(row, "get", { i: this.pos(fromTable, c) })]);
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
      ? opdef([
          ["found", get(this.link(l.table), vals.map(ref))],
          ["missing", call("found", "eq", { r: null })],
          ["rows", cond(ref("missing"), [], opdef([["one", [ref("found")]]]))],
        ])
      : opdef([
          ["view", get(this.link(l.table), l.cols.map((c, i) => [c, ref(vals[i]!)]))],
          ["rows", get("$view/rows", null)],
        ]);
    steps.push(["result", cond(ref(anyNull), [], fetch)]);
    return opdef(steps);
  }

  /**
   * Steps producing the start rows (`start_rows`, filtered) and `touched0` (every row the start
   * lookup returned), read as the extension reads them: nothing when an `=` filter's value is
   * null; a point GET when the filters fix the key; else the index (the primary one, key ++
   * values, or a secondary one from the table's schema) with the longest prefix of `=` columns —
   * an index range, or every row. `sorted`: in key order (a secondary index lists rows in its
   * own order, so they are then sorted, as the extension does).
   */
  protected startSteps(sorted: boolean): JsonSteps {
    const start = this.plan.start;
    const table = start.table;
    const n = this.names;
    const equalities = start.filters.filter((f) => f.op === "=");
    const eq = new Map<string, Json>();
    for (const f of equalities) if (!eq.has(f.col)) eq.set(f.col, this.value(f.value));
    const node = this.catalog.table(table);
    const keyCols = node.keyColumns;
    const steps: JsonSteps = [];
    // An `=` with null matches no row: the extension reads nothing.
    let anyNull = "";
    equalities.forEach((f, i) => {
      const v = n.next("eqv");
      const isNull = n.next("eqnull");
      steps.push([v, this.value(f.value)], [isNull, call(v, "eq", { r: null })]);
      if (i === 0) anyNull = isNull;
      else {
        const either = n.next("eqnull");
        steps.push([either, call(anyNull, "or", { r: ref(isNull) })]);
        anyNull = either;
      }
    });
    let fetch: JsonSteps;
    if (keyCols.every((k) => eq.has(k))) {
      fetch = [
        ["found", get(this.link(table), keyCols.map((c) => eq.get(c)!))],
        ["missing", call("found", "eq", { r: null })],
        ["rows", cond(ref("missing"), [], opdef([["one", [ref("found")]]]))],
        ["fetched", { rows: ref("rows"), via_index: false }],
      ];
    } else {
      const primary: string[] = [];
      for (const c of node.columns) {
        if (!eq.has(c)) break;
        primary.push(c);
      }
      // The longest equality prefix: the primary index's, unless a secondary index has a longer one.
      const indexPrefix = opdef([
        ["cols", call("ix", "get", { i: 1 })],
        [
          "walked",
          fold(
            "cols",
            "col",
            opdef([
              ...this.containsSteps("eq_cols", "col", "fixed"),
              ["still", call("going", "and", { r: ref("fixed") })],
              ["longer", cond(ref("still"), opdef([["more", call("prefix", "concat", { r: [ref("col")] })]]), ref("prefix"))],
              ["next", { going: ref("still"), prefix: ref("longer") }],
            ]),
            { going: true, prefix: [] },
          ),
        ],
        ["candidate", call("walked", "get", { i: "prefix" })],
        ["candidate_n", call("candidate", "len")],
        ["best_n", call("best", "len")],
        ["better", call("candidate_n", "gt", { r: ref("best_n") })],
        ["next", cond(ref("better"), { best: ref("candidate"), via_index: true }, { best: ref("best"), via_index: ref("via_index") })],
      ]);
      // The selector: `[col, value]` per prefix column (an empty one selects every row).
      const eqCols = [...eq.keys()];
      let value: Json = null;
      for (let j = eqCols.length - 1; j >= 0; j--) value = cond(ref(`is${j}`), eq.get(eqCols[j]!)!, value);
      const pair = opdef([...eqCols.map((c, j): [string, Json] => [`is${j}`, call("col", "eq", { r: c })]), ["v", value], ["pair", [[ref("col"), ref("v")]]], ["more", call("state", "concat", { r: ref("pair") })]]);
      fetch = [
        ["eq_cols", eqCols],
        ["schema", get(`${this.link(table)}/schema`, null)],
        ["indexes", call("schema", "get", { i: 1 })],
        ["chosen", fold("indexes", "ix", indexPrefix, { best: primary, via_index: false })],
        ["prefix_cols", call("chosen", "get", { i: "best" })],
        ["selector", fold("prefix_cols", "col", pair, [])],
        ["view", get(this.link(table), ref("selector"))],
        ["rows", get("$view/rows", null)],
        ["via", call("chosen", "get", { i: "via_index" })],
        ["fetched", { rows: ref("rows"), via_index: ref("via") }],
      ];
    }
    const nothing: Json = { rows: [], via_index: false };
    if (!equalities.length) steps.push([(anyNull = "start_no_eq"), false]);
    // (Fetched inside a branch: its step names stay out of the op's top level.)
    steps.push(["start_fetched", cond(ref(anyNull), nothing, opdef(fetch))]);
    steps.push(["start_all", call("start_fetched", "get", { i: "rows" })]);
    steps.push(["start_n", call("start_all", "len")]);
    steps.push(["zero", 0]);
    steps.push(...this.countSteps("zero", "start_n", "touched0"));
    const filtered = sorted ? "start_kept" : "start_rows";
    if (start.filters.length) steps.push(...this.filterSteps(table, "start_all", start.filters, filtered));
    else steps.push([filtered, ref("start_all")]);
    if (sorted) {
      steps.push(["start_via_index", call("start_fetched", "get", { i: "via_index" })]);
      steps.push(["start_rows", cond(ref("start_via_index"), opdef(this.sortByKeySteps(table, filtered, "by_key")), ref(filtered))]);
    }
    return steps;
  }

  /** Steps setting `out` to the rows of `table` in `rows` sorted by key. */
  protected sortByKeySteps(table: string, rows: string, out: string): JsonSteps {
    const n = this.names;
    const length = this.sortKeyLength(table);
    return insertionSortSteps(n, rows, out, (item, placed, result) => {
      const a = n.next("ska");
      const b = n.next("skb");
      return [...this.sortKeySteps(table, item, a), ...this.sortKeySteps(table, placed, b), ...tupleLessSteps(n, a, b, length, result)];
    });
  }

  // --- canonical order of keys -------------------------------------------------------------------

  /**
   * A top-level step holding the keys of `table` in key order (every row, read once; not a
   * traversal lookup, so not counted): the rank of a key there orders keys core IR cannot compare.
   */
  private keyList(table: string): string {
    let name = this.keyLists.get(table);
    if (name === undefined) {
      name = `keys_${this.keyLists.size}`;
      const view = `${name}_view`;
      const all = `${name}_all`;
      const row = this.names.next("row");
      const kc = this.keyCount(table);
      this.prelude.push(
        [view, get(this.link(table), null)],
        [all, get(`$${view}/rows`, null)],
        [name, fold(all, row, opdef([["k", call(row, "slice", { start: 0, stop: kc })], ["more", call("state", "concat", { r: [ref("k")] })]]), [])],
      );
      this.keyLists.set(table, name);
    }
    return name;
  }

  /** How many numbers `sortKeySteps` gives for a row of `table`. */
  private sortKeyLength(table: string): number {
    return this.catalog.table(table).numericKey ? this.keyCount(table) : 1;
  }

  /**
   * Steps setting `out` to a tuple of numbers ordered as `row`'s key: the key itself when every
   * key column is numeric, else `[rank of the key in the table's key order]`.
   */
  private sortKeySteps(table: string, row: string, out: string): JsonSteps {
    const kc = this.keyCount(table);
    if (this.catalog.table(table).numericKey) return [[out, call(row, "slice", { start: 0, stop: kc })]];
    const list = this.keyList(table);
    const key = this.names.next("key");
    const k = this.names.next("k");
    const found = this.names.next("found");
    const rank = opdef([
      ["same", call(k, "eq", { r: ref(key) })],
      ["hit", call("found", "or", { r: ref("same") })],
      ["miss", call("hit", "not")],
      ["step", cond(ref("miss"), opdef([["i2", call("i", "add", { r: 1 })]]), ref("i"))],
      ["next", { found: ref("hit"), i: ref("step") }],
    ]);
    return [
      [key, call(row, "slice", { start: 0, stop: kc })],
      [found, fold(list, k, rank, { found: false, i: 0 })],
      [out, [call(found, "get", { i: "i" })]],
    ];
  }

  // --- one hop's neighbors -----------------------------------------------------------------------

  /**
   * Steps computing what one hop reaches from `at` (a row name in scope), as the extension's
   * `neighbors()` does: `entriesOut` = tuple of `[[relation, relation-row key], sort key, row]`,
   * the union of the hop's alternatives without repeats, sorted by (relation-row key, row key);
   * `touchedOut` = `touchedIn` plus the rows the lookups returned, checked against the budget.
   */
  protected neighborsSteps(hop: PlanHop, at: string, entriesOut: string, touchedIn: string, touchedOut: string): JsonSteps {
    const n = this.names;
    const yes = n.next("yes");
    const steps: JsonSteps = [[yes, true]];
    const lists: string[] = [];
    const counts: string[] = [];
    for (const alt of hop.alts) {
      const l1 = alt.lookups[0]!;
      const relTable = alt.relAt === 0 ? hop.source : l1.table;
      const first = n.next("first");
      const firstN = n.next("n");
      steps.push([first, cond(ref(yes), this.lookupOp(l1, hop.source, at), [])], [firstN, call(first, "len")]);
      counts.push(firstN);
      const list = n.next("entries");
      if (alt.lookups.length === 1) {
        const node = n.next("node");
        steps.push([list, fold(first, node, this.appendEntryOp(alt.relation, relTable, alt.relAt === 0 ? at : node, hop.target, node), [])]);
        lists.push(list);
        continue;
      }
      // An edge table: each edge row, then the rows its second lookup returns.
      const l2 = alt.lookups[1]!;
      const edge = n.next("edge");
      const node = n.next("node");
      const accList = n.next("acc_entries");
      const accN = n.next("acc_n");
      const yes2 = n.next("yes");
      const second = n.next("second");
      const secondN = n.next("n");
      const more = n.next("more");
      const sum = n.next("sum");
      const perEdge = opdef([
        [yes2, true],
        [second, cond(ref(yes2), this.lookupOp(l2, l1.table, edge), [])],
        [secondN, call(second, "len")],
        [more, fold(second, node, this.appendEntryOp(alt.relation, relTable, edge, hop.target, node), ref(accList))],
        [sum, call(accN, "add", { r: ref(secondN) })],
        ["next", { [accList]: ref(more), [accN]: ref(sum) }],
      ]);
      const folded = n.next("edges");
      const edgeN = n.next("n");
      steps.push([folded, fold(first, edge, perEdge, { [accList]: [], [accN]: 0 })]);
      steps.push([list, call(folded, "get", { i: accList })], [edgeN, call(folded, "get", { i: accN })]);
      lists.push(list);
      counts.push(edgeN);
    }
    let all = lists[0]!;
    for (let i = 1; i < lists.length; i++) {
      const both = n.next("union");
      steps.push([both, call(all, "concat", { r: ref(lists[i]!) })]);
      all = both;
    }
    let count = counts[0]!;
    for (let i = 1; i < counts.length; i++) {
      const s = n.next("count");
      steps.push([s, call(count, "add", { r: ref(counts[i]!) })]);
      count = s;
    }
    if (hop.alts.length > 1) {
      // `both`: the two directions' union; a self-loop row (same relationship, same row) once.
      const unique = n.next("unique");
      const e = n.next("e");
      const id = n.next("id");
      const seen = n.next("seen");
      const isNew = opdef([
        [id, call(e, "slice", { start: 0, stop: 2 })],
        ...this.containsSteps("state", id, seen, firstCells(2)),
        ["kept", cond(ref(seen), ref("state"), opdef([["more", call("state", "concat", { r: [ref(e)] })]]))],
      ]);
      steps.push([unique, fold(all, e, isNew, [])]);
      all = unique;
    }
    const length = this.sortKeyLength(hop.alts[0]!.relAt === 0 ? hop.source : hop.alts[0]!.lookups[0]!.table) + this.sortKeyLength(hop.target);
    steps.push(
      ...insertionSortSteps(n, all, entriesOut, (item, placed, result) => {
        const a = n.next("ska");
        const b = n.next("skb");
        return [[a, call(item, "get", { i: 1 })], [b, call(placed, "get", { i: 1 })], ...tupleLessSteps(n, a, b, length, result)];
      }),
    );
    steps.push(...this.countSteps(touchedIn, count, touchedOut));
    return steps;
  }

  /** A fold op (accumulator: a tuple) appending the neighbor entry of relation row `rel` and target row `node`. */
  private appendEntryOp(relation: string, relTable: string, rel: string, target: string, node: string): Json {
    const n = this.names;
    const relKey = n.next("relkey");
    const relSk = n.next("relsk");
    const nodeSk = n.next("nodesk");
    const sk = n.next("sk");
    return opdef([
      [relKey, call(rel, "slice", { start: 0, stop: this.keyCount(relTable) })],
      ...this.sortKeySteps(relTable, rel, relSk),
      ...this.sortKeySteps(target, node, nodeSk),
      [sk, call(relSk, "concat", { r: ref(nodeSk) })],
      ["added", call("state", "concat", { r: [[[relation, ref(relKey)], ref(sk), ref(node)]] })],
    ]);
  }

  // --- orderBy -----------------------------------------------------------------------------------

  /**
   * Steps setting `out` to "the cell `col` of row `a` < that of row `b`" (rows of `table`), in the
   * extension's order (nulls first). Core IR compares numbers only, so the cells are compared by
   * the table engine: a range on the primary index (key ++ values) — equality on `a`'s cells
   * before `col`, then `col` in `[a.col, b.col)` — holds a row (`a` itself) iff `a.col < b.col`.
   */
  private cellLessSteps(table: string, col: string, a: string, b: string, out: string): JsonSteps {
    const n = this.names;
    const p = this.pos(table, col);
    const cols = this.columns(table);
    const av = n.next("av");
    const bv = n.next("bv");
    const an = n.next("anull");
    const bn = n.next("bnull");
    const bPresent = n.next("bpresent");
    // Inside the branch (both cells present): a's cells before `col`, then the range on `col`.
    const prefixSteps: JsonSteps = cols.slice(0, p).map((_, i) => [`pre${i}`, call(a, "get", { i })]);
    const selector: Json = [...cols.slice(0, p).map((c, i) => [c, ref(`pre${i}`)]), [col, [["in", ref(av)], ["ex", ref(bv)]]]];
    return [
      [av, call(a, "get", { i: p })],
      [bv, call(b, "get", { i: p })],
      [an, call(av, "eq", { r: null })],
      [bn, call(bv, "eq", { r: null })],
      [bPresent, call(bn, "not")],
      [
        out,
        cond(
          ref(an),
          ref(bPresent),
          cond(
            ref(bn),
            false,
            opdef([...prefixSteps, ["hits", get(`${this.link(table)}/count`, selector)], ["lt", call("hits", "gt", { r: 0 })]]),
          ),
        ),
      ],
    ];
  }

  /** Steps setting `out` to `rows` (of `table`) sorted stably by `keys` (ties keep their order). */
  protected orderBySteps(table: string, rows: string, keys: readonly OrderKey[], out: string): JsonSteps {
    if (keys.length === 0) return [[out, ref(rows)]];
    const n = this.names;
    return insertionSortSteps(n, rows, out, (item, placed, result) => {
      // less(item, placed): lexicographic over the keys, each ascending or descending.
      const steps: JsonSteps = [];
      let less = "";
      for (let k = keys.length - 1; k >= 0; k--) {
        const key = keys[k]!;
        const lt = n.next("klt");
        steps.push(...(key.desc ? this.cellLessSteps(table, key.col, placed, item, lt) : this.cellLessSteps(table, key.col, item, placed, lt)));
        if (k === keys.length - 1) {
          less = lt;
          continue;
        }
        const p = this.pos(table, key.col);
        const x = n.next("ix");
        const y = n.next("px");
        const eq = n.next("keq");
        const tie = n.next("ktie");
        const either = n.next("kless");
        steps.push([x, call(item, "get", { i: p })], [y, call(placed, "get", { i: p })], [eq, call(x, "eq", { r: ref(y) })]);
        steps.push([tie, call(eq, "and", { r: ref(less) })], [either, call(lt, "or", { r: ref(tie) })]);
        less = either;
      }
      steps.push([result, ref(less)]);
      return steps;
    });
  }

  // --- the page ----------------------------------------------------------------------------------

  /** Steps setting `offset`, `limit` (null = none) and `stop` (offset + limit, or null). */
  protected windowSteps(): JsonSteps {
    return [
      ["offset", this.plan.offset ? this.value(this.plan.offset) : 0],
      ["limit", this.plan.limit ? this.value(this.plan.limit) : null],
      ["no_limit", call("limit", "eq", { r: null })],
      ["stop", cond(ref("no_limit"), null, opdef([["s", call("offset", "add", { r: ref("limit") })]]))],
    ];
  }

  /**
   * Steps ending in `result`: the page of `rows` — `[offset, offset + limit)`, or `[0, limit)` when
   * the offset was already skipped — counted, projected on `select`, or as they are.
   */
  protected pageResultSteps(rows: string, table: string, select: readonly string[] | null, count: boolean, offsetSkipped = false): JsonSteps {
    const bounds: Record<string, Json> = offsetSkipped ? { start: 0, stop: ref("limit") } : { start: ref("offset"), stop: ref("stop") };
    return [["page", call(rows, "slice", bounds)], ...this.resultSteps("page", table, select, count)];
  }

  /** Steps ending in `result`: `rows` counted, projected on `select`, or as they are. */
  private resultSteps(rows: string, table: string, select: readonly string[] | null, count: boolean): JsonSteps {
    if (count) return [["result", call(rows, "len")]];
    if (select) {
      const positions = select.map((c) => this.pos(table, c));
      const row = this.names.next("row");
      return [["result", fold(rows, row, opdef([["picked", positions.map((p) => call(row, "get", { i: p }))], ["more", call("state", "concat", { r: [ref("picked")] })]]), [])]];
    }
    return [["result", ref(rows)]];
  }

  /** Steps setting `out` = does the tuple `items` hold `value`. */
  protected containsSteps(items: string, value: string, out: string, key?: (el: string) => Json): JsonSteps {
    return containsSteps(this.names, items, value, out, key);
  }
}
