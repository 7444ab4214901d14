import { afterAll, describe, expect, it } from "vitest";
import { col, connect, schema, table } from "../../src/orm/index.js";
import { EXECUTORS, executorsFor } from "../support/executors.js";

const things = table("things", {
  id: col.u64({ mode: "bigint" }).key(),
  at: col.timestamp(),
  doc: col.json<{ a: number[] }>(),
  raw: col.bytes(),
  state: col.enum(["open", "closed"]),
  u: col.uuid(),
  i: col.i64({ mode: "bigint" }),
  f: col.f64(),
  g: col.f32(),
});
const s = schema({ namespace: "scratch", tables: { things } });

describe.each(EXECUTORS)("$name", (factory) => {
  const create = executorsFor(factory, afterAll);
  it("round-trips", async () => {
    const db = await connect(s, await create());
    await db.sync();
    const row = { id: 2n ** 64n - 1n, at: new Date(1700000000123), doc: { a: [1, 2] }, raw: new Uint8Array([0, 255, 7]), state: "open" as const, u: "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", i: -(2n ** 63n), f: 1e300, g: 3.4e38 };
    await db.insertInto("things").values(row).execute();
    await db.insertInto("things").values({ ...row, id: 5n, i: 9007199254740993n, f: -0, raw: new Uint8Array([]) }).execute();
    const rows = await db.selectFrom("things").execute();
    console.log(rows);
    const w = await db.selectFrom("things").where("i", ">", 0n).execute();
    console.log(w.map((r) => r.id));
    const w2 = await db.selectFrom("things").where("raw", ">", new Uint8Array([0])).execute();
    console.log(w2.map((r) => r.id));
  });
});
