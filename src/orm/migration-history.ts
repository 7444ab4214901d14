/**
 * The record of applied migrations: a table `/state/<namespace>/_migrations` written by
 * `db.migrate()` in the migration's own transaction, one row per migration — the schema hash
 * before (`from`) and after (`to`), the time and the steps. `migrate()` reads it to refuse a
 * declaration older than the database's, and `sync()` to say so when it refuses.
 */
import { createHash } from "node:crypto";
import { NotFoundError } from "../errors.js";
import type { Runner } from "../executor.js";
import { PATHS, type Json } from "../ir/types.js";
import type { AnySchema } from "./schema.js";
import { normalize } from "./stored-schema.js";

/** The name of the history table in each namespace (reserved: a schema cannot declare it). */
export const HISTORY_TABLE = "_migrations";

/** One applied migration. */
export interface MigrationRecord {
  /** 1, 2, …: the order migrations were applied in. */
  readonly seq: number;
  /** Schema hash of the namespace's tables before the migration. */
  readonly from: string;
  /** Schema hash after it (the declaration's). */
  readonly to: string;
  /** When it was applied (ISO 8601). */
  readonly at: string;
  /** Its steps, one readable line each. */
  readonly steps: readonly string[];
}

/** The PROFILE §3 schema of the history table. */
export const HISTORY_SCHEMA: Json = [
  [
    [["seq", PATHS.dtype.u64]],
    [
      ["from", PATHS.dtype.string, 64],
      ["to", PATHS.dtype.string, 64],
      ["at", PATHS.dtype.string, 64],
      ["steps", PATHS.dtype.string],
    ],
  ],
  [],
];

/** The link of a namespace's history table. */
export function historyPath(namespace: string): string {
  return `/state/${namespace}/${HISTORY_TABLE}`;
}

/**
 * A short hash of a set of table schemas (by table name), over their normalized form: the same
 * tables declared or read back from a host hash the same.
 *
 * @example
 * ```ts
 * schemaHash([["users", meta.schemaJson]]); // "3f2a…" (16 hex digits)
 * ```
 */
export function schemaHash(tables: Iterable<readonly [string, unknown]>): string {
  const sorted = [...tables].filter(([name]) => name !== HISTORY_TABLE).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const text = JSON.stringify(sorted.map(([name, s]) => [name, normalize(s)]));
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** The schema hash of what `schema` declares. */
export function declaredHash(schema: AnySchema): string {
  return schemaHash(schema.tableMetas.map((m) => [m.name, m.schemaJson] as const));
}

/** The applied migrations of `namespace`, oldest first (none when the table does not exist). */
export async function readHistory(runner: Runner, namespace: string, present: ReadonlySet<string> | undefined): Promise<MigrationRecord[]> {
  const path = historyPath(namespace);
  if (present !== undefined && !present.has(path)) return [];
  let lit: Json;
  try {
    lit = await runner.request({ verb: "get", path, key: null });
  } catch (e) {
    if (e instanceof NotFoundError && present === undefined) return [];
    throw e;
  }
  return historyRecords(lit);
}

/** The records in a literal of the history table (`{"/state/collection/table": [schema, rows]}`). */
export function historyRecords(lit: Json | undefined): MigrationRecord[] {
  const body = lit && typeof lit === "object" && !Array.isArray(lit) ? (lit as Record<string, Json[]>)[PATHS.table] : undefined;
  const rows = Array.isArray(body?.[1]) ? (body[1] as Json[][]) : [];
  return rows.map((r) => ({
    seq: Number(r[0]),
    from: String(r[1]),
    to: String(r[2]),
    at: String(r[3]),
    steps: (() => {
      try {
        const s = JSON.parse(String(r[4])) as unknown;
        return Array.isArray(s) ? s.map(String) : [];
      } catch {
        return [];
      }
    })(),
  }));
}

/**
 * When `declared` is a schema the database was migrated away from: the sentence saying so (naming
 * both hashes and when), else `undefined`.
 */
export function olderDeclaration(history: readonly MigrationRecord[], declared: string): string | undefined {
  const last = history[history.length - 1];
  if (!last || last.to === declared) return undefined;
  const left = history.find((r) => r.from === declared);
  if (!left) return undefined;
  return (
    `this process declares schema ${declared}, an older declaration: the database was migrated from ${declared} ` +
    `to ${left.to} at ${left.at}` +
    (last !== left ? ` and is now at ${last.to} (migrated at ${last.at})` : "") +
    `; run the newer declaration, or migrate explicitly from it`
  );
}

/** For `sync()`'s refusal: a line naming the hashes when the declaration is an older one. */
export async function migrationNote(schema: AnySchema, runner: Runner, present: ReadonlySet<string> | undefined): Promise<string> {
  try {
    const history = await readHistory(runner, schema.namespace, present);
    const older = olderDeclaration(history, declaredHash(schema));
    if (older) return `\n${older}`;
    const last = history[history.length - 1];
    return last ? `\nthe database's schema ${last.to} was applied by migrate() at ${last.at}; this process declares ${declaredHash(schema)}` : "";
  } catch {
    return "";
  }
}
