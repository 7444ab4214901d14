/**
 * Property tests of the table engine against a naive model (an array of rows): random writes,
 * then random range selectors on the primary and a secondary index must return exactly the
 * model's rows in the serving index's order; a rollback must restore the previous state.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deferredEntriesPolicy } from "../../src/kernel/storage/deferred-entries.js";
import { Database, type StateTxn } from "../../src/kernel/state/database.js";
import { TableView, tableLiteral } from "../../src/kernel/state/table-view.js";

const SCHEMA = [
  [
    [["a", "/state/scalar/value/number/int/8"], ["b", "/state/scalar/value/string", 4]],
    [["v", "/state/scalar/value/number/uint/8", null, { nullable: true }]],
  ],
  [["by_v", ["v"]]],
];
const T = ["p", "t"];
type ModelRow = [number, string, number | null];

const aArb = fc.integer({ min: -3, max: 3 });
const bArb = fc.constantFrom("", "a", "ab", "b", "\u{1F600}", "\uFFFF");
const vArb = fc.option(fc.integer({ min: 0, max: 5 }), { nil: null });

type Op =
  | { op: "put"; a: number; b: string; v: number | null }
  | { op: "delete"; a: number; b: string }
  | { op: "bulk"; rows: ModelRow[] }
  | { op: "truncate" }
  | { op: "update"; vLo: number; v: number | null };

function opsArb(weights: { put: number; delete: number; bulk: number; truncate: number; update: number }): fc.Arbitrary<Op> {
  return fc.oneof(
    { weight: weights.put, arbitrary: fc.record({ op: fc.constant("put" as const), a: aArb, b: bArb, v: vArb }) },
    { weight: weights.delete, arbitrary: fc.record({ op: fc.constant("delete" as const), a: aArb, b: bArb }) },
    { weight: weights.bulk, arbitrary: fc.record({
        op: fc.constant("bulk" as const),
        // mostly distinct keys (so the load happens), sometimes with a repeated one
        rows: fc.oneof(
          { weight: 4, arbitrary: fc.uniqueArray(fc.tuple(aArb, bArb, vArb), { selector: (r) => `${r[0]}|${r[1]}`, maxLength: 8 }) },
          { weight: 1, arbitrary: fc.array(fc.tuple(aArb, bArb, vArb), { maxLength: 8 }) },
        ),
      }) },
    { weight: weights.truncate, arbitrary: fc.constant({ op: "truncate" as const }) },
    { weight: weights.update, arbitrary: fc.record({ op: fc.constant("update" as const), vLo: fc.integer({ min: 0, max: 5 }), v: vArb }) },
  );
}
const opArb = opsArb({ put: 6, delete: 3, bulk: 1, truncate: 1, update: 1 });
/** Bulk loads and truncates often, so that their write-set interplay is exercised. */
const durableOpArb = opsArb({ put: 3, delete: 2, bulk: 3, truncate: 2, update: 1 });

type BoundArb = null | ["in" | "ex", number | string];
const boundOf = <V extends number | string>(arb: fc.Arbitrary<V>): fc.Arbitrary<BoundArb> =>
  fc.option(fc.tuple(fc.constantFrom("in" as const, "ex" as const), arb), { nil: null });

/** Code-point order, null first (the engine's order). */
function cmp(x: number | string | null, y: number | string | null): number {
  if (x === y) return 0;
  if (x === null) return -1;
  if (y === null) return 1;
  if (typeof x === "number" && typeof y === "number") return x - y;
  const xs = [...(x as string)].map((c) => c.codePointAt(0)!);
  const ys = [...(y as string)].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) if (xs[i] !== ys[i]) return xs[i]! - ys[i]!;
  return xs.length - ys.length;
}

