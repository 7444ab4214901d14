/**
 * Expressions of a query plan compiled to closures over row arrays, once per plan text: column
 * reads by position, SQL three-valued logic, type-aware comparison, `like`, `between`, `in`
 * (list or subquery). Static types are checked as the plan compiles (a comparison of a number
 * column with a string is a 400); parameters get the type their context expects, checked when
 * they are bound.
 */
import type { QueryExpr, QueryPlan, QueryValue } from "../../ir/query-plan.js";
import { showValue } from "../../ir/show-value.js";
import type { Column } from "../storage/table-schema.js";
import { bad, compareValues, type Env, type Ev, type Kind, norm, type OuterBox } from "./compiled.js";
import { checkEscape, likeMatcher } from "./like.js";

/** A compiled expression: its evaluator, static kind, and whether it reads the current row. */
export interface CompiledExpr {
  readonly ev: Ev;
  readonly kind: Kind;
  /** The parameter's name when the expression is a bare `{param}` value. */
  readonly param: string | undefined;
  /** True when the expression reads no column of the current row (values, params, outer refs). */
  readonly free: boolean;
}

/** A column reference resolved to a slot of the row array and a column of its table. */
export interface ResolvedColumn {
  readonly slot: number;
  readonly column: Column;
  /** True when the slot may be a null row (the right side of a left join). */
  readonly maybeNull: boolean;
}

/** What an `inQuery` subplan gives its expression: its one column's values, per execution. */
export interface SubqueryValues {
  readonly set: ReadonlySet<unknown>;
  readonly hasNull: boolean;
}

/** How names resolve while one stage of a plan compiles. */
export interface ExprCx {
  readonly env: Env;
  /** Which stage: rows (where, on, groupBy, select of a plain plan), groups, or output rows. */
  readonly mode: "row" | "group" | "output";
  /** Where in the plan (for messages): `where`, `select "name"`, `join "p" on`, … */
  readonly where: string;
  column(src: string, col: string): ResolvedColumn;
  outer(src: string, col: string): { readonly box: OuterBox; readonly slot: number; readonly column: Column };
  /** Index of a parameter in `env.p`, registering the kind it must have (`unknown`: any). */
  param(name: string, kind: Kind | "tuple"): number;
  /** A compiled `inQuery` subplan: its values for the current execution. */
  subquery(plan: QueryPlan): () => SubqueryValues;
  /** Group stage: the position of a `groupBy` expression equal to `e` in the group row, or -1. */
  groupSlot?(canonical: string): number;
  /** Group stage: the position of an aggregate's value in the group row (registers it). */
  aggSlot?(e: Extract<QueryExpr, { t: "agg" }>): { slot: number; kind: Kind };
  /** Output stage: the position of a select item whose expression equals `e`, or -1. */
  outputSlot?(canonical: string): number;
}

const BOOL: Kind = "bool";

/**
 * Compiles `e` for the stage `cx` describes.
 *
 * @example
 * ```ts
 * const { ev } = compileExpr(cx, { t: "cmp", op: ">", l: { t: "col", src: "u", col: "age" }, r: { t: "value", value: { param: "a" } } });
 * ev([userRow]); // true, false or null
 * ```
 */
