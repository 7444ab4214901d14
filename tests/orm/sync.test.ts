/**
 * `db.sync()`: creates what is missing, accepts identical tables, refuses a different existing
 * schema with a column-by-column diff, and never changes anything when it refuses.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { embedded } from "../../src/kernel/index.js";
import type { Executor } from "../../src/executor.js";
import { ConflictError, ForbiddenError, NotFoundError } from "../../src/errors.js";
import { col, connect, schema, schemaDiff, table, type AnyTable } from "../../src/orm/index.js";

const v1 = schema({
  namespace: "shop",
  tables: {
    items: table("items", { id: col.u64().key(), name: col.string(32), price: col.f64(), note: col.string(64).nullable() }).index("by_name", ["name"]),
    orders: table("orders", { id: col.u64().key(), item: col.u64().references("items") }),
  },
});

let executor: Executor;
beforeEach(() => {
  executor = embedded();
});
afterEach(async () => {
  await executor.close();
});

describe("sync", () => {
  it("creates missing tables, then accepts them as they are", async () => {
    const db = await connect(v1, executor);
    expect(await db.sync()).toEqual({ created: ["items", "orders"], unchanged: [] });
    expect(await executor.request({ verb: "get", path: "/state/shop/orders/schema", key: null })).toEqual(v1.meta("orders").schemaJson);
    expect(await db.sync()).toEqual({ created: [], unchanged: ["items", "orders"] });
    // A fresh connection with an identical declaration (another process, say) accepts them too.
    expect(await (await connect(v1, executor)).sync()).toEqual({ created: [], unchanged: ["items", "orders"] });
  });

  it("refuses a different schema column by column and creates nothing", async () => {
    await (await connect(v1, executor)).sync();
    const v2 = schema({
      namespace: "shop",
      tables: {
        items: table("items", { id: col.u64().key(), name: col.string(64), price: col.f32(), note: col.string(64), stock: col.u32() }),
        orders: table("orders", { id: col.u64().key(), item: col.u64().references("items") }),
        extra: table("extra", { id: col.u8().key() }),
      },
    });
    const db2 = await connect(v2, executor);
    const err = await db2.sync().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    const message = (err as Error).message;
    expect(message).toContain("table /state/shop/items:");
    expect(message).toContain("column name: existing string(64)".replace("64", "32") + ", declared string(64)");
    expect(message).toContain("column price: existing number/float/64, declared number/float/32");
    expect(message).toContain("column note: existing string(64) nullable, declared string(64)");
    expect(message).toContain("column stock: existing absent, declared number/uint/32");
    expect(message).toContain("index by_name: existing (name), declared absent");
    expect(message).not.toContain("orders");
    // Nothing was created or changed: the missing table is still missing.
    await expect(executor.request({ verb: "get", path: "/state/shop/extra/schema", key: null })).rejects.toThrow();
  });

  it("reads every stored schema (and the migration history) in one request after the table list", async () => {
    const tables: Record<string, AnyTable> = {};
    for (let i = 0; i < 12; i++) tables[`t${i}`] = table(`t${i}`, { id: col.u64().key(), n: col.string(8) });
    const many = schema({ namespace: "many", tables });
    await (await connect(many, executor)).sync();
    const calls: string[] = [];
    // The executor as the ORM sees it, with each request and op it sends recorded.
    const counted = new Proxy(executor, {
      get(target, k, receiver) {
        const v = Reflect.get(target, k, receiver) as unknown;
        if (k === "request" || k === "execute") return (...a: unknown[]) => (calls.push(String(k)), (v as (...x: unknown[]) => unknown).apply(target, a));
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    expect(await (await connect(many, counted)).sync()).toEqual({ created: [], unchanged: Object.keys(tables) });
    expect(calls).toEqual(["request", "execute"]);

    // A migration reads the twelve schemas and the history in one op too, then applies in one.
    const wider = schema({ namespace: "many", tables: { ...tables, t0: table("t0", { id: col.u64().key(), n: col.string(8), m: col.u32().nullable() }) } });
    calls.length = 0;
    expect((await (await connect(wider, counted)).migrate()).applied).toBe(true);
    expect(calls).toEqual(["request", "execute", "execute"]);
    calls.length = 0;
    const again = await (await connect(wider, counted)).migrate();
    expect(again.applied).toBe(false);
    expect(calls).toEqual(["request", "execute"]);
    // The history was read in that op: an older declaration is refused by name.
    await expect((await connect(many, counted)).migrate()).rejects.toThrow(/older declaration/);
  });

  it("on a host without the table list, probes each declared table once: sync() and migrate() work, and a refused probe is an error, not an absent table", async () => {
    const gets: string[] = [];
    let refuse: string | undefined;
    // A host that serves no `GET /host/tables` (404), and records the schema reads.
    const listless = new Proxy(executor, {
      get(target, k, receiver) {
        const v = Reflect.get(target, k, receiver) as unknown;
        if (k === "request") {
          return (req: { verb: string; path: string }) => {
            if (req.path === "/host/tables") return Promise.reject(new NotFoundError("no such route"));
            if (req.path.endsWith("/schema")) gets.push(req.path);
            if (req.path === refuse) return Promise.reject(new ForbiddenError("not for this token"));
            return (v as (r: unknown) => unknown).call(target, req);
          };
        }
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    expect(await (await connect(v1, listless)).sync()).toEqual({ created: ["items", "orders"], unchanged: [] });
    expect(await (await connect(v1, listless)).sync()).toEqual({ created: [], unchanged: ["items", "orders"] });
    const v2 = schema({ namespace: "shop", tables: { ...v1.tables, orders: table("orders", { id: col.u64().key(), item: col.u64().references("items"), qty: col.u32().nullable() }) } });
    gets.length = 0;
    expect((await (await connect(v2, listless)).migrate()).steps).toEqual(["orders: add column qty u32 nullable (null)"]);
    // Each declared table's schema read once while planning (none is read again).
    expect(gets).toEqual(["/state/shop/items/schema", "/state/shop/orders/schema"]);
    refuse = "/state/shop/items/schema";
    await expect((await connect(v2, listless)).planMigration()).rejects.toBeInstanceOf(ForbiddenError);
  });

  it("describes key/value moves and order changes", () => {
    const a = table("t", { a: col.u8().key(), b: col.u8(), c: col.u8() });
    const b = table("t", { a: col.u8(), b: col.u8().key(), c: col.u8() });
    const c = table("t", { a: col.u8().key(), c: col.u8(), b: col.u8() });
    const json = (t: AnyTable) => schema({ namespace: "n", tables: { t } }).meta("t").schemaJson;
    expect(schemaDiff(json(a), json(a))).toEqual([]);
    expect(schemaDiff(json(a), json(b))).toEqual([
      "column b: existing is a value column, declared as a key column",
      "column a: existing is a key column, declared as a value column",
    ]);
    expect(schemaDiff(json(a), json(c))).toEqual(["value column order: existing (b, c), declared (c, b)"]);
    // v1 hosts wrap dtypes as {"<path>": {}}; they compare equal.
    const v1Form = [[[["a", { "/state/scalar/value/number/uint/8": {} }]], [["b", { "/state/scalar/value/number/uint/8": {} }], ["c", { "/state/scalar/value/number/uint/8": {} }]]], []];
    expect(schemaDiff(v1Form, json(a))).toEqual([]);
  });

  it("reports a changed column format, enum values or generated key, but not a reference alone", () => {
    const json = (t: AnyTable) => schema({ namespace: "n", tables: { t, p: table("p", { id: col.u64().key() }) } }).meta("t").schemaJson;
    const plain = table("t", { id: col.u64().key(), s: col.string(36), ref: col.u64() }).index("fk_ref", ["ref"]);
    const rich = table("t", { id: col.u64().key().autoIncrement(), s: col.uuid(), ref: col.u64().references("p") }).index("fk_ref", ["ref"]);
    expect(schemaDiff(json(plain), json(rich))).toEqual([
      'column id: existing number/uint/64, declared number/uint/64 (generated "increment")',
      'column s: existing string(36), declared string (format "uuid")',
    ]);
    const states = (values: [string, ...string[]]) => json(table("t", { id: col.u64().key(), s: col.enum(values), ref: col.u64() }));
    expect(schemaDiff(states(["open"]), states(["open", "closed"]))).toEqual([
      'column s: existing string (values ["open"]), declared string (values ["open","closed"])',
    ]);
  });
});
