/**
 * Runs a compiled plan: joined rows (join.ts) → groups (aggregate.ts) or distinct output rows →
 * order (top-k.ts: a bounded heap when there is a limit; nothing at all when the rows already
 * arrive in order) → offset/limit → output cells → nested loads (nested-load.ts). Every result
 * is a determined sequence: ties are broken by primary keys (plain plans), group values
 * (grouped plans) or output cells (distinct plans).
 */
import type { Visits } from "./budget.js";
import { bad, compareValues, type CompiledPlan, type Ev, type Slots, tupleKey } from "./compiled.js";
import { Grouper } from "./aggregate.js";
import { JoinRun, type RowSink } from "./join.js";
import { loadNested } from "./nested-load.js";
import { orderComparator, TopK } from "./top-k.js";
import type { Row } from "../storage/table-schema.js";

/** A plain plan's kept row: its joined rows and order-key values. */
interface PlainItem {
  slots: Slots;
  keys: unknown[];
}

/** A grouped or distinct plan's kept row. */
interface ValueItem {
  /** Group row (grouped) or output row (distinct). */
  vals: unknown[];
  keys: unknown[];
  /** What ties are broken by: group key values, or output cells. */
  tie: unknown[];
  /** Distinct plain plans: the first joined rows giving this output row (for nested loads). */
  slots: Slots | undefined;
}

