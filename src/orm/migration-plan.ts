/**
 * `db.planMigration()`: the steps that turn the tables a host stores under a schema's namespace
 * into the declared ones, computed from the stored schemas (as `sync()` reads them) and the
 * declaration's migration hints (`.renamedFrom()`, `.transform()`, `.backfill()`, defaults).
 * Supported: create a table; rename a table or a column declared explicitly; add a column
 * (nullable, with a default or a backfill); drop a value column; widen a string or link column or
 * make a column nullable; change a column's type with a `.transform()`; add, drop or rebuild an
 * index (a `.unique()` column's index included: added only when the existing rows do not repeat a
 * value, checked when applied). Anything else is refused, naming the table, the column and what to
 * declare.
 */
import { ConflictError, NotFoundError } from "../errors.js";
import type { Runner } from "../executor.js";
import type { Json } from "../ir/types.js";
import { DTYPE_PATHS, type AnyColumn, type ColumnMigration } from "./columns.js";
import type { TableMeta } from "./meta.js";
import { declaredHash, HISTORY_TABLE, historyPath, historyRecords, type MigrationRecord, olderDeclaration, readHistory, schemaHash } from "./migration-history.js";
import type { AnySchema } from "./schema.js";
import { normalize, type NormColumn } from "./stored-schema.js";
import { readStored, tableList } from "./stored-read.js";
import type { AnyTable } from "./table.js";

/** Where a column of a rewritten table gets its cells. */
export type CellSource =
  | { readonly kind: "column"; readonly from: string }
  | { readonly kind: "value"; readonly value: unknown }
  /** Computed per existing row on the client: from the row (stored column names → cells). */
  | { readonly kind: "computed"; readonly compute: (row: Record<string, unknown>) => unknown };

/** One table the migration creates or rewrites. */
export type TableChange =
  | { readonly kind: "create"; readonly meta: TableMeta }
  | {
      readonly kind: "alter";
      readonly meta: TableMeta;
      /** The stored table's link (its old name when renamed). */
      readonly fromPath: string;
      /** The stored schema as the host returned it: the kernel refuses the change if it moved. */
      readonly expect: Json;
      readonly sources: Readonly<Record<string, CellSource>>;
      /** Columns whose values must not repeat once rewritten (`.unique()`). */
      readonly unique: readonly string[];
      /** True when a source is computed on the client (the rows must be read first). */
      readonly needsRows: boolean;
    };

/**
 * A migration plan: readable steps and what applying them does.
 *
 * @example
 * ```ts
 * const plan = await db.planMigration();
 * console.log(String(plan)); // "migration 1a2b… → 3c4d… (2 steps):\n  users: add column age u32 nullable (null)\n  …"
 * ```
 */
export interface MigrationPlan {
  /** Schema hash of the stored tables of the namespace. */
  readonly from: string;
  /** Schema hash of the declaration. */
  readonly to: string;
  /** One readable line per step, in the order they apply. */
  readonly steps: readonly string[];
  /** Things left as they are (stored tables the schema does not declare). */
  readonly notes: readonly string[];
  /** The tables created or rewritten. */
  readonly changes: readonly TableChange[];
  /** The migrations already applied, oldest first. */
  readonly history: readonly MigrationRecord[];
  /** True when there is nothing to do. */
  readonly empty: boolean;
  toString(): string;
}

// The first name of each dtype path: `string` (not `json`, `enum` or `uuid`, stored as strings), `i64` (not `timestamp`).
const SHORT = new Map<string, string>();
for (const [k, v] of Object.entries(DTYPE_PATHS)) if (!SHORT.has(v)) SHORT.set(v, k);

function show(c: NormColumn): string {
  const short = SHORT.get(c.dtype) ?? c.dtype.replace("/state/scalar/value/", "");
  return `${short}${c.maxLen === null ? "" : `(${c.maxLen})`}${c.nullable ? " nullable" : ""}`;
}

