/**
 * The traversal builder: immutable (every call returns a new builder), typed by the table the
 * traversal is at; each call checks its arguments against the catalog and adds to the plan.
 * Compiling, explaining and running are shared with every query (query.ts).
 */
import { BadRequestError } from "../errors.js";
import { idProblem } from "../ir/id.js";
import type { Json } from "../ir/types.js";
import {
  CMP_OPS,
  DEFAULT_VISIT_BUDGET,
  MAX_HOPS_LIMIT,
  type CmpOp,
  type OrderKey,
  type PlanFilter,
  type PlanHop,
  type PlanResult,
  type PlanStep,
  type PlanValue,
  type TraversePlan,
} from "../ir/traverse-plan.js";
import type { RelationInfo, TableNode } from "./catalog.js";
import { decodeCount, decodePath, decodePaths, decodeReturn, decodeRows } from "./decode.js";
import { checkCount, planValue, type ParamRef, type ValueOrParam } from "./plan-values.js";
import { GraphQuery, GraphQueryBase, type GraphContext } from "./query.js";
import type {
  GraphShape,
  InRelation,
  InSource,
  OutRelation,
  OutTarget,
  PathStep,
  GraphRowOf,
  SelfRelation,
} from "./shape.js";
import { showValue } from "../ir/show-value.js";

/** Default upper bound of a variable-length hop (`hops: [min, max]`); a larger max must be explicit. */
export const DEFAULT_MAX_HOPS = 8;

/** Options of a hop. */
export interface HopOptions {
  /**
   * `[min, max]` hops along the relation (variable length; the relation must lead back to the same
   * table unless both are 1). Default `[1, 1]`. `[min]` means up to the default maximum, 8; a
   * larger `max` must be written explicitly; at most 1000.
   */
  readonly hops?: readonly [number, number?];
}

/** The immutable node tree behind a builder. */
interface TraversalState {
  readonly start: { readonly table: string; readonly filters: readonly PlanFilter[] };
  readonly steps: readonly PlanStep[];
  readonly current: string;
  readonly distinct: boolean;
  readonly select: readonly string[] | null;
  readonly orderBy: readonly OrderKey[];
  readonly offset: PlanValue | null;
  readonly limit: PlanValue | null;
  readonly budget: number;
}

/**
 * A traversal at table `C` of graph `S`, with aliases `A` bound so far and output rows `O`.
 *
 * @example
 * ```ts
 * const fof = db.graph.match("users", { id: param("me") })
 *   .out("follows").out("follows").distinct().where("city", "=", param("city"));
 * await fof.execute({ me: 1, city: "paris" });
 * ```
 */
export class Traversal<S extends GraphShape, C extends string, A extends Record<string, string> = {}, O = GraphRowOf<S, C>> extends GraphQueryBase<O[]> {
  /** Type-level only. */
  declare readonly $types: { shape: S; current: C; aliases: A; output: O };

  /** @internal use `graph.match()` */
  constructor(
    protected readonly ctx: GraphContext,
    private readonly state: TraversalState,
  ) {
    super();
  }

  private with(patch: Partial<TraversalState>): TraversalState {
    return Object.freeze({ ...this.state, ...patch });
  }

  private next<C2 extends string, A2 extends Record<string, string>, O2>(patch: Partial<TraversalState>): Traversal<S, C2, A2, O2> {
    return new Traversal<S, C2, A2, O2>(this.ctx, this.with(patch));
  }

  private checkOpen(what: string): void {
    if (this.state.select !== null || this.state.orderBy.length > 0 || this.state.limit !== null || this.state.offset !== null) {
      throw new BadRequestError(`${what} must come before select(), orderBy(), limit() and offset()`);
    }
  }

