/**
 * `explain()`: a readable account of a plan — how the start rows are found, the lookups of each
 * hop, the semantics of the result, the visit budget and the op it runs as.
 */
import type { PlanFilter, PlanValue, TraversePlan } from "../ir/traverse-plan.js";
import type { Catalog } from "./catalog.js";
import type { Lowering } from "./compile.js";

function describeValue(v: PlanValue): string {
  return "param" in v ? `$${v.param}` : JSON.stringify(v.lit);
}

function describeFilters(fs: readonly PlanFilter[]): string {
  return fs.map((f) => `${f.col} ${f.op} ${describeValue(f.value)}`).join(" and ");
}

/**
 * The account of `plan`, one line per part.
 *
 * @example
 * ```ts
 * explainPlan(plan, catalog, "extension");
 * // match users where id = $me — key lookup
 * // 1. out(follows): users → users via follows(follower) = id → users(id) = followee
 * // …
 * ```
 */
export function explainPlan(plan: TraversePlan, catalog: Catalog, lowering: Lowering): string {
  const lines: string[] = [];
  const start = plan.start;
  const meta = catalog.table(start.table);
  const eqCols = new Set(start.filters.filter((f) => f.op === "=").map((f) => f.col));
  const byKey = meta.keyColumns.every((k) => eqCols.has(k));
  lines.push(
    `match ${start.table}${start.filters.length ? ` where ${describeFilters(start.filters)}` : ""} — ${byKey ? "key lookup" : start.filters.length ? "index range when an index covers the equalities, else a scan" : "every row (scan)"}`,
  );
  plan.steps.forEach((s, i) => {
    if (s.kind === "hop") {
      const range = s.min === 1 && s.max === 1 ? "" : ` hops [${s.min}, ${s.max}]`;
      const via = s.alts
        .map((a) => a.lookups.map((l) => `${l.table}(${l.cols.join(", ")}) = ${l.from.join(", ")}`).join(" → "))
        .join(" ∪ ");
      lines.push(`${i + 1}. ${s.dir}(${s.rel})${range}: ${s.source} → ${s.target} via ${via}`);
    } else if (s.kind === "where") {
      lines.push(`${i + 1}. where ${describeFilters([s.filter])}`);
    } else {
      lines.push(`${i + 1}. as ${s.alias}`);
    }
  });
  const r = plan.result;
  let what: string;
  if (r.kind === "rows" && r.distinct) what = "distinct endpoints: breadth-first over sets, a visited set per variable-length hop; ordered by key";
  else if (r.kind === "rows") what = "one endpoint per trail (no relation row repeated in a path), depth-first in canonical order";
  else if (r.kind === "paths") what = "one path per trail, depth-first in canonical order";
  else if (r.kind === "return") what = `bindings ${r.fields.map(([f, a]) => `${f}=${a}`).join(", ")} per trail`;
  else what = `shortest path (breadth-first) to rows where ${describeFilters(r.to) || "true"}`;
  if (r.kind !== "shortest" && r.count) what = `count of ${what}`;
  if (r.kind === "rows" && r.orderBy.length) what += `; order by ${r.orderBy.map((o) => `${o.col} ${o.desc ? "desc" : "asc"}`).join(", ")}`;
  if (plan.offset) what += `; offset ${describeValue(plan.offset)}`;
  if (plan.limit) what += `; limit ${describeValue(plan.limit)}`;
  lines.push(`result: ${what}`);
  lines.push(`visit budget: ${plan.budget} rows`);
  lines.push(
    lowering === "core"
      ? "op: core IR (while/fold/for_each over index-served table selectors), one transaction"
      : `op: GET /state/${catalog.namespace}/${start.table}/traverse (extension; see README), one transaction`,
  );
  return lines.join("\n");
}