export function compileExpr(cx: ExprCx, e: QueryExpr): CompiledExpr {
  if (cx.mode === "group" && e.t !== "value" && e.t !== "outer") {
    const g = cx.groupSlot!(JSON.stringify(e));
    if (g >= 0) return { ev: (v) => v[g], kind: groupKind(cx, e), param: undefined, free: false };
  }
  if (cx.mode === "output" && e.t !== "value" && e.t !== "outer") {
    const o = cx.outputSlot!(JSON.stringify(e));
    if (o >= 0) return { ev: (v) => v[o], kind: "unknown", param: undefined, free: false };
  }
  switch (e.t) {
    case "col":
      return compileColumn(cx, e.src, e.col);
    case "outer": {
      const { box, slot, column } = cx.outer(e.src, e.col);
      return { ev: () => box.slots[slot]?.[column.position] ?? null, kind: kindOf(column), param: undefined, free: true };
    }
    case "value":
      return compileValue(cx, e.value, "unknown");
    case "cmp":
      return compileCmp(cx, e.op, e.l, e.r);
    case "and":
    case "or":
      return compileLogic(cx, e.t, e.of);
    case "not": {
      const x = boolOperand(cx, e.e, "not");
      const f = x.ev;
      return { ev: (v) => { const b = f(v); return b === null ? null : !b; }, kind: BOOL, param: undefined, free: x.free };
    }
    case "isNull": {
      const x = compileExpr(cx, e.e);
      const f = x.ev;
      return { ev: (v) => f(v) === null, kind: BOOL, param: undefined, free: x.free };
    }
    case "like":
      return compileLike(cx, e);
    case "between":
      return compileBetween(cx, e);
    case "in":
      return compileIn(cx, e);
    case "inQuery":
      return compileInQuery(cx, e);
    case "agg": {
      if (cx.mode !== "group") throw bad(`an aggregate (${e.fn}) cannot appear in ${cx.where}`);
      const { slot, kind } = cx.aggSlot!(e);
      return { ev: (v) => v[slot], kind, param: undefined, free: false };
    }
  }
}

function groupKind(cx: ExprCx, e: QueryExpr): Kind {
  if (e.t === "col") {
    try {
      return kindOf(cx.column(e.src, e.col).column);
    } catch {
      return "unknown";
    }
  }
  return "unknown";
}

/** The static kind of a column's values. */
export function kindOf(c: Column): Kind {
  switch (c.kind) {
    case "int":
    case "float":
    case "number":
      return "number";
    case "string":
      return "string";
    case "bool":
      return "bool";
    case "link":
      return "link";
    case "bytes":
      return "bytes";
  }
}

function compileColumn(cx: ExprCx, src: string, col: string): CompiledExpr {
  if (cx.mode === "group") {
    throw bad(`${cx.where}: column ${src}.${col} must appear in groupBy or inside an aggregate`);
  }
  if (cx.mode === "output") throw bad(`${cx.where}: a distinct plan orders by selected expressions only, not ${src}.${col}`);
  const { slot, column, maybeNull } = cx.column(src, col);
  const p = column.position;
  const ev: Ev = maybeNull
    ? (v) => {
        const r = v[slot] as readonly unknown[] | null;
        return r === null ? null : r[p];
      }
    : slot === 0
      ? (v) => (v[0] as readonly unknown[])[p]
      : (v) => (v[slot] as readonly unknown[])[p];
  return { ev, kind: kindOf(column), param: undefined, free: false };
}

function literalKind(v: unknown, where: string): Kind {
  switch (typeof v) {
    case "number":
      if (!Number.isFinite(v)) throw bad(`${where}: a literal number must be finite`);
      return "number";
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "bigint":
      return "number";
    default:
      if (v === null) return "unknown";
      if (v instanceof Uint8Array) return "bytes";
      if (typeof v === "object" && (v as { kind?: unknown }).kind === "link" && typeof (v as { href?: unknown }).href === "string") return "link";
      throw bad(`${where}: a literal must be null, a number, a string, a boolean or a link, got ${JSON.stringify(v)?.slice(0, 60)}`);
  }
}

function compileValue(cx: ExprCx, value: QueryValue, expect: Kind): CompiledExpr {
  if ("param" in value) {
    const i = cx.param(value.param, expect);
    const env = cx.env;
    return { ev: () => env.p[i], kind: "unknown", param: value.param, free: true };
  }
  const lit = value.lit;
  const kind = literalKind(lit, cx.where);
  return { ev: () => lit, kind, param: undefined, free: true };
}

/** Whether values of kinds `a` and `b` may be compared (links compare with strings by href). */
function compatible(a: Kind, b: Kind): boolean {
  if (a === "unknown" || b === "unknown" || a === b) return true;
  return (a === "link" && b === "string") || (a === "string" && b === "link");
}

