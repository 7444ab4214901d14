/**
 * `tinychain-orm import <table> <file>`: loads a CSV (header line of column names; an empty field
 * is null in a nullable column) or JSON Lines file (one object per line) into a table.
 *
 * The file is streamed: rows are parsed, converted to the column types, validated by the ORM's
 * zod row schema (`insertTuple`) and checked for keys repeated in the file or (one-column keys)
 * already in the table, then inserted in batches (`--batch-size`). Everything runs in one session,
 * so the import is all or nothing: a bad row is reported with its line number, nothing is
 * committed and the exit code is 1. `--skip-bad` reports bad rows, leaves them out and commits
 * the rest. A progress bar (cli-progress) on stderr follows the bytes read.
 */
import { createReadStream, statSync, type ReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { parse } from "csv-parse";
import { SingleBar } from "cli-progress";
import type { Db } from "../connect.js";
import type { AnySchema } from "../orm/index.js";
import { insertTuple, rowValidators } from "../orm/validate.js";
import type { ColumnInfo, Reflected, TableInfo } from "./source.js";
import { UsageError } from "./usage.js";

/** Options of {@link runImport}. */
export interface ImportOptions {
  readonly format?: "csv" | "jsonl";
  readonly skipBad: boolean;
  readonly batchSize: number;
  readonly progress: boolean;
  /** Bad rows printed at most (all are counted). */
  readonly maxReported: number;
}

/** What an import did. */
export interface ImportReport {
  readonly inserted: number;
  readonly bad: number;
  readonly committed: boolean;
}

interface Parsed {
  readonly line: number;
  readonly row: Record<string, unknown> | Error;
}

const NUMERIC = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** A CSV field as the column's type: numbers and booleans parsed, empty → null when nullable. */
function cell(c: ColumnInfo, s: string): unknown {
  if (s === "" && c.nullable) return null;
  if (c.type === "string" || c.type === "link") return s;
  if (c.type === "bool") return s === "true" || s === "1" ? true : s === "false" || s === "0" ? false : s;
  return NUMERIC.test(s.trim()) ? Number(s) : s;
}

async function* csvRows(input: ReadStream, file: string, t: TableInfo): AsyncGenerator<Parsed> {
  const parser = input.pipe(parse({ info: true, bom: true, relax_column_count: true, skip_empty_lines: true }));
  let header: string[] | undefined;
  const byName = new Map(t.columns.map((c) => [c.name, c]));
  for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    if (header === undefined) {
      header = rec.record.map((h) => h.trim());
      const unknown = header.filter((h) => !byName.has(h));
      if (unknown.length > 0) throw new UsageError(`${file}: unknown column(s) ${unknown.join(", ")} in the header (columns of ${t.name}: ${t.columns.map((c) => c.name).join(", ")})`);
      continue;
    }
    if (rec.record.length !== header.length) {
      yield { line: rec.info.lines, row: new Error(`${rec.record.length} field(s), the header has ${header.length}`) };
      continue;
    }
    const row: Record<string, unknown> = {};
    header.forEach((h, i) => (row[h] = cell(byName.get(h)!, rec.record[i]!)));
    yield { line: rec.info.lines, row };
  }
}

async function* jsonlRows(input: ReadStream): AsyncGenerator<Parsed> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (text.trim() === "") continue;
    try {
      const v = JSON.parse(text) as unknown;
      yield { line: n, row: v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : new Error("a line must hold one JSON object") };
    } catch (e) {
      yield { line: n, row: new Error(`not JSON: ${(e as Error).message}`) };
    }
  }
}

