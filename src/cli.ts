#!/usr/bin/env node
/**
 * The `tinychain-orm` command line.
 *
 *   tinychain-orm serve [--port 8702] [--host 127.0.0.1] [--data-dir ./data] [--token-file tokens.json]
 *                       [--body-limit 1048576] [--txn-budget-ms 3000] [--quiet]
 *                       [--lib-quota-versions 10000] [--lib-quota-bytes 67108864] [--op-budget-ms 50]
 *                       [--session-idle-ms 500] [--lock-queue-limit 256] [--max-connections 2048]
 *                       [--headers-timeout-ms 10000] [--request-timeout-ms 30000]
 *                       [--keep-alive-timeout-ms 5000] [--socket-timeout-ms 30000]
 *   tinychain-orm verify --data-dir ./data
 *
 * `serve` exposes an embedded kernel over HTTP (PROFILE §4): in memory without `--data-dir`,
 * durable with it. SIGINT/SIGTERM shut down gracefully (in-flight requests finish, the store is
 * closed). Token file format: see `src/http/auth.ts`.
 *
 * `verify` checks a data directory without changing it (src/kernel/storage/store-verify.ts):
 * the lock, the data file's checksum, every table's catalog entry, rows, row count, schema and
 * indexes. It prints a report and exits 0 when the store is sound, 1 when it is not.
 */
import { TcError } from "./errors.js";
import { loadTokenFile, serve, type ServeOptions } from "./http/index.js";

const USAGE = `usage: tinychain-orm serve [--port 8702] [--host 127.0.0.1] [--data-dir DIR] [--token-file FILE]
                           [--body-limit BYTES] [--txn-budget-ms MS] [--quiet]
                           [--lib-quota-versions N] [--lib-quota-bytes BYTES] [--op-budget-ms MS]
                           [--session-idle-ms MS] [--lock-queue-limit N] [--max-connections N]
                           [--headers-timeout-ms MS] [--request-timeout-ms MS]
                           [--keep-alive-timeout-ms MS] [--socket-timeout-ms MS]
       tinychain-orm verify --data-dir DIR`;

/** Numeric `serve` flags that map one-to-one onto `ServeOptions` (sessions and connection limits). */
const LIMIT_FLAGS = {
  "--session-idle-ms": { option: "sessionIdleMs", min: 1, max: 3_600_000 },
  "--lock-queue-limit": { option: "lockQueueLimit", min: 0, max: 1_000_000 },
  "--max-connections": { option: "maxConnections", min: 1, max: 1_000_000 },
  "--headers-timeout-ms": { option: "headersTimeoutMs", min: 1, max: 3_600_000 },
  "--request-timeout-ms": { option: "requestTimeoutMs", min: 1, max: 3_600_000 },
  "--keep-alive-timeout-ms": { option: "keepAliveTimeoutMs", min: 1, max: 3_600_000 },
  "--socket-timeout-ms": { option: "socketTimeoutMs", min: 1, max: 3_600_000 },
} as const satisfies Record<string, { option: keyof ServeOptions; min: number; max: number }>;

type LimitOption = (typeof LIMIT_FLAGS)[keyof typeof LIMIT_FLAGS]["option"];

interface ServeArgs {
  port: number;
  host: string;
  dataDir?: string;
  tokenFile?: string;
  bodyLimit?: number;
  txnBudgetMs?: number;
  libQuota?: { maxVersions?: number; maxBytes?: number };
  opBudgetMs?: number;
  limits: Partial<Record<LimitOption, number>>;
  quiet: boolean;
}

