/**
 * Readable text of relational selects and their expressions: what `explain()` and the query log
 * show (`select users.id, count(*) as n from social.users inner join posts on … where …`).
 * Values appear as `?` (given directly) or `$name` (a `param()`).
 */
import type { OExpr, QNode } from "./query-node.js";

/**
 * An expression as SQL-like text.
 *
 * @example
 * ```ts
 * describeExpr(node.where!); // "(users.age < ? or users.age > ?)"
 * ```
 */
export function describeExpr(e: OExpr): string {
  switch (e.t) {
    case "ref":
      return e.name;
    case "col":
      return `${e.src}.${e.col}`;
    case "outer":
      return `parent.${e.col}`;
    case "value":
      return e.operand.kind === "param" ? `$${e.operand.name}` : "?";
    case "cmp":
      return `${describeExpr(e.l)} ${e.op} ${describeExpr(e.r)}`;
    case "and":
    case "or":
      return `(${e.of.map(describeExpr).join(` ${e.t} `)})`;
    case "not":
      return `not ${describeExpr(e.e)}`;
    case "isNull":
      return `${describeExpr(e.e)} is null`;
    case "like":
      return `${describeExpr(e.e)} ${e.negate ? "not like" : "like"} ${describeExpr(e.pattern)}`;
    case "between":
      return `${describeExpr(e.e)} ${e.negate ? "not between" : "between"} ${describeExpr(e.low)} and ${describeExpr(e.high)}`;
    case "in":
      return `${describeExpr(e.e)} ${e.negate ? "not in" : "in"} ${describeExpr(e.list)}`;
    case "inQuery":
      return `${describeExpr(e.e)} ${e.negate ? "not in" : "in"} (select … from ${e.query.table.name})`;
    case "agg":
      return `${e.fn}(${e.distinct ? "distinct " : ""}${e.arg ? describeExpr(e.arg) : "*"})`;
  }
}


/**
 * A relational select as SQL-like text.
 *
 * @example
 * ```ts
 * describeQuery(node); // "select * from social.users inner join posts on posts.author = users.id limit ?"
 * ```
 */
export function describeQuery(node: QNode): string {
  const t = node.table;
  const sel = node.count ? "count(*)" : node.select ? node.select.map((s) => `${describeExpr(s.expr)} as ${s.as}`).join(", ") : "*";
  const on = node.distinctOn ? `distinct on (${node.distinctOn.map(describeExpr).join(", ")}) ` : "";
  let shape = `select ${node.distinct ? "distinct " : ""}${on}${sel} from ${t.namespace}.${t.name}${node.alias !== t.name ? ` as ${node.alias}` : ""}`;
  for (const j of node.joins) shape += ` ${j.kind} join ${j.table.name}${j.alias !== j.table.name ? ` as ${j.alias}` : ""} on ${describeExpr(j.on)}`;
  if (node.where) shape += ` where ${describeExpr(node.where)}`;
  if (node.groupBy) shape += ` group by ${node.groupBy.map(describeExpr).join(", ")}`;
  if (node.having) shape += ` having ${describeExpr(node.having)}`;
  if (node.orderBy.length > 0) shape += ` order by ${node.orderBy.map((o) => `${describeExpr(o.expr)} ${o.desc ? "desc" : "asc"}`).join(", ")}`;
  if (node.limit) shape += ` limit ${node.limit.kind === "param" ? `$${node.limit.name}` : "?"}`;
  if (node.offset) shape += ` offset ${node.offset.kind === "param" ? `$${node.offset.name}` : "?"}`;
  for (const w of node.with) shape += ` with ${w.as} (${describeQuery(w.node)})`;
  return shape;
}
