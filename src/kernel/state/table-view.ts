/**
 * `TableView`: a lazy view of a table — a scan plan (range, order), then optionally a limit and a
 * projection. Views chain (`$v/limit`, `$v/select`, …); rows are read only when asked for, in the
 * serving index's order. The kernel turns a view into its JSON form with `toJson()`.
 */
import { PATHS, type Json, type Link } from "../../ir/types.js";
import { bytesToBase64, int64Json } from "../../ir/codec.js";
import { one, tableLiteral as tableLiteralJson } from "../../ir/json.js";
import type { ScanPlan } from "../storage/scan-plan.js";
import type { Table } from "../storage/table-engine.js";
import type { Cell, Column, Row, TableSchema } from "../storage/table-schema.js";

export { TableLiteral, tableLiteral } from "../storage/table-schema.js";

function cellJson(c: Cell): Json {
  if (typeof c === "bigint") return int64Json(c);
  if (typeof c !== "object" || c === null) return c;
  return c instanceof Uint8Array ? one(PATHS.value.bytes, bytesToBase64(c)) : one((c as Link).href, []);
}

/**
 * A view of a table's rows.
 *
 * @example
 * ```ts
 * const v = txn.request("get", ["app", "t"], [["views", [["in", 1], null]]], undefined) as TableView;
 * v.count(); v.rows(); v.toJson(); // {"/state/collection/table": [schema, rows]}
 * ```
 */
export class TableView {
  constructor(
    readonly table: Table,
    readonly plan: ScanPlan,
    /** At most this many rows (before projection); `undefined` = no limit. */
    readonly limitCount: number | undefined = undefined,
    /** Selected columns; `undefined` = every column. */
    readonly projection: readonly Column[] | undefined = undefined,
  ) {}

  /** The view's schema: the table's, or for a projection `[[[], [cols…]], []]`. */
  get schema(): TableSchema {
    return this.projection ? this.table.schema.project(this.projection) : this.table.schema;
  }

  /** Visits full (unprojected) rows in order, honouring the limit; `visit` returns true to stop. */
  forEachFullRow(visit: (row: Row) => boolean | void): void {
    const limit = this.limitCount;
    if (limit === 0) return;
    if (limit === undefined) {
      this.table.scan(this.plan, visit);
      return;
    }
    let n = 0;
    this.table.scan(this.plan, (row) => {
      if (visit(row)) return true;
      return ++n >= limit;
    });
  }

  /** The view's rows (projected when the view selects columns), in order. */
  rows(): Row[] {
    const out: Row[] = [];
    const proj = this.projection;
    if (proj === undefined) {
      this.forEachFullRow((row) => {
        out.push(row);
      });
    } else {
      const pos = proj.map((c) => c.position);
      this.forEachFullRow((row) => {
        const r = new Array<Cell>(pos.length);
        for (let i = 0; i < pos.length; i++) r[i] = row[pos[i]!]!;
        out.push(r);
      });
    }
    return out;
  }

  /** Number of rows in the view (no rows are built). */
  count(): number {
    if (this.limitCount === undefined) return this.table.count(this.plan);
    let n = 0;
    this.forEachFullRow(() => {
      n++;
    });
    return n;
  }

  /** True when the view has no rows. */
  isEmpty(): boolean {
    let empty = true;
    this.forEachFullRow(() => {
      empty = false;
      return true;
    });
    return empty;
  }

  /**
   * `{"/state/collection/table": [schema, rows]}` with links encoded as `{"<href>": []}`;
   * `encodeRow`, when given, encodes each (projected) row as it is read (a metered encoder).
   */
  toJson(encodeRow?: (row: Row) => Json): Json {
    if (encodeRow === undefined) return tableLiteralJson(this.schema.toJson(), this.rows().map((r) => r.map(cellJson)));
    const out: Json[] = [];
    const proj = this.projection;
    const pos = proj?.map((c) => c.position);
    this.forEachFullRow((row) => {
      if (pos === undefined) {
        out.push(encodeRow(row));
        return;
      }
      const r = new Array<Cell>(pos.length);
      for (let i = 0; i < pos.length; i++) r[i] = row[pos[i]!]!;
      out.push(encodeRow(r));
    });
    return tableLiteralJson(this.schema.toJson(), out);
  }
}
