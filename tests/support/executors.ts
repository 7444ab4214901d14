/**
 * The executors every conformance suite runs against (`describe.each(EXECUTORS)`): the embedded
 * kernel in memory, on a durable store in a temporary directory, and over HTTP ("http": the
 * kernel served on 127.0.0.1, random port).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Executor } from "../../src/executor.js";
import { embedded } from "../../src/kernel/index.js";
import { http, serve, type ServerHandle } from "../../src/http/index.js";

export interface ExecutorFactory {
  readonly name: string;
  /** A fresh executor on a fresh, empty store. */
  create(): Promise<Executor>;
  /** Removes whatever `create` left behind (temp dirs); call after closing the executors. */
  cleanup?(): Promise<void>;
}

const tempDirs: string[] = [];

export const EXECUTORS: ExecutorFactory[] = [
  {
    name: "embedded memory",
    async create() {
      return embedded();
    },
  },
  {
    name: "embedded durable",
    async create() {
      const dir = await mkdtemp(join(tmpdir(), "tc-orm-durable-"));
      tempDirs.push(dir);
      return embedded({ dataDir: dir });
    },
    async cleanup() {
      const dirs = tempDirs.splice(0);
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  },
  {
    // A fresh in-memory kernel served on 127.0.0.1 (random port), reached through the undici client.
    name: "http",
    async create() {
      // The conformance suites check results, not the served 50 ms op budget (tested on its own
      // in tests/http/served-kernel.test.ts and healthz-load.test.ts): a core-lowered traversal
      // may take longer than that on a loaded machine.
      const server = await serve({ limits: { maxMillis: 30_000 } });
      servers.add(server);
      const client = http(server.url);
      return {
        execute: (op, args) => client.execute(op, args),
        request: (req) => client.request(req),
        extensions: () => client.extensions!(),
        session: () => client.session(),
        async close() {
          await client.close();
          await server.close();
          servers.delete(server);
        },
      };
    },
    async cleanup() {
      const open = [...servers];
      servers.clear();
      await Promise.all(open.map((s) => s.close()));
    },
  },
];

const servers = new Set<ServerHandle>();

/**
 * For a suite over one factory: returns `create()`, which opens an executor that is closed (and
 * the factory cleaned up) after the suite. Call it at `describe` level.
 */
export function executorsFor(factory: ExecutorFactory, afterAll: (fn: () => Promise<void>) => void): () => Promise<Executor> {
  const open: Executor[] = [];
  afterAll(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()));
    await factory.cleanup?.();
  });
  return async () => {
    const executor = await factory.create();
    open.push(executor);
    return executor;
  };
}
