/**
 * `tinychain-orm serve`: an embedded kernel over HTTP (PROFILE §4): in memory without
 * `--data-dir`, durable with it. SIGINT/SIGTERM shut down gracefully (in-flight requests finish,
 * the store is closed); a second signal exits at once. Token file format: src/http/auth.ts.
 */
import type { Command } from "commander";
import { loadTokenFile, serve, type ServeOptions } from "../http/index.js";
import { intIn, UsageError } from "./usage.js";

/** Numeric flags that map one-to-one onto `ServeOptions` (sessions and connection limits). */
const LIMIT_FLAGS = [
  { flag: "--session-idle-ms <ms>", option: "sessionIdleMs", min: 1, max: 3_600_000, help: "roll back a session idle this long (default 500)" },
  { flag: "--lock-queue-limit <n>", option: "lockQueueLimit", min: 0, max: 1_000_000, help: "most transactions waiting for the lock; more get 503 (default 256)" },
  { flag: "--max-connections <n>", option: "maxConnections", min: 1, max: 1_000_000, help: "connections beyond this are closed on accept (default 2048)" },
  { flag: "--headers-timeout-ms <ms>", option: "headersTimeoutMs", min: 1, max: 3_600_000, help: "time to receive a request's headers (default 10000)" },
  { flag: "--request-timeout-ms <ms>", option: "requestTimeoutMs", min: 1, max: 3_600_000, help: "time to receive a whole request (default 30000)" },
  { flag: "--keep-alive-timeout-ms <ms>", option: "keepAliveTimeoutMs", min: 1, max: 3_600_000, help: "idle keep-alive connections are closed after this (default 5000)" },
  { flag: "--socket-timeout-ms <ms>", option: "socketTimeoutMs", min: 1, max: 3_600_000, help: "destroy a connection with no byte moving while a request is open (default 30000)" },
] as const satisfies readonly { flag: string; option: keyof ServeOptions; min: number; max: number; help: string }[];

/** Declares `serve`'s flags on `cmd`. */
export function serveCommand(cmd: Command): Command {
  cmd
    .option("--port <port>", "TCP port; 0 picks a free one", intIn(0, 65535), 8702)
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--data-dir <dir>", "durable data directory (default: an in-memory store)")
    .option("--token-file <file>", 'bearer tokens and their grants: {"tokens": [{"name", "token", "paths", "verbs"?}]}')
    .option("--body-limit <bytes>", "largest request body (default 1048576)", intIn(1, 1 << 30))
    .option("--txn-budget-ms <ms>", "a session's time budget (default 3000)", intIn(1, 3_600_000))
    .option("--lib-quota-versions <n>", "library versions one principal may install (default 10000)", intIn(0, 1e9))
    .option("--lib-quota-bytes <bytes>", "bytes of definitions one principal may install (default 67108864)", intIn(0, 2 ** 40))
    .option("--op-budget-ms <ms>", "wall-clock budget of each served op (default 50)", intIn(1, 3_600_000))
    .option("--route <prefix=url>", "serve calls on a path prefix this host does not serve through another host, e.g. /lib/acme/b=http://127.0.0.1:8703 (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("--egress-allow <url>", "let ops call this absolute target: an authority and a path prefix, e.g. http://10.0.0.5:8702/lib/acme (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("--shard-member", "serve as one shard of a cluster: foreign keys are checked by the cluster client, not here (PROFILE §6.16)")
    .option("--quiet", "no access log on stderr");
  for (const l of LIMIT_FLAGS) cmd.option(l.flag, l.help, intIn(l.min, l.max));
  return cmd;
}

interface ServeFlags {
  port: number;
  host: string;
  dataDir?: string;
  tokenFile?: string;
  bodyLimit?: number;
  txnBudgetMs?: number;
  libQuotaVersions?: number;
  libQuotaBytes?: number;
  opBudgetMs?: number;
  route?: string[];
  egressAllow?: string[];
  shardMember?: boolean;
  quiet?: boolean;
  [limit: string]: unknown;
}

/** Runs `serve` with parsed flags; resolves once listening (the process then lives until a signal). */
export async function runServe(flags: ServeFlags): Promise<void> {
  const limits: Record<string, number> = {};
  for (const l of LIMIT_FLAGS) if (typeof flags[l.option] === "number") limits[l.option] = flags[l.option] as number;
  const libQuota =
    flags.libQuotaVersions !== undefined || flags.libQuotaBytes !== undefined
      ? { ...(flags.libQuotaVersions !== undefined ? { maxVersions: flags.libQuotaVersions } : {}), ...(flags.libQuotaBytes !== undefined ? { maxBytes: flags.libQuotaBytes } : {}) }
      : undefined;
  const routes: Record<string, string> = {};
  for (const r of flags.route ?? []) {
    const at = r.indexOf("=");
    if (at <= 0 || !r.startsWith("/")) throw new UsageError(`--route takes PREFIX=URL (e.g. /lib/acme/b=http://127.0.0.1:8703), got ${JSON.stringify(r)}`);
    routes[r.slice(0, at)] = r.slice(at + 1);
  }
  const allow = (flags.egressAllow ?? []).map((u) => {
    const m = /^(https?:\/\/[^/\s]+)(\/\S*)$/.exec(u);
    if (!m) throw new UsageError(`--egress-allow takes an absolute URL with a path prefix (e.g. http://10.0.0.5:8702/lib/acme), got ${JSON.stringify(u)}`);
    return { authority: m[1]!, paths: [m[2]!] };
  });
  const egress = Object.keys(routes).length > 0 || allow.length > 0 ? { routes, allow } : undefined;
  const opts: ServeOptions = {
    port: flags.port,
    ...(egress !== undefined ? { egress } : {}),
    ...(flags.shardMember ? { shardMember: true } : {}),
    host: flags.host,
    ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
    ...(flags.bodyLimit !== undefined ? { bodyLimit: flags.bodyLimit } : {}),
    ...(flags.txnBudgetMs !== undefined ? { txnBudgetMs: flags.txnBudgetMs } : {}),
    ...(libQuota !== undefined ? { libQuota } : {}),
    ...(flags.opBudgetMs !== undefined ? { limits: { maxMillis: flags.opBudgetMs } } : {}),
    ...limits,
    ...(flags.tokenFile !== undefined ? { tokens: await loadTokenFile(flags.tokenFile) } : {}),
    ...(flags.quiet ? {} : { log: (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`) }),
  };
  const srv = await serve(opts);
  process.stdout.write(
    `tinychain-orm serving ${flags.dataDir ? `data dir ${flags.dataDir}` : "an in-memory store"} at ${srv.url}` +
      `${flags.tokenFile ? " (bearer tokens required)" : ""}\n`,
  );
  onSignals(() => srv.close());
}

/** SIGINT/SIGTERM run `close` then exit 0 (1 if it fails); a second signal exits at once. */
export function onSignals(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      process.stderr.write(`tinychain-orm: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`tinychain-orm: ${signal}: finishing in-flight requests…\n`);
    close().then(
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
