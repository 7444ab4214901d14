/**
 * A plan bound to a store's tables: column names resolved to row positions, lookups prepared,
 * hops bound (for the lookup path and, where they have one, in slot space) and the start's
 * access path chosen. A binding depends only on the plan and the tables' definitions, so it is
 * cached per plan and reused across runs while the store reports the same table identities.
 */
import { BadRequestError } from "../../errors.js";
import type { CmpOp, PlanHop, PlanLookup, TraversePlan } from "../../ir/traverse-plan.js";
import { compareKeys } from "./row-order.js";
import { bindSlotHop, type SlotAccess, type SlotHop } from "./slot-hops.js";
import type { PreparedLookup, TraverseRow, TraverseStore, TraverseTableShape } from "./store.js";

/** A compiled lookup: column positions resolved against the live table shapes. */
export interface BoundLookup {
  readonly table: string;
  readonly shape: TraverseTableShape;
  readonly fromPos: readonly number[];
  readonly run: PreparedLookup;
  /** Reused argument tuple (lookups never re-enter while their values are read). */
  readonly values: unknown[];
}

/** One alternative of a hop (one relation, one direction): one lookup, or two through an edge table. */
export interface BoundAlt {
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

/** A hop bound for the lookup path. */
export interface BoundHop {
  readonly hop: PlanHop;
  readonly alts: readonly BoundAlt[];
  readonly targetShape: TraverseTableShape;
  /** Scratch buffers for set expansion (never used re-entrantly). */
  readonly buf1: TraverseRow[];
  readonly buf2: TraverseRow[];
  /** Canonical order of neighbors: relation-row key, then target key. */
  readonly order: (a: Neighbor, b: Neighbor) => number;
}

/** A filter with its column position and its value (a parameter resolved for this run). */
export interface BoundFilter {
  readonly pos: number;
  readonly op: CmpOp;
  readonly value: unknown;
}

/** A plan step with its hop bound or its filter resolved. */
export type BoundStep = { kind: "hop"; hop: BoundHop } | { kind: "where"; filter: BoundFilter } | { kind: "as"; alias: string };

/** One (relation row, target row) pair a hop reaches, with the ids trails and BFS key on. */
export interface Neighbor {
  readonly rel: TraverseRow;
  readonly relKeys: number;
  /** The relationship's identity: relation name and relation-row key (one per relationship). */
  readonly relId: string;
  readonly node: TraverseRow;
  readonly nodeId: unknown;
}

/** How the start rows are found: static per plan (only the filter values change per run). */
export interface StartAccess {
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
 * (see `TraverseStore.identity`): shapes, positions, bound hops and the start access path. Each
 * part is made on first use; the store is passed in because a cached binding outlives the
 * transaction (and store) that made it.
 */
export class PlanBinding {
  private readonly shapes = new Map<string, TraverseTableShape>();
  private readonly positions = new Map<string, Map<string, number>>();
  private readonly hops = new Map<PlanHop, BoundHop>();
  /** Hops bound to slot spaces (`null`: this hop has no slot form). */
  private readonly slotHops = new Map<PlanHop, SlotHop | null>();
  private start: StartAccess | undefined = undefined;

  constructor(
    readonly tables: readonly string[],
    readonly tokens: readonly object[],
  ) {}

  /** The table's shape. */
  shape(store: TraverseStore, table: string): TraverseTableShape {
    let s = this.shapes.get(table);
    if (!s) {
      s = store.shape(table);
      this.shapes.set(table, s);
      this.positions.set(table, new Map(s.columns.map((c, i) => [c, i])));
    }
    return s;
  }

  /** The row position of `table.col`; a `BadRequestError` for an unknown column. */
  pos(store: TraverseStore, table: string, col: string): number {
    this.shape(store, table);
    const p = this.positions.get(table)!.get(col);
    if (p === undefined) {
      throw new BadRequestError(`traverse: table ${table} has no column ${col} (columns: ${this.shape(store, table).columns.join(", ")})`);
    }
    return p;
  }

  /** The hop bound for the lookup path. */
  hop(store: TraverseStore, hop: PlanHop): BoundHop {
    let bound = this.hops.get(hop);
    if (bound === undefined) {
      bound = this.bindHop(store, hop);
      this.hops.set(hop, bound);
    }
    return bound;
  }

