/**
 * The undo log of a state transaction. Writes change the tables in place; the log records what
 * each one replaced (a row, a created or dropped table, a table's state before a truncate or a
 * bulk load), so a failed request or a rollback can put it back (`undoTo`), and a commit can turn
 * it into the write set the durable store flushes in one lmdb transaction (`writeSet`).
 */
import type { StoreOp } from "../storage/lmdb-store.js";
import { LmdbTable } from "../storage/lmdb-table.js";
import { isTable } from "../storage/table-base.js";
import type { Table, TableState, WriteLog } from "../storage/table-engine.js";
import type { IndexKey } from "../storage/index-keys.js";
import type { Row } from "../storage/table-schema.js";

/** The table catalog an undo puts created and dropped tables back into. */
export interface Catalog {
  attach(ns: string, name: string, table: Table): void;
  detach(ns: string, name: string): void;
}

// Undo log layout: flat triples. A row change is [table, key, oldRow]; the other entries put a
// marker in the first slot: [CREATE, table, [ns, name]], [DROP, table, [ns, name]],
// [TRUNCATE, table, savedState], [BULK, table, savedState].
const CREATE = { entry: "create" } as const;
const DROP = { entry: "drop" } as const;
const TRUNCATE = { entry: "truncate" } as const;
const BULK = { entry: "bulk" } as const;
type Marker = typeof CREATE | typeof DROP | typeof TRUNCATE | typeof BULK;

/**
 * The writes of one transaction, newest last: each `Txn` (transaction.ts) keeps one, the table
 * routes record into it, and tables report row changes to it (`WriteLog`).
 *
 * @example
 * ```ts
 * const mark = log.mark();
 * table.write(row, "upsert", log);
 * log.undoTo(mark, catalog); // the row is back as it was
 * ```
 */
export class UndoLog implements WriteLog {
  private entries: unknown[] = [];
  /** Tables whose committed state stays readable while this log's transaction writes them. */
  private preserved: Set<Table> | undefined;

  get preservesCommitted(): boolean {
    return this.preserved !== undefined;
  }

  rowChanged(table: Table, key: IndexKey, old: Row | undefined): void {
    if (this.preserved !== undefined) this.preserve(table);
    this.entries.push(table, key, old);
  }
  truncated(table: Table, saved: TableState): void {
    if (this.preserved !== undefined) this.preserve(table);
    this.entries.push(TRUNCATE, table, saved);
  }
  bulkLoaded(table: Table, saved: TableState): void {
    if (this.preserved !== undefined) this.preserve(table);
    this.entries.push(BULK, table, saved);
  }

  /**
   * From now on, before the first change to each table, has the table keep its committed state
   * readable (`Table.preserveCommitted`): a session's log, so that reads need not wait for it.
   */
  preserveCommitted(): void {
    this.preserved ??= new Set();
  }

  /** Lets go of what `preserveCommitted` kept (the transaction has ended). */
  releaseCommitted(): void {
    if (this.preserved === undefined) return;
    for (const t of this.preserved) t.releaseCommitted();
    this.preserved = undefined;
  }

  private preserve(table: Table): void {
    if (this.preserved!.has(table)) return;
    this.preserved!.add(table);
    table.preserveCommitted();
  }
  /** Records that `table` was created at `/state/<ns>/<name>`. */
  created(table: Table, ns: string, name: string): void {
    this.entries.push(CREATE, table, [ns, name]);
  }
  /** Records that `table` was dropped from `/state/<ns>/<name>`. */
  dropped(table: Table, ns: string, name: string): void {
    this.entries.push(DROP, table, [ns, name]);
  }

  /** A point to undo back to (`undoTo`). */
  mark(): number {
    return this.entries.length;
  }

  /** True when nothing was written. */
  isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** Forgets every entry (the writes stay). */
  clear(): void {
    this.entries = [];
  }

  /** Undoes every write recorded since `mark`, newest first. */
  undoTo(mark: number, catalog: Catalog): void {
    const log = this.entries;
    for (let i = log.length - 3; i >= mark; i -= 3) {
      const a = log[i];
      const table = log[i + 1] as Table;
      if (isTable(a)) {
        a.restoreRow(table as unknown as IndexKey, log[i + 2] as Row | undefined);
        continue;
      }
      const m = a as Marker;
      if (m === CREATE) {
        const [ns, name] = log[i + 2] as [string, string];
        catalog.detach(ns, name);
      } else if (m === DROP) {
        const [ns, name] = log[i + 2] as [string, string];
        catalog.attach(ns, name, table);
      } else {
        table.restoreState(log[i + 2] as TableState);
      }
    }
    log.length = mark;
  }

  /**
   * The durable changes of the logged writes: tables created and dropped, in order, then one
   * flush per durable table written (its pending writes, frozen by the store when it writes them).
   */
  writeSet(): StoreOp[] {
    const log = this.entries;
    const ops: StoreOp[] = [];
    const created = new Set<Table>();
    for (let i = 0; i < log.length; i += 3) if (log[i] === CREATE) created.add(log[i + 1] as Table);
    // A schema change that took over the old table's stored rows (`Table.adoptRows`) creates a
    // table with the dropped one's id: its catalog entry is rewritten, its rows are not removed.
    const kept = new Set<number>();
    for (const t of created) if (t.attached && t.durable) kept.add(t.tid);
    const written = new Set<Table>();
    for (let i = 0; i < log.length; i += 3) {
      const a = log[i];
      const table = log[i + 1] as Table;
      if (isTable(a)) {
        written.add(a);
      } else if (a === CREATE) {
        if (!table.attached) continue;
        ops.push({ kind: "create", tid: table.tid, path: table.path, schema: table.schema.toJson(), fill: table.fill });
        written.add(table);
      } else if (a === DROP) {
        if (!created.has(table) && !kept.has(table.tid)) ops.push({ kind: "drop", tid: table.tid });
      } else {
        written.add(table);
      }
    }
    for (const t of written) if (t.attached && t instanceof LmdbTable) ops.push({ kind: "flush", table: t });
    return ops;
  }
}