/** Imports `file` into `ref`; prints bad rows and a summary on stderr. */
export async function runImport(r: Reflected, ref: string, file: string, opts: ImportOptions): Promise<ImportReport> {
  const t = r.find(ref);
  const db = r.dbs.get(t.namespace)! as Db<AnySchema>;
  const meta = r.schemas.get(t.namespace)!.tableMetas.find((m) => m.name === t.name)!;
  const validators = rowValidators(meta);
  const format = opts.format ?? (/\.csv$/i.test(file) ? "csv" : /\.(jsonl|ndjson)$/i.test(file) ? "jsonl" : undefined);
  if (format === undefined) throw new UsageError(`${file}: cannot tell the format from the name; give --format csv or --format jsonl`);
  const size = statSync(file).size;
  const bar = opts.progress
    ? new SingleBar({ format: `import ${t.name} [{bar}] {percentage}% | {rows} rows | {bad} bad | {eta_formatted}`, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 1000, hideCursor: false, clearOnComplete: false })
    : undefined;
  bar?.start(size, 0, { rows: 0, bad: 0 });
  const input = createReadStream(file);
  const source = format === "csv" ? csvRows(input, file, t) : jsonlRows(input);
  const keyCols = t.keyColumns;
  const seen = new Set<string>();
  let bad = 0;
  let inserted = 0;
  const report = (line: number, why: string): void => {
    bad++;
    if (bad <= opts.maxReported) {
      bar?.stop();
      process.stderr.write(`tinychain-orm: ${file}:${line}: ${why}\n`);
      bar?.start(size, input.bytesRead, { rows: inserted, bad });
    }
  };
  const insert = db.insertInto as (t: string) => { values(rows: readonly Record<string, unknown>[]): { execute(): Promise<unknown> } };
  const select = db.selectFrom as (t: string) => { where(c: string, op: string, v: unknown): { select(cs: string[]): { execute(): Promise<Record<string, unknown>[]> } } };
  class Abort extends Error {}
  const run = async (s: Db<AnySchema>): Promise<void> => {
    let batch: { line: number; row: Record<string, unknown> }[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      if (keyCols.length === 1) {
        const k = keyCols[0]!;
        const existing = await (s.selectFrom as unknown as typeof select)(t.name).where(k, "in", batch.map((b) => b.row[k])).select([k]).execute();
        if (existing.length > 0) {
          const taken = new Set(existing.map((e) => JSON.stringify(e[k])));
          batch = batch.filter((b) => {
            if (!taken.has(JSON.stringify(b.row[k]))) return true;
            report(b.line, `key ${k} = ${JSON.stringify(b.row[k])} already exists in ${t.name}`);
            return false;
          });
        }
      }
      const lines = `${batch[0]?.line}–${batch[batch.length - 1]?.line}`;
      try {
        if (batch.length > 0) await (s.insertInto as unknown as typeof insert)(t.name).values(batch.map((b) => b.row)).execute();
      } catch (e) {
        throw new Error(`${file}: lines ${lines}: ${(e as Error).message}`);
      }
      inserted += batch.length;
      batch = [];
      bar?.update(input.bytesRead, { rows: inserted, bad });
    };
    for await (const p of source) {
      if (p.row instanceof Error) {
        report(p.line, p.row.message); // reading goes on either way: every bad line is reported
        continue;
      }
      let row: Record<string, unknown>;
      try {
        const tuple = insertTuple(meta, validators, p.row);
        row = Object.fromEntries(meta.columns.map((c) => [c.name, tuple[c.position]]));
      } catch (e) {
        report(p.line, (e as Error).message.replace(/^insert into [^:]+: /, ""));
        continue;
      }
      const key = JSON.stringify(keyCols.map((k) => row[k]));
      if (seen.has(key)) {
        report(p.line, `key ${keyCols.join(", ")} = ${key.slice(1, -1)} repeats an earlier line of the file`);
        continue;
      }
      seen.add(key);
      if (bad > 0 && !opts.skipBad) continue; // already failed: only validate the rest
      batch.push({ line: p.line, row });
      if (batch.length >= opts.batchSize) await flush();
    }
    if (bad > 0 && !opts.skipBad) throw new Abort();
    await flush();
    if (bad > 0 && !opts.skipBad) throw new Abort(); // keys found already in the table by the last batch
    bar?.update(size, { rows: inserted, bad });
  };
  try {
    await db.session(run);
  } catch (e) {
    bar?.stop();
    if (!(e instanceof Abort)) throw e;
    if (bad > opts.maxReported) process.stderr.write(`tinychain-orm: … and ${bad - opts.maxReported} more bad row(s)\n`);
    process.stderr.write(`tinychain-orm: import into ${t.namespace}/${t.name} failed: ${bad} bad row(s); nothing was imported (--skip-bad imports the good ones)\n`);
    return { inserted: 0, bad, committed: false };
  }
  bar?.stop();
  if (bad > opts.maxReported) process.stderr.write(`tinychain-orm: … and ${bad - opts.maxReported} more bad row(s)\n`);
  process.stderr.write(`tinychain-orm: imported ${inserted} row(s) into ${t.namespace}/${t.name}${bad > 0 ? `, skipped ${bad} bad row(s)` : ""}\n`);
  return { inserted, bad, committed: true };
}
