/**
 * The graph catalog: tables as nodes, named relations as directed edges, in a graphology
 * `MultiDirectedGraph`. Built from the ORM's resolved metadata (`TableMeta`): every foreign key
 * gives a forward relation (table → target) and an inverse (target → table); every edge table
 * gives a relation between its two endpoints through the edge table, and an inverse.
 */
import { MultiDirectedGraph } from "graphology";
import { bidirectional } from "graphology-shortest-path/unweighted.js";
import { BadRequestError } from "../errors.js";
import type { TableMeta } from "../orm/meta.js";
import { cellDecoders } from "../orm/cell-codec.js";
import { type FilterEncoder, filterEncoders } from "./plan-values.js";
import type { Json } from "../ir/types.js";
import { edgeKey, relationsOf, type RelationInfo } from "../orm/relations.js";
import { showValue } from "../ir/show-value.js";

export { checkRelationNames, defaultEdgeInverse, relationsOf, type RelationInfo } from "../orm/relations.js";

/** Node attributes: one node per table. */
export interface TableNode {
  readonly table: string;
  /** `/state/<namespace>/<table>`. */
  readonly link: string;
  readonly keyColumns: readonly string[];
  readonly columns: readonly string[];
  /** The link-typed columns (their cells come back as href strings, as the ORM returns them). */
  readonly linkColumns: readonly string[];
  /** Each column as diagrams show it (`columnLabel`): keys, enforced references, types. */
  readonly columnLabels: readonly string[];
  /** Decoders of the cells that are not their row value (links, dates, JSON, bytes, 64-bit integers), by column. */
  readonly decoders: Readonly<Record<string, (v: Json) => unknown>>;
  /** Encoders of filter values with a wire form of their own (dates, bigints, bytes, uuids), by column. */
  readonly encoders: Readonly<Record<string, FilterEncoder>>;
  /** True when every key column holds numbers (the core lowering can then sort by key). */
  readonly numericKey: boolean;
  /** The columns whose cells are numbers (the core lowering's ordered filters need them). */
  readonly numericColumns: readonly string[];
}


/** One step of a suggested route: take `relation` from `from` to reach `to`. */
export interface RouteStep {
  readonly from: string;
  readonly relation: string;
  readonly to: string;
}

/**
 * The schema as a graph. It is a real graphology `MultiDirectedGraph` (iterate it, export it,
 * run graphology algorithms on it), plus relation lookup, routing and drawing.
 *
 * @example
 * ```ts
 * const catalog = db.graph.catalog;
 * catalog.relation("users", "follows").target;  // "users"
 * catalog.route("users", "posts");             // [[{ from: "users", relation: "posts", to: "posts" }]]
 * console.log(catalog.toMermaid());
 * ```
 */
export class Catalog extends MultiDirectedGraph<TableNode, RelationInfo> {
  /** The schema's namespace. */
  readonly namespace: string;

  constructor(namespace: string | object = "") {
    // graphology's copy()/emptyCopy() call `new this.constructor(options)`: keep them working.
    super(typeof namespace === "object" ? (namespace as Record<string, unknown>) : undefined);
    this.namespace = typeof namespace === "string" ? namespace : "";
  }

  /** The node attributes of `table`; throws `BadRequestError` naming the known tables. */
  table(table: string): TableNode {
    if (typeof table !== "string" || !this.hasNode(table)) {
      throw new BadRequestError(`unknown table ${showValue(table)}; tables: ${this.nodes().join(", ")}`);
    }
    return this.getNodeAttributes(table);
  }

  /** The relations leaving `table`, in declaration order (foreign keys, then edge tables). */
  relations(table: string): RelationInfo[] {
    this.table(table);
    return [...(this.bySource.get(table) ?? [])];
  }
  private readonly bySource = new Map<string, RelationInfo[]>();

  /** @internal adds a relation (edge) in declaration order */
  addRelation(r: RelationInfo): void {
    this.addDirectedEdgeWithKey(edgeKey(r.source, r.name), r.source, r.target, r);
    const list = this.bySource.get(r.source) ?? [];
    list.push(r);
    this.bySource.set(r.source, list);
  }

  /** The relation `name` leaving `table`; throws `BadRequestError` listing the ones that exist. */
  relation(table: string, name: string): RelationInfo {
    this.table(table);
    const key = typeof name === "string" ? edgeKey(table, name) : "";
    if (typeof name !== "string" || !this.hasEdge(key)) {
      const names = this.relations(table).map((r) => r.name);
      throw new BadRequestError(
        `table ${table} has no relation ${showValue(name)}; its relations: ${names.length ? names.join(", ") : "(none)"}`,
      );
    }
    return this.getEdgeAttributes(key);
  }

  /**
   * The relation named `name` that *arrives* at `table` (for `.in(name)`): exactly one relation of
   * that name must end there.
   */
  incoming(table: string, name: string): RelationInfo {
    this.table(table);
    const found = this.inEdges(table)
      .map((e) => this.getEdgeAttributes(e))
      .filter((r) => r.name === name);
    if (found.length === 1) return found[0]!;
    if (found.length === 0) {
      const names = [...new Set(this.inEdges(table).map((e) => this.getEdgeAttribute(e, "name")))];
      throw new BadRequestError(
        `no relation ${showValue(name)} arrives at ${table}; relations arriving there: ${names.length ? names.join(", ") : "(none)"}`,
      );
    }
    throw new BadRequestError(
      `relation ${name} arrives at ${table} from ${found.map((r) => r.source).join(" and ")}; use .out() with the inverse relation instead (${found.map((r) => `${table}.${r.inverse}`).join(", ")})`,
    );
  }

