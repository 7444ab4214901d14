/**
 * The distinct traversal in slot space: the fast path of `distinct` results when the store keeps
 * key slots and link indexes and every hop has a slot form. Start rows become slots, `where`
 * steps filter slots (by dictionary codes where the column has them), and hops run on the
 * `SlotExpander` (slot-hops.ts). The result is the same set of end rows the lookup path
 * (distinct.ts) finds, with the same rows counted against the budget.
 */
import type { KeySlots } from "../storage/derived/key-slots.js";
import type { BoundFilter, BoundStep } from "./binding.js";
import { NO_CODE, SlotExpander, type SlotAccess, type SlotCodeTest, type SlotHop } from "./slot-hops.js";
import { normCell } from "./store.js";
import { equalsNull, type TraversalRun } from "./traversal-run.js";
import { cellTest, matchesOp } from "./values.js";

/** Cells by row position that every slot of a set holds (see `pinned`). */
export type FixedCells = ReadonlyMap<number, unknown>;

/** The end of a slot traversal. */
export interface SlotReach {
  /** The end slots, unordered (empty when only counted). */
  readonly slots: readonly number[];
  /** How many end rows there are. */
  readonly count: number;
  /** The end table's slot space: the rows `slots` index. */
  readonly space: KeySlots;
  /** Cells an equality filter on a coded column of the end table pinned for every end slot. */
  readonly fixed: FixedCells | undefined;
}

/**
 * The distinct traversal in slot space when the store offers it and every hop has a slot form:
 * the end slots (unordered), how many, and the rows they index; else `undefined` (the lookup
 * path runs). With `countOnly`, a last hop only counts its targets (`slots` is then empty; the
 * rows touched are the same). `fixed` holds the cells that an equality filter on a coded column
 * of the end table pinned for every end slot. `pagePositions`: the end table's row positions a
 * page of the result will read (see `prepareLazyColumns`).
 *
 * @example
 * ```ts
 * const reached = slotDistinct(run, startFilters, "users", steps, false);
 * if (reached !== undefined) for (const s of reached.slots) use(reached.space.row(s));
 * ```
 */
export function slotDistinct(
  run: TraversalRun,
  startFilters: readonly BoundFilter[],
  startTable: string,
  steps: readonly BoundStep[],
  countOnly: boolean,
  pagePositions?: readonly number[],
): SlotReach | undefined {
  const store = run.store;
  if (store.keySlots === undefined || store.linkIndex === undefined) return undefined;
  let slots = store.keySlots(startTable);
  if (slots === undefined) return undefined;
  const hops: SlotHop[] = [];
  for (const step of steps) {
    if (step.kind !== "hop") continue;
    const sh = run.binding.slotHop(store, store as SlotAccess, step.hop.hop);
    if (sh === null) return undefined;
    hops.push(sh);
  }
  prepareLazyColumns(slots, hops, steps, pagePositions);
  let current = startSlot(run, startFilters, startTable, slots);
  if (current === undefined) {
    current = [];
    for (const r of run.startRows(startFilters, startTable)) {
      const s = slots.slotOf(normCell(r[0]));
      if (s !== undefined) current.push(s);
    }
  }
  // The end table's slot space, also when the set empties on an earlier table.
  const endSpace = hops.length > 0 ? hops[hops.length - 1]!.target : slots;
  const expander = new SlotExpander(run.touched, run.plan.budget);
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
        run.touched = expander.touched;
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
  run.touched = expander.touched;
  // Pins made on an earlier table than the end (the set emptied there) say nothing of the end.
  return { slots: current, count: current.length, space: endSpace, fixed: slots === endSpace ? fixed : undefined };
}

/**
 * Asks each lazy slot space of the traversal, once, for every column the traversal reads of its
 * table: the filters there, the foreign keys its hops read, and on the end table the page's cells.
 * A lazy slot space makes the columns it has not made yet in one scan of its table, so a first
 * traversal scans each table once rather than once per step that reads it.
 */
function prepareLazyColumns(start: KeySlots, hops: readonly SlotHop[], steps: readonly BoundStep[], pagePositions: readonly number[] | undefined): void {
  if (!anyLazy(start, hops)) return;
  let wanted: Map<KeySlots, number[]> | undefined;
  let space = start;
  let h = 0;
  for (const step of steps) {
    if (step.kind === "where") wanted = want(wanted, space, step.filter.pos);
    else if (step.kind === "hop") {
      const sh = hops[h++]!;
      for (const alt of sh.alts) if (alt.kind === "forward") wanted = want(wanted, sh.source, alt.fromPos);
      space = sh.target;
    }
  }
  if (pagePositions !== undefined) for (const pos of pagePositions) wanted = want(wanted, space, pos);
  if (wanted !== undefined) for (const [lazy, positions] of wanted) lazy.prepareColumns(positions);
}

