/**
 * `db.migrate()`: applies a migration plan (migration-plan.ts) as ONE op — one transaction: every
 * table rewrite (the kernel's `alter` route, PROFILE §6.13), every created table and the history
 * record (migration-history.ts) commit together or not at all. When a step computes values on the
 * client (a backfill, a default function, a transform), the affected tables' rows are read and
 * the op run in one session, so the values match the rows they were computed from.
 */
import type { Executor, Runner } from "../executor.js";
import { opdef, put, ref, tableLiteral as tableJson, type JsonSteps } from "../ir/json.js";
import { PATHS, type Json } from "../ir/types.js";
import { HISTORY_SCHEMA, historyPath } from "./migration-history.js";
import { type CellSource, type MigrationPlan, planMigration, type TableChange } from "./migration-plan.js";
import type { AnySchema } from "./schema.js";
import { rowDecoder } from "./row-factory.js";
import { cellDecoder, toWire } from "./cell-codec.js";
import { DTYPE_FORMATS, DTYPE_PATHS, type DTypeName } from "./columns.js";
import type { ColumnMeta } from "./meta.js";
import { type NormColumn, normalize } from "./stored-schema.js";
import { tableLiteral } from "./sync.js";

/** What `migrate()` did. */
export interface MigrationResult {
  /** False when there was nothing to do (the stored schema is the declared one). */
  readonly applied: boolean;
  /** Schema hash before and after. */
  readonly from: string;
  readonly to: string;
  /** The steps applied, one readable line each. */
  readonly steps: readonly string[];
}

/**
 * The cells of the computed columns of `change`, one per stored row in key order: the rows are
 * read once and each is turned into an object (stored column names → cells) only while its cells
 * are computed.
 */
async function computeCells(runner: Runner, change: Extract<TableChange, { kind: "alter" }>): Promise<Map<string, Json[]>> {
  const computed = Object.entries(change.sources).filter((e): e is [string, Extract<CellSource, { kind: "computed" }>] => e[1].kind === "computed");
  const out = new Map<string, Json[]>(computed.map(([name]) => [name, []]));
  if (computed.length === 0) return out;
  const s = normalize(change.expect);
  const names = [...s.keys, ...s.values].map((c) => c.name);
  const lit = await runner.request({ verb: "get", path: change.fromPath, key: null });
  const body = lit && typeof lit === "object" && !Array.isArray(lit) ? (lit as Record<string, Json[]>)[PATHS.table] : undefined;
  const rows = Array.isArray(body?.[1]) ? (body[1] as Json[][]) : [];
  const lists = computed.map(([name]) => out.get(name)!);
  const fns = computed.map(([, s]) => s.compute);
  // The row objects are built by a decoder compiled for these names (row-factory.ts), not by a
  // store per cell through a computed key; cells decode as the row values a select answers.
  const make = rowDecoder(names, storedDecoders(change, [...s.keys, ...s.values]));
  for (const r of rows) {
    const row = make(r);
    for (let c = 0; c < fns.length; c++) lists[c]!.push((fns[c]!(row) ?? null) as Json);
  }
  return out;
}

/**
 * The decoders of the stored columns that need one, by stored name: a column kept under a
 * declared one of the same type decodes as that one does (a bigint-mode integer is a bigint);
 * any other by its stored type (a 64-bit integer then a number).
 */
function storedDecoders(change: Extract<TableChange, { kind: "alter" }>, stored: readonly NormColumn[]): Record<string, (v: Json) => unknown> {
  const declaredOf = new Map<string, ColumnMeta>();
  for (const [name, src] of Object.entries(change.sources)) {
    const c = src.kind === "column" ? columnOf(change, name) : null;
    if (c !== null && src.kind === "column") declaredOf.set(src.from, c);
  }
  const out: Record<string, (v: Json) => unknown> = {};
  for (const c of stored) {
    const dtype = storedType(c);
    const declared = declaredOf.get(c.name);
    const meta = declared !== undefined && declared.dtype === dtype ? declared : ({ name: c.name, dtype } as ColumnMeta);
    const d = cellDecoder(meta);
    if (d !== undefined) out[c.name] = d;
  }
  return out;
}

/** The column type a stored column holds: its `format` option, else its dtype path's type. */
function storedType(c: NormColumn): DTypeName {
  const format = /format "(timestamp|json|uuid)"/.exec(c.options)?.[1] as DTypeName | undefined;
  if (format !== undefined) return format;
  const byPath = (Object.keys(DTYPE_PATHS) as DTypeName[]).find((t) => DTYPE_PATHS[t] === c.dtype && DTYPE_FORMATS[t] === undefined && t !== "enum");
  return byPath ?? "string";
}

