/**
 * Aggregates recombined across shards: a one-table query plan whose output is aggregates (with or
 * without `group by`) runs on every shard as partial aggregates — per group `count`, `sum`, `min`,
 * `max`, and `sum` + `count` for `avg` — and the partial rows are combined on the client: counts
 * and sums added, minima and maxima taken again, averages divided from the combined sum and count.
 * The combining and then `having`, `order by`, `limit` and `offset` run as query plans in an
 * in-memory kernel over the partial rows, so values compare and order as on one host. Rows per
 * shard: one per group, not one per matching row.
 *
 * Applies when the plan has no join, nested load, subquery, `distinct` (or `distinct on`) or
 * distinct aggregate and selects only group columns and aggregates of a column (or `count(*)`).
 * The order of the answer is one host's with or without `orderBy`: the combined groups come in
 * group-value order (a grouped plan's order), which becomes the key order of the table the final
 * plan reads, so its ties break by group values ascending, as a grouped plan's do on one host.
 */
import type { Json } from "../ir/types.js";
import { PATHS } from "../ir/types.js";
import type { QueryExpr, QueryPlan } from "../ir/query-plan.js";
import { embedded } from "../kernel/index.js";
import type { TableInfo } from "./catalog.js";
import { insertRowsOp, queryOp } from "./wire-ops.js";

interface AggPart {
  readonly fn: "count" | "sum" | "avg" | "min" | "max";
  /** The aggregated column, or null for `count(*)`. */
  readonly col: string | null;
  readonly key: string;
}

/** A plan rewritten for the shards, and how to finish it from their rows. */
export interface AggregatePushdown {
  /** The plan each shard runs (group columns, then the partial columns). */
  readonly shardPlan: QueryPlan;
  /** Combines every shard's rows into the plan's answer. */
  finish(rows: readonly unknown[][], params: Readonly<Record<string, Json>>): Promise<Json>;
}

/** True when `e` or an object anywhere below it satisfies `pred`. */
export const has = (e: unknown, pred: (o: Record<string, unknown>) => boolean): boolean => {
  if (Array.isArray(e)) return e.some((x) => has(x, pred));
  if (typeof e !== "object" || e === null) return false;
  const o = e as Record<string, unknown>;
  if (pred(o)) return true;
  return Object.values(o).some((v) => has(v, pred));
};

/**
 * The pushdown of `plan` over the table `info`, or undefined when it does not apply.
 *
 * @example
 * ```ts
 * const p = aggregatePushdown(plan, info); // plan: select city, count(*) … group by city order by city
 * ```
 */
export function aggregatePushdown(plan: QueryPlan, info: TableInfo): AggregatePushdown | undefined {
  if (plan.joins.length > 0 || plan.with.length > 0 || plan.distinct || plan.distinctOn !== undefined) return undefined;
  if (has(plan, (o) => o.t === "inQuery" || o.t === "outer" || (o.t === "agg" && o.distinct === true))) return undefined;
  const groups = plan.groupBy ?? [];
  if (!groups.every((g) => g.t === "col")) return undefined;
  const groupCols = groups.map((g) => (g as { col: string }).col);
  if (!plan.select.some((s) => s.expr.t === "agg") && groups.length === 0) return undefined;
  const aggs = new Map<string, AggPart>();
  const isGroupCol = (e: QueryExpr): boolean => e.t === "col" && groupCols.includes(e.col);
  // Every column read outside an aggregate must be a group column; aggregates read one column.
  const scan = (e: unknown): boolean => {
    if (Array.isArray(e)) return e.every(scan);
    if (typeof e !== "object" || e === null) return true;
    const o = e as QueryExpr;
    if (o.t === "agg") {
      if (o.arg !== null && o.arg.t !== "col") return false;
      const col = o.arg === null ? null : o.arg.col;
      const key = `${o.fn}(${col ?? "*"})`;
      if (!aggs.has(key)) aggs.set(key, { fn: o.fn, col, key });
      return true;
    }
    if (o.t === "col") return isGroupCol(o);
    return Object.entries(o).every(([k, v]) => (k === "value" || (k === "list" && !Array.isArray(v)) ? true : scan(v)));
  };
  if (!plan.select.every((s) => s.expr.t === "agg" || isGroupCol(s.expr))) return undefined;
  if (!scan(plan.select.map((s) => s.expr)) || !scan(plan.having) || !scan(plan.orderBy.map((o) => o.expr))) return undefined;
  const alias = plan.from.as;
  const col = (c: string, src = alias): QueryExpr => ({ t: "col", src, col: c });
  const parts = [...aggs.values()];
  const partialSelect = [
    ...groupCols.map((c, i) => ({ as: `g${i}`, expr: col(c) })),
    ...parts.flatMap((a, j) => partialsOf(a).map(([name, fn]) => ({ as: `p${j}${name}`, expr: { t: "agg", fn, arg: a.col === null ? null : col(a.col), distinct: false } as QueryExpr }))),
  ];
  const shardPlan: QueryPlan = { ...plan, groupBy: plan.groupBy, having: null, select: partialSelect, orderBy: [], limit: null, offset: null };
  return {
    shardPlan,
    async finish(rows, params) {
      const local = embedded();
      try {
        return await finishLocally(local, plan, info, groupCols, parts, rows, params);
      } finally {
        await local.close();
      }
    },
  };
}

