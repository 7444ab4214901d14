#!/usr/bin/env node
/**
 * The `tinychain-orm` command line (commander): `serve`, `verify`, `inspect`, `import`,
 * `export`, `studio`, `migrate`, `token`. Every command and flag has help text (`--help`); `--version`
 * prints the package version. No command prints the usage and exits 2; bad usage (an unknown
 * command or flag, a bad value, a missing argument) prints one line naming the problem and exits
 * 2; a failure while running prints one line and exits 1. The commands live in src/cli/.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { TcError } from "./errors.js";
import { runExport } from "./cli/export.js";
import { runImport } from "./cli/import.js";
import { renderInspect, type InspectFormat } from "./cli/inspect.js";
import { runMigrate } from "./cli/migrate.js";
import { onSignals, runServe, serveCommand } from "./cli/serve.js";
import { startStudio } from "./cli/studio.js";
import { openSource, reflect, sourceOptions, type SourceFlags } from "./cli/source.js";
import { intIn, USAGE_EXIT, UsageError, usageFail } from "./cli/usage.js";
import { runVerify } from "./cli/verify.js";
import { runIssue, runKeygen } from "./cli/token.js";

function version(): string {
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { version: string }).version;
    } catch {
      // the other layout (src/ when run from source, dist/ when built)
    }
  }
  return "unknown";
}

/** Runs `fn` on the source the flags name, closing it afterwards. */
async function withSource<T>(flags: SourceFlags, fn: (src: Awaited<ReturnType<typeof openSource>>) => Promise<T>): Promise<T> {
  const src = await openSource(flags);
  try {
    return await fn(src);
  } finally {
    await src.close();
  }
}

