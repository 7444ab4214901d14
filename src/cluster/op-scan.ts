/**
 * What an op touches, read from its IR JSON before anything runs: the tables it names, whether it
 * may write, change a schema or call a library, and the call sites whose arguments say which rows
 * they read (a query plan, a traverse plan, a key, the rows of an insert). The cluster executor
 * gathers those rows from the shards (gather.ts) and runs the op on them.
 */
import type { ExecRequest } from "../executor.js";
import { encode } from "../ir/encode.js";
import type { Json, OpDef } from "../ir/types.js";
import { PATHS } from "../ir/types.js";

/** One call on a table path found in an op. */
export interface CallSite {
  /** `/state/<ns>/<table>`. */
  readonly table: string;
  /** The route below the table (`""` for the table itself). */
  readonly route: string;
  readonly verb: "get" | "put" | "post" | "delete";
  /** The call's key (GET/PUT/DELETE) and value (PUT) or params (POST), with op arguments substituted where they are plain refs; `undefined` when not known before running. */
  readonly key: unknown;
  readonly value: unknown;
}

/** What `scanOp` found. */
export interface OpScan {
  /** Every table link the op names (calls, delete subjects, schema references). */
  readonly tables: Set<string>;
  readonly sites: CallSite[];
  /** True when some call may write (a PUT/POST/DELETE form anywhere). */
  readonly writes: boolean;
  /** True when some call creates, drops or alters a table. */
  readonly ddl: boolean;
  /** True when the op calls `/lib`, `/service`, `/class` or `$self`. */
  readonly component: boolean;
  /** True when a call's subject is computed (a link the scan cannot see). */
  readonly dynamic: boolean;
}

const TABLE_LINK = /^\/state\/([^/]+)\/([^/]+)(?:\/(.*))?$/;

/** The table and route of a `/state/<ns>/<t>[/route]` path, or undefined for other paths. */
export function tablePath(path: string): { table: string; route: string } | undefined {
  const m = TABLE_LINK.exec(path);
  if (!m || m[1] === "scalar" || m[1] === "collection") return undefined;
  return { table: `/state/${m[1]}/${m[2]}`, route: m[3] ?? "" };
}

/** True when `v` is a table literal `{"/state/collection/table": …}`. */
export function isTableLiteral(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && PATHS.table in v;
}

const SCHEMA_ROUTES = new Set(["alter"]);
/** A path or subject that calls a component (`/lib`, `/service`, `/class`, `$self`). */
export const COMPONENT = /^(\/lib|\/service|\/class)(\/|$)|^\$self(\/|$)/;

/**
 * Scans an op's JSON.
 *
 * @example
 * ```ts
 * scanOp({ "/state/scalar/op/post": [["_r", { "/state/app/users/count": [null] }]] }, {}).tables; // {"/state/app/users"}
 * ```
 */
