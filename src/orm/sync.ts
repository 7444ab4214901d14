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
import type { AnySchema } from "./schema.js";

/** What `sync()` did. */
export interface SyncReport {
  /** Tables created by this call. */
  readonly created: readonly string[];
  /** Tables that already existed with the declared schema. */
  readonly unchanged: readonly string[];
}

interface NormColumn {
  name: string;
  dtype: string;
  maxLen: number | null;
  nullable: boolean;
  /** `format`, `values` and `generated` options (PROFILE §3), as text; "" when none. */
  options: string;
}
interface NormSchema {
  keys: NormColumn[];
  values: NormColumn[];
  indexes: { name: string; columns: string[] }[];
}

function normDtype(d: unknown): string {
  if (typeof d === "string") return d;
  if (d && typeof d === "object" && !Array.isArray(d)) {
    const keys = Object.keys(d);
    if (keys.length === 1) return keys[0]!;
  }
  return JSON.stringify(d);
}

function normColumn(c: unknown): NormColumn {
  const a = Array.isArray(c) ? c : [];
  const opts = a[3] && typeof a[3] === "object" ? (a[3] as { nullable?: unknown }) : {};
  return {
    name: String(a[0]),
    dtype: normDtype(a[1]),
    maxLen: typeof a[2] === "number" ? a[2] : null,
    nullable: opts.nullable === true,
    // A reference's option is left out: a table created before references were carried still
    // matches (its references are then not enforced, PROFILE §3).
    options: ["format", "values", "generated"]
      .filter((k) => (opts as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${k} ${JSON.stringify((opts as Record<string, unknown>)[k])}`)
      .join(", "),
  };
}

/** Reads a schema JSON (ours or a host's, v1 or v2 dtype form) into a comparable shape. */
function normalize(json: unknown): NormSchema {
  let s = json;
  // A table literal or view may come back instead of a bare schema.
  if (s && typeof s === "object" && !Array.isArray(s) && PATHS.table in s) {
    s = (s as Record<string, unknown[]>)[PATHS.table]![0];
  }
  const a = Array.isArray(s) ? s : [];
  const cols = Array.isArray(a[0]) ? (a[0] as unknown[]) : [];
  const keys = Array.isArray(cols[0]) ? (cols[0] as unknown[]).map(normColumn) : [];
  const values = Array.isArray(cols[1]) ? (cols[1] as unknown[]).map(normColumn) : [];
  const indexes = Array.isArray(a[1])
    ? (a[1] as unknown[]).map((i) => {
        const x = Array.isArray(i) ? i : [];
        return { name: String(x[0]), columns: Array.isArray(x[1]) ? x[1].map(String) : [] };
      })
    : [];
  return { keys, values, indexes };
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
  for (const meta of schema.tableMetas) {
    let existing: Json;
    try {
      existing = await runner.request({ verb: "get", path: `${meta.path}/schema`, key: null });
    } catch (e) {
      if (e instanceof NotFoundError) {
        missing.push(meta);
        continue;
      }
      throw e;
    }
    const diff = schemaDiff(existing, meta.schemaJson);
    if (diff.length === 0) unchanged.push(meta.name);
    else problems.push(`table ${meta.path}:\n  ${diff.join("\n  ")}`);
  }
  if (problems.length > 0) {
    throw new ConflictError(
      `sync(): ${problems.length} existing table(s) differ from the declaration; nothing was changed ` +
        `(migrate or drop them explicitly):\n${problems.join("\n")}`,
    );
  }
  if (missing.length > 0) {
    const steps: JsonSteps = missing.map((m, i) => [`_c${i}`, put(m.path, null, tableLiteral(m))]);
    steps.push(["_r", missing.map((_, i) => ref(`_c${i}`))]);
    await runner.execute(opdef(steps));
  }
  return { created: missing.map((m) => m.name), unchanged };
}
