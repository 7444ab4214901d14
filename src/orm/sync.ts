/**
 * `db.sync()`: makes the host's tables match the declaration without ever dropping or rewriting
 * anything. Missing tables are created (all in one op, so in one transaction); identical existing
 * ones are accepted; if any existing table differs, nothing is created and a `ConflictError` lists
 * every difference column by column.
 */
import { ConflictError, NotFoundError } from "../errors.js";
import type { Runner } from "../executor.js";
import { opdef, put, ref, tableLiteral as tableJson, type JsonSteps } from "../ir/json.js";
import { PATHS, type Json } from "../ir/types.js";
import type { SchemaJson, TableMeta } from "./meta.js";
import { declaredHash, historyPath, historyRecords, type MigrationRecord, migrationNote, olderDeclaration, readHistory } from "./migration-history.js";
import { readStored, tableList } from "./stored-read.js";
import { normalize, type NormColumn, type NormSchema } from "./stored-schema.js";
import type { AnySchema } from "./schema.js";

/** What `sync()` did. */
export interface SyncReport {
  /** Tables created by this call. */
  readonly created: readonly string[];
  /** Tables that already existed with the declared schema. */
  readonly unchanged: readonly string[];
}

function show(c: NormColumn | undefined): string {
  if (!c) return "absent";
  const short = c.dtype.replace(PATHS.dtype.prefix, "");
  return `${short}${c.maxLen === null ? "" : `(${c.maxLen})`}${c.nullable ? " nullable" : ""}${c.options === "" ? "" : ` (${c.options})`}`;
}

/** Every difference between the existing and the declared schema, one line each. */
export function schemaDiff(existing: unknown, declared: SchemaJson): string[] {
  const have = normalize(existing);
  const want = normalize(declared);
  const lines: string[] = [];
  const all = (s: NormSchema) => [...s.keys.map((c) => ({ ...c, key: true })), ...s.values.map((c) => ({ ...c, key: false }))];
  const haveCols = all(have);
  const wantCols = all(want);
  const names = [...new Set([...wantCols.map((c) => c.name), ...haveCols.map((c) => c.name)])];
  for (const name of names) {
    const h = haveCols.find((c) => c.name === name);
    const w = wantCols.find((c) => c.name === name);
    if (!h || !w) {
      lines.push(`column ${name}: existing ${h ? `${h.key ? "key " : ""}${show(h)}` : "absent"}, declared ${w ? `${w.key ? "key " : ""}${show(w)}` : "absent"}`);
      continue;
    }
    if (h.key !== w.key) lines.push(`column ${name}: existing is a ${h.key ? "key" : "value"} column, declared as a ${w.key ? "key" : "value"} column`);
    if (show(h) !== show(w)) lines.push(`column ${name}: existing ${show(h)}, declared ${show(w)}`);
  }
  const order = (cs: NormColumn[]) => cs.map((c) => c.name).join(", ");
  if (lines.length === 0) {
    if (order(have.keys) !== order(want.keys)) lines.push(`key column order: existing (${order(have.keys)}), declared (${order(want.keys)})`);
    if (order(have.values) !== order(want.values)) lines.push(`value column order: existing (${order(have.values)}), declared (${order(want.values)})`);
  }
  const idx = (s: NormSchema) => new Map(s.indexes.map((i) => [i.name, i.columns.join(", ")]));
  const hi = idx(have);
  const wi = idx(want);
  for (const name of new Set([...wi.keys(), ...hi.keys()])) {
    if (hi.get(name) !== wi.get(name)) {
      lines.push(`index ${name}: existing ${hi.has(name) ? `(${hi.get(name)})` : "absent"}, declared ${wi.has(name) ? `(${wi.get(name)})` : "absent"}`);
    }
  }
  return lines;
}

/** The table literal that creates a table: `{"/state/collection/table": [schema, []]}`. */
export function tableLiteral(meta: TableMeta): Json {
  return tableJson(meta.schemaJson as unknown as Json, []);
}

/** Runs `sync()` for `schema` on `runner`. */
export async function syncSchema(schema: AnySchema, runner: Runner): Promise<SyncReport> {
  const missing: TableMeta[] = [];
  const unchanged: string[] = [];
  const problems: string[] = [];
  const present = await tableList(runner);
  let history: MigrationRecord[] | undefined;
  const existing = new Map<string, Json>();
  if (present !== undefined) {
    for (const meta of schema.tableMetas) if (!present.has(meta.path)) missing.push(meta);
    // The history is needed when tables are missing (the older-declaration check below).
    const hist = historyPath(schema.namespace);
    const withHistory = missing.length > 0 && present.has(hist);
    const read = await readStored(runner, schema.tableMetas.filter((m) => present.has(m.path)).map((m) => m.path), withHistory ? hist : undefined);
    for (const [link, s] of read.schemas) existing.set(link, s);
    if (missing.length > 0) history = withHistory ? historyRecords(read.table) : [];
  } else {
    for (const meta of schema.tableMetas) {
      try {
        existing.set(meta.path, await runner.request({ verb: "get", path: `${meta.path}/schema`, key: null }));
      } catch (e) {
        // Only without the table list: inside a session this 404 would end the session.
        if (e instanceof NotFoundError) missing.push(meta);
        else throw e;
      }
    }
  }
  for (const meta of schema.tableMetas) {
    const stored = existing.get(meta.path);
    if (stored === undefined) continue;
    const diff = schemaDiff(stored, meta.schemaJson);
    if (diff.length === 0) unchanged.push(meta.name);
    else problems.push(`table ${meta.path}:\n  ${diff.join("\n  ")}`);
  }
  if (missing.length > 0) {
    // Creating tables for a declaration the database was migrated away from would fork it.
    history ??= await readHistory(runner, schema.namespace, present);
    const older = olderDeclaration(history, declaredHash(schema));
    if (older) throw new ConflictError(`sync(): ${older}; nothing was changed`);
  }
  if (problems.length > 0) {
    const history = await migrationNote(schema, runner, present);
    throw new ConflictError(
      `sync(): ${problems.length} existing table(s) differ from the declaration; nothing was changed ` +
        `(migrate() them, see planMigration(), or drop them explicitly):\n${problems.join("\n")}${history}`,
    );
  }
  if (missing.length > 0) {
    const steps: JsonSteps = missing.map((m, i) => [`_c${i}`, put(m.path, null, tableLiteral(m))]);
    steps.push(["_r", missing.map((_, i) => ref(`_c${i}`))]);
    await runner.execute(opdef(steps));
  }
  return { created: missing.map((m) => m.name), unchanged };
}
