/**
 * Views an op reads from a table, found in its IR before it runs, so that each shard can be asked
 * for only the rows the view keeps: a step reading a table (`GET <table>` with a selector or no
 * key, or `GET <table>/order`) whose value the op uses only through a chain of view calls —
 * `order`, `filter`, `sort`, `select`, then `limit`, or `rows` then `slice` with a `stop` — each
 * step used once, by the next.
 *
 * Each shard is sent that chain itself (the table read, its `order`, `filter` and `sort` calls,
 * and the `limit`), ending in `rows`: the shard keeps its rows exactly as the op's own view keeps
 * them — the same filter semantics (nulls, types), the same order and ties — because it runs the
 * same calls. Gathered from every shard, those rows hold every row the view keeps on one host: a
 * filter keeps a row by that row alone, and the first `n` rows of the whole table in the view's
 * order are among the first `n` of the shard each lives on. The op then runs on the union as
 * before (local-run.ts), which sorts and cuts it to the global top `n`.
 *
 * A limit, and a key computed from another read, are pushed only when the op writes nothing: a
 * write earlier in the op could remove a row of the top `n` and bring in one that no shard sent,
 * or change the value read. Keys and amounts may use the op's arguments and steps computed from
 * arguments alone (such steps are sent along). A key or filter value taken from another read is
 * probed (`ViewRead.probe`) when that read's own key is known before running; an amount taken
 * from a read drops the limit; any other view whose calls depend on another read's value is not
 * pushed (the scan's call site is gathered as before).
 */
import type { Json } from "../ir/types.js";
import { PATHS } from "../ir/types.js";
import { COMPONENT, OPDEF_PATHS, tablePath } from "./op-scan.js";

/** One table read the op makes through a chain of view calls. */
export interface ViewRead {
  readonly table: string;
  readonly route: "" | "order";
  /** The read's key with arguments substituted (a selector or null), as the scan's call site has it; undefined when not known before running. */
  readonly key: unknown;
  /** The op each shard runs for it, answering the view's rows (every column); undefined when it cannot be pushed down. */
  readonly op?: Json;
  /**
   * The op's parts, to send several chains in one op: the steps sent along (`deps`, named as in
   * the op) and the chain's own steps named after `p` (`p` itself answers the rows).
   */
  readonly steps?: (p: string) => { readonly deps: readonly [string, Json][]; readonly chain: readonly [string, Json][] };
  /** True when the pushed chain ends in a limit (each shard sends at most that many rows). */
  readonly limited: boolean;
  /** The `filter` keys of the chain with arguments substituted (undefined entries: not known). */
  readonly filters: readonly unknown[];
  /**
   * Values the chain's keys take from other reads (a page's boundary row): `op` computes them
   * from the rows gathered for those reads — every one a read whose key is known before running —
   * and answers them in the order of `names`, each then sent to the shards as an argument.
   */
  readonly probe?: { readonly op: Json; readonly names: readonly string[] };
}

/** Resolves a value with the op's arguments substituted (undefined when it depends on a step). */
export type Resolve = (x: unknown) => unknown;

const EXPLICIT = new Set<string>(Object.values(PATHS.explicitRef));
const CHAIN_ROUTES = new Set(["order", "filter", "sort"]);
/** The step names of the ops sent to the shards (a step sent along must not take one). */
const OWN_NAMES = /^_v(w|b\d+)(c\d+|l|ok|stop)?$|^_r$/;

type Steps = readonly (readonly [string, Json])[];

/** The steps of an op definition `{"/state/scalar/op/<verb>": [[name, value], …]}`, else undefined. */
function stepsOf(x: unknown): Steps | undefined {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return undefined;
  const keys = Object.keys(x);
  if (keys.length !== 1 || !OPDEF_PATHS.has(keys[0]!)) return undefined;
  const v = (x as Record<string, unknown>)[keys[0]!];
  if (!Array.isArray(v) || !v.every((s) => Array.isArray(s) && s.length === 2 && typeof s[0] === "string")) return undefined;
  return v as Steps;
}

