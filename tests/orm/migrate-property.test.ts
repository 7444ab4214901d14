/**
 * Property (fast-check), on every executor: for a random table, random rows and a random set of
 * changes (keep, drop, rename or widen each column; add columns that are nullable, have a default
 * or a backfill; add and drop indexes), `migrate()` leaves exactly what a fresh table of the new
 * schema loaded with the transformed rows holds — same schema, same rows in the same order — and
 * the plan is empty afterwards.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { Executor } from "../../src/executor.js";
import { col, connect, schema, table, type AnyColumn } from "../../src/orm/index.js";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";

type Kind = "u32" | "str";
interface BaseCol { kind: Kind; nullable: boolean }
type Fate = "keep" | "drop" | "rename" | "widen";
type Added = { kind: "u32"; how: "default"; value: number } | { kind: "str"; how: "nullable" } | { kind: "str"; how: "backfill" };
interface Case {
  base: BaseCol[];
  fates: Fate[];
  added: Added[];
  oldIndexes: number[];
  newIndexes: number[];
  rows: { id: number; cells: (number | string | null)[] }[];
}

const arbCase: fc.Arbitrary<Case> = fc
  .array(fc.record({ kind: fc.constantFrom<Kind>("u32", "str"), nullable: fc.boolean() }), { minLength: 1, maxLength: 4 })
  .chain((base) =>
    fc.record({
      base: fc.constant(base),
      fates: fc.array(fc.constantFrom<Fate>("keep", "drop", "rename", "widen"), { minLength: base.length, maxLength: base.length }),
      added: fc.array(
        fc.oneof(
          fc.record({ kind: fc.constant("u32" as const), how: fc.constant("default" as const), value: fc.nat(1000) }),
          fc.record({ kind: fc.constant("str" as const), how: fc.constantFrom("nullable" as const, "backfill" as const) }),
        ),
        { maxLength: 2 },
      ),
      oldIndexes: fc.subarray(base.map((_, i) => i)),
      newIndexes: fc.subarray(base.map((_, i) => i)),
      rows: fc.uniqueArray(
        fc.record({
          id: fc.nat(10_000),
          cells: fc.tuple(...base.map((c) => {
            const v: fc.Arbitrary<number | string> = c.kind === "u32" ? fc.nat(5000) : fc.string({ maxLength: 8, unit: "grapheme-ascii" });
            return c.nullable ? fc.option(v, { nil: null }) : v;
          })),
        }),
        { selector: (r) => r.id, maxLength: 15 },
      ),
    }),
  );

function column(c: BaseCol, widened: boolean): AnyColumn {
  const base = c.kind === "u32" ? col.u32() : col.string(widened ? 16 : 8);
  return c.nullable ? base.nullable() : base;
}

/** The old schema, the new one (with migration hints) and the new one without hints ("fresh"). */
function schemas(k: Case, ns: string) {
  const oldCols: Record<string, AnyColumn> = { id: col.u64().key() };
  k.base.forEach((c, i) => (oldCols[`c${i}`] = column(c, false)));
  let oldT = table("t", oldCols);
  for (const i of k.oldIndexes) oldT = oldT.index(`ix${i}`, [`c${i}`]);

  const newCols: Record<string, AnyColumn> = { id: col.u64().key() };
  const freshCols: Record<string, AnyColumn> = { id: col.u64().key() };
  const names: (string | null)[] = [];
  k.base.forEach((c, i) => {
    const fate = k.fates[i]!;
    if (fate === "drop") return names.push(null);
    const name = fate === "rename" ? `r${i}` : `c${i}`;
    names.push(name);
    const decl = column(c, fate === "widen");
    newCols[name] = fate === "rename" ? decl.renamedFrom(`c${i}`) : decl;
    freshCols[name] = decl;
  });
  k.added.forEach((a, j) => {
    const name = `n${j}`;
    const decl = a.how === "default" ? col.u32().default(a.value) : a.how === "nullable" ? col.string(8).nullable() : col.string(12).backfill((row) => `id-${String(row.id)}`);
    newCols[name] = decl;
    freshCols[name] = a.how === "backfill" ? col.string(12) : decl;
  });
  let newT = table("t", newCols);
  let freshT = table("t", freshCols);
  for (const i of k.newIndexes) {
    const n = names[i];
    if (n) {
      newT = newT.index(`ix${i}`, [n]);
      freshT = freshT.index(`ix${i}`, [n]);
    }
  }
  return {
    v1: schema({ namespace: ns, tables: { t: oldT } }),
    v2: schema({ namespace: ns, tables: { t: newT } }),
    fresh: schema({ namespace: `${ns}f`, tables: { t: freshT } }),
    names,
  };
}

function transformed(k: Case, names: (string | null)[]): Record<string, unknown>[] {
  return k.rows.map((r) => {
    const out: Record<string, unknown> = { id: r.id };
    r.cells.forEach((v, i) => {
      if (names[i]) out[names[i]!] = v;
    });
    k.added.forEach((a, j) => (out[`n${j}`] = a.how === "default" ? a.value : a.how === "nullable" ? null : `id-${r.id}`));
    return out;
  });
}

let counter = 0;

async function runCase(ex: Executor, k: Case): Promise<void> {
  const ns = `p${counter++}`;
  const { v1, v2, fresh, names } = schemas(k, ns);
  const db1 = await connect(v1, ex);
  await db1.sync();
  if (k.rows.length > 0) await db1.insertInto("t").values(k.rows.map((r) => Object.fromEntries([["id", r.id], ...r.cells.map((v, i) => [`c${i}`, v])]))).execute();
  const db2 = await connect(v2, ex);
  await db2.migrate();
  const dbf = await connect(fresh, ex);
  await dbf.sync();
  const rows = transformed(k, names);
  if (rows.length > 0) await (dbf.insertInto("t") as unknown as { values(r: unknown[]): { execute(): Promise<unknown> } }).values(rows).execute();
  const got = await ex.request({ verb: "get", path: `/state/${ns}/t`, key: null });
  const want = await ex.request({ verb: "get", path: `/state/${ns}f/t`, key: null });
  expect(got).toEqual(want);
  expect((await db2.planMigration()).empty).toBe(true);
  expect(await db2.sync()).toEqual({ created: [], unchanged: ["t"] });
}

describe.each(WITH_CLUSTER)("migrate() equals a fresh load on $name", (factory) => {
  const create = executorsFor(factory, afterAll);
  it("for random tables, rows and changes", async () => {
    const ex = await create();
    await fc.assert(fc.asyncProperty(arbCase, (k) => runCase(ex, k)), { numRuns: factory.name === "http" || factory.name === "cluster" ? 12 : 30 });
  }, 60_000);
});
