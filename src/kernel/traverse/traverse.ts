/**
 * The `traverse` kernel extension: runs a whole compiled graph traversal (a `TraversePlan`) inside
 * the current transaction, set-at-a-time, against the namespace's tables.
 *
 * Route (an extension, listed in the README with its core lowering):
 *   `GET /state/<ns>/<start table>/traverse` with key `[plan_json, {param: value, …}]`
 * where `plan_json` is the plan as a JSON string (static per query, so it is parsed and validated
 * once and cached) and the map binds the plan's parameters.
 *
 * Semantics (the same text is in src/graph/README.md):
 * - `distinct` results: every hop maps a *set* of rows to a set of rows; a variable-length hop
 *   `[min, max]` takes `min` exact steps (one deduplicated set per level), then a breadth-first
 *   search with a visited set for the remaining `max - min` levels. Never path enumeration.
 * - every other result (rows, paths, return, count of those): one result per *trail* (a path in
 *   which no relationship — one relation's row: an edge-table row, or the row holding a foreign
 *   key — is used twice; both directions of a relation are the same relationship), enumerated
 *   depth-first in canonical order.
 * - canonical order (without `orderBy`): distinct results by the endpoint's key; trail results
 *   by `[start key, hop 1, hop 2, …]` where each hop is the list of `[relation-row key, row key]`
 *   pairs it took, compared lexicographically (a list before its extensions).
 * - every row a lookup returns counts against the visit budget; exceeding it throws
 *   `VisitBudgetError` (nothing is written by a traversal, and the transaction is rolled back).
 *
 * This module depends on nothing but the error family: the graph layer imports the plan types
 * from here (they are this route's wire contract), the kernel hands it a `TraverseStore`.
 */
import { z } from "zod";
import { BadRequestError, MethodNotAllowedError, NotFoundError, TcError, VisitBudgetError } from "../../errors.js";
import {
  parsePlan,
  type CmpOp,
  type PlanFilter,
  type PlanHop,
  type PlanLookup,
  type PlanResult,
  type PlanValue,
  type TraversePlan,
} from "../../ir/traverse-plan.js";
import type { Table } from "../storage/table-engine.js";
import { EncodedJson } from "../ops/encoded-json.js";
import { compareStrings, type KeyCell } from "../storage/index-keys.js";
import type { LinkIndex } from "../storage/derived/link-index.js";
import type { Row } from "../storage/table-schema.js";
import type { KeySlots } from "../storage/derived/key-slots.js";
import { sortSlotsInto } from "./slot-sort.js";
import { normCell, type PreparedLookup, type TraverseRow, type TraverseStore, type TraverseTableShape } from "./store.js";
export type { PreparedLookup, TraverseRow, TraverseStore, TraverseTableShape } from "./store.js";
import { SlotExpander, bindSlotHop, NO_CODE, type SlotAccess, type SlotCodeTest, type SlotHop } from "./slot-hops.js";


// ---------------------------------------------------------------------------------------------
// Value helpers shared with the graph layer and the tests.

function typeRank(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === "boolean") return 1;
  if (typeof v === "number") return 2;
  if (typeof v === "string") return 3;
  if (Array.isArray(v)) return 5;
  return 4; // links and other objects: compared by their JSON text
}

/**
 * The total order used for keys and `orderBy`: none < bool < number < string < link < tuple;
 * strings and links by code point (the table engine's order); tuples lexicographically (a prefix
 * first).
 */
export function compareValues(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return 0;
    case 1:
    case 2:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 3:
      // By code point, as the table engine orders keys (JS `<` compares UTF-16 units).
      return Math.sign(compareStrings(a as string, b as string));
    case 5: {
      const x = a as readonly unknown[];
      const y = b as readonly unknown[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    default: {
      return Math.sign(compareStrings(linkText(a), linkText(b)));
    }
  }
}

function linkText(v: unknown): string {
  const href = (v as { href?: unknown }).href;
  return typeof href === "string" ? href : JSON.stringify(v);
}

function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") {
    if (typeof a === "string" && b !== null && typeof b === "object") return a === linkText(b);
    if (typeof b === "string" && a !== null && typeof a === "object") return b === linkText(a);
    return false;
  }
  return compareValues(a, b) === 0;
}

/**
 * `col op value` as the traversal evaluates it: any comparison involving `null` is false;
 * ordering comparisons need both sides of the same type (numbers, strings or booleans);
 * `in` takes a tuple and matches when one element is `=`.
 */
export function matchesOp(cell: unknown, op: CmpOp, value: unknown): boolean {
  if (cell === null || cell === undefined) return false;
  switch (op) {
    case "=":
      return value !== null && valuesEqual(cell, value);
    case "!=":
      return value !== null && !valuesEqual(cell, value);
    case "in":
      return Array.isArray(value) && value.some((v) => v !== null && valuesEqual(cell, v));
    default: {
      if (value === null || typeof cell !== typeof value || typeof cell === "object") return false;
      const c = compareValues(cell, value);
      return op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : c >= 0;
    }
  }
}

/**
 * `matchesOp(cell, op, value)` as a one-argument test, specialized once per filter: equality with
 * a number, string or boolean is a strict comparison (a link cell, an object, still goes through
 * `matchesOp`, which compares a link by its href).
 */
export function cellTest(op: CmpOp, value: unknown): (cell: unknown) => boolean {
  if (op === "=" && value !== null && typeof value !== "object") {
    return (cell) => cell === value || (typeof cell === "object" && cell !== null && matchesOp(cell, op, value));
  }
  return (cell) => matchesOp(cell, op, value);
}

// ---------------------------------------------------------------------------------------------
// Execution.

const planCache = new Map<string, TraversePlan>();
const PLAN_CACHE_LIMIT = 512;

/** Parses a plan text once (a bounded cache keyed by the text). */
export function cachedPlan(text: unknown): TraversePlan {
  if (typeof text === "string") {
    const hit = planCache.get(text);
    if (hit) return hit;
  }
  const plan = parsePlan(text);
  if (planCache.size >= PLAN_CACHE_LIMIT) planCache.delete(planCache.keys().next().value as string);
  planCache.set(text as string, plan);
  return plan;
}

