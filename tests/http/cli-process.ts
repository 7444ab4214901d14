/**
 * Runs the `tinychain-orm` CLI (src/cli.ts) in a child process for the CLI tests: one node process
 * with tsx's loader (not the tsx wrapper), so a signal sent to it reaches the server itself.
 * `url` resolves with the address `serve` prints, and rejects if the process exits first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

const CLI = join(process.cwd(), "src", "cli.ts");
const running: ChildProcess[] = [];
/** Each process's exit code, once its output streams are closed too (so `stderr()` is complete). */
const closed = new WeakMap<ChildProcess, Promise<number | null>>();

/** A CLI process: its URL once `serve` listens, and what it wrote to stderr so far. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly url: Promise<string>;
  stderr(): string;
}

/**
 * Starts `tinychain-orm <args>`.
 *
 * @example
 * ```ts
 * const { child, url } = runCli(["serve", "--port", "0"]);
 * await fetch(`${await url}/healthz`);
 * child.kill("SIGTERM");
 * ```
 */
export function runCli(args: readonly string[]): CliProcess {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  running.push(child);
  closed.set(child, new Promise((resolve) => child.once("close", (code) => resolve(code))));
  let out = "";
  let err = "";
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed; stderr: ${err}`)), 30_000);
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${err}`));
    });
  });
  url.catch(() => undefined); // a run that is meant to fail never prints one
  return { child, url, stderr: () => err };
}

/** Starts `serve` with `args` and waits until it listens. */
export async function startServe(args: readonly string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const p = runCli(["serve", ...args]);
  return { child: p.child, url: await p.url, stderr: p.stderr };
}

/** Resolves with the exit code of a process `runCli` started, once its output is all read. */
export const exited = (c: ChildProcess): Promise<number | null> => closed.get(c) ?? Promise.reject(new Error("not a process runCli started"));

/** Kills every CLI process still running (for `afterAll`). */
export function killAll(): void {
  for (const c of running.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}