/** Bounds follow the index order, where null sorts first (so `v < 3` includes null). */
function inBound(x: number | string | null, lo: BoundArb, hi: BoundArb): boolean {
  if (lo && (lo[0] === "in" ? cmp(x, lo[1]) < 0 : cmp(x, lo[1]) <= 0)) return false;
  if (hi && (hi[0] === "in" ? cmp(x, hi[1]) > 0 : cmp(x, hi[1]) >= 0)) return false;
  return true;
}

function byPrimary(r: ModelRow, s: ModelRow): number {
  return cmp(r[0], s[0]) || cmp(r[1], s[1]);
}
function byV(r: ModelRow, s: ModelRow): number {
  return cmp(r[2], s[2]) || byPrimary(r, s);
}

function apply(txn: StateTxn, model: Map<string, ModelRow>, op: Op): void {
  const k = (a: number, b: string) => JSON.stringify([a, b]);
  switch (op.op) {
    case "put":
      txn.request("put", T, [op.a, op.b], [op.v]);
      model.set(k(op.a, op.b), [op.a, op.b, op.v]);
      break;
    case "delete":
      txn.request("delete", T, [op.a, op.b], undefined);
      model.delete(k(op.a, op.b));
      break;
    case "bulk": {
      const keys = op.rows.map((r) => k(r[0], r[1]));
      const conflict = new Set(keys).size !== keys.length || keys.some((key) => model.has(key));
      if (conflict) {
        expect(() => txn.request("put", [...T, "insert_rows"], null, op.rows)).toThrow(/exists|twice/);
      } else {
        txn.request("put", [...T, "insert_rows"], null, op.rows);
        op.rows.forEach((r) => model.set(k(r[0], r[1]), [...r]));
      }
      break;
    }
    case "truncate":
      txn.request("delete", T, [], undefined);
      model.clear();
      break;
    case "update":
      txn.request("put", T, [["v", [["in", op.vLo], null]]], { kind: "map", entries: { v: op.v } });
      for (const r of model.values()) if (r[2] !== null && r[2] >= op.vLo) r[2] = op.v;
      break;
  }
}

function rows(txn: StateTxn, sel: unknown): unknown {
  const view = txn.request("get", T, sel, undefined);
  expect(view).toBeInstanceOf(TableView);
  return (view as TableView).rows();
}

describe("table engine properties (memory store)", () => {
  it("range selectors return the model's rows in index order, after any writes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { maxLength: 40 }),
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant("a" as const), lo: boundOf(aArb), hi: boundOf(aArb) }),
            fc.record({ kind: fc.constant("ab" as const), a: aArb, lo: boundOf(bArb), hi: boundOf(bArb) }),
            fc.record({ kind: fc.constant("v" as const), lo: boundOf(fc.integer({ min: 0, max: 5 })), hi: boundOf(fc.integer({ min: 0, max: 5 })) }),
            fc.record({ kind: fc.constant("va" as const), v: vArb, lo: boundOf(aArb), hi: boundOf(aArb) }),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        async (ops, queries) => {
          const db = await Database.open({});
          const txn = db.tryBegin()!;
          txn.request("put", T, null, tableLiteral(SCHEMA, []));
          const model = new Map<string, ModelRow>();
          for (const op of ops) apply(txn, model, op);
          const all = [...model.values()];
          expect(rows(txn, null)).toEqual([...all].sort(byPrimary));
          for (const q of queries) {
            let expected: ModelRow[];
            let sel: unknown;
            if (q.kind === "a") {
              sel = [["a", [q.lo, q.hi]]];
              expected = all.filter((r) => inBound(r[0], q.lo, q.hi)).sort(byPrimary);
            } else if (q.kind === "ab") {
              sel = [["a", q.a], ["b", [q.lo, q.hi]]];
              expected = all.filter((r) => r[0] === q.a && inBound(r[1], q.lo, q.hi)).sort(byPrimary);
            } else if (q.kind === "v") {
              sel = [["v", [q.lo, q.hi]]];
              expected = all.filter((r) => inBound(r[2], q.lo, q.hi)).sort(byV);
            } else {
              sel = [["v", q.v], ["a", [q.lo, q.hi]]];
              expected = all.filter((r) => r[2] === q.v && inBound(r[0], q.lo, q.hi)).sort(byV);
            }
            expect(rows(txn, sel)).toEqual(expected);
            expect(txn.request("get", [...T, "count"], sel, undefined)).toBe(expected.length);
            const reversed = txn.request("get", [...T, "order"], [["v"], true], undefined) as TableView;
            expect(reversed.rows()).toEqual([...all].sort(byV).reverse());
          }
          txn.rollback();
        },
      ),
      { numRuns: 150 },
    );
  });

  it("rollback restores the exact previous state of rows and indexes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 25 }), fc.array(opArb, { maxLength: 25 }), async (setup, later) => {
        const db = await Database.open({});
        let txn = await db.begin();
        txn.request("put", T, null, tableLiteral(SCHEMA, []));
        const model = new Map<string, ModelRow>();
        for (const op of setup) apply(txn, model, op);
        await txn.commit();
        const snapshot = (t: StateTxn) => ({
          all: rows(t, null),
          byV: (t.request("get", [...T, "order"], [["v"], false], undefined) as TableView).rows(),
          count: t.request("get", [...T, "count"], null, undefined),
        });
        txn = await db.begin();
        const before = snapshot(txn);
        const scratch = new Map([...model].map(([k, r]) => [k, [...r] as ModelRow]));
        for (const op of later) apply(txn, scratch, op);
        txn.rollback();
        txn = await db.begin();
        expect(snapshot(txn)).toEqual(before);
        txn.rollback();
      }),
      { numRuns: 150 },
    );
  });
});

