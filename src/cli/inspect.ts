/**
 * `tinychain-orm inspect`: the tables of a data directory or a host — columns, key, indexes, row
 * counts and relations — as text, JSON (`--json`), Mermaid (`--mermaid`), Graphviz DOT (`--dot`)
 * or a standalone SVG picture (`--svg`, svg.ts).
 */
import type { Reflected, TableInfo } from "./source.js";
import { schemaSvg } from "./svg.js";

/** Output formats of `inspect`. */
export type InspectFormat = "text" | "json" | "mermaid" | "dot" | "svg";

function typeText(c: TableInfo["columns"][number]): string {
  return `${c.type}${c.maxLen !== null ? `(${c.maxLen})` : ""}${c.nullable ? " nullable" : ""}`;
}

/** Renders what `reflect` found. */
export function renderInspect(r: Reflected, format: InspectFormat, label: string): string {
  if (format === "json") {
    return `${JSON.stringify({ source: label, relationsFrom: r.relationsFrom, tables: r.tables }, null, 2)}\n`;
  }
  if (format === "svg") return schemaSvg(r.tables);
  if (format === "mermaid" || format === "dot") {
    return [...r.dbs.values()].map((db) => (format === "mermaid" ? db.graph.catalog.toMermaid() : db.graph.catalog.toDot())).join("\n");
  }
  const lines = [`${label}: ${r.tables.length} table(s); relations ${r.relationsFrom === "inferred" ? "inferred from fk_ indexes and column names (--schema for exact ones)" : "from the schema module"}`];
  for (const t of r.tables) {
    lines.push("", `${t.link}  ${t.rows} row(s)`);
    const width = Math.max(...t.columns.map((c) => c.name.length));
    for (const c of t.columns) lines.push(`  ${c.key ? "key  " : "     "} ${c.name.padEnd(width)}  ${typeText(c)}`);
    for (const ix of t.indexes) lines.push(`  index ${ix.name} (${ix.columns.join(", ")})`);
    for (const rel of t.relations) lines.push(`  relation ${rel.name} → ${rel.to} (${rel.kind === "edge" ? `edge table ${rel.via}` : `foreign key ${rel.via}`}; inverse ${rel.inverse})`);
  }
  return `${lines.join("\n")}\n`;
}