  private hop(rel: RelationInfo, dir: "out" | "in" | "both", name: string, alts: PlanHop["alts"], target: string, opts: HopOptions | undefined): PlanHop {
    const hops = opts?.hops;
    let min = 1;
    let max = 1;
    if (hops !== undefined) {
      if (!Array.isArray(hops) || hops.length < 1 || hops.length > 2) throw new BadRequestError(`${dir}(${name}): hops is [min, max] or [min]`);
      min = hops[0] as number;
      if (hops[1] === undefined) {
        if (Number.isSafeInteger(min) && min > DEFAULT_MAX_HOPS) {
          throw new BadRequestError(`${dir}(${name}): hops [${min}] exceeds the default maximum of ${DEFAULT_MAX_HOPS}; write the maximum explicitly: [${min}, max]`);
        }
        max = DEFAULT_MAX_HOPS;
      } else max = hops[1];
      for (const n of [min, max]) {
        if (!Number.isSafeInteger(n) || n < 0) throw new BadRequestError(`${dir}(${name}): hops must be non-negative integers, got [${min}, ${max}]`);
      }
      if (min > max) throw new BadRequestError(`${dir}(${name}): hops [${min}, ${max}]: min is larger than max`);
      if (max > MAX_HOPS_LIMIT) throw new BadRequestError(`${dir}(${name}): at most ${MAX_HOPS_LIMIT} hops, got ${max}`);
      if ((min !== 1 || max !== 1) && rel.source !== rel.target) {
        throw new BadRequestError(
          `${dir}(${name}): relation ${name} goes from ${rel.source} to ${rel.target}; a variable number of hops needs a relation from a table to itself`,
        );
      }
    }
    return { kind: "hop", rel: name, dir, source: this.state.current, target, alts, min, max };
  }

  /**
   * Follows relation `rel` of the current table forwards.
   *
   * @example
   * ```ts
   * db.graph.match("users", { id: 1 }).out("follows", { hops: [1, 3] });
   * ```
   */
  out<R extends OutRelation<S, C>>(rel: R, opts?: HopOptions): Traversal<S, OutTarget<S, C, R>, A, GraphRowOf<S, OutTarget<S, C, R>>> {
    this.checkOpen("out()");
    const r = this.ctx.catalog.relation(this.state.current, rel);
    const step = this.hop(r, "out", rel, [{ lookups: r.lookups, relAt: r.relAt, relation: r.identity }], r.target, opts);
    return this.next({ steps: [...this.state.steps, step], current: r.target });
  }

  /**
   * Follows relation `rel` backwards: `rel` is a relation (of some table) that arrives at the
   * current table; the traversal moves to the rows it comes from.
   *
   * @example
   * ```ts
   * db.graph.match("users", { id: 1 }).in("follows"); // who follows user 1
   * ```
   */
  in<R extends InRelation<S, C>>(rel: R, opts?: HopOptions): Traversal<S, InSource<S, C, R>, A, GraphRowOf<S, InSource<S, C, R>>> {
    this.checkOpen("in()");
    const forward = this.ctx.catalog.incoming(this.state.current, rel);
    const back = this.ctx.catalog.relation(forward.target, forward.inverse);
    const step = this.hop(back, "in", rel, [{ lookups: back.lookups, relAt: back.relAt, relation: back.identity }], back.target, opts);
    return this.next({ steps: [...this.state.steps, step], current: back.target });
  }

  /**
   * Follows relation `rel` in both directions (the union): `rel` must lead from the current table
   * back to it. A self-loop row counts once.
   */
  both<R extends SelfRelation<S, C>>(rel: R, opts?: HopOptions): Traversal<S, C, A, O> {
    this.checkOpen("both()");
    const r = this.ctx.catalog.relation(this.state.current, rel);
    if (r.target !== r.source) {
      throw new BadRequestError(`both(${rel}): relation ${rel} goes from ${r.source} to ${r.target}; both() needs a relation from a table to itself`);
    }
    const inv = this.ctx.catalog.relation(r.target, r.inverse);
    const step = this.hop(
      r,
      "both",
      rel,
      [
        { lookups: r.lookups, relAt: r.relAt, relation: r.identity },
        { lookups: inv.lookups, relAt: inv.relAt, relation: inv.identity },
      ],
      r.target,
      opts,
    );
    return this.next({ steps: [...this.state.steps, step] });
  }