describe.each([
  { store: "memory", durable: false },
  { store: "durable", durable: true },
])("single-column keys (hash map + scalar tree keys; $store)", ({ durable }) => {
  const S = ["p", "s"];
  const schema = [[[["k", "/state/scalar/value/number/int/8"]], [["w", "/state/scalar/value/string"]]], [["by_w", ["w"]]]];
  it("ranges with in/ex/open bounds and counts agree with a model", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), aArb, bArb), { maxLength: 30 }),
        fc.array(fc.tuple(boundOf(aArb), boundOf(aArb), fc.boolean()), { minLength: 1, maxLength: 6 }),
        async (writes, queries) => {
          const { mkdtempSync, rmSync } = await import("node:fs");
          const { tmpdir } = await import("node:os");
          const { join } = await import("node:path");
          const dir = durable ? mkdtempSync(join(tmpdir(), "tc-prop-scalar-")) : undefined;
          const db = await Database.open(dir === undefined ? {} : { dataDir: dir });
          const txn = db.tryBegin()!;
          txn.request("put", S, null, tableLiteral(schema, []));
          const model = new Map<number, [number, string]>();
          for (const [del, k, w] of writes) {
            if (del) {
              txn.request("delete", S, [k], undefined);
              model.delete(k);
            } else {
              txn.request("put", S, [k], [w]);
              model.set(k, [k, w]);
            }
          }
          for (const [lo, hi, reverse] of queries) {
            const expected = [...model.values()].filter((r) => inBound(r[0], lo, hi)).sort((x, y) => x[0] - y[0]);
            const sel = [["k", [lo, hi]]];
            expect(txn.request("get", [...S, "count"], sel, undefined)).toBe(expected.length);
            const view = txn.request("get", S, sel, undefined) as TableView;
            const ordered = txn.viewRequest(view, "get", ["order"], [["k"], reverse], undefined) as TableView;
            expect(ordered.rows()).toEqual(reverse ? [...expected].reverse() : expected);
            const byW = [...model.values()].sort((x, y) => cmp(x[1], y[1]) || x[0] - y[0]);
            expect((txn.request("get", [...S, "order"], [["w"], false], undefined) as TableView).rows()).toEqual(byW);
          }
          txn.rollback();
          if (dir !== undefined) {
            // and the same answers from lmdb once committed
            const t2 = await db.begin();
            t2.request("put", S, null, tableLiteral(schema, []));
            for (const [del, k, w] of writes) {
              if (del) t2.request("delete", S, [k], undefined);
              else t2.request("put", S, [k], [w]);
            }
            await t2.commit();
            const t3 = await db.begin();
            for (const [lo, hi, reverse] of queries) {
              const expected = [...model.values()].filter((r) => inBound(r[0], lo, hi)).sort((x, y) => x[0] - y[0]);
              const sel = [["k", [lo, hi]]];
              expect(t3.request("get", [...S, "count"], sel, undefined)).toBe(expected.length);
              const view = t3.request("get", S, sel, undefined) as TableView;
              const ordered = t3.viewRequest(view, "get", ["order"], [["k"], reverse], undefined) as TableView;
              expect(ordered.rows()).toEqual(reverse ? [...expected].reverse() : expected);
            }
            t3.rollback();
            await db.close();
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: durable ? 60 : 200 },
    );
  });
});

