/**
 * Key slots and relation slot lists (storage/derived/key-slots.ts, link-index.ts) are kept beside the tables
 * and updated by every write. After any sequence of inserts, upserts that move a reference,
 * deletes, truncates, bulk loads and rollbacks of any of these, they must say exactly what the
 * tables say: a slot's row (and its cell in a column vector) is the table's row for that key, and
 * a source's list holds one target per referencing row whose references are both set. The CSR
 * snapshot of each relation (rebuilt at every read, or kept with a delta of the sources changed
 * since) says what its lists say for every source outside the delta, its copy of a coded target
 * column what the codes say, a coded column what its rows say, and a slot space that claims its
 * slots are in key order is.
 */
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HeapTable as Table } from "../../src/kernel/storage/heap-table.js";
import type { TableState, WriteLog } from "../../src/kernel/storage/table-engine.js";
import type { IndexKey } from "../../src/kernel/storage/index-keys.js";
import { parseSchema, type Row } from "../../src/kernel/storage/table-schema.js";
import { snapshotPolicy, type LinkIndex, linkIndexOf } from "../../src/kernel/storage/derived/link-index.js";
import { NO_ROW } from "../../src/kernel/storage/derived/column-codes.js";
import { type KeySlots, keySlotsOf } from "../../src/kernel/storage/derived/key-slots.js";

const U32 = "/state/scalar/value/number/uint/32";
const NODES = [[[["id", U32]], [["boss", U32, null, { nullable: true }]]], []];
const EDGES = [[[["a", U32], ["b", U32], ["n", U32]], [["w", U32]]], []];

type Change =
  | { t: "nodes"; kind: "upsert"; row: [number, number | null] }
  | { t: "edges"; kind: "upsert"; row: [number, number, number, number] }
  | { t: "nodes" | "edges"; kind: "delete"; key: number[] }
  | { t: "nodes" | "edges"; kind: "truncate" }
  | { t: "nodes"; kind: "bulk"; rows: [number, number | null][] }
  | { t: "edges"; kind: "bulk"; rows: [number, number, number, number][] }
  | { kind: "begin" }
  | { kind: "rollback" };

const small = fc.integer({ min: 0, max: 7 });
const nodeRow = fc.tuple(small, fc.option(small, { nil: null }));
const edgeRow = fc.tuple(small, small, fc.integer({ min: 0, max: 1 }), fc.constant(1));
const changeArb: fc.Arbitrary<Change> = fc.oneof(
  { weight: 5, arbitrary: nodeRow.map((row) => ({ t: "nodes" as const, kind: "upsert" as const, row })) },
  { weight: 6, arbitrary: edgeRow.map((row) => ({ t: "edges" as const, kind: "upsert" as const, row })) },
  { weight: 3, arbitrary: small.map((id) => ({ t: "nodes" as const, kind: "delete" as const, key: [id] })) },
  { weight: 4, arbitrary: fc.tuple(small, small, fc.integer({ min: 0, max: 1 })).map((k) => ({ t: "edges" as const, kind: "delete" as const, key: k })) },
  { weight: 2, arbitrary: fc.constantFrom("nodes" as const, "edges" as const).map((t) => ({ t, kind: "truncate" as const })) },
  { weight: 1, arbitrary: fc.uniqueArray(nodeRow, { selector: (r) => r[0], maxLength: 6 }).map((rows) => ({ t: "nodes" as const, kind: "bulk" as const, rows })) },
  { weight: 1, arbitrary: fc.uniqueArray(edgeRow, { selector: (r) => `${r[0]}/${r[1]}/${r[2]}`, maxLength: 8 }).map((rows) => ({ t: "edges" as const, kind: "bulk" as const, rows })) },
  { weight: 2, arbitrary: fc.constant({ kind: "begin" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "rollback" as const }) },
);

/** Runs `fn` with the snapshot policy changed as `policy` says. */
function withPolicy<T>(policy: Partial<typeof snapshotPolicy>, fn: () => T): T {
  const saved = { ...snapshotPolicy };
  Object.assign(snapshotPolicy, policy);
  try {
    return fn();
  } finally {
    Object.assign(snapshotPolicy, saved);
  }
}