  /**
   * Keeps the rows of the current table where `col op value`. Comparisons with `null` are false.
   *
   * @example
   * ```ts
   * traversal.where("lang", "=", "en").where("age", ">=", param("minAge"));
   * ```
   */
  // One signature, column names written out (not the `ColumnOf` alias): a wrong column is
  // reported as not assignable to the union of the valid ones.
  where<K extends keyof GraphRowOf<S, C> & string, Op extends CmpOp>(
    col: K,
    op: Op,
    value: [Op] extends ["in"] ? ValueOrParam<readonly GraphRowOf<S, C>[K][]> : ValueOrParam<GraphRowOf<S, C>[K]>,
  ): Traversal<S, C, A, O>;
  where(col: string, op: CmpOp, value: unknown): Traversal<S, C, A, O> {
    this.checkOpen("where()");
    const table = this.ctx.catalog.table(this.state.current);
    if (!table.columns.includes(col)) {
      throw new BadRequestError(`where(): table ${table.table} has no column ${showValue(col)}; columns: ${table.columns.join(", ")}`);
    }
    if (!CMP_OPS.includes(op)) throw new BadRequestError(`where(): unknown operator ${showValue(op)}; use one of ${CMP_OPS.join(" ")}`);
    const v = planValue(encodeFor(table, col, value, `where(${col})`), `where(${col})`);
    if (op === "in" && "lit" in v && !Array.isArray(v.lit)) throw new BadRequestError(`where(${col}, "in", …) takes a tuple of values`);
    return this.next({ steps: [...this.state.steps, { kind: "where", filter: { col, op, value: v } }] });
  }

  /**
   * Returns each endpoint row once. Distinct traversals run breadth-first over sets (a visited
   * set per variable-length hop): their cost grows with the rows reached, not with the paths.
   */
  distinct(): Traversal<S, C, A, O> {
    if (this.state.steps.some((s) => s.kind === "as")) throw new BadRequestError("distinct() returns endpoints; it cannot be combined with as()/return()");
    return this.next({ distinct: true });
  }

  /** Binds the current rows to `alias`, for `return()`. */
  as<N extends string>(alias: N): Traversal<S, C, A & { [K in N]: C }, O> {
    this.checkOpen("as()");
    const problem = idProblem(alias);
    if (problem) throw new BadRequestError(`as(${showValue(alias)}): ${problem}`);
    if (this.state.distinct) throw new BadRequestError("as() enumerates trails; it cannot follow distinct()");
    if (this.state.steps.some((s) => s.kind === "as" && s.alias === alias)) throw new BadRequestError(`as(${alias}): alias already bound`);
    return this.next({ steps: [...this.state.steps, { kind: "as", alias }] });
  }

  /** Returns only these columns of the current table, in this order. */
  select<K extends keyof GraphRowOf<S, C> & string>(cols: readonly K[]): Traversal<S, C, A, { [P in K]: GraphRowOf<S, C>[P] }> {
    const table = this.ctx.catalog.table(this.state.current);
    if (!Array.isArray(cols) || cols.length === 0) throw new BadRequestError("select() takes a non-empty list of columns");
    for (const c of cols) {
      if (!table.columns.includes(c)) throw new BadRequestError(`select(): table ${table.table} has no column ${showValue(c)}; columns: ${table.columns.join(", ")}`);
    }
    return this.next({ select: [...cols] });
  }

  /** Orders the results by a column of the current table (stable; ties keep the canonical order). */
  orderBy(col: keyof GraphRowOf<S, C> & string, direction: "asc" | "desc" = "asc"): Traversal<S, C, A, O> {
    const table = this.ctx.catalog.table(this.state.current);
    if (!table.columns.includes(col)) throw new BadRequestError(`orderBy(): table ${table.table} has no column ${showValue(col)}`);
    if (direction !== "asc" && direction !== "desc") throw new BadRequestError(`orderBy(): direction is "asc" or "desc"`);
    return this.next({ orderBy: [...this.state.orderBy, { col, desc: direction === "desc" }] });
  }

