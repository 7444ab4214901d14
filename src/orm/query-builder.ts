/**
 * The runtime of the select builder once a statement needs the relational plan (joins, `with`,
 * expressions, aggregates, several order keys, distinct): a private immutable class behind the
 * `SelectQueryBuilder` interface (`select-builder.ts`). Every column name is resolved when a
 * method takes it; bad input throws `BadRequestError` at that call.
 */
import { BadRequestError, NotFoundError } from "../errors.js";
import type { OExpr } from "./expr.js";
import { AliasedImpl, binary, ExprImpl, exprNode, expressionBuilder, resolveColumn, resolveExpr, setSubqueryResolver } from "./expr.js";
import type { TableMeta } from "./meta.js";
import type { DeleteNode, InsertNode, SelectNode, UpdateNode } from "./nodes.js";
import { returningColumns } from "./returning.js";
import { offsetPages, streamStart } from "./stream-pages.js";
import type { Explanation } from "./planner.js";
import { andExpr, emptyQuery, fromSelectNode, scopeOf, type QJoin, type QNode, type QSelect, type StatementNode } from "./query-node.js";
import { relationsOf, type RelationInfo } from "./relations.js";
import type { AnySchema } from "./schema.js";
import { amountOperand, explainOf, INTERNALS, StatementBase, type Args, type StatementContext, type StatementInternals } from "./statement.js";
import { showValue } from "../ir/show-value.js";

/** The relations of a schema by `source.name` (computed once per schema). */
const RELATIONS = new WeakMap<AnySchema, ReadonlyMap<string, RelationInfo>>();
function relationOf(schema: AnySchema, source: string, name: string, label: string): RelationInfo {
  let byName = RELATIONS.get(schema);
  if (!byName) {
    byName = new Map(relationsOf(schema.tableMetas).map((r) => [`${r.source}.${r.name}`, r]));
    RELATIONS.set(schema, byName);
  }
  const r = byName.get(`${source}.${name}`);
  if (!r) {
    const known = [...byName.values()].filter((x) => x.source === source).map((x) => x.name);
    throw new BadRequestError(`${label}: table ${source} has no relation ${showValue(name)} (relations: ${known.join(", ") || "none"})`);
  }
  return r;
}

/** The relational node of a statement built by this library (for `in` subqueries and `with`). */
export function queryNodeOf(x: unknown): QNode | undefined {
  const internals = (x as { [INTERNALS]?: StatementInternals } | null)?.[INTERNALS];
  const node: StatementNode | undefined = internals?.node;
  if (!node) return undefined;
  if (node.kind === "query") return node;
  if (node.kind === "select") return fromSelectNode(node as SelectNode);
  return undefined;
}
setSubqueryResolver(queryNodeOf);

/** @internal a write with `returning` */
export class ReturningStatementImpl extends StatementBase<unknown> {
  constructor(ctx: StatementContext, write: InsertNode | UpdateNode | DeleteNode, columns: unknown) {
    super(ctx, { kind: "returning", table: write.table, write, columns: returningColumns(write.table, columns) });
  }
}

/**
 * `returning(columns)` / `returningAll()` of a write builder.
 *
 * @example
 * ```ts
 * returningOf(this.ctx, this.node, ["id"]);
 * ```
 */
export function returningOf(ctx: StatementContext, write: InsertNode | UpdateNode | DeleteNode, columns: unknown): ReturningStatementImpl {
  if (write.kind === "update" && write.set.length === 0) throw new BadRequestError(`update ${write.table.namespace}/${write.table.name}: call set({...}) before returning()`);
  return new ReturningStatementImpl(ctx, write, columns);
}

/** `"name"` or `"name as alias"`. */
function splitAs(ref: unknown, what: string): [string, string] {
  if (typeof ref !== "string" || ref.length === 0) throw new BadRequestError(`${what}: expected a name, got ${showValue(ref)}`);
  const m = /^(\S+) as (\S+)$/.exec(ref);
  if (m) return [m[1]!, m[2]!];
  if (/\s/.test(ref)) throw new BadRequestError(`${what}: ${showValue(ref)} is neither "name" nor "name as alias"`);
  return [ref, ref];
}

