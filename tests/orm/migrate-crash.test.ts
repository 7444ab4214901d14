/**
 * A durable migration is all-or-nothing under kill -9: a child process migrates a table of
 * `ROWS` rows (rename, widen, add a column and an index, and either drop a column — every row
 * rewritten — or not — the rows kept, the new column filled in on reads, only the index written)
 * and is killed with SIGKILL at random moments of it. After each kill the directory is reopened: it holds either the old
 * schema with the old rows and no migration record, or the new schema with every transformed row
 * and the record — never a mix.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embedded } from "../../src/kernel/index.js";
import { connect } from "../../src/orm/index.js";
import { afterRow, before, beforeRow, lazyAfterRow, ROWS, type Scenario, scenarios } from "./support/migrate-crash-shared.js";

const CHILD = join(import.meta.dirname, "support", "migrate-crash-child.ts");
const KILLS = 5;

/** Runs the child; kills it `killAfterMs` after it is ready (never when undefined). */
function run(dir: string, scenario: Scenario, killAfterMs: number | undefined): Promise<{ killed: boolean; ms: number | undefined }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, scenario], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      if (killAfterMs !== undefined && timer === undefined && out.includes("ready\n")) timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (timer) clearTimeout(timer);
      const done = /done (\d+)/.exec(out);
      if (signal === "SIGKILL") resolve({ killed: true, ms: undefined });
      else if (code === 0 && done) resolve({ killed: false, ms: Number(done[1]) });
      else reject(new Error(`child failed (code ${code}): ${err}`));
    });
  });
}

/** Which state the directory holds; fails the test on any mix. */
async function check(dir: string, scenario: Scenario): Promise<"before" | "after"> {
  const after = scenarios[scenario];
  const rowAfter = scenario === "rewrite" ? afterRow : lazyAfterRow;
  const ex = embedded({ dataDir: dir });
  try {
    const tables = ((await ex.request({ verb: "get", path: "/host/tables", key: null })) as string[]).filter((t) => t.startsWith("/state/mc/"));
    if (tables.includes("/state/mc/items")) {
      expect(tables).toEqual(["/state/mc/items"]);
      expect(await ex.request({ verb: "get", path: "/state/mc/items/schema", key: null })).toEqual(before.meta("items").schemaJson);
      const rows = await (await connect(before, ex)).selectFrom("items").orderBy("id").execute();
      expect(rows.length).toBe(ROWS);
      rows.forEach((r, i) => expect(r).toEqual(beforeRow(i)));
      return "before";
    }
    expect(tables).toEqual(["/state/mc/_migrations", "/state/mc/goods"]);
    expect(await ex.request({ verb: "get", path: "/state/mc/goods/schema", key: null })).toEqual(after.meta("goods").schemaJson);
    const db = await connect(after, ex);
    const rows = await db.selectFrom("goods").orderBy("id").execute();
    expect(rows.length).toBe(ROWS);
    rows.forEach((r, i) => expect(r).toEqual(rowAfter(i)));
    // the new index serves lookups over every row
    expect(await db.selectFrom("goods").where("qty", "=", 7).count().execute()).toBe(rows.filter((r) => r.qty === 7).length);
    expect((await db.planMigration()).history.length).toBe(1);
    return "after";
  } finally {
    await ex.close();
  }
}

describe("migration crash safety (kill -9 during a durable migration)", () => {
  const root = mkdtempSync(join(tmpdir(), "tc-migrate-crash-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const seed = join(root, "seed");
  beforeAll(async () => {
    const ex = embedded({ dataDir: seed });
    const db = await connect(before, ex);
    await db.sync();
    await db.insertInto("items").values(Array.from({ length: ROWS }, (_, i) => beforeRow(i))).execute();
    await ex.close();
  }, 60_000);

  it.each(["rewrite", "lazy"] as const)(`leaves the old schema and rows or the new ones, never a mix (%s, ${KILLS} kills)`, async (scenario) => {
    // One uninterrupted run: how long the migration takes, and its result.
    const full = join(root, `full-${scenario}`);
    cpSync(seed, full, { recursive: true });
    const { ms } = await run(full, scenario, undefined);
    expect(await check(full, scenario)).toBe("after");
    let killed = 0;
    for (let k = 0; k < KILLS; k++) {
      const dir = join(root, `k${k}-${scenario}`);
      cpSync(seed, dir, { recursive: true });
      // Anywhere from the start of the migration to a little after its commit.
      const at = Math.floor(Math.random() * (ms! * 1.2 + 20));
      const r = await run(dir, scenario, at);
      const state = await check(dir, scenario);
      if (r.killed) killed++;
      else expect(state).toBe("after");
    }
    // The kills must have landed (most draws fall inside the migration).
    expect(killed).toBeGreaterThan(0);
  }, 60_000);
});
