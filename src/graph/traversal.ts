/**
 * The traversal builder: immutable (every call returns a new builder), typed by the table the
 * traversal is at, compiled to one parameterized composite op.
 */
import { BadRequestError, NotImplementedError, TcError, VISIT_BUDGET_MESSAGE, VisitBudgetError } from "../errors.js";
import { idProblem } from "../ir/id.js";
import type { Json } from "../ir/types.js";
import type { Executor, Runner } from "../executor.js";
import {
  CMP_OPS,
  DEFAULT_VISIT_BUDGET,
  MAX_HOPS_LIMIT,
  parsePlan,
  type CmpOp,
  type OrderKey,
  type PlanFilter,
  type PlanHop,
  type PlanResult,
  type PlanStep,
  type PlanValue,
  type TraversePlan,
} from "../ir/traverse-plan.js";
import type { Catalog, RelationInfo, TableNode } from "./catalog.js";
import type {
  ColumnOf,
  GraphShape,
  InRelation,
  InSource,
  OutRelation,
  OutTarget,
  PathStep,
  RowOf,
  SelfRelation,
} from "./shape.js";
import { lowerToCore } from "./lower/index.js";
import { rowDecoder } from "../orm/row-factory.js";

/** Default upper bound of a variable-length hop (`hops: [min, max]`); a larger max must be explicit. */
export const DEFAULT_MAX_HOPS = 8;

/** A parameter reference (`param("me")` from the IR module): bound by name at execution. */
export interface ParamRef {
  readonly kind: "id";
  readonly name: string;
}

/** A value or a parameter. */
export type ValueOrParam<T> = T | ParamRef;

/** Options of a hop. */
export interface HopOptions {
  /**
   * `[min, max]` hops along the relation (variable length; the relation must lead back to the same
   * table unless both are 1). Default `[1, 1]`. `[min]` means up to the default maximum, 8; a
   * larger `max` must be written explicitly; at most 1000.
   */
  readonly hops?: readonly [number, number?];
}

/** How a graph compiles: through the `traverse` kernel extension, or to core IR forms only. */
export type Lowering = "extension" | "core";

/** What `compile()` returns. */
export interface CompiledTraversal {
  /** The composite op (a POST OpDef) as IR JSON. No user value appears in it. */
  readonly op: Json;
  /** The parameters the caller binds (`param(name)`), sorted. */
  readonly params: readonly string[];
  /**
   * The literal values of the traversal (filters, limits), bound as parameters `lit_0`, `lit_1`, …
   * at execution: the op itself is the same for every value, and holds none of them.
   */
  readonly literals: Readonly<Record<string, Json>>;
  /** The plan the op carries (extension) or was lowered from (core), literals as parameters. */
  readonly plan: TraversePlan;
}

/** Replaces every literal of a plan by a parameter `lit_<n>` (avoiding the plan's own names). */
function parameterize(plan: TraversePlan): { plan: TraversePlan; literals: Record<string, Json> } {
  const taken = new Set(paramsOf(plan));
  const literals: Record<string, Json> = {};
  let n = 0;
  const lift = (v: PlanValue): PlanValue => {
    if ("param" in v) return v;
    let name = `lit_${n++}`;
    while (taken.has(name)) name = `lit_${n++}`;
    literals[name] = v.lit as Json;
    return { param: name };
  };
  const filter = (f: PlanFilter): PlanFilter => ({ ...f, value: lift(f.value) });
  const steps = plan.steps.map((s): PlanStep => (s.kind === "where" ? { ...s, filter: filter(s.filter) } : s));
  const result: PlanResult = plan.result.kind === "shortest" ? { ...plan.result, to: plan.result.to.map(filter) } : plan.result;
  return {
    plan: {
      ...plan,
      start: { ...plan.start, filters: plan.start.filters.map(filter) },
      steps,
      result,
      offset: plan.offset ? lift(plan.offset) : null,
      limit: plan.limit ? lift(plan.limit) : null,
    },
    literals,
  };
}