/** The partial columns of one aggregate: [suffix, the shard's aggregate]. */
function partialsOf(a: AggPart): [string, "count" | "sum" | "min" | "max"][] {
  switch (a.fn) {
    case "count":
      return [["c", "count"]];
    case "sum":
      return [["s", "sum"]];
    case "min":
      return [["m", "min"]];
    case "max":
      return [["m", "max"]];
    case "avg":
      return [["s", "sum"], ["c", "count"]];
  }
}

/** A value column definition: `def` renamed, nullable, without key or reference options. */
function columnAs(def: unknown[] | undefined, name: string, dtype?: string): unknown[] {
  if (def === undefined || dtype !== undefined) return [name, dtype ?? "/state/scalar/value/number/float/64", null, { nullable: true }];
  const opts = def.find((x, j) => j >= 2 && typeof x === "object" && x !== null && !Array.isArray(x)) as Record<string, unknown> | undefined;
  const { references: _r, generated: _g, ...rest } = opts ?? {};
  void _r;
  void _g;
  return [name, def[1], def.length > 2 && typeof def[2] === "number" ? def[2] : null, { ...rest, nullable: true }];
}

async function runPlan(local: ReturnType<typeof embedded>, link: string, plan: QueryPlan, params: Readonly<Record<string, Json>>): Promise<unknown[][]> {
  const q = queryOp(link, plan, params);
  return (await local.execute(q.op, q.args)) as unknown[][];
}