/** The one key and value of a one-key object, else undefined. */
function single(x: unknown): [string, unknown] | undefined {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return undefined;
  const keys = Object.keys(x);
  return keys.length === 1 ? [keys[0]!, (x as Record<string, unknown>)[keys[0]!]] : undefined;
}

/** The name a reference subject names (`$name` or `$name/route`), else undefined. */
function refName(subject: string): string | undefined {
  if (!subject.startsWith("$")) return undefined;
  const slash = subject.indexOf("/");
  return slash < 0 ? subject.slice(1) : subject.slice(1, slash);
}

/** Every name `x` refers to (`{"$name…": …}` subjects and `"$name…"` strings). */
function refsIn(x: unknown, out: string[] = []): string[] {
  if (Array.isArray(x)) {
    for (const e of x) refsIn(e, out);
  } else if (typeof x === "string") {
    const n = refName(x);
    if (n !== undefined) out.push(n);
  } else if (typeof x === "object" && x !== null) {
    for (const [k, v] of Object.entries(x)) {
      const n = refName(k);
      if (n !== undefined) out.push(n);
      refsIn(v, out);
    }
  }
  return out;
}

/** True when `x` reads no table, calls no component and writes nothing: it can run anywhere. */
function pure(x: unknown): boolean {
  if (Array.isArray(x)) return x.every(pure);
  if (typeof x === "string") return tablePath(x) === undefined && !COMPONENT.test(x);
  if (typeof x !== "object" || x === null) return true;
  for (const [k, v] of Object.entries(x)) {
    if (tablePath(k) !== undefined || EXPLICIT.has(k) || COMPONENT.test(k)) return false;
    if (k.startsWith("$") && Array.isArray(v) && v.length >= 2) return false;
    if (k.startsWith("$") && k.endsWith("/delete")) return false;
    if (!pure(v)) return false;
  }
  return true;
}

/** A table read's route and GET key, when `x` is `{"<table>[/order]": [key]}`. */
function tableRead(x: unknown): { table: string; route: "" | "order"; key: unknown } | undefined {
  const kv = single(x);
  if (kv === undefined) return undefined;
  const t = tablePath(kv[0]);
  if (t === undefined || (t.route !== "" && t.route !== "order")) return undefined;
  if (!Array.isArray(kv[1]) || kv[1].length !== 1) return undefined;
  return { table: t.table, route: t.route, key: kv[1][0] };
}

/** True when a GET key on a table names a view of rows (no key, or a selector `[[col, bound], …]`), not one row. */
function viewKey(key: unknown): boolean {
  if (key === null) return true;
  return Array.isArray(key) && key.length > 0 && key.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === "string");
}

/**
 * Every read of a table the op makes with route `""` or `"order"` as the scan's call sites see
 * them, each with the op its shards can run when it is a view chain (see the module docs).
 *
 * @example
 * ```ts
 * viewReads(op, args, resolve, false); // [{ table: "/state/app/users", route: "", key: null, op: {...}, limited: true, filters: [...] }]
 * ```
 */
