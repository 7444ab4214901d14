/**
 * Boolean and value expressions of the select builder (`where`, `having`, `on`, `orderBy`,
 * `select`): Kysely's expression builder (`eb(col, op, value)`, `eb.and`, `eb.or`, `eb.not`,
 * `eb.between`, `eb.ref`, `eb.fn.count(…)`), the expression nodes it builds, and their
 * resolution against the aliases in scope. Expressions are built unresolved (column names as
 * written) and resolved when a builder takes them: unknown or ambiguous columns and values of the
 * wrong type are refused there, with a `BadRequestError`.
 */
import { BadRequestError } from "../errors.js";
import type { IdRef } from "../ir/types.js";
import type { QueryAggFn, QueryCmpOp } from "../ir/query-plan.js";
export type { OExpr, OValue, ScopeEntry } from "./query-node.js";
import type { ColumnMeta } from "./meta.js";
import type { OExpr, OValue, QNode, ScopeEntry } from "./query-node.js";
import { checkValue, checkValues } from "./value-check.js";
import { showValue } from "../ir/show-value.js";

/** The escape character of `like` patterns: `\%`, `\_` and `\\` match `%`, `_` and `\`. */
export const LIKE_ESCAPE = "\\";

/**
 * An expression of value type `V` (`boolean` for conditions). `.as(name)` names it in `select()`.
 *
 * @example
 * ```ts
 * db.selectFrom("users").select((eb) => ["city", eb.fn.count("id").as("n")]).groupBy("city");
 * ```
 */
export interface Expression<V> {
  /** Type-level only: the expression's value type. */
  readonly $type?: V;
  /** The expression under an output column name. */
  as<N extends string>(name: N): AliasedExpression<N, V>;
}

/** An expression named for `select()`. */
export interface AliasedExpression<N extends string, V> {
  readonly $type?: V;
  readonly alias: N;
}

const EXPR: unique symbol = Symbol("tinychain-orm.expr");

/** @internal */
export class ExprImpl {
  readonly [EXPR]: OExpr;
  constructor(node: OExpr) {
    this[EXPR] = node;
  }
  as(name: unknown): AliasedImpl {
    if (typeof name !== "string" || name.length === 0) throw new BadRequestError(`as() takes a non-empty output column name`);
    return new AliasedImpl(this[EXPR], name);
  }
}

/** @internal */
export class AliasedImpl {
  constructor(
    readonly node: OExpr,
    readonly alias: string,
  ) {}
}

/** The node of an expression object, or `undefined` when `x` is not one. */
export function exprNode(x: unknown): OExpr | undefined {
  return x instanceof ExprImpl ? x[EXPR] : undefined;
}

function isParamRef(x: unknown): x is IdRef {
  return typeof x === "object" && x !== null && (x as { kind?: unknown }).kind === "id" && typeof (x as { name?: unknown }).name === "string";
}

/** The operators of `eb(lhs, op, rhs)` and of the builders' `where(col, op, value)`. */
export const EXPR_OPERATORS = ["=", "!=", "<>", "<", "<=", ">", ">=", "in", "not in", "like", "not like", "is", "is not", "isNull", "isNotNull"] as const;
const OPS: ReadonlySet<string> = new Set(EXPR_OPERATORS);

/** A marker for subqueries (`in` with a select builder): what the builder module recognizes. */
export type SubqueryResolver = (x: unknown) => QNode | undefined;
let subqueryOf: SubqueryResolver = () => undefined;
/** @internal registers how a select builder becomes a subquery node (set by the builder module). */
export function setSubqueryResolver(f: SubqueryResolver): void {
  subqueryOf = f;
}

function lhsNode(x: unknown, what: string): OExpr {
  if (typeof x === "string") return { t: "ref", name: x };
  const n = exprNode(x);
  if (n) return n;
  throw new BadRequestError(`${what}: expected a column name or an expression, got ${showValue(x)}`);
}

function valueOf(x: unknown, shape: "value" | "list"): OExpr {
  const n = exprNode(x);
  if (n) return n;
  if (isParamRef(x)) return { t: "value", operand: { kind: "param", name: x.name }, column: null, shape };
  return { t: "value", operand: { kind: "value", value: x }, column: null, shape };
}

