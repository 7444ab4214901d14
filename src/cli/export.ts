/**
 * `tinychain-orm export <table>`: every row as CSV (header line, RFC 4180 quoting, null as an
 * empty field) or JSON Lines, to stdout or `--out FILE`, read in pages of `--page-size` rows
 * (one transaction each, in key order: `SelectQueryBuilder.stream`), never the whole table at once.
 */
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";
import type { Reflected } from "./source.js";

/** One CSV field: quoted when it holds a comma, a quote, a newline or surrounding spaces. */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
  return /[",\r\n]|^\s|\s$/.test(s) || s === "" ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Streams `ref`'s rows to `out` (or stdout); resolves with the row count. */
export async function runExport(r: Reflected, ref: string, opts: { format: "csv" | "jsonl"; out?: string; pageSize: number }): Promise<number> {
  const t = r.find(ref);
  const db = r.dbs.get(t.namespace)!;
  const sink: Writable = opts.out !== undefined ? createWriteStream(opts.out) : process.stdout;
  const write = async (s: string): Promise<void> => {
    if (!sink.write(s)) await once(sink, "drain");
  };
  const names = t.columns.map((c) => c.name);
  if (opts.format === "csv") await write(`${names.map(csvField).join(",")}\n`);
  let n = 0;
  const rows = (db.selectFrom as (t: string) => { stream(a?: object, o?: object): AsyncIterable<Record<string, unknown>> })(t.name).stream({}, { pageSize: opts.pageSize });
  for await (const row of rows) {
    await write(opts.format === "csv" ? `${names.map((c) => csvField(row[c])).join(",")}\n` : `${JSON.stringify(row)}\n`);
    n++;
  }
  if (opts.out !== undefined) {
    sink.end();
    await once(sink, "finish");
  }
  return n;
}
