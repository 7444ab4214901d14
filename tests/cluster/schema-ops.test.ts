/**
 * An op that creates a table and writes to it in one go, on a cluster: the writes run once, on
 * the gathered rows, and each row lands on its shard only — not on every host, as a schema
 * change that is broadcast would run them.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ConflictError, cluster, evenRanges, http, serve, type ServerHandle } from "../../src/index.js";
import type { Json } from "../../src/ir/types.js";

const S = "/state/scalar/value/";
const SCHEMA: Json = [[[["id", `${S}number/uint/64`]], [["v", `${S}number/uint/64`]]], []];

describe("a table created and written in one op, on a cluster", () => {
  const servers: ServerHandle[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it("writes each row once, on its own shard, and sees the literal's rows", async () => {
    servers.push(...(await Promise.all([0, 1, 2].map(() => serve({ shardMember: true })))));
    const ex = cluster({ shards: evenRanges(3).map((range, i) => ({ range, hosts: [servers[i]!.url] })), init: true });
    try {
      const rows = Array.from({ length: 12 }, (_, i) => [i, i * 10]);
      const op = {
        "/state/scalar/op/post": [
          ["create", { "/state/c/t": [null, { "/state/collection/table": [SCHEMA, rows.slice(0, 6)] }] }],
          ["more", { "/state/scalar/ref/after": [{ $create: [] }, { "/state/c/t/insert_rows": [null, rows.slice(6)] }] }],
        ],
      } as Json;
      await ex.execute(op, {});
      const perHost = await Promise.all(servers.map(async (s) => {
        const c = http(s.url);
        try {
          return (await c.request({ verb: "get", path: "/state/c/t/count", key: null })) as number;
        } finally {
          await c.close();
        }
      }));
      expect(perHost.reduce((a, b) => a + b, 0)).toBe(12);
      expect(await ex.request({ verb: "get", path: "/state/c/t/count", key: null })).toBe(12);
      // A literal's row is there for the write that follows it: the insert conflicts.
      const clash = {
        "/state/scalar/op/post": [
          ["create", { "/state/c/u": [null, { "/state/collection/table": [SCHEMA, [[1, 1]]] }] }],
          ["dup", { "/state/scalar/ref/after": [{ $create: [] }, { "/state/c/u/insert": [[1], [2]] }] }],
        ],
      } as Json;
      await expect(ex.execute(clash, {})).rejects.toBeInstanceOf(ConflictError);
    } finally {
      await ex.close();
    }
  });
});