/** The context a builder compiles and runs in. */
export interface GraphContext {
  readonly catalog: Catalog;
  readonly executor: Runner | Executor;
  readonly lowering: Lowering;
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

function isParam(v: unknown): v is ParamRef {
  return v !== null && typeof v === "object" && !Array.isArray(v) && (v as { kind?: unknown }).kind === "id" && typeof (v as { name?: unknown }).name === "string";
}

function checkLiteral(v: unknown, where: string): Json {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new BadRequestError(`${where}: ${v} is not a finite number`);
    if (Number.isInteger(v) && !Number.isSafeInteger(v)) throw new BadRequestError(`${where}: integer ${v} is outside ±(2^53 − 1)`);
    return v;
  }
  if (Array.isArray(v)) return v.map((x, i) => checkLiteral(x, `${where}[${i}]`));
  throw new BadRequestError(`${where}: expected a value (none, bool, number, string, tuple) or param(name), got ${typeof v}`);
}

function planValue(v: unknown, where: string): PlanValue {
  if (isParam(v)) {
    const problem = idProblem(v.name);
    if (problem) throw new BadRequestError(`${where}: invalid parameter name ${JSON.stringify(v.name)}: ${problem}`);
    return { param: v.name };
  }
  return { lit: checkLiteral(v, where) };
}

function checkCount(n: unknown, what: string): PlanValue {
  if (isParam(n)) return planValue(n, what);
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw new BadRequestError(`${what} must be a non-negative integer or param(name), got ${JSON.stringify(n)}`);
  }
  return { lit: n };
}

function paramsOf(plan: TraversePlan): string[] {
  const names = new Set<string>();
  const see = (v: PlanValue | null): void => {
    if (v && "param" in v) names.add(v.param);
  };
  for (const f of plan.start.filters) see(f.value);
  for (const s of plan.steps) if (s.kind === "where") see(s.filter.value);
  if (plan.result.kind === "shortest") for (const f of plan.result.to) see(f.value);
  see(plan.offset);
  see(plan.limit);
  return [...names].sort();
}

/** Base of every runnable graph query: compile, explain, execute. */
abstract class GraphQueryBase<R> {
  /** @internal */
  protected abstract readonly ctx: GraphContext;
  /** @internal */
  protected abstract plan(): TraversePlan;
  /** @internal maps the op's JSON result to the typed result */
  protected abstract decode(result: Json, plan: TraversePlan): R;

  /**
   * Compiles to one composite op with parameters.
   *
   * @example
   * ```ts
   * const { op, params } = db.graph.match("users", { id: param("me") }).out("follows").compile();
   * params; // ["me"]
   * ```
   */
  compile(): CompiledTraversal {
    return this.prepared().compiled;
  }

  /** The compiled traversal plus what `execute` needs per call; built once per builder. */
  private prepared(): PreparedTraversal<R> {
    // Builders are immutable: compile once, and hand the executor the same op object each time
    // (its op cache then hits by identity, and a remote host keeps one prepared op).
    if (this.ready === undefined) {
      const params = paramsOf(this.plan());
      const { plan, literals } = parameterize(this.plan());
      const op = this.ctx.lowering === "core" ? lowerToCore(plan, this.ctx.catalog) : extensionOp(plan, this.ctx.catalog.namespace, paramsOf(plan));
      const compiled: CompiledTraversal = Object.freeze({ op, params: Object.freeze(params), literals: Object.freeze(literals), plan });
      const hasLiterals = Object.keys(literals).length > 0;
      const decode = (result: Json): R => this.decode(result, plan);
      this.ready = { compiled, hasLiterals, decode, shaped: shapedParams(plan) };
    }
    return this.ready;
  }
  private ready: PreparedTraversal<R> | undefined;

  /**
   * Runs the op in one transaction (one round trip remotely) with the parameters bound by name.
   *
   * @example
   * ```ts
   * const friends = await db.graph.match("users", { id: param("me") }).out("follows").execute({ me: 1 });
   * ```
   */
  execute(args: Readonly<Record<string, Json>> = {}, runner?: Runner): Promise<R> {
    let ready: PreparedTraversal<R>;
    let pending: Promise<Json>;
    try {
      ready = this.prepared();
      const compiled = ready.compiled;
      checkArgs(compiled.params, args);
      if (ready.shaped.length > 0) checkShapes(ready.shaped, args);
      const bound = ready.hasLiterals ? { ...compiled.literals, ...args } : args;
      pending = (runner ?? this.ctx.executor).execute(compiled.op, bound);
    } catch (e) {
      return Promise.reject(retype(e));
    }
    return pending.then(ready.decode, rethrowRetyped);
  }

