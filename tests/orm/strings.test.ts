/**
 * Strings that cannot round-trip exactly — lone surrogates, which UTF-8 (the store's and the
 * wire's encoding) replaces — are refused at validation with a `BadRequestError` naming the
 * column, on every executor: through the ORM (keys and values, inserts, updates, `where` values)
 * and through raw kernel requests (table writes). Nothing is written. Well-formed strings,
 * surrogate pairs included, come back exactly, also after a durable reopen.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Executor } from "../../src/executor.js";
import { BadRequestError } from "../../src/errors.js";
import { embedded } from "../../src/kernel/index.js";
import { col, connect, schema, table, type OrmDb } from "../../src/orm/index.js";
import { WITH_CLUSTER } from "../support/executors.js";

const notes = table("notes", {
  id: col.string(32).key(),
  body: col.string(64),
  ref: col.link().nullable(),
});
const sc = schema({ namespace: "strs", tables: { notes } });
type Db = OrmDb<typeof sc>;

const LONE = ["a\ud800b", "\udc00", "x\udbff", "\ud83d", "\ude00y"];
const GOOD = ["plain", "é😀ü", "\ud83d\ude00", "", "nul\u0000in", "\uffff\ufffd"];

const RAW_TABLE = {
  "/state/collection/table": [[[[["id", "/state/scalar/value/string", 32]], [["body", "/state/scalar/value/string", 64]]], []], []],
};

/** The error a call throws or rejects with (validation may throw before any promise exists). */
async function attempt(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
    return undefined;
  } catch (e) {
    return e;
  }
}

describe.each(WITH_CLUSTER)("strings that cannot round-trip, on $name", (factory) => {
  let executor: Executor;
  let db: Db;
  beforeAll(async () => {
    executor = await factory.create();
    db = await connect(sc, executor);
    await db.sync();
    await db.insertInto("notes").values({ id: "k", body: "unchanged" }).execute();
    await executor.request({ verb: "put", path: "/state/raw/t", key: null, body: RAW_TABLE });
  });
  afterAll(async () => {
    await executor.close();
    await factory.cleanup?.();
  });

  it("the ORM refuses a lone surrogate in a value, a key, a link, an update and a where value", async () => {
    for (const bad of LONE) {
      const attempts: [string, () => Promise<unknown>][] = [
        ["insert value", () => db.insertInto("notes").values({ id: "n1", body: bad }).execute()],
        ["insert key", () => db.insertInto("notes").values({ id: bad, body: "b" }).execute()],
        ["insert link", () => db.insertInto("notes").values({ id: "n2", body: "b", ref: `/state/x/${bad}` }).execute()],
        ["update", () => db.updateTable("notes").set({ body: bad }).where("id", "=", "k").execute()],
        ["where", () => db.selectFrom("notes").where("body", "=", bad).execute()],
        ["where in", () => db.selectFrom("notes").where("id", "in", ["k", bad]).execute()],
      ];
      for (const [what, run] of attempts) {
        const err = await attempt(run);
        expect(err, `${what} ${JSON.stringify(bad)}`).toBeInstanceOf(BadRequestError);
        expect((err as Error).message).toMatch(/lone surrogate/);
        expect((err as Error).message).toMatch(/body|id|ref/);
      }
    }
    expect(await db.selectFrom("notes").execute()).toEqual([{ id: "k", body: "unchanged", ref: null }]);
  });

  it("the kernel refuses a lone surrogate in a written key or value, naming the column", async () => {
    for (const bad of LONE) {
      const tries = [
        { key: ["k1"], body: [bad], column: "body" },
        { key: [bad], body: ["v"], column: "id" },
      ];
      for (const t of tries) {
        const err = await executor.request({ verb: "put", path: "/state/raw/t", key: t.key, body: t.body }).catch((e: unknown) => e);
        expect(err).toMatchObject({ kind: "bad_request" });
        expect((err as Error).message).toContain(`column "${t.column}"`);
        expect((err as Error).message).toMatch(/lone surrogate/);
      }
      const bulk = await executor
        .request({ verb: "put", path: "/state/raw/t/insert_rows", key: null, body: [["ok", "v"], ["k2", bad]] })
        .catch((e: unknown) => e);
      expect(bulk).toMatchObject({ kind: "bad_request" });
    }
    expect(await executor.request({ verb: "get", path: "/state/raw/t/count" })).toBe(0);
  });

  it("the kernel refuses a lone surrogate in a column, index or table name", async () => {
    const schemaWith = (column: string, index: string) => ({
      "/state/collection/table": [[[[[column, "/state/scalar/value/string", 32]], [["body", "/state/scalar/value/string", 64]]], [[index, ["body"]]]], []],
    });
    for (const bad of LONE) {
      const creates = [
        { path: "/state/raw/cols", body: schemaWith(`id${bad}`, "by_body"), what: "column name" },
        { path: "/state/raw/ixs", body: schemaWith("id", `by${bad}`), what: "" },
      ];
      for (const c of creates) {
        const err = await executor.request({ verb: "put", path: c.path, key: null, body: c.body }).catch((e: unknown) => e);
        expect(err).toMatchObject({ kind: "bad_request" });
        expect((err as Error).message).toMatch(/lone surrogate/);
        expect((err as Error).message).toContain(c.what);
      }
      const named = await attempt(() => executor.request({ verb: "put", path: `/state/raw/t${bad}`, key: null, body: RAW_TABLE }));
      expect(named).toMatchObject({ kind: "bad_request" });
    }
    expect(await executor.request({ verb: "get", path: "/state/raw/t/count" })).toBe(0);
  });

  it("well-formed strings, surrogate pairs included, come back exactly", async () => {
    for (const [i, s] of GOOD.entries()) await db.insertInto("notes").values({ id: `g${i}`, body: s }).execute();
    const rows = await db.selectFrom("notes").where("id", "!=", "k").execute();
    expect(rows.map((r) => r.body)).toEqual(GOOD);
  });
});

describe("strings after a durable reopen", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tc-strings-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("what was acknowledged reads back exactly; lone surrogates never reach the store", async () => {
    let ex = embedded({ dataDir: dir });
    let db = await connect(sc, ex);
    await db.sync();
    for (const [i, s] of GOOD.entries()) await db.insertInto("notes").values({ id: `${s}#${i}`, body: s }).execute();
    for (const bad of LONE) {
      expect(await attempt(() => db.insertInto("notes").values({ id: "bad", body: bad }).execute())).toBeInstanceOf(BadRequestError);
      await expect(ex.request({ verb: "put", path: "/state/strs/notes", key: ["bad"], body: [bad, null] })).rejects.toMatchObject({
        kind: "bad_request",
      });
    }
    const before = await db.selectFrom("notes").execute();
    await ex.close();
    ex = embedded({ dataDir: dir });
    db = await connect(sc, ex);
    const after = await db.selectFrom("notes").execute();
    expect(after).toEqual(before);
    expect(after.map((r) => r.body).sort()).toEqual([...GOOD].sort());
    await ex.close();
  });
});
