/**
 * Set-at-a-time hops in slot space: the fast path of `distinct` traversals. Each table with a
 * one-column key numbers its keys densely (`KeySlots`); each relation is kept as lists of target
 * slots per source slot (`LinkIndex`, updated by every write). A hop over a set is then array
 * reads plus a stamp array for the visited set — the work of a CSR adjacency loop — instead of
 * index lookups and hash sets of rows. Results are identical to the lookup path in distinct.ts
 * (which remains for tables with composite keys; trails, paths and shortest paths always take
 * lookups); the tests run both on the same random graphs.
 */
import { VisitBudgetError } from "../../errors.js";
import type { PlanHop } from "../../ir/traverse-plan.js";
import type { TraverseTableShape } from "./store.js";
import type { LinkIndex, PackedLinks } from "../storage/derived/link-index.js";
import type { KeySlots } from "../storage/derived/key-slots.js";
import type { ColumnCodes } from "../storage/derived/column-codes.js";
import { normCell } from "../storage/index-keys.js";

/** What a traversal store offers for the slot path (both optional in `TraverseStore`). */
export interface SlotAccess {
  keySlots(table: string): KeySlots | undefined;
  linkIndex(table: string, fromCol: string, sourceTable: string, toCol: string, targetTable: string): LinkIndex | undefined;
}

/**
 * One way to take a relation in slot space:
 * - `links`: the target slots listed under the source slot; `edge` when the list goes through an
 *   edge table (each entry is an edge row and then its target, both touched).
 * - `forward`: a foreign key held by the source row (at `fromPos`) naming the target's key.
 */
type SlotAlt =
  | { readonly kind: "links"; readonly index: LinkIndex; readonly edge: boolean }
  | { readonly kind: "forward"; readonly fromPos: number };

/** A hop bound to slot spaces. */
export interface SlotHop {
  readonly hop: PlanHop;
  readonly source: KeySlots;
  readonly target: KeySlots;
  readonly alts: readonly SlotAlt[];
  /**
   * One inverse-foreign-key alternative: every target row is listed under exactly one source (the
   * key its column names) and exists while it is listed, so the targets of a set of distinct
   * sources are distinct rows — a level needs neither a visited check nor an existence check.
   */
  readonly disjoint: boolean;
}

/**
 * Binds a hop to slot spaces, or returns `null` when some alternative does not have a slot form
 * (a composite key on the source, target or edge endpoints, a lookup on several columns).
 *
 * @example
 * ```ts
 * const sh = bindSlotHop(store, hop, (t) => store.shape(t), (t, c) => store.shape(t).columns.indexOf(c));
 * if (sh !== null) next = new SlotExpander(0, budget).expand(startSlots, sh);
 * ```
 */
export function bindSlotHop(
  access: SlotAccess,
  hop: PlanHop,
  shape: (table: string) => TraverseTableShape,
  pos: (table: string, col: string) => number,
): SlotHop | null {
  const source = access.keySlots(hop.source);
  const target = access.keySlots(hop.target);
  if (source === undefined || target === undefined) return null;
  const sourceKey = shape(hop.source).columns[0];
  const targetKey = shape(hop.target).columns[0];
  const alts: SlotAlt[] = [];
  for (const alt of hop.alts) {
    const [l1, l2] = alt.lookups;
    if (l1 === undefined || l1.cols.length !== 1 || l1.from.length !== 1) return null;
    if (l2 === undefined) {
      if (l1.table !== hop.target) return null;
      if (l1.cols[0] === targetKey) {
        // Forward foreign key: the source row names the target's key.
        alts.push({ kind: "forward", fromPos: pos(hop.source, l1.from[0]!) });
        continue;
      }
      // Inverse foreign key: target rows whose column names the source's key.
      if (l1.from[0] !== sourceKey) return null;
      const index = access.linkIndex(hop.target, l1.cols[0]!, hop.source, targetKey!, hop.target);
      if (index === undefined) return null;
      alts.push({ kind: "links", index, edge: false });
      continue;
    }
    // Edge table: source key → edge rows (by their `from` column) → target by key.
    if (alt.lookups.length !== 2 || l1.from[0] !== sourceKey) return null;
    if (l2.table !== hop.target || l2.cols.length !== 1 || l2.cols[0] !== targetKey || l2.from.length !== 1) return null;
    const index = access.linkIndex(l1.table, l1.cols[0]!, hop.source, l2.from[0]!, hop.target);
    if (index === undefined) return null;
    alts.push({ kind: "links", index, edge: true });
  }
  const only = alts.length === 1 ? alts[0]! : undefined;
  return { hop, source, target, alts, disjoint: only !== undefined && only.kind === "links" && !only.edge };
}

