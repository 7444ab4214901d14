/**
 * Kysely + better-sqlite3 baseline for the ORM benchmarks (issue 4). Exported for bench/orm.ts:
 *
 * - `kyselyPointSelect(k, id)`     build + compile + execute `select * from users where id = ?`
 * - `kyselyPointCompile(k, id)`    build + compile only, same query
 * - `kyselyFilteredCompile(k, a)`  build + compile only of the 3-predicate select with order+limit:
 *     select id, name, age from users where city = ? and age >= ? and age < ? order by age desc limit 20
 * - `kyselyPrebuilt(k)`            the two queries pre-built, for a pure `.compile()` measurement
 * - `measureKysely(db, ids)`       all of the above measured with the shared harness
 *
 * The ORM side should build the same queries (same table, columns, predicates, order, limit).
 */
import { type Generated, Kysely, SqliteDialect, type Selectable } from "kysely";
import type { SqliteDb } from "./sqlite.js";
import { measureAsync, measureSync, type Measurement } from "../harness.js";

export interface BenchDatabase {
  users: { id: number; name: string; city: string; age: number | null };
  /** Written by the ORM bench's `insert … returning` case (`id` generated). */
  events: { id: Generated<number>; name: string; n: number };
  follows: { follower: number; followee: number };
  posts: { id: number; author: number; lang: string };
}

export type KyselyDb = Kysely<BenchDatabase>;

/** Arguments of the 3-predicate query. */
export interface FilteredArgs {
  readonly city: string;
  readonly minAge: number;
  readonly maxAge: number;
}

export const FILTERED_DEFAULT: FilteredArgs = { city: "paris", minAge: 20, maxAge: 40 };

/**
 * A better-sqlite3 database whose `prepare` caches statements by SQL text: what a Kysely
 * application keeps warm (Kysely's SqliteDialect prepares on every execute otherwise).
 */
export function preparedStatementCache(db: SqliteDb): SqliteDb {
  const cache = new Map<string, ReturnType<SqliteDb["prepare"]>>();
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "prepare") {
        return (sql: string) => {
          let st = cache.get(sql);
          if (!st) {
            st = target.prepare(sql);
            cache.set(sql, st);
          }
          return st;
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A Kysely instance over an existing better-sqlite3 database (schema from sqlite.ts), statements cached by SQL text. */
export function createKysely(db: SqliteDb): KyselyDb {
  return new Kysely<BenchDatabase>({ dialect: new SqliteDialect({ database: preparedStatementCache(db) }) });
}

/** Build + compile + execute a point select by primary key. */
export function kyselyPointSelect(k: KyselyDb, id: number): Promise<Selectable<BenchDatabase["users"]> | undefined> {
  return k.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
}

/** Build + compile (no execution) of the point select. */
export function kyselyPointCompile(k: KyselyDb, id: number) {
  return k.selectFrom("users").selectAll().where("id", "=", id).compile();
}

function filteredQuery(k: KyselyDb, a: FilteredArgs) {
  return k
    .selectFrom("users")
    .select(["id", "name", "age"])
    .where("city", "=", a.city)
    .where("age", ">=", a.minAge)
    .where("age", "<", a.maxAge)
    .orderBy("age", "desc")
    .limit(20);
}

/** Build + compile (no execution) of the 3-predicate select with order and limit. */
export function kyselyFilteredCompile(k: KyselyDb, a: FilteredArgs = FILTERED_DEFAULT) {
  return filteredQuery(k, a).compile();
}

/** Build + compile + execute of the 3-predicate select. */
export function kyselyFilteredSelect(k: KyselyDb, a: FilteredArgs = FILTERED_DEFAULT) {
  return filteredQuery(k, a).execute();
}

/** Pre-built queries, to time `.compile()` alone. */
export function kyselyPrebuilt(k: KyselyDb, id = 1, a: FilteredArgs = FILTERED_DEFAULT) {
  return {
    point: k.selectFrom("users").selectAll().where("id", "=", id),
    filtered: filteredQuery(k, a),
  };
}

export interface KyselyFigures {
  /** build + compile + execute point select */
  readonly pointSelect: Measurement;
  /** build + compile, point select */
  readonly pointBuildCompile: Measurement;
  /** build + compile, 3-predicate select with order + limit */
  readonly filteredBuildCompile: Measurement;
  /** `.compile()` only on pre-built queries */
  readonly pointCompileOnly: Measurement;
  readonly filteredCompileOnly: Measurement;
}

/**
 * Measures every Kysely baseline on `db` (a loaded sqlite database) with the shared harness.
 * @example
 * const figures = await measureKysely(await ctx.sqliteMemory(), ctx.sampleUserIds);
 */
export async function measureKysely(db: SqliteDb, ids: readonly number[]): Promise<KyselyFigures> {
  const k = createKysely(db);
  const pointSelect = await measureAsync((i) => kyselyPointSelect(k, ids[i % ids.length]!));
  const pointBuildCompile = measureSync((i) => kyselyPointCompile(k, ids[i % ids.length]!));
  const filteredBuildCompile = measureSync((i) =>
    kyselyFilteredCompile(k, { city: "paris", minAge: 18 + (i % 20), maxAge: 60 }),
  );
  const pre = kyselyPrebuilt(k);
  const pointCompileOnly = measureSync(() => pre.point.compile());
  const filteredCompileOnly = measureSync(() => pre.filtered.compile());
  return { pointSelect, pointBuildCompile, filteredBuildCompile, pointCompileOnly, filteredCompileOnly };
}