/**
 * The route handler: `key` is `[plan_json, params]` (params a plain record, already resolved).
 * Returns plain JSON-able data: rows are tuples; see `runPlan`.
 */
export function traverseRoute(store: TraverseStore, startTable: string, key: unknown, params: Readonly<Record<string, unknown>>): unknown {
  if (!Array.isArray(key) || key.length !== 2) {
    throw new BadRequestError("traverse: the key is [plan_json, {params}]");
  }
  const plan = cachedPlan(key[0]);
  if (plan.start.table !== startTable) {
    throw new BadRequestError(`traverse: the plan starts at ${plan.start.table}, but the route is on ${startTable}`);
  }
  return runPlan(store, plan, params);
}

interface Node {
  readonly table: string;
  readonly row: TraverseRow;
}

/** A compiled lookup: column positions resolved against the live table shapes. */
interface BoundLookup {
  readonly table: string;
  readonly shape: TraverseTableShape;
  readonly fromPos: readonly number[];
  readonly run: PreparedLookup;
  /** Reused argument tuple (lookups never re-enter while their values are read). */
  readonly values: unknown[];
}
interface BoundAlt {
  readonly lookups: readonly BoundLookup[];
  readonly relAt: 0 | 1;
  readonly relation: string;
  /** The table holding the relation row. */
  readonly relTable: string;
  readonly relShape: TraverseTableShape;
  /**
   * The first lookup reads only the source row's one-column key, so a set expansion can pass
   * the row's id (`keyId`, the key cell itself for a number or string) instead of reading the row.
   */
  readonly fromKey: boolean;
  /**
   * An edge-table alternative whose second lookup is a point lookup on the target's one-column
   * key: a returned row's id is the lookup value, so a set expansion can skip the lookup when
   * the id is already in the set (the row is known to exist; it still counts as touched).
   */
  readonly toKey: boolean;
}
interface BoundHop {
  readonly hop: PlanHop;
  readonly alts: readonly BoundAlt[];
  readonly targetShape: TraverseTableShape;
  /** Scratch buffers for set expansion (never used re-entrantly). */
  readonly buf1: TraverseRow[];
  readonly buf2: TraverseRow[];
  /** Canonical order of neighbors: relation-row key, then target key. */
  readonly order: (a: Neighbor, b: Neighbor) => number;
}
interface BoundFilter {
  readonly pos: number;
  readonly op: CmpOp;
  readonly value: unknown;
}
type BoundStep = { kind: "hop"; hop: BoundHop } | { kind: "where"; filter: BoundFilter } | { kind: "as"; alias: string };

interface Neighbor {
  readonly rel: TraverseRow;
  readonly relKeys: number;
  readonly relId: string;
  readonly node: TraverseRow;
  readonly nodeId: unknown;
}

/**
 * A stable identity for a row's key, usable as a Map key: the cell itself for a one-column
 * number or string key (Map tells 1 from "1"), else the key's JSON text.
 */
function keyId(row: TraverseRow, keyCount: number): unknown {
  if (keyCount === 1) {
    const k = row[0];
    if (typeof k === "number" || typeof k === "string") return k;
  }
  // Composite keys of numbers and plain strings: a tagged join (cheaper than JSON); else JSON.
  let id = "\u0000";
  for (let i = 0; i < keyCount; i++) {
    const c = row[i];
    if (typeof c === "number") id += c + "\u0001";
    else if (typeof c === "string" && !/[\u0000-\u0003]/.test(c)) id += "\u0002" + c + "\u0001";
    else return "\u0003" + JSON.stringify(row.slice(0, keyCount));
  }
  return id;
}