/** A test on the slots a hop reaches: `coded.codes[slot] === code` (a coded column's equality). */
export interface SlotCodeTest {
  readonly coded: ColumnCodes;
  readonly code: number;
}

/** A code no slot has (codes are bytes). */
export const NO_CODE = -1;

/** The marks of an empty delta (`LinkIndex.changed` undefined): no source is marked. */
const NO_MARKS = new Uint8Array(0);

/**
 * The codes `keep` tests, in the snapshot's entry order, when the link index has a current copy:
 * the filter then reads the byte beside each entry. A value no row holds matches nothing either
 * way, so no copy is made for it.
 */
function entryCodesFor(index: LinkIndex, packed: PackedLinks, keep: SlotCodeTest | undefined, reads: number): Uint8Array | undefined {
  return keep === undefined || keep.code === NO_CODE ? undefined : index.entryCodes(packed, keep.coded, reads);
}

/**
 * Expands slot sets hop by hop, counting touched rows against the budget exactly as the lookup
 * path does: every row a lookup would return counts once (an edge row, then its target — also
 * when the target is already in the set); exceeding the budget throws `VisitBudgetError`.
 */
export class SlotExpander {
  touched: number;
  /** The targets of one source in a delta (see `LinkIndex.deltaTargets`), reused. */
  private readonly scratch: number[] = [];

  constructor(
    touched: number,
    private readonly budget: number,
  ) {
    this.touched = touched;
  }

  /** One hop over a set: `min` exact levels, then BFS with a visited set up to `max`. */
  expand(from: readonly number[], sh: SlotHop): number[] {
    const { min, max } = sh.hop;
    let level = from as number[];
    for (let i = 0; i < min && level.length > 0; i++) level = this.exactLevel(sh, level);
    if (max === min) return level;
    // Variable length: source and target are one table (the plan checks), so one slot space.
    const { stamps, epoch } = sh.target.newSet();
    for (let k = 0; k < level.length; k++) stamps[level[k]!] = epoch;
    const reached = level.slice();
    let frontier = level;
    for (let i = min; i < max && frontier.length > 0; i++) {
      const next: number[] = [];
      this.expandLevel(sh, frontier, stamps, epoch, next);
      for (let k = 0; k < next.length; k++) reached.push(next[k]!);
      frontier = next;
    }
    return reached;
  }

  /**
   * `expand(from, sh).length`, touching the same rows, without collecting the last level: a
   * count needs only how many targets were new, and building a fresh array of them cost as much
   * as the loop that finds them.
   */
  expandCount(from: readonly number[], sh: SlotHop): number {
    const { min, max } = sh.hop;
    let level = from as number[];
    if (max === min) {
      if (min === 0) return level.length;
      for (let i = 0; i < min - 1 && level.length > 0; i++) level = this.exactLevel(sh, level);
      if (level.length === 0) return 0;
      if (sh.disjoint) return this.countDisjoint(sh, level);
      const { stamps, epoch } = sh.target.newSet();
      return this.expandLevel(sh, level, stamps, epoch, undefined);
    }
    for (let i = 0; i < min && level.length > 0; i++) level = this.exactLevel(sh, level);
    const { stamps, epoch } = sh.target.newSet();
    for (let k = 0; k < level.length; k++) stamps[level[k]!] = epoch;
    let count = level.length;
    let frontier = level;
    for (let i = min; i < max && frontier.length > 0; i++) {
      if (i === max - 1) return count + this.expandLevel(sh, frontier, stamps, epoch, undefined);
      const next: number[] = [];
      count += this.expandLevel(sh, frontier, stamps, epoch, next);
      frontier = next;
    }
    return count;
  }

