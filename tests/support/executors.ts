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
import { cluster, evenRanges } from "../../src/cluster/index.js";

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

/** The token every host of the test cluster accepts. */
const CLUSTER_TOKEN = "test-cluster-token";

/**
 * Three shards over four kernels served on 127.0.0.1 (the last shard has a replica): every table
 * partitioned by key hash, the rows an op reads gathered from the shards (src/cluster/).
 */
export const CLUSTER_EXECUTOR: ExecutorFactory = {
    // Three shards over four kernels served on 127.0.0.1 (the last shard has a replica): every
    // table partitioned by key hash, rows gathered per op (src/cluster/).
    name: "cluster",
    async create() {
      // Each host trusts the cluster's token (a token file, as a deployment would): the hosts a
      // transaction reaches after the first join it under the first host's id with that token.
      const tokens = { tokens: [{ name: "cluster", token: CLUSTER_TOKEN, paths: ["/"] }] };
      const hosts = await Promise.all([0, 1, 2, 3].map(() => serve({ shardMember: true, tokens, limits: { maxMillis: 30_000 }, txnBudgetMs: 30_000, sessionIdleMs: 10_000 })));
      for (const h of hosts) servers.add(h);
      const ranges = evenRanges(3);
      const ex = cluster({
        shards: [
          { range: ranges[0]!, hosts: [hosts[0]!.url] },
          { range: ranges[1]!, hosts: [hosts[1]!.url] },
          { range: ranges[2]!, hosts: [hosts[2]!.url, hosts[3]!.url] },
        ],
        token: CLUSTER_TOKEN,
        init: true,
      });
      return {
        execute: (op, args) => ex.execute(op, args),
        request: (req) => ex.request(req),
        extensions: () => ex.extensions(),
        fanOut: (op, args) => ex.fanOut(op, args),
        session: () => ex.session(),
        async close() {
          await ex.close();
          await Promise.all(hosts.map((h) => h.close()));
          for (const h of hosts) servers.delete(h);
        },
      };
    },
    async cleanup() {
      const open = [...servers];
      servers.clear();
      await Promise.all(open.map((s) => s.close()));
    },
  };

/**
 * Every executor plus the cluster: the suites whose behaviour a cluster shares. Suites of
 * host-local behaviour (sessions holding one host's lock, idle timeouts, libraries and services,
 * `alter`, migrations) stay on `EXECUTORS` (PROFILE §6.16 lists what a cluster does not do).
 */
export const WITH_CLUSTER: ExecutorFactory[] = [...EXECUTORS, CLUSTER_EXECUTOR];

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