/**
 * The body of a table's `alter` request. Computed cells travel as op arguments (`args`), not in
 * the op: the op stays small and the same for the same plan.
 */
async function alterBody(runner: Runner, change: Extract<TableChange, { kind: "alter" }>, prefix: string, args: Record<string, Json>): Promise<Json> {
  const cells = change.needsRows ? await computeCells(runner, change) : new Map<string, Json[]>();
  const columns: Record<string, Json> = {};
  let k = 0;
  for (const [name, s] of Object.entries(change.sources)) {
    if (s.kind === "column") columns[name] = ["column", s.from];
    else if (s.kind === "value") columns[name] = ["value", toWire(columnOf(change, name), s.value)];
    else {
      const arg = `${prefix}${k++}`;
      const column = columnOf(change, name);
      // Computed values travel in their TinyChain form (a bigint, a Date, bytes…), as inserts do.
      args[arg] = cells.get(name)!.map((v) => toWire(column, v));
      columns[name] = ["values", ref(arg)];
    }
  }
  const body: Record<string, Json> = { columns, expect: change.expect, schema: change.meta.schemaJson as unknown as Json };
  if (change.fromPath !== change.meta.path) body.rename = change.meta.name;
  if (change.unique.length > 0) body.unique = [...change.unique];
  return body;
}

/** The declared column `name` of the table `change` migrates to (null when not declared). */
function columnOf(change: Extract<TableChange, { kind: "alter" }>, name: string): ColumnMeta | null {
  return change.meta.columns.find((c) => c.name === name) ?? null;
}

/** Applies `plan` on `runner` (already one transaction, or a call that is one). */
async function apply(schema: AnySchema, runner: Runner, plan: MigrationPlan): Promise<void> {
  const steps: JsonSteps = [];
  const args: Record<string, Json> = {};
  for (const [i, change] of plan.changes.entries()) {
    if (change.kind === "alter") steps.push([`_a${i}`, put(`${change.fromPath}/alter`, null, await alterBody(runner, change, `v${i}_`, args))]);
    else steps.push([`_a${i}`, put(change.meta.path, null, tableLiteral(change.meta))]);
  }
  const hist = historyPath(schema.namespace);
  if (plan.history.length === 0) steps.push(["_h", put(hist, null, tableJson(HISTORY_SCHEMA, []))]);
  const seq = (plan.history[plan.history.length - 1]?.seq ?? 0) + 1;
  // A concurrent migration recording the same seq makes this insert (and so the whole op) fail.
  steps.push(["_rec", put(`${hist}/insert`, [seq], [plan.from, plan.to, new Date().toISOString(), JSON.stringify(plan.steps)])]);
  steps.push(["_r", [...steps.map(([name]) => ref(name))]]);
  await runner.execute(opdef(steps), args);
}

/**
 * Plans and applies the migration of `schema` in one transaction; a no-op when the stored schema
 * is the declared one. `runner` is the db's runner: an executor, or a session's.
 *
 * @example
 * ```ts
 * const result = await migrateSchema(social, ex, ex);
 * result.steps; // ["users: add column age u32 nullable (null)"]
 * ```
 */
export async function migrateSchema(schema: AnySchema, executor: Executor, runner: Runner): Promise<MigrationResult> {
  const first = await planMigration(schema, runner);
  const summary = (p: MigrationPlan, applied: boolean): MigrationResult => ({ applied, from: p.from, to: p.to, steps: p.steps });
  if (first.empty) return summary(first, false);
  const needsRows = first.changes.some((c) => c.kind === "alter" && c.needsRows);
  if (!needsRows || runner !== executor) {
    await apply(schema, runner, first);
    return summary(first, true);
  }
  // Values computed on the client: read the rows and write them back in one session, planned
  // again inside it so the plan matches what the session sees.
  const session = await executor.session();
  let plan: MigrationPlan;
  try {
    plan = await planMigration(schema, session);
    if (!plan.empty) await apply(schema, session, plan);
  } catch (e) {
    try {
      await session.rollback();
    } catch {
      // A failed call already ended the session; the original error says why.
    }
    throw e;
  }
  await session.commit();
  return summary(plan, !plan.empty);
}
