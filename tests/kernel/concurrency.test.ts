/**
 * Concurrency (issue 3 §5): 200+ concurrent sessions each increment one counter row (read, add,
 * write, commit). Transactions are serializable (one FIFO lock), so no update is lost; a 409 would
 * be retried and counted. A 408 (a session that outlived its budget on a badly overloaded machine)
 * was rolled back as a whole, so it is retried too, and counted apart.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Executor, Session } from "../../src/executor.js";
import { TcError } from "../../src/errors.js";
import type { Json } from "../../src/ir/types.js";
import { WITH_CLUSTER } from "../support/executors.js";

const SCHEMA: Json = [[[["name", "/state/scalar/value/string", 16]], [["n", "/state/scalar/value/number/int/64"]]], []];
const T = "/state/conc/counter";
const SESSIONS = 200;

/** The increment as one op: read the row, add one, write it back. */
const INCREMENT: Json = {
  "/state/scalar/op/post": [
    ["row", { [T]: [["c"]] }],
    ["n", { "$row/get": { i: 1 } }],
    ["next", { "$n/add": { r: 1 } }],
    ["result", { [T]: [["c"], [{ $next: [] }]] }],
  ],
};

interface Retries {
  conflicts: number;
  timeouts: number;
}

async function incrementOnce(ex: Executor, viaOp: boolean, retries: Retries): Promise<void> {
  for (;;) {
    let s: Session | undefined;
    try {
      s = await ex.session();
      if (viaOp) {
        await s.execute(INCREMENT);
      } else {
        const row = (await s.request({ verb: "get", path: T, key: ["c"] })) as [string, number];
        await s.request({ verb: "put", path: T, key: ["c"], body: [row[1] + 1] });
      }
      await s.commit();
      return;
    } catch (e) {
      if (e instanceof TcError && e.kind === "conflict") {
        retries.conflicts++;
        continue;
      }
      if (e instanceof TcError && e.kind === "request_timeout") {
        retries.timeouts++;
        continue;
      }
      throw e;
    }
  }
}

describe.each(WITH_CLUSTER)("concurrent sessions on $name", (factory) => {
  afterAll(async () => {
    await factory.cleanup?.();
  });

  // Every session holds the lock for a few round trips; over HTTP on a loaded machine that adds up.
  it(`${SESSIONS} concurrent sessions increment one counter exactly`, { timeout: 180_000 }, async () => {
    const ex = await factory.create();
    try {
      await ex.request({ verb: "put", path: T, key: null, body: { "/state/collection/table": [SCHEMA, [["c", 0]]] } });
      const retries: Retries = { conflicts: 0, timeouts: 0 };
      await Promise.all(Array.from({ length: SESSIONS }, (_, i) => incrementOnce(ex, i % 2 === 0, retries)));
      expect(await ex.request({ verb: "get", path: T, key: ["c"] })).toEqual(["c", SESSIONS]);
      // Serializable: sessions queue on the transaction lock, so nothing conflicts.
      expect(retries.conflicts).toBe(0);
      if (retries.timeouts > 0) console.warn(`${factory.name}: ${retries.timeouts} sessions timed out and were retried`);
    } finally {
      await ex.close();
    }
  });

  it("concurrent sessions that commit or roll back: only the committed increments remain", { timeout: 180_000 }, async () => {
    const ex = await factory.create();
    try {
      await ex.request({ verb: "put", path: T, key: null, body: { "/state/collection/table": [SCHEMA, [["c", 0]]] } });
      // a fixed pseudo-random pattern of commits and rollbacks
      const commits = Array.from({ length: 60 }, (_, i) => ((i * 37) % 11) % 3 !== 0);
      await Promise.all(
        commits.map(async (commit) => {
          const s = await ex.session();
          await s.execute(INCREMENT);
          await s.execute(INCREMENT);
          if (commit) await s.commit();
          else await s.rollback();
        }),
      );
      const expected = 2 * commits.filter(Boolean).length;
      expect(await ex.request({ verb: "get", path: T, key: ["c"] })).toEqual(["c", expected]);
    } finally {
      await ex.close();
    }
  });

  it("plain executes interleaved with sessions are never lost either", { timeout: 180_000 }, async () => {
    const ex = await factory.create();
    try {
      await ex.request({ verb: "put", path: T, key: null, body: { "/state/collection/table": [SCHEMA, [["c", 0]]] } });
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          i % 3 === 0 ? ex.execute(INCREMENT) : incrementOnce(ex, i % 2 === 0, { conflicts: 0, timeouts: 0 }),
        ),
      );
      expect(await ex.request({ verb: "get", path: T, key: ["c"] })).toEqual(["c", 100]);
    } finally {
      await ex.close();
    }
  });
});
