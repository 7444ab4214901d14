/**
 * Sorting a few hundred slots for a result page. V8's `TypedArray.prototype.sort` costs about
 * 50 ns an element at this size — as much as the hop that found the slots — while slots of one
 * page are usually spread evenly over their range: one counting pass into buckets by value puts
 * nearly every slot where it belongs, and an insertion pass finishes the few that share a bucket.
 * Uneven sets (a bucket holding many) go to the built-in sort instead.
 */

/** Sets up to this size take the bucket pass; larger ones the built-in sort. */
const BUCKET_MAX = 4096;
/** Bucket counts, reused: one per element (the prefix pass also reads slot n, always 0). */
const counts = new Int32Array(BUCKET_MAX + 1);

/**
 * Writes `values[0 … n)` — non-negative integers below 2^31, such as slots — into
 * `out[0 … n)` in ascending order. `out` must hold at least `n` elements.
 *
 * @example
 * ```ts
 * const out = new Int32Array(4);
 * sortSlotsInto([30, 10, 20, 0], 4, out); // out: 0, 10, 20, 30
 * ```
 */
export function sortSlotsInto(values: readonly number[], n: number, out: Int32Array): void {
  if (n > BUCKET_MAX || !bucketSort(values, n, out)) {
    for (let i = 0; i < n; i++) out[i] = values[i]!;
    out.subarray(0, n).sort();
  }
}

/**
 * One counting pass into `n` buckets over [min, max], then an insertion pass; false (and `out`
 * unspecified) when the buckets are so uneven that the insertion pass could take more than a
 * few moves per element.
 */
function bucketSort(values: readonly number[], n: number, out: Int32Array): boolean {
  if (n === 0) return true;
  let lo = values[0]!;
  let hi = lo;
  for (let i = 1; i < n; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    else if (v > hi) hi = v;
  }
  // Bucket of v: floor((v - lo) · n / (hi - lo + 1)), in [0, n) also for v = hi after rounding.
  const scale = n / (hi - lo + 1);
  counts.fill(0, 0, n + 1);
  for (let i = 0; i < n; i++) counts[((values[i]! - lo) * scale) | 0]!++;
  // Insertion within a bucket of c elements moves at most c²/2 of them.
  let start = 0;
  let squares = 0;
  for (let b = 0; b <= n; b++) {
    const c = counts[b]!;
    counts[b] = start;
    start += c;
    squares += c * c;
  }
  if (squares > 8 * n) return false;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    out[counts[((v - lo) * scale) | 0]!++] = v;
  }
  for (let i = 1; i < n; i++) {
    const v = out[i]!;
    let k = i - 1;
    while (k >= 0 && out[k]! > v) {
      out[k + 1] = out[k]!;
      k--;
    }
    out[k + 1] = v;
  }
  return true;
}