/** @internal */
export class QueryBuilderImpl extends StatementBase<unknown> {
  /** @internal */
  get qnode(): QNode {
    return this[INTERNALS].node as unknown as QNode;
  }

  constructor(ctx: StatementContext, node: QNode) {
    super(ctx, node as never);
  }

  private next(patch: Partial<QNode>): QueryBuilderImpl {
    return new QueryBuilderImpl(this.ctx, { ...this.qnode, ...patch });
  }

  private label(): string {
    return `${this.qnode.table.namespace}/${this.qnode.table.name}`;
  }

  private condition(a: unknown, op: unknown, v: unknown, argc: number, aggregates: boolean, what: string): OExpr {
    let e: OExpr;
    if (typeof a === "function") {
      const n = exprNode(a(expressionBuilder()));
      if (!n) throw new BadRequestError(`${this.label()}: ${what}(eb => …) must return an expression`);
      e = n;
    } else {
      e = binary(a, op, v, argc);
    }
    return resolveExpr(scopeOf(this.qnode), e, `${this.label()}: ${what}()`, { aggregates });
  }

  where(a: unknown, op?: unknown, v?: unknown): QueryBuilderImpl {
    return this.next({ where: andExpr(this.qnode.where, this.condition(a, op, v, arguments.length, false, "where")) });
  }

  whereIn(column: unknown, values: unknown): QueryBuilderImpl {
    return this.where(column, "in", values);
  }

  having(a: unknown, op?: unknown, v?: unknown): QueryBuilderImpl {
    return this.next({ having: andExpr(this.qnode.having, this.condition(a, op, v, arguments.length, true, "having")) });
  }

  private addJoin(kind: "inner" | "left", table: unknown, k1: unknown, k2: unknown): QueryBuilderImpl {
    const [name, alias] = splitAs(table, `${kind}Join`);
    const meta = this.ctx.schema.meta(name);
    this.checkAlias(alias, `${kind}Join`);
    const scope = [...scopeOf(this.qnode), { alias, meta, nullable: kind === "left" }];
    const on = resolveExpr(scope, binary(k1, "=", typeof k2 === "string" ? new ExprImpl({ t: "ref", name: k2 }) : k2, 3), `${this.label()}: ${kind}Join(${alias})`, { aggregates: false });
    return this.next({ joins: [...this.qnode.joins, { kind, table: meta, alias, on, hidden: false }] });
  }

  private checkAlias(alias: string, what: string): void {
    if (scopeOf(this.qnode).some((s) => s.alias === alias)) {
      throw new BadRequestError(`${this.label()}: ${what}: alias ${alias} is already in the query; name it with "table as alias"`);
    }
  }

  innerJoin(table: unknown, k1: unknown, k2: unknown): QueryBuilderImpl {
    return this.addJoin("inner", table, k1, k2);
  }

  leftJoin(table: unknown, k1: unknown, k2: unknown): QueryBuilderImpl {
    return this.addJoin("left", table, k1, k2);
  }

