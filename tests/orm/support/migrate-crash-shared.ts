/**
 * The schemas and rows of the migration crash test: `before` holds `ROWS` rows; `after` renames
 * the table and a column, widens a string, adds a column with a default and an index, and drops a
 * column — one rewrite of every row; `lazyAfter` makes the same changes but keeps the column, so
 * the rows are not rewritten (the new column is filled in on reads, only the index is written).
 */
import { col, schema, table } from "../../../src/orm/index.js";

export const ROWS = 40_000;

export const before = schema({
  namespace: "mc",
  tables: { items: table("items", { id: col.u64().key(), name: col.string(16), qty: col.u32(), old: col.u8() }) },
});

export const after = schema({
  namespace: "mc",
  tables: {
    goods: table("goods", { id: col.u64().key(), label: col.string(32).renamedFrom("name"), qty: col.u32(), price: col.f64().default(9.5) })
      .index("by_qty", ["qty"])
      .renamedFrom("items"),
  },
});

export const lazyAfter = schema({
  namespace: "mc",
  tables: {
    goods: table("goods", { id: col.u64().key(), label: col.string(32).renamedFrom("name"), qty: col.u32(), old: col.u8(), price: col.f64().default(9.5) })
      .index("by_qty", ["qty"])
      .renamedFrom("items"),
  },
});

/** The declaration a scenario of the test migrates to. */
export const scenarios = { rewrite: after, lazy: lazyAfter } as const;
export type Scenario = keyof typeof scenarios;

export function beforeRow(i: number): { id: number; name: string; qty: number; old: number } {
  return { id: i, name: `item-${i}`, qty: (i * 7919) % 1000, old: i % 200 };
}

export function afterRow(i: number): { id: number; label: string; qty: number; price: number } {
  return { id: i, label: `item-${i}`, qty: (i * 7919) % 1000, price: 9.5 };
}

export function lazyAfterRow(i: number): { id: number; label: string; qty: number; old: number; price: number } {
  return { id: i, label: `item-${i}`, qty: (i * 7919) % 1000, old: i % 200, price: 9.5 };
}
