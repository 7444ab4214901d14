/**
 * `tinychain-orm studio`: a local web page over a data directory or a host — the schema drawn as
 * a graph (cytoscape, served from the package's own dependency: no CDN, no network), a table
 * browser (pages, sorting, filters) and a traversal runner (start table and filter, out/in/both
 * hops, where, distinct, hops) showing rows, the subgraph of the paths and `explain()`.
 *
 * It listens on 127.0.0.1 only. It is read-only unless started with `--write` (then rows can be
 * inserted and deleted by key); every query goes through the ORM and the graph layer, so a
 * served host's token grant applies too.
 *
 * JSON API (what the page calls; also usable by scripts):
 *   GET  /api/schema                      tables (columns, key, indexes, rows, relations), source
 *   GET  /api/rows?table=&offset=&limit=&order=&dir=&filter=[[col,op,value],…]
 *                                         a page of rows, the total matching, explain()
 *   POST /api/traverse {start, match, steps: [{dir, rel, hops?} | {where: [col, op, value]}],
 *                       distinct, limit}   rows, the subgraph of the paths, explain()
 *   POST /api/insert {table, row}          (--write) inserts one row
 *   POST /api/delete {table, key}          (--write) deletes the row with that key
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { TcError } from "../errors.js";
import type { ColumnInfo, Reflected, TableInfo } from "./source.js";
import { STUDIO_PAGE } from "./studio-page.js";

/** Options of {@link startStudio}. */
export interface StudioOptions {
  readonly port: number;
  readonly write: boolean;
  /** Source label (`data dir ./data`, `host http://…`). */
  readonly label: string;
  /** Reads the source again (row counts change); called for `/api/schema`. */
  readonly refresh: () => Promise<Reflected>;
}

/** A running studio. */
export interface Studio {
  readonly url: string;
  close(): Promise<void>;
}

type Loose = {
  where(c: string, op: string, v?: unknown): Loose;
  orderBy(c: string, d?: string): Loose;
  limit(n: number): Loose;
  offset(n: number): Loose;
  count(): { execute(): Promise<number> };
  execute(): Promise<Record<string, unknown>[]>;
  explain(): unknown;
};
type LooseTraversal = {
  out(rel: string, o?: object): LooseTraversal;
  in(rel: string, o?: object): LooseTraversal;
  both(rel: string, o?: object): LooseTraversal;
  where(c: string, op: string, v: unknown): LooseTraversal;
  distinct(): LooseTraversal;
  limit(n: number): LooseTraversal;
  paths(): { execute(): Promise<{ table: string; row: Record<string, unknown> }[][]> };
  execute(): Promise<Record<string, unknown>[]>;
  explain(): string;
  table?: string;
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const OPS = new Set(["=", "!=", "<", "<=", ">", ">=", "in", "isNull", "isNotNull"]);
const NUMERIC = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** A value typed by its column: numbers and booleans the page sent as text are parsed. */
function typed(c: ColumnInfo, v: unknown): unknown {
  if (typeof v !== "string") return v;
  if (c.type === "string" || c.type === "link") return v;
  if (c.type === "bool") return v === "true" ? true : v === "false" ? false : v;
  return NUMERIC.test(v.trim()) ? Number(v) : v;
}

function column(t: TableInfo, name: unknown): ColumnInfo {
  const c = t.columns.find((x) => x.name === name);
  if (!c) throw new HttpError(400, `table ${t.name} has no column ${JSON.stringify(name)}; columns: ${t.columns.map((x) => x.name).join(", ")}`);
  return c;
}

function filtersOf(t: TableInfo, raw: unknown): [string, string, unknown][] {
  if (raw === undefined || raw === null || raw === "") return [];
  const list = typeof raw === "string" ? (JSON.parse(raw) as unknown) : raw;
  if (!Array.isArray(list)) throw new HttpError(400, "filter is a list of [column, op, value]");
  return list.map((f) => {
    if (!Array.isArray(f) || typeof f[1] !== "string" || !OPS.has(f[1])) throw new HttpError(400, `a filter is [column, op, value] with op one of ${[...OPS].join(" ")}`);
    const c = column(t, f[0]);
    const value = f[1] === "in" ? (Array.isArray(f[2]) ? f[2] : String(f[2]).split(",")).map((x: unknown) => typed(c, typeof x === "string" ? x.trim() : x)) : typed(c, f[2]);
    return [c.name, f[1], value];
  });
}

function int(v: string | null, dflt: number, max: number): number {
  if (v === null || v === "") return dflt;
  if (!/^\d+$/.test(v) || Number(v) > max) throw new HttpError(400, `expected an integer in [0, ${max}], got ${JSON.stringify(v)}`);
  return Number(v);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 1 << 20) throw new HttpError(413, "request body over 1 MiB");
    chunks.push(c);
  }
  const v = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as unknown;
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new HttpError(400, "the body is a JSON object");
  return v as Record<string, unknown>;
}

