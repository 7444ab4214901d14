/**
 * Deterministic social-graph dataset for the benchmarks: users, follows, posts.
 *
 * Same parameters → the same rows, in every process (seeded PRNG, never Math.random).
 * The size is set by the user count; degrees are fixed, so the 10k / 100k / 1M-user variants have
 * the same local shape (each user follows exactly `followDegree` distinct others, targets skewed
 * towards low ids — a power-law-ish in-degree; ~3 posts per user).
 *
 * Storage is columnar (typed arrays) so even 1M users / 10M follows are cheap to generate and
 * hold; row tuples are produced on demand by the `*Rows()` generators.
 *
 * Rows (column order = the benchmark schema, key columns first):
 *   users   [id, name, city, age]        id = 0 … users-1
 *   follows [follower, followee]          sorted by (follower, followee), no duplicates, no self-loops
 *   posts   [id, author, lang]            id = 0 … posts-1, lang ∈ LANGS ('en' ≈ 40 %)
 */

export type DatasetScale = "small" | "full" | "large";

/** Users per named scale: small = 10k, full = 100k (the issue size), large = 1M. */
export const SCALE_USERS: Record<DatasetScale, number> = { small: 10_000, full: 100_000, large: 1_000_000 };

export interface DatasetSpec {
  readonly users: number;
  /** Out-degree of every user in `follows` (default 10 → ~1M follows at 100k users). */
  readonly followDegree?: number;
  /** Posts per user on average (default 3 → 300k posts at 100k users). */
  readonly postsPerUser?: number;
  /** PRNG seed (default 42). */
  readonly seed?: number;
}

export const CITIES = [
  "paris", "london", "berlin", "madrid", "rome", "lisbon", "vienna", "prague", "warsaw", "oslo",
  "stockholm", "helsinki", "dublin", "amsterdam", "brussels", "zurich", "geneva", "milan", "munich", "hamburg",
  "tokyo", "osaka", "seoul", "beijing", "shanghai", "delhi", "mumbai", "sydney", "melbourne", "auckland",
  "toronto", "montreal", "vancouver", "chicago", "boston", "seattle", "austin", "denver", "miami", "lima",
] as const;

/** Post languages; index 0 is 'en'. Weights below give 'en' ≈ 40 %. */
export const LANGS = ["en", "es", "fr", "de", "ja", "pt"] as const;
const LANG_CUMULATIVE = [0.4, 0.55, 0.7, 0.8, 0.9, 1.0];

const SYLLABLES = ["ka", "lo", "mi", "ra", "te", "su", "no", "vi", "da", "re", "an", "el", "to", "ji", "ba", "qu"];

export type UserRow = [id: number, name: string, city: string, age: number];
export type FollowRow = [follower: number, followee: number];
export type PostRow = [id: number, author: number, lang: string];

export interface Dataset {
  readonly spec: Required<DatasetSpec>;
  readonly userCount: number;
  readonly followCount: number;
  readonly postCount: number;
  /** users: city index into CITIES, age. Names are derived from the id (`userName`). */
  readonly userCity: Uint8Array;
  readonly userAge: Uint8Array;
  /** follows, sorted by follower then followee (CSR-friendly). */
  readonly follower: Int32Array;
  readonly followee: Int32Array;
  /** posts: author id and lang index into LANGS. */
  readonly postAuthor: Int32Array;
  readonly postLang: Uint8Array;
}

/**
 * A small fast seeded PRNG (sfc32, seeded through splitmix32). Returns floats in [0, 1).
 * @example
 * const rnd = prng(42); rnd(); // 0.…, the same in every run
 */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split(), b = split(), c = split(), d = split();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

/** The deterministic display name of user `id` (two or three syllables + the id). */
export function userName(id: number): string {
  const a = SYLLABLES[id & 15]!, b = SYLLABLES[(id >>> 4) & 15]!, c = SYLLABLES[(id >>> 8) & 15]!;
  return `${a}${b}${c}_${id}`;
}