  private joinRelation(kind: "inner" | "left", relation: unknown): QueryBuilderImpl {
    const what = `${kind}JoinRelation`;
    const [name, alias] = splitAs(relation, what);
    const node = this.qnode;
    const r = relationOf(this.ctx.schema, node.table.name, name, `${this.label()}: ${what}`);
    this.checkAlias(alias, what);
    const target = this.ctx.schema.meta(r.target);
    const joins: QJoin[] = [...node.joins];
    const col = (src: string, meta: TableMeta, c: string): OExpr => ({ t: "col", src, col: c, meta: meta.columnsByName[c]! });
    const eq = (l: OExpr, rr: OExpr): OExpr => ({ t: "cmp", op: "=", l, r: rr });
    if (r.lookups.length === 1) {
      const l = r.lookups[0]!;
      joins.push({ kind, table: target, alias, on: eq(col(alias, target, l.cols[0]!), col(node.alias, node.table, l.from[0]!)), hidden: false });
    } else {
      // Through the edge table (hidden: its columns are not addressable by bare names).
      const [edge, hop] = r.lookups as readonly [RelationInfo["lookups"][0], RelationInfo["lookups"][0]];
      const via = this.ctx.schema.meta(r.via);
      const viaAlias = `${alias}__via`;
      joins.push({ kind, table: via, alias: viaAlias, on: eq(col(viaAlias, via, edge.cols[0]!), col(node.alias, node.table, edge.from[0]!)), hidden: true });
      joins.push({ kind, table: target, alias, on: eq(col(alias, target, hop.cols[0]!), col(viaAlias, via, hop.from[0]!)), hidden: false });
    }
    return this.next({ joins });
  }

  innerJoinRelation(relation: unknown): QueryBuilderImpl {
    return this.joinRelation("inner", relation);
  }

  leftJoinRelation(relation: unknown): QueryBuilderImpl {
    return this.joinRelation("left", relation);
  }

  with(relation: unknown, build?: unknown): QueryBuilderImpl {
    const [name, as] = splitAs(relation, "with");
    const node = this.qnode;
    const r = relationOf(this.ctx.schema, node.table.name, name, `${this.label()}: with`);
    const target = this.ctx.schema.meta(r.target);
    let child: QNode = emptyQuery(target);
    if (build !== undefined) {
      if (typeof build !== "function") throw new BadRequestError(`${this.label()}: with(${name}, q => …) takes a function`);
      const built = queryNodeOf(build(new QueryBuilderImpl(this.ctx, child)));
      if (!built || built.table !== target || built.alias !== target.name) {
        throw new BadRequestError(`${this.label()}: with(${name}, q => …) must return q extended (a select of ${target.name})`);
      }
      if (built.count) throw new BadRequestError(`${this.label()}: with(${name}): count() does not apply to a nested load`);
      child = built;
    }
    if (node.with.some((w) => w.as === as)) throw new BadRequestError(`${this.label()}: with(${as}) is given twice`);
    const edgeTable = r.kind === "edge" ? this.ctx.schema.meta(r.via) : null;
    return this.next({ with: [...node.with, { as, relation: r, edgeTable, node: child }] });
  }

  orderBy(column: unknown, direction: unknown = "asc"): QueryBuilderImpl {
    if (direction !== "asc" && direction !== "desc") throw new BadRequestError(`${this.label()}: orderBy direction must be "asc" or "desc"`);
    let expr: OExpr;
    const n = exprNode(column);
    if (n) {
      expr = resolveExpr(scopeOf(this.qnode), n, `${this.label()}: orderBy()`, { aggregates: true });
    } else if (typeof column === "string") {
      try {
        expr = resolveColumn(scopeOf(this.qnode), column, `${this.label()}: orderBy()`);
      } catch (e) {
        // Not a column in scope: a selected name, resolved when the statement compiles.
        if (column.includes(".") || /ambiguous/.test((e as Error).message)) throw e;
        expr = { t: "ref", name: column };
      }
    } else {
      throw new BadRequestError(`${this.label()}: orderBy() takes a column name or an expression`);
    }
    return this.next({ orderBy: [...this.qnode.orderBy, { expr, desc: direction === "desc" }] });
  }

  limit(n: unknown): QueryBuilderImpl {
    return this.next({ limit: amountOperand(n, `${this.label()}: limit`) });
  }

  offset(n: unknown): QueryBuilderImpl {
    return this.next({ offset: amountOperand(n, `${this.label()}: offset`) });
  }

