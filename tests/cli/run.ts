/** Runs the CLI (src/cli.ts under tsx) to completion: exit code, stdout, stderr. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { connect, embedded } from "../../src/index.js";
import { social } from "./social-schema.js";

const CLI = join(import.meta.dirname, "..", "..", "src", "cli.ts");

export interface CliResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

export function cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

/** A durable data directory with the social schema and a few rows. */
export async function seed(dataDir: string): Promise<void> {
  const db = await connect(social, embedded({ dataDir }));
  await db.sync();
  await db.insertInto("users").values([
    { id: 1, name: "ada", age: 36, city: "paris" },
    { id: 2, name: 'bob, "b"', age: null, city: "rome" },
    { id: 3, name: "cy", age: 20, city: "paris" },
  ]).execute();
  await db.insertInto("follows").values([{ follower: 1, followee: 2 }, { follower: 2, followee: 3 }]).execute();
  await db.insertInto("posts").values([{ id: 10, author: 1, lang: "en" }]).execute();
  await db.close();
}

/** Reads a table of a data directory (after the CLI released it). */
export async function rowsOf(dataDir: string, t: "users" | "posts" | "follows"): Promise<unknown[]> {
  const db = await connect(social, embedded({ dataDir }));
  try {
    return await db.selectFrom(t).execute();
  } finally {
    await db.close();
  }
}
