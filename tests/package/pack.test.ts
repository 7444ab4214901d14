/**
 * The published package: `npm pack` ships the build (`dist/`: ESM, CJS, `.d.ts`, the CLI), the
 * README, the LICENSE and package.json — nothing else (no src/, tests/, examples/). The build is
 * made by tsup into a temporary directory, so the test needs no prior `npm run build`.
 */
import { spawn } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
let dir: string;
let listing: string[] = [];

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tc-orm-pack-"));
  const built = await run(process.execPath, [join(root, "node_modules", "tsup", "dist", "cli-default.js"), "--out-dir", join(dir, "dist")], root);
  expect(built.code, built.err).toBe(0);
  for (const f of ["package.json", "README.md", "LICENSE"]) await copyFile(join(root, f), join(dir, f));
  const packed = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], dir);
  expect(packed.code, packed.err).toBe(0);
  const [info] = JSON.parse(packed.out) as { files: { path: string }[] }[];
  listing = info!.files.map((f) => f.path).sort();
}, 180_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("npm pack", () => {
  it("ships dist (ESM, CJS, types, the CLI), README, LICENSE and package.json, nothing else", () => {
    for (const f of ["package.json", "README.md", "LICENSE", "dist/index.js", "dist/index.cjs", "dist/index.d.ts", "dist/index.d.cts", "dist/cli.js"]) expect(listing).toContain(f);
    expect(listing.filter((f) => !f.startsWith("dist/") && !["package.json", "README.md", "LICENSE"].includes(f))).toEqual([]);
    expect(listing.filter((f) => /\.ts$/.test(f) && !/\.d\.c?ts$/.test(f))).toEqual([]);
  });

  it("points main, module, types, exports and bin at shipped files; the CLI has a shebang", async () => {
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      main: string; module: string; types: string; bin: Record<string, string>; license: string;
      exports: Record<string, Record<string, Record<string, string>> | string>;
    };
    const shipped = (p: string): string => p.replace(/^\.\//, "");
    for (const p of [pkg.main, pkg.module, pkg.types, ...Object.values(pkg.bin)]) expect(listing).toContain(shipped(p));
    const dot = pkg.exports["."] as Record<string, Record<string, string>>;
    for (const cond of Object.values(dot)) for (const p of Object.values(cond)) expect(listing).toContain(shipped(p));
    expect(pkg.license).toBe("Apache-2.0");
    expect(await readFile(join(root, "LICENSE"), "utf8")).toMatch(/Apache License\s+Version 2\.0/);
    expect((await readFile(join(dir, "dist", "cli.js"), "utf8")).startsWith("#!/usr/bin/env node")).toBe(true);
  });

  it("emits .d.ts without bundler-renamed internal names (RowOf$1, Column$1, …) or kernel storage classes", async () => {
    for (const f of ["index.d.ts", "index.d.cts"]) {
      const dts = await readFile(join(dir, "dist", f), "utf8");
      expect([...new Set(dts.match(/\b[A-Za-z_]\w*\$\d+\b/g) ?? [])]).toEqual([]);
      expect(dts).not.toMatch(/declare class (TableView|TableLiteral|TableSchema)\b/);
    }
  });
});