  /** One exact level of a hop: every target of `level`, each once. */
  private exactLevel(sh: SlotHop, level: readonly number[]): number[] {
    if (sh.disjoint) return this.expandDisjoint(sh, level);
    const { stamps, epoch } = sh.target.newSet();
    const next: number[] = [];
    this.expandLevel(sh, level, stamps, epoch, next);
    return next;
  }

  /**
   * Stamps every target of the `level` slots not yet stamped with `epoch`, appends them to `out`
   * when given, and returns how many there were.
   */
  private expandLevel(sh: SlotHop, level: readonly number[], stamps: Int32Array, epoch: number, out: number[] | undefined): number {
    const only = sh.alts.length === 1 ? sh.alts[0]! : undefined;
    const packed = only?.kind === "links" ? only.index.packed(level.length) : undefined;
    if (packed !== undefined) {
      const { index, edge } = only as Extract<SlotAlt, { kind: "links" }>;
      if (index.changed === undefined && !index.liveChanged) return this.levelPacked(packed, edge, level, stamps, epoch, out);
      return this.levelDelta(index, packed, edge, level, stamps, epoch, out);
    }
    const into = out ?? [];
    const before = into.length;
    for (let k = 0; k < level.length; k++) this.expandOne(sh, level[k]!, stamps, epoch, into);
    return into.length - before;
  }

  /**
   * `expandLevel` over a CSR snapshot: the loop of a plain adjacency array. Dead targets are `-1`
   * in the snapshot; the budget counts what `expandOne` counts (every edge row, then every live
   * target; an inverse foreign key's rows once each).
   */
  private levelPacked(
    packed: PackedLinks,
    edge: boolean,
    level: readonly number[],
    stamps: Int32Array,
    epoch: number,
    out: number[] | undefined,
  ): number {
    const { offsets, targets } = packed;
    const sources = offsets.length - 1;
    let touched = this.touched;
    let added = 0;
    // An edge row counts, then its live target: twice per live entry, once per dead one.
    const perEntry = edge ? 2 : 1;
    for (let i = 0; i < level.length; i++) {
      const s = level[i]!;
      if (s >= sources) continue;
      const end = offsets[s + 1]!;
      let k = offsets[s]!;
      touched += (end - k) * perEntry;
      for (; k < end; k++) {
        const t = targets[k]!;
        if (t < 0) {
          if (edge) touched--;
          continue;
        }
        if (stamps[t] !== epoch) {
          stamps[t] = epoch;
          added++;
          if (out !== undefined) out.push(t);
        }
      }
      if (touched > this.budget) {
        this.touched = touched;
        throw new VisitBudgetError(this.budget);
      }
    }
    this.touched = touched;
    return added;
  }

