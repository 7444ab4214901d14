/**
 * Schema changes (`PUT <table>/alter`, PROFILE §6.13) in an op on a cluster. Each host holds only
 * its rows, so an alter that carries a value per row (`["values", …]`: a backfill or a transform,
 * one value per stored row in key order over the whole table) cannot be sent to every host as it
 * is: each shard gets the values of its own rows, found from the table's key order across shards.
 * The op's other steps (creating the migration history, recording the migration) are writes like
 * any other: they run through the cluster's general path, in the same cluster transaction, after
 * the alters — never broadcast, which would put a row on every host.
 */
import { NotImplementedError } from "../errors.js";
import type { Runner } from "../executor.js";
import type { Json } from "../ir/types.js";
import { PATHS } from "../ir/types.js";
import type { TableInfo } from "./catalog.js";
import { Gathered } from "./gather.js";
import { type ClusterTxn, hostsShared, writeAll } from "./hosts.js";
import { keyHash, shardOfHash } from "./layout.js";
import { withGathered } from "./local-run.js";
import { tablePath } from "./op-scan.js";
import { literalRows } from "./wire-ops.js";
import type { ShardSpec } from "./layout.js";

/** One alter the op makes: the table (its link before the alter) and the request body, arguments bound. */
export interface AlterStep {
  readonly table: string;
  readonly body: Record<string, Json>;
}

/** An op's alters, and the op without them: `rest(answers)` puts each alter's answer in its step. */
export interface SplitAlters {
  readonly alters: AlterStep[];
  readonly rest: (answers: readonly Json[]) => Json;
}

/**
 * The alters of an op of top-level steps whose alter steps are plain `{"<table>/alter": [null,
 * body]}` forms, and the op without them (each alter step's form replaced by the alter's answer,
 * the rows it rewrote). Undefined for any other shape (a nested or computed alter).
 *
 * @example
 * ```ts
 * const split = splitAlters({ "/state/scalar/op/post": [["_a0", { "/state/m/t/alter": [null, body] }], ["_r", …]] }, args)!;
 * split.alters; // [{ table: "/state/m/t", body }]
 * split.rest([20]); // { "/state/scalar/op/post": [["_a0", 20], ["_r", …]] }
 * ```
 */
export function splitAlters(op: Json, args: Readonly<Record<string, Json>>): SplitAlters | undefined {
  const steps = (op as Record<string, unknown> | null)?.[PATHS.opdef.post];
  if (!Array.isArray(steps)) return undefined;
  const alters: AlterStep[] = [];
  const rest: Json[][] = [];
  const at: number[] = [];
  for (const step of steps) {
    if (!Array.isArray(step) || step.length !== 2 || typeof step[0] !== "string") return undefined;
    const form = step[1] as unknown;
    const keys = typeof form === "object" && form !== null && !Array.isArray(form) ? Object.keys(form) : [];
    const t = keys.length === 1 ? tablePath(keys[0]!) : undefined;
    if (t === undefined || t.route !== "alter") {
      if (JSON.stringify(form).includes("/alter\"")) return undefined; // an alter below the top level
      rest.push(step as Json[]);
      continue;
    }
    const v = (form as Record<string, unknown>)[keys[0]!];
    if (!Array.isArray(v) || v.length !== 2 || v[0] !== null) return undefined;
    const body = bind(v[1], args);
    if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
    alters.push({ table: t.table, body: body as Record<string, Json> });
    at.push(rest.length);
    rest.push([step[0], null]);
  }
  if (alters.length === 0) return undefined;
  return {
    alters,
    rest: (answers) => {
      const steps = rest.map((x) => x.slice());
      at.forEach((i, j) => (steps[i]![1] = answers[j] ?? null));
      return { [PATHS.opdef.post]: steps } as Json;
    },
  };
}

/** `x` with each `{"$name": []}` of an argument replaced by the argument's value. */
function bind(x: unknown, args: Readonly<Record<string, Json>>): unknown {
  if (Array.isArray(x)) return x.map((e) => bind(e, args));
  if (typeof x !== "object" || x === null) return x;
  const keys = Object.keys(x);
  if (keys.length === 1 && keys[0]!.startsWith("$")) {
    const v = (x as Record<string, unknown>)[keys[0]!];
    const name = keys[0]!.slice(1);
    if (Array.isArray(v) && v.length === 0 && Object.prototype.hasOwnProperty.call(args, name)) return args[name];
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) out[k] = bind(v, args);
  return out;
}

