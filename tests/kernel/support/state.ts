/**
 * Helpers for the state-layer tests: open a memory or durable `Database`, run a function in one
 * committed transaction, reopen a durable directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database, type StateTxn } from "../../../src/kernel/state/database.js";

export interface StoreKind {
  readonly name: string;
  readonly durable: boolean;
}

export const STORE_KINDS: readonly StoreKind[] = [
  { name: "memory", durable: false },
  { name: "durable", durable: true },
];

/** A database under test; `reopen()` closes and reopens the same directory (durable only). */
export class TestDb {
  private constructor(
    public db: Database,
    readonly dir: string | undefined,
  ) {}

  static async open(kind: StoreKind): Promise<TestDb> {
    const dir = kind.durable ? mkdtempSync(join(tmpdir(), "tc-state-")) : undefined;
    return new TestDb(await Database.open(dir ? { dataDir: dir } : {}), dir);
  }

  /** Runs `fn` in one transaction and commits it (rolls back and rethrows on error). */
  async run<T>(fn: (txn: StateTxn) => T): Promise<T> {
    const txn = await this.db.begin();
    let out: T;
    try {
      out = fn(txn);
    } catch (e) {
      txn.rollback();
      throw e;
    }
    await txn.commit();
    return out;
  }

  async reopen(): Promise<void> {
    if (!this.dir) return;
    await this.db.close();
    this.db = await Database.open({ dataDir: this.dir });
  }

  async cleanup(): Promise<void> {
    await this.db.close();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
