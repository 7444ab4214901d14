/**
 * Where a CLI command's data is: a data directory (`--data-dir`, opened in this process) or a
 * host (`--url`, `--token` or `TC_TOKEN`), and what it holds. Tables are listed with
 * `GET /host/tables` (PROFILE §6.10), read with their `schema` and `count` routes, and turned
 * back into ORM tables (`reflect`), so every command queries them with the typed builders: rows
 * are validated by the ORM's zod schemas, pages and filters are the ORM's planned selects, and
 * relations come from a schema module (`--schema app/schema.ts`) when one is given, else are
 * inferred: a column with an `fk_<column>` index (or a key column of a composite key) refers to
 * the table named like it (`user`, `users`, `user_id` → `users`), when that table has a
 * one-column key.
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Command } from "commander";
import { connect, type Db } from "../connect.js";
import type { Executor } from "../executor.js";
import { http } from "../http/index.js";
import type { Json } from "../ir/types.js";
import { col, schema as makeSchema, table as makeTable, type AnySchema } from "../orm/index.js";
import { UsageError } from "./usage.js";

/** The flags every data command takes. */
export interface SourceFlags {
  dataDir?: string;
  url?: string;
  token?: string;
  schema?: string;
}

/** Declares `--data-dir`, `--url`, `--token` and `--schema` on `cmd`. */
export function sourceOptions(cmd: Command): Command {
  return cmd
    .option("--data-dir <dir>", "a data directory (opened in this process; no server may hold it)")
    .option("--url <url>", "a host serving the kernel, e.g. http://127.0.0.1:8702")
    .option("--token <token>", "bearer token for --url (default: the TC_TOKEN environment variable)")
    .option("--schema <module>", "a module exporting the schema() declarations (exact relations; .ts needs tsx installed)");
}

/** An open source of data. */
export interface Source {
  readonly executor: Executor;
  /** `data dir ./data` or `host http://…`. */
  readonly label: string;
  close(): Promise<void>;
}

/** Opens the data directory or connects to the host the flags name (exactly one of them). */
export async function openSource(flags: SourceFlags): Promise<Source> {
  if ((flags.dataDir === undefined) === (flags.url === undefined)) throw new UsageError("give exactly one of --data-dir DIR and --url URL");
  if (flags.dataDir !== undefined) {
    const { embedded } = await import("../kernel/index.js");
    // A long import is one session: its budget is the command's, not a served request's.
    const executor = embedded({ dataDir: flags.dataDir, txnBudgetMs: 24 * 3_600_000, sessionIdleMs: 3_600_000 });
    await executor.request({ verb: "get", path: "/healthz", key: null }); // opens it now: a locked or damaged directory fails here
    return { executor, label: `data dir ${flags.dataDir}`, close: () => executor.close() };
  }
  const token = flags.token ?? process.env.TC_TOKEN;
  const executor = http(flags.url!, token !== undefined && token !== "" ? { token } : {});
  return { executor, label: `host ${flags.url}`, close: () => executor.close() };
}

/** A column as the host describes it. */
export interface ColumnInfo {
  readonly name: string;
  /** `u64`, `string`, … */
  readonly type: string;
  readonly maxLen: number | null;
  readonly nullable: boolean;
  readonly key: boolean;
}

/** A relation leaving a table. */
export interface RelationView {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly inverse: string;
  /** `foreign_key` or `edge`. */
  readonly kind: string;
  /** The columns (foreign key) or edge table it goes through. */
  readonly via: string;
}

/** A table as the host describes it, with its row count and relations. */
export interface TableInfo {
  readonly link: string;
  readonly namespace: string;
  readonly name: string;
  readonly columns: readonly ColumnInfo[];
  readonly keyColumns: readonly string[];
  readonly indexes: readonly { readonly name: string; readonly columns: readonly string[] }[];
  readonly rows: number;
  readonly relations: readonly RelationView[];
}

/** What a source holds: its tables, and a connected db per namespace. */
export interface Reflected {
  readonly tables: readonly TableInfo[];
  readonly dbs: ReadonlyMap<string, Db<AnySchema>>;
  readonly schemas: ReadonlyMap<string, AnySchema>;
  /** Where the relations come from. */
  readonly relationsFrom: "schema module" | "inferred";
  /** Finds a table by `name`, `ns/name` or its link. */
  find(ref: string): TableInfo;
}