/**
 * `eb(lhs, op, rhs)` as a node. `rhs` is a value, a `param()`, an expression (`eb.ref("posts.id")`),
 * an array (`in`), or a one-column select builder (`in` / `not in`).
 */
export function binary(lhs: unknown, op: unknown, rhs: unknown, argc: number): OExpr {
  const l = lhsNode(lhs, "where");
  if (typeof op !== "string" || !OPS.has(op)) {
    throw new BadRequestError(`unknown operator ${showValue(op)} (operators: ${EXPR_OPERATORS.join(" ")})`);
  }
  if (op === "isNull" || op === "isNotNull") {
    if (argc > 2 && rhs !== undefined) throw new BadRequestError(`${op} takes no value`);
    const e: OExpr = { t: "isNull", e: l };
    return op === "isNull" ? e : { t: "not", e };
  }
  if (op === "is" || op === "is not") {
    if (rhs !== null) throw new BadRequestError(`"${op}" compares with null only: eb(col, "${op}", null)`);
    const e: OExpr = { t: "isNull", e: l };
    return op === "is" ? e : { t: "not", e };
  }
  if (argc < 3 || rhs === undefined) throw new BadRequestError(`operator ${op} needs a value`);
  if (op === "in" || op === "not in") {
    const negate = op === "not in";
    const sub = subqueryOf(rhs);
    if (sub) return { t: "inQuery", e: l, query: sub, negate };
    if (!Array.isArray(rhs) && !isParamRef(rhs)) throw new BadRequestError(`"${op}" takes an array, a param() or a one-column select`);
    const list = valueOf(Array.isArray(rhs) ? [...rhs] : rhs, "list") as OValue;
    return { t: "in", e: l, list, negate };
  }
  if (rhs === null) throw new BadRequestError(`compare with null using "is" / "is not" (or isNull / isNotNull)`);
  if (op === "like" || op === "not like") return { t: "like", e: l, pattern: valueOf(rhs, "value"), negate: op === "not like" };
  return { t: "cmp", op: op === "<>" ? "!=" : (op as QueryCmpOp), l, r: valueOf(rhs, "value") };
}

function list(x: unknown, what: string): OExpr[] {
  if (!Array.isArray(x)) throw new BadRequestError(`${what} takes an array of expressions`);
  return x.map((e, i) => {
    const n = exprNode(e);
    if (!n) throw new BadRequestError(`${what}: item ${i} is not an expression`);
    return n;
  });
}

function aggregate(fn: QueryAggFn, arg: unknown, distinct: boolean): ExprImpl {
  return new ExprImpl({ t: "agg", fn, arg: arg === undefined ? null : lhsNode(arg, `fn.${fn}`), distinct });
}

/** The runtime of `fn` / `eb.fn` (aggregate functions). */
export const FN = {
  count: (c: unknown) => aggregate("count", c, false),
  countAll: () => new ExprImpl({ t: "agg", fn: "count", arg: null, distinct: false }),
  countDistinct: (c: unknown) => aggregate("count", c, true),
  sum: (c: unknown) => aggregate("sum", c, false),
  avg: (c: unknown) => aggregate("avg", c, false),
  min: (c: unknown) => aggregate("min", c, false),
  max: (c: unknown) => aggregate("max", c, false),
};

/** The runtime expression builder handed to `where((eb) => …)` and friends. */
export function expressionBuilder(): unknown {
  const eb = (lhs: unknown, op: unknown, rhs?: unknown) => new ExprImpl(binary(lhs, op, rhs, rhs === undefined ? 2 : 3));
  return Object.assign(eb, {
    and: (xs: unknown) => new ExprImpl({ t: "and", of: list(xs, "eb.and") }),
    or: (xs: unknown) => new ExprImpl({ t: "or", of: list(xs, "eb.or") }),
    not: (x: unknown) => {
      const n = exprNode(x);
      if (!n) throw new BadRequestError("eb.not takes an expression");
      return new ExprImpl({ t: "not", e: n });
    },
    between: (c: unknown, low: unknown, high: unknown) =>
      new ExprImpl({ t: "between", e: lhsNode(c, "eb.between"), low: valueOf(low, "value"), high: valueOf(high, "value"), negate: false }),
    notBetween: (c: unknown, low: unknown, high: unknown) =>
      new ExprImpl({ t: "between", e: lhsNode(c, "eb.notBetween"), low: valueOf(low, "value"), high: valueOf(high, "value"), negate: true }),
    ref: (c: unknown) => {
      if (typeof c !== "string") throw new BadRequestError("eb.ref takes a column name");
      return new ExprImpl({ t: "ref", name: c });
    },
    val: (v: unknown) => new ExprImpl(valueOf(v, "value")),
    fn: FN,
  });
}

