/**
 * Reads a whole lmdb environment in a child process: every key and value of its `meta`,
 * `data`, `counts`, `index` and `info` sub-databases (every one the store opens), raw (no
 * decoding). lmdb trusts its file; a damaged page can make it crash
 * the process natively (SIGSEGV, SIGBUS, abort) or loop. Reading everything in a child first means
 * such damage ends the child, never the caller: a crash, a timeout or an lmdb error becomes a
 * `DataCorruptionError`. Used at open when the data file has no clean-close record, and by
 * `tinychain-orm verify`.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { DataCorruptionError } from "../../errors.js";

/** The child: plain CommonJS, run with `node -e` (argv: lmdb's entry, the environment folder). */
const CHILD_SCRIPT = `
const { open } = require(process.argv[1]);
const env = open({ path: process.argv[2], readOnly: true, maxDbs: 8, compression: false });
let entries = 0;
for (const name of ["meta", "data", "counts", "index", "info", "rows", "entries", "ixlog"]) {
  let db;
  try {
    db = env.openDB({ name, encoding: "binary", keyEncoding: "binary", create: false });
  } catch (e) {
    if (/MDB_NOTFOUND|not found/i.test(String(e && e.message))) continue;
    throw e;
  }
  if (!db) continue; // absent (a store written before it existed)
  for (const { key, value } of db.getRange()) entries += key.length >= 0 && value.length >= 0 ? 1 : 0;
}
process.stdout.write("entries " + entries + "\\n");
`;

/** How long the child may take (a damaged tree can make lmdb loop). */
const CHILD_TIMEOUT_MS = 10 * 60_000;

let lmdbEntry: string | undefined;

/**
 * Reads the lmdb environment in `envDir` through in a child process; resolves with the number of
 * entries read, or rejects with `DataCorruptionError` naming `dataDir`.
 *
 * @example
 * ```ts
 * await verifyLmdbInChild("./data", "./data/state"); // 1234
 * ```
 */
export function verifyLmdbInChild(dataDir: string, envDir: string): Promise<number> {
  lmdbEntry ??= createRequire(import.meta.url).resolve("lmdb");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", CHILD_SCRIPT, lmdbEntry!, envDir], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_OPTIONS: "" },
      timeout: CHILD_TIMEOUT_MS,
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (err = (err + c).slice(-4000)));
    child.on("error", (e) => reject(new DataCorruptionError(dataDir, "state/data.mdb", `could not be checked: ${e.message}`)));
    child.on("close", (code, signal) => {
      const m = /^entries (\d+)$/m.exec(out);
      if (code === 0 && m) return resolve(Number(m[1]));
      const why = signal
        ? `reading it crashed lmdb (signal ${signal})`
        : `lmdb cannot read it (exit ${code}${lastErrorLine(err)})`;
      reject(new DataCorruptionError(dataDir, "state/data.mdb", why));
    });
  });
}

/** The most telling line of a child's stderr (its error message), if any. */
function lastErrorLine(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const msg = lines.find((l) => /Error|MDB_|corrupt/i.test(l)) ?? lines[lines.length - 1];
  return msg ? `: ${msg.slice(0, 300)}` : "";
}