export function scanOp(op: Json, args: Readonly<Record<string, Json>>): OpScan {
  const steps = new Set<string>();
  collectStepNames(op, steps);
  const out = { tables: new Set<string>(), sites: [] as CallSite[], writes: false, ddl: false, component: false, dynamic: false };
  const resolve = (x: unknown): unknown => substitute(x, args, steps);
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) {
      for (const e of x) visit(e);
      return;
    }
    if (typeof x === "string") {
      const t = tablePath(x);
      if (t) out.tables.add(t.table);
      if (COMPONENT.test(x)) out.component = true;
      return;
    }
    if (typeof x !== "object" || x === null) return;
    const keys = Object.keys(x);
    if (keys.length === 1) {
      const k = keys[0]!;
      const v = (x as Record<string, unknown>)[k];
      if (k === PATHS.explicitRef.delete || k === PATHS.explicitRef.put || k === PATHS.explicitRef.post || k === PATHS.explicitRef.get) {
        const verb = k.slice(k.lastIndexOf("/") + 1) as CallSite["verb"];
        const subject = Array.isArray(v) ? v[0] : undefined;
        if (verb !== "get") out.writes = true;
        if (typeof subject === "string") {
          const t = tablePath(subject);
          if (t) {
            const key = Array.isArray(v) ? resolve(v[1]) : undefined;
            out.sites.push({ table: t.table, route: t.route, verb, key, value: Array.isArray(v) ? resolve(v[2]) : undefined });
            if (verb === "delete" && t.route === "" && key === null) out.ddl = true;
          } else if (COMPONENT.test(subject)) out.component = true;
          else if (subject.startsWith("$") && verb !== "get") out.writes = true;
        } else out.dynamic = true;
      } else if (k.startsWith("/state/") && !k.startsWith("/state/scalar/") && !k.startsWith("/state/collection/")) {
        const t = tablePath(k);
        if (t) {
          out.tables.add(t.table);
          const verb: CallSite["verb"] = Array.isArray(v) ? (v.length >= 2 ? "put" : "get") : "post";
          if (verb !== "get") out.writes = true;
          if (verb === "put" && t.route === "" && isTableLiteral((v as unknown[])[1])) out.ddl = true;
          if (SCHEMA_ROUTES.has(t.route)) out.ddl = true;
          out.sites.push({
            table: t.table,
            route: t.route,
            verb,
            key: Array.isArray(v) ? resolve(v[0]) : undefined,
            value: Array.isArray(v) ? resolve(v[1]) : resolve(v),
          });
        }
      } else if (COMPONENT.test(k)) out.component = true;
      else if (k.startsWith("$")) {
        // A call on a step's value (a view, or the view itself): a PUT or DELETE form writes through it.
        if ((Array.isArray(v) && v.length >= 2) || k.endsWith("/delete")) out.writes = true;
      }
      visit(v);
      return;
    }
    for (const k of keys) visit((x as Record<string, unknown>)[k]);
  };
  visit(op);
  return out;
}

/** Substitutes the op's arguments into a value of it, as `scanOp` does for call keys (undefined when a step is referred to). */
export function argResolver(op: Json, args: Readonly<Record<string, Json>>): (x: unknown) => unknown {
  const steps = new Set<string>();
  collectStepNames(op, steps);
  return (x) => substitute(x, args, steps);
}

/** The keys of an op definition (`{"<key>": [[name, value], …]}`). */
export const OPDEF_PATHS = new Set<string>(Object.values(PATHS.opdef));

/**
 * Step names of every (nested) op definition: refs to them are not arguments. Only the pairs of
 * an op definition's step list name steps: a selector's `[column, value]` pairs do not (an
 * argument named like a column stays an argument).
 */
function collectStepNames(x: unknown, out: Set<string>): void {
  if (Array.isArray(x)) {
    for (const e of x) collectStepNames(e, out);
    return;
  }
  if (typeof x !== "object" || x === null) return;
  for (const [k, v] of Object.entries(x)) {
    if (OPDEF_PATHS.has(k) && Array.isArray(v)) {
      for (const step of v) {
        if (Array.isArray(step) && step.length === 2 && typeof step[0] === "string") {
          out.add(step[0]);
          collectStepNames(step[1], out);
        } else collectStepNames(step, out);
      }
    } else collectStepNames(v, out);
  }
}

const UNKNOWN = Symbol("unknown");

/**
 * `x` with each `{"$arg": []}` replaced by the argument's value; `undefined` when `x` refers to
 * a step's result or to a path below an argument (known only while the op runs).
 */
function substitute(x: unknown, args: Readonly<Record<string, Json>>, steps: Set<string>): unknown {
  const r = sub(x, args, steps);
  return r === UNKNOWN ? undefined : r;
}