/**
 * For each source outside the delta, the snapshot's targets against the lists' (a dead target
 * `t` as `~t`, exactly the dead ones while no target's liveness changed since the snapshot), for
 * each one in it, its merged targets (`deltaTargets`) against its list; and
 * the copy of the target's coded column at `pos` in the snapshot's order, against the codes. With
 * no snapshot (a policy that never takes one), the first is taken here.
 */
function expectSnapshotOf(index: LinkIndex, slots: KeySlots, pos: number): void {
  const packed = index.packed(1) ?? withPolicy({ atLeast: 0 }, () => index.packed(1));
  expect(packed).toBeDefined();
  const { offsets, targets } = packed!;
  const byNumber = (a: number, b: number) => a - b;
  for (let s = 0; s < slots.rows.length; s++) {
    if (index.changed !== undefined && index.changed[s] === 1) {
      // In the delta: the merge of its snapshot entries and its changes is its list.
      const live: number[] = [];
      expect(index.deltaTargets(s, live)).toBe(index.targetsOf(s).length);
      expect(live.sort(byNumber)).toEqual(index.targetsOf(s).filter((t) => slots.rows[t] !== undefined).sort(byNumber));
      continue;
    }
    const fromSnapshot = s + 1 < offsets.length ? [...targets.subarray(offsets[s]!, offsets[s + 1]!)] : [];
    expect(fromSnapshot.map((t) => (t < 0 ? ~t : t)).sort(byNumber)).toEqual([...index.targetsOf(s)].sort(byNumber));
    if (!index.liveChanged) {
      const fromLists = index.targetsOf(s).map((t) => (slots.rows[t] === undefined ? ~t : t)).sort(byNumber);
      expect(fromSnapshot.sort(byNumber)).toEqual(fromLists);
    }
  }
  // A copy kept from an earlier check must have been dropped if a code changed since.
  const coded = slots.codes(pos)!;
  const entries = index.entryCodes(packed!, coded, 1) ?? withPolicy({ atLeast: 0 }, () => index.entryCodes(packed!, coded, 1));
  expect(entries).toBeDefined();
  expect([...entries!]).toEqual([...targets].map((t) => (t < 0 ? NO_ROW : (coded.codes[t] ?? NO_ROW))));
}

/** The coded column at `pos` says what the rows say; slots claimed in key order are. */
function expectCodesAndOrder(slots: KeySlots, pos: number): void {
  const coded = slots.codes(pos)!;
  for (let s = 0; s < slots.rows.length; s++) {
    const row = slots.rows[s];
    expect(coded.codes[s] ?? NO_ROW).toBe(row === undefined ? NO_ROW : coded.codeOf(row[pos]));
  }
  if (slots.keysAscending) {
    const keys = [...Array(slots.rows.length).keys()].map((s) => [...Array(8).keys()].find((id) => slots.slotOf(id) === s));
    expect(keys).toEqual([...keys].sort((a, b) => a! - b!));
  }
}

function allRows(t: Table): Row[] {
  const out: Row[] = [];
  t.scan(t.plan([]), (r) => {
    out.push(r);
  });
  return out;
}

const POLICIES = [
  { snapshots: "rebuilt at every read", policy: { perThousandEntries: 0, atLeast: 0, deltaPerThousand: 0, deltaAtLeast: 0 } },
  // Taken once (by the check) and never again while the lists are not reset: every write since
  // is in the delta, and a target gaining or losing its row leaves the snapshot's liveness stale.
  { snapshots: "kept with a delta", policy: { perThousandEntries: 0, atLeast: Infinity, deltaPerThousand: Infinity, deltaAtLeast: Infinity } },
];

