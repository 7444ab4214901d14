/**
 * Enumerates a plan's joined rows: `from`'s rows by its access path (scan, equality lookup,
 * index range, or an index serving the order), then each join in order — an index lookup per
 * left row, a hash table of the right side built once per execution, or a loop over it — with
 * `where`'s conjuncts tested as soon as the aliases they name are bound. Rows are handed to a
 * sink in one reused array (one row per alias); a sink that keeps them copies it.
 */
import type { KeyCell } from "../storage/index-keys.js";
import type { ColumnConstraint } from "../storage/scan-plan.js";
import type { Row } from "../storage/table-schema.js";
import type { Visits } from "./budget.js";
import { type CompiledJoin, type CompiledPlan, type ConstraintSpec, type Ev, norm, type Slots, compareValues } from "./compiled.js";
import { TopK } from "./top-k.js";

/** Receives each joined row that passes `where`; returns true to stop the enumeration. */
export interface RowSink {
  accept(slots: Slots): boolean;
}


function allTrue(conds: readonly Ev[], slots: Slots): boolean {
  for (let i = 0; i < conds.length; i++) if (conds[i]!(slots) !== true) return false;
  return true;
}

/**
 * One enumeration of a compiled plan's joined rows.
 *
 * @example
 * ```ts
 * new JoinRun(plan, visits, sink).run(); // sink.accept(slots) per passing joined row
 * ```
 */
export class JoinRun {
  readonly slots: Slots;
  private stopped = false;
  private readonly buffers: Row[][];
  private readonly cells: KeyCell[] = [null];
  /** Per join: its table's primary key order (for lookups whose rows come out of it). */
  private readonly byKey: ((a: Row, b: Row) => number)[];

  /**
   * @param first when set, how many rows the sink takes before it stops (a limit on rows that
   *   arrive in key order): rows of `from` put in primary key order are then selected, not sorted.
   */
  constructor(
    private readonly plan: CompiledPlan,
    private readonly visits: Visits,
    private readonly sink: RowSink,
    private readonly first?: number,
  ) {
    this.slots = new Array(plan.tables.length).fill(null);
    this.buffers = plan.joins.map(() => []);
    this.byKey = plan.joins.map((j) => byPrimaryKey(j.table.primary.keyPositions));
  }

  /** Enumerates every joined row (until the sink stops it). */
  run(): void {
    const plan = this.plan;
    const table = plan.from.table;
    const access = plan.access;
    switch (access.t) {
      case "scan":
        table.scan(table.plan([]), (row) => this.fromRow(row));
        return;
      case "lookup": {
        const values = access.values;
        const cells: KeyCell[] = new Array(values.length);
        for (let i = 0; i < values.length; i++) {
          const v = values[i]!(this.slots);
          if (v === null) return;
          cells[i] = norm(v);
        }
        const out: Row[] = [];
        access.lookup(cells, out);
        if (out.length > 1) this.touch(out);
        if (access.sortFrom) this.inKeyOrder(out);
        else this.fromRows(out);
        return;
      }
      case "in": {
        const list = access.values(this.slots) as unknown[];
        const keys: KeyCell[] = [];
        for (let i = 0; i < list.length; i++) if (list[i] !== null) keys.push(norm(list[i]));
        keys.sort(compareValues);
        const rows: Row[] = [];
        const cell: KeyCell[] = [null];
        for (let i = 0; i < keys.length; i++) {
          if (i > 0 && keys[i] === keys[i - 1]) continue;
          cell[0] = keys[i]!;
          access.lookup(cell, rows);
        }
        this.visits.meter.alloc(8 * rows.length);
        this.inKeyOrder(rows);
        return;
      }
      case "range": {
        const cs = constraints(access.specs, this.slots);
        if (cs === undefined) return;
        if (!access.sortFrom) {
          table.scan(table.plan(cs), (row) => this.fromRow(row));
          return;
        }
        const rows: Row[] = [];
        table.scan(table.plan(cs), (row) => {
          rows.push(row);
        });
        this.visits.meter.alloc(8 * rows.length);
        this.inKeyOrder(rows);
        return;
      }
      case "ordered": {
        const cs = constraints(access.specs, this.slots);
        if (cs === undefined) return;
        const scanPlan = table.plan(cs, access.order, access.reverse);
        if (!access.reverse) {
          table.scan(scanPlan, (row) => this.fromRow(row));
          return;
        }
        // Read in reverse, rows tying on the order keys come in descending primary key order:
        // each run of ties is handed on reversed.
        const pos = access.orderPos;
        let ties: Row[] = [];
        const same = (a: Row, b: Row): boolean => {
          for (let i = 0; i < pos.length; i++) if (compareValues(a[pos[i]!], b[pos[i]!]) !== 0) return false;
          return true;
        };
        const flush = (): boolean => {
          for (let i = ties.length - 1; i >= 0; i--) if (this.fromRow(ties[i]!)) return true;
          ties = [];
          return false;
        };
        table.scan(scanPlan, (row) => {
          if (ties.length > 0 && !same(ties[0]!, row) && flush()) return true;
          ties.push(row);
          return false;
        });
        if (!this.stopped && ties.length > 0) flush();
        return;
      }
    }
  }

