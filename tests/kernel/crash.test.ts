/**
 * Crash safety of the durable store: a child process commits transactions in a loop and reports
 * each acknowledged commit; it is killed with SIGKILL at random moments. After each kill the
 * directory is reopened: every acknowledged commit must be there, and every transaction must be
 * all there or not at all (each writes several rows and a marker row in one commit), and the
 * secondary index must hold exactly the rows.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Database } from "../../src/kernel/state/database.js";
import type { TableView } from "../../src/kernel/state/table-view.js";
import { CRASH_LOG, CRASH_MARK, rowsPerCommit } from "./support/crash-shared.js";

const CHILD = join(import.meta.dirname, "support", "crash-child.ts");
/** Kill rounds per lane; lanes run side by side in separate directories to keep the test short. */
const ROUNDS_PER_LANE = 6;
const LANES = 2;

/** Runs the child for one round, kills it after a random delay; returns the acknowledged seqs. */
function runAndKill(dir: string, round: number, killAfterMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, String(round)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const acks: number[] = [];
    let buffered = "";
    let stderr = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line === "ready") timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
        else if (line.startsWith("ack ")) acks.push(Number(line.slice(4)));
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== "SIGKILL") reject(new Error(`child ended without being killed: ${stderr}`));
      else resolve(acks);
    });
  });
}

/** One lane: `ROUNDS_PER_LANE` kill/reopen/verify rounds on one directory; returns the ack count. */
async function lane(dir: string): Promise<number> {
  const acked = new Map<number, number[]>();
  let totalAcks = 0;
  for (let round = 0; round < ROUNDS_PER_LANE; round++) {
    // Kill anywhere from "before the first commit" to well into the loop.
    const acks = await runAndKill(dir, round, Math.floor(Math.random() * 300));
    acked.set(round, acks);
    totalAcks += acks.length;

    const db = await Database.open({ dataDir: dir });
    const txn = await db.begin();
    for (let r = 0; r <= round; r++) {
      const view = txn.request("get", CRASH_LOG, [["round", r]], undefined) as TableView;
      const bySeq = new Map<number, number>();
      for (const row of view.rows()) bySeq.set(row[1] as number, (bySeq.get(row[1] as number) ?? 0) + 1);
      // all-or-nothing: each present transaction has all its rows; seqs are contiguous
      const seqs = [...bySeq.keys()].sort((a, b) => a - b);
      seqs.forEach((seq, i) => {
        expect(seq).toBe(i);
        expect(bySeq.get(seq)).toBe(rowsPerCommit(seq));
      });
      // every acknowledged commit is present
      for (const seq of acked.get(r)!) expect(bySeq.get(seq)).toBe(rowsPerCommit(seq));
      // the marker row was written in the same transactions as the rows
      const mark = txn.request("get", CRASH_MARK, [r], undefined) as [number, number] | null;
      if (seqs.length === 0) expect(mark).toBeNull();
      else expect(mark).toEqual([r, seqs.length - 1]);
    }
    // the index `by_seq` holds exactly the rows (its changes deferred and replayed, or compacted)
    const all = (txn.request("get", CRASH_LOG, null, undefined) as TableView).rows() as number[][];
    const bySeq = (txn.request("get", [...CRASH_LOG, "order"], [["seq"], false], undefined) as TableView).rows() as number[][];
    expect(bySeq).toEqual([...all].sort((a, b) => a[1]! - b[1]! || a[0]! - b[0]! || a[2]! - b[2]!));
    txn.rollback();
    await db.close();
  }
  return totalAcks;
}

describe("crash safety (kill -9 of a writing process)", () => {
  const dirs = Array.from({ length: LANES }, () => mkdtempSync(join(tmpdir(), "tc-crash-")));
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it(`keeps every acknowledged commit and never shows a partial one (${LANES * ROUNDS_PER_LANE} kills)`, async () => {
    const acks = await Promise.all(dirs.map((d) => lane(d)));
    // The kills must have landed while commits were going on, not only before the first one.
    expect(acks.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  }, 120_000);
});
