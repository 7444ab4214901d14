/**
 * The kernel's side of the traverse route: a `TraverseStore` over the table engine's tables, and
 * the route `GET /state/<ns>/<table>/traverse` the transaction's router calls.
 */
import { BadRequestError, MethodNotAllowedError, NotFoundError, type TcError } from "../../errors.js";
import { type KeySlots, keySlotsOf } from "../storage/derived/key-slots.js";
import { type LinkIndex, linkIndexOf } from "../storage/derived/link-index.js";
import type { KeyCell } from "../storage/index-keys.js";
import type { Table } from "../storage/table-engine.js";
import type { Row } from "../storage/table-schema.js";
import { normCell, type PreparedLookup, type TraverseRow, type TraverseStore, type TraverseTableShape } from "./store.js";
import { traverseRoute } from "./route.js";


/** Maps a store failure for a missing table to a `NotFoundError` naming it. */
export function unknownTable(ns: string, table: string): TcError {
  return new NotFoundError(`traverse: no table /state/${ns}/${table}`);
}

// ---------------------------------------------------------------------------------------------
// The kernel hook: the store over the table engine, and the route on a table.

/**
 * A `TraverseStore` over the table engine's tables of one namespace (`lookup(name)` = the
 * transaction's table catalog). Equality lookups go through the engine's planner, so they use the
 * same index-support rule as selectors (a lookup no index serves fails with its 400).
 */
export function tableStore(lookup: (name: string) => Table | undefined, ns: string): TraverseStore {
  return new TableStore(lookup, ns);
}

/** The store over the table engine (a class: no closures to build per traversal). */
class TableStore implements TraverseStore {
  private readonly tables = new Map<string, Table>();

  constructor(
    private readonly lookup: (name: string) => Table | undefined,
    private readonly ns: string,
  ) {}

  private table(name: string): Table {
    let t = this.tables.get(name);
    if (t === undefined) {
      t = this.lookup(name);
      if (t === undefined) throw unknownTable(this.ns, name);
      this.tables.set(name, t);
    }
    return t;
  }

  identity(name: string): object {
    return this.table(name);
  }

  shape(name: string): TraverseTableShape {
    const t = this.table(name);
    let shape = SHAPES.get(t);
    if (!shape) {
      const s = t.schema;
      shape = {
        columns: s.columns.map((c) => c.name),
        keyCount: s.keyColumns.length,
        indexes: s.indices.map((i) => [...i.columns]),
        plainCells: s.columns.every((c) => c.kind !== "link"),
      };
      SHAPES.set(t, shape);
    }
    return shape;
  }

  prepare(name: string, cols: readonly string[]): PreparedLookup {
    const t = this.table(name);
    let byCols = PREPARED.get(t);
    if (!byCols) {
      byCols = new Map();
      PREPARED.set(t, byCols);
    }
    const id = cols.join("\u0000");
    let prepared = byCols.get(id);
    if (!prepared) {
      prepared = prepareLookup(t, cols);
      byCols.set(id, prepared);
    }
    return prepared;
  }

  keySlots(name: string): KeySlots | undefined {
    return keySlotsOf(this.table(name));
  }

  linkIndex(name: string, fromCol: string, sourceTable: string, toCol: string, targetTable: string): LinkIndex | undefined {
    const t = this.table(name);
    const source = keySlotsOf(this.table(sourceTable));
    const target = keySlotsOf(this.table(targetTable));
    const from = t.schema.column(fromCol);
    const to = t.schema.column(toCol);
    if (source === undefined || target === undefined || from === undefined || to === undefined) return undefined;
    return linkIndexOf(t, from.position, source, to.position, target);
  }

  all(name: string): readonly TraverseRow[] {
    const t = this.table(name);
    const out: Row[] = [];
    t.scan(t.plan([]), (row) => {
      out.push(row);
    });
    return out;
  }
}

// A table's schema never changes (a different schema is a different Table object), so its shape
// and prepared lookups are cached per table object; they are synchronous and never re-entered.
const SHAPES = new WeakMap<Table, TraverseTableShape>();
const PREPARED = new WeakMap<Table, Map<string, PreparedLookup>>();


/**
 * An equality lookup on `cols`: the table engine's prepared equality lookup (the index is picked
 * once, by the engine's index-support rule — a lookup no index serves is refused with its 400 —
 * and each call walks the B+ tree directly, or the point map for a one-column key).
 */
function prepareLookup(t: Table, cols: readonly string[]): PreparedLookup {
  const n = cols.length;
  const run = t.equalityLookup(cols);
  // One scratch tuple per prepared lookup (the engine reads the cells and keeps nothing).
  const cells: KeyCell[] = new Array(n);
  if (n === 1) {
    return (values, out) => {
      cells[0] = normCell(values[0]);
      run(cells, out as Row[]);
    };
  }
  return (values, out) => {
    for (let i = 0; i < n; i++) cells[i] = normCell(values[i]);
    run(cells, out as Row[]);
  };
}

/** A resolved kernel map (`{kind: "map", entries}`) or tuple as plain JS data. */
export function plainParams(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  if (typeof v === "object" && !Array.isArray(v) && (v as { kind?: unknown }).kind === "map") {
    const entries = (v as { entries: Record<string, unknown> }).entries;
    // Primitive values only (the usual case): the entries are read as they are (a run reads
    // parameters with hasOwnProperty and never writes them).
    let plain = true;
    for (const k in entries) {
      const x = entries[k];
      if (x !== null && typeof x === "object") {
        plain = false;
        break;
      }
    }
    if (plain) return entries;
    const out: Record<string, unknown> = Object.create(null);
    for (const k of Object.keys(entries)) out[k] = plainValue(entries[k]);
    return out;
  }
  throw new BadRequestError("traverse: the key is [plan_json, {params}]; the params must be a map");
}

function plainValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainValue);
  if (v !== null && typeof v === "object" && (v as { kind?: unknown }).kind === "map") return plainParams(v);
  return v;
}

/**
 * The route `GET /state/<ns>/<table>/traverse` (the hook the transaction router calls).
 *
 * @example
 * ```ts
 * // in Txn.tableRoute: case "traverse": return traverseTableRoute((n) => this.host.lookup(ns, n), ns, name, verb, key);
 * ```
 */
export function traverseTableRoute(lookup: (name: string) => Table | undefined, ns: string, name: string, verb: string, key: unknown): never | readonly unknown[] | number | null {
  if (verb !== "get") throw new MethodNotAllowedError(`/state/${ns}/${name}/traverse answers GET, not ${verb.toUpperCase()}`);
  if (!Array.isArray(key) || key.length !== 2) throw new BadRequestError("traverse: the key is [plan_json, {params}]");
  return traverseRoute(tableStore(lookup, ns), name, key, plainParams(key[1])) as readonly unknown[] | number | null;
}
