/**
 * Child process of the full-disk test (tests/kernel/disk-full.test.ts), run on a small file
 * system of its own: a ballast file first, then a durable database in argv[2] taking chunks of
 * rows until a commit fails; then a read and a write on it, a close, the ballast removed (room
 * again) and the database opened anew to count its rows. Prints what it saw as one JSON line.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { embedded } from "../../../src/kernel/index.js";

const TABLE = "/state/full/t";
const SCHEMA = [[[["id", "/state/scalar/value/number/uint/64"]], [["s", "/state/scalar/value/string", 300]]], []];
const CHUNK = 1_000;

/** What a call threw: its class name and message. */
function failure(e: unknown): { name: string; message: string } {
  return { name: e instanceof Error ? e.constructor.name : typeof e, message: e instanceof Error ? e.message : String(e) };
}

const [root] = process.argv.slice(2);
if (root !== undefined) {
  const ballast = join(root, "ballast");
  writeFileSync(ballast, Buffer.alloc(1 << 20));
  const dataDir = join(root, "data");
  const ex = embedded({ dataDir });
  await ex.request({ verb: "put", path: TABLE, key: null, body: { "/state/collection/table": [SCHEMA, []] } });
  let acknowledged = 0;
  let failed: { name: string; message: string } | undefined;
  for (let c = 0; c < 10_000 && failed === undefined; c++) {
    const rows = Array.from({ length: CHUNK }, (_, k) => [c * CHUNK + k, "x".repeat(200)]);
    try {
      await ex.request({ verb: "put", path: `${TABLE}/insert_rows`, key: null, body: rows });
      acknowledged += CHUNK;
    } catch (e) {
      failed = failure(e);
    }
  }
  const after: ({ name: string; message: string } | "answered")[] = [];
  for (const call of [
    () => ex.request({ verb: "get", path: `${TABLE}/count`, key: null }),
    () => ex.request({ verb: "put", path: TABLE, key: [1e9], body: ["y"] }),
  ]) {
    try {
      await call();
      after.push("answered");
    } catch (e) {
      after.push(failure(e));
    }
  }
  let closed: string = "closed";
  try {
    await ex.close();
  } catch (e) {
    closed = failure(e).name;
  }
  rmSync(ballast);
  const again = embedded({ dataDir });
  const rowsAfter = await again.request({ verb: "get", path: `${TABLE}/count`, key: null });
  await again.close();
  process.stdout.write(`${JSON.stringify({ acknowledged, failed, after, closed, rowsAfter })}\n`);
}
