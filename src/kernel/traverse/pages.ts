/**
 * Result pages of a slot traversal: the end slots ordered by key (a bucket sort of slots, or
 * keys packed with their index into one numeric sort), the window applied, and the page's tuples
 * built a column at a time from the slot space (pinned cells, sequential keys, dictionary codes
 * and numeric vectors first). No row is read when the slot space can answer.
 */
import type { PlanResult } from "../../ir/traverse-plan.js";
import { EncodedJson } from "../ops/encoded-json.js";
import type { KeySlots } from "../storage/derived/key-slots.js";
import { sortByNumericKey, sortRows } from "./row-order.js";
import type { FixedCells, SlotReach } from "./slot-distinct.js";
import { sortSlotsInto } from "./slot-sort.js";
import type { TraverseRow, TraverseTableShape } from "./store.js";
import type { TraversalRun } from "./traversal-run.js";

/**
 * The result of a distinct `rows` plan from the end slots `reached` (not count-only): the page
 * of end rows in order, projected. Without `orderBy`, on a numeric one-column key, the page is
 * found from slots and key columns and its tuples built from the slot space (the row positions
 * `cells`, when the caller has them: `run.cellPositions`); else the rows are sorted as the lookup
 * path sorts them.
 *
 * @example
 * ```ts
 * const reached = slotDistinct(run, startFilters, "users", steps, false);
 * if (reached !== undefined) return slotRowsPage(run, reached, "posts", shape, result, 0, 20);
 * ```
 */
export function slotRowsPage(
  run: TraversalRun,
  reached: SlotReach,
  table: string,
  shape: TraverseTableShape,
  result: Extract<PlanResult, { kind: "rows" }>,
  offset: number,
  limit: number,
  cells?: readonly number[],
): unknown {
  if (result.orderBy.length === 0 && shape.keyCount === 1) {
    const page = pageSlotsByNumericKey(reached.slots, reached.space, offset, limit);
    if (page !== undefined) {
      const tuples = tuplesAt(reached.space, page, cells ?? run.cellPositions(table, shape, result.select), reached.fixed);
      // Fresh tuples of primitives are JSON already: the kernel need not copy them again.
      return shape.plainCells === true ? new EncodedJson(tuples) : tuples;
    }
  }
  const space = reached.space;
  const viaSlots = new Array<TraverseRow>(reached.slots.length);
  if (space.lazy) {
    // The slot space keeps no rows: read each from the table.
    for (let i = 0; i < viaSlots.length; i++) viaSlots[i] = space.row(reached.slots[i]!)!;
  } else {
    const rows = space.rows;
    for (let i = 0; i < viaSlots.length; i++) viaSlots[i] = rows[reached.slots[i]!]!;
  }
  if (result.orderBy.length > 0 || shape.keyCount !== 1 || !sortByNumericKey(viaSlots)) {
    sortRows(viaSlots, shape, run.sortKeys(table, result.orderBy));
  }
  const page = viaSlots.slice(offset, offset + limit);
  if (result.count) return page.length;
  return run.project(page, table, result.select);
}

/**
 * Scratch for sorting pages (see `pageSlotsByNumericKey`). A typed array over 64 bytes lives
 * outside the JS heap and costs more to allocate than sorting a hundred slots, so sorts of small
 * sets reuse these; a set over `SCRATCH_MAX` gets its own arrays.
 */
let slotScratch = new Int32Array(256);
let keyScratch = new Float64Array(256);
const SCRATCH_MAX = 1 << 16;

/** 2^21: the index part of a packed sort key (see `pageSlotsByNumericKey`). */
const PACK = 0x200000;

/**
 * The slots of the page of `slots` ordered by their one-column key, `offset`/`limit` applied,
 * when every key is a number (else `undefined`). No row is read: either slot order is key order,
 * or the keys come from the key column vector (from the slots' keys when the slot space keeps no
 * rows) and sort as numbers. The page may be a view of scratch memory: read it before the next
 * call.
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
  const keyColumn = space.lazy ? undefined : space.column(0);
  let keys = keyScratch;
  if (n > keys.length) keys = n > SCRATCH_MAX ? new Float64Array(n) : (keyScratch = new Float64Array(capacityFor(n)));
  // Keys that are integers in [0, 2^32) (most ids) sort packed with their index: key·2^21 + i
  // is exact below 2^53, so one numeric sort orders the slots with no lookups afterwards.
  let packable = n < PACK;
  for (let i = 0; i < n; i++) {
    const k = keyColumn !== undefined ? keyColumn[slots[i]!] : space.keyOf(slots[i]!);
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
 * byte codes; else the column vector, or when the slot space keeps no rows (`KeySlots.lazy`) the
 * column's numeric vector, and failing that the page's rows, read once from the table.
 */
function tuplesAt(space: KeySlots, slots: ArrayLike<number>, positions: readonly number[], fixed: FixedCells | undefined): unknown[][] {
  if (slots.length === 0) return [];
  const width = positions.length;
  let rows: TraverseRow[] | undefined;
  if (space.lazy) {
    // Only cells that neither `fixed` nor `keyBase` give need the columns (made in one scan on
    // first use), and only those no coding or numeric vector holds need the rows.
    const wanted = positions.filter((p) => fixed?.has(p) !== true && space.keyBaseAt(p) === undefined);
    space.prepareColumns(wanted);
    if (wanted.some((p) => space.codesIfMade(p)?.values === undefined && space.numbersIfMade(p) === undefined)) {
      rows = new Array<TraverseRow>(slots.length);
      for (let i = 0; i < slots.length; i++) rows[i] = space.row(slots[i]!)!;
    }
  }
  const columns: unknown[][] = [];
  for (let j = 0; j < width; j++) columns.push(cellsAt(space, slots, positions[j]!, fixed, rows));
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

/**
 * The cells at row position `pos` of the rows at `slots`, in order (see `tuplesAt`); `rows`: the
 * rows at `slots` when the slot space keeps none and some column has neither codes nor numbers.
 */
function cellsAt(space: KeySlots, slots: ArrayLike<number>, pos: number, fixed: FixedCells | undefined, rows: readonly TraverseRow[] | undefined): unknown[] {
  const n = slots.length;
  if (fixed !== undefined && fixed.has(pos)) return new Array<unknown>(n).fill(fixed.get(pos));
  const cells = new Array<unknown>(n);
  const base = space.keyBaseAt(pos);
  if (base !== undefined) {
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
  const numbers = space.numbersIfMade(pos);
  if (numbers !== undefined) {
    for (let i = 0; i < n; i++) cells[i] = numbers.cell(slots[i]!);
    return cells;
  }
  if (rows !== undefined) {
    for (let i = 0; i < n; i++) cells[i] = rows[i]![pos];
    return cells;
  }
  const column = space.column(pos);
  for (let i = 0; i < n; i++) cells[i] = column[slots[i]!];
  return cells;
}