  select(selection: unknown): QueryBuilderImpl {
    const items = typeof selection === "function" ? selection(expressionBuilder()) : selection;
    if (!Array.isArray(items) || items.length === 0) throw new BadRequestError(`${this.label()}: select() takes a non-empty array of columns`);
    const scope = scopeOf(this.qnode);
    const out: QSelect[] = [];
    for (const item of items) {
      let s: QSelect;
      if (item instanceof AliasedImpl) {
        s = { as: item.alias, expr: resolveExpr(scope, item.node, `${this.label()}: select()`, { aggregates: true }) };
      } else if (typeof item === "string") {
        const [ref, as] = splitAs(item, `${this.label()}: select()`);
        const e = resolveColumn(scope, ref, `${this.label()}: select()`);
        s = { as: as === ref && e.t === "col" ? e.col : as, expr: e };
      } else {
        throw new BadRequestError(`${this.label()}: select() items are column names or named expressions (expr.as("name")), got ${showValue(item)}`);
      }
      if (out.some((o) => o.as === s.as)) throw new BadRequestError(`${this.label()}: column ${s.as} is selected twice (name one with "col as name")`);
      out.push(s);
    }
    return this.next({ select: out });
  }

  selectAll(alias?: unknown): QueryBuilderImpl {
    const a = alias === undefined ? this.qnode.alias : alias;
    const entry = scopeOf(this.qnode).find((s) => s.alias === a && !s.hidden);
    if (!entry) throw new BadRequestError(`${this.label()}: selectAll(${showValue(alias)}): no such alias in the query`);
    return this.next({ select: entry.meta.columns.map((c) => ({ as: c.name, expr: { t: "col", src: entry.alias, col: c.name, meta: c } })) });
  }

  distinct(): QueryBuilderImpl {
    return this.next({ distinct: true });
  }

  distinctOn(columns: unknown): QueryBuilderImpl {
    return this.next({ distinctOn: [...(this.qnode.distinctOn ?? []), ...this.columnList(columns, "distinctOn")] });
  }

  groupBy(columns: unknown): QueryBuilderImpl {
    return this.next({ groupBy: [...(this.qnode.groupBy ?? []), ...this.columnList(columns, "groupBy")] });
  }

  /** A column, or a list of columns or expressions without aggregates, resolved in this query's scope. */
  private columnList(columns: unknown, method: string): OExpr[] {
    const list = Array.isArray(columns) ? columns : [columns];
    const label = `${this.label()}: ${method}()`;
    if (list.length === 0) throw new BadRequestError(`${label} needs at least one column`);
    const scope = scopeOf(this.qnode);
    return list.map((c) => {
      const n = exprNode(c);
      if (n) return resolveExpr(scope, n, label, { aggregates: false });
      if (typeof c !== "string") throw new BadRequestError(`${label} takes column names`);
      return resolveColumn(scope, c, label);
    });
  }

  count(): QueryBuilderImpl {
    return this.next({ count: true });
  }

  explain(): Explanation {
    return explainOf(this);
  }

  async executeTakeFirst(args?: Args): Promise<unknown> {
    const b = this.qnode.limit ? this : this.next({ limit: { kind: "value", value: 1 } });
    const rows = (await b.execute(args)) as unknown[];
    return rows[0];
  }

  async executeTakeFirstOrThrow(args?: Args): Promise<unknown> {
    const row = await this.executeTakeFirst(args);
    if (row === undefined) throw new NotFoundError(`${this.label()}: no row matches the query`);
    return row;
  }

  async *stream(args?: Args, options: { pageSize?: number } = {}): AsyncIterableIterator<unknown> {
    if (this.qnode.count) throw new BadRequestError(`${this.label()}: stream() does not apply to count()`);
    const start = streamStart(this.qnode.limit, this.qnode.offset, args, options.pageSize);
    // Offset pages over the plan's determined order (ties broken by primary keys).
    yield* offsetPages(start, (n, offset) =>
      this.next({ limit: { kind: "value", value: n }, offset: { kind: "value", value: offset } }).execute(start.pageArgs) as Promise<unknown[]>,
    );
  }
}
