#!/usr/bin/env node
/**
 * The `tinychain-orm` command line.
 *
 *   tinychain-orm serve [--port 8702] [--host 127.0.0.1] [--data-dir ./data] [--token-file tokens.json]
 *                       [--body-limit 1048576] [--txn-budget-ms 3000] [--quiet]
 *                       [--session-idle-ms 500] [--lock-queue-limit 256] [--max-connections 2048]
 *                       [--headers-timeout-ms 10000] [--request-timeout-ms 30000]
 *                       [--keep-alive-timeout-ms 5000] [--socket-timeout-ms 30000]
 *
 * `serve` exposes an embedded kernel over HTTP (PROFILE §4): in memory without `--data-dir`,
 * durable with it. SIGINT/SIGTERM shut down gracefully (in-flight requests finish, the store is
 * closed). Token file format: see `src/http/auth.ts`.
 */
import { TcError } from "./errors.js";
import { loadTokenFile, serve, type ServeOptions } from "./http/index.js";

const USAGE = `usage: tinychain-orm serve [--port 8702] [--host 127.0.0.1] [--data-dir DIR] [--token-file FILE]
                           [--body-limit BYTES] [--txn-budget-ms MS] [--quiet]
                           [--session-idle-ms MS] [--lock-queue-limit N] [--max-connections N]
                           [--headers-timeout-ms MS] [--request-timeout-ms MS]
                           [--keep-alive-timeout-ms MS] [--socket-timeout-ms MS]`;

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

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return runServe(rest);
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
