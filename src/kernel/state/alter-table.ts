/**
 * `PUT /state/<ns>/<table>/alter` (PROFILE §6.13): changes a table's schema inside the current
 * transaction. A new table of the new schema replaces the old one in the catalog — rename
 * included. When the stored rows fit the new schema as they are (columns kept in place, new
 * columns appended with a constant or null cell, indexes added or dropped) the new table takes
 * them over (`Table.adoptRows`: same rows, same table id on a durable store, the new columns read
 * from its `fill`) and builds only the new indexes; otherwise the rows are rewritten into it (a
 * new table id) and every secondary index is built over them. Both catalog changes go through
 * the undo log, so a failed request or a rollback puts the old table back, and a durable commit
 * writes the catalog change, the rows or index entries and the row count in one lmdb transaction
 * (storage/lmdb-store.ts): a crash leaves the old table or the new one, never a mix.
 */
import { BadRequestError, ConflictError } from "../../errors.js";
import { assertId } from "../../ir/id.js";
import { normCell } from "../storage/index-keys.js";
import type { RowFill, Table } from "../storage/table-engine.js";
import { type Cell, type Column, type Row, type TableSchema, checkCell, describeValue, mapEntries, parseSchema } from "../storage/table-schema.js";
import type { Catalog, UndoLog } from "./undo-log.js";

/** What an alter needs of the database: its catalog and new tables of its engine. */
export interface AlterHost extends Catalog {
  lookup(ns: string, name: string): Table | undefined;
  newTable(path: string, schema: TableSchema): Table;
}

/** Where a new column's cells come from. */
type Source =
  | { readonly kind: "column"; readonly from: Column }
  | { readonly kind: "value"; readonly value: unknown }
  | { readonly kind: "values"; readonly values: readonly unknown[] };

/** Most offending values a unique check lists. */
const MAX_LISTED = 10;

function bad(path: string, message: string): never {
  throw new BadRequestError(`${path}/alter: ${message}`);
}

function tupleOf(v: unknown): readonly unknown[] | undefined {
  return Array.isArray(v) ? v : undefined;
}

function parseSource(path: string, old: TableSchema, name: string, raw: unknown, rows: number): Source {
  const a = tupleOf(raw);
  if (!a || a.length !== 2 || typeof a[0] !== "string") {
    bad(path, `the source of column ${JSON.stringify(name)} is ["column", old_name], ["value", v] or ["values", [v, …]], got ${describeValue(raw)}`);
  }
  switch (a[0]) {
    case "column": {
      const from = typeof a[1] === "string" ? old.column(a[1]) : undefined;
      if (!from) bad(path, `column ${JSON.stringify(name)} is taken from unknown column ${describeValue(a[1])}`);
      return { kind: "column", from };
    }
    case "value":
      return { kind: "value", value: a[1] };
    case "values": {
      const values = tupleOf(a[1]);
      if (!values) bad(path, `column ${JSON.stringify(name)}: "values" takes a tuple, got ${describeValue(a[1])}`);
      if (values.length !== rows) {
        bad(path, `column ${JSON.stringify(name)}: "values" has ${values.length} values for ${rows} rows (one per row, in key order)`);
      }
      return { kind: "values", values };
    }
    default:
      return bad(path, `unknown source kind ${JSON.stringify(a[0])} for column ${JSON.stringify(name)} (column, value or values)`);
  }
}

function sameType(a: Column, b: Column): boolean {
  return a.dtype === b.dtype && (b.maxLen === undefined || (a.maxLen !== undefined && a.maxLen <= b.maxLen)) && (b.nullable || !a.nullable);
}

/**
 * Runs `PUT <table>/alter` with body `{schema, columns?, rename?, unique?, expect?}`; answers the
 * number of rows rewritten.
 *
 * @example
 * ```ts
 * // add a column "age" (null in every row) and rename the table
 * alterTable(log, host, table, "app", "people", { schema: newSchemaJson, columns: { age: ["value", null] }, rename: "users" });
 * ```
 */
