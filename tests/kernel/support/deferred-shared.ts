/** Shared by the deferred index tests and their child process. */
export const D_TABLE = ["d", "t"];
const D_COLUMNS = [[["k", "/state/scalar/value/number/uint/32"]], [["w", "/state/scalar/value/string", 8]]];
export const D_SCHEMA = [D_COLUMNS, [["by_w", ["w"]]]];
/** The schemas the child may change D_SCHEMA to: an index added, or another index where `by_w` was (`by_w` rebuilt after it). */
export const D_ALTERED = { add: [D_COLUMNS, [["by_w", ["w"]], ["by_k_w", ["k", "w"]]]], rebuild: [D_COLUMNS, [["by_k_w", ["k", "w"]], ["by_w", ["w"]]]] };

/**
 * Commits of `[key, w]` writes (`w` undefined: a delete), the same every run: keys 0–59, each
 * commit a handful of inserts, updates of `w` and deletes, now and then a bigger one (none in
 * the last 40, so that their log records are left to the compactions).
 */
export function deferredWorkload(): [number, string | undefined][][] {
  let seed = 7;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const commits: [number, string | undefined][][] = [];
  for (let c = 0; c < 80; c++) {
    const writes: [number, string | undefined][] = [];
    const n = c % 9 === 8 && c < 40 ? 20 : 1 + next(4);
    for (let i = 0; i < n; i++) writes.push([next(60), next(5) === 0 ? undefined : `w${next(40)}`]);
    commits.push(writes);
  }
  return commits;
}
