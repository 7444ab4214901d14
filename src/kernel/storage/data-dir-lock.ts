/**
 * The exclusive lock of a data directory: the file `<dataDir>/tinychain.lock`, created atomically
 * (`open(..., "wx")`) and holding the holder's pid. A second opener — in this process or another —
 * gets `DataDirLockedError` naming the holder. A lock whose pid is not alive (the holder was
 * killed) is stale and taken over. The lock is released on close and when the process exits.
 * It is advisory and host-local: it binds every tinychain-orm kernel on this host, not other
 * programs, and a pid is only meaningful on the host (and pid namespace) that wrote it.
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { DataDirLockedError, DataDirPathError } from "../../errors.js";

/** The lock file's name inside a data directory. */
export const LOCK_FILE = "tinychain.lock";

/** Locks held by this process, by absolute lock file path. */
const held = new Set<string>();
let exitHookInstalled = false;

function releaseAllOnExit(): void {
  for (const path of held) removeIfOurs(path);
  held.clear();
}

function removeIfOurs(path: string): void {
  try {
    if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
  } catch {
    // gone already, or unreadable: nothing of ours to remove
  }
}

/** True when a process with this pid exists (EPERM: it exists, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A lock file being created has no pid yet for a moment; older than this, it is stale. */
const EMPTY_LOCK_GRACE_MS = 10_000;

/**
 * An acquired data-directory lock.
 *
 * @example
 * ```ts
 * const lock = DataDirLock.acquire("./data"); // throws DataDirLockedError when held
 * lock.release();
 * ```
 */
export class DataDirLock {
  private released = false;
  private constructor(
    readonly dataDir: string,
    private readonly path: string,
  ) {}

  /** Takes the lock of `dataDir` (an existing directory), or throws `DataDirLockedError`. */
  static acquire(dataDir: string): DataDirLock {
    const path = resolve(join(dataDir, LOCK_FILE));
    for (let attempt = 0; attempt < 5; attempt++) {
      let fd: number;
      try {
        fd = openSync(path, "wx", 0o644);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "EEXIST") throw new DataDirPathError(dataDir, `cannot create its lock file ${path} (${code ?? String(e)})`);
        DataDirLock.checkHolder(dataDir, path);
        continue; // stale lock removed: try again
      }
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      held.add(path);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.on("exit", releaseAllOnExit);
      }
      return new DataDirLock(dataDir, path);
    }
    throw new DataDirLockedError(dataDir, -1, " (its lock file keeps changing)");
  }

  /** Throws when the lock at `path` is held by a live kernel; removes it when it is stale. */
  private static checkHolder(dataDir: string, path: string): void {
    let text: string;
    try {
      text = readFileSync(path, "utf8").trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // released meanwhile
      throw new DataDirPathError(dataDir, `cannot read its lock file ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    const pid = /^\d+$/.test(text) ? Number(text) : NaN;
    if (Number.isNaN(pid)) {
      let age = Infinity;
      try {
        age = Date.now() - statSync(path).mtimeMs;
      } catch {
        return;
      }
      if (text === "" && age < EMPTY_LOCK_GRACE_MS) throw new DataDirLockedError(dataDir, -1, " (another kernel is opening it)");
    } else if (pid === process.pid ? held.has(path) : alive(pid)) {
      throw new DataDirLockedError(dataDir, pid, pid === process.pid ? " (this process: another kernel has it open)" : "");
    }
    // Stale: its holder is gone. Remove it; the caller retries the atomic create.
    try {
      unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new DataDirPathError(dataDir, `cannot remove the stale lock file ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
    }
  }

  /** Releases the lock (removes the lock file if it still holds this process's pid). */
  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this.path);
    removeIfOurs(this.path);
  }
}