/**
 * Generates the dataset. 100k users takes well under a second; 1M users a few seconds.
 * @example
 * const d = generate({ users: 10_000 }); d.followCount; // 100_000
 */
export function generate(spec: DatasetSpec): Dataset {
  const full: Required<DatasetSpec> = {
    users: spec.users,
    followDegree: spec.followDegree ?? 10,
    postsPerUser: spec.postsPerUser ?? 3,
    seed: spec.seed ?? 42,
  };
  const n = full.users;
  const degree = Math.min(full.followDegree, n - 1);
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`dataset needs at least 2 users, got ${n}`);
  const rnd = prng(full.seed);

  const userCity = new Uint8Array(n);
  const userAge = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    // Skew cities a little so some are much more popular than others.
    userCity[i] = Math.floor(CITIES.length * rnd() ** 1.5);
    userAge[i] = 16 + Math.floor(rnd() * 64);
  }

  // follows: fixed out-degree; half the targets uniform, half skewed to low ids (heavy in-degree).
  const followCount = n * degree;
  const follower = new Int32Array(followCount);
  const followee = new Int32Array(followCount);
  const picked = new Int32Array(degree);
  for (let u = 0, e = 0; u < n; u++) {
    let k = 0;
    while (k < degree) {
      const r = rnd();
      const t = r < 0.5 ? Math.floor(rnd() * n) : Math.floor(n * rnd() ** 3);
      if (t === u) continue;
      let dup = false;
      for (let j = 0; j < k; j++) if (picked[j] === t) { dup = true; break; }
      if (dup) continue;
      picked[k++] = t;
    }
    const sorted = picked.slice(0, k).sort();
    for (let j = 0; j < k; j++, e++) {
      follower[e] = u;
      followee[e] = sorted[j]!;
    }
  }

  const postCount = Math.round(n * full.postsPerUser);
  const postAuthor = new Int32Array(postCount);
  const postLang = new Uint8Array(postCount);
  for (let p = 0; p < postCount; p++) {
    postAuthor[p] = Math.floor(rnd() * n);
    const r = rnd();
    let l = 0;
    while (r >= LANG_CUMULATIVE[l]!) l++;
    postLang[p] = l;
  }

  return { spec: full, userCount: n, followCount, postCount, userCity, userAge, follower, followee, postAuthor, postLang };
}

/** The user row for `id`. */
export function userRow(d: Dataset, id: number): UserRow {
  return [id, userName(id), CITIES[d.userCity[id]!]!, d.userAge[id]!];
}

/** Streams user rows in id order. */
export function* userRows(d: Dataset): Generator<UserRow> {
  for (let i = 0; i < d.userCount; i++) yield userRow(d, i);
}

/** Streams follow rows in (follower, followee) order. */
export function* followRows(d: Dataset): Generator<FollowRow> {
  for (let e = 0; e < d.followCount; e++) yield [d.follower[e]!, d.followee[e]!];
}

/** Streams post rows in id order. */
export function* postRows(d: Dataset): Generator<PostRow> {
  for (let p = 0; p < d.postCount; p++) yield [p, d.postAuthor[p]!, LANGS[d.postLang[p]!]!];
}

/** Collects a generator into chunks of at most `size` rows (for batched inserts). */
export function* chunks<T>(rows: Iterable<T>, size: number): Generator<T[]> {
  let chunk: T[] = [];
  for (const row of rows) {
    chunk.push(row);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * `count` distinct user ids to query, deterministic for a seed, spread over the id range
 * (so both popular low ids and the long tail are hit).
 */
export function sampleUserIds(d: Dataset, count: number, seed = 7): number[] {
  const rnd = prng(seed);
  const ids = new Set<number>();
  const want = Math.min(count, d.userCount);
  while (ids.size < want) ids.add(Math.floor(rnd() * d.userCount));
  return [...ids];
}