describe("durable store write-sets (reopen equals the committed model)", () => {
  it("random transactions, committed or rolled back, reopen to exactly the committed state", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ ops: fc.array(durableOpArb, { maxLength: 12 }), commit: fc.boolean(), recreate: fc.boolean() }), {
          minLength: 1,
          maxLength: 5,
        }),
        async (txns) => {
          const dir = mkdtempSync(join(tmpdir(), "tc-prop-"));
          try {
            let db = await Database.open({ dataDir: dir });
            let model = new Map<string, ModelRow>();
            let txn = await db.begin();
            txn.request("put", T, null, tableLiteral(SCHEMA, []));
            await txn.commit();
            for (const spec of txns) {
              txn = await db.begin();
              const scratch = new Map([...model].map(([k, r]) => [k, [...r] as ModelRow]));
              if (spec.recreate) {
                txn.request("delete", T, null, undefined);
                txn.request("put", T, null, tableLiteral(SCHEMA, []));
                scratch.clear();
              }
              for (const op of spec.ops) apply(txn, scratch, op);
              if (spec.commit) {
                await txn.commit();
                model = scratch;
              } else {
                txn.rollback();
              }
            }
            await db.close();
            db = await Database.open({ dataDir: dir });
            txn = await db.begin();
            const all = [...model.values()];
            expect(rows(txn, null)).toEqual([...all].sort(byPrimary));
            expect((txn.request("get", [...T, "order"], [["v"], false], undefined) as TableView).rows()).toEqual([...all].sort(byV));
            txn.rollback();
            await db.close();
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      {
        numRuns: 60,
        // Found once: a bulk load, a truncate and a later write in one transaction.
        examples: [
          [
            [
              {
                ops: [
                  { op: "bulk", rows: [[0, "a", 1]] },
                  { op: "truncate" },
                  { op: "put", a: 1, b: "b", v: 2 },
                ],
                commit: true,
                recreate: false,
              },
            ],
          ],
        ],
      },
    );
  }, 60_000);
});

type Query =
  | { kind: "a"; lo: BoundArb; hi: BoundArb }
  | { kind: "ab"; a: number; lo: BoundArb; hi: BoundArb }
  | { kind: "v"; lo: BoundArb; hi: BoundArb }
  | { kind: "va"; v: number | null; lo: BoundArb; hi: BoundArb };
const queryArb: fc.Arbitrary<Query> = fc.oneof(
  fc.record({ kind: fc.constant("a" as const), lo: boundOf(aArb), hi: boundOf(aArb) }),
  fc.record({ kind: fc.constant("ab" as const), a: aArb, lo: boundOf(bArb), hi: boundOf(bArb) }),
  fc.record({ kind: fc.constant("v" as const), lo: boundOf(fc.integer({ min: 0, max: 5 })), hi: boundOf(fc.integer({ min: 0, max: 5 })) }),
  fc.record({ kind: fc.constant("va" as const), v: vArb, lo: boundOf(aArb), hi: boundOf(aArb) }),
);

