/**
 * Starts a server in a worker thread for the HTTP benchmarks, so the server and the clients that
 * load it do not share one event loop. The worker's entry is a TypeScript module that posts
 * `{url}` (or `{error}`) once it listens, and stops on the message "stop".
 */
import { Worker } from "node:worker_threads";

/** A server running in a worker thread. */
export interface WorkerHost {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Runs `entry` (a module URL) in a worker with `workerData`; resolves once it listens.
 *
 * @example
 * ```ts
 * const host = await startWorkerHost(new URL("./http-host.ts", import.meta.url).href, { dataDir }, "http host");
 * // … load host.url …
 * await host.stop();
 * ```
 */
export async function startWorkerHost(entry: string, workerData: unknown, name: string): Promise<WorkerHost> {
  // The worker runs TypeScript too: it registers tsx's loader first (workers do not inherit it).
  const boot = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(boot, { eval: true, workerData });
  const msg = await new Promise<{ url?: string; error?: string }>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`${name} worker exited with ${code}`)));
  });
  if (!msg.url) throw new Error(`${name} worker failed: ${msg.error}`);
  return {
    url: msg.url,
    stop: async () => {
      const exited = new Promise((r) => worker.once("exit", r));
      worker.postMessage("stop");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      await worker.terminate();
    },
  };
}