  /** A readable account of the plan: lookups per hop, the semantics used, the budget. */
  explain(): string {
    return explainPlan(this.plan(), this.ctx);
  }
}

/** What `execute` reuses across calls of one builder. */
interface PreparedTraversal<R = unknown> {
  readonly compiled: CompiledTraversal;
  readonly hasLiterals: boolean;
  /** Parameters whose value must have a shape (a window bound, an `in` list); usually none. */
  readonly shaped: readonly ShapedParam[];
  /** The op's JSON result → the typed result. */
  readonly decode: (result: Json) => R;
}

/** A parameter used where only some values make sense. */
interface ShapedParam {
  readonly name: string;
  readonly role: "offset" | "limit" | "in";
}

/** The parameters of `plan` used as `offset`/`limit` or as the list of an `in` filter. */
function shapedParams(plan: TraversePlan): ShapedParam[] {
  const out: ShapedParam[] = [];
  if (plan.offset !== null && "param" in plan.offset) out.push({ name: plan.offset.param, role: "offset" });
  if (plan.limit !== null && "param" in plan.limit) out.push({ name: plan.limit.param, role: "limit" });
  const filters = [...plan.start.filters, ...plan.steps.flatMap((s) => (s.kind === "where" ? [s.filter] : []))];
  if (plan.result.kind === "shortest") filters.push(...plan.result.to);
  for (const f of filters) if (f.op === "in" && "param" in f.value) out.push({ name: f.value.param, role: "in" });
  return out;
}

/**
 * Checks the shapes the plan needs before anything runs, so that both lowerings refuse the same
 * values with the same typed error (the core lowering's built-ins would otherwise fail with their
 * own messages, or take a negative window bound as a count from the end).
 */
function checkShapes(shaped: readonly ShapedParam[], args: Readonly<Record<string, Json>>): void {
  for (const { name, role } of shaped) {
    const v = args[name];
    if (v === undefined) continue; // a literal: checked when the traversal was built
    if (role === "in") {
      if (!Array.isArray(v)) throw new BadRequestError(`execute(): parameter ${name} is the list of an "in" filter and must be a list, got ${JSON.stringify(v)}`);
    } else if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      throw new BadRequestError(`execute(): parameter ${name} is the ${role} and must be a non-negative integer, got ${JSON.stringify(v)}`);
    }
  }
}

/** True for a value `checkLiteral` accepts as it is: none, bool, string, a finite safe number. */
function isPlainLiteral(v: unknown): boolean {
  switch (typeof v) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isInteger(v) ? Number.isSafeInteger(v) : Number.isFinite(v);
    default:
      return v === null;
  }
}

/** Checks execution arguments against the traversal's parameters (typed errors, no partial run). */
function checkArgs(params: readonly string[], args: Readonly<Record<string, Json>>): void {
  if (args === null || typeof args !== "object" || Array.isArray(args)) throw new BadRequestError("execute(args): args must be an object");
  for (let i = 0; i < params.length; i++) {
    if (!Object.prototype.hasOwnProperty.call(args, params[i]!)) throw new BadRequestError(`execute(): missing parameter ${params[i]}`);
  }
  const keys = Object.keys(args);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (!params.includes(k)) {
      throw new BadRequestError(`execute(): unknown parameter ${k}; this traversal takes ${params.length ? params.join(", ") : "none"}`);
    }
    const v = args[k];
    if (!isPlainLiteral(v)) checkLiteral(v, `parameter ${k}`);
  }
}

function rethrowRetyped(e: unknown): never {
  throw retype(e);
}

/** A remote budget failure arrives as a plain bad_request: give it back its class. */
function retype(e: unknown): unknown {
  if (e instanceof VisitBudgetError) return e;
  if (e instanceof TcError && e.kind === "not_found" && /no route "traverse"/.test(e.message)) {
    return new NotImplementedError(
      `this host has no traverse extension (${e.message}); run the traversal with graph.withLowering("core") (core IR only; for small graphs), or use a host with the extension`,
      { cause: e },
    );
  }
  if (e instanceof TcError && e.kind === "bad_request") {
    const m = VISIT_BUDGET_MESSAGE.exec(e.message);
    if (m) {
      const err = new VisitBudgetError(Number(m[1]));
      (err as { cause?: unknown }).cause = e;
      return err;
    }
  }
  return e;
}

