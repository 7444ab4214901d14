/**
 * Concurrency (issue 3 §5): 200+ concurrent sessions each increment one counter row (read, add,
 * write, commit). Transactions are serializable (one FIFO lock), so no update is lost; a 409 would
 * be retried and counted.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Executor, Session } from "../../src/client/executor.js";
import { TcError } from "../../src/errors.js";
import type { Json } from "../../src/ir/types.js";
import { EXECUTORS } from "../support/executors.js";

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

async function incrementOnce(ex: Executor, viaOp: boolean): Promise<number> {
  let retries = 0;
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
      return retries;
    } catch (e) {
      if (e instanceof TcError && e.kind === "conflict") {
        retries++;
        continue;
      }
      throw e;
    }
  }
}

describe.each(EXECUTORS)("concurrent sessions on $name", (factory) => {
  afterAll(async () => {
    await factory.cleanup?.();
  });

  it(`${SESSIONS} concurrent sessions increment one counter exactly`, async () => {
    const ex = await factory.create();
    try {
      await ex.request({ verb: "put", path: T, key: null, body: { "/state/collection/table": [SCHEMA, [["c", 0]]] } });
      const retries = await Promise.all(
        Array.from({ length: SESSIONS }, (_, i) => incrementOnce(ex, i % 2 === 0)),
      );
      const totalRetries = retries.reduce((a, b) => a + b, 0);
      expect(await ex.request({ verb: "get", path: T, key: ["c"] })).toEqual(["c", SESSIONS]);
      // Serializable: sessions queue on the transaction lock, so nothing conflicts.
      expect(totalRetries).toBe(0);
    } finally {
      await ex.close();
    }
  });

  it("plain executes interleaved with sessions are never lost either", async () => {
    const ex = await factory.create();
    try {
      await ex.request({ verb: "put", path: T, key: null, body: { "/state/collection/table": [SCHEMA, [["c", 0]]] } });
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? ex.execute(INCREMENT) : incrementOnce(ex, i % 2 === 0))),
      );
      expect(await ex.request({ verb: "get", path: T, key: ["c"] })).toEqual(["c", 100]);
    } finally {
      await ex.close();
    }
  });
});
