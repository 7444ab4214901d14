/**
 * A kernel handed to `serve({ kernel })` runs under the same served op budget as one the server
 * opens itself (50 ms of wall clock per op, event-loop turns), unless it was opened with its own
 * `limits.maxMillis`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { http, serve, type ServerHandle } from "../../src/http/index.js";
import { BudgetExceededError, Kernel } from "../../src/kernel/index.js";
import type { Json } from "../../src/ir/types.js";
import { ATTACKS } from "../kernel/support/budget-attacks.js";

const servers: ServerHandle[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function limitHit(kernel: Kernel): Promise<{ limit: string; ms: number }> {
  const srv = await serve({ kernel, port: 0, closeKernel: true });
  servers.push(srv);
  const started = performance.now();
  const e = await http(srv.url).execute(ATTACKS.longWhile as Json).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toMatchObject({ kind: "bad_request" });
  const limit = /\((\w+) = /.exec((e as Error).message)?.[1] ?? "";
  return { limit, ms: performance.now() - started };
}

describe("serve({ kernel })", () => {
  it("puts a given kernel under the served op budget", async () => {
    const kernel = await Kernel.open();
    const { limit, ms } = await limitHit(kernel);
    expect(limit).toBe("maxMillis");
    expect(ms).toBeLessThan(2_000);
    // The budget holds for the kernel's embedded callers too.
    const e = await kernel.execute(ATTACKS.longWhile as Json).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(BudgetExceededError);
    expect((e as BudgetExceededError).limit).toBe("maxMillis");
    expect((e as Error).message).toContain("maxMillis = 50");
  });

  it("keeps a kernel's own maxMillis", async () => {
    const kernel = await Kernel.open({ limits: { maxMillis: 20_000, maxWhileIterations: 1_000 } });
    const { limit } = await limitHit(kernel);
    expect(limit).toBe("maxWhileIterations");
  });
});