export function alterTable(log: UndoLog, host: AlterHost, table: Table, ns: string, name: string, value: unknown): number {
  const path = table.path;
  const body = mapEntries(value);
  if (body === undefined) bad(path, `the body is a map {schema, columns?, rename?, unique?, expect?}, got ${describeValue(value)}`);
  for (const k of Object.keys(body)) {
    if (!["schema", "columns", "rename", "unique", "expect"].includes(k)) bad(path, `unknown field ${JSON.stringify(k)} (schema, columns, rename, unique, expect)`);
  }
  if (body.expect !== undefined && body.expect !== null) {
    const expected = parseSchema(body.expect);
    if (expected.canonical !== table.schema.canonical) {
      throw new ConflictError(`${path}/alter: the table's schema is no longer the expected one (it changed since the change was planned): found ${table.schema.canonical}, expected ${expected.canonical}`);
    }
  }
  if (body.schema === undefined) bad(path, "the body needs the new schema (field \"schema\")");
  const schema = parseSchema(body.schema);
  const rename = body.rename ?? null;
  if (rename !== null && typeof rename !== "string") bad(path, `rename takes a table name, got ${describeValue(rename)}`);
  const newName = rename === null ? name : assertId(rename, "table name");
  if (newName !== name && host.lookup(ns, newName) !== undefined) {
    throw new ConflictError(`${path}/alter: cannot rename to /state/${ns}/${newName}: a table exists there`);
  }
  const n = table.size;
  const given = body.columns === undefined || body.columns === null ? {} : mapEntries(body.columns);
  if (given === undefined) bad(path, `columns takes a map {new_column: source}, got ${describeValue(body.columns)}`);
  for (const k of Object.keys(given)) if (!schema.column(k)) bad(path, `columns names ${JSON.stringify(k)}, which the new schema does not have`);
  const sources: Source[] = schema.columns.map((c) => {
    if (c.name in given) return parseSource(path, table.schema, c.name, given[c.name], n);
    const same = table.schema.column(c.name);
    if (same) return { kind: "column", from: same };
    if (c.nullable) return { kind: "value", value: null };
    return bad(path, `new column ${JSON.stringify(c.name)} is not nullable and has no source: give ["value", v] or ["values", [v, …]]`);
  });
  const unique = body.unique === undefined || body.unique === null ? [] : tupleOf(body.unique);
  if (unique === undefined) bad(path, `unique takes a tuple of column names, got ${describeValue(body.unique)}`);
  const uniqueCols = unique.map((u) => {
    const c = typeof u === "string" ? schema.column(u) : undefined;
    if (!c) bad(path, `unique names unknown column ${describeValue(u)}`);
    return c;
  });

  // Constant cells are checked once; copied cells only when the column's type is not a superset.
  const where = `/state/${ns}/${newName}`;
  const cols = schema.columns;
  const oldCols = table.schema.columns;
  const constants: (Cell | undefined)[] = sources.map((s, i) => (s.kind === "value" ? checkCell(cols[i]!, s.value, where) : undefined));
  // The stored rows fit the new schema as they are when every old column is copied in place with
  // a type its cells fit, and the new columns come after them with one cell for every row: the
  // new table then shares the old one's rows (no row is copied or rewritten) and reads the new
  // columns' cells from its `fill` wherever a row lacks them.
  const inPlace =
    cols.length >= oldCols.length &&
    schema.keyColumns.length === table.schema.keyColumns.length &&
    sources.every((s, c) =>
      c < oldCols.length ? s.kind === "column" && s.from.position === c && sameType(s.from, cols[c]!) && cols[c]!.isKey === oldCols[c]!.isKey : s.kind === "value",
    );
  const next = host.newTable(where, schema);
  next.keyByteLimit = table.keyByteLimit;
  if (inPlace && next.adoptRows !== undefined) {
    if (uniqueCols.length > 0) {
      const rows: Row[] = [];
      table.scan(table.plan([]), (old) => void rows.push(old));
      const filled = cols.length === oldCols.length ? rows : rows.map((r) => [...r, ...constants.slice(oldCols.length)] as Row);
      for (const c of uniqueCols) checkUnique(where, schema, filled, c);
    }
    const fill: RowFill | undefined =
      cols.length === oldCols.length
        ? table.fill
        : {
            from: table.fill?.from ?? oldCols.length,
            cells: [...(table.fill?.cells ?? []), ...(constants.slice(oldCols.length) as Cell[])],
          };
    if (next.adoptRows(table, fill)) return swap(log, host, table, next, ns, name, newName, n);
  }
  const identity = inPlace && cols.length === oldCols.length;
  const rows = new Array<Row>(n);
  let i = 0;
  if (identity) table.scan(table.plan([]), (old) => void (rows[i++] = old));
  else {
    // Per column: copied as it is, copied and checked, a constant, or one value per row.
    const asIs = sources.map((s, c) => s.kind === "column" && sameType(s.from, cols[c]!));
    // The rows as stored: a row stored before columns were appended lacks their cells (the fill's).
    const fill = table.fill;
    const rewrite = (old: Row): void => {
      const row = new Array<Cell>(cols.length);
      for (let c = 0; c < cols.length; c++) {
        const s = sources[c]!;
        if (s.kind === "column") {
          const p = s.from.position;
          const cell = p < old.length ? old[p]! : fill!.cells[p - fill!.from]!;
          row[c] = asIs[c] ? cell : checkCell(cols[c]!, cell, where);
        } else if (s.kind === "value") row[c] = constants[c]!;
        else row[c] = checkCell(cols[c]!, s.values[i], where);
      }
      rows[i++] = row;
    };
    if (fill !== undefined && table.scanStored !== undefined) table.scanStored(rewrite);
    else table.scan(table.plan([]), rewrite);
  }
  for (const c of uniqueCols) checkUnique(where, schema, rows, c);
  // Cells copied as they are, in place: with the key columns among them, the rewritten rows have
  // the old rows' keys, and a durable table writes them over the stored ones.
  const unchanged = sources.map((s, c) => s.kind === "column" && s.from.position === c && sameType(s.from, cols[c]!) && s.from.dtype === cols[c]!.dtype);
  const sameKeys = schema.keyColumns.length === table.schema.keyColumns.length && schema.keyColumns.every((k) => unchanged[k.position] && oldCols[k.position]!.isKey);
  if (!(sameKeys && next.replaceRows !== undefined && next.replaceRows(table, rows, unchanged))) next.insertMany(rows, undefined);
  return swap(log, host, table, next, ns, name, newName, n);
}