  /**
   * `levelPacked` over a snapshot with a delta (`LinkIndex.changed`, `liveChanged`): a changed
   * source's targets come from `deltaTargets`, the others from the snapshot; each target is
   * checked against the target's rows when their liveness changed since the snapshot. Same
   * results and the same rows counted as `expandOne` over the lists.
   */
  private levelDelta(
    index: LinkIndex,
    packed: PackedLinks,
    edge: boolean,
    level: readonly number[],
    stamps: Int32Array,
    epoch: number,
    out: number[] | undefined,
  ): number {
    const { offsets, targets } = packed;
    const sources = offsets.length - 1;
    const changed = index.changed;
    const marks = changed ?? NO_MARKS;
    const checkLive = index.liveChanged;
    const rows = index.target.rows;
    let touched = this.touched;
    let added = 0;
    const perEntry = edge ? 2 : 1;
    for (let i = 0; i < level.length; i++) {
      const s = level[i]!;
      if (s < marks.length && marks[s] === 1) {
        const live = this.scratch;
        live.length = 0;
        const listed = index.deltaTargets(s, live);
        // An edge row counts, then its live target.
        touched += edge ? listed + live.length : listed;
        for (let k = 0; k < live.length; k++) {
          const t = live[k]!;
          if (stamps[t] !== epoch) {
            stamps[t] = epoch;
            added++;
            if (out !== undefined) out.push(t);
          }
        }
      } else if (s < sources) {
        const end = offsets[s + 1]!;
        let k = offsets[s]!;
        touched += (end - k) * perEntry;
        for (; k < end; k++) {
          let t = targets[k]!;
          if (checkLive) {
            if (t < 0) t = ~t;
            if (rows[t] === undefined) t = -1;
          }
          if (t < 0) {
            if (edge) touched--;
            continue;
          }
          if (stamps[t] !== epoch) {
            stamps[t] = epoch;
            added++;
            if (out !== undefined) out.push(t);
          }
        }
      }
      if (touched > this.budget) {
        this.touched = touched;
        throw new VisitBudgetError(this.budget);
      }
    }
    this.touched = touched;
    return added;
  }

  /**
   * One level of a `disjoint` hop: the concatenated target lists. With `keep`, only the targets
   * that pass it (the rows it drops still count as touched): a filter tested as the lists are
   * read, so the dropped rows are never collected.
   */
  expandDisjoint(sh: SlotHop, level: readonly number[], keep?: SlotCodeTest): number[] {
    const index = (sh.alts[0] as Extract<SlotAlt, { kind: "links" }>).index;
    const next: number[] = [];
    const codes = keep?.coded.codes;
    const code = keep?.code;
    const packed = index.packed(level.length);
    if (packed !== undefined) {
      const { offsets, targets } = packed;
      const sources = offsets.length - 1;
      const entries = entryCodesFor(index, packed, keep, level.length);
      // A disjoint hop's entries are the relation table's own rows: an entry of a source outside
      // the delta is a live row (a row that left took its entry into its source's delta).
      const marks = index.changed ?? NO_MARKS;
      for (let k = 0; k < level.length; k++) {
        const s = level[k]!;
        if (s < marks.length && marks[s] === 1) {
          this.disjointList(this.deltaOf(index, s), codes, code, next);
          continue;
        }
        if (s >= sources) continue;
        const end = offsets[s + 1]!;
        let j = offsets[s]!;
        this.touched += end - j;
        if (this.touched > this.budget) throw new VisitBudgetError(this.budget);
        if (codes === undefined) for (; j < end; j++) next.push(targets[j]!);
        else if (entries !== undefined) {
          for (; j < end; j++) if (entries[j] === code) next.push(targets[j]!);
        } else {
          for (; j < end; j++) {
            const t = targets[j]!;
            if (codes[t] === code) next.push(t);
          }
        }
      }
      return next;
    }
    for (let k = 0; k < level.length; k++) this.disjointList(index.targetsOf(level[k]!), codes, code, next);
    return next;
  }

  /** The targets of source `s` in the index's delta (all live: the index is of a disjoint hop), in `scratch`. */
  private deltaOf(index: LinkIndex, s: number): readonly number[] {
    const live = this.scratch;
    live.length = 0;
    index.deltaTargets(s, live);
    return live;
  }

