/**
 * Schemas as a host returns them (ours or a host's, v1 or v2 dtype form), read into one
 * comparable shape: what `sync()` diffs and migration plans and schema hashes are computed from.
 */
import { PATHS } from "../ir/types.js";

export interface NormColumn {
  name: string;
  dtype: string;
  maxLen: number | null;
  nullable: boolean;
  /** `format`, `values` and `generated` options (PROFILE §3), as text; "" when none. */
  options: string;
}
export interface NormSchema {
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

/**
 * Reads a schema JSON (ours or a host's, v1 or v2 dtype form) into a comparable shape.
 *
 * @example
 * ```ts
 * normalize(meta.schemaJson).values.map((c) => c.name);
 * ```
 */
export function normalize(json: unknown): NormSchema {
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

