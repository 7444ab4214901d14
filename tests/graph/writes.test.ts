/**
 * Traversals stay right while the tables change. The kernel answers distinct traversals from
 * relation structures kept beside the tables (key slots and slot lists, updated by every write),
 * so this suite interleaves random writes — inserts, updates that move a foreign key or change a
 * filtered column, deletes
 * that leave references dangling, re-inserting a deleted key, bulk inserts into non-empty
 * tables, rolled-back sessions — with random traversals, and compares each answer with the
 * reference run on the data as it should be at that point. On every executor, three times: with
 * the relations' CSR snapshots rebuilt as usual (rarely, at this size: the lists answer), rebuilt
 * on every read after a write, and kept with every list write since in their delta (so a write
 * that fails to put its source in the delta shows), rebuilt only a few reads after a target
 * gained or lost its row or a filtered column changed (so the reads that check each target
 * against the rows, and those for a snapshot with a stale copy of its filtered column, run too).
 */
import fc from "fast-check";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { WITH_CLUSTER, executorsFor } from "../support/executors.js";
import { buildSpec, CITIES, graphArb, LANGS, loadGraph, norm, reference, specArb, type GraphData, type Knows, type Person, type Post, type Spec } from "./support.js";
import type { Executor } from "../../src/executor.js";
import type { Graph, UntypedShape } from "../../src/graph/index.js";
import { snapshotPolicy } from "../../src/kernel/storage/derived/link-index.js";

type Write =
  | { kind: "addPerson"; person: Person }
  | { kind: "dropPerson"; id: number }
  | { kind: "moveBoss"; id: number; boss: number | null }
  | { kind: "moveCity"; id: number; city: string }
  | { kind: "addKnows"; edges: Knows[] }
  | { kind: "dropKnows"; a: number }
  | { kind: "addPost"; post: Post }
  | { kind: "movePost"; id: number; author: number }
  | { kind: "relabelPost"; id: number; lang: string }
  | { kind: "rolledBack"; person: Person; edge: Knows };

// Ids up to 8 while graphs have at most 6 people: references to people who do not exist (yet).
const id = fc.integer({ min: 1, max: 8 });
const personArb = fc.record({
  id,
  name: fc.constantFrom("ada", "bob"),
  age: fc.option(fc.integer({ min: 10, max: 60 }), { nil: null }),
  city: fc.constantFrom(...CITIES),
  boss: fc.option(id, { nil: null }),
});
const knowsArb = fc.record({ a: id, b: id, n: fc.integer({ min: 0, max: 1 }), since: fc.constant(2001) });
const writeArb: fc.Arbitrary<Write> = fc.oneof(
  personArb.map((person) => ({ kind: "addPerson" as const, person })),
  id.map((i) => ({ kind: "dropPerson" as const, id: i })),
  fc.tuple(id, fc.option(id, { nil: null })).map(([i, boss]) => ({ kind: "moveBoss" as const, id: i, boss })),
  fc.tuple(id, fc.constantFrom(...CITIES)).map(([i, city]) => ({ kind: "moveCity" as const, id: i, city })),
  fc.array(knowsArb, { minLength: 1, maxLength: 3 }).map((edges) => ({ kind: "addKnows" as const, edges })),
  id.map((a) => ({ kind: "dropKnows" as const, a })),
  fc.record({ id: fc.integer({ min: 1, max: 14 }), author: id, lang: fc.constantFrom(...LANGS) }).map((post) => ({ kind: "addPost" as const, post })),
  fc.tuple(fc.integer({ min: 1, max: 14 }), id).map(([i, author]) => ({ kind: "movePost" as const, id: i, author })),
  fc.tuple(fc.integer({ min: 1, max: 14 }), fc.constantFrom(...LANGS)).map(([i, lang]) => ({ kind: "relabelPost" as const, id: i, lang })),
  fc.tuple(personArb, knowsArb).map(([person, edge]) => ({ kind: "rolledBack" as const, person, edge })),
);

const knowsKey = (k: Knows) => `${k.a}/${k.b}/${k.n}`;

