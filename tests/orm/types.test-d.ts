/**
 * Type-level tests: row types inferred from declarations, insert/update shapes, selected-column
 * narrowing, and what `tsc` refuses (unknown columns, wrong value types, operators that do not
 * fit the column).
 */
import { describe, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import type { Executor } from "../../src/executor.js";
import { param } from "../../src/ir/index.js";
import type { ReferenceType } from "../../src/orm/columns.js";
import { col, connect, schema, table, type Insertable, type Row, type Updateable } from "../../src/orm/index.js";
import type { EdgeType } from "../../src/orm/table.js";
import { follows, posts, social, users } from "./fixtures/social.js";

declare const executor: Executor;
const db = await connect(social, executor);

describe("row types", () => {
  it("infers rows from the declaration, nullable columns as T | null", () => {
    expectTypeOf<Row<typeof users>>().toEqualTypeOf<{ id: number; name: string; age: number | null; city: string; active: boolean }>();
    expectTypeOf<Row<typeof posts>>().toEqualTypeOf<{
      id: number;
      author: number;
      reviewer: number | null;
      lang: string;
      score: number;
      parent: number | null;
    }>();
  });

  it("makes nullable and defaulted columns optional on insert, keys excluded from update", () => {
    expectTypeOf<Insertable<typeof users>>().toEqualTypeOf<{
      id: number;
      name: string;
      age?: number | null;
      city?: string;
      active?: boolean;
    }>();
    expectTypeOf<Updateable<typeof users>>().toEqualTypeOf<{ name?: string; age?: number | null; city?: string; active?: boolean }>();
  });

  it("types the zod validators by the row types", () => {
    const v = social.validators("users");
    expectTypeOf<z.infer<typeof v.select>>().toEqualTypeOf<Row<typeof users>>();
    expectTypeOf<z.infer<typeof v.insert>>().toEqualTypeOf<Insertable<typeof users>>();
    expectTypeOf<z.infer<typeof v.update>>().toEqualTypeOf<Updateable<typeof users>>();
    // @ts-expect-error unknown table
    social.validators("nope");
  });

  it("types links as strings and every integer width as number", () => {
    const t = table("t", { k: col.string(8).key(), l: col.link(), n: col.i8(), b: col.u64().nullable() });
    expectTypeOf<Row<typeof t>>().toEqualTypeOf<{ k: string; l: string; n: number; b: number | null }>();
  });
});

describe("select", () => {
  it("returns full rows, or exactly the selected columns", () => {
    expectTypeOf(db.selectFrom("users").execute()).resolves.toEqualTypeOf<Row<typeof users>[]>();
    expectTypeOf(db.selectFrom(users).execute()).resolves.toEqualTypeOf<Row<typeof users>[]>();
    const narrowed = db.selectFrom("users").where("age", ">=", 18).orderBy("age", "desc").limit(10).select(["id", "name"]);
    expectTypeOf(narrowed.execute()).resolves.toEqualTypeOf<{ id: number; name: string }[]>();
    expectTypeOf(db.selectFrom("users").select(["age"]).executeTakeFirst()).resolves.toEqualTypeOf<{ age: number | null } | undefined>();
    expectTypeOf(db.selectFrom("users").executeTakeFirstOrThrow()).resolves.toEqualTypeOf<Row<typeof users>>();
    expectTypeOf(db.selectFrom("users").count().execute()).resolves.toEqualTypeOf<number>();
  });

  it("streams typed rows and explains plans", () => {
    expectTypeOf(db.selectFrom("users").select(["id", "city"]).stream()).toEqualTypeOf<AsyncIterableIterator<{ id: number; city: string }>>();
    expectTypeOf(db.selectFrom("users").explain().access).toEqualTypeOf<"key lookup" | "index range" | "index lookups" | "full scan">();
    expectTypeOf(db.selectFrom("users").compile().params).toEqualTypeOf<readonly string[]>();
  });

  it("accepts params wherever a value goes", () => {
    db.selectFrom("users").where("id", "=", param("me")).where("name", "in", param("names")).limit(param("n"));
    db.selectFrom("users").whereIn("city", ["paris", "rome"]);
    db.selectFrom("users").where("age", "isNull");
    db.selectFrom("users").where("active", "=", true);
  });

  it("refuses unknown tables, columns, wrong value types and operators that do not fit", () => {
    // @ts-expect-error unknown table
    db.selectFrom("nope");
    // @ts-expect-error unknown column
    db.selectFrom("users").where("nope", "=", 1);
    // @ts-expect-error a string column compared with a number
    db.selectFrom("users").where("name", "=", 1);
    // @ts-expect-error null is not a value: use isNull
    db.selectFrom("users").where("age", "=", null);
    // @ts-expect-error `<` does not apply to a bool column
    db.selectFrom("users").where("active", "<", true);
    // @ts-expect-error isNull only applies to nullable columns
    db.selectFrom("users").where("name", "isNull");
    // @ts-expect-error unknown operator
    db.selectFrom("users").where("age", "~", 1);
    // @ts-expect-error in takes a list
    db.selectFrom("users").where("age", "in", 3);
    // @ts-expect-error unknown column in select
    db.selectFrom("users").select(["id", "nope"]);
    // @ts-expect-error unknown column in orderBy
    db.selectFrom("users").orderBy("nope");
    // @ts-expect-error a projected builder's rows have no other columns
    db.selectFrom("users").select(["id"]).executeTakeFirstOrThrow().then((r) => r.name);
  });
});

describe("writes", () => {
  it("checks inserted rows and updated values", () => {
    db.insertInto("users").values({ id: 1, name: "ada" });
    db.insertInto("users").values([{ id: 1, name: "ada", age: null, city: "x", active: false }]).onConflict("ignore");
    // @ts-expect-error missing a required column
    db.insertInto("users").values({ id: 1 });
    // @ts-expect-error wrong value type
    db.insertInto("users").values({ id: "1", name: "ada" });
    // @ts-expect-error unknown column
    db.insertInto("users").values({ id: 1, name: "ada", nope: 1 });
    // @ts-expect-error unknown conflict action
    db.insertInto("users").values({ id: 1, name: "ada" }).onConflict("merge");
    db.updateTable("users").set({ city: "rome" }).where("id", "=", 1);
    // @ts-expect-error key columns cannot be updated
    db.updateTable("users").set({ id: 2 });
    // @ts-expect-error wrong value type in set
    db.updateTable("users").set({ age: "old" });
    db.deleteFrom("users").where("city", "=", "rome");
    // @ts-expect-error unknown column in a delete
    db.deleteFrom("users").where("nope", "=", 1);
    expectTypeOf(db.deleteFrom("users").execute()).resolves.toEqualTypeOf<number>();
  });

  it("types batch results in order", () => {
    const b = db.batch([db.insertInto("users").values({ id: 1, name: "a" }), db.selectFrom("users").select(["id"]), db.selectFrom("users").count()]);
    expectTypeOf(b).resolves.toEqualTypeOf<[number, { id: number }[], number]>();
  });

  it("keeps schemas separate", () => {
    const other = schema({ namespace: "x", tables: { t: table("t", { k: col.u8().key() }) } });
    expectTypeOf<keyof typeof other.tables>().toEqualTypeOf<"t">();
  });
});

describe("relation declarations as types (for db.graph)", () => {
  it("references() keeps the target's name and the given name/inverse as literal types; other modifiers keep them", () => {
    type Ref<C> = C extends { readonly _: { readonly ref: infer R } } ? R : never;
    expectTypeOf<Ref<typeof posts.columns.author>>().toEqualTypeOf<ReferenceType<"users", "author", "posts">>();
    expectTypeOf<Ref<typeof posts.columns.parent>>().toEqualTypeOf<ReferenceType<"posts", "parent", "replies">>();
    expectTypeOf<Ref<typeof users.columns.id>>().toEqualTypeOf<null>();
    const a = table("a", { id: col.u64().key() });
    // Not given: `never` (the defaults are computed from the whole schema).
    const plain = col.u64().references(() => a);
    expectTypeOf<Ref<typeof plain>>().toEqualTypeOf<ReferenceType<"a", never, never>>();
    const modified = col.u64().references("a", { inverse: "bs" }).nullable().unique();
    expectTypeOf<Ref<typeof modified>>().toEqualTypeOf<ReferenceType<"a", never, "bs">>();
    // Inline inside table(): the contextual column type must not widen the literals.
    const b = table("b", { id: col.u64().key(), a: col.u64().references(() => a, { name: "owner" }) });
    expectTypeOf<Ref<typeof b.columns.a>>().toEqualTypeOf<ReferenceType<"a", "owner", never>>();
    // The row types do not change.
    expectTypeOf<Row<typeof b>>().toEqualTypeOf<{ id: number; a: number }>();
    // @ts-expect-error the target is a table (or its name)
    col.u64().references(() => 42);
    // @ts-expect-error relation names are strings
    col.u64().references("a", { name: 1 });
  });

  it("edge() records its declaration as a flat union; index() keeps it", () => {
    expectTypeOf<(typeof follows)["$edges"]>().toEqualTypeOf<EdgeType<"follows", "follower", "followee", "followers">>();
    const t = table("t", { x: col.u64().key().references("t"), y: col.u64().key().references("t") })
      .edge("one", { from: "x", to: "y" })
      .index("by_y", ["y"])
      .edge("two", { from: "y", to: "x", inverse: "owt" });
    expectTypeOf<(typeof t)["$edges"]>().toEqualTypeOf<EdgeType<"one", "x", "y", never> | EdgeType<"two", "y", "x", "owt">>();
    expectTypeOf<Row<typeof t>>().toEqualTypeOf<{ x: number; y: number }>();
    // @ts-expect-error from must be a column of the table
    table("u", { x: col.u64().key().references("t") }).edge("e", { from: "nope", to: "x" });
  });
});

describe("richer column types", () => {
  const things = table("things", {
    id: col.u64({ mode: "bigint" }).key().autoIncrement(),
    at: col.timestamp(),
    doc: col.json<{ tags: string[] }>(),
    raw: col.bytes().nullable(),
    state: col.enum(["open", "closed"]),
    u: col.uuid().default("00000000-0000-4000-8000-000000000000"),
    n: col.i64(),
    big: col.i64({ mode: "bigint" }),
  });
  const sessions = table("sessions", { id: col.uuid().key().defaultRandom(), thing: col.u64({ mode: "bigint" }).references(() => things, { onDelete: "cascade" }) });

  it("gives each column its row type: Date, the JSON type, Uint8Array, the enum's union, bigint", () => {
    expectTypeOf<Row<typeof things>>().toEqualTypeOf<{
      id: bigint;
      at: Date;
      doc: { tags: string[] };
      raw: Uint8Array | null;
      state: "open" | "closed";
      u: string;
      n: number;
      big: bigint;
    }>();
  });

  it("makes generated keys optional on insert", () => {
    expectTypeOf<Insertable<typeof things>>().toEqualTypeOf<{
      at: Date;
      doc: { tags: string[] };
      state: "open" | "closed";
      n: number;
      big: bigint;
      id?: bigint;
      raw?: Uint8Array | null;
      u?: string;
    }>();
    expectTypeOf<Insertable<typeof sessions>>().toEqualTypeOf<{ thing: bigint; id?: string }>();
  });

  it("refuses a value outside the enum and a number for a bigint column", () => {
    const S = schema({ namespace: "t17", tables: { things, sessions } });
    const tdb = connect(S, executor);
    void tdb.then((d) => {
      // @ts-expect-error "shut" is not one of the enum's values
      d.insertInto("things").values({ at: new Date(), doc: { tags: [] }, state: "shut", n: 1, big: 1n });
      // @ts-expect-error a bigint-mode column takes a bigint
      d.insertInto("things").values({ at: new Date(), doc: { tags: [] }, state: "open", n: 1, big: 1 });
      d.selectFrom("things").where("at", ">", new Date()).where("big", "<", 5n);
    });
  });
});