function describe(e: QueryExpr): string {
  switch (e.t) {
    case "col":
      return `${e.src}.${e.col}`;
    case "outer":
      return `outer ${e.src}.${e.col}`;
    case "value":
      return "param" in e.value ? `parameter ${JSON.stringify(e.value.param)}` : JSON.stringify(e.value.lit);
    case "agg":
      return `${e.fn}(…)`;
    default:
      return `a ${e.t} expression`;
  }
}

/**
 * Compiles two operands that are compared: their kinds must agree, and a parameter operand takes
 * the other's kind.
 */
function comparedPair(cx: ExprCx, l: QueryExpr, r: QueryExpr): [CompiledExpr, CompiledExpr] {
  let a = compileExpr(cx, l);
  let b = compileExpr(cx, r);
  if (!compatible(a.kind, b.kind)) {
    throw bad(`${cx.where}: type mismatch: cannot compare ${describe(l)} (${a.kind}) with ${describe(r)} (${b.kind})`);
  }
  if (a.param !== undefined && b.kind !== "unknown") a = compileValue(cx, (l as { value: QueryValue }).value, b.kind);
  if (b.param !== undefined && a.kind !== "unknown") b = compileValue(cx, (r as { value: QueryValue }).value, a.kind);
  return [a, b];
}

function compileCmp(cx: ExprCx, op: string, l: QueryExpr, r: QueryExpr): CompiledExpr {
  const [a, b] = comparedPair(cx, l, r);
  const fa = a.ev;
  const fb = b.ev;
  const free = a.free && b.free;
  const links = a.kind === "link" || b.kind === "link" || a.kind === "unknown" || b.kind === "unknown";
  let ev: Ev;
  switch (op) {
    case "=":
      ev = links
        ? (v) => { const x = fa(v); const y = fb(v); return x === null || y === null ? null : compareValues(x, y) === 0; }
        : (v) => { const x = fa(v); const y = fb(v); return x === null || y === null ? null : x === y; };
      break;
    case "!=":
      ev = links
        ? (v) => { const x = fa(v); const y = fb(v); return x === null || y === null ? null : compareValues(x, y) !== 0; }
        : (v) => { const x = fa(v); const y = fb(v); return x === null || y === null ? null : x !== y; };
      break;
    case "<":
      ev = (v) => { const x = fa(v); const y = fb(v); return x === null || y === null ? null : compareValues(x, y) < 0; };
      break;
    case "<=":
      ev = (v) => { const x = fa(v); const y = fb(v); return x === null || y === null ? null : compareValues(x, y) <= 0; };
      break;
    case ">":
      ev = (v) => { const x = fa(v); const y = fb(v); return x === null || y === null ? null : compareValues(x, y) > 0; };
      break;
    default:
      ev = (v) => { const x = fa(v); const y = fb(v); return x === null || y === null ? null : compareValues(x, y) >= 0; };
      break;
  }
  return { ev, kind: BOOL, param: undefined, free };
}

function boolOperand(cx: ExprCx, e: QueryExpr, what: string): CompiledExpr {
  const x = compileExpr(cx, e);
  if (x.kind !== "bool" && x.kind !== "unknown") throw bad(`${cx.where}: ${what} takes a boolean operand, got ${describe(e)} (${x.kind})`);
  if (x.param !== undefined) return compileValue(cx, (e as { value: QueryValue }).value, "bool");
  return x;
}