describe("key slots and relation slot lists", () => {
  const usual = { ...snapshotPolicy };
  beforeAll(() => void Object.assign(snapshotPolicy, POLICIES[0]!.policy));
  afterAll(() => void Object.assign(snapshotPolicy, usual));
  afterEach(() => void Object.assign(snapshotPolicy, POLICIES[0]!.policy));

  it.each(POLICIES)("always agree with the tables, through writes, bulk changes and rollbacks (snapshots $snapshots)", ({ policy }) => {
    Object.assign(snapshotPolicy, policy);
    fc.assert(
      fc.property(fc.array(changeArb, { maxLength: 80 }), fc.integer({ min: 0, max: 80 }), (changes, buildAt) => {
        const nodes = new Table("/state/p/nodes", parseSchema(NODES));
        const edges = new Table("/state/p/edges", parseSchema(EDGES));
        let undo: (() => void)[] | undefined;
        const log = (t: Table): WriteLog => ({
          rowChanged: (_t: Table, key: IndexKey, old: Row | undefined) => undo?.push(() => t.restoreRow(key, old)),
          truncated: (_t: Table, saved: TableState) => undo?.push(() => t.restoreState(saved)),
          bulkLoaded: (_t: Table, saved: TableState) => undo?.push(() => t.restoreState(saved)),
        });
        // The structures are created part-way through (as the first traversal would), then kept up.
        let built = false;
        const build = () => {
          const slots = keySlotsOf(nodes)!;
          slots.column(1);
          return {
            slots,
            out: linkIndexOf(edges, 0, slots, 1, slots), // a → b through the edge table
            inv: linkIndexOf(edges, 1, slots, 0, slots), // b → a
            boss: linkIndexOf(nodes, 1, slots, 0, slots), // boss → the nodes that name it
          };
        };
        const check = () => {
          const { slots, out, inv, boss } = build();
          const nodeRows = allRows(nodes);
          for (let id = 0; id <= 7; id++) {
            const s = slots.slotOf(id);
            const row = nodes.get(id);
            if (s === undefined) expect(row).toBeUndefined();
            else {
              expect(slots.rows[s]).toEqual(row);
              // The column vector of `boss` says what the row says.
              expect(slots.column(1)[s]).toBe(row === undefined ? undefined : row[1]);
            }
          }
          const keyAt = new Map<number, number>();
          for (let id = 0; id <= 7; id++) {
            const s = slots.slotOf(id);
            if (s !== undefined) keyAt.set(s, id);
          }
          const listed = (index: typeof out, source: number) => {
            const s = slots.slotOf(source);
            return s === undefined ? [] : index.targetsOf(s).map((t) => keyAt.get(t)!).sort();
          };
          const edgeRows = allRows(edges);
          for (let id = 0; id <= 7; id++) {
            expect(listed(out, id)).toEqual(edgeRows.filter((e) => e[0] === id).map((e) => e[1] as number).sort());
            expect(listed(inv, id)).toEqual(edgeRows.filter((e) => e[1] === id).map((e) => e[0] as number).sort());
            expect(listed(boss, id)).toEqual(nodeRows.filter((n) => n[1] === id).map((n) => n[0] as number).sort());
          }
          for (const index of [out, inv, boss]) expectSnapshotOf(index, slots, 1);
          expectCodesAndOrder(slots, 1);
        };
        changes.forEach((c, i) => {
          if (i === buildAt) {
            build();
            built = true;
          }
          if (c.kind === "begin") undo = [];
          else if (c.kind === "rollback") {
            if (undo) for (let k = undo.length - 1; k >= 0; k--) undo[k]!();
            undo = undefined;
          } else {
            const t = c.t === "nodes" ? nodes : edges;
            if (c.kind === "upsert") t.write(t.checkRow(c.row), "upsert", log(t));
            else if (c.kind === "delete") t.remove(c.key.length === 1 ? c.key[0]! : c.key, log(t));
            else if (c.kind === "truncate") t.truncate(log(t));
            else {
              try {
                t.insertMany(c.rows.map((r) => t.checkRow(r)), log(t));
              } catch {
                // a key already present: refused (the rows written so far are in the undo log)
              }
            }
          }
          if (built) check();
        });
        check();
      }),
      { numRuns: 300 },
    );
  });

  it("long lists (a hub) stay exact through removals deferred to the next read, mixed with adds", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            // Reads are rare, so several removals (of the same follower too) wait for one compaction.
            fc.oneof({ weight: 5, arbitrary: fc.constant("add") }, { weight: 6, arbitrary: fc.constant("remove") }, { weight: 1, arbitrary: fc.constant("read") }),
            fc.integer({ min: 1, max: 40 }),
            fc.integer({ min: 0, max: 2 }),
          ),
          { maxLength: 400 },
        ),
        (steps) => {
          const nodes = new Table("/state/p/nodes", parseSchema(NODES));
          const edges = new Table("/state/p/edges", parseSchema(EDGES));
          // Node 0 is the hub: 120 in-edges from 40 followers (three each), a long list from the outset.
          nodes.insertMany(Array.from({ length: 41 }, (_, i) => nodes.checkRow([i, null])), undefined);
          edges.insertMany(Array.from({ length: 120 }, (_, i) => [(i % 40) + 1, 0, i % 3, 1]), undefined);
          const slots = keySlotsOf(nodes)!;
          const inv = linkIndexOf(edges, 1, slots, 0, slots);
          const hub = slots.slotOf(0)!;
          const expected = () => allRows(edges).filter((e) => e[1] === 0).map((e) => slots.slotOf(e[0] as number)!).sort((a, b) => a - b);
          // A snapshot taken now keeps every change since in its delta: the hub's merged targets
          // (many removals of repeated targets among them) must say what its list says.
          withPolicy({ deltaAtLeast: Infinity, deltaPerThousand: Infinity }, () => {
            expect(inv.packed(1)).toBeDefined();
            for (const [what, a, n] of steps) {
              if (what === "add") edges.write(edges.checkRow([a, 0, n, 1]), "upsert", undefined);
              else if (what === "remove") edges.remove([a, 0, n], undefined);
              else {
                expect([...inv.targetsOf(hub)].sort((x, y) => x - y)).toEqual(expected());
                inv.packed(1);
                const merged: number[] = [];
                if (inv.changed?.[hub] === 1) expect(inv.deltaTargets(hub, merged)).toBe(expected().length);
                else merged.push(...inv.targetsOf(hub));
                expect(merged.sort((x, y) => x - y)).toEqual(expected());
              }
              expect(inv.size).toBe(allRows(edges).length);
            }
          });
          expect([...inv.targetsOf(hub)].sort((x, y) => x - y)).toEqual(expected());
        },
      ),
      { numRuns: 100 },
    );
  });

  it("a copy of codes follows the codes that change, or goes stale, answers nothing until due, then is remade", () => {
    const saved = { ...snapshotPolicy };
    Object.assign(snapshotPolicy, { perThousandEntries: 0, atLeast: 4, deltaPerThousand: Infinity, deltaAtLeast: Infinity });
    try {
      const nodes = new Table("/state/p/nodes", parseSchema(NODES));
      nodes.insertMany([[0, null], [1, 0], [2, 0], [3, 1]].map((r) => nodes.checkRow(r)), undefined);
      const slots = keySlotsOf(nodes)!;
      const byBoss = linkIndexOf(nodes, 1, slots, 0, slots); // boss → the nodes that name it
      const coded = slots.codes(1)!;
      const expectCopy = (entries: Uint8Array | undefined, packed: { targets: Int32Array }) =>
        expect([...entries!]).toEqual([...packed.targets].map((t) => (t < 0 ? NO_ROW : coded.codes[t]!)));
      expect(byBoss.packed(4)).toBeDefined();
      const packed = byBoss.packed(1)!;
      expect(byBoss.entryCodes(packed, coded, 3)).toBeUndefined();
      expectCopy(byBoss.entryCodes(packed, coded, 1), packed);
      const copy = byBoss.entryCodes(packed, coded, 1);
      // Unchanged: the same copy.
      expect(byBoss.entryCodes(packed, coded, 1)).toBe(copy);
      // Node 3's boss changes: a write to the relation's own table, so its source joins the delta
      // beside the snapshot, which stays.
      nodes.write(nodes.checkRow([3, 0]), "upsert", undefined);
      expect(byBoss.packed(1)).toBe(packed);
      expect(byBoss.changed?.[slots.slotOf(1)!]).toBe(1);
      // Each node is listed once (under its boss): the copy takes the changed code at once.
      expect(byBoss.entryCodes(packed, coded, 1)).toBe(copy);
      expectCopy(copy, packed);
      // More changes than the coding logs (past 64 here): the copy is stale until due, then remade.
      // (Ending on boss 0: node 3 stays moved, so its sources stay in the delta.)
      for (let i = 0; i < 70; i++) nodes.write(nodes.checkRow([3, (i + 1) % 2]), "upsert", undefined);
      expect(byBoss.packed(1)).toBe(packed);
      expect(byBoss.changed?.[slots.slotOf(0)!]).toBe(1);
      for (let i = 0; i < 3; i++) expect(byBoss.entryCodes(packed, coded, 1)).toBeUndefined();
      expectCopy(byBoss.entryCodes(packed, coded, 1), packed);
      // Folded into a new snapshot: the copy is made again for it, on the same terms.
      const fresh = withPolicy({ deltaAtLeast: 0 }, () => byBoss.packed(1)!);
      expect(fresh).not.toBe(packed);
      expect(byBoss.changed).toBeUndefined();
      for (let i = 0; i < 3; i++) expect(byBoss.entryCodes(fresh, coded, 1)).toBeUndefined();
      expectCopy(byBoss.entryCodes(fresh, coded, 1), fresh);
      // A change undone by the next one leaves nothing in the delta: readers take the plain
      // snapshot again, with no fold.
      nodes.write(nodes.checkRow([3, 1]), "upsert", undefined);
      expect(byBoss.changed?.[slots.slotOf(1)!]).toBe(1);
      nodes.write(nodes.checkRow([3, 0]), "upsert", undefined);
      expect(byBoss.changed).toBeUndefined();
      expect(byBoss.packed(1)).toBe(fresh);
      expect(byBoss.changed).toBeUndefined();
    } finally {
      Object.assign(snapshotPolicy, saved);
    }
  });

  it("a delta whose changes keep cancelling out stays exact, and drops the sources it no longer holds", () => {
    Object.assign(snapshotPolicy, POLICIES[1]!.policy);
    const nodes = new Table("/state/p/nodes", parseSchema(NODES));
    nodes.insertMany([[0, null], [1, 0], [2, 0], [3, 1], [4, 2], [5, 2]].map((r) => nodes.checkRow(r)), undefined);
    const slots = keySlotsOf(nodes)!;
    const byBoss = linkIndexOf(nodes, 1, slots, 0, slots);
    const packed = withPolicy({ atLeast: 0 }, () => byBoss.packed(1))!;
    // Node 5 moves for good (its sources stay in the delta); nodes 3 and 4 move and come back
    // thousands of times, each time leaving and rejoining the delta.
    nodes.write(nodes.checkRow([5, 1]), "upsert", undefined);
    for (let i = 0; i < 6000; i++) {
      const row = i % 2 === 0 ? [3 + (i % 4 === 0 ? 0 : 1), 0] : i % 4 === 1 ? [3, 1] : [4, 2];
      nodes.write(nodes.checkRow(row), "upsert", undefined);
      if (i % 997 === 0) expectSnapshotOf(byBoss, slots, 1);
    }
    expect(byBoss.packed(1)).toBe(packed);
    const marked = [...Array(slots.rows.length).keys()].filter((s) => byBoss.changed?.[s] === 1).map((s) => slots.keyOf(s));
    expect(marked.sort()).toEqual([1, 2]);
    expectSnapshotOf(byBoss, slots, 1);
    // The list of sources marked since the snapshot does not grow with the writes (3,000 marks).
    expect((byBoss as unknown as { marked: number[] }).marked.length).toBeLessThan(1100);
  });

  it("a composite-key table has no key slots", () => {
    expect(keySlotsOf(new Table("/state/p/edges", parseSchema(EDGES)))).toBeUndefined();
  });
});
