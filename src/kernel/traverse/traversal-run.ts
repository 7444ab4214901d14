/**
 * The state of one traversal run: the store, the plan, its parameters and binding, and the
 * count of rows touched against the visit budget. It offers what every algorithm needs — bound
 * steps, budget-counted lookups, a hop's neighbors, the start rows, projection — while the
 * algorithms themselves (distinct.ts, slot-distinct.ts, trails.ts, shortest-path.ts) are
 * functions that take it.
 */
import { BadRequestError, VisitBudgetError } from "../../errors.js";
import type { OrderKey, PlanFilter, PlanValue, TraversePlan } from "../../ir/traverse-plan.js";
import { bindingFor, type BoundFilter, type BoundHop, type BoundLookup, type BoundStep, type Neighbor, type PlanBinding } from "./binding.js";
import { keyId, sortRows, type SortKey } from "./row-order.js";
import type { TraverseRow, TraverseStore, TraverseTableShape } from "./store.js";
import { matchesOp } from "./values.js";

/** The plan's steps bound for a run, and where they end. */
export interface BoundSteps {
  readonly startFilters: readonly BoundFilter[];
  readonly steps: readonly BoundStep[];
  /** The table the steps end in. */
  readonly endTable: string;
}

/**
 * One run of a plan against a store. Fields the algorithms update (`touched`) are public; every
 * row a lookup returns is counted, and exceeding the plan's budget throws `VisitBudgetError`.
 */
export class TraversalRun {
  /** Rows touched so far (checked against `plan.budget`). */
  touched = 0;
  readonly binding: PlanBinding;

  constructor(
    readonly store: TraverseStore,
    readonly plan: TraversePlan,
    private readonly params: Readonly<Record<string, unknown>>,
  ) {
    this.binding = bindingFor(store, plan);
  }

  shape(table: string): TraverseTableShape {
    return this.binding.shape(this.store, table);
  }

  pos(table: string, col: string): number {
    return this.binding.pos(this.store, table, col);
  }

  /** Counts `n` touched rows against the budget. */
  count(n: number): void {
    this.touched += n;
    if (this.touched > this.plan.budget) throw new VisitBudgetError(this.plan.budget);
  }

  private value(v: PlanValue): unknown {
    if ("param" in v) {
      if (!Object.prototype.hasOwnProperty.call(this.params, v.param)) {
        throw new BadRequestError(`traverse: missing parameter ${v.param}`);
      }
      return this.params[v.param];
    }
    return v.lit;
  }

  /** A filter on `table` with its column position and this run's value. */
  bindFilter(table: string, f: PlanFilter): BoundFilter {
    const value = this.value(f.value);
    if (f.op === "in" && !Array.isArray(value)) {
      throw new BadRequestError(`traverse: ${table}.${f.col} in … needs a tuple of values`);
    }
    return { pos: this.pos(table, f.col), op: f.op, value };
  }

  /** The plan's start filters and steps, bound; checks that each hop starts where the last ended. */
  boundSteps(): BoundSteps {
    const plan = this.plan;
    const startTable = plan.start.table;
    this.shape(startTable);
    // Plain loops: no closures per run (the per-run path is short; closures cost here).
    const startFilters: BoundFilter[] = [];
    for (const f of plan.start.filters) startFilters.push(this.bindFilter(startTable, f));
    let table = startTable;
    const steps: BoundStep[] = [];
    for (const s of plan.steps) {
      if (s.kind === "hop") {
        if (s.source !== table) throw new BadRequestError(`traverse: hop ${s.rel} starts at ${s.source}, but the traversal is at ${table}`);
        table = s.target;
        steps.push({ kind: "hop", hop: this.binding.hop(this.store, s) });
      } else if (s.kind === "where") steps.push({ kind: "where", filter: this.bindFilter(table, s.filter) });
      else steps.push({ kind: "as", alias: s.alias });
    }
    return { startFilters, steps, endTable: table };
  }

  /** The page window: `offset` and `limit` (no limit: infinity). */
  window(): { offset: number; limit: number } {
    return { offset: this.windowValue(this.plan.offset, "offset", 0), limit: this.windowValue(this.plan.limit, "limit", Number.POSITIVE_INFINITY) };
  }