/** The key cells of a row, as one id: `users:[1]`. */
function nodeId(t: TableInfo | undefined, table: string, row: Record<string, unknown>): string {
  return `${table}:${JSON.stringify((t?.keyColumns ?? Object.keys(row)).map((k) => row[k]))}`;
}

function nodeLabel(t: TableInfo | undefined, table: string, row: Record<string, unknown>): string {
  const key = (t?.keyColumns ?? []).map((k) => String(row[k])).join(",");
  const text = t?.columns.find((c) => !c.key && c.type === "string" && typeof row[c.name] === "string");
  return `${table} ${key}${text ? ` ${String(row[text.name]).slice(0, 24)}` : ""}`;
}

/** Starts the studio server on 127.0.0.1. */
export async function startStudio(first: Reflected, opts: StudioOptions): Promise<Studio> {
  let r = first;
  const require = createRequire(import.meta.url);
  const cytoscapePath = require.resolve("cytoscape/dist/cytoscape.min.js");

  const tableOf = (name: unknown): { t: TableInfo; db: { selectFrom(t: string): Loose; insertInto(t: string): { values(r: object): { execute(): Promise<number> } }; deleteFrom(t: string): Loose; graph: { match(t: string, f?: object): LooseTraversal } } } => {
    if (typeof name !== "string") throw new HttpError(400, "table is required");
    let t: TableInfo;
    try {
      t = r.find(name);
    } catch (e) {
      throw new HttpError(404, (e as Error).message);
    }
    return { t, db: r.dbs.get(t.namespace) as never };
  };

  const rows = async (q: URLSearchParams): Promise<unknown> => {
    const { t, db } = tableOf(q.get("table"));
    const offset = int(q.get("offset"), 0, 1e9);
    const limit = int(q.get("limit"), 50, 1000);
    let sel = db.selectFrom(t.name);
    for (const [c, op, v] of filtersOf(t, q.get("filter"))) sel = op === "isNull" || op === "isNotNull" ? sel.where(c, op) : sel.where(c, op, v);
    const total = await sel.count().execute();
    const order = q.get("order");
    if (order) sel = sel.orderBy(column(t, order).name, q.get("dir") === "desc" ? "desc" : "asc");
    const page = sel.offset(offset).limit(limit);
    return { table: t.name, columns: t.columns.map((c) => c.name), rows: await page.execute(), total, offset, limit, explain: page.explain() };
  };

  const traverse = async (body: Record<string, unknown>): Promise<unknown> => {
    const { t, db } = tableOf(body.start);
    const match: Record<string, unknown> = {};
    for (const [c, op, v] of filtersOf(t, body.match)) {
      if (op !== "=") throw new HttpError(400, `the start filter takes = only (add a where step for ${op})`);
      match[c] = v;
    }
    const steps = Array.isArray(body.steps) ? body.steps : [];
    let current = t;
    const build = (distinct: boolean): LooseTraversal => {
      let q = db.graph.match(t.name, match);
      current = t;
      for (const s of steps as Record<string, unknown>[]) {
        if (Array.isArray(s.where)) {
          const [c, op, v] = filtersOf(current, [s.where])[0]!;
          q = q.where(c, op, v);
          continue;
        }
        const dir = s.dir;
        if (dir !== "out" && dir !== "in" && dir !== "both") throw new HttpError(400, "a hop is {dir: out|in|both, rel, hops?: [min, max]}");
        const rel = String(s.rel);
        const hops = Array.isArray(s.hops) ? { hops: s.hops.map(Number) as [number, number] } : undefined;
        q = q[dir](rel, hops);
        const catalog = r.dbs.get(t.namespace)!.graph.catalog;
        const next = dir === "out" ? catalog.relation(current.name, rel).target : dir === "in" ? catalog.incoming(current.name, rel).source : current.name;
        current = r.find(`${t.namespace}/${next}`);
      }
      return distinct ? q.distinct() : q;
    };
    const limit = typeof body.limit === "number" && body.limit > 0 ? Math.min(body.limit, 1000) : 100;
    const q = build(body.distinct === true);
    const result = await q.limit(limit).execute();
    const explain = q.explain();
    const end = current;
    // The subgraph: the rows along the trails (without distinct), at most 200 paths.
    const nodes = new Map<string, { id: string; table: string; label: string }>();
    const edges = new Map<string, { id: string; source: string; target: string }>();
    let pathError: string | undefined;
    try {
      const paths = await build(false).limit(200).paths().execute();
      for (const p of paths) {
        let prev: string | undefined;
        for (const step of p) {
          const info = r.tables.find((x) => x.namespace === t.namespace && x.name === step.table);
          const id = nodeId(info, step.table, step.row);
          if (!nodes.has(id)) nodes.set(id, { id, table: step.table, label: nodeLabel(info, step.table, step.row) });
          if (prev !== undefined && prev !== id) edges.set(`${prev}->${id}`, { id: `${prev}->${id}`, source: prev, target: id });
          prev = id;
        }
      }
    } catch (e) {
      pathError = (e as Error).message;
    }
    return { table: end.name, columns: end.columns.map((c) => c.name), rows: result, explain, subgraph: { nodes: [...nodes.values()], edges: [...edges.values()] }, ...(pathError ? { pathError } : {}) };
  };

  const write = async (kind: "insert" | "delete", body: Record<string, unknown>): Promise<unknown> => {
    if (!opts.write) throw new HttpError(403, "the studio is read-only; start it with --write to change rows");
    const { t, db } = tableOf(body.table);
    if (kind === "insert") {
      const row = body.row as Record<string, unknown> | undefined;
      if (!row || typeof row !== "object") throw new HttpError(400, "insert takes {table, row}");
      const fixed = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typed(column(t, k), v)]));
      return { inserted: await db.insertInto(t.name).values(fixed).execute() };
    }
    const key = body.key as Record<string, unknown> | undefined;
    if (!key || typeof key !== "object") throw new HttpError(400, "delete takes {table, key: {column: value}}");
    let d = db.deleteFrom(t.name);
    for (const k of t.keyColumns) {
      if (!(k in key)) throw new HttpError(400, `delete needs every key column: ${t.keyColumns.join(", ")}`);
      d = d.where(k, "=", typed(column(t, k), key[k]));
    }
    return { deleted: await (d as unknown as { execute(): Promise<number> }).execute() };
  };

  const send = (res: ServerResponse, status: number, body: string | Buffer, type: string): void => {
    res.writeHead(status, { "content-type": type, "cache-control": "no-store", "x-content-type-options": "nosniff" });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, v: unknown): void => send(res, status, JSON.stringify(v), "application/json; charset=utf-8");

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://studio");
    // Only this page may call the API: the Host must be the loopback address the studio listens
    // on (a DNS-rebound name is refused), and a browser's Origin must be that same host.
    const host = req.headers.host ?? "";
    if (!/^(127\.0\.0\.1|localhost):\d+$/.test(host)) throw new HttpError(403, `requests for host ${JSON.stringify(host)} are refused`);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) throw new HttpError(403, "cross-origin requests are refused");
    if (req.method === "GET" && url.pathname === "/") return send(res, 200, STUDIO_PAGE, "text/html; charset=utf-8");
    if (req.method === "GET" && url.pathname === "/vendor/cytoscape.min.js") return send(res, 200, await readFile(cytoscapePath), "text/javascript; charset=utf-8");
    if (req.method === "GET" && url.pathname === "/api/schema") {
      r = await opts.refresh();
      // Every relation direction of the catalogs (forward and inverse): what hops can take.
      const relations: { namespace: string; name: string; source: string; target: string; kind: string; direction: string }[] = [];
      for (const [ns, db] of r.dbs) {
        db.graph.catalog.forEachEdge((_e, a) => relations.push({ namespace: ns, name: a.name, source: a.source, target: a.target, kind: a.kind, direction: a.direction }));
      }
      return json(res, 200, { source: opts.label, writable: opts.write, relationsFrom: r.relationsFrom, tables: r.tables, relations });
    }
    if (req.method === "GET" && url.pathname === "/api/rows") return json(res, 200, await rows(url.searchParams));
    if (req.method === "POST" && url.pathname === "/api/traverse") return json(res, 200, await traverse(await readJson(req)));
    if (req.method === "POST" && (url.pathname === "/api/insert" || url.pathname === "/api/delete")) return json(res, 200, await write(url.pathname === "/api/insert" ? "insert" : "delete", await readJson(req)));
    throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : e instanceof TcError ? (e.kind === "not_found" ? 404 : e.kind === "forbidden" || e.kind === "unauthorized" ? 403 : 400) : e instanceof SyntaxError ? 400 : 500;
      if (!res.headersSent) json(res, status, { error: e instanceof Error ? e.message : String(e) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