  /** The hop bound to slot spaces, or `null` when it has no slot form. */
  slotHop(store: TraverseStore, access: SlotAccess, hop: PlanHop): SlotHop | null {
    let sh = this.slotHops.get(hop);
    if (sh === undefined) {
      sh = bindSlotHop(access, hop, (t) => this.shape(store, t), (t, c) => this.pos(store, t, c));
      this.slotHops.set(hop, sh);
    }
    return sh;
  }

  /** How the start rows are found; it depends only on which columns have equality filters (static per plan). */
  startAccess(store: TraverseStore, filters: readonly BoundFilter[], table: string): StartAccess {
    let access = this.start;
    if (access === undefined) {
      const eq = new Map<number, number>();
      filters.forEach((f, i) => {
        if (f.op === "=" && !eq.has(f.pos)) eq.set(f.pos, i);
      });
      access = this.chooseStartAccess(store, this.shape(store, table), table, eq);
      this.start = access;
    }
    return access;
  }

  private bindLookup(store: TraverseStore, l: PlanLookup, fromTable: string): BoundLookup {
    const shape = this.shape(store, l.table);
    for (const c of l.cols) this.pos(store, l.table, c);
    const fromPos = l.from.map((c) => this.pos(store, fromTable, c));
    return { table: l.table, shape, fromPos, run: store.prepare(l.table, l.cols), values: new Array(fromPos.length) };
  }

  private bindHop(store: TraverseStore, hop: PlanHop): BoundHop {
    const alts = hop.alts.map((alt): BoundAlt => {
      const first = this.bindLookup(store, alt.lookups[0]!, hop.source);
      const lookups = alt.lookups.length === 2 ? [first, this.bindLookup(store, alt.lookups[1]!, first.table)] : [first];
      const last = lookups[lookups.length - 1]!;
      if (last.table !== hop.target) throw new BadRequestError(`traverse: hop ${hop.rel} does not end in ${hop.target}`);
      const relTable = alt.relAt === 0 ? hop.source : first.table;
      const sourceShape = this.shape(store, hop.source);
      const targetShape = this.shape(store, hop.target);
      const fromKey = sourceShape.keyCount === 1 && first.fromPos.length === 1 && first.fromPos[0] === 0;
      const l2 = alt.lookups[1];
      const toKey =
        l2 !== undefined && targetShape.keyCount === 1 && l2.cols.length === 1 && l2.cols[0] === targetShape.columns[0];
      return { lookups, relAt: alt.relAt, relation: alt.relation, relTable, relShape: this.shape(store, relTable), fromKey, toKey };
    });
    const targetKeys = this.shape(store, hop.target).keyCount;
    const order = (a: Neighbor, b: Neighbor): number => compareKeys(a.rel, b.rel, a.relKeys) || compareKeys(a.node, b.node, targetKeys);
    return { hop, alts, targetShape: this.shape(store, hop.target), buf1: [], buf2: [], order };
  }

  /** The key (a point lookup), else the longest equality prefix of an index, else a scan. */
  private chooseStartAccess(store: TraverseStore, shape: TraverseTableShape, table: string, eq: ReadonlyMap<number, number>): StartAccess {
    const access = (cols: string[] | null, positions: number[]): StartAccess => ({
      cols,
      positions,
      run: cols === null ? undefined : store.prepare(table, cols),
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
        if (!eq.has(this.pos(store, table, c))) break;
        prefix.push(c);
      }
      if (prefix.length > best.length) best = prefix;
    }
    if (best.length === 0) return access(null, []);
    return access(best, best.map((c) => this.pos(store, table, c)));
  }
}

const BINDINGS = new WeakMap<TraversePlan, PlanBinding>();

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

/**
 * The plan's cached binding when the store's tables are unchanged; a fresh one otherwise (and
 * always a fresh, uncached one for a store without `identity`).
 *
 * @example
 * ```ts
 * const binding = bindingFor(store, plan);
 * const age = binding.pos(store, "users", "age");
 * ```
 */
export function bindingFor(store: TraverseStore, plan: TraversePlan): PlanBinding {
  if (store.identity === undefined) return new PlanBinding([], []);
  const cached = BINDINGS.get(plan);
  if (cached !== undefined) {
    let same = true;
    for (let i = 0; i < cached.tables.length && same; i++) same = store.identity(cached.tables[i]!) === cached.tokens[i];
    if (same) return cached;
  }
  const tables = planTables(plan);
  const tokens: object[] = [];
  for (const t of tables) tokens.push(store.identity(t));
  const binding = new PlanBinding(tables, tokens);
  BINDINGS.set(plan, binding);
  return binding;
}
