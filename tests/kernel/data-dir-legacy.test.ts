/**
 * A data directory written before checksums and row counts existed (catalog entries without
 * `sum`, values without a checksum cell, no `counts` sub-database, no lock or clean-close files)
 * still opens with its data, accepts writes, and reopens.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { open } from "lmdb";
import { afterAll, expect, it } from "vitest";
import { embedded } from "../../src/kernel/index.js";

const dir = mkdtempSync(join(tmpdir(), "tc-legacy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SCHEMA = [[[["id", "/state/scalar/value/number/uint/32"]], [["v", "/state/scalar/value/string", 16]]], []];

it("opens a store in the format before checksums, keeps its rows, and takes new writes", async () => {
  const env = open({ path: join(dir, "state"), compression: false, maxDbs: 8 });
  const msgpack = { encoding: "msgpack", useRecords: false } as const;
  const meta = env.openDB({ name: "meta", ...msgpack } as { name: string });
  const data = env.openDB({ name: "data", ...msgpack } as { name: string });
  await env.transaction(() => {
    meta.putSync(1, { path: "/state/app/t", schema: SCHEMA });
    data.putSync([1, 1], ["one"]);
    data.putSync([1, 2], ["two"]);
  });
  await env.close();

  let ex = embedded({ dataDir: dir });
  expect(await ex.request({ verb: "get", path: "/state/app/t", key: [2] })).toEqual([2, "two"]);
  await ex.request({ verb: "put", path: "/state/app/t", key: [3], body: ["three"] });
  await ex.close();
  ex = embedded({ dataDir: dir });
  expect(await ex.request({ verb: "get", path: "/state/app/t/count" })).toBe(3);
  expect(await ex.request({ verb: "get", path: "/state/app/t", key: [1] })).toEqual([1, "one"]);
  expect(await ex.request({ verb: "get", path: "/state/app/t", key: [3] })).toEqual([3, "three"]);
  await ex.close();
});
