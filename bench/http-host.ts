/**
 * Worker-thread side of bench/http.ts: runs either the served kernel (loaded with the users table)
 * or the trivial baseline server in its own thread — its own event loop and heap, as a remote
 * host would have — and posts back its URL.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import { Kernel } from "../src/kernel/index.js";
import { serve } from "../src/http/index.js";
import type { Json } from "../src/ir/types.js";

interface HostData {
  readonly kind: "kernel" | "bare";
  /** kernel: the users table schema and its rows; bare: the bytes to answer. */
  readonly schema?: Json;
  readonly rows?: Json[];
  readonly path?: string;
  readonly answer?: string;
}

async function main(): Promise<void> {
  const data = workerData as HostData;
  if (data.kind === "bare") {
    const answer = data.answer!;
    const bare = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) });
        res.end(answer);
      });
    });
    await new Promise<void>((r) => bare.listen(0, "127.0.0.1", r));
    parentPort!.postMessage({ url: `http://127.0.0.1:${(bare.address() as AddressInfo).port}` });
    parentPort!.once("message", () => bare.close(() => process.exit(0)));
    return;
  }
  const kernel = await Kernel.open({});
  await kernel.request({ verb: "put", path: data.path!, key: null, body: { "/state/collection/table": [data.schema!, []] } });
  const rows = data.rows!;
  for (let i = 0; i < rows.length; i += 10_000) {
    await kernel.request({ verb: "put", path: `${data.path!}/insert_rows`, key: null, body: rows.slice(i, i + 10_000) });
  }
  const srv = await serve({ kernel, closeKernel: true });
  parentPort!.postMessage({ url: srv.url });
  parentPort!.once("message", () => void srv.close().then(() => process.exit(0)));
}

main().catch((e: unknown) => {
  parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) });
});