async function finishLocally(
  local: ReturnType<typeof embedded>,
  plan: QueryPlan,
  info: TableInfo,
  groupCols: readonly string[],
  parts: readonly AggPart[],
  rows: readonly unknown[][],
  params: Readonly<Record<string, Json>>,
): Promise<Json> {
  const [[keys, values]] = info.schema as [[unknown[][], unknown[][]]];
  const defs = new Map([...keys, ...values].map((d) => [d[0] as string, d]));
  const alias = plan.from.as;
  const key = [["_i", "/state/scalar/value/number/uint/64"]];
  // Partial rows, as the shards answered them.
  const partialCols: unknown[][] = [...groupCols.map((c, i) => columnAs(defs.get(c), `g${i}`))];
  parts.forEach((a, j) =>
    partialsOf(a).forEach(([name, fn]) => partialCols.push(fn === "min" || fn === "max" ? columnAs(defs.get(a.col!), `p${j}${name}`) : columnAs(undefined, `p${j}${name}`))),
  );
  await local.request({ verb: "put", path: "/state/_merge/p", key: null, body: { [PATHS.table]: [[[key, partialCols], []], []] } as Json });
  if (rows.length > 0) {
    const ins = insertRowsOp("/state/_merge/p", rows.map((r, i) => [i, ...r]));
    await local.execute(ins.op, ins.args);
  }
  // Combine per group: counts and sums added, minima and maxima taken again.
  const c = (name: string): QueryExpr => ({ t: "col", src: "p", col: name });
  const combine: QueryPlan = {
    v: 1,
    from: { table: "p", as: "p" },
    joins: [],
    where: null,
    groupBy: groupCols.length > 0 ? groupCols.map((_, i) => c(`g${i}`)) : null,
    having: null,
    select: [
      ...groupCols.map((_, i) => ({ as: `g${i}`, expr: c(`g${i}`) })),
      ...parts.flatMap((a, j) => partialsOf(a).map(([name, fn]) => ({ as: `p${j}${name}`, expr: { t: "agg", fn: fn === "count" ? "sum" : fn, arg: c(`p${j}${name}`), distinct: false } as QueryExpr }))),
    ],
    distinct: false,
    with: [],
    orderBy: [],
    limit: null,
    offset: null,
  };
  const combined = await runPlan(local, "/state/_merge/p", combine, {});
  // One row per group with the final values; averages divided here.
  const finalCols: unknown[][] = [...groupCols.map((cName, i) => columnAs(defs.get(cName), `g${i}`))];
  parts.forEach((a, j) => finalCols.push(a.fn === "min" || a.fn === "max" ? columnAs(defs.get(a.col!), `a${j}`) : columnAs(undefined, `a${j}`, a.fn === "count" ? "/state/scalar/value/number/int/64" : undefined)));
  const finalRows = combined.map((r, i) => {
    const out: unknown[] = [i, ...r.slice(0, groupCols.length)];
    let at = groupCols.length;
    for (const a of parts) {
      if (a.fn === "avg") {
        const s = r[at] as number | null;
        const n = r[at + 1] as number | null;
        out.push(s === null || !n ? null : s / n);
        at += 2;
      } else {
        out.push(a.fn === "count" ? (r[at] ?? 0) : r[at]);
        at += 1;
      }
    }
    return out;
  });
  await local.request({ verb: "put", path: `/state/_merge/f`, key: null, body: { [PATHS.table]: [[[key, finalCols], []], []] } as Json });
  if (finalRows.length > 0) {
    const ins = insertRowsOp("/state/_merge/f", finalRows);
    await local.execute(ins.op, ins.args);
  }
  // The plan's select, having, order and limit over those rows: aggregates and group columns
  // become the final table's columns.
  const aggIndex = new Map(parts.map((a, j) => [a.key, j]));
  const rewrite = (e: unknown): unknown => {
    if (Array.isArray(e)) return e.map(rewrite);
    if (typeof e !== "object" || e === null) return e;
    const o = e as Record<string, unknown>;
    if (o.t === "agg") {
      const arg = o.arg as { col: string } | null;
      return { t: "col", src: alias, col: `a${aggIndex.get(`${o.fn as string}(${arg === null ? "*" : arg.col})`)!}` };
    }
    if (o.t === "col") return { t: "col", src: alias, col: `g${groupCols.indexOf(o.col as string)}` };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = k === "value" || (k === "list" && !Array.isArray(v)) ? v : rewrite(v);
    return out;
  };
  const finalPlan: QueryPlan = {
    v: 1,
    from: { table: "f", as: alias },
    joins: [],
    where: plan.having === null ? null : (rewrite(plan.having) as QueryExpr),
    groupBy: null,
    having: null,
    select: plan.select.map((s) => ({ as: s.as, expr: rewrite(s.expr) as QueryExpr })),
    distinct: false,
    with: [],
    orderBy: plan.orderBy.map((o) => ({ expr: rewrite(o.expr) as QueryExpr, desc: o.desc })),
    limit: plan.limit,
    offset: plan.offset,
  };
  return (await runPlan(local, "/state/_merge/f", finalPlan, params)) as Json;
}
