/**
 * A full disk under a durable database: the commit that finds no room fails with a typed error
 * naming lmdb's reason, the database then refuses every call (UnavailableError) instead of going
 * on from a state the disk does not hold, the process lives and closes cleanly, and once there is
 * room again a reopened database holds exactly the acknowledged rows. The child runs in a mount
 * namespace of its own on a 6 MiB tmpfs (`unshare -m`); where this machine cannot make one, the
 * test is skipped.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const CHILD = join(import.meta.dirname, "support", "disk-full-child.ts");
const MOUNT_THEN_RUN = 'mount -t tmpfs -o size=6m tmpfs "$0" && exec "$1" --import tsx "$2" "$0"';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** True when this process may make a mount namespace and mount a tmpfs in it. */
function canMount(): boolean {
  const r = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", 'd=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs "$d"'], { stdio: "ignore" });
  return r.status === 0;
}

describe("a full disk", () => {
  it.skipIf(!canMount())("fails the commit with a typed error, stops the database, keeps the process and every acknowledged row", async () => {
    const root = await mkdtemp(join(tmpdir(), "tc-full-"));
    dirs.push(root);
    const child = spawn("unshare", ["-m", "--propagation", "private", "sh", "-c", MOUNT_THEN_RUN, root, process.execPath, CHILD], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("close", (c, s) => resolve([c, s])));
    expect({ code, signal, err: code === 0 ? "" : err }).toEqual({ code: 0, signal: null, err: "" });
    const seen = JSON.parse(out.trim().split("\n").pop()!) as {
      acknowledged: number;
      failed?: { name: string; message: string };
      after: ({ name: string; message: string } | "answered")[];
      closed: string;
      rowsAfter: number;
    };
    expect(seen.acknowledged).toBeGreaterThan(0);
    expect(seen.failed?.name).toBe("UnavailableError");
    // lmdb's own reason for the failed commit, not only "Commit failed".
    expect(seen.failed?.message).toMatch(/Commit failed.*: \S/);
    expect(seen.after.map((a) => (a === "answered" ? a : a.name))).toEqual(["UnavailableError", "UnavailableError"]);
    expect(seen.closed).toBe("closed");
    expect(seen.rowsAfter).toBe(seen.acknowledged);
  }, 60_000);
});
