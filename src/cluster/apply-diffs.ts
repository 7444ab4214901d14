/**
 * Writing what an op changed back to the shards: each table's deleted keys and written rows go to
 * the shard their key hashes to (or the table's placed shard), on every host of that shard, in
 * chunks — deletes first, then the rows as bulk inserts (a changed row is deleted and inserted).
 */
import type { TableInfo } from "./catalog.js";
import { type ClusterTxn, type HostPool, writeAll } from "./hosts.js";
import { keyHash, shardOfHash, type ShardSpec } from "./layout.js";
import type { TableDiff } from "./local-run.js";
import { deleteOp, insertRowsOp } from "./wire-ops.js";

/** Keys deleted, or rows inserted, per request. */
const APPLY_CHUNK = 500;

/**
 * Applies `diffs` inside `txn`, joining the shards it writes.
 *
 * @example
 * ```ts
 * await applyDiffs(txn, pool, shards, catalog, outcome.diffs, (t) => placement[t]);
 * ```
 */
export async function applyDiffs(
  txn: ClusterTxn,
  pool: HostPool,
  shards: readonly ShardSpec[],
  catalog: ReadonlyMap<string, TableInfo>,
  diffs: ReadonlyMap<string, TableDiff>,
  placedOf: (table: string) => number | undefined,
): Promise<void> {
  const perShard = new Map<number, { deletes: [string, unknown[]][]; inserts: Map<string, unknown[][]> }>();
  const slot = (s: number) => {
    let v = perShard.get(s);
    if (v === undefined) perShard.set(s, (v = { deletes: [], inserts: new Map() }));
    return v;
  };
  for (const [table, d] of diffs) {
    const info = catalog.get(table)!;
    const placed = placedOf(table);
    const shardOf = (key: unknown[]): number => placed ?? shardOfHash(shards, keyHash(key));
    for (const key of d.deletes) slot(shardOf(key)).deletes.push([table, key]);
    for (const row of d.upserts) {
      const key = row.slice(0, info.keyCount);
      const s = slot(shardOf(key));
      s.deletes.push([table, key]);
      const list = s.inserts.get(table) ?? [];
      list.push(row);
      s.inserts.set(table, list);
    }
  }
  await txn.widen(pool, perShard.keys());
  await Promise.all(
    [...perShard].map(async ([s, w]) => {
      for (let i = 0; i < w.deletes.length; i += APPLY_CHUNK) {
        const d = deleteOp(w.deletes.slice(i, i + APPLY_CHUNK));
        await writeAll(txn, s, (r) => r.execute(d.op, d.args));
      }
      for (const [table, rows] of w.inserts) {
        for (let i = 0; i < rows.length; i += APPLY_CHUNK * 4) {
          const ins = insertRowsOp(table, rows.slice(i, i + APPLY_CHUNK * 4));
          await writeAll(txn, s, (r) => r.execute(ins.op, ins.args));
        }
      }
    }),
  );
}
