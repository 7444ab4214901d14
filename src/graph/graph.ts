/**
 * `db.graph`: the catalog plus the entry points of traversals.
 */
import { BadRequestError } from "../errors.js";
import type { Executor, Runner } from "../executor.js";
import type { Schema, TablesShape } from "../orm/schema.js";
import { buildCatalog, type Catalog } from "./catalog.js";
import type { GraphShape, PathStep, ShapeOfSchema } from "./shape.js";
import type { Lowering } from "./compile.js";
import type { ParamRef } from "./plan-values.js";
import type { GraphContext, GraphQuery } from "./query.js";
import { boundLog, type LogOptions } from "../orm/query-log.js";
import { shortestPathQuery, startTraversal, type ShortestPathOptions, type Traversal } from "./traversal.js";
import { showValue } from "../ir/show-value.js";

/** Options of `createGraph`. */
export interface GraphOptions extends LogOptions {
  /**
   * `"extension"` (default): one GET on the `traverse` kernel extension route. `"core"`: core IR
   * forms only, for hosts without the extension.
   */
  readonly lowering?: Lowering;
}

/** A filter of `match()`: equality on columns of the table. */
export type MatchFilter<Row> = { readonly [K in keyof Row]?: Row[K] | ParamRef };

/**
 * The graph over a schema's tables.
 *
 * @example
 * ```ts
 * const friends = await db.graph.match("users", { id: 1 }).out("follows").execute();
 * ```
 */
export class Graph<S extends GraphShape> {
  /** The catalog: a graphology MultiDirectedGraph of tables and relations. */
  readonly catalog: Catalog;
  private readonly ctx: GraphContext;
  private readonly logOptions: LogOptions;

  constructor(catalog: Catalog, executor: Runner | Executor, options: GraphOptions = {}) {
    const lowering = options.lowering ?? "extension";
    if (lowering !== "extension" && lowering !== "core") throw new BadRequestError(`lowering is "extension" or "core", got ${showValue(lowering)}`);
    this.catalog = catalog;
    this.logOptions = { ...(options.log ? { log: options.log } : {}), ...(options.redact !== undefined ? { redact: options.redact } : {}) };
    const log = boundLog(options);
    this.ctx = { catalog, executor, lowering, ...(log ? { log } : {}) };
  }

  /**
   * Starts a traversal at the rows of `table` matching `filter` (equality; values or params).
   *
   * @example
   * ```ts
   * db.graph.match("users", { id: param("me") }).out("follows").distinct();
   * ```
   */
  match<C extends keyof S["rows"] & string>(table: C, filter?: MatchFilter<S["rows"][C]>): Traversal<S, C> {
    return startTraversal<S, C>(this.ctx, table, filter as Record<string, unknown> | undefined);
  }

  /**
   * The shortest path along `rel` from a row matching `from` to a row matching `to`.
   *
   * @example
   * ```ts
   * const path = await db.graph.shortestPath(db.graph.match("users", { id: 1 }), db.graph.match("users", { id: 9 }), "follows", { maxHops: 6 }).execute();
   * ```
   */
  shortestPath<C extends string>(
    from: Traversal<S, C, {}, unknown>,
    to: Traversal<S, C, {}, unknown>,
    rel: string,
    opts?: ShortestPathOptions,
  ): GraphQuery<S, PathStep<S>[] | null> {
    return shortestPathQuery(this.ctx, from, to, rel, opts);
  }

  /** The same graph compiled with another lowering (e.g. `"core"` to test a host without the extension). */
  withLowering(lowering: Lowering): Graph<S> {
    return new Graph<S>(this.catalog, this.ctx.executor, { ...this.logOptions, lowering });
  }

  /** The same graph, running on another runner (e.g. a session). */
  on(runner: Runner, log: LogOptions = this.logOptions): Graph<S> {
    return new Graph<S>(this.catalog, runner, { ...log, lowering: this.ctx.lowering });
  }

  /**
   * The same graph with relation names typed: `rels` maps each table's relation names to their
   * target tables. Checked against the catalog at run time (a wrong entry throws), so the types
   * cannot lie.
   *
   * @example
   * ```ts
   * const g = db.graph.withRelations({ users: { follows: "users", posts: "posts" }, posts: { author: "users" } } as const);
   * g.match("users").out("posts").where("lang", "=", "en"); // typed by posts' columns
   * ```
   */
  withRelations<R extends { readonly [T in keyof S["rows"]]?: { readonly [rel: string]: keyof S["rows"] & string } }>(
    rels: R,
  ): Graph<{ rows: S["rows"]; rels: { [T in keyof R]: R[T] } & GraphShape["rels"] }> {
    if (rels === null || typeof rels !== "object") throw new BadRequestError("withRelations() takes { table: { relation: target } }");
    for (const [table, map] of Object.entries(rels as Record<string, Record<string, string>>)) {
      for (const [rel, target] of Object.entries(map ?? {})) {
        const r = this.catalog.relation(table, rel);
        if (r.target !== target) throw new BadRequestError(`withRelations(): ${table}.${rel} leads to ${r.target}, not ${target}`);
      }
    }
    return new Graph(this.catalog, this.ctx.executor, { ...this.logOptions, lowering: this.ctx.lowering });
  }
}

/**
 * Builds the graph of a schema on an executor. Throws `BadRequestError` when two relations of a
 * table share a name or a relation has no index to serve it.
 *
 * @example
 * ```ts
 * const graph = createGraph(social, embedded());
 * ```
 */
export function createGraph<S extends Schema<string, TablesShape>>(schema: S, executor: Runner | Executor, options?: GraphOptions): Graph<ShapeOfSchema<S>> {
  return new Graph<ShapeOfSchema<S>>(buildCatalog(schema.namespace, schema.tableMetas), executor, options);
}