/** Resolves `name` (`"col"` or `"alias.col"`) among the aliases in scope. */
export function resolveColumn(scope: readonly ScopeEntry[], name: string, label: string): OExpr {
  const dot = name.indexOf(".");
  if (dot >= 0) {
    const alias = name.slice(0, dot);
    const col = name.slice(dot + 1);
    const entry = scope.find((s) => s.alias === alias);
    if (!entry) throw new BadRequestError(`${label}: unknown table alias ${showValue(alias)} in ${showValue(name)} (in scope: ${scope.filter((s) => !s.hidden).map((s) => s.alias).join(", ")})`);
    const meta = entry.meta.columnsByName[col];
    if (!meta) throw new BadRequestError(`${label}: unknown column ${showValue(col)} of ${alias} in ${showValue(name)}`);
    return { t: "col", src: alias, col, meta };
  }
  const found = scope.filter((s) => !s.hidden && s.meta.columnsByName[name]);
  if (found.length === 0) throw new BadRequestError(`${label}: unknown column ${showValue(name)}`);
  if (found.length > 1) {
    throw new BadRequestError(`${label}: column ${showValue(name)} is ambiguous (${found.map((s) => `${s.alias}.${name}`).join(", ")}); qualify it`);
  }
  return { t: "col", src: found[0]!.alias, col: name, meta: found[0]!.meta.columnsByName[name]! };
}

/** Options of `resolveExpr`. */
export interface ResolveOptions {
  /** Aggregates allowed (`having`, `select`, `orderBy`). */
  readonly aggregates: boolean;
}

/** The column an operand is compared with (for checking and sending values), if any. */
function columnOf(e: OExpr): ColumnMeta | null {
  if (e.t === "col" || e.t === "outer") return e.meta;
  if (e.t === "agg" && (e.fn === "min" || e.fn === "max") && e.arg) return columnOf(e.arg);
  return null;
}

function withColumn(v: OExpr, column: ColumnMeta | null, label: string): OExpr {
  if (v.t !== "value") return v;
  if (v.operand.kind === "value" && column) {
    if (v.shape === "list") {
      checkValues(label, column, v.operand.value as unknown[], (i) => `in-list item ${i}`);
    } else {
      if (v.operand.value === null) throw new BadRequestError(`${label}: compare ${column.name} with null using "is" / isNull`);
      checkValue(label, column, v.operand.value, "where value");
    }
  }
  return { ...v, column };
}

/**
 * Resolves column names of an expression against `scope`, checking values against the columns
 * they are compared with.
 */
