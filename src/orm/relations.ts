/**
 * Relations of a schema: every foreign key gives a forward relation (table → target) and an
 * inverse (target → table); every edge table gives a relation between its two endpoints through
 * the edge table, and an inverse. Names are unique per source table — `schema()` calls
 * `relationsOf` so a clash fails at declaration time; the graph catalog is built from the same list.
 */
import { BadRequestError } from "../errors.js";
import type { TableMeta } from "./meta.js";

/** One index-served lookup taking a relation one step: rows of `table` whose `cols` equal the `from` columns of the current row. */
export interface RelationLookup {
  readonly table: string;
  readonly cols: readonly string[];
  readonly from: readonly string[];
}

/** Edge attributes: one edge per relation direction. */
export interface RelationInfo {
  /** The relation's name, unique among the relations leaving `source`. */
  readonly name: string;
  readonly source: string;
  readonly target: string;
  readonly kind: "foreign_key" | "edge";
  readonly direction: "forward" | "inverse";
  /** The name of the same relation taken the other way (a relation of `target`). */
  readonly inverse: string;
  /** The table whose rows are this relation's rows (the foreign key's table, or the edge table). */
  readonly via: string;
  /** How to take it: index-served lookups, for the planner. */
  readonly lookups: readonly RelationLookup[];
  readonly relAt: 0 | 1;
  /** The relationship identity shared by both directions: `fk:<table>.<column>` or `edge:<table>.<name>`. */
  readonly identity: string;
  /** Human description, e.g. `posts.author → users.id`. */
  readonly description: string;
}

/** The default name of an edge table's inverse relation when `.edge(..., { inverse })` is not given. */
export function defaultEdgeInverse(edgeName: string): string {
  return `${edgeName}_inverse`;
}

export function edgeKey(source: string, name: string): string {
  return `${source}.${name}`;
}


/**
 * Every relation of a schema, in declaration order, with its name checked: relation names must be
 * unique per source table. A clash throws `BadRequestError` naming both relations. The ORM's
 * `schema()` may call this to fail at declaration time; `buildCatalog` calls it too.
 *
 * @example
 * ```ts
 * checkRelationNames(social.tableMetas); // throws if e.g. users has two relations named "posts"
 * ```
 */
export function relationsOf(tables: readonly TableMeta[]): RelationInfo[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const out: RelationInfo[] = [];
  for (const t of tables) {
    for (const fk of t.foreignKeys) {
      out.push({
        name: fk.name,
        source: fk.table,
        target: fk.targetTable,
        kind: "foreign_key",
        direction: "forward",
        inverse: fk.inverse,
        via: fk.table,
        lookups: [{ table: fk.targetTable, cols: [fk.targetColumn], from: [fk.column] }],
        relAt: 0,
        identity: `fk:${fk.table}.${fk.column}`,
        description: `${fk.table}.${fk.column} → ${fk.targetTable}.${fk.targetColumn}`,
      });
      out.push({
        name: fk.inverse,
        source: fk.targetTable,
        target: fk.table,
        kind: "foreign_key",
        direction: "inverse",
        inverse: fk.name,
        via: fk.table,
        lookups: [{ table: fk.table, cols: [fk.column], from: [fk.targetColumn] }],
        relAt: 1,
        identity: `fk:${fk.table}.${fk.column}`,
        description: `${fk.targetTable}.${fk.targetColumn} ← ${fk.table}.${fk.column}`,
      });
    }
  }
  for (const t of tables) {
    for (const e of t.edges) {
      const fromFk = t.foreignKeys.find((f) => f.column === e.from);
      const toFk = t.foreignKeys.find((f) => f.column === e.to);
      if (!fromFk || !toFk || !byName.has(e.fromTable) || !byName.has(e.toTable)) {
        throw new BadRequestError(`table ${t.name}: edge ${e.name} needs foreign keys on ${e.from} and ${e.to}`);
      }
      const inverse = e.inverse ?? defaultEdgeInverse(e.name);
      out.push({
        name: e.name,
        source: e.fromTable,
        target: e.toTable,
        kind: "edge",
        direction: "forward",
        inverse,
        via: t.name,
        lookups: [
          { table: t.name, cols: [e.from], from: [fromFk.targetColumn] },
          { table: e.toTable, cols: [toFk.targetColumn], from: [e.to] },
        ],
        relAt: 1,
        identity: `edge:${t.name}.${e.name}`,
        description: `${e.fromTable} → ${t.name}(${e.from} → ${e.to}) → ${e.toTable}`,
      });
      out.push({
        name: inverse,
        source: e.toTable,
        target: e.fromTable,
        kind: "edge",
        direction: "inverse",
        inverse: e.name,
        via: t.name,
        lookups: [
          { table: t.name, cols: [e.to], from: [toFk.targetColumn] },
          { table: e.fromTable, cols: [fromFk.targetColumn], from: [e.from] },
        ],
        relAt: 1,
        identity: `edge:${t.name}.${e.name}`,
        description: `${e.toTable} → ${t.name}(${e.to} → ${e.from}) → ${e.fromTable}`,
      });
    }
  }
  // Unique names per source table.
  const seen = new Map<string, RelationInfo>();
  for (const r of out) {
    const k = edgeKey(r.source, r.name);
    const prior = seen.get(k);
    if (prior) {
      throw new BadRequestError(
        `table ${r.source} has two relations named ${r.name}: ${describeRelation(prior)} and ${describeRelation(r)}; rename one with references(..., { name | inverse }) or .edge(..., { inverse })`,
      );
    }
    seen.set(k, r);
  }
  // Every lookup must be index-served (or a key lookup).
  for (const r of out) {
    for (const l of r.lookups) {
      const meta = byName.get(l.table)!;
      if (!servedByIndex(meta, l.cols)) {
        throw new BadRequestError(
          `relation ${r.source}.${r.name} needs an index on ${l.table}(${l.cols.join(", ")}); declare one with .index(name, [${l.cols.map((c) => JSON.stringify(c)).join(", ")}])`,
        );
      }
    }
  }
  return out;
}

/** Alias of `relationsOf` for callers that only want the check. */
export function checkRelationNames(tables: readonly TableMeta[]): void {
  relationsOf(tables);
}

function describeRelation(r: RelationInfo): string {
  const what = r.kind === "edge" ? `edge table ${r.via}` : `foreign key ${r.description}`;
  return `the ${r.direction === "forward" ? "" : "inverse "}relation of ${what}`;
}

function servedByIndex(meta: TableMeta, cols: readonly string[]): boolean {
  const primary = [...meta.keyColumns, ...meta.valueColumns];
  const candidates = [primary, ...meta.indexes.map((i) => i.columns)];
  return candidates.some((idx) => cols.every((c, i) => idx[i] === c));
}
