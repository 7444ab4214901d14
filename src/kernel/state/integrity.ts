/**
 * Referential integrity (PROFILE §3 "Foreign keys"): the `WriteGuard` a database gives each of its
 * tables. A column with the `references` option holds a key of the target table (its one key
 * column) or null:
 *
 * - after a row is written, each non-null reference that changed must be a key of its target
 *   (one point get per reference), else `ForeignKeyError`;
 * - after a row is removed, the rows pointing at its key are dealt with per `on_delete`:
 *   `restrict` → `ForeignKeyError`; `cascade` → removed too (recursively: their removal is
 *   guarded the same way); `set null` → the column set to null.
 *
 * Everything runs inside the request that wrote: a throw undoes the whole request (the undo log),
 * cascades included. A table created before references were carried in schemas has none and is
 * not checked.
 */
import { BadRequestError, ForeignKeyError } from "../../errors.js";
import type { IndexKey, KeyCell } from "../storage/index-keys.js";
import { normCell } from "../storage/index-keys.js";
import type { EqualityLookup } from "../storage/equality-lookup.js";
import type { Table, WriteGuard, WriteLog } from "../storage/table-engine.js";
import type { Cell, Column, Row } from "../storage/table-schema.js";
import { cellDetail } from "../storage/table-schema.js";

/** A column of some table that references another table. */
interface Referrer {
  readonly table: Table;
  readonly column: Column;
}

/** What the guard needs of the database: its tables. */
export interface TableDirectory {
  /** The attached table at `/state/<ns>/<name>`, if any. */
  lookup(ns: string, name: string): Table | undefined;
  /** Every attached table. */
  allTables(): Iterable<Table>;
}

/**
 * The integrity rules of one database.
 *
 * @example
 * ```ts
 * const integrity = new Integrity(db);
 * table.guard = integrity; // when the table is attached
 * integrity.invalidate();  // after any table is attached or detached
 * ```
 */
export class Integrity implements WriteGuard {
  /** Tables referencing each table path, computed on first need after each catalog change. */
  private referrers: Map<string, Referrer[]> | undefined;

  constructor(private readonly tables: TableDirectory) {}

  /** Forgets what it knows of the catalog (call after a table is attached or detached). */
  invalidate(): void {
    this.referrers = undefined;
  }

  private referrersOf(path: string): readonly Referrer[] {
    if (this.referrers === undefined) {
      const map = new Map<string, Referrer[]>();
      for (const table of this.tables.allTables()) {
        for (const column of table.schema.columns) {
          const r = column.references;
          if (r === undefined) continue;
          let list = map.get(r.table);
          if (list === undefined) map.set(r.table, (list = []));
          list.push({ table, column });
        }
      }
      this.referrers = map;
    }
    return this.referrers.get(path) ?? NONE;
  }

  private target(from: Table, column: Column): Table {
    const path = column.references!.table;
    const [, , ns, name] = path.split("/");
    const t = this.tables.lookup(ns!, name!);
    if (t === undefined) {
      throw new BadRequestError(`${from.path}: column ${JSON.stringify(column.name)} references ${path}, which does not exist`);
    }
    if (t.schema.keyColumns.length !== 1) {
      throw new BadRequestError(`${from.path}: column ${JSON.stringify(column.name)} references ${path}, whose key has ${t.schema.keyColumns.length} columns (a reference needs a one-column key)`);
    }
    return t;
  }

  watchesRemovals(table: Table): boolean {
    return this.referrersOf(table.path).length > 0;
  }

  written(table: Table, row: Row, old: Row | undefined): void {
    const cols = table.schema.columns;
    for (let i = 0; i < cols.length; i++) {
      const column = cols[i]!;
      if (column.references === undefined) continue;
      const cell = row[i]!;
      if (cell === null) continue;
      if (old !== undefined && old[i] !== null && normCell(old[i]!) === normCell(cell)) continue;
      this.mustExist(table, column, this.target(table, column), cell);
    }
  }

  insertedMany(table: Table, rows: readonly Row[]): void {
    for (const column of table.schema.columns) {
      if (column.references === undefined) continue;
      const target = this.target(table, column);
      // One lookup per distinct key: a bulk insert often points many rows at few targets.
      const seen = new Set<KeyCell>();
      const p = column.position;
      for (const row of rows) {
        const cell = row[p]!;
        if (cell === null) continue;
        const key = normCell(cell);
        if (seen.has(key)) continue;
        seen.add(key);
        this.mustExist(table, column, target, cell);
      }
    }
  }

  private mustExist(table: Table, column: Column, target: Table, cell: Cell): void {
    if (target.has(normCell(cell))) return;
    const targetKey = target.schema.keyColumns[0]!.name;
    throw new ForeignKeyError(
      `${table.path}: column ${JSON.stringify(column.name)} = ${text(cell)} references no row of ${target.path} (no ${targetKey} ${text(cell)}); nothing was written`,
      { table: table.path, columns: [column.name], key: [cellDetail(cell)], references: { table: target.path, columns: [targetKey] } },
    );
  }

  removed(table: Table, old: Row, log: WriteLog | undefined): void {
    const referrers = this.referrersOf(table.path);
    if (referrers.length === 0) return;
    const keyCell = old[0]!;
    const key = normCell(keyCell);
    for (const { table: from, column } of referrers) {
      if (!from.attached) continue;
      const rows = rowsReferencing(from, column, key);
      if (rows.length === 0) continue;
      const action = column.references!.onDelete;
      if (action === "restrict") {
        const targetKey = table.schema.keyColumns[0]!.name;
        throw new ForeignKeyError(
          `${table.path}: cannot delete the row with ${targetKey} ${text(keyCell)}: ${rows.length} row(s) of ${from.path} reference it (column ${JSON.stringify(column.name)}, on delete restrict); nothing was deleted`,
          { table: from.path, columns: [column.name], key: [cellDetail(keyCell)], references: { table: table.path, columns: [targetKey] } },
        );
      }
      for (const row of rows) {
        const k: IndexKey = from.primaryKeyOf(row);
        // A cascade may already have removed or changed this row.
        const current = from.get(k);
        if (current === undefined || current[column.position] === null || normCell(current[column.position]!) !== key) continue;
        if (action === "cascade") {
          from.remove(k, log);
        } else {
          const next = current.slice();
          next[column.position] = null;
          from.write(next, "upsert", log);
        }
      }
    }
  }
}

const NONE: readonly Referrer[] = Object.freeze([]);

/** Prepared lookups by table and column (`null`: no index starts with the column, so a scan). */
const LOOKUPS = new WeakMap<Table, Map<string, EqualityLookup | null>>();

function text(c: Cell): string {
  const d = cellDetail(c);
  return typeof d === "string" ? JSON.stringify(d) : String(d);
}

/** The rows of `table` whose `column` equals `key`: through an index starting with it when there is one, else a scan. */
function rowsReferencing(table: Table, column: Column, key: KeyCell): Row[] {
  const out: Row[] = [];
  let lookups = LOOKUPS.get(table);
  if (lookups === undefined) LOOKUPS.set(table, (lookups = new Map()));
  let lookup = lookups.get(column.name);
  if (lookup === undefined) {
    const served = table.indexes.some((ix) => ix.columns[0]?.name === column.name);
    lookup = served ? table.equalityLookup([column.name]) : null;
    lookups.set(column.name, lookup);
  }
  if (lookup !== null) {
    lookup([key], out);
    return out;
  }
  const p = column.position;
  table.scan(table.plan([]), (row) => {
    const c = row[p];
    if (c !== null && c !== undefined && normCell(c) === key) out.push(row);
  });
  return out;
}
