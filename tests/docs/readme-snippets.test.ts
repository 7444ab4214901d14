/**
 * Every ```ts snippet of README.md, the folder READMEs of src/ and bench/README.md is type-checked
 * by `tsc --noEmit` (with "tinychain-orm" mapped to src/index.ts), and the ones marked
 * `<!-- snippet: run -->` are run with tsx against the embedded kernel, each in a fresh directory
 * and under a timeout. Directives: tests/docs/snippets.ts.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { extractSnippets, readmeFiles, type Snippet } from "./snippets.js";

const root = join(import.meta.dirname, "..", "..");
const SRC_INDEX = join(root, "src", "index.ts");
const RUN_TIMEOUT_MS = 20_000;

/** Context a fragment needs to type-check, named by `prelude=`. */
const PRELUDES: Record<string, string> = {
  // The tour's social schema and a connected db (src/graph/README.md's fragments use it).
  social: `import { table, col, schema, connect, embedded, param } from "tinychain-orm";
const users = table("users", { id: col.u64().key(), name: col.string(64), age: col.u32().nullable(), city: col.string(32) }).index("by_city", ["city"]);
const follows = table("follows", {
  follower: col.u64().key().references(() => users),
  followee: col.u64().key().references(() => users),
}).edge("follows", { from: "follower", to: "followee", inverse: "followers" });
const posts = table("posts", { id: col.u64().key(), author: col.u64().references(() => users, { name: "author", inverse: "posts" }), lang: col.string(8) });
const db = await connect(schema({ namespace: "social", tables: { users, follows, posts } }), embedded());
`,
  // A table literal and a composite op for the kernel's request-level snippets.
  kernel: `import { embedded, type Json, type OpDef } from "tinychain-orm";
declare const tableLiteral: Json;
declare const op: OpDef;
`,
};

/** Directives for READMEs the project does not annotate (the benchmarks own bench/). */
const OVERRIDES: Record<string, string> = { "bench/README.md#1": "declarations" };

interface Unit {
  readonly snippet: Snippet;
  readonly name: string;
  /** The full source, and the line of the file where the snippet's own code starts (0-based). */
  readonly source: string;
  readonly codeStart: number;
}

/** Relative imports of a folder README's snippet point into that folder. */
function absolutize(code: string, readme: string): string {
  return code.replace(/(from\s+["'])(\.\.?\/[^"']+)(["'])/g, (_m, a: string, p: string, b: string) => `${a}${join(root, dirname(readme), p)}${b}`);
}

function units(): Unit[] {
  const out: Unit[] = [];
  for (const file of readmeFiles(root)) {
    const snippets = extractSnippets(file, readFileSync(join(root, file), "utf8"), OVERRIDES);
    let previous = "";
    for (const s of snippets) {
      let code = absolutize(s.code, file);
      if (s.declarations) code = code.replace(/^(export\s+)?(async\s+)?function\b/gm, (_m, e: string | undefined) => `${e ?? ""}declare function`);
      const head = `${s.prelude !== undefined ? PRELUDES[s.prelude] ?? `unknown prelude ${s.prelude}` : ""}${s.continues ? previous : ""}`;
      const source = `${head}${code}\nexport {};\n`;
      out.push({ snippet: s, name: `${file.replace(/[/.]/g, "_")}_${s.index}`, source, codeStart: head.split("\n").length - 1 });
      previous = `${head}${code}\n`;
    }
  }
  return out;
}

function exec(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; out: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let timedOut = false;
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, timedOut });
    });
  });
}

let dir: string;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("README snippets", () => {
  const all = units();

  it("finds the tour and the folder READMEs' snippets", () => {
    const files = new Set(all.map((u) => u.snippet.file));
    expect(files).toContain("README.md");
    expect(files).toContain("src/http/README.md");
    expect(all.filter((u) => u.snippet.run).length).toBeGreaterThanOrEqual(2);
  });

  it("type-check with tsc --noEmit", { timeout: 120_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), "tc-orm-snippets-"));
    await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    for (const u of all) await writeFile(join(dir, `${u.name}.ts`), u.source);
    const tsconfig = {
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        lib: ["ES2023"],
        types: ["node"],
        typeRoots: [join(root, "node_modules", "@types")],
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: true,
        esModuleInterop: true,
        noEmit: true,
        paths: { "tinychain-orm": [SRC_INDEX] },
      },
      include: ["*.ts"],
    };
    await writeFile(join(dir, "tsconfig.json"), JSON.stringify(tsconfig));
    const r = await exec(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json", "--pretty", "false"], dir, 110_000);
    // Point each error at the README line it comes from.
    const byName = new Map(all.map((u) => [`${u.name}.ts`, u]));
    const errors = r.out
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => {
        const m = /^([^(]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(l);
        const u = m ? byName.get(m[1]!) : undefined;
        if (!m || !u) return l;
        const line = Number(m[2]) - 1 - u.codeStart;
        return line >= 0 ? `${u.snippet.file}:${u.snippet.line + line} (snippet ${u.snippet.index}): ${m[4]}` : `${u.snippet.file} snippet ${u.snippet.index}, in its prelude/preceding snippet: ${m[4]}`;
      });
    expect(errors).toEqual([]);
    expect(r.code).toBe(0);
  });

  for (const u of all.filter((x) => x.snippet.run)) {
    it(`${u.snippet.file} snippet ${u.snippet.index} (line ${u.snippet.line}) runs`, { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
      const base = dir ?? (dir = await mkdtemp(join(tmpdir(), "tc-orm-snippets-")));
      const cwd = join(base, `run-${u.name}`);
      await mkdir(cwd, { recursive: true });
      await writeFile(join(cwd, "package.json"), JSON.stringify({ type: "module" }));
      const source = u.source.replace(/(from\s+["'])tinychain-orm(["'])/g, `$1${SRC_INDEX}$2`);
      await writeFile(join(cwd, "snippet.ts"), source);
      const r = await exec(process.execPath, ["--import", join(root, "node_modules", "tsx", "dist", "loader.mjs"), "snippet.ts"], cwd, RUN_TIMEOUT_MS);
      expect(r.timedOut, `timed out after ${RUN_TIMEOUT_MS} ms (a handle left open?)\n${r.out}`).toBe(false);
      expect(r.code, r.out).toBe(0);
      expect(await readFile(join(cwd, "snippet.ts"), "utf8")).toContain(SRC_INDEX);
    });
  }
});
