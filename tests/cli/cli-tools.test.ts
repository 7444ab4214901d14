/**
 * The CLI's usage rules (help, --version, exit codes) and its data commands — inspect, import,
 * export — on a data directory and on a served host with a token.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited, killAll, startServe } from "../http/cli-process.js";
import { cli, rowsOf, seed } from "./run.js";

const SCHEMA = join(import.meta.dirname, "social-schema.ts");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tc-orm-cli-tools-"));
});
afterAll(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

describe("usage", () => {
  it("no arguments: the usage on stderr, exit 2; --version; --help describes every command and flag", async () => {
    const [none, version, help, importHelp, bad, unknown, missing] = await Promise.all([
      cli([]),
      cli(["--version"]),
      cli(["--help"]),
      cli(["import", "--help"]),
      cli(["export", "--format", "xml", "users", "--data-dir", dir]),
      cli(["frobnicate"]),
      cli(["import", "users"]),
    ]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/Usage: tinychain-orm/);
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, "..", "..", "package.json"), "utf8")) as { version: string };
    expect(version.code).toBe(0);
    expect(version.out.trim()).toBe(pkg.version);
    expect(help.code).toBe(0);
    for (const c of ["serve", "verify", "inspect", "import", "export", "studio", "migrate"]) expect(help.out).toMatch(new RegExp(`\\n  ${c} .*\\S+ \\S+`));
    expect(importHelp.out).toMatch(/--skip-bad\s+report bad rows/);
    expect(importHelp.out).toMatch(/--data-dir <dir>\s+a data directory/);
    for (const r of [bad, unknown, missing]) {
      expect(r.code).toBe(2);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toMatch(/^tinychain-orm: .*\(usage: tinychain-orm/);
    }
    expect(bad.err).toMatch(/xml/);
    expect(missing.err).toMatch(/missing required argument 'file'/);
  });

  it("a data command needs exactly one of --data-dir and --url", async () => {
    const r = await cli(["inspect"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/exactly one of --data-dir DIR and --url URL/);
  });
});

describe("on a data directory", () => {
  let data: string;
  beforeAll(async () => {
    data = join(dir, "data");
    await seed(data);
  });

  it("inspect lists tables, columns, indexes, row counts; --json, --mermaid and --dot with a schema module", async () => {
    const text = await cli(["inspect", "--data-dir", data]);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/\/state\/social\/users {2}3 row\(s\)/);
    expect(text.out).toMatch(/key +id +u64/);
    expect(text.out).toMatch(/age +u32 nullable/);
    expect(text.out).toContain("index by_city (city)");
    expect(text.out).toMatch(/\/state\/social\/follows {2}2 row\(s\)/);
    const json = await cli(["inspect", "--data-dir", data, "--json", "--schema", SCHEMA]);
    const parsed = JSON.parse(json.out) as { relationsFrom: string; tables: { name: string; rows: number; relations: { name: string; to: string }[] }[] };
    expect(parsed.relationsFrom).toBe("schema module");
    const users = parsed.tables.find((t) => t.name === "users")!;
    expect(users.rows).toBe(3);
    expect(users.relations.map((r) => `${r.name}→${r.to}`).sort()).toEqual(["follows→users"]);
    expect(parsed.tables.find((t) => t.name === "posts")!.relations.map((r) => r.name)).toEqual(["author"]);
    const mermaid = await cli(["inspect", "--data-dir", data, "--mermaid", "--schema", SCHEMA]);
    expect(mermaid.out).toMatch(/^flowchart LR/);
    expect(mermaid.out).toContain('t_posts -- "author / posts" --> t_users');
    const svg = await cli(["inspect", "--data-dir", data, "--svg", "--schema", SCHEMA]);
    expect(svg.code, svg.err).toBe(0);
    expect(svg.out).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>/);
    expect(svg.out.trim().endsWith("</svg>")).toBe(true);
    for (const t of ["follows", "posts", "users"]) expect(svg.out).toContain(`font-weight="bold" fill="#1d2330">${t}</text>`);
    for (const r of ["author", "follows", "follower", "followee"]) expect(svg.out).toMatch(new RegExp(`>${r}</text>`));
    expect(svg.out).toContain("key: id · 3 row(s)");
    expect((await cli(["inspect", "--data-dir", data, "--svg", "--schema", SCHEMA])).out).toBe(svg.out); // deterministic
    const dot = await cli(["inspect", "--data-dir", data, "--dot", "--schema", SCHEMA]);
    expect(dot.out).toMatch(/^digraph "social"/);
    expect(dot.out).toContain('"users" -> "users" [label="follows / followers", style=bold]');
  });

  it("export writes CSV (quoted, null empty) and JSON Lines, to stdout or --out", async () => {
    const csv = await cli(["export", "users", "--data-dir", data]);
    expect(csv.code, csv.err).toBe(0);
    expect(csv.out).toBe('id,name,age,city\n1,ada,36,paris\n2,"bob, ""b""",,rome\n3,cy,20,paris\n');
    const out = join(dir, "users.jsonl");
    const jsonl = await cli(["export", "social/users", "--data-dir", data, "--format", "jsonl", "--out", out, "--page-size", "2"]);
    expect(jsonl.code, jsonl.err).toBe(0);
    expect(jsonl.err).toContain("exported 3 row(s)");
    const lines = (await readFile(out, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([
      { id: 1, name: "ada", age: 36, city: "paris" },
      { id: 2, name: 'bob, "b"', age: null, city: "rome" },
      { id: 3, name: "cy", age: 20, city: "paris" },
    ]);
    const missing = await cli(["export", "nope", "--data-dir", data]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/no table nope .*tables: social\/follows, social\/posts, social\/users/);
  });

  it("import: all or nothing by default, bad rows reported with line numbers; --skip-bad imports the rest", async () => {
    const file = join(dir, "users.csv");
    await writeFile(
      file,
      ["id,name,age,city", "4,dee,41,oslo", "5,eve,not-a-number,oslo", '6,"multi', 'line",,rome', "1,dup-of-existing,1,x", "7,fay,,lima", "7,fay-again,,lima", "8,a-name-that-is-far-too-long-for-the-city-column,3,a-city-name-longer-than-32-characters"].join("\n") + "\n",
    );
    const strict = await cli(["import", "users", file, "--data-dir", data, "--progress"]);
    expect(strict.code).toBe(1);
    expect(strict.err).toMatch(/users\.csv:3: .*column age/);
    expect(strict.err).toMatch(/users\.csv:8: key id = 7 repeats an earlier line/);
    expect(strict.err).toMatch(/users\.csv:9: .*column city/);
    expect(strict.err).toMatch(/nothing was imported/);
    expect(await rowsOf(data, "users")).toHaveLength(3);

    const lenient = await cli(["import", "users", file, "--data-dir", data, "--skip-bad", "--progress", "--batch-size", "2"]);
    expect(lenient.code, lenient.err).toBe(0);
    expect(lenient.err).toMatch(/users\.csv:6: key id = 1 already exists/);
    expect(lenient.err).toMatch(/import users \[.*\] 100% \| 3 rows/);
    expect(lenient.err).toMatch(/imported 3 row\(s\) into social\/users, skipped 4 bad row\(s\)/);
    const taken = join(dir, "taken.csv");
    await writeFile(taken, "id,name,city\n30,new,x\n2,taken,y\n");
    const refused = await cli(["import", "users", taken, "--data-dir", data]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/taken\.csv:3: key id = 2 already exists in users/);
    const rows = (await rowsOf(data, "users")) as { id: number; name: string }[];
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 6, 7]);
    expect(rows.find((r) => r.id === 6)!.name).toBe("multi\nline");
  });

  it("import reads JSON Lines and refuses an unknown header column before writing", async () => {
    const file = join(dir, "posts.jsonl");
    await writeFile(file, '{"id": 11, "author": 2, "lang": "fr"}\n\n{"id": 12, "author": 3, "lang": "de"}\n');
    const ok = await cli(["import", "posts", file, "--data-dir", data]);
    expect(ok.code, ok.err).toBe(0);
    expect((await rowsOf(data, "posts")).length).toBe(3);
    const bad = join(dir, "bad.csv");
    await writeFile(bad, "id,nmae\n9,x\n");
    const r = await cli(["import", "users", bad, "--data-dir", data]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown column\(s\) nmae in the header \(columns of users: id, name, age, city\)/);
  });
});

describe("migrate", () => {
  const v2 = join(import.meta.dirname, "social-v2.ts");
  const changed = join(import.meta.dirname, "social-changed.ts");
  const refused = join(import.meta.dirname, "social-refused.ts");

  it("plans against a schema module; --apply migrates a data directory; refusals change nothing", async () => {
    const data = join(dir, "migrate");
    await seed(data);
    const none = await cli(["migrate", "--data-dir", data]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/migrate needs --schema MODULE/);
    const plan = await cli(["migrate", "--data-dir", data, "--schema", v2]);
    expect(plan.code, plan.err).toBe(0);
    expect(plan.out).toMatch(/ {4}create table \/state\/social\/likes\n/);
    expect(plan.out).toContain("plan: 1 step(s); --apply to run it");
    const bad = await cli(["migrate", "--data-dir", data, "--schema", refused, "--apply"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^tinychain-orm: migrate refused for namespace social; nothing was changed: .*\n {2}posts\.lang: stored string\(8\), declared u32; declare \.transform/);
    const applied = await cli(["migrate", "--data-dir", data, "--schema", changed, "--apply"]);
    expect(applied.code, applied.err).toBe(0);
    expect(applied.out).toContain("posts: widen string(8) → string(16) column lang");
    expect(applied.out).toContain("posts: add column score u32 (default 0)");
    expect(applied.out).toMatch(/applied social: 2 step\(s\), schema [0-9a-f]{16} → [0-9a-f]{16}/);
    const again = await cli(["migrate", "--data-dir", data, "--schema", changed]);
    expect(again.out).toContain("nothing to do");
    const exp = await cli(["export", "posts", "--data-dir", data, "--format", "jsonl"]);
    expect(exp.code, exp.err).toBe(0);
    for (const line of exp.out.trim().split("\n")) expect(JSON.parse(line)).toMatchObject({ score: 0 });
  });

  it("--apply on a served host with a token", async () => {
    const data = join(dir, "migrate-served");
    await seed(data);
    const tokens = join(dir, "migrate-tokens.json");
    await writeFile(tokens, JSON.stringify({ tokens: [{ name: "tool", token: "cli-migrate-token-1", paths: ["/"] }] }));
    const { child, url } = await startServe(["--port", "0", "--quiet", "--data-dir", data, "--token-file", tokens]);
    try {
      const applied = await cli(["migrate", "--url", url, "--token", "cli-migrate-token-1", "--schema", changed, "--apply"]);
      expect(applied.code, applied.err).toBe(0);
      expect(applied.out).toContain(`migrate host ${url} to ${changed}:`);
      expect(applied.out).toContain("applied: 2 step(s)");
      const again = await cli(["migrate", "--url", url, "--schema", changed], { TC_TOKEN: "cli-migrate-token-1" });
      expect(again.out).toContain("nothing to do");
      const older = await cli(["migrate", "--url", url, "--token", "cli-migrate-token-1", "--schema", SCHEMA, "--apply"]);
      expect(older.code).toBe(1);
      expect(older.err).toMatch(/an older declaration: the database was migrated from [0-9a-f]{16} to [0-9a-f]{16}/);
    } finally {
      child.kill("SIGTERM");
      await exited(child);
    }
  });
});

describe("on a host with a token", () => {
  it("inspect, import and export over --url with --token or TC_TOKEN; a wrong token fails with one line", async () => {
    const data = join(dir, "served");
    await seed(data);
    const tokens = join(dir, "tokens.json");
    await writeFile(tokens, JSON.stringify({ tokens: [{ name: "tool", token: "cli-tools-token-1", paths: ["/"] }] }));
    const { child, url } = await startServe(["--port", "0", "--quiet", "--data-dir", data, "--token-file", tokens]);
    try {
      const inspect = await cli(["inspect", "--url", url, "--token", "cli-tools-token-1"]);
      expect(inspect.code, inspect.err).toBe(0);
      expect(inspect.out).toContain(`host ${url}: 3 table(s)`);
      expect(inspect.out).toMatch(/\/state\/social\/users {2}3 row\(s\)/);
      const file = join(dir, "more.jsonl");
      await writeFile(file, '{"id": 20, "name": "zed", "city": "kyiv"}\n');
      const imp = await cli(["import", "users", file, "--url", url], { TC_TOKEN: "cli-tools-token-1" });
      expect(imp.code, imp.err).toBe(0);
      const exp = await cli(["export", "users", "--url", url, "--format", "jsonl"], { TC_TOKEN: "cli-tools-token-1" });
      expect(exp.out.trim().split("\n").at(-1)).toBe('{"id":20,"name":"zed","age":null,"city":"kyiv"}');
      const denied = await cli(["inspect", "--url", url, "--token", "wrong-token-xyz"]);
      expect(denied.code).toBe(1);
      expect(denied.err.trim().split("\n")).toHaveLength(1);
      expect(denied.err).not.toContain("wrong-token-xyz");
    } finally {
      child.kill("SIGTERM");
      await exited(child);
    }
  });
});

describe("GET /host/tables", () => {
  it("lists the tables the grant lets the caller read, sorted; kernel tables never; GET only", async () => {
    const { Kernel } = await import("../../src/index.js");
    const k = await Kernel.open();
    const table = { "/state/collection/table": [[[[["id", "/state/scalar/value/number/uint/32"]], []], []], []] };
    for (const p of ["/state/b/t", "/state/a/t", "/state/a/u"]) await k.request({ verb: "put", path: p, key: null, body: table });
    await k.request({ verb: "put", path: "/lib", key: null, body: { "/lib/x/y/1.0.0": { v: 1 } } });
    const list = (grant?: { paths: string[]; verbs?: ("get" | "put")[] }) => k.request({ verb: "get", path: "/host/tables", key: null }, undefined, grant);
    expect(await list()).toEqual(["/state/a/t", "/state/a/u", "/state/b/t"]);
    expect(await list({ paths: ["/state/a"] })).toEqual(["/state/a/t", "/state/a/u"]);
    expect(await list({ paths: ["/state/b/t"], verbs: ["get"] })).toEqual(["/state/b/t"]);
    expect(await list({ paths: ["/state/b/t"], verbs: ["put"] })).toEqual([]);
    await expect(k.request({ verb: "put", path: "/host/tables", key: null, body: 1 })).rejects.toThrow(/answers GET only/);
    await k.close();
  });
});