export function viewReads(op: Json, args: Readonly<Record<string, Json>>, resolve: Resolve, writes: boolean): ViewRead[] {
  const out: ViewRead[] = [];
  const refsOf = stepRefs();
  const visit = (x: unknown, scopes: readonly Steps[]): void => {
    if (Array.isArray(x)) {
      for (const e of x) visit(e, scopes);
      return;
    }
    if (typeof x !== "object" || x === null) return;
    const steps = stepsOf(x);
    if (steps !== undefined) {
      const inner = [...scopes, steps];
      for (const [name, value] of steps) {
        const read = tableRead(value);
        if (read !== undefined) {
          out.push(chain(name, read, inner, args, resolve, writes, refsOf));
          visit(read.key, inner);
        } else visit(value, inner);
      }
      return;
    }
    const kv = single(x);
    if (kv !== undefined) {
      const t = tablePath(kv[0]);
      if (t !== undefined && (t.route === "" || t.route === "order")) {
        out.push({ table: t.table, route: t.route, key: Array.isArray(kv[1]) ? resolve(kv[1][0]) : undefined, limited: false, filters: [] });
      } else if (EXPLICIT.has(kv[0]) && Array.isArray(kv[1]) && typeof kv[1][0] === "string") {
        const s = tablePath(kv[1][0]);
        if (s !== undefined && (s.route === "" || s.route === "order")) out.push({ table: s.table, route: s.route, key: resolve(kv[1][1]), limited: false, filters: [] });
      }
    }
    for (const v of Object.values(x)) visit(v, scopes);
  };
  visit(op, []);
  return out;
}

/**
 * The names a step's value refers to, each step's found once per `viewReads` call: a chain asks
 * `onlyUse` once per link, and each time over every step of its scope.
 */
type StepRefs = (value: Json) => readonly string[];

function stepRefs(): StepRefs {
  const known = new Map<object, readonly string[]>();
  return (value) => {
    if (typeof value !== "object" || value === null) return refsIn(value);
    let refs = known.get(value);
    if (refs === undefined) known.set(value, (refs = refsIn(value)));
    return refs;
  };
}

/** The one use of `name` among `steps` (anywhere in their values), when it is a call on it (`{"$name/route": …}`). */
function onlyUse(steps: Steps, name: string, refsOf: StepRefs): readonly [string, Json] | undefined {
  let count = 0;
  let direct: readonly [string, Json] | undefined;
  for (const step of steps) {
    let n = 0;
    for (const r of refsOf(step[1])) if (r === name) n++;
    if (n === 0) continue;
    count += n;
    const kv = single(step[1]);
    if (n === 1 && kv !== undefined && refName(kv[0]) === name && kv[0].startsWith(`$${name}/`)) direct = step;
  }
  return count === 1 ? direct : undefined;
}

