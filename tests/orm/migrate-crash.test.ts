/**
 * A durable migration is all-or-nothing under kill -9: a child process migrates a table of
 * `ROWS` rows (rename, widen, add a column and an index, drop a column) and is killed with SIGKILL
 * at random moments of it. After each kill the directory is reopened: it holds either the old
 * schema with the old rows and no migration record, or the new schema with every transformed row
 * and the record — never a mix.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { embedded } from "../../src/kernel/index.js";
import { connect } from "../../src/orm/index.js";
import { after, afterRow, before, beforeRow, ROWS } from "./support/migrate-crash-shared.js";

const CHILD = join(import.meta.dirname, "support", "migrate-crash-child.ts");
const KILLS = 5;

/** Runs the child; kills it `killAfterMs` after it is ready (never when undefined). */
function run(dir: string, killAfterMs: number | undefined): Promise<{ killed: boolean; ms: number | undefined }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir], { stdio: ["ignore", "pipe", "pipe"] });
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
async function check(dir: string): Promise<"before" | "after"> {
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
    rows.forEach((r, i) => expect(r).toEqual(afterRow(i)));
    expect((await db.planMigration()).history.length).toBe(1);
    return "after";
  } finally {
    await ex.close();
  }
}

describe("migration crash safety (kill -9 during a durable migration)", () => {
  const root = mkdtempSync(join(tmpdir(), "tc-migrate-crash-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it(`leaves the old schema and rows or the new ones, never a mix (${KILLS} kills)`, async () => {
    const seed = join(root, "seed");
    {
      const ex = embedded({ dataDir: seed });
      const db = await connect(before, ex);
      await db.sync();
      await db.insertInto("items").values(Array.from({ length: ROWS }, (_, i) => beforeRow(i))).execute();
      await ex.close();
    }
    // One uninterrupted run: how long the migration takes, and its result.
    const full = join(root, "full");
    cpSync(seed, full, { recursive: true });
    const { ms } = await run(full, undefined);
    expect(await check(full)).toBe("after");
    let killed = 0;
    for (let k = 0; k < KILLS; k++) {
      const dir = join(root, `k${k}`);
      cpSync(seed, dir, { recursive: true });
      // Anywhere from the start of the migration to a little after its commit.
      const at = Math.floor(Math.random() * (ms! * 1.2 + 20));
      const r = await run(dir, at);
      const state = await check(dir);
      if (r.killed) killed++;
      else expect(state).toBe("after");
    }
    // The kills must have landed (most draws fall inside the migration).
    expect(killed).toBeGreaterThan(0);
  }, 60_000);
});