function countOf(ev: Ev | null, what: string): number | undefined {
  if (ev === null) return undefined;
  const v = ev([]);
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw bad(`${what} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

function evalAll(evs: readonly Ev[], x: readonly unknown[], out: unknown[]): unknown[] {
  for (let i = 0; i < evs.length; i++) out[i] = evs[i]!(x);
  return out;
}

function compareTie(a: readonly unknown[], b: readonly unknown[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * Runs `plan` (its parameters bound in `plan.env`, its parent row in `plan.box` when nested):
 * the rows, each its select cells then its `with` cells.
 *
 * @example
 * ```ts
 * runPlan(compiled, new Visits(ctx)); // [[1, "ada", [[10, "hello"]]], …]
 * ```
 */
export function runPlan(plan: CompiledPlan, visits: Visits): unknown[][] {
  const limit = countOf(plan.limit, "limit");
  const offset = countOf(plan.offset, "offset") ?? 0;
  if (plan.group !== null || plan.distinct) return runValues(plan, visits, offset, limit);
  return runPlain(plan, visits, offset, limit);
}

/** Collects plain rows: the first `k` in arrival order, the top `k`, or all of them sorted. */
class PlainSink implements RowSink {
  readonly items: PlainItem[] = [];
  readonly top: TopK<PlainItem> | undefined;
  private readonly scratch: PlainItem;

  constructor(
    private readonly plan: CompiledPlan,
    private readonly visits: Visits,
    private readonly sorted: boolean,
    private readonly k: number | undefined,
    cmp: (a: PlainItem, b: PlainItem) => number,
  ) {
    this.top = sorted && k !== undefined ? new TopK(k, cmp) : undefined;
    this.scratch = { slots: [], keys: new Array(plan.order.length) };
  }

  accept(slots: Slots): boolean {
    const order = this.plan.order;
    if (this.top !== undefined) {
      // Most candidates lose to the heap's worst on the first key: refused before anything else.
      const worst = this.top.worst();
      if (worst !== undefined && order.length > 0) {
        const c = compareValues(order[0]!(slots), worst.keys[0]);
        if (this.plan.desc[0] ? c < 0 : c > 0) return false;
      }
      const s = this.scratch;
      s.slots = slots;
      evalAll(order, slots, s.keys);
      if (this.top.admits(s)) {
        this.visits.meter.alloc(64 + 8 * slots.length);
        this.top.push({ slots: slots.slice(), keys: s.keys.slice() });
      }
      return false;
    }
    if (this.k === 0 && !this.sorted) return true;
    this.visits.meter.alloc(64 + 8 * slots.length);
    this.items.push({ slots: slots.slice(), keys: order.length ? evalAll(order, slots, new Array(order.length)) : EMPTY });
    return !this.sorted && this.k !== undefined && this.items.length >= this.k;
  }
}

const EMPTY: unknown[] = [];

/** A plain plan's comparator (order keys, then primary keys slot by slot), made once per plan. */
const PLAIN_ORDER = new WeakMap<CompiledPlan, (a: PlainItem, b: PlainItem) => number>();

function plainOrder(plan: CompiledPlan): (a: PlainItem, b: PlainItem) => number {
  let cmp = PLAIN_ORDER.get(plan);
  if (cmp === undefined) {
    const pks = plan.tables.map((t) => t.primary.keyPositions);
    cmp = orderComparator<PlainItem>(plan.desc, (a, b) => {
      for (let s = 0; s < pks.length; s++) {
        const ra = a.slots[s] as Row | null;
        const rb = b.slots[s] as Row | null;
        if (ra === rb) continue;
        if (ra === null) return -1;
        if (rb === null) return 1;
        const pos = pks[s]!;
        for (let i = 0; i < pos.length; i++) {
          const c = compareValues(ra[pos[i]!], rb[pos[i]!]);
          if (c !== 0) return c;
        }
      }
      return 0;
    });
    PLAIN_ORDER.set(plan, cmp);
  }
  return cmp;
}

function runPlain(plan: CompiledPlan, visits: Visits, offset: number, limit: number | undefined): unknown[][] {
  const cmp = plainOrder(plan);
  const sorted = plan.access.t !== "ordered" && (plan.order.length > 0 || !plan.natural);
  // With distinctOn the page is taken after the first row of each key is kept: every row is needed.
  const k = limit === undefined || plan.distinctOn !== null ? undefined : offset + limit;
  const sink = new PlainSink(plan, visits, sorted, k, cmp);
  // Rows arriving in key order with a limit: the sink stops after k of them.
  new JoinRun(plan, visits, sink, sorted ? undefined : k).run();
  let items: PlainItem[];
  if (sink.top !== undefined) items = sink.top.sorted();
  else {
    items = sink.items;
    if (sorted) items.sort(cmp);
  }
  if (plan.distinctOn !== null) items = firstOfEach(items, plan.distinctOn);
  const end = limit === undefined ? items.length : Math.min(items.length, offset + limit);
  const n = Math.max(0, end - offset);
  visits.meter.tuple(n, "a query result");
  const out: unknown[][] = new Array(n);
  const select = plan.select;
  for (let i = 0; i < n; i++) {
    const slots = items[offset + i]!.slots;
    const row = evalAll(select, slots, new Array(select.length + plan.withs.length));
    if (plan.withs.length > 0) loadNested(plan, slots, row, visits, runPlan);
    out[i] = row;
  }
  return out;
}

/** The first of `items` (in their order) for each distinct tuple of `exprs`. */
function firstOfEach(items: readonly PlainItem[], exprs: readonly Ev[]): PlainItem[] {
  const seen = new Set<string>();
  const out: PlainItem[] = [];
  const scratch: unknown[] = new Array(exprs.length);
  for (const item of items) {
    const key = tupleKey(evalAll(exprs, item.slots, scratch));
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(item);
  }
  return out;
}

/** Grouped and distinct plans: rows become group rows and/or distinct output rows first. */
function runValues(plan: CompiledPlan, visits: Visits, offset: number, limit: number | undefined): unknown[][] {
  let items: ValueItem[];
  const select = plan.select;
  if (plan.group !== null) {
    const grouper = new Grouper(plan.group.keys, plan.group.aggs, visits.meter);
    new JoinRun(plan, visits, grouper).run();
    const having = plan.group.having;
    items = [];
    for (const g of grouper.rows()) {
      if (having !== null && having(g.vals) !== true) continue;
      items.push({ vals: g.vals, keys: plan.distinct ? EMPTY : evalAll(plan.order, g.vals, new Array(plan.order.length)), tie: g.keys, slots: undefined });
    }
    if (plan.distinct) items = distinctOf(items.map((i) => ({ vals: evalAll(select, i.vals, new Array(select.length)), slots: undefined })), plan);
  } else {
    const seen = new Map<string, ValueItem>();
    const kept: ValueItem[] = [];
    const scratch: unknown[] = new Array(select.length);
    new JoinRun(plan, visits, {
      accept(slots: Slots): boolean {
        evalAll(select, slots, scratch);
        const key = tupleKey(scratch);
        if (!seen.has(key)) {
          visits.meter.alloc(64 + 16 * scratch.length);
          const vals = scratch.slice();
          const item: ValueItem = { vals, keys: EMPTY, tie: vals, slots: plan.withs.length ? slots.slice() : undefined };
          seen.set(key, item);
          kept.push(item);
        }
        return false;
      },
    }).run();
    items = distinctOf(kept, plan);
  }
  const cmp = orderComparator<ValueItem>(plan.desc, (a, b) => compareTie(a.tie, b.tie));
  if (limit !== undefined && items.length > offset + limit) {
    const top = new TopK<ValueItem>(offset + limit, cmp);
    for (const it of items) if (top.admits(it)) top.push(it);
    items = top.sorted();
  } else items.sort(cmp);
  const end = limit === undefined ? items.length : Math.min(items.length, offset + limit);
  const n = Math.max(0, end - offset);
  visits.meter.tuple(n, "a query result");
  const out: unknown[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const it = items[offset + i]!;
    if (plan.distinct) {
      const row = it.vals.slice();
      if (plan.withs.length > 0) loadNested(plan, it.slots!, row, visits, runPlan);
      out[i] = row;
    } else out[i] = evalAll(select, it.vals, new Array(select.length));
  }
  return out;
}

/** Distinct output rows (first-seen kept), with their order keys over the output cells. */
function distinctOf(rows: readonly { vals: unknown[]; slots: Slots | undefined }[], plan: CompiledPlan): ValueItem[] {
  const seen = new Set<string>();
  const out: ValueItem[] = [];
  for (const r of rows) {
    const key = tupleKey(r.vals);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ vals: r.vals, keys: evalAll(plan.order, r.vals, new Array(plan.order.length)), tie: r.vals, slots: r.slots });
  }
  return out;
}