  /** At most `n` results. */
  limit(n: number | ParamRef): Traversal<S, C, A, O> {
    return this.next({ limit: checkCount(n, "limit()") });
  }

  /** Skips the first `n` results. */
  offset(n: number | ParamRef): Traversal<S, C, A, O> {
    return this.next({ offset: checkCount(n, "offset()") });
  }

  /** The visit budget: the most rows this traversal may touch (default 1,000,000). */
  budget(rows: number): Traversal<S, C, A, O> {
    if (!Number.isSafeInteger(rows) || rows < 1) throw new BadRequestError(`budget(): a positive integer, got ${showValue(rows)}`);
    return this.next({ budget: rows });
  }

  /** The number of results (after offset/limit, when given). */
  count(): GraphQuery<S, number> {
    return new GraphQuery(this.ctx, () => this.planWith({ ...this.rowsResult(), count: true }), (r) => decodeCount(r));
  }

  /** Each result is the list of rows along one trail, start to end. */
  paths(): GraphQuery<S, PathStep<S>[][]> {
    if (this.state.distinct) throw new BadRequestError("paths() enumerates trails; it cannot follow distinct()");
    if (this.state.select || this.state.orderBy.length) throw new BadRequestError("paths() returns whole rows in canonical order: drop select()/orderBy()");
    return new GraphQuery(this.ctx, () => this.planWith({ kind: "paths", count: false }), (r, _p, cat) => decodePaths(r, cat) as PathStep<S>[][]);
  }

  /**
   * Returns several bound tables per result: `{ field: alias }`.
   *
   * @example
   * ```ts
   * db.graph.match("users").as("u").out("posts").as("p").return({ user: "u", post: "p" });
   * ```
   */
  return<M extends Record<string, keyof A & string>>(fields: M): GraphQuery<S, { [K in keyof M]: GraphRowOf<S, A[M[K]] & string> }[]> {
    if (fields === null || typeof fields !== "object" || Object.keys(fields).length === 0) {
      throw new BadRequestError("return() takes { field: alias, … }");
    }
    if (this.state.select || this.state.orderBy.length) throw new BadRequestError("return() returns whole rows in canonical order: drop select()/orderBy()");
    const aliases = new Map<string, string>();
    for (const s of this.state.steps) if (s.kind === "as") aliases.set(s.alias, "");
    const entries = Object.entries(fields) as [string, string][];
    for (const [field, alias] of entries) {
      const problem = idProblem(field);
      if (problem) throw new BadRequestError(`return(): field ${showValue(field)}: ${problem}`);
      if (!aliases.has(alias)) throw new BadRequestError(`return(): alias ${showValue(alias)} is not bound by as(); bound: ${[...aliases.keys()].join(", ") || "(none)"}`);
    }
    const tableOf = aliasTables(this.state);
    return new GraphQuery(
      this.ctx,
      () => this.planWith({ kind: "return", fields: entries, count: false }),
      (r, _p, cat) => decodeReturn(r, entries, tableOf, cat) as { [K in keyof M]: GraphRowOf<S, A[M[K]] & string> }[],
    );
  }

  private rowsResult(): Extract<PlanResult, { kind: "rows" }> {
    return { kind: "rows", distinct: this.state.distinct, select: this.state.select, orderBy: this.state.orderBy, count: false };
  }

  /** The plan of this traversal with `result` (checked by the query that runs it). */
  private planWith(result: PlanResult): TraversePlan {
    const s = this.state;
    return { v: 1, start: s.start, steps: s.steps, result, offset: s.offset, limit: s.limit, budget: s.budget };
  }

  /** @internal */
  protected buildPlan(): TraversePlan {
    return this.planWith(this.rowsResult());
  }

  /** @internal */
  protected decode(result: Json, plan: TraversePlan): O[] {
    const r = plan.result as Extract<PlanResult, { kind: "rows" }>;
    const node = this.ctx.catalog.table(this.state.current);
    return decodeRows(result, node, r.select ?? node.columns) as O[];
  }
}