/** What a transaction answers to `q`: rows in both directions and the count, on the serving index. */
function answer(txn: StateTxn, q: Query): unknown {
  const sel =
    q.kind === "a" ? [["a", [q.lo, q.hi]]] : q.kind === "ab" ? [["a", q.a], ["b", [q.lo, q.hi]]] : q.kind === "v" ? [["v", [q.lo, q.hi]]] : [["v", q.v], ["a", [q.lo, q.hi]]];
  const view = txn.request("get", T, sel, undefined) as TableView;
  const orderBy = q.kind === "a" || q.kind === "ab" ? ["a", "b"] : q.kind === "v" ? ["v"] : ["a"];
  const reversed = txn.viewRequest(view, "get", ["order"], [orderBy, true], undefined) as TableView;
  return { rows: view.rows(), reversed: reversed.rows(), count: txn.request("get", [...T, "count"], sel, undefined) };
}

describe.each([
  { deferred: "the default cap (every index change deferred until a close, truncate or rebuild)", policy: undefined },
  { deferred: "a cap of a few entries (compactions, slice by slice, and whole flushes all the time)", policy: { min: 8, max: 8, fraction: 0 } },
])("durable tables answer as memory tables do, index changes deferred with $deferred", ({ policy }) => {
  const saved = { ...deferredEntriesPolicy };
  beforeAll(() => void Object.assign(deferredEntriesPolicy, policy ?? {}));
  afterAll(() => void Object.assign(deferredEntriesPolicy, saved));
  it("under random writes, commits (the next transaction starting before durability), rollbacks and scans", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            ops: fc.array(durableOpArb, { maxLength: 10 }),
            end: fc.constantFrom("commit" as const, "commit-no-wait" as const, "rollback" as const),
            queries: fc.array(queryArb, { minLength: 1, maxLength: 3 }),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        async (txns) => {
          const dir = mkdtempSync(join(tmpdir(), "tc-prop-both-"));
          try {
            const mem = await Database.open({});
            let dur = await Database.open({ dataDir: dir });
            const pending: Promise<void>[] = [];
            for (const db of [mem, dur]) {
              const txn = await db.begin();
              txn.request("put", T, null, tableLiteral(SCHEMA, []));
              await txn.commit();
            }
            for (const spec of txns) {
              const m = await mem.begin();
              const d = await dur.begin();
              const model = new Map<string, ModelRow>();
              for (const op of spec.ops) {
                // the model only decides which bulk loads conflict: start it from the table's rows
                model.clear();
                for (const r of rows(m, null) as ModelRow[]) model.set(JSON.stringify([r[0], r[1]]), [...r] as ModelRow);
                const scratch = new Map([...model].map(([k, r]) => [k, [...r] as ModelRow]));
                apply(m, model, op);
                apply(d, scratch, op);
                for (const q of spec.queries) expect(answer(d, q)).toEqual(answer(m, q));
              }
              expect(rows(d, null)).toEqual(rows(m, null));
              if (spec.end === "rollback") {
                m.rollback();
                d.rollback();
              } else {
                await m.commit();
                const durable = d.commit();
                if (spec.end === "commit") await durable;
                else pending.push(durable);
              }
            }
            await Promise.all(pending);
            const check = async () => {
              const m = await mem.begin();
              const d = await dur.begin();
              expect(rows(d, null)).toEqual(rows(m, null));
              for (const spec of txns) for (const q of spec.queries) expect(answer(d, q)).toEqual(answer(m, q));
              m.rollback();
              d.rollback();
            };
            await check();
            await dur.close();
            dur = await Database.open({ dataDir: dir });
            await check();
            await dur.close();
            await mem.close();
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});
