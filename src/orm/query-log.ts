/**
 * Query logging: `connect(schema, executor, { log })` hands `log` one entry per executed
 * statement — ORM statements, batches, sessions and graph traversals — with its kind, table, a
 * readable shape (SQL-like text for the ORM, the builder chain for traversals), its parameters
 * (values named `$column` or `$param`; redactable), its duration and its row count.
 */
import type { TraversePlan, PlanFilter, PlanValue } from "../ir/traverse-plan.js";
import type { Operand, Predicate } from "./nodes.js";
import type { StatementNode } from "./query-node.js";
import { describeQuery } from "./query-describe.js";

/** One executed statement. */
export interface QueryLogEntry {
  readonly kind: "select" | "insert" | "update" | "delete" | "traversal" | "batch" | "session";
  /** `namespace/table` (a traversal's start table); `null` for a batch or a session. */
  readonly table: string | null;
  /**
   * Readable text: `select id, name from social.users where city = $city order by age desc
   * limit $limit`, `match(social.users {id = $me}).out(follows).distinct().count()`,
   * `batch [select …; update …]`, `session committed (3 statements)`.
   */
  readonly shape: string;
  /** The values of the shape's `$names` (after redaction); rows of an insert under `$rows`. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Wall-clock time from sending to the decoded result (ms). */
  readonly durationMs: number;
  /**
   * Rows returned (a select or traversal: its rows; `count()`: 1), rows written (insert, update,
   * delete), statements run (a batch, a session); `null` when there is no such number.
   */
  readonly rows: number | null;
  /** The error's message when the statement failed. */
  readonly error?: string;
}

/** Receives every entry; must not throw (a throw is ignored). */
export type QueryLogger = (entry: QueryLogEntry) => void;

/** Logging options of `connect(schema, executor, { log, redact })`. */
export interface LogOptions {
  /** Called once per executed statement. */
  readonly log?: QueryLogger;
  /**
   * Hides parameter values in the entries: `true` hides all of them; a list hides those whose
   * column or parameter name is listed (`["password", "email"]`); a function maps each
   * `(name, value)` to what is logged. Redacted values appear as `"[redacted]"`.
   */
  readonly redact?: boolean | readonly string[] | ((name: string, value: unknown) => unknown);
}

/** A logger bound to its redaction rule (what statements carry). */
export interface BoundLog {
  readonly log: QueryLogger;
  readonly redact: (name: string, value: unknown) => unknown;
}

export const REDACTED = "[redacted]";

/** The bound logger of `options`, or `undefined` when no `log` is given. */
export function boundLog(options: LogOptions): BoundLog | undefined {
  const log = options.log;
  if (log === undefined) return undefined;
  const r = options.redact;
  const redact =
    r === undefined || r === false
      ? (_n: string, v: unknown) => v
      : r === true
        ? () => REDACTED
        : typeof r === "function"
          ? r
          : (n: string, v: unknown) => (r.includes(n.replace(/_\d+$/, "")) ? REDACTED : v);
  return { log, redact };
}

/** Calls the logger, never letting it break the statement. */
export function emit(b: BoundLog, entry: QueryLogEntry): void {
  try {
    b.log(entry);
  } catch {
    // A logger's failure is not the statement's.
  }
}

/** Rows of a result, by the rule of {@link QueryLogEntry.rows}. */
export function rowCount(result: unknown): number | null {
  if (Array.isArray(result)) return result.length;
  if (typeof result === "number") return 1;
  return result === null || result === undefined ? 0 : 1;
}

/** Collects `$name` placeholders and their values for one statement. */
class Names {
  readonly params: Record<string, unknown> = {};
  constructor(
    private readonly args: Readonly<Record<string, unknown>>,
    private readonly redact: (name: string, value: unknown) => unknown,
  ) {}
  /** A literal under the column's name (`$age`, `$age_2`, …), or a parameter under its own. */
  operand(column: string, o: Operand): string {
    if (o.kind === "param") return this.param(o.name);
    return this.put(column, o.value, false);
  }
  /** A named parameter, with its argument's value. */
  param(name: string): string {
    return this.put(name, this.args[name], true);
  }
  put(base: string, value: unknown, exact: boolean): string {
    let name = base;
    if (!exact) for (let i = 2; Object.hasOwn(this.params, name); i++) name = `${base}_${i}`;
    this.params[name] = this.redact(name, value);
    return `$${name}`;
  }
}