/** Applies a write to the database and to the model; refused writes (a key that exists) change neither. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function apply(db: any, model: GraphData, w: Write): Promise<void> {
  switch (w.kind) {
    case "addPerson":
      if (model.people.some((p) => p.id === w.person.id)) return;
      await db.insertInto("people").values([w.person]).execute();
      model.people.push({ ...w.person });
      return;
    case "dropPerson":
      await db.deleteFrom("people").where("id", "=", w.id).execute();
      model.people = model.people.filter((p) => p.id !== w.id);
      return;
    case "moveBoss":
      await db.updateTable("people").set({ boss: w.boss }).where("id", "=", w.id).execute();
      for (const p of model.people) if (p.id === w.id) p.boss = w.boss;
      return;
    case "moveCity":
      // An update of a column traversals filter on (kept coded beside the rows).
      await db.updateTable("people").set({ city: w.city }).where("id", "=", w.id).execute();
      for (const p of model.people) if (p.id === w.id) p.city = w.city;
      return;
    case "addKnows": {
      const fresh = w.edges.filter((e, i) => !model.knows.some((k) => knowsKey(k) === knowsKey(e)) && w.edges.findIndex((f) => knowsKey(f) === knowsKey(e)) === i);
      if (fresh.length === 0) return;
      // Several rows: the bulk insert into a table that already has rows.
      await db.insertInto("knows").values(fresh).execute();
      model.knows.push(...fresh.map((e) => ({ ...e })));
      return;
    }
    case "dropKnows":
      await db.deleteFrom("knows").where("a", "=", w.a).execute();
      model.knows = model.knows.filter((k) => k.a !== w.a);
      return;
    case "addPost":
      if (model.posts.some((p) => p.id === w.post.id)) return;
      await db.insertInto("posts").values([w.post]).execute();
      model.posts.push({ ...w.post });
      return;
    case "movePost":
      await db.updateTable("posts").set({ author: w.author }).where("id", "=", w.id).execute();
      for (const p of model.posts) if (p.id === w.id) p.author = w.author;
      return;
    case "relabelPost":
      await db.updateTable("posts").set({ lang: w.lang }).where("id", "=", w.id).execute();
      for (const p of model.posts) if (p.id === w.id) p.lang = w.lang;
      return;
    case "rolledBack":
      // Writes inside a session that then throws: nothing of it may remain.
      await expect(
        db.session(async (s: typeof db) => {
          await s.deleteFrom("people").where("id", "=", w.person.id).execute();
          await s.insertInto("people").values([w.person]).execute();
          await s.deleteFrom("knows").where("a", "=", w.edge.a).execute();
          await s.insertInto("knows").values([w.edge]).execute();
          throw new Error("roll back");
        }),
      ).rejects.toThrow("roll back");
      return;
  }
}

const DEFAULT_POLICY = { ...snapshotPolicy };
const POLICIES = [
  { snapshots: "as usual", policy: DEFAULT_POLICY },
  { snapshots: "rebuilt at every read", policy: { perThousandEntries: 0, atLeast: 0, deltaPerThousand: 0, deltaAtLeast: 0 } },
  // Stale for a few reads: a snapshot that is current while its copy of a filtered column is not
  // (after an update of only that column) sends the fused filter to the codes themselves; one
  // whose targets gained or lost rows is read checking each target. Writes to the lists stay in
  // the delta beside the snapshot.
  { snapshots: "rebuilt after a few reads", policy: { perThousandEntries: 0, atLeast: 8, deltaPerThousand: Infinity, deltaAtLeast: Infinity } },
];

describe.each(WITH_CLUSTER)("traversals between writes on $name", (factory) => {
  const createExecutor = executorsFor(factory, afterAll);
  afterEach(() => void Object.assign(snapshotPolicy, DEFAULT_POLICY));
  // The snapshot policies steer one kernel's relation structures, which the single-host
  // executors exercise; a cluster's hosts run that same code, so it checks its own routing and
  // merging under the usual policy only.
  const policies = factory.name === "cluster" ? POLICIES.slice(0, 1) : POLICIES;

  it.each(policies)("every answer matches the reference on the data as written so far (snapshots $snapshots)", async ({ policy }) => {
    Object.assign(snapshotPolicy, policy);
    await checkRounds(await createExecutor(), specArb({ results: ["distinct", "distinct_count", "rows", "count"] }), 30);
  });

  // Distinct traversals are the ones answered from slot lists and snapshots: more of them.
  it.each(policies)("distinct traversals match the reference between writes (snapshots $snapshots)", async ({ policy }) => {
    Object.assign(snapshotPolicy, policy);
    await checkRounds(await createExecutor(), specArb({ results: ["distinct", "distinct_count"], maxOps: 5 }), 40);
  });
});

/**
 * Posts of people (an inverse foreign key) filtered on their language right after the hop: the
 * kernel tests such a filter while it reads the hop's lists, so every round asks it too.
 */
const postsInLang = (lang: string, count: boolean): Spec => ({
  start: { table: "people", filter: {} },
  ops: [{ kind: "hop", dir: "out", rel: "posts" }, { kind: "where", col: "lang", op: "=", value: lang }],
  result: count ? "distinct_count" : "distinct",
  orderBy: [],
  select: null,
  limit: null,
  offset: null,
});

/** Random rounds of writes, each followed by a few random traversals checked against the reference. */
async function checkRounds(executor: Executor, queries: fc.Arbitrary<Spec>, numRuns: number): Promise<void> {
  const fixed = fc.tuple(fc.constantFrom(...LANGS), fc.boolean()).map(([lang, count]) => postsInLang(lang, count));
  const round = fc.tuple(fc.array(writeArb, { minLength: 1, maxLength: 6 }), fc.array(fc.oneof(queries, fixed), { minLength: 1, maxLength: 3 }));
  await fc.assert(
    fc.asyncProperty(graphArb(6), fc.array(round, { minLength: 2, maxLength: 6 }), async (data, rounds) => {
      const db = await loadGraph(executor, data);
      const model: GraphData = structuredClone(data);
      const graph = db.graph as unknown as Graph<UntypedShape>;
      // Traverse once first, so the kernel's relation structures exist before the writes.
      for (const spec of rounds[0]![1]) expect(norm(await buildSpec(graph, spec).execute())).toEqual(norm(reference(model, spec)));
      for (const [writes, specs] of rounds) {
        for (const w of writes) await apply(db, model, w);
        for (const spec of specs) expect(norm(await buildSpec(graph, spec).execute())).toEqual(norm(reference(model, spec)));
      }
    }),
    { numRuns },
  );
}
