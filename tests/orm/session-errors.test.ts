/**
 * After a failed call inside a session, the session is rolled back; the error of every later call
 * on it (and of the commit) names the original cause, with the original kind, on every executor.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError } from "../../src/errors.js";
import { col, connect, schema, table } from "../../src/orm/index.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

const s = schema({ namespace: "sess", tables: { items: table("items", { id: col.u64().key(), name: col.string(16) }) } });

describe.each(WITH_CLUSTER)("session errors on $name", (factory) => {
  const create = executorsFor(factory, afterAll);

  it("a caught failure: the next call and the commit name it; nothing of the session is kept", async () => {
    const db = await connect(s, await create());
    await db.sync();
    await db.insertInto("items").values({ id: 1, name: "a" }).execute();
    const first = await db
      .session(async (tx) => {
        await tx.insertInto("items").values({ id: 2, name: "b" }).execute();
        const e = await tx.insertInto("items").values({ id: 1, name: "again" }).execute().catch((x: unknown) => x);
        expect(e).toBeInstanceOf(ConflictError);
        const later = await tx.selectFrom("items").execute().catch((x: unknown) => x);
        expect(later).toBeInstanceOf(ConflictError);
        expect((later as Error).message).toMatch(/^session rolled back after: .*key/);
        expect((later as Error).message).toContain((e as Error).message.slice(0, 30));
        return "done";
      })
      .catch((x: unknown) => x);
    // The commit fails the same way, naming the cause, not "unknown or finished transaction id".
    expect(first).toBeInstanceOf(ConflictError);
    expect((first as Error).message).toMatch(/^session rolled back after: /);
    expect((first as Error).message).not.toContain("unknown or finished");
    expect(await db.selectFrom("items").count().execute()).toBe(1);
  });

  it("a raw session: a 404 inside names the missing table in every later call", async () => {
    const ex = await create();
    const session = await ex.session();
    await expect(session.request({ verb: "get", path: "/state/sess/nope/schema", key: null })).rejects.toThrow(NotFoundError);
    const later = await session.request({ verb: "get", path: "/host/tables", key: null }).then(
      () => session.execute({ "/state/scalar/op/post": [["r", 1]] }),
    ).catch((x: unknown) => x);
    expect(later).toBeInstanceOf(NotFoundError);
    expect((later as Error).message).toBe("session rolled back after: table /state/sess/nope not found");
    const commit = await session.commit().catch((x: unknown) => x);
    expect((commit as Error).message).toBe("session rolled back after: table /state/sess/nope not found");
  });
});
