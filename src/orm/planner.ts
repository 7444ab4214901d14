/**
 * Chooses how a set of ANDed predicates is served (PROFILE §3): one index, an equality prefix of
 * its columns, then at most one range (a lower and/or an upper bound) on the next column. Those
 * predicates become the table selector; every other predicate is filtered afterwards (the
 * `filter` route extension, or a `fold` in core IR). An `orderBy` is served by the chosen index
 * when it can be (its column is the one after the equality prefix, or fixed by it); otherwise the
 * rows are sorted after filtering (the `sort` route extension, or an insertion sort in core IR).
 */
import type { TableMeta } from "./meta.js";
import type { OrderBy, Predicate } from "./nodes.js";

/** An index as the planner sees it; the primary index orders by key ++ value columns. */
export interface PlanIndex {
  readonly name: string;
  readonly columns: readonly string[];
}

/** One element of a range selector: equality on a column, or bounds on it. */
export type SelectorPart =
  | { readonly column: string; readonly eq: Predicate }
  | { readonly column: string; readonly lower: Predicate | null; readonly upper: Predicate | null };

/** How a read (or a write's selection) is served: the index range, what is left to filter, the order. */
export interface ReadPlan {
  readonly index: PlanIndex;
  /** `[]` = all rows. */
  readonly selector: readonly SelectorPart[];
  /** True when the selector is equality on every key column and nothing else is asked: a key lookup. */
  readonly point: boolean;
  readonly served: readonly Predicate[];
  /** Predicates evaluated per row after the index range. */
  readonly filtered: readonly Predicate[];
  /**
   * An `in` predicate served by one index range per listed value (when nothing else is served by
   * an index): the rows of those ranges, in list order, then the filtered predicates.
   */
  readonly lookup: Predicate | null;
  /** The `order` route to apply: columns (a prefix of the index) and direction; `null` = index order. */
  readonly order: { readonly columns: readonly string[]; readonly reverse: boolean } | null;
  /** An order no index serves: the rows are sorted after filtering. */
  readonly sort: { readonly column: string; readonly reverse: boolean } | null;
}

const RANGE_OPS = new Set(["<", "<=", ">", ">="]);

/** The primary index, then secondary indexes in declaration order. */
const INDEXES = new WeakMap<TableMeta, readonly PlanIndex[]>();

function planIndexes(meta: TableMeta): readonly PlanIndex[] {
  let list = INDEXES.get(meta);
  if (!list) {
    list = Object.freeze([
      { name: "primary", columns: [...meta.keyColumns, ...meta.valueColumns] },
      ...meta.indexes.map((i) => ({ name: i.name, columns: i.columns })),
    ]);
    INDEXES.set(meta, list);
  }
  return list;
}

interface Candidate {
  index: PlanIndex;
  eq: Predicate[];
  lower: Predicate | null;
  upper: Predicate | null;
  score: number;
  orderOk: boolean;
  orderColumns: readonly string[] | null;
}

function candidate(index: PlanIndex, preds: readonly Predicate[], orderBy: OrderBy | null): Candidate {
  // Plain loops: this runs for every index on every cold compile.
  const eq: Predicate[] = [];
  for (let c = 0; c < index.columns.length; c++) {
    const column = index.columns[c]!;
    let found: Predicate | undefined;
    for (let j = 0; j < preds.length; j++) {
      const q = preds[j]!;
      if (q.column === column && q.op === "=" && q.operand !== null && !eq.includes(q)) {
        found = q;
        break;
      }
    }
    if (!found) break;
    eq.push(found);
  }
  const next = index.columns[eq.length];
  let lower: Predicate | null = null;
  let upper: Predicate | null = null;
  if (next !== undefined) {
    for (const p of preds) {
      if (p.column !== next || !RANGE_OPS.has(p.op) || eq.includes(p)) continue;
      if ((p.op === ">" || p.op === ">=") && !lower) lower = p;
      else if ((p.op === "<" || p.op === "<=") && !upper) upper = p;
    }
  }
  let orderOk = true;
  let orderColumns: readonly string[] | null = null;
  if (orderBy) {
    if (eq.some((p) => p.column === orderBy.column)) orderColumns = null;
    else if (next === orderBy.column) orderColumns = index.columns.slice(0, eq.length + 1);
    else orderOk = false;
  }
  return { index, eq, lower, upper, score: eq.length * 2 + (lower ? 1 : 0) + (upper ? 1 : 0), orderOk, orderColumns };
}

/**
 * Plans a read of `meta` under `where` and `orderBy`.
 *
 * @example
 * ```ts
 * const plan = planRead(users, [{ column: "city", op: "=", operand }], null);
 * plan.index.name; // "by_city"
 * ```
 */
