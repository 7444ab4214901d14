/**
 * Serving the kernel over HTTP: a durable kernel served on 127.0.0.1 with two tokens (an app that
 * reads and writes, a reader that only reads), the ORM connected to it over HTTP, and what each
 * token may do. Runs as it is and cleans up after itself:
 *
 *   npx tsx examples/serve.ts
 *
 * From the command line the same server is `npx tinychain-orm serve --data-dir ./data
 * --token-file tokens.json` (after `npm run build`).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ForbiddenError, col, connect, http, schema, serve, table } from "../src/index.js";

export const notes = table("notes", {
  id: col.u64().key(),
  title: col.string(64),
  stars: col.u32().default(0),
}).index("by_stars", ["stars"]);

export const app = schema({ namespace: "serve_example", tables: { notes } });

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "tc-serve-example-"));
  const host = await serve({
    port: 0, // any free port
    dataDir,
    tokens: {
      tokens: [
        { name: "app", token: "app-secret", paths: ["/state/serve_example", "/lib"] },
        { name: "reader", token: "reader-secret", paths: ["/state/serve_example"], verbs: ["get"] },
      ],
    },
  });
  const writer = await connect(app, http(host.url, { token: "app-secret" }));
  const reader = await connect(app, http(host.url, { token: "reader-secret" }));
  try {
    console.log("serving on", host.url);
    await writer.sync(); // the served kernel is its own store: create the tables there
    await writer.insertInto("notes").values([
      { id: 1, title: "hello", stars: 3 },
      { id: 2, title: "over http", stars: 5 },
    ]).execute();

    // A read-only token runs every read the ORM emits…
    const starred = await reader.selectFrom("notes").where("stars", ">=", 4).select(["id", "title"]).execute();
    console.log("starred:", starred); // [{ id: 2, title: "over http" }]

    // …and nothing else: a write is refused before it runs, with a typed error.
    try {
      await reader.updateTable("notes").set({ stars: 0 }).where("id", "=", 1).execute();
      throw new Error("a read-only token wrote");
    } catch (e) {
      if (!(e instanceof ForbiddenError)) throw e;
      console.log("reader may not write:", e.status, e.message);
    }

    // A session over HTTP: one transaction across calls, committed at the end.
    const moved = await writer.session(async (s) => {
      await s.updateTable("notes").set({ stars: 4 }).where("id", "=", 1).execute();
      return s.selectFrom("notes").where("stars", ">=", 4).count().execute();
    });
    console.log("notes with 4+ stars after the session:", moved); // 2
  } finally {
    await writer.close();
    await reader.close();
    await host.close(); // closes the kernel and its data directory
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
