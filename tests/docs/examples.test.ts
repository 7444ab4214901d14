/**
 * Every program in `examples/` runs as written (the README points users at them): each is run with
 * tsx in a child process and must exit 0 within its time limit, printing something.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const EXAMPLES = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".ts")).sort();
const TIMEOUT_MS = 60_000;

function run(file: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", join(ROOT, "node_modules", "tsx", "dist", "loader.mjs"), join("examples", file)], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe("examples/", () => {
  it("has the CRUD, graph and serving examples", () => {
    expect(EXAMPLES).toEqual(expect.arrayContaining(["crud.ts", "social.ts", "serve.ts"]));
  });

  it.each(EXAMPLES)("%s runs to completion", { timeout: TIMEOUT_MS + 10_000 }, async (file) => {
    const r = await run(file);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim().length).toBeGreaterThan(0);
  });
});