export function planRead(meta: TableMeta, where: readonly Predicate[], orderBy: OrderBy | null, options: { lookups?: boolean } = {}): ReadPlan {
  const indexes = planIndexes(meta);
  let best: Candidate | undefined;
  for (const index of indexes) {
    const c = candidate(index, where, orderBy);
    if (!c.orderOk) continue;
    if (!best || c.score > best.score) best = c;
  }
  let sort: ReadPlan["sort"] = null;
  if (!best) {
    // No index serves the order: serve the predicates as well as possible, then sort.
    sort = { column: orderBy!.column, reverse: orderBy!.direction === "desc" };
    for (const index of indexes) {
      const c = candidate(index, where, null);
      if (!best || c.score > best.score) best = c;
    }
    best = best!;
  }
  if (best.score === 0 && !orderBy && options.lookups !== false) {
    for (const p of where) {
      if (p.op !== "in" || p.operand === null) continue;
      const index = indexes.find((i) => i.columns[0] === p.column);
      if (index) {
        return { index, selector: [], point: false, served: [p], filtered: where.filter((q) => q !== p), lookup: p, order: null, sort: null };
      }
    }
  }
  const served = new Set<Predicate>([...best.eq, ...(best.lower ? [best.lower] : []), ...(best.upper ? [best.upper] : [])]);
  const filtered = where.filter((p) => !served.has(p));
  // An open-below range would include nulls of a nullable column; SQL-like semantics exclude them.
  const extra: Predicate[] = [];
  if (!best.lower && best.upper && meta.columnsByName[best.upper.column]?.nullable) {
    extra.push({ column: best.upper.column, op: "isNotNull", operand: null });
  }
  const selector: SelectorPart[] = best.eq.map((p) => ({ column: p.column, eq: p }));
  if (best.lower || best.upper) {
    selector.push({ column: (best.lower ?? best.upper)!.column, lower: best.lower, upper: best.upper });
  }
  const keyCount = meta.keyColumns.length;
  const point = best.index.name === "primary" && best.eq.length === keyCount && !best.lower && !best.upper && filtered.length === 0 && !orderBy;
  return {
    index: best.index,
    selector,
    point,
    served: [...served],
    filtered: [...filtered, ...extra],
    lookup: null,
    order: orderBy && best.orderColumns && !sort ? { columns: best.orderColumns, reverse: orderBy.direction === "desc" } : null,
    sort,
  };
}

/** A readable account of a plan (what `explain()` returns). */
export interface Explanation {
  readonly table: string;
  readonly access: "key lookup" | "index range" | "index lookups" | "full scan";
  readonly index: string;
  readonly served: readonly string[];
  readonly filtered: readonly string[];
  readonly order: string | null;
  /** How the filtered predicates run: the `filter` route (extension) or a `fold` (core); null = none. */
  readonly filter: "filter route (extension)" | "fold (core)" | null;
  /** Set when the statement runs as a relational plan of the `query` extension. */
  readonly route?: "query route (extension)";
  /** Joins in order: how each is served. */
  readonly joins?: readonly JoinExplanation[];
  /** Nested loads (`with`). */
  readonly with?: readonly WithExplanation[];
  readonly groupBy?: readonly string[];
}

/**
 * One join: `"index lookup"` (per left row, through `index`) when the joined table has an index
 * whose first column is the join column, else `"hash join"` (the right side read once).
 */
export interface JoinExplanation {
  readonly alias: string;
  readonly table: string;
  readonly kind: "inner" | "left";
  readonly strategy: "index lookup" | "hash join";
  readonly index: string | null;
  readonly on: string;
}

/** One nested load: the relation, its cardinality and the index serving the lookup per parent row. */
export interface WithExplanation {
  readonly as: string;
  readonly relation: string;
  readonly kind: "one" | "many";
  readonly strategy: "index lookup";
  readonly index: string;
  readonly nested: Explanation;
}

/** Which lowering a compile uses for per-row filters and unserved orders. */
export interface Lowerings {
  readonly coreFilter?: boolean;
  readonly coreSort?: boolean;
}

function describePredicate(p: Predicate): string {
  if (p.operand === null) return `${p.column} ${p.op}`;
  const v = p.operand.kind === "param" ? `$${p.operand.name}` : "?";
  return `${p.column} ${p.op} ${v}`;
}

export function explainPlan(meta: TableMeta, plan: ReadPlan, lowering: Lowerings = {}): Explanation {
  const sortText = plan.sort
    ? `${plan.sort.column} ${plan.sort.reverse ? "desc" : "asc"} (${lowering.coreSort ? "insertion sort (core)" : "sort route (extension)"})`
    : null;
  return {
    table: `${meta.namespace}/${meta.name}`,
    access: plan.point ? "key lookup" : plan.lookup ? "index lookups" : plan.selector.length > 0 ? "index range" : "full scan",
    index: plan.index.name,
    served: plan.served.map(describePredicate),
    filtered: plan.filtered.map(describePredicate),
    order: plan.order
      ? plan.sort
        ? `${plan.order.columns.join(", ")} ${plan.sort.reverse ? "desc" : "asc"} (order route on ${plan.index.name}, then the sort route: ties by key ascending)`
        : `${plan.order.columns.join(", ")} ${plan.order.reverse ? "desc" : "asc"} (order route on ${plan.index.name})`
      : sortText,
    filter: plan.filtered.length === 0 ? null : lowering.coreFilter ? "fold (core)" : "filter route (extension)",
  };
}