const DTYPES: Record<string, string> = {
  "/state/scalar/value/number/bool": "bool",
  "/state/scalar/value/number/int/8": "i8",
  "/state/scalar/value/number/int/16": "i16",
  "/state/scalar/value/number/int/32": "i32",
  "/state/scalar/value/number/int/64": "i64",
  "/state/scalar/value/number/uint/8": "u8",
  "/state/scalar/value/number/uint/16": "u16",
  "/state/scalar/value/number/uint/32": "u32",
  "/state/scalar/value/number/uint/64": "u64",
  "/state/scalar/value/number/float/32": "f32",
  "/state/scalar/value/number/float/64": "f64",
  "/state/scalar/value/number": "f64",
  "/state/scalar/value/string": "string",
  "/state/scalar/value/link": "link",
};

function parseColumns(raw: Json, key: boolean, link: string): ColumnInfo[] {
  if (!Array.isArray(raw)) throw new Error(`${link}: unexpected schema from the host`);
  return raw.map((c) => {
    const [name, dtype, maxLen, flags] = c as [string, string, number | null | undefined, { nullable?: boolean } | undefined];
    return { name, type: DTYPES[dtype] ?? dtype, maxLen: typeof maxLen === "number" ? maxLen : null, nullable: flags?.nullable === true, key };
  });
}

/** The `schema({...})` values a module exports (a `.ts` module is loaded through tsx). */
export async function loadSchemaModule(path: string): Promise<AnySchema[]> {
  if (/\.[cm]?ts$/.test(path)) {
    const spec = "tsx/esm/api"; // not bundled: a TypeScript module needs tsx in the user's project
    try {
      const { register } = (await import(spec)) as { register: () => unknown };
      register();
    } catch {
      // Running under tsx already, or a runtime that loads TypeScript itself.
    }
  }
  const mod = (await import(pathToFileURL(isAbsolute(path) ? path : resolve(path)).href)) as Record<string, unknown>;
  const out: AnySchema[] = [];
  for (const v of Object.values(mod)) {
    if (v !== null && typeof v === "object" && typeof (v as { namespace?: unknown }).namespace === "string" && Array.isArray((v as { tableMetas?: unknown }).tableMetas)) out.push(v as AnySchema);
  }
  if (out.length === 0) throw new UsageError(`--schema ${path}: the module exports no schema({ namespace, tables })`);
  return out;
}

/** Builds an ORM table from the host's description, with the references `refs` names (column → table). */
function ormTable(t: Omit<TableInfo, "rows" | "relations">, refs: ReadonlyMap<string, string>) {
  // Columns are built from runtime descriptions: the static types are erased to one loose shape.
  type Loose = { key(): Loose; nullable(): Loose; references(target: string): Loose };
  const cols: Record<string, Loose> = {};
  const builders = col as unknown as Record<string, ((n?: number) => Loose) | undefined>;
  for (const c of t.columns) {
    const make = builders[c.type];
    if (make === undefined) throw new Error(`${t.link}: column ${c.name} has a type this tool does not know (${c.type})`);
    let k = c.type === "string" ? make(c.maxLen ?? 1 << 24) : c.type === "link" && c.maxLen !== null ? make(c.maxLen) : make();
    if (c.key) k = k.key();
    if (c.nullable) k = k.nullable();
    const target = refs.get(c.name);
    if (target !== undefined) k = k.references(target);
    cols[c.name] = k;
  }
  let out = makeTable(t.name, cols as never) as unknown as { index(name: string, cols: readonly string[]): typeof out };
  for (const ix of t.indexes) if (!(ix.name === `fk_${ix.columns[0]}` && refs.has(ix.columns[0]!))) out = out.index(ix.name, ix.columns);
  return out as unknown as ReturnType<typeof makeTable>;
}

