/**
 * What every runnable graph query shares — compile once, explain, execute with parameters bound
 * by name — and `GraphQuery`, a finished query whose result type is fixed (`count()`, `paths()`,
 * `return()`, `shortestPath()`). The plan a query describes is checked once (builders are
 * immutable) and compiled once.
 */
import { NotImplementedError, TcError, VISIT_BUDGET_MESSAGE, VisitBudgetError } from "../errors.js";
import type { Executor, FanOutStep, Runner } from "../executor.js";
import type { Json } from "../ir/types.js";
import { checkPlan, type TraversePlan } from "../ir/traverse-plan.js";
import type { Catalog } from "./catalog.js";
import { checkArgs, checkShapes, compileBuilt, encodeArgs, encodedParams, shapedParams, type CompiledTraversal, type EncodedParam, type Lowering, type ShapedParam } from "./compile.js";
import { explainPlan } from "./explain.js";
import type { ArgValue } from "./plan-values.js";
import type { GraphShape } from "./shape.js";
import { describePlan, emit, rowCount, type BoundLog } from "../orm/query-log.js";
import { nameOp } from "../ir/op-name.js";

/** The context a builder compiles and runs in. */
export interface GraphContext {
  readonly catalog: Catalog;
  readonly executor: Runner | Executor;
  readonly lowering: Lowering;
  /** Where executed traversals are logged (`connect(…, { log })`). */
  readonly log?: BoundLog;
}

/** What `execute` reuses across calls of one builder. */
interface PreparedTraversal<R = unknown> {
  readonly compiled: CompiledTraversal;
  readonly hasLiterals: boolean;
  /** Parameters whose value must have a shape (a window bound, an `in` list); usually none. */
  readonly shaped: readonly ShapedParam[];
  /** Parameters compared with a column of dates, bigints, bytes or uuids; usually none. */
  readonly encoded: readonly EncodedParam[];
  /** The op's JSON result → the typed result. */
  readonly decode: (result: Json) => R;
}

/** Base of every runnable graph query: compile, explain, execute. */
export abstract class GraphQueryBase<R> {
  /** @internal */
  protected abstract readonly ctx: GraphContext;
  /** @internal the plan this query describes (checked by `plan()`) */
  protected abstract buildPlan(): TraversePlan;
  /** @internal maps the op's JSON result to the typed result */
  protected abstract decode(result: Json, plan: TraversePlan): R;

  /** @internal the plan, checked once: the kernel checks plans too, checking here reports mistakes at compile time */
  protected plan(): TraversePlan {
    if (this.checked === undefined) {
      const plan = this.buildPlan();
      checkPlan(plan);
      this.checked = plan;
    }
    return this.checked;
  }
  private checked: TraversePlan | undefined;

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
      // A plan of a shape compiled before (another builder, other literals) is not checked again.
      const built = this.checked ?? this.buildPlan();
      const compiled = compileBuilt(built, this.ctx.catalog, this.ctx.lowering, (p) => {
        if (this.checked === undefined) checkPlan(p);
      });
      this.checked = built;
      const plan = compiled.plan;
      const ns = this.ctx.catalog.namespace;
      nameOp(compiled.op as object, () => describePlan(ns, plan, {}, () => undefined).shape);
      const hasLiterals = Object.keys(compiled.literals).length > 0;
      const decode = (result: Json): R => this.decode(result, plan);
      this.ready = { compiled, hasLiterals, decode, shaped: shapedParams(plan), encoded: encodedParams(plan, this.ctx.catalog) };
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
  execute(args: Readonly<Record<string, ArgValue>> = {}, runner?: Runner): Promise<R> {
    const log = this.ctx.log;
    if (log === undefined) return this.run(args, runner);
    const t0 = performance.now();
    const done = (rows: number | null, error?: unknown): void => {
      let d: ReturnType<typeof describePlan>;
      try {
        d = describePlan(this.ctx.catalog.namespace, this.plan(), args, log.redact);
      } catch {
        d = { table: "", shape: "(a traversal whose plan is invalid)", params: {} };
      }
      emit(log, { kind: "traversal", ...d, durationMs: performance.now() - t0, rows, ...(error !== undefined ? { error: error instanceof Error ? error.message : String(error) } : {}) });
    };
    return this.run(args, runner).then(
      (out) => {
        done(rowCount(out));
        return out;
      },
      (e: unknown) => {
        done(null, e);
        throw e;
      },
    );
  }

  private run(given: Readonly<Record<string, ArgValue>>, runner: Runner | undefined): Promise<R> {
    let ready: PreparedTraversal<R>;
    let pending: Promise<Json>;
    try {
      ready = this.prepared();
      // Dates, bigints and bytes become their wire forms (a value no column takes is refused by checkArgs).
      const args = (ready.encoded.length > 0 && given !== null && typeof given === "object" ? encodeArgs(ready.encoded, given) : given) as Readonly<Record<string, Json>>;
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
    return explainPlan(this.plan(), this.ctx.catalog, this.ctx.lowering);
  }

  /**
   * Where the executor sends this traversal, without running it: on a cluster, per hop the shards
   * asked, the requests and the rows reached (PROFILE §6.16); `null` on a single host.
   *
   * @example
   * ```ts
   * await db.graph.match("users", { id: 1 }).out("follows").out("follows").fanOut();
   * // [{ step: "start", shards: 1, … }, { step: "hop 1 (follows) depth 1", shards: 3, requests: 3, rows: 12, … }, …]
   * ```
   */
  async fanOut(given: Readonly<Record<string, ArgValue>> = {}): Promise<readonly FanOutStep[] | null> {
    const ex = this.ctx.executor;
    if (ex.fanOut === undefined) return null;
    const ready = this.prepared();
    const args = encodeArgs(ready.encoded, given) as Readonly<Record<string, Json>>;
    checkArgs(ready.compiled.params, args);
    return ex.fanOut(ready.compiled.op, { ...ready.compiled.literals, ...args });
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
  protected buildPlan(): TraversePlan {
    return this.build();
  }
  /** @internal */
  protected decode(result: Json, plan: TraversePlan): R {
    return this.decoder(result, plan, this.ctx.catalog);
  }
  /** Type-level only. */
  declare readonly $shape: S;
}
