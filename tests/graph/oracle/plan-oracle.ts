/**
 * A reference interpreter of `TraversePlan` (the traverse route's contract, src/ir/traverse-plan.ts)
 * over plain arrays of row tuples. It shares no code with src/kernel: the semantics are those of
 * src/graph/README.md, written for obviousness — linear scans for every lookup, arrays for sets.
 *
 * - Start rows: the rows of the start table passing every filter, in key order. How they are
 *   found decides what they cost: a point lookup when `=` filters fix the whole key, else a range
 *   on the longest prefix of an index (the primary one, key ++ values, or a secondary one) that
 *   `=` filters fix, else a scan of every row. An `=` with null finds nothing and costs nothing.
 * - A hop takes one or two lookups per alternative; a lookup from a row with a null `from`
 *   cell finds nothing, and one whose columns no index prefix serves is refused. The relation
 *   row is the current row (`relAt` 0) or the first lookup's.
 * - distinct: a hop `[min, max]` takes `min` levels of deduplicated sets, then a breadth-first
 *   search with a visited set for the other `max - min` levels. Results by key; `orderBy` sorts
 *   them with ties by key.
 * - trails: depth-first, the neighbors of a row in (relation-row key, target key) order, so trails
 *   come out in canonical order (checked as they come: see `TrailWalk.emit`). No relationship
 *   (relation, relation-row key) twice in one trail. Without `orderBy` the walk stops once the page
 *   is full; with it, `orderBy` sorts the trails stably (ties keep canonical order).
 * - shortest: breadth-first from the start rows (visited set), levels in canonical order; the
 *   first target met is the answer.
 * - Visit budget: every row a lookup returns (or a scan reads) counts once; past the budget the
 *   run fails with `VisitBudgetError`.
 *
 * Results are what the route answers: row tuples (or the selected cells), paths as
 * `[table, row]` pairs, bindings as tuples in `fields` order, a count, or a path / null.
 */
import { BadRequestError, VisitBudgetError } from "../../../src/errors.js";
import { parsePlan, type CmpOp, type OrderKey, type PlanFilter, type PlanHop, type PlanLookup, type PlanValue, type TraversePlan } from "../../../src/ir/traverse-plan.js";
import { holds, order, same } from "./values.js";

/** A row: its cells in column order, key columns first. */
export type OracleRow = readonly unknown[];

/** One table: its columns (key columns first), how many form the key, its secondary indexes, its rows. */
export interface OracleTable {
  readonly columns: readonly string[];
  readonly keyCount: number;
  readonly indexes: readonly (readonly string[])[];
  readonly rows: readonly OracleRow[];
}

export type OracleTables = Readonly<Record<string, OracleTable>>;

/**
 * Runs a plan (its JSON text or the plan) with `params` bound, as the traverse route would answer.
 *
 * @example
 * ```ts
 * const tables = { people: { columns: ["id", "boss"], keyCount: 1, indexes: [["boss"]], rows: [[1, null], [2, 1]] } };
 * interpretPlan(tables, compiled.plan, { me: 1 }); // e.g. [[2, 1]]
 * ```
 */
export function interpretPlan(tables: OracleTables, plan: string | TraversePlan, params: Readonly<Record<string, unknown>>): unknown {
  const parsed = parsePlan(typeof plan === "string" ? plan : JSON.stringify(plan));
  return new Interpreter(tables, parsed, params).run();
}

/** A filter with its value bound and its column resolved. */
interface Test {
  readonly at: number;
  readonly op: CmpOp;
  readonly value: unknown;
}

/** One way a hop reached a row: the relation row that took it there, and the row. */
interface Neighbor {
  readonly relation: string;
  readonly relKey: unknown[];
  readonly row: OracleRow;
}

class Interpreter {
  private touched = 0;

  constructor(
    private readonly tables: OracleTables,
    private readonly plan: TraversePlan,
    private readonly params: Readonly<Record<string, unknown>>,
  ) {}

  // --- tables, values, costs ------------------------------------------------------------------

  private table(name: string): OracleTable {
    const t = this.tables[name];
    if (t === undefined) throw new BadRequestError(`oracle: no table ${name}`);
    return t;
  }

  private column(table: string, col: string): number {
    const i = this.table(table).columns.indexOf(col);
    if (i < 0) throw new BadRequestError(`oracle: table ${table} has no column ${col}`);
    return i;
  }

  /** The row's key cells. */
  key(table: string, row: OracleRow): unknown[] {
    return row.slice(0, this.table(table).keyCount);
  }

