/**
 * Grouping and aggregates: rows are hashed into groups by their `groupBy` values (one group of
 * all rows when the plan has none, even with no rows), each group keeping one accumulator per
 * aggregate. SQL semantics: `count` of `null` counts rows, every other aggregate skips nulls;
 * `sum`/`avg`/`min`/`max` of no values are null, `count` of none is 0; `distinct` aggregates
 * the distinct non-null values.
 */
import type { AggSpec, Ev, Slots } from "./compiled.js";
import { bad, compareValues, norm, tupleKey } from "./compiled.js";
import type { RowSink } from "./join.js";
import type { RouteMeter } from "./budget.js";

/** One group: its key values and its accumulators. */
export interface Group {
  readonly keys: unknown[];
  /** Per aggregate: count / running sum / current min or max / set of distinct values. */
  readonly acc: unknown[];
  /** Per aggregate: values counted (the `avg` divisor; `sum` null when 0). */
  readonly n: number[];
}

/**
 * Accumulates groups from joined rows (a `RowSink`).
 *
 * @example
 * ```ts
 * const g = new Grouper(plan.group.keys, plan.group.aggs, meter);
 * new JoinRun(plan, visits, g).run();
 * g.rows(); // per group: its keys, then its aggregates' values
 * ```
 */
export class Grouper implements RowSink {
  private readonly single = new Map<unknown, Group>();
  private readonly multi = new Map<string, Group>();
  private readonly order: Group[] = [];
  private readonly scratch: unknown[];

  constructor(
    private readonly keys: readonly Ev[],
    private readonly aggs: readonly AggSpec[],
    private readonly meter: RouteMeter,
  ) {
    this.scratch = new Array(keys.length);
    if (keys.length === 0) this.newGroup([]);
  }

  private newGroup(keys: unknown[]): Group {
    const aggs = this.aggs;
    const acc: unknown[] = new Array(aggs.length);
    const n: number[] = new Array(aggs.length).fill(0);
    for (let i = 0; i < aggs.length; i++) {
      const a = aggs[i]!;
      acc[i] = a.distinct ? new Set<unknown>() : a.fn === "count" || a.fn === "sum" || a.fn === "avg" ? 0 : null;
    }
    const g: Group = { keys, acc, n };
    this.order.push(g);
    this.meter.alloc(96 + 16 * (keys.length + aggs.length));
    return g;
  }

  accept(slots: Slots): boolean {
    const keys = this.keys;
    let g: Group | undefined;
    if (keys.length === 0) g = this.order[0]!;
    else if (keys.length === 1) {
      const v = keys[0]!(slots);
      const k = norm(v);
      g = this.single.get(k);
      if (g === undefined) {
        g = this.newGroup([v]);
        this.single.set(k, g);
      }
    } else {
      const s = this.scratch;
      for (let i = 0; i < keys.length; i++) s[i] = keys[i]!(slots);
      const k = tupleKey(s);
      g = this.multi.get(k);
      if (g === undefined) {
        g = this.newGroup(s.slice());
        this.multi.set(k, g);
      }
    }
    const aggs = this.aggs;
    const acc = g.acc;
    const n = g.n;
    for (let i = 0; i < aggs.length; i++) {
      const a = aggs[i]!;
      if (a.arg === null) {
        (acc[i] as number)++;
        continue;
      }
      const raw = a.arg(slots);
      if (raw === null) continue;
      // A 64-bit integer beyond ±(2^53 − 1) is a bigint: sums and averages take it as a float
      // (SQLite's sum would overflow its integers there).
      const v = typeof raw === "bigint" && (a.fn === "sum" || a.fn === "avg") ? Number(raw) : raw;
      if (a.distinct) {
        if ((a.fn === "sum" || a.fn === "avg") && typeof v !== "number") throw bad(`${a.fn} takes numbers, got ${JSON.stringify(v)?.slice(0, 40)}`);
        (acc[i] as Set<unknown>).add(norm(v));
        continue;
      }
      n[i]!++;
      switch (a.fn) {
        case "count":
          (acc[i] as number)++;
          break;
        case "sum":
        case "avg":
          if (typeof v !== "number") throw bad(`${a.fn} takes numbers, got ${JSON.stringify(v)?.slice(0, 40)}`);
          (acc[i] as number) += v;
          break;
        case "min":
          if (acc[i] === null || compareValues(v, acc[i]) < 0) acc[i] = v;
          break;
        case "max":
          if (acc[i] === null || compareValues(v, acc[i]) > 0) acc[i] = v;
          break;
      }
    }
    return false;
  }

  /** The groups, in first-seen order: each its key values, then its aggregates' values. */
  rows(): { vals: unknown[]; keys: unknown[] }[] {
    const aggs = this.aggs;
    return this.order.map((g) => {
      const vals = g.keys.slice();
      for (let i = 0; i < aggs.length; i++) vals.push(result(aggs[i]!, g.acc[i], g.n[i]!));
      return { vals, keys: g.keys };
    });
  }
}

function result(a: AggSpec, acc: unknown, n: number): unknown {
  if (a.arg === null) return acc;
  if (a.distinct) {
    const set = acc as Set<unknown>;
    if (a.fn === "count") return set.size;
    if (set.size === 0) return null;
    let s = 0;
    let best: unknown = null;
    for (const v of set) {
      if (a.fn === "sum" || a.fn === "avg") s += v as number;
      else if (best === null || (a.fn === "min" ? compareValues(v, best) < 0 : compareValues(v, best) > 0)) best = v;
    }
    if (a.fn === "sum") return s;
    if (a.fn === "avg") return s / set.size;
    return best;
  }
  switch (a.fn) {
    case "count":
      return acc;
    case "sum":
      return n === 0 ? null : acc;
    case "avg":
      return n === 0 ? null : (acc as number) / n;
    default:
      return acc;
  }
}
