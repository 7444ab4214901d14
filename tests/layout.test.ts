/**
 * The source layout's rules, checked on the tree as it is: the import rules of
 * `.dependency-cruiser.cjs` (no circles; graph and orm never load the kernel; storage knows no
 * algorithm that reads it), files of at most ~600 lines unless their first comment says why one
 * file, and a README in every folder of src/.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { cruise } from "dependency-cruiser";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const src = join(root, "src");
const MAX_LINES = 650;

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

describe("source layout", () => {
  it("follows the import rules of .dependency-cruiser.cjs", async () => {
    const rules = createRequire(import.meta.url)(join(root, ".dependency-cruiser.cjs"));
    const result = await cruise(["src"], { ...rules.options, validate: true, ruleSet: { forbidden: rules.forbidden }, baseDir: root });
    const output = result.output as { summary: { violations: { rule: { name: string }; from: string; to: string; cycle?: { name: string }[] }[]; totalCruised: number } };
    expect(output.summary.totalCruised).toBeGreaterThan(50);
    const violations = output.summary.violations.map((v) =>
      v.cycle ? `${v.rule.name}: ${v.from} → ${v.cycle.map((c) => c.name).join(" → ")}` : `${v.rule.name}: ${v.from} → ${v.to}`,
    );
    expect(violations).toEqual([]);
  });

  it("loads no kernel module from the HTTP client, the ORM, the graph layer or connect()", async () => {
    const rules = createRequire(import.meta.url)(join(root, ".dependency-cruiser.cjs"));
    const entries = ["src/http/client.ts", "src/orm/index.ts", "src/graph/index.ts", "src/connect.ts"];
    const result = await cruise(entries, { ...rules.options, baseDir: root });
    const modules = (result.output as { modules: { source: string }[] }).modules.map((m) => m.source);
    expect(modules).toContain("src/graph/traversal.ts");
    expect(modules.filter((m) => m.startsWith("src/kernel/"))).toEqual([]);
  });

  it("has no file over ~600 lines whose first comment does not say why it is one file", () => {
    const long = walk(src)
      .filter((f) => f.endsWith(".ts"))
      .filter((f) => {
        const text = readFileSync(f, "utf8");
        const lines = text.split("\n").length;
        const header = /^\/\*\*[\s\S]*?\*\//.exec(text)?.[0] ?? "";
        return lines > MAX_LINES && !/why (it is )?one file/i.test(header);
      })
      .map((f) => relative(root, f));
    expect(long).toEqual([]);
  });

  it("has a README in every folder of src/", () => {
    const dirs = [src, ...walk(src).map((f) => f.slice(0, f.lastIndexOf("/")))];
    const missing = [...new Set(dirs)].filter((d) => !readdirSync(d).includes("README.md")).map((d) => relative(root, d));
    expect(missing).toEqual([]);
  });
});
