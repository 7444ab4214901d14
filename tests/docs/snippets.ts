/**
 * Extracts the ```ts snippets of the project's READMEs for tests/docs/readme-snippets.test.ts.
 *
 * A snippet may be preceded (blank lines aside) by an HTML comment giving directives, invisible
 * when the README is rendered:
 *
 *   <!-- snippet: run -->                 type-checked, then run with tsx against the embedded kernel
 *   <!-- snippet: continues -->           the previous snippet of the same README comes first
 *   <!-- snippet: prelude=social -->      a named prelude (PRELUDES in the test) comes first
 *
 * Directives combine (`<!-- snippet: run continues -->`). Without one, a snippet is type-checked
 * on its own. A README the project cannot annotate (bench/ belongs to the benchmarks) gets its
 * directives from OVERRIDES in the test, keyed `path#index`.
 */
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export interface Snippet {
  /** README path relative to the repository root. */
  readonly file: string;
  /** 1-based index of the snippet within its README. */
  readonly index: number;
  /** 1-based line of the snippet's first code line in the README. */
  readonly line: number;
  readonly code: string;
  readonly run: boolean;
  readonly continues: boolean;
  readonly prelude: string | undefined;
  /** The snippet is declarations only (signatures without bodies): checked as a `.d.ts`. */
  readonly declarations: boolean;
}

/** The READMEs whose snippets are checked: the root one, every folder README of src/, bench/. */
export function readmeFiles(root: string): string[] {
  const out = ["README.md"];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name === "README.md") out.push(relative(root, path));
    }
  };
  walk(join(root, "src"));
  out.push("bench/README.md");
  return out.filter((f) => {
    try {
      return statSync(join(root, f)).isFile();
    } catch {
      return false;
    }
  });
}

/** Every ```ts fence of `text` with its directives. */
export function extractSnippets(file: string, text: string, overrides: Readonly<Record<string, string>> = {}): Snippet[] {
  const lines = text.split("\n");
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    let j = i - 1;
    while (j >= 0 && lines[j]!.trim() === "") j--;
    const marker = j >= 0 ? /^<!--\s*snippet:(.*?)-->\s*$/.exec(lines[j]!.trim()) : null;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    const index = out.length + 1;
    const directives = (overrides[`${file}#${index}`] ?? marker?.[1] ?? "").trim().split(/\s+/).filter(Boolean);
    const prelude = directives.find((d) => d.startsWith("prelude="))?.slice("prelude=".length);
    out.push({
      file,
      index,
      line: start + 1,
      code: lines.slice(start, end).join("\n"),
      run: directives.includes("run"),
      continues: directives.includes("continues"),
      prelude,
      declarations: directives.includes("declarations"),
    });
    i = end;
  }
  return out;
}
