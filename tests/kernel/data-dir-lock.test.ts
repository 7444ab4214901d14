/**
 * A data directory is opened by one kernel at a time: a second opener, in this process or in
 * another, gets `DataDirLockedError` naming the holder's pid and the directory; the lock is
 * released on close and taken over when its holder was killed. Invalid data-directory paths give
 * `DataDirPathError` through `embedded()`, `Kernel.open` and `serve()`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DataDirLockedError, DataDirPathError } from "../../src/errors.js";
import { http, serve } from "../../src/http/index.js";
import { Kernel, embedded } from "../../src/kernel/index.js";

const CHILD = join(import.meta.dirname, "support", "datadir-child.ts");
const TABLE = {
  "/state/collection/table": [[[[["id", "/state/scalar/value/number/uint/32"]], [["v", "/state/scalar/value/string", 16]]], []], []],
};
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "tc-lock-"));
  dirs.push(d);
  return d;
}

async function withTable(dir: string): Promise<void> {
  const ex = embedded({ dataDir: dir });
  await ex.request({ verb: "put", path: "/state/app/t", key: null, body: TABLE });
  await ex.close();
}

/** Runs the child in `mode`; resolves with its stdout once `until` matches it, or when it exits. */
function child(mode: string, dir: string, until?: RegExp): Promise<{ proc: ChildProcess; out: string; code: number | null }> {
  const proc = spawn(process.execPath, ["--import", "tsx", CHILD, mode, dir], { stdio: ["pipe", "pipe", "pipe"] });
  children.push(proc);
  let out = "";
  let err = "";
  proc.stdout!.setEncoding("utf8");
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child ${mode} timed out: ${out} ${err}`)), 60_000);
    proc.stdout!.on("data", (c: string) => {
      out += c;
      if (until?.test(out)) {
        clearTimeout(timer);
        resolve({ proc, out, code: null });
      }
    });
    proc.on("close", (code) => {
      clearTimeout(timer);
      resolve({ proc, out: out + err, code });
    });
  });
}

const exited = (c: ChildProcess): Promise<void> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once("close", () => r()));

describe("data directory lock", () => {
  it("refuses a second kernel in the same process, then allows it after close", async () => {
    const dir = tempDir();
    const a = embedded({ dataDir: dir });
    await a.request({ verb: "put", path: "/state/app/t", key: null, body: TABLE });
    const err = await Kernel.open({ dataDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect(err).toMatchObject({ kind: "temporarily_unavailable", pid: process.pid, dataDir: dir });
    expect((err as Error).message).toContain(String(process.pid));
    expect((err as Error).message).toContain(dir);
    await a.close();
    const b = await Kernel.open({ dataDir: dir });
    await b.close();
  });

  it("refuses another process while this one holds it: its write is refused, ours stays", async () => {
    const dir = tempDir();
    await withTable(dir);
    const ex = embedded({ dataDir: dir });
    await ex.request({ verb: "put", path: "/state/app/t", key: [910], body: ["parent"] });
    const r = await child("insert", dir);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^error DataDirLockedError /);
    expect(r.out).toContain(`process ${process.pid}`);
    expect(r.out).toContain(dir);
    await ex.close();
    const again = embedded({ dataDir: dir });
    expect(await again.request({ verb: "get", path: "/state/app/t", key: [910] })).toEqual([910, "parent"]);
    await again.close();
  });

  it("refuses this process while another one holds it, naming the holder's pid; takes over once it is killed", async () => {
    const dir = tempDir();
    await withTable(dir);
    const { proc } = await child("hold", dir, /ready\n/);
    expect(readFileSync(join(dir, "tinychain.lock"), "utf8").trim()).toBe(String(proc.pid));
    const err = await Kernel.open({ dataDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect(err).toMatchObject({ pid: proc.pid });
    // over HTTP too: serve() on a held directory fails to start with the typed error
    await expect(serve({ dataDir: dir })).rejects.toBeInstanceOf(DataDirLockedError);
    proc.kill("SIGKILL");
    await exited(proc);
    // the holder is gone: its lock is stale and taken over; its acknowledged write is there
    const ex = embedded({ dataDir: dir });
    expect(await ex.request({ verb: "get", path: "/state/app/t", key: [910] })).toEqual([910, "child"]);
    await ex.close();
  });

  it("is released when the holding process closes and exits", async () => {
    const dir = tempDir();
    await withTable(dir);
    const { proc } = await child("hold", dir, /ready\n/);
    proc.stdin!.end();
    await exited(proc);
    expect(proc.exitCode).toBe(0);
    expect(() => readFileSync(join(dir, "tinychain.lock"))).toThrow();
    const k = await Kernel.open({ dataDir: dir });
    await k.close();
  });

  it("is released when the holding process exits without closing", async () => {
    const dir = tempDir();
    const r = await child("exit", dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain("ready");
    expect(() => readFileSync(join(dir, "tinychain.lock"))).toThrow();
    const k = await Kernel.open({ dataDir: dir });
    await k.close();
  });

  it("a lock file naming a dead process is stale and taken over", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "tinychain.lock"), "999999999\n");
    const k = await Kernel.open({ dataDir: dir });
    expect(readFileSync(join(dir, "tinychain.lock"), "utf8").trim()).toBe(String(process.pid));
    await k.close();
  });
});

describe("invalid data directory paths", () => {
  const base = tempDir();
  const file = join(base, "a-file");
  writeFileSync(file, "x");
  mkdirSync(join(base, "state-is-a-file"));
  writeFileSync(join(base, "state-is-a-file", "state"), "x");
  const cases: [string, string, RegExp][] = [
    ["empty", "", /the path is empty/],
    ["a file", file, /is a file, not a directory/],
    ["a path through a file", join(file, "sub"), /is a file, not a directory/],
    ["a NUL byte", join(base, "a\0b"), /NUL byte/],
    ["a directory whose state folder is a file", join(base, "state-is-a-file"), /state" is a file, not a directory/],
  ];
  for (const [what, dataDir, message] of cases) {
    it(`${what}: embedded(), Kernel.open and serve() give DataDirPathError`, async () => {
      const ex = embedded({ dataDir });
      const viaEmbedded = await ex.request({ verb: "get", path: "/healthz" }).catch((e: unknown) => e);
      expect(viaEmbedded).toBeInstanceOf(DataDirPathError);
      expect((viaEmbedded as Error).message).toMatch(message);
      expect(viaEmbedded).toMatchObject({ kind: "bad_request", dataDir });
      await expect(Kernel.open({ dataDir })).rejects.toBeInstanceOf(DataDirPathError);
      await expect(serve({ dataDir })).rejects.toBeInstanceOf(DataDirPathError);
    });
  }

  it.skipIf(process.getuid?.() === 0)("an unreadable directory gives DataDirPathError", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o000);
    try {
      await expect(Kernel.open({ dataDir: join(dir, "x") })).rejects.toBeInstanceOf(DataDirPathError);
      await expect(Kernel.open({ dataDir: dir })).rejects.toBeInstanceOf(DataDirPathError);
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  it("a server on a good directory still serves (the lock does not get in the way of one opener)", async () => {
    const dir = tempDir();
    const srv = await serve({ dataDir: dir });
    const client = http(srv.url);
    await client.request({ verb: "put", path: "/state/app/t", key: null, body: TABLE });
    await client.close();
    await srv.close();
    const k = await Kernel.open({ dataDir: dir });
    await k.close();
  });
});