function sub(x: unknown, args: Readonly<Record<string, Json>>, steps: Set<string>): unknown {
  if (Array.isArray(x)) {
    const out: unknown[] = [];
    for (const e of x) {
      const v = sub(e, args, steps);
      if (v === UNKNOWN) return UNKNOWN;
      out.push(v);
    }
    return out;
  }
  if (typeof x === "string") return x.startsWith("$") ? UNKNOWN : x;
  if (typeof x !== "object" || x === null) return x;
  const keys = Object.keys(x);
  if (keys.length === 1 && keys[0]!.startsWith("$")) {
    const name = keys[0]!.slice(1);
    const v = (x as Record<string, unknown>)[keys[0]!];
    if (!name.includes("/") && Array.isArray(v) && v.length === 0 && !steps.has(name) && name in args) return args[name];
    return UNKNOWN;
  }
  if (keys.length === 1 && keys[0]!.startsWith("/state/scalar/value/")) return x;
  if (keys.length === 1 && keys[0]!.startsWith("/")) return UNKNOWN;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = sub((x as Record<string, unknown>)[k], args, steps);
    if (v === UNKNOWN) return UNKNOWN;
    out[k] = v;
  }
  return out;
}

/** The rows of a table literal body. */
export function literalBodyRows(body: unknown): unknown[][] {
  const v = (body as Record<string, unknown>)[PATHS.table];
  return Array.isArray(v) && Array.isArray(v[1]) ? (v[1] as unknown[][]) : [];
}

/** A table literal with the same schema and no rows. */
export function emptyLiteral(body: unknown): Json {
  const v = (body as Record<string, unknown>)[PATHS.table] as unknown[];
  return { [PATHS.table]: [v[0], []] } as Json;
}

/** `op` with the rows of every `PUT <table>` literal taken out into `rows` (by table link). */
export function stripLiteralRows(op: Json, rows: Map<string, unknown[][]>): Json {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (typeof x !== "object" || x === null) return x;
    const keys = Object.keys(x);
    const v = (x as Record<string, unknown>)[keys[0]!];
    if (keys.length === 1 && Array.isArray(v) && v.length === 2 && isTableLiteral(v[1])) {
      const t = tablePath(keys[0]!);
      const list = literalBodyRows(v[1]);
      if (t && t.route === "" && list.length > 0) {
        rows.set(t.table, [...(rows.get(t.table) ?? []), ...list]);
        return { [keys[0]!]: [v[0], emptyLiteral(v[1])] };
      }
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = walk((x as Record<string, unknown>)[k]);
    return out;
  };
  return walk(op) as Json;
}

export function toJson(op: Json | OpDef): Json {
  if (typeof op === "object" && op !== null && !Array.isArray(op) && Object.keys(op).some((k) => k.startsWith("/state/scalar/op/"))) return op as Json;
  return encode(op as OpDef);
}

/** A plain request seen as a one-call op. */
export function scanRequest(req: ExecRequest): OpScan {
  const t = tablePath(req.path)!;
  return {
    tables: new Set([t.table]),
    sites: [{ table: t.table, route: t.route, verb: req.verb, key: req.key ?? null, value: req.body }],
    writes: req.verb !== "get",
    ddl: false,
    component: false,
    dynamic: false,
  };
}

/** A call that creates, drops or describes a table (what a broadcast may run on every host). */
export function isSchemaSite(x: CallSite): boolean {
  if (x.route === "schema" || x.route === "alter") return true;
  if (x.route !== "") return false;
  return (x.verb === "put" && isTableLiteral(x.value)) || (x.verb === "delete" && x.key === null);
}

/** How many explicit DELETE calls an op holds (a computed subject's among them). */
export function countDeletes(op: Json): number {
  let n = 0;
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) for (const e of x) walk(e);
    else if (typeof x === "object" && x !== null) {
      for (const [k, v] of Object.entries(x)) {
        if (k === PATHS.explicitRef.delete) n++;
        walk(v);
      }
    }
  };
  walk(op);
  return n;
}

/**
 * The value of a POST op's only step, or `undefined` when the op has more steps (or is no POST
 * op): a one-step op answers that value itself.
 *
 * @example
 * ```ts
 * onlyStep({ "/state/scalar/op/post": [["n", { "/state/app/users/count": [null] }]] }); // { "/state/app/users/count": [null] }
 * ```
 */
export function onlyStep(op: Json): unknown {
  const steps = (op as Record<string, unknown> | null)?.[PATHS.opdef.post];
  return Array.isArray(steps) && steps.length === 1 && Array.isArray(steps[0]) ? (steps[0] as unknown[])[1] : undefined;
}