/** True when every value of `h` is a value of `w` (same dtype, length and nullability at least as wide). */
function widens(h: NormColumn, w: NormColumn): boolean {
  if (h.dtype !== w.dtype) return false;
  if (w.maxLen !== null && (h.maxLen === null || h.maxLen > w.maxLen)) return false;
  return w.nullable || !h.nullable;
}

function same(h: NormColumn, w: NormColumn): boolean {
  return h.dtype === w.dtype && h.maxLen === w.maxLen && h.nullable === w.nullable;
}

function showValue(v: unknown): string {
  // A 64-bit default is a bigint, which JSON cannot print.
  const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `${x}n` : x)) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

interface Planned {
  readonly steps: string[];
  readonly problems: string[];
}

/** Plans the rewrite of one stored table into `meta`; pushes steps and problems. */
function planAlter(meta: TableMeta, decl: AnyTable, storedJson: Json, fromPath: string, out: Planned): TableChange | undefined {
  const t = meta.name;
  const have = normalize(storedJson);
  const want = normalize(meta.schemaJson);
  const haveCols = [...have.keys.map((c) => ({ ...c, key: true })), ...have.values.map((c) => ({ ...c, key: false }))];
  const wantCols = [...want.keys.map((c) => ({ ...c, key: true })), ...want.values.map((c) => ({ ...c, key: false }))];
  const used = new Map<string, string>(); // stored name → declared name
  const sources: Record<string, CellSource> = {};
  const before = out.steps.length;
  const problems = out.problems.length;
  for (const w of wantCols) {
    const spec = (decl.columns[w.name] as AnyColumn).spec;
    const mig: ColumnMigration = spec.migration ?? {};
    let h = haveCols.find((c) => c.name === w.name);
    if (!h && mig.renamedFrom !== undefined) {
      h = haveCols.find((c) => c.name === mig.renamedFrom);
      if (h && wantCols.some((c) => c.name === mig.renamedFrom)) {
        out.problems.push(`${t}.${w.name}: renamedFrom("${mig.renamedFrom}") names a column that is still declared; rename one of them`);
        continue;
      }
      if (h) out.steps.push(`${t}: rename column ${h.name} → ${w.name}`);
    }
    if (h) {
      used.set(h.name, w.name);
      if (h.key !== w.key) {
        out.problems.push(`${t}.${w.name}: stored as a ${h.key ? "key" : "value"} column, declared as a ${w.key ? "key" : "value"} column; changing a table's key is not supported (declare a new table and copy the rows)`);
        continue;
      }
      const from = h.name;
      if (same(h, w)) {
        sources[w.name] = { kind: "column", from };
      } else if (mig.transform !== undefined && !w.key) {
        const transform = mig.transform;
        sources[w.name] = { kind: "computed", compute: (row) => transform(row[from]) };
        out.steps.push(`${t}: change column ${w.name} ${show(h)} → ${show(w)} (transform)`);
      } else if (widens(h, w)) {
        sources[w.name] = { kind: "column", from };
        const what = [h.maxLen !== w.maxLen ? `widen ${show({ ...h, nullable: false })} → ${show({ ...w, nullable: false })}` : "", h.nullable !== w.nullable ? "make nullable" : ""].filter(Boolean);
        out.steps.push(`${t}: ${what.join(", ")} column ${w.name}`);
      } else {
        out.problems.push(
          w.key
            ? `${t}.${w.name}: key column stored ${show(h)}, declared ${show(w)}; a key column's type can only be widened (a longer string)`
            : `${t}.${w.name}: stored ${show(h)}, declared ${show(w)}; declare .transform((old) => value) on the column to convert the stored values`,
        );
      }
      continue;
    }
    if (w.key) {
      out.problems.push(`${t}.${w.name}: adding a key column is not supported (declare a new table and copy the rows), or declare .renamedFrom("old") if it was renamed`);
      continue;
    }
    if (mig.backfill !== undefined) {
      const backfill = mig.backfill;
      sources[w.name] = { kind: "computed", compute: (row) => backfill(row) };
      out.steps.push(`${t}: add column ${w.name} ${show(w)} (backfill function)`);
    } else if (spec.hasDefault) {
      const d = spec.default;
      if (typeof d === "function") {
        const fn = d as () => unknown;
        sources[w.name] = { kind: "computed", compute: () => fn() };
        out.steps.push(`${t}: add column ${w.name} ${show(w)} (default function, called per row)`);
      } else {
        sources[w.name] = { kind: "value", value: d };
        out.steps.push(`${t}: add column ${w.name} ${show(w)} (default ${showValue(d)})`);
      }
    } else if (w.nullable) {
      sources[w.name] = { kind: "value", value: null };
      out.steps.push(`${t}: add column ${w.name} ${show(w)} (null)`);
    } else {
      out.problems.push(`${t}.${w.name}: a new column needs a value in the existing rows: declare .nullable(), .default(value) or .backfill((row) => value) (or .renamedFrom("old") if it was renamed)`);
    }
  }
  for (const h of haveCols) {
    if (used.has(h.name)) continue;
    if (h.key) out.problems.push(`${t}.${h.name}: dropping a key column is not supported (declare a new table and copy the rows)`);
    else out.steps.push(`${t}: drop column ${h.name}`);
  }
  const keyOrder = have.keys.map((k) => used.get(k.name) ?? "?").join(", ");
  if (out.problems.length === problems && keyOrder !== want.keys.map((k) => k.name).join(", ")) {
    out.problems.push(`${t}: key columns stored in the order (${keyOrder}), declared (${want.keys.map((k) => k.name).join(", ")}); reordering a key is not supported`);
  }
  const valueOrder = have.values.map((c) => used.get(c.name)).filter((n): n is string => n !== undefined);
  const declaredOrder = want.values.map((c) => c.name).filter((n) => valueOrder.includes(n));
  if (out.steps.length === before && valueOrder.join(", ") !== declaredOrder.join(", ")) {
    out.steps.push(`${t}: reorder value columns (${valueOrder.join(", ")}) → (${declaredOrder.join(", ")})`);
  }

  // Indexes, by name; a stored index's columns are read through the column renames.
  const haveIdx = new Map(have.indexes.map((i) => [i.name, i.columns.map((c) => used.get(c) ?? `${c} (dropped)`).join(", ")]));
  const unique = meta.indexes.filter((i) => i.origin === "unique").map((i) => i.columns[0]!);
  for (const i of meta.indexes) {
    const cols = i.columns.join(", ");
    const stored = haveIdx.get(i.name);
    if (stored === cols) continue;
    const label = i.origin === "unique" ? `unique on ${cols} (index ${i.name}; refused if existing rows repeat a value)` : `index ${i.name} (${cols})`;
    out.steps.push(stored === undefined ? `${t}: add ${label}, built over the existing rows` : `${t}: rebuild ${label}: was (${stored})`);
  }
  for (const [name, cols] of haveIdx) {
    if (meta.indexes.some((i) => i.name === name)) continue;
    out.steps.push(name.startsWith("unique_") ? `${t}: drop unique on ${cols} (index ${name})` : `${t}: drop index ${name} (${cols})`);
  }
  if (out.steps.length === before || out.problems.length > problems) return undefined;
  const needsRows = Object.values(sources).some((s) => s.kind === "computed");
  return { kind: "alter", meta, fromPath, expect: storedJson, sources, unique, needsRows };
}

