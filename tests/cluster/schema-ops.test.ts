/**
 * Schema changes on a cluster. An op that creates a table and writes to it in one go: the writes
 * run once, on the gathered rows, and each row lands on its shard only — not on every host, as a
 * schema change that is broadcast would run them. An alter with a value per row: each shard gets
 * its rows' values; what one host would refuse over the whole table is refused.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ConflictError, NotImplementedError, cluster, evenRanges, http, serve, type ServerHandle } from "../../src/index.js";
import type { Json } from "../../src/ir/types.js";

const S = "/state/scalar/value/";
const SCHEMA: Json = [[[["id", `${S}number/uint/64`]], [["v", `${S}number/uint/64`]]], []];

/** The hosts the tests start, closed after all of them. */
const servers: ServerHandle[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** Three shard hosts and a cluster over them, one shard each. */
async function threeShards(): Promise<{ hosts: ServerHandle[]; ex: ReturnType<typeof cluster> }> {
  const hosts = await Promise.all([0, 1, 2].map(() => serve({ shardMember: true })));
  servers.push(...hosts);
  return { hosts, ex: cluster({ shards: evenRanges(3).map((range, i) => ({ range, hosts: [hosts[i]!.url] })), init: true }) };
}

describe("a table created and written in one op, on a cluster", () => {

  it("alters with a value per row, across shards: each row gets its own; a unique column repeating across shards is refused", async () => {
    const { ex } = await threeShards();
    try {
      const n = 30;
      await ex.request({ verb: "put", path: "/state/c/a", key: null, body: { "/state/collection/table": [SCHEMA, Array.from({ length: n }, (_, i) => [i, i % 2])] } as Json });
      const wider: Json = [[[["id", `${S}number/uint/64`]], [["v", `${S}number/uint/64`], ["w", `${S}number/uint/64`]]], []];
      const values = Array.from({ length: n }, (_, i) => 1000 + i);
      expect(await ex.request({ verb: "put", path: "/state/c/a/alter", key: null, body: { schema: wider, columns: { w: ["values", values] } } as Json })).toBe(n);
      const rows = (await ex.request({ verb: "get", path: "/state/c/a", key: null })) as Record<string, [Json, Json[][]]>;
      expect(rows["/state/collection/table"]![1]).toEqual(Array.from({ length: n }, (_, i) => [i, i % 2, 1000 + i]));
      // v repeats (0 and 1, each on several shards): making it unique is refused, nothing changes.
      const e = await ex.request({ verb: "put", path: "/state/c/a/alter", key: null, body: { schema: wider, unique: ["v"] } as Json }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ConflictError);
      expect((e as Error).message).toContain("cannot make column v unique");
      expect(((await ex.request({ verb: "get", path: "/state/c/a", key: null })) as Record<string, [Json, Json[][]]>)["/state/collection/table"]![1]).toHaveLength(n);
      // Too few values for the rows of every shard together: refused before any host is asked.
      const short = await ex.request({ verb: "put", path: "/state/c/a/alter", key: null, body: { schema: SCHEMA, columns: { v: ["values", [1]] } } as Json }).catch((x: unknown) => x);
      expect((short as Error).message).toContain(`"values" has 1 values for ${n} rows`);
    } finally {
      await ex.close();
    }
  });

  it("alters a host holding several shards once: the rows rewritten counted once; an alter needing rows cut by shard is refused", async () => {
    const hosts = await Promise.all([0, 1].map(() => serve({ shardMember: true })));
    servers.push(...hosts);
    const ranges = evenRanges(3);
    const ex = cluster({ shards: [{ range: ranges[0]!, hosts: [hosts[0]!.url] }, { range: ranges[1]!, hosts: [hosts[1]!.url] }, { range: ranges[2]!, hosts: [hosts[0]!.url] }], init: true });
    try {
      const n = 30;
      await ex.request({ verb: "put", path: "/state/c/s", key: null, body: { "/state/collection/table": [SCHEMA, Array.from({ length: n }, (_, i) => [i, i])] } as Json });
      const wider: Json = [[[["id", `${S}number/uint/64`]], [["v", `${S}number/uint/64`], ["w", `${S}number/uint/64`, null, { nullable: true }]]], []];
      expect(await ex.request({ verb: "put", path: "/state/c/s/alter", key: null, body: { schema: wider } as Json })).toBe(n);
      const read = async () => ((await ex.request({ verb: "get", path: "/state/c/s", key: null })) as Record<string, [Json, Json[][]]>)["/state/collection/table"]![1];
      expect(await read()).toEqual(Array.from({ length: n }, (_, i) => [i, i, null]));
      const values = await ex.request({ verb: "put", path: "/state/c/s/alter", key: null, body: { schema: wider, columns: { w: ["values", Array.from({ length: n }, (_, i) => i)] } } as Json }).catch((x: unknown) => x);
      expect(values).toBeInstanceOf(NotImplementedError);
      expect(await read()).toEqual(Array.from({ length: n }, (_, i) => [i, i, null]));
    } finally {
      await ex.close();
    }
  });

  it("writes each row once, on its own shard, and sees the literal's rows", async () => {
    const { hosts, ex } = await threeShards();
    try {
      const rows = Array.from({ length: 12 }, (_, i) => [i, i * 10]);
      const op = {
        "/state/scalar/op/post": [
          ["create", { "/state/c/t": [null, { "/state/collection/table": [SCHEMA, rows.slice(0, 6)] }] }],
          ["more", { "/state/scalar/ref/after": [{ $create: [] }, { "/state/c/t/insert_rows": [null, rows.slice(6)] }] }],
        ],
      } as Json;
      await ex.execute(op, {});
      const perHost = await Promise.all(hosts.map(async (s) => {
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

describe("reading schemas on a cluster", () => {

  it("answers a table's schema (and sync(), planMigration()) without gathering a row", async () => {
    const { hosts, ex } = await threeShards();
    try {
      await ex.request({ verb: "put", path: "/state/c/big", key: null, body: { "/state/collection/table": [SCHEMA, Array.from({ length: 300 }, (_, i) => [i, i])] } as Json });
      const one = http(hosts[1]!.url);
      try {
        expect(await ex.request({ verb: "get", path: "/state/c/big/schema", key: null })).toEqual(await one.request({ verb: "get", path: "/state/c/big/schema", key: null }));
      } finally {
        await one.close();
      }
      expect(ex.lastExplain!.steps).toEqual([]);
      // Several schemas in one op, as sync() and planMigration() read them.
      await ex.request({ verb: "put", path: "/state/c/other", key: null, body: { "/state/collection/table": [SCHEMA, [[1, 1]]] } as Json });
      const both = await ex.execute({ "/state/scalar/op/post": [["a", { "/state/c/big/schema": [null] }], ["b", { "/state/c/other/schema": [null] }], ["_r", [{ $a: [] }, { $b: [] }]]] } as Json, {});
      expect(both).toEqual([SCHEMA, SCHEMA]);
      expect(ex.lastExplain!.steps).toEqual([]);
    } finally {
      await ex.close();
    }
  });
});