function fail(message: string): never {
  process.stderr.write(`tinychain-orm: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseServeArgs(argv: readonly string[]): ServeArgs {
  const out: ServeArgs = { port: 8702, host: "127.0.0.1", limits: {}, quiet: false };
  const int = (flag: string, v: string | undefined, min: number, max: number): number => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < min || Number(v) > max) fail(`${flag} needs an integer in [${min}, ${max}]`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") fail(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--port":
        out.port = int(flag, value(), 0, 65535);
        break;
      case "--host":
        out.host = value();
        break;
      case "--data-dir":
        out.dataDir = value();
        break;
      case "--token-file":
        out.tokenFile = value();
        break;
      case "--body-limit":
        out.bodyLimit = int(flag, value(), 1, 1 << 30);
        break;
      case "--txn-budget-ms":
        out.txnBudgetMs = int(flag, value(), 1, 3_600_000);
        break;
      case "--lib-quota-versions":
        out.libQuota = { ...out.libQuota, maxVersions: int(flag, value(), 0, 1e9) };
        break;
      case "--lib-quota-bytes":
        out.libQuota = { ...out.libQuota, maxBytes: int(flag, value(), 0, 2 ** 40) };
        break;
      case "--op-budget-ms":
        out.opBudgetMs = int(flag, value(), 1, 3_600_000);
        break;
      case "--quiet":
        out.quiet = true;
        break;
      case "--help":
      case "-h":
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default: {
        const limit = Object.hasOwn(LIMIT_FLAGS, flag) ? LIMIT_FLAGS[flag as keyof typeof LIMIT_FLAGS] : undefined;
        if (limit === undefined) fail(`unknown option ${JSON.stringify(arg)}`);
        out.limits[limit.option] = int(flag, value(), limit.min, limit.max);
      }
    }
  }
  return out;
}

async function runServe(argv: readonly string[]): Promise<void> {
  const args = parseServeArgs(argv);
  const opts: ServeOptions = {
    port: args.port,
    host: args.host,
    ...(args.dataDir !== undefined ? { dataDir: args.dataDir } : {}),
    ...(args.bodyLimit !== undefined ? { bodyLimit: args.bodyLimit } : {}),
    ...(args.txnBudgetMs !== undefined ? { txnBudgetMs: args.txnBudgetMs } : {}),
    ...(args.libQuota !== undefined ? { libQuota: args.libQuota } : {}),
    ...(args.opBudgetMs !== undefined ? { limits: { maxMillis: args.opBudgetMs } } : {}),
    ...args.limits,
    ...(args.tokenFile !== undefined ? { tokens: await loadTokenFile(args.tokenFile) } : {}),
    ...(args.quiet ? {} : { log: (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`) }),
  };
  const srv = await serve(opts);
  process.stdout.write(
    `tinychain-orm serving ${args.dataDir ? `data dir ${args.dataDir}` : "an in-memory store"} at ${srv.url}` +
      `${args.tokenFile ? " (bearer tokens required)" : ""}\n`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      process.stderr.write(`tinychain-orm: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`tinychain-orm: ${signal}: finishing in-flight requests…\n`);
    srv.close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`tinychain-orm: shutdown failed: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

/** `verify --data-dir DIR`: prints the report; exit 0 when sound, 1 when not. */
async function runVerify(argv: readonly string[]): Promise<void> {
  let dataDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--data-dir") {
      dataDir = argv[++i];
      if (dataDir === undefined) fail("--data-dir needs a value");
    } else if (arg.startsWith("--data-dir=")) {
      dataDir = arg.slice("--data-dir=".length);
    } else if (arg === "--help" || arg === "-h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else {
      fail(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  if (dataDir === undefined) fail("verify needs --data-dir DIR");
  const { verifyDataDir } = await import("./kernel/storage/store-verify.js");
  const report = await verifyDataDir(dataDir);
  const lines = [`tinychain-orm verify: data directory ${dataDir}`];
  for (const c of report.checked) lines.push(`  ok       ${c}`);
  for (const p of report.problems) lines.push(`  PROBLEM  ${p}`);
  lines.push(report.sound ? "sound" : `damaged: ${report.problems.length} problem(s)`);
  process.stdout.write(`${lines.join("\n")}\n`);
  process.exitCode = report.sound ? 0 : 1;
}

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return runServe(rest);
    case "verify":
      return runVerify(rest);
    case undefined:
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      fail(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  const message = e instanceof TcError ? e.message : e instanceof Error ? e.message : String(e);
  process.stderr.write(`tinychain-orm: ${message}\n`);
  process.exit(1);
});