  /**
   * Suggests relation chains from one table to another: every chain of the fewest hops along
   * the tables of one shortest table path (graphology's bidirectional search), at most `limit`.
   * Empty when `to` cannot be reached.
   */
  route(from: string, to: string, limit = 16): RouteStep[][] {
    this.table(from);
    this.table(to);
    if (from === to) return [[]];
    const tables = bidirectional(this, from, to);
    if (!tables) return [];
    let chains: RouteStep[][] = [[]];
    for (let i = 0; i + 1 < tables.length; i++) {
      const a = tables[i]!;
      const b = tables[i + 1]!;
      const rels = this.relations(a)
        .filter((r) => r.target === b)
        .map((r) => r.name);
      const next: RouteStep[][] = [];
      for (const chain of chains) {
        for (const r of rels) {
          if (next.length >= limit) break;
          next.push([...chain, { from: a, relation: r, to: b }]);
        }
      }
      chains = next;
    }
    return chains;
  }

  /**
   * The catalog as a Mermaid flowchart: a box per table listing its columns with their types
   * (`PK` marks key columns, `FK` enforced references, with their target and on-delete rule), and
   * the forward relations, labelled `name / inverse`.
   */
  toMermaid(): string {
    const lines = ["flowchart LR"];
    for (const t of this.nodes()) {
      const n = this.getNodeAttributes(t);
      const cols = n.columnLabels.map((l) => `<br/>${escapeMermaid(l)}`).join("");
      lines.push(`  ${mermaidId(t)}["<b>${escapeMermaid(t)}</b>${cols}"]`);
    }
    this.forEachEdge((_e, r) => {
      if (r.direction !== "forward") return;
      const style = r.kind === "edge" ? "==" : "--";
      lines.push(`  ${mermaidId(r.source)} ${style} "${escapeMermaid(`${r.name} / ${r.inverse}`)}" ${style}> ${mermaidId(r.target)}`);
    });
    return lines.join("\n") + "\n";
  }

  /** The catalog as Graphviz DOT (forward relations; edge tables drawn bold). */
  toDot(): string {
    const lines = [`digraph ${dotString(this.namespace)} {`, "  rankdir=LR;", "  node [shape=box];"];
    for (const t of this.nodes()) {
      const n = this.getNodeAttributes(t);
      lines.push(`  ${dotString(t)} [label=${dotString(`${t}\nkey: ${n.keyColumns.join(", ")}`)}];`);
    }
    this.forEachEdge((_e, r) => {
      if (r.direction !== "forward") return;
      const style = r.kind === "edge" ? ", style=bold" : "";
      lines.push(`  ${dotString(r.source)} -> ${dotString(r.target)} [label=${dotString(`${r.name} / ${r.inverse}`)}${style}];`);
    });
    lines.push("}");
    return lines.join("\n") + "\n";
  }
}


function mermaidId(t: string): string {
  return "t_" + t.replace(/[^A-Za-z0-9_]/g, (c) => `_${c.charCodeAt(0).toString(16)}_`);
}

function escapeMermaid(s: string): string {
  return s.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;").replace(/\|/g, "#124;");
}

function dotString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** True for a column type whose cells are numbers. */
const isNumeric = (dtype: string): boolean => !["string", "link", "bool", "json", "bytes", "enum", "uuid"].includes(dtype);

/**
 * One column as a diagram shows it: `PK`/`FK` marks (FK only when the kernel enforces the
 * reference), name, type (`?` when nullable) and, for a foreign key, its target and on-delete rule.
 *
 * @example
 * ```ts
 * columnLabel(meta, meta.columnsByName.author); // "FK author: u64 → users (on delete cascade)"
 * ```
 */
export function columnLabel(t: TableMeta, c: TableMeta["columns"][number]): string {
  const fk = t.foreignKeys.find((f) => f.column === c.name);
  const marks = `${c.key ? "PK " : ""}${fk?.enforced ? "FK " : ""}`;
  let type: string = c.dtype;
  if (c.maxLen !== null) type += `(${c.maxLen})`;
  if (c.values !== undefined) type = `enum(${c.values.join("|")})`;
  if (c.mode === "bigint") type += " bigint";
  if (c.generated === "increment") type += " auto";
  if (c.generated === "random") type += " random";
  const ref = fk === undefined ? "" : ` → ${fk.targetTable}${fk.enforced ? ` (on delete ${fk.onDelete})` : " (not enforced)"}`;
  return `${marks}${c.name}: ${type}${c.nullable ? "?" : ""}${ref}`;
}

/**
 * Builds the catalog of a schema's tables. Throws `BadRequestError` on a relation-name clash or
 * a relation no index can serve.
 *
 * @example
 * ```ts
 * const catalog = buildCatalog(social.namespace, social.tableMetas);
 * catalog.order; // number of tables
 * ```
 */
export function buildCatalog(namespace: string, tables: readonly TableMeta[]): Catalog {
  const relations = relationsOf(tables);
  const catalog = new Catalog(namespace);
  for (const t of tables) {
    const numericColumns = t.columns.filter((c) => isNumeric(c.dtype)).map((c) => c.name);
    catalog.addNode(t.name, {
      table: t.name,
      link: t.path,
      keyColumns: [...t.keyColumns],
      columns: t.columns.map((c) => c.name),
      linkColumns: t.columns.filter((c) => c.dtype === "link").map((c) => c.name),
      columnLabels: t.columns.map((c) => columnLabel(t, c)),
      decoders: cellDecoders(t, t.columns.map((c) => c.name)),
      encoders: filterEncoders(t.columns),
      numericKey: t.keyColumns.every((k) => numericColumns.includes(k)),
      numericColumns,
    });
  }
  for (const r of relations) catalog.addRelation(r);
  return catalog;
}