  private windowValue(v: PlanValue | null, what: string, dflt: number): number {
    if (v === null) return dflt;
    const n = this.value(v);
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
      throw new BadRequestError(`traverse: ${what} must be a non-negative integer, got ${JSON.stringify(n)}`);
    }
    return n;
  }

  /** Runs a lookup with the values of `row` at the lookup's `from` columns, appending to `out`. */
  lookup(l: BoundLookup, row: TraverseRow, out: TraverseRow[]): void {
    const values = l.values;
    for (let i = 0; i < values.length; i++) {
      const v = row[l.fromPos[i]!];
      if (v === null || v === undefined) return;
      values[i] = v;
    }
    const before = out.length;
    l.run(values, out);
    this.touched += out.length - before;
    if (this.touched > this.plan.budget) throw new VisitBudgetError(this.plan.budget);
  }

  /** Runs a one-column lookup with `v`, appending to `out` (as `lookup`). */
  lookupValue(l: BoundLookup, v: unknown, out: TraverseRow[]): void {
    const values = l.values;
    values[0] = v;
    const before = out.length;
    l.run(values, out);
    this.touched += out.length - before;
    if (this.touched > this.plan.budget) throw new VisitBudgetError(this.plan.budget);
  }

  /** The (relation row, target row) pairs one hop reaches from `row`, in canonical order when `sorted`. */
  neighbors(bh: BoundHop, row: TraverseRow, sorted: boolean): Neighbor[] {
    const out: Neighbor[] = [];
    const targetKeys = bh.targetShape.keyCount;
    for (const alt of bh.alts) {
      const first: TraverseRow[] = [];
      this.lookup(alt.lookups[0]!, row, first);
      const relKeys = alt.relShape.keyCount;
      if (alt.lookups.length === 1) {
        for (const r of first) {
          const rel = alt.relAt === 0 ? row : r;
          out.push({ rel, relKeys, relId: alt.relation + "\u0000" + String(keyId(rel, relKeys)), node: r, nodeId: keyId(r, targetKeys) });
        }
      } else {
        const l2 = alt.lookups[1]!;
        const second: TraverseRow[] = [];
        for (const e of first) {
          const relId = alt.relation + "\u0000" + String(keyId(e, relKeys));
          second.length = 0;
          this.lookup(l2, e, second);
          for (const n of second) out.push({ rel: e, relKeys, relId, node: n, nodeId: keyId(n, targetKeys) });
        }
      }
    }
    if (bh.alts.length > 1) {
      // `both`: the union of the two directions; a self-loop row appears once.
      const seen = new Set<string>();
      const unique: Neighbor[] = [];
      for (const n of out) {
        const id = n.relId + "\u0001" + String(n.nodeId);
        if (!seen.has(id)) {
          seen.add(id);
          unique.push(n);
        }
      }
      out.length = 0;
      out.push(...unique);
    }
    if (sorted && out.length > 1) {
      out.sort(bh.order);
    }
    return out;
  }

  /** The rows of `table` passing every start filter, in key order (each row read counts). */
  startRows(filters: readonly BoundFilter[], table: string): TraverseRow[] {
    const shape = this.shape(table);
    if (equalsNull(filters)) return [];
    const access = this.binding.startAccess(this.store, filters, table);
    let rows: readonly TraverseRow[];
    if (access.run !== undefined) {
      const found: TraverseRow[] = [];
      const values = access.values;
      for (let i = 0; i < values.length; i++) values[i] = filters[access.filterIndex[i]!]!.value;
      access.run(values, found);
      rows = found;
    } else {
      rows = this.store.all(table);
    }
    this.count(rows.length);
    if (rows.length === 1) return matchesAll(rows[0]!, filters) ? [rows[0]!] : [];
    const out: TraverseRow[] = [];
    for (const r of rows) if (matchesAll(r, filters)) out.push(r);
    if (out.length > 1) sortRows(out, shape, []);
    return out;
  }

  /** Row positions of the `select` columns (all columns for `null`). */
  cellPositions(table: string, shape: TraverseTableShape, select: readonly string[] | null): readonly number[] {
    if (select === null) return allPositions(shape);
    return select.map((c) => this.pos(table, c));
  }

  /** The rows as result tuples: whole rows, or the `select` columns in order. */
  project(rows: readonly TraverseRow[], table: string, select: readonly string[] | null): unknown[] {
    if (select === null) return rows as unknown[];
    const positions = this.cellPositions(table, this.shape(table), select);
    return rows.map((r) => positions.map((p) => r[p]));
  }

  /** `orderBy` as sort keys on `table`'s row positions. */
  sortKeys(table: string, orderBy: readonly OrderKey[]): SortKey[] {
    return orderBy.map((o) => ({ pos: this.pos(table, o.col), desc: o.desc }));
  }
}

/** True when some filter is an equality with null (which matches nothing). */
export function equalsNull(filters: readonly BoundFilter[]): boolean {
  for (let i = 0; i < filters.length; i++) if (filters[i]!.op === "=" && filters[i]!.value === null) return true;
  return false;
}

function matchesAll(r: TraverseRow, filters: readonly BoundFilter[]): boolean {
  for (const f of filters) if (!matchesOp(r[f.pos], f.op, f.value)) return false;
  return true;
}

/** The number of results a page of `n` holds. */
export function windowCount(n: number, offset: number, limit: number): number {
  return Math.max(0, Math.min(n - offset, limit));
}

const ALL_POSITIONS = new WeakMap<TraverseTableShape, readonly number[]>();

/** 0, 1, …: the positions of every column of `shape`, made once per shape. */
function allPositions(shape: TraverseTableShape): readonly number[] {
  let positions = ALL_POSITIONS.get(shape);
  if (positions === undefined) {
    positions = shape.columns.map((_, i) => i);
    ALL_POSITIONS.set(shape, positions);
  }
  return positions;
}
