/**
 * Atomicity (issue 3 §5): an op whose last step fails leaves no trace of its earlier writes — in
 * memory, on the durable store, and after reopening the durable store.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/index.js";
import { TcError } from "../../src/errors.js";
import type { Json } from "../../src/ir/types.js";

const SCHEMA: Json = [[[["name", "/state/scalar/value/string", 64]], [["n", "/state/scalar/value/number/int/64"]]], []];
const T = "/state/atom/t";
const AFTER = "/state/scalar/ref/after";

/** Writes a, then b, then fails (`insert` of an existing key → 409) as the last step. */
const FAILING_OP: Json = {
  "/state/scalar/op/post": [
    ["wa", { [T]: [["a"], [1]] }],
    ["wb", { [AFTER]: [{ $wa: [] }, { [T]: [["b"], [2]] }] }],
    ["result", { [AFTER]: [{ $wb: [] }, { [`${T}/insert`]: [["kept"], [0]] }] }],
  ],
};

/** Writes a row, then divides by zero in the last step (a failing built-in). */
const FAILING_BUILTIN: Json = {
  "/state/scalar/op/post": [
    ["w", { [T]: [["c"], [3]] }],
    ["zero", 0],
    ["result", { [AFTER]: [{ $w: [] }, { "$zero/div": { r: 0 } }] }],
  ],
};

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function rows(k: Kernel): Promise<Json> {
  const view = (await k.request({ verb: "get", path: T, key: null })) as Record<string, [Json, Json]>;
  return view["/state/collection/table"]![1];
}

async function expectFailure(p: Promise<unknown>, kind: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(TcError);
  expect((e as TcError).kind).toBe(kind);
}

describe.each([
  { name: "memory", durable: false },
  { name: "durable", durable: true },
])("atomicity on $name", ({ durable }) => {
  it("a failing last step undoes the op's earlier writes", async () => {
    let dataDir: string | undefined;
    if (durable) {
      dataDir = await mkdtemp(join(tmpdir(), "tc-orm-atom-"));
      dirs.push(dataDir);
    }
    const opts = dataDir === undefined ? {} : { dataDir };
    const k = await Kernel.open(opts);
    await k.request({ verb: "put", path: T, key: null, body: { "/state/collection/table": [SCHEMA, [["kept", 0]]] } });
    const rollbacks = k.stats.rollbacks;

    await expectFailure(k.execute(FAILING_OP), "conflict");
    await expectFailure(k.execute(FAILING_BUILTIN), "bad_request");
    expect(k.stats.rollbacks).toBe(rollbacks + 2);
    expect(await rows(k)).toEqual([["kept", 0]]);

    // a later successful op still commits normally
    await k.execute({ "/state/scalar/op/post": [["w", { [T]: [["z"], [9]] }]] });
    expect(await rows(k)).toEqual([["kept", 0], ["z", 9]]);
    await k.close();

    if (dataDir !== undefined) {
      const reopened = await Kernel.open(opts);
      try {
        expect(await rows(reopened)).toEqual([["kept", 0], ["z", 9]]);
      } finally {
        await reopened.close();
      }
    }
  });

  it("an op that fails inside a session leaves no trace, whatever happens to the session", async () => {
    const k = await Kernel.open();
    try {
      await k.request({ verb: "put", path: T, key: null, body: { "/state/collection/table": [SCHEMA, [["kept", 0]]] } });
      const s = await k.beginSession();
      await k.request({ verb: "put", path: T, key: ["s"], body: [1] }, s);
      await expectFailure(k.execute(FAILING_OP, {}, s), "conflict");
      // Either the failed call alone was undone (savepoints) and the session commits its own
      // write, or the whole session was rolled back and ended (the commit then names the cause).
      const ended = await k.commitSession(s).then(
        () => false,
        (e: unknown) => e instanceof TcError && e.kind === "conflict" && e.message.startsWith("session rolled back after: "),
      );
      expect(await rows(k)).toEqual(ended ? [["kept", 0]] : [["kept", 0], ["s", 1]]);
    } finally {
      await k.close();
    }
  });
});