export function resolveExpr(scope: readonly ScopeEntry[], e: OExpr, label: string, options: ResolveOptions): OExpr {
  // No per-call closure: builders resolve an expression per where()/join, on every statement.
  switch (e.t) {
    case "ref":
      return resolveColumn(scope, e.name, label);
    case "col":
    case "outer":
      return e;
    case "value":
      // A bigint, a Date or bytes is checked against the column it is compared with (withColumn).
      if (e.operand.kind === "value" && e.shape === "value" && !isScalar(e.operand.value) && !isTypedValue(e.operand.value)) {
        throw new BadRequestError(`${label}: a value must be a string, number, boolean, bigint, Date or Uint8Array, got ${showValue(e.operand.value)}`);
      }
      return e;
    case "cmp": {
      const l = resolveExpr(scope, e.l, label, options);
      const rr = resolveExpr(scope, e.r, label, options);
      const lc = columnOf(l);
      const rc = columnOf(rr);
      if (l.t === "value" && rr.t === "value") throw new BadRequestError(`${label}: a comparison needs a column or an aggregate on one side`);
      if (lc?.dtype === "bool" && e.op !== "=" && e.op !== "!=") throw new BadRequestError(`${label}: operator ${e.op} does not apply to bool column ${lc.name}`);
      return { t: "cmp", op: e.op, l: withColumn(l, rc, label), r: withColumn(rr, lc, label) };
    }
    case "and":
    case "or":
      if (e.of.length === 0) throw new BadRequestError(`${label}: eb.${e.t}([]) needs at least one expression`);
      return { t: e.t, of: e.of.map((x) => resolveExpr(scope, x, label, options)) };
    case "not":
      return { t: "not", e: resolveExpr(scope, e.e, label, options) };
    case "isNull":
      return { t: "isNull", e: resolveExpr(scope, e.e, label, options) };
    case "like": {
      const x = resolveExpr(scope, e.e, label, options);
      const c = columnOf(x);
      if (c && c.dtype !== "string") throw new BadRequestError(`${label}: like applies to string columns, not ${c.name} (${c.dtype})`);
      const p = resolveExpr(scope, e.pattern, label, options);
      if (p.t === "value" && p.operand.kind === "value") checkPattern(p.operand.value, label);
      return { t: "like", e: x, pattern: p.t === "value" ? { ...p, column: null } : p, negate: e.negate };
    }
    case "between": {
      const x = resolveExpr(scope, e.e, label, options);
      const c = columnOf(x);
      return { t: "between", e: x, low: withColumn(resolveExpr(scope, e.low, label, options), c, label), high: withColumn(resolveExpr(scope, e.high, label, options), c, label), negate: e.negate };
    }
    case "in": {
      const x = resolveExpr(scope, e.e, label, options);
      return { t: "in", e: x, list: withColumn(e.list, columnOf(x), label) as OValue, negate: e.negate };
    }
    case "inQuery": {
      const x = resolveExpr(scope, e.e, label, options);
      return { t: "inQuery", e: x, query: e.query, negate: e.negate };
    }
    case "agg": {
      if (!options.aggregates) throw new BadRequestError(`${label}: aggregates (fn.${e.fn}) belong in select(), having() or orderBy() of a grouped query`);
      const arg = e.arg ? resolveExpr(scope, e.arg, label, { ...options, aggregates: false }) : null;
      if ((e.fn === "sum" || e.fn === "avg") && arg) {
        const c = columnOf(arg);
        if (c && !NUMERIC.has(c.dtype)) throw new BadRequestError(`${label}: fn.${e.fn} needs a numeric column, not ${c.name} (${c.dtype})`);
      }
      return { t: "agg", fn: e.fn, arg, distinct: e.distinct };
    }
  }
}

const NUMERIC: ReadonlySet<string> = new Set(["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64"]);

function isScalar(v: unknown): boolean {
  return typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
}

/** A value of a column type that JSON has no scalar for: a 64-bit integer, a timestamp, bytes. */
function isTypedValue(v: unknown): boolean {
  return typeof v === "bigint" || v instanceof Date || v instanceof Uint8Array;
}

/** A `like` pattern given directly: a string whose escapes each precede `%`, `_` or `\`. */
export function checkPattern(p: unknown, label: string): void {
  if (typeof p !== "string") throw new BadRequestError(`${label}: a like pattern must be a string, got ${showValue(p)}`);
  for (let i = 0; i < p.length; i++) {
    if (p[i] !== LIKE_ESCAPE) continue;
    const next = p[i + 1];
    if (next !== "%" && next !== "_" && next !== LIKE_ESCAPE) {
      throw new BadRequestError(`${label}: in like pattern ${showValue(p)}, "\\" must precede %, _ or \\ (at ${i})`);
    }
    i++;
  }
}

/** True when an expression holds an aggregate (outside subqueries). */
export function hasAggregate(e: OExpr): boolean {
  switch (e.t) {
    case "agg":
      return true;
    case "cmp":
      return hasAggregate(e.l) || hasAggregate(e.r);
    case "and":
    case "or":
      return e.of.some(hasAggregate);
    case "not":
    case "isNull":
      return hasAggregate(e.e);
    case "like":
      return hasAggregate(e.e) || hasAggregate(e.pattern);
    case "between":
      return hasAggregate(e.e) || hasAggregate(e.low) || hasAggregate(e.high);
    case "in":
    case "inQuery":
      return hasAggregate(e.e);
    default:
      return false;
  }
}
