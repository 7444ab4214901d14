/**
 * `tinychain-orm serve`: starts, serves, enforces a token file, refuses bad options, and shuts down
 * gracefully on SIGTERM (exit 0, data durable in --data-dir).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { http } from "../../src/http/index.js";
import { exited, killAll, runCli, startServe } from "./cli-process.js";
import { raw } from "./raw.js";

let dir: string;

afterAll(async () => {
  killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("tinychain-orm serve", () => {
  it("serves a durable kernel with a token file and stops cleanly on SIGTERM", async () => {
    dir = await mkdtemp(join(tmpdir(), "tc-orm-cli-"));
    const tokenFile = join(dir, "tokens.json");
    await writeFile(tokenFile, JSON.stringify({ tokens: [{ name: "app", token: "cli-test-token-1", paths: ["/"] }] }));
    const dataDir = join(dir, "data");
    const { child, url, stderr } = await startServe(["--port", "0", "--data-dir", dataDir, "--token-file", tokenFile, "--lib-quota-versions", "0"]);
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

    const again = await startServe(["--port", "0", "--data-dir", dataDir, "--quiet"]);
    r = await raw(again.url, "GET", `/state/app/t?key=${encodeURIComponent("[1]")}`);
    expect(r.json).toEqual([1, "one"]);
    again.child.kill("SIGINT");
    expect(await exited(again.child)).toBe(0);
  });

  it("refuses unknown options and bad values with exit code 2", async () => {
    const runs = [["serve", "--port", "70000"], ["serve", "--bogus"], ["frobnicate"], ["serve", "--lib-quota-versions", "many"], ["serve", "--lib-quota-bytes", "-1"], ["serve", "--op-budget-ms", "0"]].map(async (args) => {
      const { child, stderr } = runCli(args);
      return { code: await exited(child), err: stderr() };
    });
    for (const { code, err } of await Promise.all(runs)) {
      expect(code).toBe(2);
      // One line: the problem, then the usage of the command it concerns.
      expect(err.trim().split("\n")).toHaveLength(1);
      expect(err).toMatch(err.includes("frobnicate") ? /unknown command 'frobnicate' \(usage: tinychain-orm / : /usage: tinychain-orm serve/);
    }
  });

  it("--op-budget-ms sets the wall-clock budget of each served op", async () => {
    const step = (name: string, method: string, r: number) => ({ "/state/scalar/op/post": [[name, { [`$state/${method}`]: { r } }]] });
    const loop = (n: number) => ({ "/state/scalar/op/post": [["r", { "/state/scalar/ref/while": [step("c", "lt", n), step("s", "add", 1), 0] }]] });
    const { child, url } = await startServe(["--port", "0", "--quiet", "--op-budget-ms", "1"]);
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
    const { child, stderr } = runCli(["serve", "--port", "0", "--token-file", file]);
    expect(await exited(child)).toBe(1);
    expect(stderr()).toMatch(/invalid token file/);
    expect(stderr()).not.toContain('"short"');
    await rm(d, { recursive: true, force: true });
  });
});
