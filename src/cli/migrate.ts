/**
 * `tinychain-orm migrate --schema app/schema.ts [--apply]`: the migration plan (`db.planMigration()`)
 * from the source's tables to those a schema module declares, one readable step a line, per
 * schema the module exports; the source's tables the module does not declare are listed and left
 * as they are. `--apply` runs it (`db.migrate()`: each schema's migration in one transaction,
 * recorded in `/state/<namespace>/_migrations`). A change that cannot be migrated (or an older
 * declaration than the database's) is refused before anything runs: the reason on stderr, exit 1.
 */
import { connect } from "../connect.js";
import { ConflictError } from "../errors.js";
import type { MigrationPlan } from "../orm/index.js";
import type { Source } from "./source.js";
import { loadSchemaModule } from "./source.js";

/** Plans (and with `apply`, runs) the migration; prints it; resolves with the exit code. */
export async function runMigrate(src: Source, schemaModule: string, apply: boolean): Promise<number> {
  const schemas = await loadSchemaModule(schemaModule);
  const ex = src.executor;
  const lines = [`migrate ${src.label} to ${schemaModule}:`];
  const plans: MigrationPlan[] = [];
  const dbs = [];
  for (const s of schemas) {
    const db = await connect(s, ex);
    try {
      plans.push(await db.planMigration());
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      process.stdout.write(`${lines.join("\n")}\n`);
      process.stderr.write(`tinychain-orm: migrate refused for namespace ${s.namespace}; nothing was changed: ${e.message}\n`);
      return 1;
    }
    dbs.push(db);
  }
  for (const p of plans) lines.push(...String(p).split("\n").map((l) => `  ${l}`));
  const total = plans.reduce((n, p) => n + p.steps.length, 0);
  if (!apply || total === 0) {
    lines.push(total === 0 ? "nothing to do" : `plan: ${total} step(s); --apply to run it`);
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  }
  for (const db of dbs) {
    const r = await db.migrate();
    if (r.applied) lines.push(`applied ${db.schema.namespace}: ${r.steps.length} step(s), schema ${r.from} → ${r.to}`);
  }
  lines.push(`applied: ${total} step(s)`);
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
