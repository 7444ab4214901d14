/**
 * A queue under kill -9 (PROFILE §6.14): a child runs a durable kernel whose worker loops through
 * a task (each iteration inserts one row — an insert, so a repeated iteration would conflict) and
 * is killed at random moments, then restarted. In the end the task is done with no failed try,
 * and every row is there exactly once: nothing committed was lost or repeated.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { embedded } from "../../src/kernel/index.js";
import { queue } from "../../src/service/index.js";
import { counter, MARKS } from "./support.js";

const CHILD = join(import.meta.dirname, "support", "queue-child.ts");
const TO = 300;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function runAndKill(dir: string, round: number, killAfterMs: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, String(round), String(TO)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let task: string | undefined;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (c: string) => {
      out += c;
      const m = /task (\S+)\n/.exec(out);
      if (m) task = m[1];
      if (out.includes("ready\n") && !out.includes("killing")) {
        out += "killing";
        setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      }
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (_c, signal) => (signal === "SIGKILL" ? resolve(task) : reject(new Error(`child ended without being killed: ${err}`))));
  });
}

describe("a queue under kill -9", () => {
  it("resumes from the last committed iteration: none lost, none repeated", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tc-queue-kill-"));
    dirs.push(dir);
    let path: string | undefined;
    for (let round = 0; round < 4; round++) {
      const got = await runAndKill(dir, round, 50 + Math.floor(Math.random() * 250));
      if (round === 0) path = got;
    }
    expect(path).toBeDefined();
    const ex = embedded({ dataDir: dir });
    try {
      const task = queue(ex, counter).task(path!);
      // The killed children had committed iterations of their own.
      expect((await task.status()).iterations).toBeGreaterThan(0);
      expect(await task.result({ intervalMs: 10, timeoutMs: 60_000 })).toBe(TO);
      expect(await task.status()).toMatchObject({ status: "done", attempts: 0, error: null, iterations: TO });
      const t = (await ex.request({ verb: "get", path: MARKS })) as Record<string, [unknown, number[][]]>;
      expect(t["/state/collection/table"]![1].map((r) => r[0])).toEqual([...Array(TO).keys()]);
    } finally {
      await ex.close();
    }
  }, 120_000);
});