  /**
   * Hands `from`'s rows on in primary key order. When the sink stops after `first` rows and there
   * are many more, the `first` smallest are selected with a bounded heap and handed on; the rest
   * is sorted only if the sink still wants rows (some were filtered out or joined to nothing).
   */
  private inKeyOrder(rows: Row[]): void {
    const cmp = byPrimaryKey(this.plan.from.table.primary.keyPositions);
    const k = this.first;
    let rest = rows;
    if (k !== undefined && k > 0 && rows.length > 2 * k + 16) {
      const top = new TopK<Row>(k, cmp);
      for (let i = 0; i < rows.length; i++) if (top.admits(rows[i]!)) top.push(rows[i]!);
      const head = top.sorted();
      if (this.fromRows(head)) return;
      // Primary keys are unique: the rest is every row after the last one handed on.
      const last = head[head.length - 1]!;
      rest = rows.filter((r) => cmp(r, last) > 0);
    }
    rest.sort(cmp);
    this.fromRows(rest);
  }

  /**
   * Rows of `from` in turn (true when the sink stopped), the first join's lookups for each chunk
   * of them made ahead (`prefetch`): a chunk, not all, since the sink may stop early.
   */
  private fromRows(rows: readonly Row[]): boolean {
    const first = this.plan.joins[0];
    for (let i = 0; i < rows.length; i++) {
      if (first !== undefined && i % FROM_CHUNK === 0 && rows.length - i > 1) this.prefetch(first, 0, rows, i, Math.min(rows.length, i + FROM_CHUNK));
      if (this.fromRow(rows[i]!)) return true;
    }
    return false;
  }

  /** One row of `from`: tests its conjuncts, then the joins. Returns true to stop the scan. */
  private fromRow(row: Row): boolean {
    this.visits.one();
    const slots = this.slots;
    slots[0] = row;
    if (allTrue(this.plan.whereAt[0]!, slots)) this.join(0);
    return this.stopped;
  }

  /** Binds join `j` (slot j + 1) for the current left rows, then the next joins. */
  private join(j: number): void {
    const plan = this.plan;
    if (j === plan.joins.length) {
      if (this.sink.accept(this.slots)) this.stopped = true;
      return;
    }
    const join = plan.joins[j]!;
    const slots = this.slots;
    const slot = join.slot;
    const conds = plan.whereAt[slot]!;
    const s = join.strategy;
    let candidates: readonly Row[];
    if (s.t === "lookup") {
      const v = s.key(slots);
      const out = this.buffers[j]!;
      out.length = 0;
      if (v !== null) {
        this.cells[0] = norm(v);
        s.lookup(this.cells, out);
        if (out.length > 1) this.touch(out);
        if (s.sortRows && out.length > 1) out.sort(this.byKey[j]!);
      }
      candidates = out;
    } else if (s.t === "hash") {
      const v = s.key(slots);
      candidates = v === null ? EMPTY : (this.hashSide(join, s.position).get(norm(v)) ?? EMPTY);
    } else candidates = this.loopSide(join);
    if (candidates.length > 1 && j + 1 < plan.joins.length) this.prefetch(plan.joins[j + 1]!, slot, candidates, 0, candidates.length);
    const on = s.t === "lookup" && s.onIsKey ? undefined : join.on;
    let matched = false;
    const n = candidates.length;
    if (n > 0) this.visits.many(n);
    for (let i = 0; i < n; i++) {
      slots[slot] = candidates[i]!;
      if (on !== undefined && on(slots) !== true) continue;
      matched = true;
      if (conds.length === 0 || allTrue(conds, slots)) this.join(j + 1);
      if (this.stopped) break;
    }
    if (!matched && join.left && !this.stopped) {
      slots[slot] = null;
      if (conds.length === 0 || allTrue(conds, slots)) this.join(j + 1);
    }
    slots[slot] = null;
  }

  /** What `prefetch` looks up (emptied after each use). */
  private readonly scratch: Row[] = [];
  private readonly scratchCells: KeyCell[] = [null];