/**
 * Computes the migration plan of `schema` against what `runner`'s host stores; throws
 * `ConflictError` listing every change that cannot be migrated, or when the declaration is older
 * than the database's last migration.
 *
 * @example
 * ```ts
 * const plan = await planMigration(social, ex);
 * plan.steps; // ["users: add column age u32 nullable (null)"]
 * ```
 */
export async function planMigration(schema: AnySchema, runner: Runner): Promise<MigrationPlan> {
  const ns = schema.namespace;
  const present = await tableList(runner);
  const prefix = `/state/${ns}/`;
  const stored = new Map<string, Json>();
  let history: MigrationRecord[];
  if (present !== undefined) {
    // The schemas and the history in one request.
    const hist = historyPath(ns);
    const names: string[] = [];
    for (const p of present) if (p.startsWith(prefix) && !p.slice(prefix.length).includes("/") && p !== hist) names.push(p.slice(prefix.length));
    const read = await readStored(runner, names.map((n) => `${prefix}${n}`), present.has(hist) ? hist : undefined);
    for (const n of names) stored.set(n, read.schemas.get(`${prefix}${n}`)!);
    history = historyRecords(read.table);
  } else {
    // A host without the table list: probe each declared name (and previous name); a probe that
    // answers is the stored schema.
    for (const m of schema.tableMetas) {
      for (const n of [m.name, (schema.tables[m.name] as AnyTable).previousName]) {
        if (n === null || n === HISTORY_TABLE || stored.has(n)) continue;
        try {
          stored.set(n, await runner.request({ verb: "get", path: `${prefix}${n}/schema`, key: null }));
        } catch (e) {
          if (!(e instanceof NotFoundError)) throw e;
        }
      }
    }
    history = await readHistory(runner, ns, present);
  }

  const out: Planned = { steps: [], problems: [] };
  const changes: TableChange[] = [];
  const declared = new Set(schema.tableMetas.map((m) => m.name));
  const consumed = new Set<string>();
  for (const meta of schema.tableMetas) {
    const decl = schema.tables[meta.name] as AnyTable;
    if (meta.name === HISTORY_TABLE) {
      out.problems.push(`${meta.name}: the name is reserved for the migration history; rename the table`);
      continue;
    }
    let from = stored.has(meta.name) ? meta.name : undefined;
    const prev = decl.previousName;
    if (from === undefined && prev !== null && stored.has(prev)) {
      if (declared.has(prev)) {
        out.problems.push(`${meta.name}: renamedFrom("${prev}") names a table that is still declared; rename one of them`);
        continue;
      }
      from = prev;
      out.steps.push(`rename table ${prefix}${prev} → ${meta.path}`);
    }
    if (from === undefined) {
      changes.push({ kind: "create", meta });
      out.steps.push(`create table ${meta.path}`);
      continue;
    }
    consumed.add(from);
    const stepsBefore = out.steps.length;
    const change = planAlter(meta, decl, stored.get(from)!, `${prefix}${from}`, out);
    if (change) changes.push(change);
    else if (from !== meta.name && out.steps.length === stepsBefore) {
      // A rename alone still rewrites the table under its new name.
      const storedJson = stored.get(from)!;
      const sources = Object.fromEntries(meta.columns.map((c) => [c.name, { kind: "column", from: c.name } as CellSource]));
      changes.push({ kind: "alter", meta, fromPath: `${prefix}${from}`, expect: storedJson, sources, unique: [], needsRows: false });
    }
  }
  const notes = [...stored.keys()].filter((n) => !declared.has(n) && !consumed.has(n)).map((n) => `undeclared table ${prefix}${n} (left as it is)`);
  const to = declaredHash(schema);
  if (out.steps.length > 0 || out.problems.length > 0) {
    const older = olderDeclaration(history, to);
    if (older) throw new ConflictError(`migration refused: ${older}; nothing was changed`);
  }
  if (out.problems.length > 0) {
    throw new ConflictError(
      `planMigration(): ${out.problems.length} declared change(s) cannot be migrated; nothing was changed:\n  ${out.problems.join("\n  ")}`,
    );
  }
  const fromHash = schemaHash(stored);
  const steps = Object.freeze([...out.steps]);
  return Object.freeze({
    from: fromHash,
    to,
    steps,
    notes: Object.freeze(notes),
    changes: Object.freeze(changes),
    history: Object.freeze(history),
    empty: steps.length === 0,
    toString(): string {
      const head = steps.length === 0 ? `migration of ${ns}: nothing to do (schema ${to})` : `migration of ${ns} ${fromHash} → ${to} (${steps.length} step${steps.length === 1 ? "" : "s"}):`;
      return [head, ...steps.map((s) => `  ${s}`), ...notes.map((n) => `  (${n})`)].join("\n");
    },
  });
}