/** Replaces `table` with `next` in the catalog, through the undo log; answers `rows`. */
function swap(log: UndoLog, host: AlterHost, table: Table, next: Table, ns: string, name: string, newName: string, rows: number): number {
  host.detach(ns, name);
  log.dropped(table, ns, name);
  host.attach(ns, newName, next);
  log.created(next, ns, newName);
  return rows;
}

function keyText(schema: TableSchema, row: Row): string {
  return JSON.stringify(schema.keyColumns.map((k) => row[k.position]));
}

/** Refuses (409) when two rows hold the same non-null value in `col`, listing them. */
function checkUnique(path: string, schema: TableSchema, rows: readonly Row[], col: Column): void {
  const seen = new Map<unknown, Row[]>();
  for (const row of rows) {
    const cell = row[col.position];
    if (cell === null || cell === undefined) continue;
    // The index's key form: equal cells are equal keys (links by href, bytes by content).
    const k = normCell(cell);
    const list = seen.get(k);
    if (list) list.push(row);
    else seen.set(k, [row]);
  }
  const dups = [...seen.values()].filter((l) => l.length > 1);
  if (dups.length === 0) return;
  const listed = dups.slice(0, MAX_LISTED).map((l) => `${JSON.stringify(l[0]![col.position])} at keys ${l.map((r) => keyText(schema, r)).join(", ")}`);
  const more = dups.length > MAX_LISTED ? `; and ${dups.length - MAX_LISTED} more repeated values` : "";
  throw new ConflictError(`${path}: cannot make column ${col.name} unique: existing rows repeat ${dups.length} value(s): ${listed.join("; ")}${more}`);
}
