/**
 * Ordering results: the comparator (order keys, nulls first ascending and last descending, then
 * the plan's tiebreak) and a bounded max-heap keeping the first `k` items of a stream without
 * sorting every match — the candidate is compared against the heap's worst before anything is
 * copied.
 */
import { compareValues } from "./compiled.js";

/** Anything ordered by its order-key values, then a tiebreak. */
export interface Keyed {
  readonly keys: readonly unknown[];
}

/**
 * The comparator of order keys (`desc` per key), then `tie`.
 *
 * @example
 * ```ts
 * const cmp = orderComparator([false, true], (a, b) => comparePks(a, b));
 * items.sort(cmp);
 * ```
 */
export function orderComparator<T extends Keyed>(desc: readonly boolean[], tie: (a: T, b: T) => number): (a: T, b: T) => number {
  const n = desc.length;
  return (a, b) => {
    const ka = a.keys;
    const kb = b.keys;
    for (let i = 0; i < n; i++) {
      const c = compareValues(ka[i], kb[i]);
      if (c !== 0) return desc[i] ? -c : c;
    }
    return tie(a, b);
  };
}

/**
 * The `k` smallest items under `cmp`, kept in a max-heap.
 *
 * @example
 * ```ts
 * const top = new TopK(20, cmp);
 * if (top.admits(candidate)) top.push(copyOf(candidate));
 * top.sorted(); // the 20 smallest, in order
 * ```
 */
export class TopK<T> {
  private readonly heap: T[] = [];
  constructor(
    private readonly k: number,
    private readonly cmp: (a: T, b: T) => number,
  ) {}

  /** The largest item kept, once `k` are kept (a candidate must sort before it to enter). */
  worst(): T | undefined {
    return this.heap.length < this.k ? undefined : this.heap[0];
  }

  /** True when `candidate` belongs among the `k` smallest so far (then `push` a copy of it). */
  admits(candidate: T): boolean {
    if (this.k === 0) return false;
    return this.heap.length < this.k || this.cmp(candidate, this.heap[0]!) < 0;
  }

  /** Adds an item `admits` accepted (dropping the largest when full). */
  push(item: T): void {
    const h = this.heap;
    const cmp = this.cmp;
    if (h.length < this.k) {
      let i = h.length;
      h.push(item);
      while (i > 0) {
        const p = (i - 1) >> 1;
        const x = h[i]!;
        if (cmp(x, h[p]!) <= 0) break;
        h[i] = h[p]!;
        h[p] = x;
        i = p;
      }
      return;
    }
    h[0] = item;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && cmp(h[r]!, h[l]!) > 0 ? r : l;
      const x = h[i]!;
      if (cmp(h[c]!, x) <= 0) break;
      h[i] = h[c]!;
      h[c] = x;
      i = c;
    }
  }

  /** The items kept, smallest first. */
  sorted(): T[] {
    return this.heap.slice().sort(this.cmp);
  }
}
