/**
 * A durable store that fails to write: the commit is refused (503) and the database stops taking
 * transactions, rather than acknowledging writes that are not on disk. The failure is simulated
 * by making the lmdb environment's write transactions fail (white-box: there is no public way to
 * make lmdb fail on demand; closing the environment would fail the reads too, which durable
 * tables make in lmdb).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { Database } from "../../src/kernel/state/database.js";
import { tableLiteral } from "../../src/kernel/storage/table-schema.js";

it("a failed durable write rejects the commit and makes the database unavailable", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tc-fail-"));
  try {
    const db = await Database.open({ dataDir: dir });
    const t = await db.begin();
    t.request("put", ["a", "t"], null, tableLiteral([[[["k", "/state/scalar/value/number/uint/8"]], []], []], []));
    await t.commit();
    const store = (db as unknown as { store: { env: { transaction(): Promise<void> } } }).store;
    store.env.transaction = () => Promise.reject(new Error("simulated write failure"));
    const t2 = await db.begin();
    t2.request("put", ["a", "t"], [1], []);
    await expect(t2.commit()).rejects.toMatchObject({ kind: "temporarily_unavailable" });
    await expect(db.begin()).rejects.toMatchObject({ kind: "temporarily_unavailable" });
    expect(db.tryBegin()).toBeUndefined();
    // Closing the failed database releases the directory's lock (a data directory has one opener
    // at a time) without recording a clean close: the next open checks the file the long way.
    await db.close();
    expect(existsSync(join(dir, "state", "clean-close.json"))).toBe(false);
    // What was acknowledged before the failure is still there.
    const reopened = await Database.open({ dataDir: dir });
    const t3 = await reopened.begin();
    expect(t3.request("get", ["a", "t", "count"], null, undefined)).toBe(0);
    t3.rollback();
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