  /** Appends the targets of one list of a disjoint hop that pass `codes[t] === code` (all without codes). */
  private disjointList(list: readonly number[], codes: Uint8Array | undefined, code: number | undefined, next: number[]): void {
    for (let j = 0; j < list.length; j++) {
      const t = list[j]!;
      if (codes === undefined || codes[t] === code) next.push(t);
    }
    this.touched += list.length;
    if (this.touched > this.budget) throw new VisitBudgetError(this.budget);
  }

  /**
   * `expandDisjoint(sh, level, keep).length`, without collecting the targets. It mirrors that
   * loop on purpose: one loop for both, with a branch on collecting, made both the 3-hop count
   * and the 3-hop page 5–8% slower (two-tree A/B, both orders).
   */
  countDisjoint(sh: SlotHop, level: readonly number[], keep?: SlotCodeTest): number {
    const index = (sh.alts[0] as Extract<SlotAlt, { kind: "links" }>).index;
    const codes = keep?.coded.codes;
    const code = keep?.code;
    let count = 0;
    const packed = index.packed(level.length);
    if (packed !== undefined) {
      const { offsets, targets } = packed;
      const sources = offsets.length - 1;
      const entries = entryCodesFor(index, packed, keep, level.length);
      const marks = index.changed ?? NO_MARKS;
      for (let k = 0; k < level.length; k++) {
        const s = level[k]!;
        if (s < marks.length && marks[s] === 1) {
          count += this.countList(this.deltaOf(index, s), codes, code);
          continue;
        }
        if (s >= sources) continue;
        const end = offsets[s + 1]!;
        let j = offsets[s]!;
        this.touched += end - j;
        if (this.touched > this.budget) throw new VisitBudgetError(this.budget);
        if (codes === undefined) count += end - j;
        else if (entries !== undefined) {
          for (; j < end; j++) if (entries[j] === code) count++;
        } else {
          for (; j < end; j++) if (codes[targets[j]!] === code) count++;
        }
      }
      return count;
    }
    for (let k = 0; k < level.length; k++) count += this.countList(index.targetsOf(level[k]!), codes, code);
    return count;
  }

  /** How many targets of one list of a disjoint hop pass `codes[t] === code` (all without codes). */
  private countList(list: readonly number[], codes: Uint8Array | undefined, code: number | undefined): number {
    let count = 0;
    if (codes === undefined) count = list.length;
    else for (let j = 0; j < list.length; j++) if (codes[list[j]!] === code) count++;
    this.touched += list.length;
    if (this.touched > this.budget) throw new VisitBudgetError(this.budget);
    return count;
  }

  /** Appends to `out` (and stamps) every target of source slot `s` not yet stamped with `epoch`. */
  private expandOne(sh: SlotHop, s: number, stamps: Int32Array, epoch: number, out: number[]): void {
    const rows = sh.target.rows;
    for (const alt of sh.alts) {
      if (alt.kind === "forward") {
        // The source row's cell (from a column vector, or the row read from the table, when the
        // slot space keeps no rows).
        const v = sh.source.cellOf(s, alt.fromPos);
        if (v === null || v === undefined) continue;
        const t = sh.target.slotOf(normCell(v as never));
        if (t === undefined || rows[t] === undefined) continue;
        this.touched++;
        if (t < stamps.length && stamps[t] !== epoch) {
          stamps[t] = epoch;
          out.push(t);
        }
        continue;
      }
      const list = alt.index.targetsOf(s);
      const n = list.length;
      let touched = alt.edge ? n : 0;
      for (let k = 0; k < n; k++) {
        const t = list[k]!;
        if (stamps[t] === epoch) {
          touched++;
          continue;
        }
        if (rows[t] === undefined) continue;
        if (alt.edge) touched++;
        stamps[t] = epoch;
        out.push(t);
      }
      // Inverse foreign key: every listed row exists and counts once (also when already reached).
      if (!alt.edge) touched = n;
      this.touched += touched;
    }
    if (this.touched > this.budget) throw new VisitBudgetError(this.budget);
  }
}