  private value(v: PlanValue): unknown {
    if ("lit" in v) return v.lit;
    if (!Object.hasOwn(this.params, v.param)) throw new BadRequestError(`oracle: missing parameter ${v.param}`);
    return this.params[v.param];
  }

  private test(table: string, f: PlanFilter): Test {
    const value = this.value(f.value);
    if (f.op === "in" && !Array.isArray(value)) throw new BadRequestError(`oracle: ${f.col} in … needs a tuple`);
    return { at: this.column(table, f.col), op: f.op, value };
  }

  passes(row: OracleRow, tests: readonly Test[]): boolean {
    return tests.every((t) => holds(row[t.at], t.op, t.value));
  }

  private touch(n: number): void {
    this.touched += n;
    if (this.touched > this.plan.budget) throw new VisitBudgetError(this.plan.budget);
  }

  /** `offset` / `limit`: a non-negative integer (or the default when absent). */
  private count(v: PlanValue | null, what: string, absent: number): number {
    if (v === null) return absent;
    const n = this.value(v);
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new BadRequestError(`oracle: ${what} must be a non-negative integer`);
    return n;
  }

  // --- finding rows ---------------------------------------------------------------------------

  /** True when the key, a prefix of the primary index (key ++ values) or of a secondary index is exactly `cols`. */
  private served(table: string, cols: readonly string[]): boolean {
    const t = this.table(table);
    const prefixOf = (index: readonly string[]) => cols.length <= index.length && cols.every((c, i) => index[i] === c);
    return [t.columns, ...t.indexes].some(prefixOf);
  }

  /** The rows of `table` whose `cols` equal `values` (a lookup: every row found counts). */
  private find(table: string, cols: readonly string[], values: readonly unknown[]): OracleRow[] {
    const at = cols.map((c) => this.column(table, c));
    const found = this.table(table).rows.filter((r) => at.every((p, i) => r[p] !== null && same(r[p], values[i])));
    this.touch(found.length);
    return found;
  }

  /** A hop's lookup from `row` of `fromTable`: nothing when a `from` cell is null. */
  private lookup(l: PlanLookup, fromTable: string, row: OracleRow): OracleRow[] {
    if (!this.served(l.table, l.cols)) throw new BadRequestError(`oracle: no index of ${l.table} serves (${l.cols.join(", ")})`);
    const values = l.from.map((c) => row[this.column(fromTable, c)]);
    if (values.some((v) => v === null || v === undefined)) return [];
    return this.find(l.table, l.cols, values);
  }

  private startRows(): OracleRow[] {
    const { table, filters } = this.plan.start;
    const tests = filters.map((f) => this.test(table, f));
    if (filters.some((f) => f.op === "=" && this.value(f.value) === null)) return [];
    const equal = new Map<string, unknown>();
    for (const f of filters) if (f.op === "=" && !equal.has(f.col)) equal.set(f.col, this.value(f.value));
    const t = this.table(table);
    const fixed = (cols: readonly string[]) => {
      const prefix: string[] = [];
      for (const c of cols) {
        if (!equal.has(c)) break;
        prefix.push(c);
      }
      return prefix;
    };
    const keyCols = t.columns.slice(0, t.keyCount);
    let cols: string[];
    if (keyCols.every((c) => equal.has(c))) cols = keyCols;
    else cols = [t.columns, ...t.indexes].map(fixed).reduce((best, p) => (p.length > best.length ? p : best), []);
    let rows: OracleRow[];
    if (cols.length > 0) rows = this.find(table, cols, cols.map((c) => equal.get(c)));
    else {
      rows = [...t.rows];
      this.touch(rows.length);
    }
    return this.byKey(table, rows.filter((r) => this.passes(r, tests)));
  }

  private byKey(table: string, rows: OracleRow[]): OracleRow[] {
    return [...rows].sort((a, b) => order(this.key(table, a), this.key(table, b)));
  }

  /** Every (relation row, row) one hop reaches from `row`, in canonical order; `both` lists a relationship to a row once. */
  neighbors(hop: PlanHop, row: OracleRow): Neighbor[] {
    const found: Neighbor[] = [];
    for (const alt of hop.alts) {
      const [first, second] = alt.lookups;
      const relTable = alt.relAt === 0 ? hop.source : first!.table;
      for (const mid of this.lookup(first!, hop.source, row)) {
        const relRow = alt.relAt === 0 ? row : mid;
        const ends = second === undefined ? [mid] : this.lookup(second, first!.table, mid);
        for (const end of ends) {
          const n = { relation: alt.relation, relKey: this.key(relTable, relRow), row: end };
          const twin = found.some((f) => f.relation === n.relation && order(f.relKey, n.relKey) === 0 && this.sameRow(hop.target, f.row, end));
          if (!twin) found.push(n);
        }
      }
    }
    return found.sort((a, b) => order(a.relKey, b.relKey) || order(this.key(hop.target, a.row), this.key(hop.target, b.row)));
  }

