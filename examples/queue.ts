/**
 * A long job through a work queue: recompute a derived column (`total = price × 1.2`) over every
 * row of a table, in slices of 20,000 rows — one transaction per slice, each well within the
 * 3-second cap — while the caller follows the task's progress. Runs on the embedded kernel:
 *
 *   npx tsx examples/queue.ts            # 100,000 rows
 *   npx tsx examples/queue.ts 1000000    # a million
 *
 * The same calls work against a served host: pass `http(url)` instead of `embedded()`.
 */
import { col, connect, defineService, embedded, installService, queue, schema, table, type Json } from "../src/index.js";

const items = table("items", { id: col.u64().key(), price: col.f64(), total: col.f64().nullable() });
const shop = schema({ namespace: "shop", tables: { items } });
const SLICE = 20_000;

// One iteration: the rows [next, next + SLICE), each rewritten with its total; the next state.
const step: Json = {
  "/state/scalar/op/post": [
    ["next", { "$state/get": { i: "next" } }],
    ["rows", { "$args/get": { i: "rows" } }],
    ["end", { "$next/add": { r: SLICE } }],
    ["slice", { "/state/shop/items": [[["id", [["in", { $next: [] }], ["ex", { $end: [] }]]]]] }],
    ["list", { "$slice/rows": [null] }],
    [
      "done_rows",
      {
        "/state/scalar/ref/for_each": [
          { $list: [] },
          {
            "/state/scalar/op/post": [
              ["id", { "$row/get": { i: 0 } }],
              ["price", { "$row/get": { i: 1 } }],
              ["total", { "$price/mul": { r: 1.2 } }],
              ["_r", { "/state/shop/items": [[{ $id: [] }], [{ $price: [] }, { $total: [] }]] }],
            ],
          },
          "row",
        ],
      },
    ],
    // `after`: the slice is written before the state that follows it (an unused step never runs).
    ["n", { "/state/scalar/ref/after": [{ $done_rows: [] }, { $end: [] }] }],
    ["finished", { "$n/ge": { r: { $rows: [] } } }],
    ["progress", { "$n/div": { r: { $rows: [] } } }],
    ["_r", { state: { next: { $n: [] } }, done: { $finished: [] }, result: { $rows: [] }, progress: { $progress: [] } }],
  ],
};
const recompute = defineService<{ rows: number }, number>({
  publisher: "example",
  namespace: "shop",
  name: "recompute",
  version: "1.0.0",
  step,
  init: { "/state/scalar/op/post": [["_r", { next: 0 }]] },
});

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 100_000);
  const ex = embedded();
  const db = await connect(shop, ex);
  await db.sync();
  for (let at = 0; at < rows; at += 50_000) {
    const batch = Array.from({ length: Math.min(50_000, rows - at) }, (_, k) => ({ id: at + k, price: (at + k) % 100, total: null }));
    await db.insertInto("items").values(batch).execute();
  }
  await installService(ex, recompute);
  const started = performance.now();
  const task = await queue(ex, recompute).enqueue({ rows });
  for await (const s of task.changes({ intervalMs: 100 })) {
    console.log(`${s.status.padEnd(8)} ${((s.progress ?? 0) * 100).toFixed(0).padStart(3)}% after ${s.iterations} slice(s)`);
  }
  console.log(`recomputed ${await task.result()} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const sample = await db.selectFrom("items").where("id", "=", 42).executeTakeFirstOrThrow();
  console.log(`item 42: price ${sample.price}, total ${sample.total?.toFixed(2)}`);
  await db.close();
}

await main();