function aliasTables(state: TraversalState): Map<string, string> {
  const out = new Map<string, string>();
  let table = state.start.table;
  for (const s of state.steps) {
    if (s.kind === "hop") table = s.target;
    if (s.kind === "as") out.set(s.alias, table);
  }
  return out;
}

/** `value` in its wire form for `col` of `table` when it has one (a Date, a bigint, bytes); a param as it is. */
function encodeFor(table: TableNode, col: string, value: unknown, where: string): unknown {
  const enc = table.encoders[col];
  return enc === undefined ? value : enc(value, where);
}

/** Builds the start of a traversal. @internal */
export function startTraversal<S extends GraphShape, C extends string>(ctx: GraphContext, table: C, filter?: Readonly<Record<string, unknown>>): Traversal<S, C> {
  const meta = ctx.catalog.table(table);
  const filters: PlanFilter[] = [];
  if (filter !== undefined) {
    if (filter === null || typeof filter !== "object" || Array.isArray(filter)) throw new BadRequestError(`match(${table}, filter): filter is { column: value }`);
    for (const [col, value] of Object.entries(filter)) {
      if (!meta.columns.includes(col)) throw new BadRequestError(`match(${table}): no column ${showValue(col)}; columns: ${meta.columns.join(", ")}`);
      filters.push({ col, op: "=", value: planValue(encodeFor(meta, col, value, `match(${table}).${col}`), `match(${table}).${col}`) });
    }
  }
  return new Traversal<S, C>(
    ctx,
    Object.freeze({
      start: { table, filters },
      steps: [],
      current: table,
      distinct: false,
      select: null,
      orderBy: [],
      offset: null,
      limit: null,
      budget: DEFAULT_VISIT_BUDGET,
    }),
  );
}

/** Options of `shortestPath`. */
export interface ShortestPathOptions {
  /** Most hops to search (default 8; at most 1000). */
  readonly maxHops?: number;
  /** Direction along the relation (default "out"). */
  readonly direction?: "out" | "in" | "both";
  /** Visit budget (default 1,000,000 rows). */
  readonly budget?: number;
}

/**
 * The shortest path (fewest hops) from a row matching `from` to a row matching `to` along one
 * self-relation; ties go to the smallest path in canonical order. Returns the rows along it, or
 * `null`.
 * @internal use `graph.shortestPath()`
 */
export function shortestPathQuery<S extends GraphShape, C extends string>(
  ctx: GraphContext,
  from: Traversal<S, C, {}, unknown>,
  to: Traversal<S, C, {}, unknown>,
  rel: string,
  opts: ShortestPathOptions = {},
): GraphQuery<S, PathStep<S>[] | null> {
  const fromPlan = (from as unknown as { plan(): TraversePlan }).plan();
  const toPlan = (to as unknown as { plan(): TraversePlan }).plan();
  if (fromPlan.steps.length > 0 || toPlan.steps.length > 0) throw new BadRequestError("shortestPath(from, to): from and to are match(table, filter) without hops");
  if (fromPlan.start.table !== toPlan.start.table) {
    throw new BadRequestError(`shortestPath(): from is in ${fromPlan.start.table} and to is in ${toPlan.start.table}; both must be in the relation's table`);
  }
  const maxHops = opts.maxHops ?? DEFAULT_MAX_HOPS;
  const dir = opts.direction ?? "out";
  let t = startTraversal<GraphShape, string>(ctx, fromPlan.start.table);
  const hop = { hops: [0, maxHops] as const };
  t = dir === "out" ? t.out(rel, hop) : dir === "in" ? t.in(rel, hop) : t.both(rel, hop);
  if (opts.budget !== undefined) t = t.budget(opts.budget);
  const steps = (t as unknown as { state: TraversalState }).state.steps;
  const budget = (t as unknown as { state: TraversalState }).state.budget;
  return new GraphQuery(
    ctx,
    () => ({
      v: 1,
      start: fromPlan.start,
      steps,
      result: { kind: "shortest", to: toPlan.start.filters },
      offset: null,
      limit: null,
      budget,
    }),
    (r, _p, cat) => (r === null ? null : (decodePath(r, cat) as PathStep<S>[])),
  );
}