function inferReferences(t: Omit<TableInfo, "rows" | "relations">, siblings: readonly Omit<TableInfo, "rows" | "relations">[]): Map<string, string> {
  const refs = new Map<string, string>();
  const candidates = new Set<string>();
  for (const ix of t.indexes) if (ix.name === `fk_${ix.columns[0]}` && ix.columns.length === 1) candidates.add(ix.columns[0]!);
  if (t.keyColumns.length > 1) for (const k of t.keyColumns) candidates.add(k);
  for (const c of candidates) {
    const base = c.replace(/_id$/, "");
    const target = siblings.find((s) => s.keyColumns.length === 1 && [c, `${c}s`, base, `${base}s`].includes(s.name));
    if (target !== undefined) refs.set(c, target.name);
  }
  return refs;
}

/** Reads every table the source's grant shows: columns, indexes, row count, relations. */
export async function reflect(source: Source, flags: SourceFlags): Promise<Reflected> {
  const ex = source.executor;
  const links = (await ex.request({ verb: "get", path: "/host/tables", key: null })) as string[];
  const bare = await Promise.all(
    links.map(async (link) => {
      const raw = (await ex.request({ verb: "get", path: `${link}/schema`, key: null })) as [[Json, Json], [string, string[]][]];
      const [, , namespace, name] = link.split("/") as [string, string, string, string];
      const columns = [...parseColumns(raw[0][0], true, link), ...parseColumns(raw[0][1], false, link)];
      return { link, namespace, name, columns, keyColumns: columns.filter((c) => c.key).map((c) => c.name), indexes: raw[1].map(([n, cs]) => ({ name: n, columns: cs })) };
    }),
  );
  const counts = await Promise.all(links.map((link) => ex.request({ verb: "get", path: `${link}/count`, key: null }) as Promise<number>));
  const declared = flags.schema !== undefined ? await loadSchemaModule(flags.schema) : [];
  const schemas = new Map<string, AnySchema>();
  const dbs = new Map<string, Db<AnySchema>>();
  for (const ns of [...new Set(bare.map((t) => t.namespace))]) {
    const mine = bare.filter((t) => t.namespace === ns);
    const given = declared.find((s) => s.namespace === ns);
    const missing = given ? mine.filter((t) => !given.tableMetas.some((m) => m.name === t.name)) : mine;
    const build = (infer: boolean): AnySchema => {
      const tables: Record<string, ReturnType<typeof makeTable>> = {};
      if (given) Object.assign(tables, given.tables);
      for (const t of missing) tables[t.name] = ormTable(t, infer ? inferReferences(t, mine) : new Map());
      return makeSchema({ namespace: ns, tables }) as unknown as AnySchema;
    };
    let s: AnySchema;
    let db: Db<AnySchema>;
    try {
      s = build(true);
      db = await connect(s, ex);
    } catch {
      s = build(false); // inferred relations that clash are dropped, not fatal
      db = await connect(s, ex);
    }
    schemas.set(ns, s);
    dbs.set(ns, db);
  }
  const tables: TableInfo[] = bare.map((t, i) => {
    const catalog = dbs.get(t.namespace)!.graph.catalog;
    const relations: RelationView[] = [];
    if (catalog.hasNode(t.name)) {
      for (const r of catalog.relations(t.name)) {
        const v = r as unknown as { name: string; source: string; target: string; inverse: string; kind: string; direction: string; via: unknown };
        if (v.direction !== "forward") continue;
        relations.push({ name: v.name, from: v.source, to: v.target, inverse: v.inverse, kind: v.kind, via: typeof v.via === "string" ? v.via : JSON.stringify(v.via) });
      }
    }
    return { ...t, rows: counts[i]!, relations };
  });
  const find = (ref: string): TableInfo => {
    const hits = tables.filter((t) => t.link === ref || `${t.namespace}/${t.name}` === ref || t.name === ref);
    if (hits.length === 1) return hits[0]!;
    if (hits.length > 1) throw new UsageError(`table ${ref} is in several namespaces: ${hits.map((t) => `${t.namespace}/${t.name}`).join(", ")}; name it ns/table`);
    throw new UsageError(`no table ${ref} in ${source.label} (tables: ${tables.map((t) => `${t.namespace}/${t.name}`).join(", ") || "none"})`);
  };
  return { tables, dbs, schemas, relationsFrom: declared.length > 0 ? "schema module" : "inferred", find };
}
