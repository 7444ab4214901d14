/**
 * Bad usage: one line on stderr naming the problem and the command's usage, exit code 2. Every
 * command of the CLI reports a wrong flag, a missing argument or a bad value this way.
 */
import { InvalidArgumentError } from "commander";

/** Exit code of bad usage (a wrong flag, value or argument). */
export const USAGE_EXIT = 2;

/** Thrown by a command for bad usage found after parsing (e.g. a flag that needs another). */
export class UsageError extends Error {}

/** Prints `tinychain-orm: <message> (usage: <usage>; see --help)` and exits 2. */
export function usageFail(message: string, usage: string): never {
  process.stderr.write(`tinychain-orm: ${message.replace(/^error: /, "")} (usage: ${usage}; see --help)\n`);
  process.exit(USAGE_EXIT);
}

/** A commander value parser for an integer flag in [min, max]. */
export function intIn(min: number, max: number): (v: string) => number {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`needs an integer in [${min}, ${max}]`);
    return Number(v);
  };
}
