/**
 * Gathering the view chains an op reads (view-chain.ts): which call sites they cover, and the
 * rows each shard's chain keeps — the chains of one phase in one op per shard, one shard when a
 * chain pins a plain key, and the chains keyed by other reads last, their keys computed on the
 * rows gathered by then.
 */
import type { Runner } from "../executor.js";
import type { Json } from "../ir/types.js";
import { PATHS } from "../ir/types.js";
import type { TableInfo } from "./catalog.js";
import { gatherWhole, shardsOf, type GatherEnv, type Gathered } from "./gather.js";
import { keyHash, shardOfHash } from "./layout.js";
import type { ViewRead } from "./view-chain.js";

/** A scan call site's identity: views covering every site of an identity replace their gathering. */
export function siteIdentity(table: string, route: string, key: unknown): string {
  return `${table}\n${route}\n${key === undefined ? "?" : JSON.stringify(key)}`;
}

/** The identities of the call sites whose every read is a view chain that can be pushed down (view-chain.ts). */
export function coveredSites(env: GatherEnv, views: readonly ViewRead[]): Set<string> {
  const all = new Map<string, ViewRead[]>();
  for (const v of views) {
    const id = siteIdentity(v.table, v.route, v.key);
    all.set(id, [...(all.get(id) ?? []), v]);
  }
  const covered = new Set<string>();
  for (const [id, list] of all) if (list.every((v) => v.op !== undefined && env.info(v.table) !== undefined)) covered.add(id);
  return covered;
}

/** Computes a view's probed values on the rows gathered so far (the op's steps that supply its keys). */
export type Probe = (op: Json, args: Readonly<Record<string, Json>>) => Promise<Json>;

/**
 * Gathers the covered view chains, each from the shards that may hold its rows — one shard when
 * its selector or filters pin the whole key to plain values. Without `probe`, the chains whose
 * keys are known before running; with it (once every other read is gathered), the chains whose
 * keys come from other reads: their values are computed on the rows gathered, which answer those
 * reads as one host would. A probe that fails gathers the table whole.
 */
export async function gatherViews(env: GatherEnv, g: Gathered, views: readonly ViewRead[], covered: ReadonlySet<string>, args: Readonly<Record<string, Json>>, probe?: Probe): Promise<void> {
  // What to send, by the shards to ask: each chain once, with its arguments.
  const batches = new Map<string, { shards: number[]; sends: { view: ViewRead; args: Readonly<Record<string, Json>> }[] }>();
  const sent = new Set<string>();
  for (const v of views) {
    if (v.op === undefined || (v.probe !== undefined) !== (probe !== undefined) || !covered.has(siteIdentity(v.table, v.route, v.key))) continue;
    if (g.whole.has(v.table)) continue;
    const text = JSON.stringify(v.op);
    if (sent.has(text)) continue;
    sent.add(text);
    const info = env.info(v.table)!;
    g.map(v.table);
    let bound = args;
    if (v.probe !== undefined) {
      let values: Json;
      try {
        values = await probe!(v.probe.op, args);
      } catch {
        await gatherWhole(env, g, v.table);
        continue;
      }
      const given: Record<string, Json> = { ...args };
      v.probe.names.forEach((n, i) => (given[n] = (values as Json[])[i]!));
      bound = given;
    }
    const key = env.placed(v.table) === undefined && info.plainKey ? viewKeyEquality(v, info) : undefined;
    const shards = key !== undefined ? [shardOfHash(env.shards, keyHash(key))] : shardsOf(env, v.table);
    const at = JSON.stringify(shards);
    let batch = batches.get(at);
    if (batch === undefined) batches.set(at, (batch = { shards, sends: [] }));
    batch.sends.push({ view: v, args: bound });
  }
  for (const { shards, sends } of batches.values()) {
    await env.join?.(shards);
    const op = batchOp(sends);
    // Per shard, the rows of each chain in order (a lone chain's op answers its rows alone).
    const ask = (r: Runner): Promise<Json> => {
      if (op === undefined) return Promise.all(sends.map((x) => r.execute(x.view.op!, x.args)));
      return sends.length === 1 ? r.execute(op.op, op.args).then((rows) => [rows]) : r.execute(op.op, op.args);
    };
    const parts = await Promise.all(shards.map((s) => env.read(s, ask)));
    // A batch's requests are counted once, on its first chain.
    sends.forEach(({ view }, i) => {
      const rows = parts.flatMap((p) => (p as unknown[][][])[i]!);
      g.add(view.table, env.info(view.table)!, rows);
      env.stats.push({ step: view.limited ? "view top-k" : view.probe !== undefined ? "view keyed by other reads" : "view filter", table: view.table, shards: shards.length, requests: op === undefined ? shards.length : i === 0 ? shards.length : 0, rows: rows.length });
    });
  }
}

/**
 * One op answering several chains (one request per shard): the steps sent along, merged, then
 * each chain under its own names; undefined when two chains name a step or an argument alike with
 * different values (each is then sent on its own).
 */
function batchOp(sends: readonly { view: ViewRead; args: Readonly<Record<string, Json>> }[]): { op: Json; args: Record<string, Json> } | undefined {
  if (sends.length === 1) return { op: sends[0]!.view.op!, args: { ...sends[0]!.args } };
  const args: Record<string, Json> = {};
  const deps = new Map<string, Json>();
  const steps: [string, Json][] = [];
  const chains: [string, Json][] = [];
  for (const [i, { view, args: a }] of sends.entries()) {
    for (const [k, v] of Object.entries(a)) {
      if (k in args && JSON.stringify(args[k]) !== JSON.stringify(v)) return undefined;
      args[k] = v;
    }
    const parts = view.steps!(`_vb${i}`);
    for (const [name, value] of parts.deps) {
      const had = deps.get(name);
      if (had !== undefined && JSON.stringify(had) !== JSON.stringify(value)) return undefined;
      if (had === undefined) steps.push([name, value]);
      deps.set(name, value);
    }
    chains.push(...parts.chain);
  }
  return { op: { [PATHS.opdef.post]: [...steps, ...chains, ["_r", sends.map((_, i) => ({ [`$_vb${i}`]: [] }))]] } as Json, args };
}

/** The key a view pins with `=` on every key column (its selector's or its filters'), plain cells only. */
function viewKeyEquality(v: ViewRead, info: TableInfo): unknown[] | undefined {
  const eq = new Map<string, unknown>();
  const plain = (x: unknown): boolean => typeof x === "string" || (typeof x === "number" && Number.isSafeInteger(x));
  if (Array.isArray(v.key)) for (const e of v.key) if (Array.isArray(e) && e.length === 2 && plain(e[1])) eq.set(e[0] as string, e[1]);
  for (const f of v.filters) {
    if (!Array.isArray(f)) continue;
    for (const c of f) if (Array.isArray(c) && c.length === 3 && c[1] === "=" && plain(c[2])) eq.set(c[0] as string, c[2]);
  }
  const cols = info.columns.slice(0, info.keyCount);
  return cols.every((c) => eq.has(c)) ? cols.map((c) => eq.get(c)) : undefined;
}