/** A finished query whose result type is fixed (`count()`, `paths()`, `return()`, `shortestPath()`). */
export class GraphQuery<S extends GraphShape, R> extends GraphQueryBase<R> {
  /** @internal */
  constructor(
    protected readonly ctx: GraphContext,
    private readonly build: () => TraversePlan,
    private readonly decoder: (result: Json, plan: TraversePlan, catalog: Catalog) => R,
  ) {
    super();
  }
  /** @internal */
  protected plan(): TraversePlan {
    return this.build();
  }
  /** @internal */
  protected decode(result: Json, plan: TraversePlan): R {
    return this.decoder(result, plan, this.ctx.catalog);
  }
  /** Type-level only. */
  declare readonly $shape: S;
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
export class Traversal<S extends GraphShape, C extends string, A extends Record<string, string> = {}, O = RowOf<S, C>> extends GraphQueryBase<O[]> {
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
  out<R extends OutRelation<S, C>>(rel: R, opts?: HopOptions): Traversal<S, OutTarget<S, C, R>, A, RowOf<S, OutTarget<S, C, R>>> {
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
  in<R extends InRelation<S, C>>(rel: R, opts?: HopOptions): Traversal<S, InSource<S, C, R>, A, RowOf<S, InSource<S, C, R>>> {
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
  where<K extends ColumnOf<S, C>>(col: K, op: "in", value: ValueOrParam<readonly RowOf<S, C>[K][]>): Traversal<S, C, A, O>;
  where<K extends ColumnOf<S, C>>(col: K, op: Exclude<CmpOp, "in">, value: ValueOrParam<RowOf<S, C>[K]>): Traversal<S, C, A, O>;
  where(col: string, op: CmpOp, value: unknown): Traversal<S, C, A, O> {
    this.checkOpen("where()");
    const table = this.ctx.catalog.table(this.state.current);
    if (!table.columns.includes(col)) {
      throw new BadRequestError(`where(): table ${table.table} has no column ${JSON.stringify(col)}; columns: ${table.columns.join(", ")}`);
    }
    if (!CMP_OPS.includes(op)) throw new BadRequestError(`where(): unknown operator ${JSON.stringify(op)}; use one of ${CMP_OPS.join(" ")}`);
    const v = planValue(value, `where(${col})`);
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
    if (problem) throw new BadRequestError(`as(${JSON.stringify(alias)}): ${problem}`);
    if (this.state.distinct) throw new BadRequestError("as() enumerates trails; it cannot follow distinct()");
    if (this.state.steps.some((s) => s.kind === "as" && s.alias === alias)) throw new BadRequestError(`as(${alias}): alias already bound`);
    return this.next({ steps: [...this.state.steps, { kind: "as", alias }] });
  }

  /** Returns only these columns of the current table, in this order. */
  select<K extends ColumnOf<S, C>>(cols: readonly K[]): Traversal<S, C, A, { [P in K]: RowOf<S, C>[P] }> {
    const table = this.ctx.catalog.table(this.state.current);
    if (!Array.isArray(cols) || cols.length === 0) throw new BadRequestError("select() takes a non-empty list of columns");
    for (const c of cols) {
      if (!table.columns.includes(c)) throw new BadRequestError(`select(): table ${table.table} has no column ${JSON.stringify(c)}; columns: ${table.columns.join(", ")}`);
    }
    return this.next({ select: [...cols] });
  }

  /** Orders the results by a column of the current table (stable; ties keep the canonical order). */
  orderBy(col: ColumnOf<S, C>, direction: "asc" | "desc" = "asc"): Traversal<S, C, A, O> {
    const table = this.ctx.catalog.table(this.state.current);
    if (!table.columns.includes(col)) throw new BadRequestError(`orderBy(): table ${table.table} has no column ${JSON.stringify(col)}`);
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
    if (!Number.isSafeInteger(rows) || rows < 1) throw new BadRequestError(`budget(): a positive integer, got ${JSON.stringify(rows)}`);
    return this.next({ budget: rows });
  }

  /** The number of results (after offset/limit, when given). */
  count(): GraphQuery<S, number> {
    return new GraphQuery(this.ctx, () => this.buildPlan({ ...this.rowsResult(), count: true }), (r) => decodeCount(r));
  }

  /** Each result is the list of rows along one trail, start to end. */
  paths(): GraphQuery<S, PathStep<S>[][]> {
    if (this.state.distinct) throw new BadRequestError("paths() enumerates trails; it cannot follow distinct()");
    if (this.state.select || this.state.orderBy.length) throw new BadRequestError("paths() returns whole rows in canonical order: drop select()/orderBy()");
    return new GraphQuery(this.ctx, () => this.buildPlan({ kind: "paths", count: false }), (r, _p, cat) => decodePaths(r, cat) as PathStep<S>[][]);
  }

  /**
   * Returns several bound tables per result: `{ field: alias }`.
   *
   * @example
   * ```ts
   * db.graph.match("users").as("u").out("posts").as("p").return({ user: "u", post: "p" });
   * ```
   */
  return<M extends Record<string, keyof A & string>>(fields: M): GraphQuery<S, { [K in keyof M]: RowOf<S, A[M[K]] & string> }[]> {
    if (fields === null || typeof fields !== "object" || Object.keys(fields).length === 0) {
      throw new BadRequestError("return() takes { field: alias, … }");
    }
    if (this.state.select || this.state.orderBy.length) throw new BadRequestError("return() returns whole rows in canonical order: drop select()/orderBy()");
    const aliases = new Map<string, string>();
    for (const s of this.state.steps) if (s.kind === "as") aliases.set(s.alias, "");
    const entries = Object.entries(fields) as [string, string][];
    for (const [field, alias] of entries) {
      const problem = idProblem(field);
      if (problem) throw new BadRequestError(`return(): field ${JSON.stringify(field)}: ${problem}`);
      if (!aliases.has(alias)) throw new BadRequestError(`return(): alias ${JSON.stringify(alias)} is not bound by as(); bound: ${[...aliases.keys()].join(", ") || "(none)"}`);
    }
    const tableOf = aliasTables(this.state);
    return new GraphQuery(
      this.ctx,
      () => this.buildPlan({ kind: "return", fields: entries, count: false }),
      (r, _p, cat) => decodeReturn(r, entries, tableOf, cat) as { [K in keyof M]: RowOf<S, A[M[K]] & string> }[],
    );
  }

  private rowsResult(): Extract<PlanResult, { kind: "rows" }> {
    return { kind: "rows", distinct: this.state.distinct, select: this.state.select, orderBy: this.state.orderBy, count: false };
  }

  private buildPlan(result: PlanResult): TraversePlan {
    const s = this.state;
    const plan: TraversePlan = { v: 1, start: s.start, steps: s.steps, result, offset: s.offset, limit: s.limit, budget: s.budget };
    // The kernel validates plans too; validating here reports mistakes at compile time.
    parsePlan(JSON.stringify(plan));
    return plan;
  }

  /** @internal */
  protected plan(): TraversePlan {
    return this.buildPlan(this.rowsResult());
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

/** Row tuple → row object for `columns` of a table (link cells as their href strings). */
type RowDecoder = (row: Json[]) => Record<string, Json>;
const DECODERS = new WeakMap<readonly string[], RowDecoder>();

/** The decoder for `columns` (the table's, or a selection of them), cached per columns array. */
function rowDecoderOf(node: TableNode, columns: readonly string[]): RowDecoder {
  let decode = DECODERS.get(columns);
  if (decode === undefined) {
    decode = rowDecoder(columns, columns.filter((c) => node.linkColumns.includes(c))) as RowDecoder;
    DECODERS.set(columns, decode);
  }
  return decode;
}

/** `row` as a tuple of `columns.length` cells, or a 400 saying what came instead. */
function checkRow(row: Json, columns: readonly string[]): Json[] {
  if (!Array.isArray(row) || row.length !== columns.length) {
    throw new BadRequestError(`traversal result: expected a row of ${columns.length} columns, got ${JSON.stringify(row)}`);
  }
  return row;
}

function rowObject(row: Json, node: TableNode, columns: readonly string[] = node.columns): Record<string, Json> {
  return rowDecoderOf(node, columns)(checkRow(row, columns));
}

function decodeRows(result: Json, node: TableNode, columns: readonly string[]): Record<string, Json>[] {
  if (!Array.isArray(result)) throw new BadRequestError(`traversal result: expected a tuple of rows, got ${typeof result}`);
  const decode = rowDecoderOf(node, columns);
  const out: Record<string, Json>[] = [];
  for (let i = 0; i < result.length; i++) {
    out.push(decode(checkRow(result[i]!, columns)));
  }
  return out;
}

function decodeCount(result: Json): number {
  if (typeof result !== "number") throw new BadRequestError(`traversal result: expected a count, got ${JSON.stringify(result)}`);
  return result;
}

function decodePath(path: Json, catalog: Catalog): { table: string; row: Record<string, Json> }[] {
  if (!Array.isArray(path)) throw new BadRequestError("traversal result: a path is a tuple of [table, row]");
  return path.map((step) => {
    if (!Array.isArray(step) || step.length !== 2 || typeof step[0] !== "string") {
      throw new BadRequestError("traversal result: a path step is [table, row]");
    }
    const table = step[0];
    return { table, row: rowObject(step[1]!, catalog.table(table)) };
  });
}

function decodePaths(result: Json, catalog: Catalog): { table: string; row: Record<string, Json> }[][] {
  if (!Array.isArray(result)) throw new BadRequestError("traversal result: expected a tuple of paths");
  return result.map((p) => decodePath(p, catalog));
}

function decodeReturn(result: Json, fields: readonly [string, string][], tableOf: Map<string, string>, catalog: Catalog): Record<string, unknown>[] {
  if (!Array.isArray(result)) throw new BadRequestError("traversal result: expected a tuple of bindings");
  return result.map((binding) => {
    if (!Array.isArray(binding) || binding.length !== fields.length) throw new BadRequestError("traversal result: malformed binding");
    const out: Record<string, unknown> = {};
    fields.forEach(([field, alias], i) => (out[field] = rowObject(binding[i]!, catalog.table(tableOf.get(alias)!))));
    return out;
  });
}

/** The IR JSON of a plan run by the `traverse` extension: one GET on the start table. */
function extensionOp(plan: TraversePlan, namespace: string, params: readonly string[]): Json {
  const bound: Record<string, Json> = {};
  for (const p of params) bound[p] = { [`$${p}`]: [] };
  return {
    // A reserved step name (parameter names never start with "_"): `result` would shadow a parameter of that name.
    "/state/scalar/op/post": [["_result", { [`/state/${namespace}/${plan.start.table}/traverse`]: [[JSON.stringify(plan), bound]] }]],
  };
}

function describeValue(v: PlanValue): string {
  return "param" in v ? `$${v.param}` : JSON.stringify(v.lit);
}

function describeFilters(fs: readonly PlanFilter[]): string {
  return fs.map((f) => `${f.col} ${f.op} ${describeValue(f.value)}`).join(" and ");
}

function explainPlan(plan: TraversePlan, ctx: GraphContext): string {
  const lines: string[] = [];
  const start = plan.start;
  const meta = ctx.catalog.table(start.table);
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
    ctx.lowering === "core"
      ? "op: core IR (while/fold/for_each over index-served table selectors), one transaction"
      : `op: GET /state/${ctx.catalog.namespace}/${start.table}/traverse (extension; see README), one transaction`,
  );
  return lines.join("\n");
}

/** Builds the start of a traversal. @internal */
export function startTraversal<S extends GraphShape, C extends string>(ctx: GraphContext, table: C, filter?: Readonly<Record<string, unknown>>): Traversal<S, C> {
  const meta = ctx.catalog.table(table);
  const filters: PlanFilter[] = [];
  if (filter !== undefined) {
    if (filter === null || typeof filter !== "object" || Array.isArray(filter)) throw new BadRequestError(`match(${table}, filter): filter is { column: value }`);
    for (const [col, value] of Object.entries(filter)) {
      if (!meta.columns.includes(col)) throw new BadRequestError(`match(${table}): no column ${JSON.stringify(col)}; columns: ${meta.columns.join(", ")}`);
      filters.push({ col, op: "=", value: planValue(value, `match(${table}).${col}`) });
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
    () => {
      const plan: TraversePlan = {
        v: 1,
        start: fromPlan.start,
        steps,
        result: { kind: "shortest", to: toPlan.start.filters },
        offset: null,
        limit: null,
        budget,
      };
      parsePlan(JSON.stringify(plan));
      return plan;
    },
    (r, _p, cat) => (r === null ? null : (decodePath(r, cat) as PathStep<S>[])),
  );
}
