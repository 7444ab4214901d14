/**
 * The one compiler: a query node → a POST OpDef (IR JSON) whose free ids are its parameters.
 *
 * Every value a user gives directly is bound to a generated parameter (`_0`, `_1`, … — names a
 * user's `param()` may not take, since they start with `_`), so the op for
 * `where("name", "=", x)` is the same JSON whatever `x` is: values never become code. Step names
 * also start with `_` so that no user parameter can shadow one.
 *
 * Reads (`select-compiler.ts`): the planner's selector is a GET on the table (a key lookup, or an
 * index range), then the `order` route, `limit`, `select` and `rows`; predicates no index serves
 * are evaluated per row by the `filter` route extension (default), or by a `fold` (the core
 * lowering, `core-lowerings.ts`); an order no index serves uses the `sort` route extension, or an
 * insertion sort by `fold` (core, O(n²), numeric columns only). Writes (`write-compiler.ts`) use
 * the table routes (`insert`, `insert_rows`, upsert, range update, delete) and are chained before
 * the statement's final read with `after`. Compiled shapes are cached per table
 * (`compile-cache.ts`).
 */
import { findTemplate, fromTemplate, rememberTemplate, shapeOf, templatesOf } from "./compile-cache.js";
import type { Compiled, CompiledBody, CompileOptions } from "./compile-types.js";
import type { StatementNode } from "./query-node.js";
import { compileQuery } from "./query-compiler.js";
import { fromSelectNode } from "./query-node.js";
import { planRead } from "./planner.js";
import type { SelectNode } from "./nodes.js";
import { compileReturning } from "./returning.js";
import { Binder, slotOperands } from "./param-binder.js";
import { compileSelect } from "./select-compiler.js";
import { compileInsert, compileWrite } from "./write-compiler.js";

/**
 * True when a single-table select's page must come from the `query` route's top-k: an order no
 * index serves, or one an index serves only in reverse (whose ties would come in descending key
 * order), with a limit or an offset. The route keeps the top `offset + limit` rows in a bounded
 * heap and breaks ties by the primary key ascending, so the page is the same whatever indexes
 * exist. (The core sort lowering keeps the single-table path.)
 */
function needsTopK(node: SelectNode, options: CompileOptions): boolean {
  if (!node.orderBy || node.count || (!node.limit && !node.offset) || options.coreSort === true) return false;
  const plan = planRead(node.table, node.where, node.orderBy);
  // A reversed index order pages itself (select-compiler's reversedPage), except under a core filter.
  return plan.sort !== null || (plan.order?.reverse === true && options.coreFilter === true);
}

/**
 * A compiled relational statement (`query` / `returning` route): its explanation is made when
 * asked (a getter on the class, so a compile defines no property of its own).
 */
class RelationalCompiled {
  readonly op: Compiled["op"];
  readonly decode: Compiled["decode"];
  readonly needs: readonly string[];
  readonly params: readonly string[];
  readonly bound: Compiled["bound"];
  readonly userParams: Compiled["userParams"];
  readonly #body: { readonly explain: Compiled["explain"] };

  constructor(body: CompiledBody & { readonly needs: readonly string[] }, b: Binder) {
    this.op = body.op;
    this.decode = body.decode;
    this.needs = body.needs;
    this.params = b.params();
    this.bound = b.bound;
    this.userParams = b.userParams;
    this.#body = body;
  }

  get explain(): Compiled["explain"] {
    return this.#body.explain;
  }
}

/**
 * Compiles a query node.
 *
 * @example
 * ```ts
 * const { op, params, bound } = compileNode(node);
 * await executor.execute(op, { ...bound, ...namedArgs });
 * ```
 */
export function compileNode(given: StatementNode, options: CompileOptions = {}): Compiled {
  const prefix = options.prefix ?? "_";
  const node = given.kind === "select" && needsTopK(given, options) ? fromSelectNode(given) : given;
  if (node.kind === "query" || node.kind === "returning") {
    // Relational plans: one op object per plan text (query-compiler.ts), values bound per node.
    const qb = new Binder(prefix, new Map());
    const out = node.kind === "query" ? compileQuery(node, qb) : compileReturning(node, qb);
    return new RelationalCompiled(out, qb);
  }
  const slots = slotOperands(node);
  const perTable = templatesOf(node.table);
  const useCache = options.cache !== false;
  const hit = useCache ? findTemplate(perTable, shapeOf(node, options)) : undefined;
  // Same shape as an earlier node: same op object (the kernel's cache hits by identity); only
  // the values of this node are bound.
  if (hit) return fromTemplate(hit, node, slots, prefix, options);
  const b = new Binder(prefix, new Map(slots.map((s, i) => [s.operand, i])));
  let out: CompiledBody;
  switch (node.kind) {
    case "select":
      out = compileSelect(node, b, options);
      break;
    case "insert":
      out = compileInsert(node, b, options);
      break;
    case "update":
    case "delete":
      out = compileWrite(node, b, options);
      break;
  }
  const compiled: Compiled = { ...out, params: b.params(), bound: b.bound, userParams: b.userParams };
  if (useCache) rememberTemplate(perTable, shapeOf(node, options), compiled, b.usedSlots);
  return compiled;
}