  private sameRow(table: string, a: OracleRow, b: OracleRow): boolean {
    return order(this.key(table, a), this.key(table, b)) === 0;
  }

  // --- running --------------------------------------------------------------------------------

  run(): unknown {
    const plan = this.plan;
    const offset = this.count(plan.offset, "offset", 0);
    const limit = this.count(plan.limit, "limit", Infinity);
    // Bind every filter first: a missing parameter fails before any row is read.
    let table = plan.start.table;
    const steps = plan.steps.map((s) => {
      if (s.kind === "hop") {
        if (s.source !== table) throw new BadRequestError(`oracle: hop ${s.rel} starts at ${s.source}, the traversal is at ${table}`);
        table = s.target;
        return { hop: s };
      }
      if (s.kind === "where") return { where: this.test(table, s.filter) };
      return { alias: s.alias };
    });
    const result = plan.result;
    if (result.kind === "shortest") {
      const to = result.to.map((f) => this.test(table, f));
      return this.shortest(this.startRows(), steps[0]!.hop!, to);
    }
    if (result.kind === "rows" && result.distinct) {
      let rows = this.startRows();
      let at = plan.start.table;
      for (const s of steps) {
        if (s.where) rows = rows.filter((r) => this.passes(r, [s.where]));
        if (s.hop) {
          rows = this.expandSet(s.hop, rows);
          at = s.hop.target;
        }
      }
      // Array.prototype.sort is stable: `orderBy` ties keep key order.
      const sorted = this.byKey(at, rows).sort(this.byColumns(at, result.orderBy));
      const page = sorted.slice(offset, offset + limit);
      return result.count ? page.length : this.project(at, page, result.select);
    }
    const orderBy = result.kind === "rows" ? result.orderBy : [];
    const walk = new TrailWalk(this, steps, orderBy.length === 0 ? offset + limit : Infinity);
    for (const row of this.startRows()) walk.start(plan.start.table, row);
    let trails = walk.trails;
    if (orderBy.length > 0) {
      // Stable: `orderBy` ties keep canonical order.
      const byEnd = this.byColumns(table, orderBy);
      trails = [...trails].sort((a, b) => byEnd(a.end, b.end));
    }
    const page = trails.slice(offset, offset + limit);
    if (result.count) return page.length;
    if (result.kind === "paths") return page.map((t) => t.path.map((n) => [n.table, n.row]));
    if (result.kind === "return") return page.map((t) => result.fields.map(([, alias]) => t.bindings[alias]));
    return this.project(table, page.map((t) => t.end), result.select);
  }

  /** Compares rows of `table` by the `orderBy` columns (0 on a tie). */
  private byColumns(table: string, keys: readonly OrderKey[]): (a: OracleRow, b: OracleRow) => number {
    const at = keys.map((k) => ({ pos: this.column(table, k.col), desc: k.desc }));
    return (a, b) => {
      for (const k of at) {
        const c = order(a[k.pos], b[k.pos]);
        if (c !== 0) return k.desc ? -c : c;
      }
      return 0;
    };
  }

  private project(table: string, rows: OracleRow[], select: readonly string[] | null): unknown[] {
    if (select === null) return rows;
    const at = select.map((c) => this.column(table, c));
    return rows.map((r) => at.map((p) => r[p]));
  }

  /** Adds to `set` the rows of `rows` it lacks (by key); returns those it added. */
  private addNew(table: string, set: OracleRow[], rows: readonly OracleRow[]): OracleRow[] {
    const added: OracleRow[] = [];
    for (const r of rows) {
      if (set.some((s) => this.sameRow(table, s, r))) continue;
      set.push(r);
      added.push(r);
    }
    return added;
  }

  /** A hop over a set: `min` exact levels, then breadth-first with a visited set up to `max`. */
  private expandSet(hop: PlanHop, rows: OracleRow[]): OracleRow[] {
    let level = rows;
    for (let d = 0; d < hop.min; d++) {
      const next: OracleRow[] = [];
      for (const r of level) this.addNew(hop.target, next, this.neighbors(hop, r).map((s) => s.row));
      level = next;
    }
    const reached = [...level];
    let frontier = level;
    for (let d = hop.min; d < hop.max; d++) {
      const next: OracleRow[] = [];
      for (const r of frontier) next.push(...this.addNew(hop.target, reached, this.neighbors(hop, r).map((s) => s.row)));
      frontier = next;
    }
    return reached;
  }