/** True when the alter carries values per row (`["values", […]]` in `columns`). */
export function hasRowValues(alter: AlterStep): boolean {
  const cols = alter.body.columns;
  return typeof cols === "object" && cols !== null && !Array.isArray(cols) && Object.values(cols).some((c) => Array.isArray(c) && c[0] === "values");
}

/**
 * The alter body for each shard: `["values", list]` columns cut to the shard's rows. `rowsOf(s)`
 * answers shard `s`'s rows of the table; their key order across shards is the order one host
 * would keep them in (found by loading them into an in-memory kernel, as the cluster runs ops).
 */
export async function bodiesByShard(
  alter: AlterStep,
  info: TableInfo,
  shards: readonly ShardSpec[],
  placed: number | undefined,
  rowsOf: (shard: number) => Promise<unknown[][]>,
): Promise<Record<string, Json>[]> {
  const bodies = shards.map(() => alter.body);
  const unique = Array.isArray(alter.body.unique) && alter.body.unique.length > 0;
  const perRow = hasRowValues(alter);
  if (!perRow && !unique) return bodies;
  // A host holding several shards answers all its rows for each: they cannot be cut by shard.
  if (hostsShared(shards)) {
    throw new NotImplementedError("cluster: an alter with values per row or a unique check, where a host holds several shards, is not supported (PROFILE §6.16)");
  }
  const g = new Gathered();
  for (let s = 0; s < shards.length; s++) g.add(info.link, info, await rowsOf(s));
  g.whole.add(info.link);
  const lookup = (l: string): TableInfo | undefined => (l === info.link ? info : undefined);
  // One in-memory kernel: the key order read first, then the whole alter on every row at once —
  // refused as one host refuses it (a unique column whose values repeat across shards, a values
  // list of the wrong length), before any host is asked.
  const keys = await withGathered(g, lookup, false, async (local) => {
    const ordered = perRow ? literalRows(await local.request({ verb: "get", path: info.link, key: null })) : [];
    await local.request({ verb: "put", path: `${info.link}/alter`, key: null, body: alter.body });
    return ordered.map((r) => r.slice(0, info.keyCount));
  });
  if (!perRow) return bodies;
  const columns = alter.body.columns as Record<string, Json>;
  // Rows of a shard, as indexes into the table's key order (a placed table is on one shard).
  const mine: number[][] = shards.map(() => []);
  keys.forEach((k, i) => mine[placed ?? shardOfHash(shards, keyHash(k))]!.push(i));
  return shards.map((_, s) => {
    const cut: Record<string, Json> = {};
    for (const [name, c] of Object.entries(columns)) {
      cut[name] = Array.isArray(c) && c[0] === "values" && Array.isArray(c[1]) ? ["values", mine[s]!.map((i) => (c[1] as Json[])[i] ?? null)] : c;
    }
    return { ...alter.body, columns: cut };
  });
}

/**
 * One alter of `table` on every host of `shards` at once, in transaction `t` (`bodies[s]` for the
 * hosts of shard `s`, from `bodiesByShard`); answers the rows rewritten, each shard's counted once
 * (its first host's). A host holding several shards alters its table once, with the body every
 * shard then shares (`bodiesByShard` refuses the alters that would need its rows cut by shard).
 */
export async function alterOnHosts(shards: readonly ShardSpec[], table: string, bodies: readonly Record<string, Json>[], t: ClusterTxn): Promise<number> {
  const request = (body: Json) => (r: Runner) => r.request({ verb: "put", path: `${table}/alter`, key: null, body });
  const count = (answers: readonly Json[]) => answers.reduce<number>((sum, n) => sum + (typeof n === "number" ? n : 0), 0);
  if (!hostsShared(shards)) return count(await Promise.all(shards.map((_, s) => writeAll(t, s, request(bodies[s]! as Json)))));
  const sessions = new Map<string, Runner>();
  for (let s = 0; s < shards.length; s++) for (const w of t.writers(s)) sessions.set(w.url, w.session);
  const firsts = new Set(shards.map((s) => s.hosts[0]!));
  const answered = await Promise.all([...sessions].map(async ([url, r]) => [url, await request(bodies[0]! as Json)(r)] as const));
  return count(answered.filter(([url]) => firsts.has(url)).map(([, n]) => n));
}
