/**
 * TinyChain's reference example: library A, installed in an embedded kernel with no server of its
 * own, calls its dependency B, served by a second process over HTTP — through a configured route,
 * in one transaction across both hosts. Runs as it is:
 *
 *   npx tsx examples/remote-library.ts
 *
 * (It starts `tinychain-orm serve` for B itself; with the package installed that is
 * `npx tinychain-orm serve --port 8703`.)
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { defineLibrary, embedded, http, installLibrary, post, put, ref, route, after } from "../src/index.js";

const NOTES = { "/state/collection/table": [[[[["k", "/state/scalar/value/number/uint/64"]], [["v", "/state/scalar/value/string", 32]]], []], []] };

// B: served by the other process.
const b = defineLibrary({
  publisher: "example-devco",
  name: "b",
  version: "1.0.0",
  routes: {
    hello: route.get<string, string>("name", (o) => {
      const t = o.step("template", "Hello, {{name}}!");
      return o.returns(post(ref(t, "render"), { name: o.key }));
    }),
    record: route.put<number, string>("k", "v", (o) => o.returns(put("/state/remote/notes", [o.key], [o.value]))),
  },
});

// A: declares B as a dependency; `both` writes here and on B's host, in one transaction.
const a = defineLibrary({
  publisher: "acme",
  name: "a",
  version: "1.0.0",
  dependencies: [b],
  routes: {
    greet: route.get<null, string>("unused", (o) => o.returns(b.stub().hello("A").scalar)),
    both: route.put<number, string>("k", "v", (o) => {
      const here = o.step("here", put("/state/local/notes", [o.key], [o.value]));
      return o.returns(after(here, b.stub().record(o.key, o.value).scalar));
    }),
  },
});

/** Starts `tinychain-orm serve` in a child process and resolves with its URL. */
function serveB(): Promise<{ url: string; stop: () => void }> {
  const cli = join(import.meta.dirname, "..", "src", "cli.ts");
  const child = spawn(process.execPath, ["--import", "tsx", cli, "serve", "--port", "0", "--quiet"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /at (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, stop: () => child.kill("SIGTERM") });
    });
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const host = await serveB();
  const remote = http(host.url);
  const local = embedded({ egress: { routes: { "/lib/example-devco/b": host.url } } });
  try {
    await remote.request({ verb: "put", path: "/state/remote/notes", body: NOTES });
    await installLibrary(remote, b);
    await local.request({ verb: "put", path: "/state/local/notes", body: NOTES });
    await installLibrary(local, a);

    console.log(await a.stub().greet().run(local)); // "Hello, A!" — answered by the other process
    await a.stub().both(1, "written on both hosts").run(local);
    const read = async (ex: typeof local, path: string) => ((await ex.request({ verb: "get", path: `${path}/count` })) as number);
    console.log(`rows here: ${await read(local, "/state/local/notes")}, rows on B's host: ${await read(remote, "/state/remote/notes")}`);
  } finally {
    await local.close();
    await remote.close();
    host.stop();
  }
}

await main();