/** The chain of view calls on step `name` (a table read), and the op the shards run for it. */
function chain(
  name: string,
  read: { table: string; route: "" | "order"; key: unknown },
  scopes: readonly Steps[],
  args: Readonly<Record<string, Json>>,
  resolve: Resolve,
  writes: boolean,
  refsOf: StepRefs,
): ViewRead {
  const key = resolve(read.key);
  const base: ViewRead = { table: read.table, route: read.route, key, limited: false, filters: [] };
  if (read.route === "" && !viewKey(read.key)) return base;
  const scope = scopes[scopes.length - 1]!;
  const calls: { route: string; key: Json }[] = [];
  let limit: { amount: Json; guarded: boolean } | undefined;
  let cur = name;
  for (;;) {
    const use = onlyUse(scope, cur, refsOf);
    if (use === undefined) break;
    const [subject, value] = single(use[1])!;
    const route = subject.slice(cur.length + 2);
    if (route === "select" && Array.isArray(value) && value.length === 1) {
      cur = use[0];
      continue;
    }
    if (CHAIN_ROUTES.has(route) && Array.isArray(value) && value.length === 1) {
      calls.push({ route, key: value[0] as Json });
      cur = use[0];
      continue;
    }
    if (route === "limit" && Array.isArray(value) && value.length === 1 && !writes) limit = { amount: value[0] as Json, guarded: false };
    if (route === "rows" && !writes) {
      // `rows` then `slice {stop}`: the first `stop` rows; a negative stop counts from the end,
      // so the shards apply it as a limit only when it is not negative.
      const next = onlyUse(scope, use[0], refsOf);
      const kv = next && single(next[1]);
      if (kv && kv[0] === `$${use[0]}/slice` && typeof kv[1] === "object" && kv[1] !== null && !Array.isArray(kv[1]) && "stop" in kv[1]) {
        const stop = (kv[1] as Record<string, Json>).stop!;
        if (typeof stop === "number") {
          if (Number.isSafeInteger(stop) && stop >= 0) limit = { amount: stop, guarded: false };
        } else limit = { amount: stop, guarded: true };
      }
    }
    break;
  }
  const filters = calls.filter((c) => c.route === "filter").map((c) => resolve(c.key));
  const deps = new Dependencies(scopes, args, resolve);
  // In an op that writes, a value read earlier may change before this read: no probes.
  if (!deps.add([read.key, ...calls.map((c) => c.key)], !writes)) return base;
  // An amount known only from a read (a page's rest): no limit — amounts are never probed.
  if (limit !== undefined && !deps.add([limit.amount], false)) limit = undefined;
  // Nothing narrows it (the scan's site is as good), or a key known only from another read
  // without anything else narrowing it.
  if (limit === undefined && filters.length === 0 && deps.probes.length === 0) return base;
  const amount = limit;
  /** The chain's steps, named `<p>c0`, `<p>c1`, …; the last one, `p`, answers the rows. */
  const chainSteps = (p: string): [string, Json][] => {
    const steps: [string, Json][] = [[`${p}c0`, { [read.route === "" ? read.table : `${read.table}/order`]: [read.key] } as Json]];
    calls.forEach((c, i) => steps.push([`${p}c${i + 1}`, { [`$${p}c${i}/${c.route}`]: [c.key] } as Json]));
    const last = `$${p}c${calls.length}`;
    const rows = (from: string): Json => ({ [`${from}/rows`]: [null] }) as Json;
    if (amount === undefined) steps.push([p, rows(last)]);
    else if (!amount.guarded) steps.push([`${p}l`, { [`${last}/limit`]: [amount.amount] } as Json], [p, rows(`$${p}l`)]);
    else {
      const limited = { [PATHS.opdef.post]: [["_vl", { [`${last}/limit`]: [{ [`$${p}stop`]: [] }] }], ["_r", rows("$_vl")]] };
      const whole = { [PATHS.opdef.post]: [["_r", rows(last)]] };
      steps.push([`${p}stop`, amount.amount], [`${p}ok`, { [`$${p}stop/ge`]: { r: 0 } }], [p, { [PATHS.cond]: [{ [`$${p}ok`]: [] }, limited, whole] } as Json]);
    }
    return steps;
  };
  const probe = deps.probes.length === 0 ? {} : { probe: { op: { [PATHS.opdef.post]: [...deps.probeSteps, ["_r", deps.probes.map((n) => ({ [`$${n}`]: [] }))]] } as Json, names: deps.probes } };
  return {
    ...base,
    op: { [PATHS.opdef.post]: [...deps.steps, ...chainSteps("_vw"), ["_r", { $_vw: [] }]] } as Json,
    steps: (p) => ({ deps: deps.steps as [string, Json][], chain: chainSteps(p) }),
    limited: limit !== undefined,
    filters,
    ...probe,
  };
}

/** True when `x` writes (a PUT or DELETE form, an explicit write, a POST on a table) or calls a component. */
function writesOrCalls(x: unknown): boolean {
  if (Array.isArray(x)) return x.some(writesOrCalls);
  if (typeof x === "string") return COMPONENT.test(x);
  if (typeof x !== "object" || x === null) return false;
  for (const [k, v] of Object.entries(x)) {
    if (COMPONENT.test(k) || (EXPLICIT.has(k) && k !== PATHS.explicitRef.get)) return true;
    if ((k.startsWith("$") || tablePath(k) !== undefined) && ((Array.isArray(v) && v.length >= 2) || k.endsWith("/delete"))) return true;
    if (tablePath(k) !== undefined && !Array.isArray(v)) return true;
    if (writesOrCalls(v)) return true;
  }
  return false;
}

