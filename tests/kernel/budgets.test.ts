/**
 * No request can kill the host (PROFILE §2, limits): every attack of
 * tests/kernel/support/budget-attacks.ts — string doubling to V8's limit and to out-of-memory,
 * tuple doubling, many large tuples, a value sharing its parts (2^40 nodes once encoded, or
 * compared), deep nesting, an endless `while` — answers a typed 4xx on every executor, writes
 * nothing, and the kernel answers normally afterwards.
 */
import { afterAll, describe, expect, it } from "vitest";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";
import { TcError } from "../../src/errors.js";
import type { Executor } from "../../src/executor.js";
import type { Json } from "../../src/ir/types.js";
import { ATTACKS, id, post } from "./support/budget-attacks.js";

const SCHEMA: Json = [[[["k", "/state/scalar/value/number/uint/32"]], [["v", "/state/scalar/value/string", 16]]], []];

/** The error `promise` fails with; fails the test when it succeeds. */
async function failure(promise: Promise<unknown>): Promise<TcError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(TcError);
    return e as TcError;
  }
  throw new Error("expected the op to fail");
}

describe.each(WITH_CLUSTER)("budgets ($name)", (factory) => {
  const create = executorsFor(factory, afterAll);

  async function withTable(ex: Executor): Promise<string> {
    await ex.request({ verb: "put", path: "/state/budget/t", key: null, body: { "/state/collection/table": [SCHEMA, []] } });
    return "/state/budget/t";
  }

  for (const [name, attack] of Object.entries(ATTACKS)) {
    it(`${name}: a typed 4xx, nothing written, and the kernel answers normally afterwards`, async () => {
      const ex = await create();
      const t = await withTable(ex);
      // The attack runs after a write in the same op: the write must be rolled back.
      const steps = (attack as { "/state/scalar/op/post": [string, Json][] })["/state/scalar/op/post"];
      const op = post(["w", { [t]: [[7], ["written"]] }], ...steps.slice(0, -1), [steps.at(-1)![0], { "/state/scalar/ref/after": [id("w"), steps.at(-1)![1]] }]);
      const e = await failure(ex.execute(op));
      expect(e.status, e.message).toBeGreaterThanOrEqual(400);
      expect(e.status, e.message).toBeLessThan(500);
      expect(e.message).toMatch(/limit|nests too deeply/);
      expect(await ex.request({ verb: "get", path: `${t}/count`, key: null })).toBe(0);
      expect(await ex.execute(post(["r", { "$x/add": { r: 1 } }]), { x: 41 })).toBe(42);
      await ex.request({ verb: "put", path: t, key: [1], body: ["after"] });
      expect(await ex.request({ verb: "get", path: t, key: [1] })).toEqual([1, "after"]);
    }, 60_000);
  }
});
