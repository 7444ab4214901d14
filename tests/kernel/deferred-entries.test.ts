/**
 * Index changes deferred out of lmdb's `entries` (storage/deferred-entries.ts): log records carry
 * every kind of index cell exactly; a process killed with records on disk reopens to every
 * committed index entry (the records replayed) and verifies sound; the records stay few while
 * compactions run, a clean close leaves none, and a damaged record is refused at open.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { open } from "lmdb";
import { afterAll, describe, expect, it } from "vitest";
import { Database } from "../../src/kernel/state/database.js";
import type { TableView } from "../../src/kernel/state/table-view.js";
import { decodeIxLog, encodeIxLog } from "../../src/kernel/storage/deferred-entries.js";
import { type KeyCell, compareTuples } from "../../src/kernel/storage/index-keys.js";
import { ENTRY_KEYS, withTrailingNulls } from "../../src/kernel/storage/store-keys.js";
import { verifyDataDir } from "../../src/kernel/storage/store-verify.js";
import { TOMBSTONE, WriteLayer } from "../../src/kernel/storage/write-overlay.js";
import { D_TABLE } from "./support/deferred-shared.js";

const CHILD = join(import.meta.dirname, "support", "deferred-child.ts");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs the child on a new directory; `crash`: killed with SIGKILL once ready. Returns the rows it printed. */
function runChild(mode: "crash" | "close", alter?: "add" | "rebuild"): Promise<{ dir: string; rows: unknown[] }> {
  const dir = mkdtempSync(join(tmpdir(), "tc-deferred-"));
  dirs.push(dir);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, mode, ...(alter ? [alter] : [])], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
      if (out.endsWith("ready\n")) child.kill("SIGKILL");
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      const expected = mode === "crash" ? signal === "SIGKILL" : code === 0;
      if (!expected) reject(new Error(`child ended with ${code ?? signal}: ${err}`));
      else resolve({ dir, rows: JSON.parse(out.split("\n")[0]!) as unknown[] });
    });
  });
}

/** The index log records in a data directory (nothing has it open). */
function logRecords(dir: string, write?: (db: ReturnType<ReturnType<typeof open>["openDB"]>, first: unknown) => void): number {
  const env = open({ path: join(dir, "state"), compression: false, maxDbs: 8 });
  try {
    const db = env.openDB({ name: "ixlog", encoding: "binary", keyEncoder: ENTRY_KEYS } as { name: string });
    // (an explicit range: the default bounds do not pass through the custom key encoder)
    const all = { start: [0], end: [2 ** 32 - 1] };
    write?.(db, [...db.getKeys(all)][0]);
    return [...db.getKeys(all)].length;
  } finally {
    void env.close();
  }
}

async function orderedRows(dir: string): Promise<unknown[]> {
  const db = await Database.open({ dataDir: dir });
  try {
    const txn = await db.begin();
    const rows = (txn.request("get", [...D_TABLE, "order"], [["w"], false], undefined) as TableView).rows();
    txn.rollback();
    return rows;
  } finally {
    await db.close();
  }
}

const cellArb: fc.Arbitrary<KeyCell> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
);

/** An index key: one to four cells of any kind, trailing nulls too. */
const keyArb = fc.array(cellArb, { minLength: 1, maxLength: 4 });

describe("index log records", () => {
  it("carry each change (index, cells, present or removed) exactly (trailing nulls restored by the index's width)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), keyArb, fc.boolean()), { maxLength: 40 }), (changes) => {
        const layer = new WriteLayer(compareTuples as never, 4);
        for (const [ordinal, cells, present] of changes) layer.ix[ordinal]!.set(cells, present ? true : TOMBSTONE);
        const want: [number, readonly KeyCell[], boolean][] = [];
        layer.ix.forEach((tree, ordinal) => tree.forEachPair((k, v) => void want.push([ordinal, k as readonly KeyCell[], v === true])));
        const record = encodeIxLog(77, layer.ix);
        if (want.length === 0) {
          expect(record).toBeUndefined();
          return;
        }
        const got: [number, KeyCell[], boolean][] = [];
        decodeIxLog(record!, (tid, ordinal, cells, present) => {
          expect(tid).toBe(77);
          got.push([ordinal, cells, present]);
        });
        expect(got.length).toBe(want.length);
        got.forEach(([ordinal, cells, present], i) => {
          expect([ordinal, present]).toEqual([want[i]![0], want[i]![2]]);
          // ordered-binary reads a key ending in nulls back short of some: the replay pads by width
          expect(compareTuples(withTrailingNulls(cells, want[i]![1].length), want[i]![1])).toBe(0);
        });
      }),
      { numRuns: 300 },
    );
  });

  it("are refused when cut short or not changes", () => {
    const layer = new WriteLayer(compareTuples as never, 1);
    layer.ix[0]!.set(["abc", 5], true);
    const record = encodeIxLog(3, layer.ix)!;
    expect(() => decodeIxLog(record.subarray(0, record.length - 2), () => undefined)).toThrow(/not a change|cut short|stored key/);
    expect(() => decodeIxLog(Buffer.from([7, 0, 1, 1]), () => undefined)).toThrow(/not a change/);
  });
});

describe("deferred index changes across a kill -9", () => {
  it("are replayed at open: every committed entry is found through the index, and verify agrees", async () => {
    const { dir, rows } = await runChild("crash");
    const records = logRecords(dir);
    // some changes were deferred when the process died, and compactions kept the records few
    expect(records).toBeGreaterThan(0);
    expect(records).toBeLessThanOrEqual(16);
    expect(await orderedRows(dir)).toEqual(rows);
    expect((await verifyDataDir(dir)).problems).toEqual([]);
    // the clean close of that reopen wrote them into the index
    expect(logRecords(dir)).toBe(0);
    expect(await orderedRows(dir)).toEqual(rows);
  }, 60_000);

  it.each(["add", "rebuild"] as const)("across a schema change (%s an index) they stay right: replayed, every index verifies sound", async (alter) => {
    const { dir, rows } = await runChild("crash", alter);
    expect(logRecords(dir)).toBeGreaterThan(0);
    expect((await verifyDataDir(dir)).problems).toEqual([]);
    expect(await orderedRows(dir)).toEqual(rows);
  }, 60_000);

  it("a clean close leaves no record and the same rows", async () => {
    const { dir, rows } = await runChild("close");
    expect(logRecords(dir)).toBe(0);
    expect(await orderedRows(dir)).toEqual(rows);
  }, 60_000);

  it("a damaged record is refused at open, naming the table and the record", async () => {
    const { dir } = await runChild("crash");
    logRecords(dir, (db, first) => db.putSync(first as never, Buffer.from([1, 0, 200, 1, 2]) as never));
    await expect(Database.open({ dataDir: dir })).rejects.toMatchObject({
      name: "DataCorruptionError",
      message: expect.stringMatching(/table \/state\/d\/t, index log record \d+/),
    });
  }, 60_000);
});