  /**
   * When the next join is an index lookup keyed by a column: makes its lookups for every
   * candidate of this join now, in one loop, and touches the rows they find. The lookups are
   * made again, cache-warm, as each candidate is joined; doing them back to back lets the
   * processor overlap their cache misses (hash probes, groups, rows) instead of taking them one
   * candidate at a time.
   */
  private prefetch(next: CompiledJoin, slot: number, candidates: readonly Row[], from: number, to: number): void {
    const s = next.strategy;
    if (s.t !== "lookup" || !s.prefetch) return;
    const slots = this.slots;
    const buf = this.scratch;
    const cells = this.scratchCells;
    for (let i = from; i < to; i++) {
      slots[slot] = candidates[i]!;
      const v = s.key(slots);
      if (v === null) continue;
      cells[0] = norm(v);
      s.lookup(cells, buf);
    }
    if (buf.length > 0) this.touch(buf);
    buf.length = 0;
    slots[slot] = null;
  }

  /** Kept so that `touch`'s reads are not optimized away. */
  private touched = 0;

  /**
   * Reads a cell of each row an index lookup found before the rows are used: the reads are
   * independent of each other, so the processor overlaps their cache misses, instead of waiting
   * for each row in turn inside the per-row work (tests, order keys, joins) that follows.
   */
  private touch(rows: readonly Row[]): void {
    let t = 0;
    for (let i = 0; i < rows.length; i++) if (rows[i]![0] === undefined) t++;
    this.touched += t;
  }

  /** The right side of a hash join, read once per execution (kept in `env.sides`). */
  private hashSide(join: CompiledJoin, position: number): Map<unknown, Row[]> {
    const sides = this.plan.env.sides;
    let map = sides.get(join) as Map<unknown, Row[]> | undefined;
    if (map === undefined) {
      map = new Map<unknown, Row[]>();
      const into = map;
      const t = join.table;
      let n = 0;
      t.scan(t.plan([]), (row) => {
        n++;
        const k = row[position];
        if (k === null) return;
        const key = norm(k);
        const bucket = into.get(key);
        if (bucket === undefined) into.set(key, [row]);
        else bucket.push(row);
      });
      this.visits.many(n);
      this.visits.meter.alloc(48 * n);
      sides.set(join, map);
    }
    return map;
  }

  /** The right side of a loop join, read once per execution (kept in `env.sides`). */
  private loopSide(join: CompiledJoin): readonly Row[] {
    const sides = this.plan.env.sides;
    let rows = sides.get(join) as Row[] | undefined;
    if (rows === undefined) {
      const all: Row[] = [];
      const t = join.table;
      t.scan(t.plan([]), (row) => {
        all.push(row);
      });
      this.visits.many(all.length);
      this.visits.meter.alloc(8 * all.length);
      sides.set(join, all);
      rows = all;
    }
    return rows;
  }
}

const EMPTY: readonly Row[] = [];
/** Rows of `from` whose first join's lookups are made ahead at once. */
const FROM_CHUNK = 16;

const BY_KEY = new WeakMap<readonly number[], (a: Row, b: Row) => number>();

/** Orders rows by their primary key cells (`pos`: the key columns' positions); one per list. */
function byPrimaryKey(pos: readonly number[]): (a: Row, b: Row) => number {
  let cmp = BY_KEY.get(pos);
  if (cmp === undefined) BY_KEY.set(pos, (cmp = rowKeyOrder(pos)));
  return cmp;
}

function rowKeyOrder(pos: readonly number[]): (a: Row, b: Row) => number {
  return (a, b) => {
    for (let i = 0; i < pos.length; i++) {
      const c = compareValues(a[pos[i]!], b[pos[i]!]);
      if (c !== 0) return c;
    }
    return 0;
  };
}

/** The constraints of an access path with their values for this execution (undefined: a null bound, no rows). */
function constraints(specs: readonly ConstraintSpec[], slots: Slots): ColumnConstraint[] | undefined {
  const cs: ColumnConstraint[] = [];
  for (const s of specs) {
    if (s.eq) {
      const v = s.eq(slots);
      if (v === null) return undefined;
      cs.push({ column: s.column, eq: true, value: norm(v) });
      continue;
    }
    let lo: ColumnConstraint["lo"];
    let hi: ColumnConstraint["hi"];
    if (s.lo) {
      const v = s.lo.ev(slots);
      if (v === null) return undefined;
      lo = { value: norm(v), inclusive: s.lo.inclusive };
    }
    if (s.hi) {
      const v = s.hi.ev(slots);
      if (v === null) return undefined;
      hi = { value: norm(v), inclusive: s.hi.inclusive };
    }
    cs.push({ column: s.column, eq: false, lo, hi });
  }
  return cs;
}
