/**
 * `tinychain-orm verify --data-dir`: exit 0 and a report on a sound store; exit 1 naming the
 * problem on a directory another kernel holds, a data file changed since its clean close, a row
 * whose checksum fails (named by table and key), a path that is a file or missing. `serve` on a
 * path through a file exits 1 with the typed message.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embedded } from "../../src/kernel/index.js";
import { exited, runCli } from "./cli-process.js";

const TSX = join(process.cwd(), "node_modules", ".bin", "tsx");
const CLI = join(process.cwd(), "src", "cli.ts");
let root: string;

function verify(...args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(TSX, [CLI, "verify", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, out })));
}

const TABLE = {
  "/state/collection/table": [
    [[[["id", "/state/scalar/value/number/uint/32"]], [["v", "/state/scalar/value/string", 32]]], [["by_v", ["v"]]]],
    [[1, "one"], [2, "needle-value-0123"], [3, "three"]],
  ],
};

/** A store with one indexed table, closed cleanly. */
async function makeStore(name: string): Promise<string> {
  const dir = join(root, name);
  const ex = embedded({ dataDir: dir });
  await ex.request({ verb: "put", path: "/state/app/t", key: null, body: TABLE });
  await ex.close();
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tc-verify-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("tinychain-orm verify", () => {
  it("reports a sound store and exits 0", async () => {
    const dir = await makeStore("sound");
    const r = await verify("--data-dir", dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain("matches its clean-close checksum");
    expect(r.out).toContain("table /state/app/t: 3 rows, row checksums match, schema parses, rows fit it, 2 index(es) consistent");
    expect(r.out.trim().endsWith("sound")).toBe(true);
    // read-only: the clean-close record is still valid, so a kernel opens it the fast way
    const again = await verify(`--data-dir=${dir}`);
    expect(again.code).toBe(0);
  }, 60_000);

  it("refuses a directory another kernel holds, naming its pid", async () => {
    const dir = await makeStore("held");
    const ex = embedded({ dataDir: dir });
    await ex.request({ verb: "get", path: "/state/app/t", key: [1] });
    try {
      const r = await verify("--data-dir", dir);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`in use by process ${process.pid}`);
    } finally {
      await ex.close();
    }
  }, 60_000);

  it("reports a data file changed since its clean close, and a row whose checksum fails", async () => {
    const dir = await makeStore("damaged");
    const file = join(dir, "state", "data.mdb");
    const buf = await readFile(file);
    // change the stored value "needle-value-0123" (every copy lmdb has of it) to "needle-value-0124"
    const needle = Buffer.from("needle-value-0123");
    let at = buf.indexOf(needle);
    expect(at).toBeGreaterThan(0);
    while (at >= 0) {
      buf[at + needle.length - 1] = "4".charCodeAt(0);
      at = buf.indexOf(needle, at + 1);
    }
    await writeFile(file, buf);
    const r = await verify("--data-dir", dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain("state/data.mdb: changed since its last clean close");
    expect(r.out).toContain("table /state/app/t, row [2]: checksum mismatch");
    expect(r.out).toMatch(/damaged: 2 problem\(s\)/);
    // as after a kill (no clean-close record): the row checksum still finds it
    await unlink(join(dir, "state", "clean-close.json"));
    const r2 = await verify("--data-dir", dir);
    expect(r2.code).toBe(1);
    expect(r2.out).toContain("table /state/app/t, row [2]: checksum mismatch");
    expect(r2.out).toMatch(/damaged: 1 problem\(s\)/);
  }, 60_000);

  it("reports a path that is a file or missing, and needs --data-dir", async () => {
    const file = join(root, "a-file");
    await writeFile(file, "x");
    const r = await verify("--data-dir", file);
    expect(r.code).toBe(1);
    expect(r.out).toContain("is not a directory");
    const missing = await verify("--data-dir", join(root, "missing"));
    expect(missing.code).toBe(1);
    expect(missing.out).toContain("ENOENT");
    // serve on a bad data directory: the typed message, exit 1, no stack trace
    const serve = runCli(["serve", "--port", "0", "--data-dir", join(file, "sub")]);
    expect(await exited(serve.child)).toBe(1);
    const err = serve.stderr();
    expect(err).toContain("cannot be used: a component of");
    expect(err).not.toMatch(/ENOTDIR|\n\s+at /);
    const none = await verify();
    expect(none.code).toBe(2);
    expect(none.out).toContain("verify needs --data-dir DIR");
  }, 60_000);
});
