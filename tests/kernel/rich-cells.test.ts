/**
 * 64-bit integers over their whole range, bytes and floats of any finite magnitude in a durable
 * store: keys and values come back exactly after a reopen (lmdb reads a large integer that a
 * double holds exactly as a number; the table turns it back into a bigint), in key order, and the
 * store's checksums verify.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { Database } from "../../src/kernel/state/database.js";
import { verifyDataDir } from "../../src/kernel/storage/store-verify.js";
import { tableLiteral } from "../../src/kernel/storage/table-schema.js";

const V = "/state/scalar/value/";
const SCHEMA = [
  [[["id", `${V}number/uint/64`]], [["i", `${V}number/int/64`], ["raw", `${V}bytes`], ["f", `${V}number/float/64`], ["g", `${V}number/float/32`]]],
  [["by_raw", ["raw"]], ["by_i", ["i"]]],
];
const T = ["rich", "cells"];
const ROWS: unknown[][] = [
  [0, -(2n ** 63n), new Uint8Array([]), 1e308, 0.1],
  [2 ** 53 - 1, 2n ** 63n - 1n, new Uint8Array([255]), -1e-308, 3.4e38],
  [2n ** 53n + 1n, 0, new Uint8Array([0, 0]), 2 ** 53 + 2, -0],
  [2n ** 63n, 2n ** 53n, new Uint8Array([0]), Number.MAX_VALUE, 1],
  [2n ** 64n - 1n, -(2n ** 53n) - 1n, new Uint8Array([1, 2, 3]), -Number.MAX_VALUE, 2],
];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("rich cells in a durable store", () => {
  it("come back exactly after a reopen, ordered, and the checksums verify", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tc-rich-"));
    dirs.push(dir);
    const db = await Database.open({ dataDir: dir });
    const txn = await db.begin();
    txn.request("put", T, null, tableLiteral(SCHEMA, []));
    txn.request("put", [...T, "insert_rows"], null, ROWS);
    await txn.commit();
    await db.close();

    const again = await Database.open({ dataDir: dir });
    const read = await again.begin();
    const rows = read.request("get", [...T, "rows"], null, undefined) as unknown as unknown[][];
    const want = ROWS.map((r) => [r[0], r[1], r[2], r[3], Math.fround(r[4] as number) === 0 ? 0 : Math.fround(r[4] as number)]);
    expect(rows).toEqual(want);
    expect(typeof rows[3]![0]).toBe("bigint"); // 2^63: read from lmdb as a double, stored as a bigint
    expect(read.request("get", T, [2n ** 64n - 1n], undefined)).toEqual(want[4]);
    const byRaw = read.request("get", [...T, "order"], [["raw"], false], undefined) as unknown as { rows(): unknown[][] };
    expect(byRaw.rows().map((r) => Buffer.from(r[2] as Uint8Array).toString("hex"))).toEqual(["", "00", "0000", "010203", "ff"]);
    const byI = read.request("get", [...T, "order"], [["i"], true], undefined) as unknown as { rows(): unknown[][] };
    expect(byI.rows().map((r) => r[1])).toEqual([2n ** 63n - 1n, 2n ** 53n, 0, -(2n ** 53n) - 1n, -(2n ** 63n)]);
    await read.commit();
    await again.close();
    const report = await verifyDataDir(dir);
    expect(report.problems).toEqual([]);
    expect(report.sound).toBe(true);
  });

  it("hands out bytes that are the reader's own: changing them changes nothing stored", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tc-rich-"));
    dirs.push(dir);
    // A small value and one past an lmdb page (stored in overflow pages, the largest reads).
    const small = Uint8Array.from({ length: 16 }, (_, i) => i);
    const large = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) & 255);
    const db = await Database.open({ dataDir: dir });
    const txn = await db.begin();
    txn.request("put", T, null, tableLiteral([SCHEMA[0], []], []));
    txn.request("put", [...T, "insert_rows"], null, [[1, 0, small, 0, 0], [2, 0, large, 0, 0]]);
    await txn.commit();
    const readRaw = async (d: Database): Promise<Uint8Array[]> => {
      const read = await d.begin();
      const rows = read.request("get", [...T, "rows"], null, undefined) as unknown as unknown[][];
      await read.commit();
      return rows.map((r) => r[2] as Uint8Array);
    };
    for (const got of await readRaw(db)) got.fill(0xee);
    expect(await readRaw(db)).toEqual([small, large]);
    await db.close();
    const again = await Database.open({ dataDir: dir });
    for (const got of await readRaw(again)) got.fill(0xee);
    expect(await readRaw(again)).toEqual([small, large]);
    await again.close();
    const report = await verifyDataDir(dir);
    expect(report.problems).toEqual([]);
  });

  it("orders random 64-bit integers and bytes as the numbers and byte strings they are, in memory and on disk", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tc-rich-"));
    dirs.push(dir);
    const canonical = (n: bigint): number | bigint => (n >= -(2n ** 53n) + 1n && n <= 2n ** 53n - 1n ? Number(n) : n);
    for (const db of [await Database.open({}), await Database.open({ dataDir: dir })]) {
      let round = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.bigInt(0n, 2n ** 64n - 1n), { minLength: 1, maxLength: 30 }),
          fc.array(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), { minLength: 30, maxLength: 30 }),
          fc.array(fc.uint8Array({ maxLength: 4 }), { minLength: 30, maxLength: 30 }),
          async (ids, is, raws) => {
            const path = ["rich", `p${round++}`];
            const rows = ids.map((id, k) => [id, is[k]!, raws[k]!, 0, 0]);
            const txn = await db.begin();
            txn.request("put", path, null, tableLiteral(SCHEMA, []));
            txn.request("put", [...path, "insert_rows"], null, rows);
            await txn.commit();
            const read = await db.begin();
            const all = read.request("get", [...path, "rows"], null, undefined) as unknown as unknown[][];
            expect(all.map((r) => r[0])).toEqual([...ids].sort((a, b) => (a < b ? -1 : 1)).map(canonical));
            const byI = (read.request("get", [...path, "order"], [["i"], false], undefined) as unknown as { rows(): unknown[][] }).rows();
            expect(byI.map((r) => BigInt(r[1] as number | bigint))).toEqual(rows.map((r) => r[1] as bigint).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
            const byRaw = (read.request("get", [...path, "order"], [["raw"], false], undefined) as unknown as { rows(): unknown[][] }).rows();
            expect(byRaw.map((r) => Buffer.from(r[2] as Uint8Array).toString("hex"))).toEqual(
              rows.map((r) => Buffer.from(r[2] as Uint8Array)).sort(Buffer.compare).map((b) => b.toString("hex")),
            );
            await read.commit();
          },
        ),
        { numRuns: 15 },
      );
      await db.close();
    }
  });

  it("refuses an integer beyond ±(2^53−1) given as a plain number, naming the typed form", async () => {
    const db = await Database.open({});
    const txn = await db.begin();
    txn.request("put", T, null, tableLiteral(SCHEMA, []));
    expect(() => txn.request("put", [...T, "insert"], [2 ** 60], [0, new Uint8Array(), 0, 0])).toThrow(/not exact as a JSON number: send it as \{"\/state\/scalar\/value\/number\/int\/64": "<digits>"\}/);
    expect(() => txn.request("put", [...T, "insert"], [-1], [0, new Uint8Array(), 0, 0])).toThrow(/allowed range 0\.\.18446744073709551615/);
    expect(() => txn.request("put", [...T, "insert"], [1], [0, new Uint8Array(), Number.NaN, 0])).toThrow(/expects float\/64/);
    txn.rollback();
    await db.close();
  });
});