/** Compares two rows by their first `n` cells. */
function compareKeys(a: TraverseRow, b: TraverseRow, n: number): number {
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * Runs a plan. Results:
 * - rows: a tuple of row tuples (all columns, or the selected ones in `select` order);
 * - paths: a tuple of paths, each a tuple of `[table, row]` pairs from start to end;
 * - return: a tuple of tuples, one row per returned alias in `fields` order;
 * - count: a number; shortest: one path or `null`.
 */
export function runPlan(store: TraverseStore, plan: TraversePlan, params: Readonly<Record<string, unknown>>): unknown {
  return new Run(store, plan, params).run();
}

/** The state of one depth-first trail enumeration. */
interface TrailState {
  readonly steps: readonly BoundStep[];
  readonly stopAt: number;
  readonly skip: number;
  /** False when only the number of trails is needed. */
  readonly store: boolean;
  produced: number;
  readonly collected: unknown[];
  readonly endRows: TraverseRow[];
  readonly trail: Set<string>;
  readonly path: Node[];
  readonly bindings: Map<string, TraverseRow>;
  readonly returnFields: readonly (readonly [string, string])[] | null;
  readonly wantPaths: boolean;
}

/** How the start rows are found: static per plan (only the filter values change per run). */
interface StartAccess {
  /** Equality columns served by the key or an index prefix, or `null` for a scan. */
  readonly cols: readonly string[] | null;
  readonly positions: readonly number[];
  readonly run: PreparedLookup | undefined;
  /** For each of `positions`, the index (in the plan's start filters) of its first `=` filter. */
  readonly filterIndex: readonly number[];
  /** True when `cols` is the table's one-column key (the start is then one key slot). */
  readonly oneKey: boolean;
  /** Scratch argument tuple for `run` (a lookup copies what it reads and never re-enters). */
  readonly values: unknown[];
}

/**
 * A plan's binding against a store's tables, reused across runs while the tables are the same
 * (see `TraverseStore.identity`): shapes, positions, bound hops and the start access path.
 */
interface Binding {
  readonly tables: readonly string[];
  readonly tokens: readonly object[];
  readonly shapes: Map<string, TraverseTableShape>;
  readonly positions: Map<string, Map<string, number>>;
  readonly hops: Map<PlanHop, BoundHop>;
  /** Hops bound to slot spaces (`null`: this hop has no slot form). */
  readonly slotHops: Map<PlanHop, SlotHop | null>;
  start: StartAccess | undefined;
}

const BINDINGS = new WeakMap<TraversePlan, Binding>();

/** Every table a plan reads. */
function planTables(plan: TraversePlan): string[] {
  const tables = new Set<string>([plan.start.table]);
  for (const s of plan.steps) {
    if (s.kind !== "hop") continue;
    tables.add(s.source);
    tables.add(s.target);
    for (const a of s.alts) for (const l of a.lookups) tables.add(l.table);
  }
  return [...tables];
}

function freshBinding(tables: readonly string[], tokens: readonly object[]): Binding {
  return { tables, tokens, shapes: new Map(), positions: new Map(), hops: new Map(), slotHops: new Map(), start: undefined };
}

/** The plan's cached binding when the store's tables are unchanged; a fresh one otherwise. */
function bindingFor(store: TraverseStore, plan: TraversePlan): Binding {
  if (store.identity === undefined) return freshBinding([], []);
  const cached = BINDINGS.get(plan);
  if (cached !== undefined) {
    let same = true;
    for (let i = 0; i < cached.tables.length && same; i++) same = store.identity(cached.tables[i]!) === cached.tokens[i];
    if (same) return cached;
  }
  const tables = planTables(plan);
  const tokens: object[] = [];
  for (const t of tables) tokens.push(store.identity(t));
  const binding = freshBinding(tables, tokens);
  BINDINGS.set(plan, binding);
  return binding;
}

class Run {
  private touched = 0;
  private readonly binding: Binding;
  private readonly shapes: Map<string, TraverseTableShape>;
  private readonly positions: Map<string, Map<string, number>>;

  constructor(
    private readonly store: TraverseStore,
    private readonly plan: TraversePlan,
    private readonly params: Readonly<Record<string, unknown>>,
  ) {
    this.binding = bindingFor(store, plan);
    this.shapes = this.binding.shapes;
    this.positions = this.binding.positions;
  }

  private shape(table: string): TraverseTableShape {
    let s = this.shapes.get(table);
    if (!s) {
      s = this.store.shape(table);
      this.shapes.set(table, s);
      this.positions.set(table, new Map(s.columns.map((c, i) => [c, i])));
    }
    return s;
  }

  private pos(table: string, col: string): number {
    this.shape(table);
    const p = this.positions.get(table)!.get(col);
    if (p === undefined) {
      throw new BadRequestError(`traverse: table ${table} has no column ${col} (columns: ${this.shape(table).columns.join(", ")})`);
    }
    return p;
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

  private count(n: number): void {
    this.touched += n;
    if (this.touched > this.plan.budget) throw new VisitBudgetError(this.plan.budget);
  }

  private bindFilter(table: string, f: PlanFilter): BoundFilter {
    const value = this.value(f.value);
    if (f.op === "in" && !Array.isArray(value)) {
      throw new BadRequestError(`traverse: ${table}.${f.col} in … needs a tuple of values`);
    }
    return { pos: this.pos(table, f.col), op: f.op, value };
  }

  private bindLookup(l: PlanLookup, fromTable: string): BoundLookup {
    const shape = this.shape(l.table);
    for (const c of l.cols) this.pos(l.table, c);
    const fromPos = l.from.map((c) => this.pos(fromTable, c));
    return { table: l.table, shape, fromPos, run: this.store.prepare(l.table, l.cols), values: new Array(fromPos.length) };
  }

  private bindHop(hop: PlanHop): BoundHop {
    let bound = this.binding.hops.get(hop);
    if (bound === undefined) {
      bound = this.bindHopNow(hop);
      this.binding.hops.set(hop, bound);
    }
    return bound;
  }

  private bindHopNow(hop: PlanHop): BoundHop {
    const alts = hop.alts.map((alt): BoundAlt => {
      const first = this.bindLookup(alt.lookups[0]!, hop.source);
      const lookups = alt.lookups.length === 2 ? [first, this.bindLookup(alt.lookups[1]!, first.table)] : [first];
      const last = lookups[lookups.length - 1]!;
      if (last.table !== hop.target) throw new BadRequestError(`traverse: hop ${hop.rel} does not end in ${hop.target}`);
      const relTable = alt.relAt === 0 ? hop.source : first.table;
      const sourceShape = this.shape(hop.source);
      const targetShape = this.shape(hop.target);
      const fromKey = sourceShape.keyCount === 1 && first.fromPos.length === 1 && first.fromPos[0] === 0;
      const l2 = alt.lookups[1];
      const toKey =
        l2 !== undefined && targetShape.keyCount === 1 && l2.cols.length === 1 && l2.cols[0] === targetShape.columns[0];
      return { lookups, relAt: alt.relAt, relation: alt.relation, relTable, relShape: this.shape(relTable), fromKey, toKey };
    });
    const targetKeys = this.shape(hop.target).keyCount;
    const order = (a: Neighbor, b: Neighbor): number => compareKeys(a.rel, b.rel, a.relKeys) || compareKeys(a.node, b.node, targetKeys);
    return { hop, alts, targetShape: this.shape(hop.target), buf1: [], buf2: [], order };
  }

  /** Runs a lookup with the values of `row` at the lookup's `from` columns, appending to `out`. */
  private lookup(l: BoundLookup, row: TraverseRow, out: TraverseRow[]): void {
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
  private lookupValue(l: BoundLookup, v: unknown, out: TraverseRow[]): void {
    const values = l.values;
    values[0] = v;
    const before = out.length;
    l.run(values, out);
    this.touched += out.length - before;
    if (this.touched > this.plan.budget) throw new VisitBudgetError(this.plan.budget);
  }

  /** Appends to `out` every row one hop reaches from `row` (duplicates possible; set use only). */
  private targets(bh: BoundHop, row: TraverseRow, out: TraverseRow[]): void {
    for (const alt of bh.alts) {
      if (alt.lookups.length === 1) {
        this.lookup(alt.lookups[0]!, row, out);
        continue;
      }
      const edges = bh.buf1;
      edges.length = 0;
      this.lookup(alt.lookups[0]!, row, edges);
      const l2 = alt.lookups[1]!;
      for (let i = 0; i < edges.length; i++) this.lookup(l2, edges[i]!, out);
    }
  }

  /** The (relation row, target row) pairs one hop reaches from `row`. */
  private neighbors(bh: BoundHop, row: TraverseRow, sorted: boolean): Neighbor[] {
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

  private startRows(filters: readonly BoundFilter[], table: string): TraverseRow[] {
    const shape = this.shape(table);
    if (equalsNull(filters)) return [];
    const access = this.startAccessOf(filters, table);
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

  /** How the start rows are found; it depends only on which columns have equality filters (static per plan). */
  private startAccessOf(filters: readonly BoundFilter[], table: string): StartAccess {
    let access = this.binding.start;
    if (access === undefined) {
      const eq = new Map<number, number>();
      filters.forEach((f, i) => {
        if (f.op === "=" && !eq.has(f.pos)) eq.set(f.pos, i);
      });
      access = this.startAccess(this.shape(table), table, eq);
      this.binding.start = access;
    }
    return access;
  }

  /** The key (a point lookup), else the longest equality prefix of an index, else a scan. */
  private startAccess(shape: TraverseTableShape, table: string, eq: ReadonlyMap<number, number>): StartAccess {
    const access = (cols: string[] | null, positions: number[]): StartAccess => ({
      cols,
      positions,
      run: cols === null ? undefined : this.store.prepare(table, cols),
      filterIndex: positions.map((p) => eq.get(p)!),
      oneKey: cols !== null && shape.keyCount === 1 && positions.length === 1 && positions[0] === 0,
      values: new Array(positions.length),
    });
    const keyPositions = Array.from({ length: shape.keyCount }, (_, i) => i);
    if (keyPositions.every((p) => eq.has(p))) return access(shape.columns.slice(0, shape.keyCount), keyPositions);
    // The longest equality prefix of an index (the primary index is key ++ values).
    let best: string[] = [];
    for (const cols of [shape.columns, ...shape.indexes]) {
      const prefix: string[] = [];
      for (const c of cols) {
        if (!eq.has(this.pos(table, c))) break;
        prefix.push(c);
      }
      if (prefix.length > best.length) best = prefix;
    }
    if (best.length === 0) return access(null, []);
    return access(best, best.map((c) => this.pos(table, c)));
  }

  private window(): { offset: number; limit: number } {
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

  run(): unknown {
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
        steps.push({ kind: "hop", hop: this.bindHop(s) });
      } else if (s.kind === "where") steps.push({ kind: "where", filter: this.bindFilter(table, s.filter) });
      else steps.push({ kind: "as", alias: s.alias });
    }
    const endShape = this.shape(table);
    const { offset, limit } = this.window();
    const result = plan.result;

    if (result.kind === "shortest") {
      const to = result.to.map((f) => this.bindFilter(table, f));
      return this.shortest(this.startRows(startFilters, startTable), (steps[0] as { hop: BoundHop }).hop, to);
    }
    if (result.kind === "rows" && result.distinct) {
      return this.distinct(startFilters, startTable, steps, table, endShape, result, offset, limit);
    }
    return this.trails(this.startRows(startFilters, startTable), startTable, steps, table, endShape, offset, limit);
  }

  // --- distinct: set-at-a-time ----------------------------------------------------------------

  private distinct(
    startFilters: readonly BoundFilter[],
    startTable: string,
    steps: readonly BoundStep[],
    table: string,
    shape: TraverseTableShape,
    result: Extract<PlanResult, { kind: "rows" }>,
    offset: number,
    limit: number,
  ): unknown {
    const countOnly = result.count && result.orderBy.length === 0;
    const reached = this.slotDistinct(startFilters, startTable, steps, countOnly);
    if (reached !== undefined) {
      if (countOnly) return windowCount(reached.count, offset, limit);
      if (result.orderBy.length === 0 && shape.keyCount === 1) {
        const page = pageSlotsByNumericKey(reached.slots, reached.space, offset, limit);
        if (page !== undefined) {
          const tuples = tuplesAt(reached.space, page, this.cellPositions(table, shape, result.select), reached.fixed);
          // Fresh tuples of primitives are JSON already: the kernel need not copy them again.
          return shape.plainCells === true ? new EncodedJson(tuples) : tuples;
        }
      }
      const rows = reached.space.rows;
      const viaSlots = new Array<TraverseRow>(reached.slots.length);
      for (let i = 0; i < viaSlots.length; i++) viaSlots[i] = rows[reached.slots[i]!]!;
      if (result.orderBy.length > 0 || shape.keyCount !== 1 || !sortByNumericKey(viaSlots)) {
        sortRows(viaSlots, shape, result.orderBy.map((o) => ({ pos: this.pos(table, o.col), desc: o.desc })));
      }
      const page = viaSlots.slice(offset, offset + limit);
      if (result.count) return page.length;
      return this.project(page, table, result.select);
    }
    let current = new Map<unknown, TraverseRow>();
    const startKeys = this.shape(startTable).keyCount;
    for (const r of this.startRows(startFilters, startTable)) current.set(keyId(r, startKeys), r);
    for (const step of steps) {
      if (step.kind === "where") {
        const f = step.filter;
        for (const [id, r] of current) if (!matchesOp(r[f.pos], f.op, f.value)) current.delete(id);
      } else if (step.kind === "hop") {
        current = this.expandSet(current, step.hop);
      }
      if (current.size === 0) break;
    }
    if (result.count && result.orderBy.length === 0) return windowCount(current.size, offset, limit);
    let rows: TraverseRow[];
    if (result.orderBy.length === 0 && shape.keyCount === 1 && (rows = byNumericId(current)).length === current.size) {
      // Sorted by a numeric one-column key already (the ids are the key cells).
    } else {
      rows = [...current.values()];
      sortRows(rows, shape, result.orderBy.map((o) => ({ pos: this.pos(table, o.col), desc: o.desc })));
    }
    const page = rows.slice(offset, offset + limit);
    if (result.count) return page.length;
    return this.project(page, table, result.select);
  }

  /**
   * The distinct traversal in slot space (traverse-slots.ts) when the store offers it and every
   * hop has a slot form: the end slots (unordered), how many, and the rows they index; else
   * `undefined` (the lookup path runs). With `countOnly`, a last hop only counts its targets
   * (`slots` is then empty; the rows touched are the same). `fixed` holds the cells that an
   * equality filter on a coded column of the end table pinned for every end slot.
   */
  private slotDistinct(
    startFilters: readonly BoundFilter[],
    startTable: string,
    steps: readonly BoundStep[],
    countOnly: boolean,
  ): { slots: readonly number[]; count: number; space: KeySlots; fixed: FixedCells | undefined } | undefined {
    const store = this.store;
    if (store.keySlots === undefined || store.linkIndex === undefined) return undefined;
    let slots = store.keySlots(startTable);
    if (slots === undefined) return undefined;
    const hops: SlotHop[] = [];
    for (const step of steps) {
      if (step.kind !== "hop") continue;
      const sh = this.slotHop(step.hop.hop, store as SlotAccess);
      if (sh === null) return undefined;
      hops.push(sh);
    }
    let current = this.startSlot(startFilters, startTable, slots);
    if (current === undefined) {
      current = [];
      for (const r of this.startRows(startFilters, startTable)) {
        const s = slots.slotOf(normCell(r[0]));
        if (s !== undefined) current.push(s);
      }
    }
    // The end table's slot space, also when the set empties on an earlier table.
    const endSpace = hops.length > 0 ? hops[hops.length - 1]!.target : slots;
    const expander = new SlotExpander(this.touched, this.plan.budget, (budget) => new VisitBudgetError(budget));
    let fixed: FixedCells | undefined;
    let h = 0;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      if (step.kind === "where") {
        fixed = pinned(fixed, step.filter.pos, filterSlots(current, slots, step.filter));
      } else if (step.kind === "hop") {
        const sh = hops[h++]!;
        // An equality on a coded column right after a one-level disjoint hop is tested as the
        // hop lists its targets (its `where` step is then done).
        const next = steps[i + 1];
        const fused = next?.kind === "where" && sh.disjoint && sh.hop.min === 1 && sh.hop.max === 1 ? next.filter : undefined;
        const keep = fused !== undefined ? codedEquality(sh.target, fused) : undefined;
        // The last step, when only the count is wanted: count the targets, collect nothing.
        const last = i + (keep !== undefined ? 1 : 0) === steps.length - 1;
        if (countOnly && last) {
          const count = keep !== undefined ? expander.countDisjoint(sh, current, keep) : expander.expandCount(current, sh);
          this.touched = expander.touched;
          return { slots: [], count, space: sh.target, fixed: undefined };
        }
        // A new table: the filters so far pinned cells of another.
        fixed = undefined;
        if (keep !== undefined) {
          current = expander.expandDisjoint(sh, current, keep);
          fixed = pinned(undefined, fused!.pos, keep);
          i++;
        } else current = expander.expand(current, sh);
        slots = sh.target;
      }
      if (current.length === 0) break;
    }
    this.touched = expander.touched;
    // Pins made on an earlier table than the end (the set emptied there) say nothing of the end.
    return { slots: current, count: current.length, space: endSpace, fixed: slots === endSpace ? fixed : undefined };
  }

  /**
   * The start as slots when it is found by the table's one-column key: the key's slot, read
   * from the slot space (the same row a point lookup finds, counted the same way); `undefined`
   * for any other start (`startRows` finds it).
   */
  private startSlot(filters: readonly BoundFilter[], table: string, slots: KeySlots): number[] | undefined {
    const { oneKey, filterIndex } = this.startAccessOf(filters, table);
    if (!oneKey) return undefined;
    if (equalsNull(filters)) return [];
    const keyFilter = filterIndex[0]!;
    const s = slots.slotOf(normCell(filters[keyFilter]!.value));
    const row = s === undefined ? undefined : slots.rows[s];
    if (row === undefined) return [];
    this.count(1);
    // The key filter holds by construction; the others read the row (the key alone does not).
    for (let i = 0; i < filters.length; i++) {
      const f = filters[i]!;
      if (i !== keyFilter && !matchesOp(row[f.pos], f.op, f.value)) return [];
    }
    return [s!];
  }

  private slotHop(hop: PlanHop, access: SlotAccess): SlotHop | null {
    let sh = this.binding.slotHops.get(hop);
    if (sh === undefined) {
      sh = bindSlotHop(access, hop, (t) => this.shape(t), (t, c) => this.pos(t, c));
      this.binding.slotHops.set(hop, sh);
    }
    return sh;
  }

  /** One hop over a set: `min` exact levels, then BFS with a visited set up to `max`. */
  private expandSet(from: Map<unknown, TraverseRow>, bh: BoundHop): Map<unknown, TraverseRow> {
    const { min, max } = bh.hop;
    let level = from;
    for (let i = 0; i < min && level.size > 0; i++) {
      const next = new Map<unknown, TraverseRow>();
      for (const [id, row] of level) this.expandOne(bh, id, row, next, undefined);
      level = next;
    }
    if (max === min) return level;
    const reached = new Map(level);
    // The frontier as pairs: id, row, id, row, …
    let frontier: unknown[] = [];
    for (const [id, row] of level) frontier.push(id, row);
    for (let i = min; i < max && frontier.length > 0; i++) {
      const next: unknown[] = [];
      for (let k = 0; k < frontier.length; k += 2) this.expandOne(bh, frontier[k], frontier[k + 1] as TraverseRow, reached, next);
      frontier = next;
    }
    return reached;
  }

  /**
   * Adds to `set` (id → row) every row one hop reaches from the row `id`/`row` that `set` lacks,
   * and appends each added id and row to `added` when given. Every row a lookup returns counts
   * as touched — also when a lookup is skipped because its row is already in `set`.
   */
  private expandOne(bh: BoundHop, id: unknown, row: TraverseRow, set: Map<unknown, TraverseRow>, added: unknown[] | undefined): void {
    const kc = bh.targetShape.keyCount;
    // A one-column key's id is the cell itself, except for links (ids tagged "\u0003…").
    const simpleId = typeof id === "number" || (typeof id === "string" && id.charCodeAt(0) !== 3);
    for (const alt of bh.alts) {
      const l1 = alt.lookups[0]!;
      const out = alt.lookups.length === 1 ? bh.buf2 : bh.buf1;
      out.length = 0;
      if (alt.fromKey && simpleId) this.lookupValue(l1, id, out);
      else this.lookup(l1, row, out);
      if (alt.lookups.length === 1) {
        addUnreached(out, kc, set, added);
        continue;
      }
      const l2 = alt.lookups[1]!;
      const found = bh.buf2;
      for (let e = 0; e < out.length; e++) {
        const edge = out[e]!;
        if (alt.toKey) {
          const v = edge[l2.fromPos[0]!];
          if ((typeof v === "number" || (typeof v === "string" && v.charCodeAt(0) !== 3)) && set.has(v)) {
            // Already reached: the point lookup would return that row again.
            this.count(1);
            continue;
          }
        }
        found.length = 0;
        this.lookup(l2, edge, found);
        addUnreached(found, kc, set, added);
      }
    }
  }

  // --- trails: depth-first, canonical order ---------------------------------------------------

  private trails(
    start: TraverseRow[],
    startTable: string,
    steps: readonly BoundStep[],
    table: string,
    shape: TraverseTableShape,
    offset: number,
    limit: number,
  ): unknown {
    const result = this.plan.result as Exclude<PlanResult, { kind: "shortest" }>;
    const orderBy = result.kind === "rows" ? result.orderBy : [];
    const countOnly = result.count;
    // Without orderBy the enumeration order is the result order: stop once the page is full.
    const t: TrailState = {
      steps,
      stopAt: orderBy.length === 0 ? offset + limit : Number.POSITIVE_INFINITY,
      skip: orderBy.length === 0 ? offset : 0,
      store: !(countOnly && orderBy.length === 0),
      produced: 0,
      collected: [],
      endRows: [],
      trail: new Set(),
      path: [],
      bindings: new Map(),
      returnFields: result.kind === "return" ? result.fields : null,
      wantPaths: result.kind === "paths",
    };
    for (const row of start) {
      if (t.produced >= t.stopAt) break;
      t.path.push({ table: startTable, row });
      this.visit(t, 0, row);
      t.path.pop();
    }
    const produced = t.produced;
    const collected = t.collected;
    const endRows = t.endRows;

    if (countOnly && orderBy.length === 0) return windowCount(produced, offset, limit);
    if (result.kind !== "rows") return countOnly ? collected.length : collected.slice(0, limit);
    if (orderBy.length > 0) {
      sortRows(endRows, shape, orderBy.map((o) => ({ pos: this.pos(table, o.col), desc: o.desc })), false);
      const page = endRows.slice(offset, offset + limit);
      return countOnly ? page.length : this.project(page, table, result.select);
    }
    const page = endRows.slice(0, limit);
    return countOnly ? page.length : this.project(page, table, result.select);
  }

  /** Emits the trail that reached `row` at the end of the steps. */
  private emit(t: TrailState, row: TraverseRow): void {
    t.produced++;
    if (!t.store || t.produced <= t.skip) return;
    if (t.returnFields) {
      const binding = new Array<unknown>(t.returnFields.length);
      for (let i = 0; i < binding.length; i++) binding[i] = t.bindings.get(t.returnFields[i]![1]);
      t.collected.push(binding);
    } else if (t.wantPaths) {
      const steps = new Array<unknown>(t.path.length);
      for (let i = 0; i < steps.length; i++) steps[i] = [t.path[i]!.table, t.path[i]!.row];
      t.collected.push(steps);
    } else t.endRows.push(row);
  }

  /** Continues a trail at step `i` from `row`, depth-first. */
  private visit(t: TrailState, i: number, row: TraverseRow): void {
    if (t.produced >= t.stopAt) return;
    if (i === t.steps.length) return this.emit(t, row);
    const step = t.steps[i]!;
    if (step.kind === "where") {
      if (matchesOp(row[step.filter.pos], step.filter.op, step.filter.value)) this.visit(t, i + 1, row);
      return;
    }
    if (step.kind === "as") {
      const prev = t.bindings.get(step.alias);
      t.bindings.set(step.alias, row);
      this.visit(t, i + 1, row);
      if (prev === undefined) t.bindings.delete(step.alias);
      else t.bindings.set(step.alias, prev);
      return;
    }
    this.walk(t, i, step.hop, 0, row);
  }

  /** Takes hop step `i` (`bh`) from `at`, which is `depth` hops into it. */
  private walk(t: TrailState, i: number, bh: BoundHop, depth: number, at: TraverseRow): void {
    if (t.produced >= t.stopAt) return;
    if (depth >= bh.hop.min) this.visit(t, i + 1, at);
    if (depth >= bh.hop.max) return;
    const next = this.neighbors(bh, at, true);
    for (let k = 0; k < next.length; k++) {
      if (t.produced >= t.stopAt) return;
      const n = next[k]!;
      if (t.trail.has(n.relId)) continue;
      t.trail.add(n.relId);
      t.path.push({ table: bh.hop.target, row: n.node });
      this.walk(t, i, bh, depth + 1, n.node);
      t.path.pop();
      t.trail.delete(n.relId);
    }
  }

  // --- shortest path ---------------------------------------------------------------------------

  private shortest(start: TraverseRow[], bh: BoundHop, to: readonly BoundFilter[]): unknown {
    const keyCount = this.shape(bh.hop.source).keyCount;
    const isTarget = (r: TraverseRow): boolean => to.every((f) => matchesOp(r[f.pos], f.op, f.value));
    const parent = new Map<unknown, { row: TraverseRow; prev: unknown }>();
    let frontier: { id: unknown; row: TraverseRow }[] = [];
    for (const r of start) {
      const id = keyId(r, keyCount);
      if (parent.has(id)) continue;
      parent.set(id, { row: r, prev: null });
      if (bh.hop.min === 0 && isTarget(r)) return this.pathTo(parent, id, bh);
      frontier.push({ id, row: r });
    }
    for (let depth = 1; depth <= bh.hop.max && frontier.length > 0; depth++) {
      const next: { id: unknown; row: TraverseRow }[] = [];
      for (const f of frontier) {
        for (const n of this.neighbors(bh, f.row, true)) {
          if (parent.has(n.nodeId)) continue;
          parent.set(n.nodeId, { row: n.node, prev: f.id });
          if (depth >= bh.hop.min && isTarget(n.node)) return this.pathTo(parent, n.nodeId, bh);
          next.push({ id: n.nodeId, row: n.node });
        }
      }
      frontier = next;
    }
    return null;
  }

  private pathTo(parent: Map<unknown, { row: TraverseRow; prev: unknown }>, id: unknown, bh: BoundHop): unknown {
    const out: unknown[] = [];
    let at: unknown = id;
    while (at !== null) {
      const p: { row: TraverseRow; prev: unknown } = parent.get(at)!;
      out.push([bh.hop.target, p.row]);
      at = p.prev;
    }
    return out.reverse();
  }

  /** Row positions of the `select` columns (all columns for `null`). */
  private cellPositions(table: string, shape: TraverseTableShape, select: readonly string[] | null): readonly number[] {
    if (select === null) return allPositions(shape);
    return select.map((c) => this.pos(table, c));
  }

  private project(rows: readonly TraverseRow[], table: string, select: readonly string[] | null): unknown[] {
    if (select === null) return rows as unknown[];
    const positions = this.cellPositions(table, this.shape(table), select);
    return rows.map((r) => positions.map((p) => r[p]));
  }
}

/**
 * The rows of a set keyed by a one-column key, in key order, when every id is a number (ids are
 * then the key cells, and numbers compare numerically); else an empty array.
 */
function byNumericId(set: ReadonlyMap<unknown, TraverseRow>): TraverseRow[] {
  const ids = new Float64Array(set.size);
  let n = 0;
  for (const id of set.keys()) {
    if (typeof id !== "number" || id !== id) return [];
    ids[n++] = id;
  }
  ids.sort();
  const rows = new Array<TraverseRow>(n);
  for (let i = 0; i < n; i++) rows[i] = set.get(ids[i]!)!;
  return rows;
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

/**
 * Scratch for sorting pages (see `pageSlotsByNumericKey`). A typed array over 64 bytes lives
 * outside the JS heap and costs more to allocate than sorting a hundred slots, so sorts of small
 * sets reuse these; a set over `SCRATCH_MAX` gets its own arrays.
 */
let slotScratch = new Int32Array(256);
let keyScratch = new Float64Array(256);
const SCRATCH_MAX = 1 << 16;

/**
 * The slots of the page of `slots` ordered by their one-column key, `offset`/`limit` applied,
 * when every key is a number (else `undefined`). No row is read: either slot order is key order,
 * or the keys come from the key column vector and sort as numbers. The page may be a view of
 * scratch memory: read it before the next call.
 */
function pageSlotsByNumericKey(slots: readonly number[], space: KeySlots, offset: number, limit: number): ArrayLike<number> | undefined {
  const n = slots.length;
  const end = Math.min(n, offset + limit);
  if (offset >= end) return [];
  if (space.keysAscending) {
    // Slot order is key order: sort the slots themselves.
    let sorted = slotScratch;
    if (n > sorted.length) sorted = n > SCRATCH_MAX ? new Int32Array(n) : (slotScratch = new Int32Array(capacityFor(n)));
    sortSlotsInto(slots, n, sorted);
    return sorted.subarray(offset, end);
  }
  const keyColumn = space.column(0);
  let keys = keyScratch;
  if (n > keys.length) keys = n > SCRATCH_MAX ? new Float64Array(n) : (keyScratch = new Float64Array(capacityFor(n)));
  // Keys that are integers in [0, 2^32) (most ids) sort packed with their index: key·2^21 + i
  // is exact below 2^53, so one numeric sort orders the slots with no lookups afterwards.
  let packable = n < PACK;
  for (let i = 0; i < n; i++) {
    const k = keyColumn[slots[i]!];
    if (typeof k !== "number" || k !== k) return undefined;
    keys[i] = k;
    if (packable && !(k >= 0 && k < 0x100000000 && Math.floor(k) === k)) packable = false;
  }
  const page = new Array<number>(end - offset);
  if (packable) {
    for (let i = 0; i < n; i++) keys[i] = keys[i]! * PACK + i;
    keys.subarray(0, n).sort();
    for (let i = offset; i < end; i++) {
      const packed = keys[i]!;
      page[i - offset] = slots[packed - Math.floor(packed / PACK) * PACK]!;
    }
    return page;
  }
  keys.subarray(0, n).sort();
  for (let i = offset; i < end; i++) page[i - offset] = space.slotOf(keys[i]!)!;
  return page;
}

/** A scratch size for `n` items: the next power of two. */
function capacityFor(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}

/**
 * Fresh tuples of the cells at `positions` for each of `slots`, built a column at a time: a page
 * of scattered rows costs a chain of dependent cache misses per row (slot → row → its cells),
 * while reads down one column are independent of each other and overlap. Cheaper sources go
 * first: a cell an equality filter pinned for the whole set (`fixed`: no read at all), the key
 * from the slot when keys were handed out in sequence (`keyBase`), and a coded column from its
 * byte codes; else the column vector.
 */
function tuplesAt(space: KeySlots, slots: ArrayLike<number>, positions: readonly number[], fixed: FixedCells | undefined): unknown[][] {
  const width = positions.length;
  const columns: unknown[][] = [];
  for (let j = 0; j < width; j++) columns.push(cellsAt(space, slots, positions[j]!, fixed));
  const n = slots.length;
  const out: unknown[][] = new Array(n);
  // Array literals for the usual widths: a packed array of the right size in one allocation.
  const [c0, c1, c2, c3, c4] = columns as (unknown[] | undefined)[];
  switch (width) {
    case 1: for (let i = 0; i < n; i++) out[i] = [c0![i]]; return out;
    case 2: for (let i = 0; i < n; i++) out[i] = [c0![i], c1![i]]; return out;
    case 3: for (let i = 0; i < n; i++) out[i] = [c0![i], c1![i], c2![i]]; return out;
    case 4: for (let i = 0; i < n; i++) out[i] = [c0![i], c1![i], c2![i], c3![i]]; return out;
    case 5: for (let i = 0; i < n; i++) out[i] = [c0![i], c1![i], c2![i], c3![i], c4![i]]; return out;
  }
  for (let i = 0; i < n; i++) {
    const tuple: unknown[] = [];
    for (let j = 0; j < width; j++) tuple.push(columns[j]![i]);
    out[i] = tuple;
  }
  return out;
}

/** The cells at row position `pos` of the rows at `slots`, in order (see `tuplesAt`). */
function cellsAt(space: KeySlots, slots: ArrayLike<number>, pos: number, fixed: FixedCells | undefined): unknown[] {
  const n = slots.length;
  if (fixed !== undefined && fixed.has(pos)) return new Array<unknown>(n).fill(fixed.get(pos));
  const cells = new Array<unknown>(n);
  const base = space.keyBase;
  if (pos === 0 && base !== undefined) {
    for (let i = 0; i < n; i++) cells[i] = slots[i]! + base;
    return cells;
  }
  const coded = space.codesIfMade(pos);
  const values = coded?.values;
  if (values !== undefined) {
    const codes = coded!.codes;
    for (let i = 0; i < n; i++) cells[i] = values[codes[slots[i]!]!];
    return cells;
  }
  const column = space.column(pos);
  for (let i = 0; i < n; i++) cells[i] = column[slots[i]!];
  return cells;
}

/**
 * Keeps (in place) the slots whose row passes `filter`. An equality with a number, string or
 * boolean reads the column's dictionary codes when the column has them (one integer compare per
 * slot), and returns that test; anything else tests the column vector's cells.
 */
function filterSlots(current: number[], space: KeySlots, filter: BoundFilter): SlotCodeTest | undefined {
  let kept = 0;
  const equality = codedEquality(space, filter);
  if (equality !== undefined) {
    const { coded, code } = equality;
    const codes = coded.codes;
    for (let i = 0; i < current.length; i++) {
      const s = current[i]!;
      if (codes[s] === code) current[kept++] = s;
    }
    current.length = kept;
    return equality;
  }
  const { pos, op, value } = filter;
  const test = cellTest(op, value);
  const column = space.column(pos);
  for (let i = 0; i < current.length; i++) {
    const s = current[i]!;
    if (test(column[s])) current[kept++] = s;
  }
  current.length = kept;
  return undefined;
}

/** Cells by row position that every slot of a set holds (see `pinned`). */
type FixedCells = ReadonlyMap<number, unknown>;

/**
 * `fixed` plus the cell at `pos` when `test` (a coded equality every slot of the set passed) pins
 * it: codes stand for one primitive each (`-0` aside, which drops the values), so every row that
 * passed holds exactly `values[code]` there, and a page need not read the column.
 */
function pinned(fixed: FixedCells | undefined, pos: number, test: SlotCodeTest | undefined): FixedCells | undefined {
  const values = test?.coded.values;
  // Every code has its value (`values` grows with the codes); NO_CODE left no slot to pin.
  if (values === undefined || test!.code === NO_CODE) return fixed;
  const out = new Map(fixed);
  out.set(pos, values[test!.code]);
  return out;
}

/**
 * A filter as "the slot's code equals `code`" when it is an equality with a number, string or
 * boolean on a column the slot space can code; else `undefined`. A value no row holds gets a
 * code no slot has.
 */
function codedEquality(space: KeySlots, filter: BoundFilter): SlotCodeTest | undefined {
  const { pos, op, value } = filter;
  if (op !== "=" || value === null || typeof value === "object" || value !== value) return undefined;
  const coded = space.codes(pos);
  if (coded === undefined) return undefined;
  return { coded, code: coded.codeOf(value) ?? NO_CODE };
}

/** 2^21: the index part of a packed sort key (see `pageByNumericKey`). */
const PACK = 0x200000;

/** Sorts rows by a numeric one-column key (the first cell); false, untouched, if a key is not a number. */
function sortByNumericKey(rows: TraverseRow[]): boolean {
  for (let i = 0; i < rows.length; i++) {
    const k = rows[i]![0];
    if (typeof k !== "number" || k !== k) return false;
  }
  rows.sort((a, b) => (a[0] as number) - (b[0] as number));
  return true;
}

/** Adds to `set` (id → row) each of `rows` it lacks, appending each added id and row to `added`. */
function addUnreached(rows: readonly TraverseRow[], keyCount: number, set: Map<unknown, TraverseRow>, added: unknown[] | undefined): void {
  for (let j = 0; j < rows.length; j++) {
    const n = rows[j]!;
    const nid = keyId(n, keyCount);
    if (!set.has(nid)) {
      set.set(nid, n);
      added?.push(nid, n);
    }
  }
}

/** True when some filter is an equality with null (which matches nothing). */
function equalsNull(filters: readonly BoundFilter[]): boolean {
  for (let i = 0; i < filters.length; i++) if (filters[i]!.op === "=" && filters[i]!.value === null) return true;
  return false;
}

function matchesAll(r: TraverseRow, filters: readonly BoundFilter[]): boolean {
  for (const f of filters) if (!matchesOp(r[f.pos], f.op, f.value)) return false;
  return true;
}

function windowCount(n: number, offset: number, limit: number): number {
  return Math.max(0, Math.min(n - offset, limit));
}

/** Stable sort by the order keys; by default ties (and no keys) fall back to the row key. */
function sortRows(rows: TraverseRow[], shape: TraverseTableShape, keys: readonly { pos: number; desc: boolean }[], keyFallback = true): void {
  const kc = shape.keyCount;
  rows.sort((a, b) => {
    for (const k of keys) {
      const c = compareValues(a[k.pos], b[k.pos]);
      if (c !== 0) return k.desc ? -c : c;
    }
    return keyFallback ? compareKeys(a, b, kc) : 0;
  });
}
