/**
 * The shared op fixtures (`../shared/fixtures/opdef-results.json`, loaded as is): every case runs
 * in a fresh kernel on every executor and must return the expected value or fail with the
 * expected error kind.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { TcError } from "../../src/errors.js";
import type { Json } from "../../src/ir/types.js";
import { WITH_CLUSTER } from "../support/executors.js";

interface Case {
  name: string;
  op: Json;
  params: Record<string, Json>;
  expect?: Json;
  error?: string;
}

// The shared fixtures sit beside the repository (../shared), in CI as on this machine.
const FIXTURES = new URL("../../../shared/fixtures/opdef-results.json", import.meta.url);
const fixtures = JSON.parse(readFileSync(FIXTURES, "utf8")) as { cases: Case[] };

describe.each(WITH_CLUSTER)("opdef-results.json on $name", (factory) => {
  afterAll(async () => {
    await factory.cleanup?.();
  });

  it("has cases", () => {
    expect(fixtures.cases.length).toBeGreaterThan(0);
  });

  it.each(fixtures.cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const executor = await factory.create();
    try {
      if (c.error !== undefined) {
        const failure = await executor.execute(c.op, c.params).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        expect(failure).toHaveProperty("error");
        const error = (failure as { error: unknown }).error;
        expect(error).toBeInstanceOf(TcError);
        expect((error as TcError).kind).toBe(c.error);
      } else {
        expect(await executor.execute(c.op, c.params)).toEqual(c.expect);
      }
    } finally {
      await executor.close();
    }
  });
});