function compileLogic(cx: ExprCx, t: "and" | "or", of: readonly QueryExpr[]): CompiledExpr {
  const parts = of.map((e) => boolOperand(cx, e, t));
  const free = parts.every((p) => p.free);
  const fs = parts.map((p) => p.ev);
  const n = fs.length;
  if (n === 0) return { ev: () => t === "and", kind: BOOL, param: undefined, free: true };
  if (n === 1) return { ev: fs[0]!, kind: BOOL, param: undefined, free };
  if (n === 2) {
    const [f, g] = fs as [Ev, Ev];
    const ev: Ev =
      t === "and"
        ? (v) => { const a = f(v); if (a === false) return false; const b = g(v); if (b === false) return false; return a === null || b === null ? null : true; }
        : (v) => { const a = f(v); if (a === true) return true; const b = g(v); if (b === true) return true; return a === null || b === null ? null : false; };
    return { ev, kind: BOOL, param: undefined, free };
  }
  const stop = t === "or";
  const ev: Ev = (v) => {
    let unknown = false;
    for (let i = 0; i < n; i++) {
      const b = fs[i]!(v);
      if (b === stop) return stop;
      if (b === null) unknown = true;
    }
    return unknown ? null : !stop;
  };
  return { ev, kind: BOOL, param: undefined, free };
}

function stringOperand(cx: ExprCx, e: QueryExpr, what: string): CompiledExpr {
  const x = compileExpr(cx, e);
  if (x.kind !== "string" && x.kind !== "link" && x.kind !== "unknown") {
    throw bad(`${cx.where}: ${what} takes a string, got ${describe(e)} (${x.kind})`);
  }
  if (x.param !== undefined) return compileValue(cx, (e as { value: QueryValue }).value, "string");
  return x;
}

function compileLike(cx: ExprCx, e: Extract<QueryExpr, { t: "like" }>): CompiledExpr {
  const subject = stringOperand(cx, e.e, "like");
  const pattern = stringOperand(cx, e.pattern, "a like pattern");
  checkEscape(e.escape);
  const escape = e.escape;
  const negate = e.negate;
  const fs = subject.ev;
  const fp = pattern.ev;
  let lastPattern: string | undefined;
  let lastRe: RegExp | undefined;
  if (e.pattern.t === "value" && "lit" in e.pattern.value && typeof e.pattern.value.lit === "string") {
    lastPattern = e.pattern.value.lit;
    lastRe = likeMatcher(lastPattern, escape); // a malformed literal pattern fails as the plan compiles
  }
  const ev: Ev = (v) => {
    const s = fs(v);
    const p = fp(v);
    if (s === null || p === null) return null;
    const ps = norm(p) as string;
    if (ps !== lastPattern) {
      lastRe = likeMatcher(ps, escape);
      lastPattern = ps;
    }
    const m = lastRe!.test(norm(s) as string);
    return negate ? !m : m;
  };
  return { ev, kind: BOOL, param: undefined, free: subject.free && pattern.free };
}

function compileBetween(cx: ExprCx, e: Extract<QueryExpr, { t: "between" }>): CompiledExpr {
  const [x, lo] = comparedPair(cx, e.e, e.low);
  const [x2, hi] = comparedPair(cx, e.e, e.high);
  const fx = (x.param !== undefined && x2.param !== undefined ? x2 : x).ev;
  const fl = lo.ev;
  const fh = hi.ev;
  const negate = e.negate;
  const ev: Ev = (v) => {
    const a = fx(v);
    if (a === null) return null;
    const l = fl(v);
    const h = fh(v);
    // a >= l AND a <= h, in three-valued logic.
    const ge = l === null ? null : compareValues(a, l) >= 0;
    const le = h === null ? null : compareValues(a, h) <= 0;
    let r: boolean | null;
    if (ge === false || le === false) r = false;
    else if (ge === null || le === null) r = null;
    else r = true;
    return r === null ? null : negate ? !r : r;
  };
  return { ev, kind: BOOL, param: undefined, free: x.free && lo.free && hi.free };
}

/** `in` over a set of values: true when found; null when not found and `e` or an item is null. */
function inResult(x: unknown, set: ReadonlySet<unknown>, hasNull: boolean, size: number, negate: boolean): boolean | null {
  if (size === 0) return negate;
  if (x === null) return null;
  if (set.has(norm(x))) return !negate;
  return hasNull ? null : negate;
}

