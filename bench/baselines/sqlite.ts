/**
 * better-sqlite3 baseline: the same schema and indexes as the TinyChain tables, prepared
 * statements, raw row arrays (the cheapest form better-sqlite3 offers — the strongest baseline).
 *
 * Schema (mirrors the benchmark tables):
 *   users   PK id, index on (city, age)
 *   follows PK (follower, followee) — WITHOUT ROWID, i.e. clustered on the key like our primary
 *           index — plus an index on followee
 *   posts   PK id, index on (author, lang)
 */
import Database from "better-sqlite3";
import type { Dataset } from "../dataset.js";
import { LANGS, CITIES, userName } from "../dataset.js";

export type SqliteDb = Database.Database;

export const SCHEMA_SQL = `
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL, age INTEGER);
CREATE INDEX users_by_city_age ON users(city, age);
CREATE TABLE follows (follower INTEGER NOT NULL, followee INTEGER NOT NULL, PRIMARY KEY (follower, followee)) WITHOUT ROWID;
CREATE INDEX follows_by_followee ON follows(followee);
CREATE TABLE posts (id INTEGER PRIMARY KEY, author INTEGER NOT NULL, lang TEXT NOT NULL);
CREATE INDEX posts_by_author_lang ON posts(author, lang);
`;

export interface SqliteOpenOptions {
  /** A file path → file-backed WAL database; omitted → `:memory:`. */
  readonly file?: string;
  /** `synchronous` pragma for file databases (default NORMAL). */
  readonly synchronous?: "NORMAL" | "FULL";
  /** Create the schema (default true). */
  readonly create?: boolean;
}

/**
 * Opens (and by default creates the schema of) a baseline database.
 * @example
 * const db = openSqlite({ file: "/tmp/x.db", synchronous: "FULL" });
 */
export function openSqlite(opts: SqliteOpenOptions = {}): SqliteDb {
  const db = new Database(opts.file ?? ":memory:");
  if (opts.file) {
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${opts.synchronous ?? "NORMAL"}`);
  }
  if (opts.create ?? true) db.exec(SCHEMA_SQL);
  return db;
}

/**
 * Inserts the whole dataset in ONE transaction with prepared inserts; returns the row count.
 * @example
 * const rows = loadSqlite(db, data); // 1.4M at 100k users
 */
export function loadSqlite(db: SqliteDb, d: Dataset, progress?: (message: string) => void): number {
  const insUser = db.prepare("INSERT INTO users (id, name, city, age) VALUES (?, ?, ?, ?)");
  const insFollow = db.prepare("INSERT INTO follows (follower, followee) VALUES (?, ?)");
  const insPost = db.prepare("INSERT INTO posts (id, author, lang) VALUES (?, ?, ?)");
  const tx = db.transaction(() => {
    for (let i = 0; i < d.userCount; i++) insUser.run(i, userName(i), CITIES[d.userCity[i]!]!, d.userAge[i]!);
    for (let e = 0; e < d.followCount; e++) {
      insFollow.run(d.follower[e]!, d.followee[e]!);
      if (progress && (e + 1) % 2_000_000 === 0) progress(`  sqlite follows: ${e + 1}/${d.followCount}`);
    }
    for (let p = 0; p < d.postCount; p++) insPost.run(p, d.postAuthor[p]!, LANGS[d.postLang[p]!]!);
  });
  tx();
  return d.userCount + d.followCount + d.postCount;
}

const TWO_HOP_ENDPOINTS =
  "SELECT f2.followee FROM follows f1 JOIN follows f2 ON f2.follower = f1.followee WHERE f1.follower = ?";

/** The benchmark queries as prepared statements. Same semantics as the other implementations. */
export interface SqliteQueries {
  /** users row by id, as [id, name, city, age] or undefined. */
  pointGet(id: number): unknown[] | undefined;
  /** Rows of follows for one follower, then the users they point at (one join). */
  oneHop(id: number): unknown[][];
  /** Number of distinct users exactly two follows-hops away. */
  twoHopDistinct(id: number): number;
  /** Posts with lang='en' authored by the 2-hop endpoints: count. */
  threeHopEnCount(id: number): number;
  /** … the first 100 of them (any order). */
  threeHopEnLimit(id: number): unknown[][];
}

/**
 * Prepares the benchmark statements on `db`.
 * @example
 * const q = prepareQueries(db); q.twoHopDistinct(42);
 */
export function prepareQueries(db: SqliteDb): SqliteQueries {
  const point = db.prepare("SELECT id, name, city, age FROM users WHERE id = ?").raw(true);
  const oneHop = db
    .prepare("SELECT u.id, u.name, u.city, u.age FROM follows f JOIN users u ON u.id = f.followee WHERE f.follower = ?")
    .raw(true);
  const twoHop = db
    .prepare(`SELECT count(DISTINCT f2.followee) FROM follows f1 JOIN follows f2 ON f2.follower = f1.followee WHERE f1.follower = ?`)
    .pluck(true);
  const threeCount = db
    .prepare(`SELECT count(*) FROM posts p WHERE p.lang = 'en' AND p.author IN (${TWO_HOP_ENDPOINTS})`)
    .pluck(true);
  const threeLimit = db
    .prepare(`SELECT p.id, p.author, p.lang FROM posts p WHERE p.lang = 'en' AND p.author IN (${TWO_HOP_ENDPOINTS}) LIMIT 100`)
    .raw(true);
  return {
    pointGet: (id) => point.get(id) as unknown[] | undefined,
    oneHop: (id) => oneHop.all(id) as unknown[][],
    twoHopDistinct: (id) => twoHop.get(id) as number,
    threeHopEnCount: (id) => threeCount.get(id) as number,
    threeHopEnLimit: (id) => threeLimit.all(id) as unknown[][],
  };
}

/** EXPLAIN QUERY PLAN lines for the graph queries (printed into the report for transparency). */
export function queryPlans(db: SqliteDb): Record<string, string[]> {
  const plan = (sql: string): string[] =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(1) as { detail: string }[]).map((r) => r.detail);
  return {
    twoHop: plan(`SELECT count(DISTINCT f2.followee) FROM follows f1 JOIN follows f2 ON f2.follower = f1.followee WHERE f1.follower = ?`),
    threeHop: plan(`SELECT count(*) FROM posts p WHERE p.lang = 'en' AND p.author IN (${TWO_HOP_ENDPOINTS})`),
  };
}