/** True when every table `x` reads has a key known before running (its rows are gathered before probes run). */
function readsKnownKeys(x: unknown, resolve: Resolve): boolean {
  if (Array.isArray(x)) return x.every((e) => readsKnownKeys(e, resolve));
  if (typeof x !== "object" || x === null) return true;
  for (const [k, v] of Object.entries(x)) {
    if (tablePath(k) !== undefined && (!Array.isArray(v) || v.length !== 1 || resolve(v[0]) === undefined)) return false;
    if (k === PATHS.explicitRef.get && (!Array.isArray(v) || resolve(v[1]) === undefined)) return false;
    if (!readsKnownKeys(v, resolve)) return false;
  }
  return true;
}

/**
 * The steps values of a chain refer to, with theirs, in dependency order. A step computed from
 * arguments alone is sent along (`steps`); one computed from reads is a probe (`probes`, its
 * steps in `probeSteps`): run on the gathered rows, its value sent as an argument — allowed when
 * it writes nothing and reads only tables with keys known before running. A name of a loop or
 * another scope's value resolves to neither, and the chain is not pushed.
 */
class Dependencies {
  readonly steps: [string, Json][] = [];
  readonly probes: string[] = [];
  readonly probeSteps: [string, Json][] = [];
  readonly #sent = new Map<string, Json>();
  readonly #probed = new Map<string, Json>();

  constructor(
    private readonly scopes: readonly Steps[],
    private readonly args: Readonly<Record<string, Json>>,
    private readonly resolve: Resolve,
  ) {}

  /** Adds what `xs` refer to; false when one cannot be had (`probes`: whether a read may supply it). */
  add(xs: readonly unknown[], probes = true): boolean {
    for (const x of xs) {
      for (const r of refsIn(x)) {
        const found = this.#find(r, this.scopes.length - 1);
        if (found === undefined) {
          if (!(r in this.args)) return false;
          continue;
        }
        const pureSteps = this.#closure(r, found.depth, false);
        if (pureSteps !== undefined) {
          if (!this.#merge(this.#sent, this.steps, pureSteps)) return false;
          continue;
        }
        if (!probes || r in this.args || OWN_NAMES.test(r)) return false;
        const read = this.#closure(r, found.depth, true);
        if (read === undefined || !this.#merge(this.#probed, this.probeSteps, read)) return false;
        if (!this.probes.includes(r)) this.probes.push(r);
      }
    }
    return true;
  }

  #find(ref: string, depth: number): { step: readonly [string, Json]; depth: number } | undefined {
    for (let i = depth; i >= 0; i--) {
      const step = this.scopes[i]!.find((s) => s[0] === ref);
      if (step !== undefined) return { step, depth: i };
    }
    return undefined;
  }

  /** The steps `ref` needs, itself last; undefined when one is impure (`reads`: reading tables of known keys is allowed). */
  #closure(ref: string, depth: number, reads: boolean): [string, Json][] | undefined {
    const out: [string, Json][] = [];
    const done = new Set<string>();
    const visit = (name: string, d: number): boolean => {
      const found = this.#find(name, d);
      if (found === undefined) return name in this.args;
      if (done.has(name)) return true;
      const value = found.step[1];
      if (OWN_NAMES.test(name)) return false;
      if (reads ? writesOrCalls(value) || !readsKnownKeys(value, this.resolve) : !pure(value)) return false;
      done.add(name);
      for (const r of refsIn(value)) if (r !== name && !visit(r, found.depth)) return false;
      out.push([name, value]);
      return true;
    };
    return visit(ref, depth) ? out : undefined;
  }

  /** Adds `steps` to `into` once each; false when a name would stand for two values. */
  #merge(seen: Map<string, Json>, into: [string, Json][], steps: readonly [string, Json][]): boolean {
    for (const [name, value] of steps) {
      const had = seen.get(name);
      if (had !== undefined) {
        if (had !== value) return false;
        continue;
      }
      seen.set(name, value);
      into.push([name, value]);
    }
    return true;
  }
}