function predicates(where: readonly Predicate[], n: Names): string {
  if (where.length === 0) return "";
  return ` where ${where
    .map((p) => (p.op === "isNull" ? `${p.column} is null` : p.op === "isNotNull" ? `${p.column} is not null` : `${p.column} ${p.op} ${n.operand(p.column, p.operand!)}`))
    .join(" and ")}`;
}

/** The entry fields of an ORM statement: table, SQL-like shape and parameters. */
export function describeNode(node: StatementNode, args: Readonly<Record<string, unknown>>, redact: (name: string, value: unknown) => unknown): { table: string; shape: string; params: Record<string, unknown> } {
  const n = new Names(args, redact);
  const t = node.table;
  const table = `${t.namespace}/${t.name}`;
  const dotted = `${t.namespace}.${t.name}`;
  let shape: string;
  switch (node.kind) {
    case "select": {
      const what = node.count ? "count(*)" : node.columns ? node.columns.join(", ") : "*";
      shape = `select ${what} from ${dotted}${predicates(node.where, n)}`;
      if (node.orderBy) shape += ` order by ${node.orderBy.column} ${node.orderBy.direction}`;
      if (node.limit) shape += ` limit ${n.operand("limit", node.limit)}`;
      if (node.offset) shape += ` offset ${n.operand("offset", node.offset)}`;
      break;
    }
    case "insert": {
      const cols = t.columns.map((c) => c.name);
      n.params.rows = node.rows.map((row) => Object.fromEntries(cols.map((c, i) => [c, redact(c, row[i])])));
      shape = `insert into ${dotted} (${cols.join(", ")}) values $rows (${node.rows.length} row${node.rows.length === 1 ? "" : "s"})${node.onConflict === "error" ? "" : ` on conflict ${node.onConflict}`}`;
      break;
    }
    case "update":
      shape = `update ${dotted} set ${node.set.map(([c, o]) => `${c} = ${n.operand(c, o)}`).join(", ")}${predicates(node.where, n)}`;
      break;
    case "delete":
      shape = `delete from ${dotted}${predicates(node.where, n)}`;
      break;
    case "query":
      shape = describeQuery(node);
      break;
    case "returning": {
      const inner = describeNode(node.write, args, redact);
      Object.assign(n.params, inner.params);
      shape = `${inner.shape} returning ${node.columns ? node.columns.join(", ") : "*"}`;
      break;
    }
  }
  return { table, shape, params: n.params };
}

function planValue(col: string, v: PlanValue, n: Names): string {
  return "param" in v ? n.param(v.param) : n.put(col, v.lit, false);
}

function filters(fs: readonly PlanFilter[], n: Names): string {
  return fs.map((f) => `${f.col} ${f.op} ${planValue(f.col, f.value, n)}`).join(", ");
}

/** The entry fields of a traversal: start table, builder chain and parameters. */
export function describePlan(namespace: string, plan: TraversePlan, args: Readonly<Record<string, unknown>>, redact: (name: string, value: unknown) => unknown): { table: string; shape: string; params: Record<string, unknown> } {
  const n = new Names(args, redact);
  const start = plan.start.filters.length > 0 ? ` {${filters(plan.start.filters, n)}}` : "";
  let shape = `match(${namespace}.${plan.start.table}${start})`;
  for (const s of plan.steps) {
    if (s.kind === "hop") shape += `.${s.dir}(${s.rel}${s.min === 1 && s.max === 1 ? "" : `, hops ${s.min}..${s.max}`})`;
    else if (s.kind === "where") shape += `.where(${filters([s.filter], n)})`;
    else shape += `.as(${s.alias})`;
  }
  const r = plan.result;
  if (r.kind === "rows") {
    if (r.distinct) shape += ".distinct()";
    for (const o of r.orderBy) shape += `.orderBy(${o.col}${o.desc ? " desc" : ""})`;
    if (r.select) shape += `.select(${r.select.join(", ")})`;
  } else if (r.kind === "paths") shape += ".paths()";
  else if (r.kind === "return") shape += `.return(${r.fields.map(([a, c]) => `${a}.${c}`).join(", ")})`;
  else shape += `.shortestPath(to {${filters(r.to, n)}})`;
  if (plan.offset) shape += `.offset(${planValue("offset", plan.offset, n)})`;
  if (plan.limit) shape += `.limit(${planValue("limit", plan.limit, n)})`;
  if (r.kind !== "shortest" && r.count) shape += ".count()";
  return { table: `${namespace}/${plan.start.table}`, shape, params: n.params };
}
