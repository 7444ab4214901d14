/**
 * Generated increment keys survive a crash: a child process generates keys, deletes the largest,
 * commits and is killed with SIGKILL (no clean close); the reopened store generates keys above
 * every key it ever handed out. Also: a store's sequence is kept per table, and a data directory
 * written before sequences existed opens and continues after its largest key.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { Database } from "../../src/kernel/state/database.js";
import { tableLiteral } from "../../src/kernel/storage/table-schema.js";
import { SEQ_SCHEMA, SEQ_TABLE } from "./support/sequence-child.js";

const CHILD = fileURLToPath(new URL("./support/sequence-child.ts", import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function runChild(dir: string, count: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, String(count)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      if (signal !== "SIGKILL") reject(new Error(`child exited without SIGKILL: ${err}`));
      else resolve(JSON.parse(out.trim()) as number[]);
    });
  });
}

async function keysAfterInserts(db: Database, n: number): Promise<number[]> {
  const txn = await db.begin();
  for (let i = 0; i < n; i++) txn.request("put", [...SEQ_TABLE, "insert"], [null], [`after ${i}`]);
  const rows = txn.request("get", [...SEQ_TABLE, "rows"], null, undefined) as unknown as [number, string][];
  await txn.commit();
  return rows.map((r) => r[0]);
}

describe("generated increment keys", () => {
  it("are never reused after a delete of the largest key and a kill -9", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tc-seq-"));
    dirs.push(dir);
    const handedOut = await runChild(dir, 5);
    expect(handedOut).toEqual([1, 2, 3, 4, 5]);
    const db = await Database.open({ dataDir: dir });
    const keys = await keysAfterInserts(db, 2);
    // 5 was deleted before the crash; the next keys go above it.
    expect(keys).toEqual([1, 2, 3, 4, 6, 7]);
    await db.close();
    const again = await Database.open({ dataDir: dir });
    const txn = await again.begin();
    txn.request("delete", SEQ_TABLE, [7], undefined);
    await txn.commit();
    expect(await keysAfterInserts(again, 1)).toEqual([1, 2, 3, 4, 6, 8]);
    await again.close();
  }, 30_000);

  it("continue after the largest key of a table that has no stored sequence yet", async () => {
    for (const dataDir of [undefined, await mkdtemp(join(tmpdir(), "tc-seq-"))]) {
      if (dataDir) dirs.push(dataDir);
      const db = await Database.open(dataDir ? { dataDir } : {});
      const txn = await db.begin();
      txn.request("put", SEQ_TABLE, null, tableLiteral(SEQ_SCHEMA, [[41, "given"], [7, "given"]]));
      await txn.commit();
      expect(await keysAfterInserts(db, 2)).toEqual([7, 41, 42, 43]);
      await db.close();
    }
  });
});