function compileIn(cx: ExprCx, e: Extract<QueryExpr, { t: "in" }>): CompiledExpr {
  const subject = compileExpr(cx, e.e);
  const fx = subject.ev;
  const negate = e.negate;
  if (!Array.isArray(e.list)) {
    const value = e.list as QueryValue;
    if ("lit" in value) {
      if (!Array.isArray(value.lit)) throw bad(`${cx.where}: an in list literal must be a tuple`);
      return inOverItems(cx, subject, (value.lit as unknown[]).map((lit) => ({ t: "value", value: { lit } }) as QueryExpr), negate);
    }
    // The items' kinds are checked against the operand's when the tuple is first read.
    const i = cx.param(value.param, "tuple");
    const env = cx.env;
    const kind = subject.kind;
    let seen: unknown[] | undefined;
    let set = new Set<unknown>();
    let hasNull = false;
    const ev: Ev = (v) => {
      const list = env.p[i] as unknown[];
      if (list !== seen) {
        set = new Set<unknown>();
        hasNull = false;
        for (const item of list) {
          if (item === null) hasNull = true;
          else {
            checkItemKind(item, kind, value.param);
            set.add(norm(item));
          }
        }
        seen = list;
      }
      return inResult(fx(v), set, hasNull, list.length, negate);
    };
    return { ev, kind: BOOL, param: undefined, free: subject.free };
  }
  return inOverItems(cx, subject, e.list as readonly QueryExpr[], negate);
}

function checkItemKind(item: unknown, kind: Kind, param: string): void {
  // A 64-bit integer beyond ±2^53 arrives as a bigint: a number, as in the index lookup's check.
  const k = typeof item === "number" || typeof item === "bigint" ? "number" : typeof item === "string" ? "string" : typeof item === "boolean" ? "bool" : typeof item === "object" && (item as { kind?: unknown }).kind === "link" ? "link" : "other";
  if (k === "other" || !compatible(kind, k as Kind)) {
    throw bad(`parameter ${JSON.stringify(param)}: an item of the in list is ${showValue(item, 40)}, expected a ${kind}`);
  }
}

function inOverItems(cx: ExprCx, subject: CompiledExpr, list: readonly QueryExpr[], negate: boolean): CompiledExpr {
  const items = list.map((item) => {
    const c = compileExpr(cx, item);
    if (!compatible(subject.kind, c.kind)) throw bad(`${cx.where}: type mismatch in an in list: ${describe(item)} (${c.kind}) against a ${subject.kind}`);
    return c.param !== undefined && subject.kind !== "unknown" ? compileValue(cx, (item as { value: QueryValue }).value, subject.kind) : c;
  });
  const fx = subject.ev;
  const free = subject.free && items.every((c) => c.free);
  if (items.every((c) => c.kind !== "unknown" && c.param === undefined && c.free && list[items.indexOf(c)]!.t === "value")) {
    // Literal items: one set, made now.
    const set = new Set<unknown>(items.map((c) => norm(c.ev([]))));
    const size = items.length;
    return { ev: (v) => inResult(fx(v), set, false, size, negate), kind: BOOL, param: undefined, free };
  }
  const fs = items.map((c) => c.ev);
  const n = fs.length;
  const ev: Ev = (v) => {
    if (n === 0) return negate;
    const x = fx(v);
    if (x === null) return null;
    let unknown = false;
    for (let i = 0; i < n; i++) {
      const y = fs[i]!(v);
      if (y === null) unknown = true;
      else if (compareValues(x, y) === 0) return !negate;
    }
    return unknown ? null : negate;
  };
  return { ev, kind: BOOL, param: undefined, free };
}

function compileInQuery(cx: ExprCx, e: Extract<QueryExpr, { t: "inQuery" }>): CompiledExpr {
  const subject = compileExpr(cx, e.e);
  const values = cx.subquery(e.query);
  const fx = subject.ev;
  const negate = e.negate;
  const ev: Ev = (v) => {
    const { set, hasNull } = values();
    return inResult(fx(v), set, hasNull, set.size + (hasNull ? 1 : 0), negate);
  };
  return { ev, kind: BOOL, param: undefined, free: subject.free };
}
