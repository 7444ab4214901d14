/**
 * `tinychain-orm serve`: starts, serves, enforces a token file, refuses bad options, and shuts down
 * gracefully on SIGTERM (exit 0, data durable in --data-dir).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { http } from "../../src/http/index.js";
import { raw } from "./raw.js";

const TSX = join(process.cwd(), "node_modules", ".bin", "tsx");
const CLI = join(process.cwd(), "src", "cli.ts");
const children: ChildProcess[] = [];
let dir: string;

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Starts the CLI and resolves with the URL it prints. */
function start(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(TSX, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let err = "";
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed; stderr: ${err}`)), 30_000);
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, stderr: () => err });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${err}`));
    });
  });
}

const exited = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once("exit", (code) => r(code)));

describe("tinychain-orm serve", () => {
  it("serves a durable kernel with a token file and stops cleanly on SIGTERM", async () => {
    dir = await mkdtemp(join(tmpdir(), "tc-orm-cli-"));
    const tokenFile = join(dir, "tokens.json");
    await writeFile(tokenFile, JSON.stringify({ tokens: [{ name: "app", token: "cli-test-token-1", paths: ["/"] }] }));
    const dataDir = join(dir, "data");
    const { child, url, stderr } = await start(["serve", "--port", "0", "--data-dir", dataDir, "--token-file", tokenFile, "--lib-quota-versions", "0"]);
    expect((await raw(url, "GET", "/healthz")).status).toBe(200);
    expect((await raw(url, "GET", "/state/app/t")).status).toBe(401);
    const auth = { authorization: "Bearer cli-test-token-1" };
    const table = { "/state/collection/table": [[[[["id", "/state/scalar/value/number/uint/32"]], [["v", "/state/scalar/value/string", 16]]], []], []] };
    let r = await raw(url, "PUT", "/state/app/t", { headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(table) });
    expect(r.status).toBe(200);
    r = await raw(url, "PUT", `/state/app/t?key=${encodeURIComponent("[1]")}`, { headers: { ...auth, "content-type": "application/json" }, body: '["one"]' });
    expect(r.status).toBe(200);
    // --lib-quota-versions 0: no installs at all.
    r = await raw(url, "PUT", "/lib", { headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ "/lib/a/b/1.0.0": { v: 1 } }) });
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/library quota exceeded/);
    child.kill("SIGTERM");
    expect(await exited(child)).toBe(0);
    expect(stderr()).not.toContain("cli-test-token-1");

    const again = await start(["serve", "--port", "0", "--data-dir", dataDir, "--quiet"]);
    r = await raw(again.url, "GET", `/state/app/t?key=${encodeURIComponent("[1]")}`);
    expect(r.json).toEqual([1, "one"]);
    again.child.kill("SIGINT");
    expect(await exited(again.child)).toBe(0);
  });

  it("refuses unknown options and bad values with exit code 2", async () => {
    const runs = [["serve", "--port", "70000"], ["serve", "--bogus"], ["frobnicate"], ["serve", "--lib-quota-versions", "many"], ["serve", "--lib-quota-bytes", "-1"], ["serve", "--op-budget-ms", "0"]].map(async (args) => {
      const child = spawn(TSX, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      let err = "";
      child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
      return { code: await exited(child), err };
    });
    for (const { code, err } of await Promise.all(runs)) {
      expect(code).toBe(2);
      expect(err).toMatch(/usage: tinychain-orm serve/);
    }
  });

  it("--op-budget-ms sets the wall-clock budget of each served op", async () => {
    const step = (name: string, method: string, r: number) => ({ "/state/scalar/op/post": [[name, { [`$state/${method}`]: { r } }]] });
    const loop = (n: number) => ({ "/state/scalar/op/post": [["r", { "/state/scalar/ref/while": [step("c", "lt", n), step("s", "add", 1), 0] }]] });
    const { child, url } = await start(["serve", "--port", "0", "--quiet", "--op-budget-ms", "1"]);
    const ex = http(url);
    try {
      expect(await ex.execute(loop(3))).toBe(3);
      const failure = await ex.execute(loop(1e9)).then(() => undefined, (e: unknown) => e as { kind?: string; message?: string });
      expect(failure?.kind).toBe("bad_request");
      expect(failure?.message).toMatch(/time budget limit \(maxMillis = 1\)/);
    } finally {
      await ex.close();
      child.kill("SIGTERM");
      await exited(child);
    }
  });

  it("refuses an invalid token file without printing its content", async () => {
    const d = await mkdtemp(join(tmpdir(), "tc-orm-cli-bad-"));
    const file = join(d, "tokens.json");
    await writeFile(file, JSON.stringify({ tokens: [{ token: "short" }] }));
    const child = spawn(TSX, [CLI, "serve", "--port", "0", "--token-file", file], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let err = "";
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    expect(await exited(child)).toBe(1);
    expect(err).toMatch(/invalid token file/);
    expect(err).not.toContain('"short"');
    await rm(d, { recursive: true, force: true });
  });
});