/** `wanted` with column `pos` of `space` added when a lazy space must make it (made on the first). */
function want(wanted: Map<KeySlots, number[]> | undefined, space: KeySlots, pos: number): Map<KeySlots, number[]> | undefined {
  // A key handed out in sequence is its slot: no column needed.
  if (!space.lazy || space.keyBaseAt(pos) !== undefined) return wanted;
  const out = wanted ?? new Map<KeySlots, number[]>();
  const list = out.get(space);
  if (list === undefined) out.set(space, [pos]);
  else list.push(pos);
  return out;
}

/** True when a slot space the traversal reads keeps no rows (a plain loop: this runs per traversal). */
function anyLazy(start: KeySlots, hops: readonly SlotHop[]): boolean {
  if (start.lazy) return true;
  for (let i = 0; i < hops.length; i++) if (hops[i]!.source.lazy || hops[i]!.target.lazy) return true;
  return false;
}

/**
 * The start as slots when it is found by the table's one-column key: the key's slot, read
 * from the slot space (the same row a point lookup finds, counted the same way); `undefined`
 * for any other start (`startRows` finds it).
 */
function startSlot(run: TraversalRun, filters: readonly BoundFilter[], table: string, slots: KeySlots): number[] | undefined {
  const { oneKey, filterIndex } = run.binding.startAccess(run.store, filters, table);
  if (!oneKey) return undefined;
  if (equalsNull(filters)) return [];
  const keyFilter = filterIndex[0]!;
  const s = slots.slotOf(normCell(filters[keyFilter]!.value));
  // Liveness is the slot's own; only other filters read the row (from lmdb in a lazy space).
  if (s === undefined || slots.rows[s] === undefined) return [];
  run.count(1);
  if (filters.length === 1) return [s];
  const row = slots.row(s)!;
  // The key filter holds by construction; the others read the row (the key alone does not).
  for (let i = 0; i < filters.length; i++) {
    const f = filters[i]!;
    if (i !== keyFilter && !matchesOp(row[f.pos], f.op, f.value)) return [];
  }
  return [s];
}

/**
 * Keeps (in place) the slots whose row passes `filter`. An equality with a number, string or
 * boolean reads the column's dictionary codes when the column has them (one integer compare per
 * slot), and returns that test; anything else tests the column vector's cells, or in a slot
 * space that keeps no rows (`KeySlots.lazy`) its codes, numbers or rows (`filterLazy`).
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
  if (space.lazy) {
    filterLazy(current, space, pos, test);
    return undefined;
  }
  const column = space.column(pos);
  for (let i = 0; i < current.length; i++) {
    const s = current[i]!;
    if (test(column[s])) current[kept++] = s;
  }
  current.length = kept;
  return undefined;
}

/**
 * `filterSlots` in a slot space that keeps no rows, cheapest source first: a key handed out in
 * sequence is the slot's; a coded column is tested once per code (its values), then each slot is
 * one byte read; a numeric column tests the cells of its vector; any other column tests the rows
 * read from the table for the slots at hand.
 */
function filterLazy(current: number[], space: KeySlots, pos: number, test: (cell: unknown) => boolean): void {
  let kept = 0;
  const base = space.keyBaseAt(pos);
  if (base !== undefined) {
    // Keys handed out in sequence: the key is the slot plus `keyBase`.
    for (let i = 0; i < current.length; i++) {
      const s = current[i]!;
      if (test(s + base)) current[kept++] = s;
    }
    current.length = kept;
    return;
  }
  const coded = space.codes(pos);
  const values = coded?.values;
  if (values !== undefined) {
    // Indexed by code; NO_ROW (255) is never a value's code and stays 0.
    const pass = new Uint8Array(256);
    for (let c = 0; c < values.length; c++) if (test(values[c])) pass[c] = 1;
    const codes = coded!.codes;
    for (let i = 0; i < current.length; i++) {
      const s = current[i]!;
      if (pass[codes[s]!] === 1) current[kept++] = s;
    }
    current.length = kept;
    return;
  }
  const numbers = space.numbers(pos);
  if (numbers !== undefined) {
    for (let i = 0; i < current.length; i++) {
      const s = current[i]!;
      if (test(numbers.cell(s))) current[kept++] = s;
    }
    current.length = kept;
    return;
  }
  for (let i = 0; i < current.length; i++) {
    const s = current[i]!;
    if (test(space.row(s)![pos])) current[kept++] = s;
  }
  current.length = kept;
}

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
