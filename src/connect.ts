/**
 * The public `connect(schema, executor)`: the ORM's database object plus `db.graph`, the graph
 * catalog and traversals over the same tables and executor.
 */
import type { Executor } from "./executor.js";
import { buildCatalog } from "./graph/catalog.js";
import { Graph, type GraphOptions } from "./graph/graph.js";
import type { ShapeOfSchema } from "./graph/shape.js";
import { connect as connectOrm, type AnySchema, type OrmDb } from "./orm/index.js";

/** An ORM database with its graph. */
export type Db<S extends AnySchema> = {
  /** The graph: `db.graph.catalog`, `db.graph.match(...)`, `db.graph.shortestPath(...)`. */
  readonly graph: Graph<ShapeOfSchema<S>>;
  /** `OrmDb.session`, with `s.graph` running traversals inside the session's transaction. */
  session<T>(fn: (s: Db<S>) => Promise<T>): Promise<T>;
} & OrmDb<S>;

/**
 * Connects a schema to an executor: typed builders (`db.selectFrom`, …), `db.sync()`, and the
 * graph (`db.graph`). Fails with `BadRequestError` when the schema's relations clash (two
 * relations of one table with the same name) or a relation has no index to serve it.
 *
 * @example
 * ```ts
 * const db = await connect(social, embedded());
 * await db.sync();
 * const fof = await db.graph.match("users", { id: 1 }).out("follows").out("follows").distinct().execute();
 * ```
 */
export async function connect<S extends AnySchema>(schema: S, executor: Executor, options: GraphOptions = {}): Promise<Db<S>> {
  // connectOrm validates its arguments without touching the executor; then the catalog, so a
  // relation clash fails before any request is made.
  const db = await connectOrm(schema, executor, { ...(options.log ? { log: options.log } : {}), ...(options.redact !== undefined ? { redact: options.redact } : {}) });
  const catalog = buildCatalog(schema.namespace, schema.tableMetas);
  const graph = new Graph<ShapeOfSchema<S>>(catalog, executor, options);
  Object.defineProperty(db, "graph", { value: graph, enumerable: true, writable: false, configurable: false });
  // Inside `db.session(fn)`, the session's db gets a graph on the session: traversals then run in
  // the session's transaction and see its uncommitted writes.
  const session = db.session.bind(db);
  Object.defineProperty(db, "session", {
    value: <T>(fn: (s: Db<S>) => Promise<T>): Promise<T> =>
      session((s) => {
        // The session's graph logs through the session's db, so the session's entry counts it.
        Object.defineProperty(s, "graph", { value: graph.on(s.runner, s.options), enumerable: true, writable: false, configurable: false });
        return fn(s as unknown as Db<S>);
      }),
    enumerable: false,
    writable: false,
    configurable: false,
  });
  return db as unknown as Db<S>;
}