function program(): Command {
  const prog = new Command("tinychain-orm")
    .description("Serve, inspect, import into, export from and browse a tinychain-orm store (a data directory or a host).")
    .version(version(), "-V, --version", "print the version")
    .helpOption("-h, --help", "show help for a command")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined }); // errors are printed by main(), one line each

  serveCommand(prog.command("serve").description("serve an embedded kernel over HTTP (in memory, or durable with --data-dir)")).action(runServe);

  prog
    .command("verify")
    .description("check a data directory without changing it; exit 0 when sound, 1 when damaged")
    .option("--data-dir <dir>", "the data directory to check")
    .action(async (o: { dataDir?: string }) => {
      if (o.dataDir === undefined) throw new UsageError("verify needs --data-dir DIR");
      await runVerify(o.dataDir);
    });

  sourceOptions(
    prog
      .command("inspect")
      .description("list tables: columns, key, indexes, row counts and relations")
      .addOption(new Option("--mermaid", "print the relations as a Mermaid flowchart").conflicts(["dot", "json", "svg"]))
      .addOption(new Option("--dot", "print the relations as Graphviz DOT").conflicts(["json", "svg"]))
      .addOption(new Option("--svg", "print the schema as an SVG picture (tables, keys, row counts, relations)").conflicts(["json"]))
      .option("--json", "print everything as JSON"),
  ).action(async (o: SourceFlags & { mermaid?: boolean; dot?: boolean; json?: boolean; svg?: boolean }) => {
    const format: InspectFormat = o.mermaid ? "mermaid" : o.dot ? "dot" : o.svg ? "svg" : o.json ? "json" : "text";
    await withSource(o, async (src) => process.stdout.write(renderInspect(await reflect(src, o), format, src.label)));
  });

  sourceOptions(
    prog
      .command("import")
      .description("load a CSV or JSON Lines file into a table: validated, all or nothing (one session)")
      .argument("<table>", "the table: name, namespace/name or /state/namespace/name")
      .argument("<file>", "a .csv file (header line of column names) or a .jsonl file (one object per line)")
      .addOption(new Option("--format <format>", "the file's format (default: from its extension)").choices(["csv", "jsonl"]))
      .option("--skip-bad", "report bad rows and import the others (default: any bad row imports nothing)")
      .option("--batch-size <n>", "rows per insert", intIn(1, 100_000), 1000)
      .option("--max-errors <n>", "bad rows printed at most (all are counted)", intIn(0, 1e9), 20)
      .option("--progress", "draw the progress bar even when stderr is not a terminal")
      .option("--no-progress", "no progress bar"),
  ).action(async (tableRef: string, file: string, o: SourceFlags & { format?: "csv" | "jsonl"; skipBad?: boolean; batchSize: number; maxErrors: number; progress?: boolean }) => {
    const progress = o.progress ?? process.stderr.isTTY === true;
    const report = await withSource(o, async (src) =>
      runImport(await reflect(src, o), tableRef, file, { ...(o.format ? { format: o.format } : {}), skipBad: o.skipBad === true, batchSize: o.batchSize, progress, maxReported: o.maxErrors }),
    );
    if (!report.committed) process.exitCode = 1;
  });

  sourceOptions(
    prog
      .command("export")
      .description("write a table's rows as CSV or JSON Lines, read page by page")
      .argument("<table>", "the table: name, namespace/name or /state/namespace/name")
      .addOption(new Option("--format <format>", "output format").choices(["csv", "jsonl"]).default("csv"))
      .option("--out <file>", "write to this file (default: stdout)")
      .option("--page-size <n>", "rows read per transaction", intIn(1, 100_000), 1000),
  ).action(async (tableRef: string, o: SourceFlags & { format: "csv" | "jsonl"; out?: string; pageSize: number }) => {
    const n = await withSource(o, async (src) => runExport(await reflect(src, o), tableRef, { format: o.format, pageSize: o.pageSize, ...(o.out !== undefined ? { out: o.out } : {}) }));
    if (o.out !== undefined) process.stderr.write(`tinychain-orm: exported ${n} row(s) to ${o.out}\n`);
  });

  sourceOptions(
    prog
      .command("studio")
      .description("a local web page (127.0.0.1): the schema as a graph, a table browser, a traversal runner")
      .option("--port <port>", "port on 127.0.0.1; 0 picks a free one", intIn(0, 65535), 8703)
      .option("--write", "allow inserting and deleting rows (default: read-only)"),
  ).action(async (o: SourceFlags & { port: number; write?: boolean }) => {
    const src = await openSource(o);
    try {
      const first = await reflect(src, o);
      const studio = await startStudio(first, { port: o.port, write: o.write === true, label: src.label, refresh: () => reflect(src, o) });
      process.stdout.write(`tinychain-orm studio for ${src.label} (${o.write ? "read-write" : "read-only"}) at ${studio.url}\n`);
      onSignals(async () => {
        await studio.close();
        await src.close();
      });
    } catch (e) {
      await src.close();
      throw e;
    }
  });

  sourceOptions(
    prog
      .command("migrate")
      .description("plan the migration from the store's tables to a schema module's (one readable step a line), or --apply it")
      .option("--apply", "apply the plan: each namespace in one transaction, recorded in /state/<ns>/_migrations (refused, changing nothing, when a change cannot be migrated)"),
  ).action(async (o: SourceFlags & { apply?: boolean }) => {
    if (o.schema === undefined) throw new UsageError("migrate needs --schema MODULE (the declarations to migrate to)");
    const code = await withSource(o, (src) => runMigrate(src, o.schema!, o.apply === true));
    process.exitCode = code;
  });

  const token = prog.command("token").description("signed (RJWT) bearer tokens: make an actor's key, issue tokens");
  token
    .command("keygen")
    .description("write a new Ed25519 private key for an actor; print its token-file entry {id, publicKey}")
    .requiredOption("--actor <id>", "the actor's id")
    .requiredOption("--out <file>", "where to write the private key (PKCS#8 PEM, mode 0600; never overwritten)")
    .action((o: { actor: string; out: string }) => runKeygen(o.actor, o.out));
  token
    .command("issue")
    .description("print a bearer token signed by an actor's key, granting each --claim (several: a chain of tokens)")
    .requiredOption("--key <file>", "the actor's private key (from token keygen)")
    .requiredOption("--actor <id>", "the actor's id (as the host's token file names it)")
    .requiredOption("--host <link>", "the issuing host's link, e.g. http://127.0.0.1:8702 (the token's iss)")
    .option("--claim <link=mode>", "a path or link and its mode: letters r, w, x or an octal umask (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("--ttl <seconds>", "lifetime in seconds", intIn(1, 366 * 24 * 3600), 3600)
    .action((o: { key: string; actor: string; host: string; claim: string[]; ttl: number }) =>
      runIssue({ key: o.key, actor: o.actor, host: o.host, claims: o.claim, ttl: o.ttl }),
    );

  return prog;
}

async function main(argv: readonly string[]): Promise<void> {
  const prog = program();
  if (argv.length === 0) {
    process.stderr.write(prog.helpInformation());
    process.exit(USAGE_EXIT);
  }
  try {
    await prog.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") process.exit(0);
      const name = argv.find((a) => !a.startsWith("-")) ?? "";
      const sub = prog.commands.find((c) => c.name() === name);
      usageFail(e.message, sub ? `tinychain-orm ${sub.name()} ${sub.usage()}` : `tinychain-orm ${prog.usage()}`);
    }
    if (e instanceof UsageError) {
      const sub = prog.commands.find((c) => c.name() === argv[0]);
      usageFail(e.message, sub ? `tinychain-orm ${sub.name()} ${sub.usage()}` : `tinychain-orm ${prog.usage()}`);
    }
    throw e;
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  const message = e instanceof TcError ? e.message : e instanceof Error ? e.message : String(e);
  process.stderr.write(`tinychain-orm: ${message}\n`);
  process.exit(1);
});
