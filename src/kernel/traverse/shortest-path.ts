/**
 * `shortest` results: a breadth-first search over one hop's relation from the start rows (in key
 * order), taking neighbors in canonical order, to the first row passing the `to` filters at a
 * depth within `[min, max]`. The answer is that path, or `null`.
 */
import type { BoundFilter, BoundHop } from "./binding.js";
import { keyId } from "./row-order.js";
import type { TraverseRow } from "./store.js";
import type { TraversalRun } from "./traversal-run.js";
import { matchesOp } from "./values.js";

/** A reached row and the id of the row it was reached from (`null` for a start row). */
interface Parent {
  readonly row: TraverseRow;
  readonly prev: unknown;
}

/**
 * The shortest path over `bh` from `start` to a row passing `to`: a tuple of `[table, row]`
 * pairs from start to end, or `null`.
 *
 * @example
 * ```ts
 * shortestPath(run, run.startRows(startFilters, "users"), steps[0].hop, [{ pos: 0, op: "=", value: 9 }]);
 * ```
 */
export function shortestPath(run: TraversalRun, start: TraverseRow[], bh: BoundHop, to: readonly BoundFilter[]): unknown {
  const keyCount = run.shape(bh.hop.source).keyCount;
  const isTarget = (r: TraverseRow): boolean => to.every((f) => matchesOp(r[f.pos], f.op, f.value));
  const parent = new Map<unknown, Parent>();
  let frontier: { id: unknown; row: TraverseRow }[] = [];
  for (const r of start) {
    const id = keyId(r, keyCount);
    if (parent.has(id)) continue;
    parent.set(id, { row: r, prev: null });
    if (bh.hop.min === 0 && isTarget(r)) return pathTo(parent, id, bh);
    frontier.push({ id, row: r });
  }
  for (let depth = 1; depth <= bh.hop.max && frontier.length > 0; depth++) {
    const next: { id: unknown; row: TraverseRow }[] = [];
    for (const f of frontier) {
      for (const n of run.neighbors(bh, f.row, true)) {
        if (parent.has(n.nodeId)) continue;
        parent.set(n.nodeId, { row: n.node, prev: f.id });
        if (depth >= bh.hop.min && isTarget(n.node)) return pathTo(parent, n.nodeId, bh);
        next.push({ id: n.nodeId, row: n.node });
      }
    }
    frontier = next;
  }
  return null;
}

function pathTo(parent: Map<unknown, Parent>, id: unknown, bh: BoundHop): unknown {
  const out: unknown[] = [];
  let at: unknown = id;
  while (at !== null) {
    const p: Parent = parent.get(at)!;
    out.push([bh.hop.target, p.row]);
    at = p.prev;
  }
  return out.reverse();
}
