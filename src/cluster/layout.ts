/**
 * A cluster's layout: shards over hash ranges of a table's key, the hosts serving each shard
 * (the first one is the primary, the rest replicas), and the tables placed whole on one shard.
 * Pure functions: validation, the key hash, and which shard a key lives on.
 */
import { BadRequestError, ConflictError } from "../errors.js";

/** Keys hash into [0, HASH_SPACE). */
export const HASH_SPACE = 2 ** 32;

/** One shard: the hash range `[lo, hi)` it holds and the hosts serving it (primary first). */
export interface ShardSpec {
  readonly range: readonly [number, number];
  readonly hosts: readonly string[];
}

/** Options of `cluster()`. */
export interface ClusterOptions {
  /** The shards, in hash order; their ranges must cover [0, 2^32) without gaps or overlaps. */
  readonly shards: readonly ShardSpec[];
  /** Bearer token sent to every host. */
  readonly token?: string;
  /**
   * Tables kept whole on one shard, by link (`/state/<ns>/<table>`) → shard index. Every other
   * table is partitioned by a hash of its key. A table with a generated (`autoIncrement`) key is
   * placed on the shard its link hashes to unless listed here: its sequence lives on one host.
   */
  readonly placement?: Readonly<Record<string, number>>;
  /** Per-request timeout (ms) towards each host; default 30 000. */
  readonly timeoutMs?: number;
  /**
   * Record this layout's ranges on hosts that hold none yet (a new cluster). Without it a host
   * that advertises no ranges is refused at connect.
   */
  readonly init?: boolean;
}

/** Thrown when the hosts cannot serve the layout, or the layout is malformed. */
export class ClusterLayoutError extends ConflictError {
  override readonly name = "ClusterLayoutError";
}

/**
 * Checks a layout: at least one shard, ranges in order covering the hash space exactly, each
 * shard with at least one host URL and no host twice in it, placements naming existing shards.
 *
 * @example
 * ```ts
 * checkLayout({ shards: [{ range: [0, 2 ** 32], hosts: ["http://127.0.0.1:8702"] }] });
 * ```
 */
export function checkLayout(opts: ClusterOptions): void {
  const shards = opts?.shards;
  if (!Array.isArray(shards) || shards.length === 0) throw new BadRequestError("cluster: shards must be a non-empty array");
  let at = 0;
  shards.forEach((s, i) => {
    const r = s?.range;
    if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => Number.isInteger(x))) {
      throw new BadRequestError(`cluster: shard ${i}: range must be [lo, hi) with integers, found ${JSON.stringify(r)}`);
    }
    if (r[0] !== at) throw new BadRequestError(`cluster: shard ${i} starts at ${r[0]}, expected ${at} (ranges must be in order, without gaps or overlaps)`);
    if (!(r[1] > r[0])) throw new BadRequestError(`cluster: shard ${i}: range [${r[0]}, ${r[1]}) is empty`);
    at = r[1];
    if (!Array.isArray(s.hosts) || s.hosts.length === 0) throw new BadRequestError(`cluster: shard ${i} has no host`);
    const seen = new Set<string>();
    for (const h of s.hosts) {
      if (typeof h !== "string") throw new BadRequestError(`cluster: shard ${i}: a host must be a URL string`);
      if (seen.has(h)) throw new BadRequestError(`cluster: shard ${i} lists ${h} twice`);
      seen.add(h);
    }
  });
  if (at !== HASH_SPACE) throw new BadRequestError(`cluster: the shard ranges end at ${at}, they must cover [0, 2^32)`);
  for (const [link, i] of Object.entries(opts.placement ?? {})) {
    if (!/^\/state\/[^/]+\/[^/]+$/.test(link)) throw new BadRequestError(`cluster: placement key ${JSON.stringify(link)} must be a table link /state/<ns>/<table>`);
    if (!Number.isInteger(i) || i < 0 || i >= shards.length) throw new BadRequestError(`cluster: ${link} is placed on shard ${i}, which does not exist`);
  }
}

/**
 * Splits the hash space into `n` equal ranges.
 *
 * @example
 * ```ts
 * evenRanges(2); // [[0, 2147483648], [2147483648, 4294967296]]
 * ```
 */
export function evenRanges(n: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) out.push([Math.floor((HASH_SPACE * i) / n), Math.floor((HASH_SPACE * (i + 1)) / n)]);
  return out;
}

/**
 * The 32-bit FNV-1a hash of a key tuple's JSON text (cells as stored, e.g. a 64-bit integer
 * beyond ±2^53 as its typed map). Every client of a cluster must agree on it: it is part of the
 * layout's contract (PROFILE §6.16).
 *
 * @example
 * ```ts
 * keyHash([1]) === keyHash([1]); // true; [1] and ["1"] hash apart
 * ```
 */
export function keyHash(key: readonly unknown[]): number {
  const text = JSON.stringify(key);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The index of the shard whose range holds `hash`. */
export function shardOfHash(shards: readonly ShardSpec[], hash: number): number {
  let lo = 0;
  let hi = shards.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (shards[mid]!.range[0] <= hash) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The shard a table link is placed on when it must live whole on one shard. */
export function homeShard(shards: readonly ShardSpec[], link: string): number {
  return shardOfHash(shards, keyHash([link]));
}
