/**
 * Child process of the migration crash test: opens the durable database in argv[2], prints
 * `ready`, runs `db.migrate()` to the schema of the scenario in argv[3] and prints `done` once it has returned
 * (committed and durable). The parent kills it with SIGKILL at a random moment.
 */
import { embedded } from "../../../src/kernel/index.js";
import { connect } from "../../../src/orm/index.js";
import { type Scenario, scenarios } from "./migrate-crash-shared.js";

const ex = embedded({ dataDir: process.argv[2]! });
const db = await connect(scenarios[(process.argv[3] ?? "rewrite") as Scenario], ex);
await db.planMigration();
process.stdout.write("ready\n");
const t0 = performance.now();
await db.migrate();
process.stdout.write(`done ${Math.round(performance.now() - t0)}\n`);
await ex.close();
