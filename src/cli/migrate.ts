/**
 * `tinychain-orm migrate --schema app/schema.ts [--apply]`: compares the tables a schema module
 * declares with the source's. The plan lists, per declared table, `create` (absent), `unchanged`
 * (same schema) or `differs` (with the column-by-column diff of `db.sync()`), and the source's
 * tables the module does not declare (left as they are). `--apply` creates the absent tables
 * (`db.sync()`, one request each) and refuses — changing nothing, exit 1 — when a table differs:
 * changing an existing table needs schema evolution, which the kernel does not offer yet.
 */
import { connect } from "../connect.js";
import { TcError } from "../errors.js";
import { schemaDiff } from "../orm/index.js";
import type { Source } from "./source.js";
import { loadSchemaModule } from "./source.js";

/** One declared table's state. */
export interface MigrateStep {
  readonly table: string;
  readonly action: "create" | "unchanged" | "differs";
  readonly diff: readonly string[];
}

/** Plans (and with `apply`, runs) the migration; prints it; resolves with the exit code. */
export async function runMigrate(src: Source, schemaModule: string, apply: boolean): Promise<number> {
  const schemas = await loadSchemaModule(schemaModule);
  const ex = src.executor;
  const steps: MigrateStep[] = [];
  for (const s of schemas) {
    for (const meta of s.tableMetas) {
      let existing: unknown;
      try {
        existing = await ex.request({ verb: "get", path: `${meta.path}/schema`, key: null });
      } catch (e) {
        if (e instanceof TcError && e.kind === "not_found") {
          steps.push({ table: meta.path, action: "create", diff: [] });
          continue;
        }
        throw e;
      }
      const diff = schemaDiff(existing, meta.schemaJson);
      steps.push({ table: meta.path, action: diff.length === 0 ? "unchanged" : "differs", diff });
    }
  }
  const declared = new Set(steps.map((s) => s.table));
  const present = (await ex.request({ verb: "get", path: "/host/tables", key: null })) as string[];
  const lines = [`migrate ${src.label} to ${schemaModule}:`];
  for (const s of steps) {
    lines.push(`  ${s.action.padEnd(9)} ${s.table}`);
    for (const d of s.diff) lines.push(`              ${d}`);
  }
  for (const t of present.filter((p) => !declared.has(p))) lines.push(`  undeclared ${t} (left as it is)`);
  const differs = steps.filter((s) => s.action === "differs");
  const creates = steps.filter((s) => s.action === "create");
  if (!apply) {
    lines.push(creates.length + differs.length === 0 ? "nothing to do" : `plan: ${creates.length} to create, ${differs.length} differing${differs.length > 0 ? " (changing an existing table needs schema evolution: not available yet)" : ""}; --apply to run it`);
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  }
  if (differs.length > 0) {
    process.stdout.write(`${lines.join("\n")}\n`);
    process.stderr.write(`tinychain-orm: migrate refused: ${differs.map((d) => d.table).join(", ")} differ from their declaration (schema evolution is not available yet); nothing was changed\n`);
    return 1;
  }
  for (const s of schemas) {
    const report = await (await connect(s, ex)).sync();
    for (const t of report.created) lines.push(`  created   ${t.startsWith("/") ? t : `/state/${s.namespace}/${t}`}`);
  }
  lines.push(`applied: ${creates.length} table(s) created`);
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