  private shortest(start: OracleRow[], hop: PlanHop, to: readonly Test[]): unknown {
    const table = hop.target;
    // Each reached row with the path that reached it first (breadth-first, canonical order).
    const reached: { row: OracleRow; path: OracleRow[] }[] = [];
    let frontier: { row: OracleRow; path: OracleRow[] }[] = [];
    const answer = (path: OracleRow[]) => path.map((r) => [table, r]);
    for (const row of start) {
      if (reached.some((x) => this.sameRow(table, x.row, row))) continue;
      const entry = { row, path: [row] };
      reached.push(entry);
      if (hop.min === 0 && this.passes(row, to)) return answer(entry.path);
      frontier.push(entry);
    }
    for (let depth = 1; depth <= hop.max; depth++) {
      const next: typeof frontier = [];
      for (const f of frontier) {
        for (const s of this.neighbors(hop, f.row)) {
          if (reached.some((x) => this.sameRow(table, x.row, s.row))) continue;
          const entry = { row: s.row, path: [...f.path, s.row] };
          reached.push(entry);
          if (depth >= hop.min && this.passes(s.row, to)) return answer(entry.path);
          next.push(entry);
        }
      }
      frontier = next;
    }
    return null;
  }

}

interface Trail {
  readonly end: OracleRow;
  readonly path: { table: string; row: OracleRow }[];
  readonly bindings: Record<string, OracleRow>;
  /** `[start key, hop 1, hop 2, …]`, a hop being the `[relation-row key, row key]` pairs it took. */
  readonly canonical: unknown[];
}

type BoundStep = { hop?: PlanHop; where?: Test; alias?: string };

/**
 * Depth-first trail enumeration. Stops once `wanted` trails are out: a walk checks before it
 * continues a trail and before it takes each neighbor, but a row whose trail was continued looks
 * its neighbors up anyway (they count), as the route's own walk does.
 */
class TrailWalk {
  readonly trails: Trail[] = [];

  constructor(
    private readonly run: Interpreter,
    private readonly steps: readonly BoundStep[],
    private readonly wanted: number,
  ) {}

  private full(): boolean {
    return this.trails.length >= this.wanted;
  }

  start(table: string, row: OracleRow): void {
    if (this.full()) return;
    this.next(0, table, row, { end: row, path: [{ table, row }], bindings: {}, canonical: [this.run.key(table, row)] }, []);
  }

  /** Continues `trail` (now at `row` of `table`) at step `i`; `used` = the relationships it took. */
  private next(i: number, table: string, row: OracleRow, trail: Trail, used: string[]): void {
    if (this.full()) return;
    const s = this.steps[i];
    if (s === undefined) return this.emit({ ...trail, end: row });
    if (s.where) {
      if (this.run.passes(row, [s.where])) this.next(i + 1, table, row, trail, used);
    } else if (s.alias !== undefined) {
      this.next(i + 1, table, row, { ...trail, bindings: { ...trail.bindings, [s.alias]: row } }, used);
    } else this.hop(i, s.hop!, 0, row, { ...trail, canonical: [...trail.canonical, []] }, used);
  }

  /** `depth` hops into hop step `i`, at `row`. */
  private hop(i: number, hop: PlanHop, depth: number, row: OracleRow, trail: Trail, used: string[]): void {
    if (this.full()) return;
    if (depth >= hop.min) this.next(i + 1, hop.target, row, trail, used);
    if (depth >= hop.max) return;
    for (const s of this.run.neighbors(hop, row)) {
      if (this.full()) return;
      const id = JSON.stringify([s.relation, s.relKey]);
      if (used.includes(id)) continue;
      const pairs = [...(trail.canonical[trail.canonical.length - 1] as unknown[]), [s.relKey, this.run.key(hop.target, s.row)]];
      const canonical = [...trail.canonical.slice(0, -1), pairs];
      this.hop(i, hop, depth + 1, s.row, { ...trail, path: [...trail.path, { table: hop.target, row: s.row }], canonical }, [...used, id]);
    }
  }

  /** Keeps a finished trail; the walk must produce them in strictly increasing canonical order. */
  private emit(trail: Trail): void {
    const last = this.trails[this.trails.length - 1];
    if (last !== undefined && order(last.canonical, trail.canonical) >= 0) {
      throw new Error(`oracle: trails out of canonical order: ${JSON.stringify(last.canonical)} then ${JSON.stringify(trail.canonical)}`);
    }
    this.trails.push(trail);
  }
}
