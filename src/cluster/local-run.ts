/**
 * Running an op on gathered rows: an in-memory kernel is loaded with every gathered table (its
 * stored schema and the rows gathered), the op runs there in a session, and for an op that writes,
 * each table's rows afterwards are compared with the rows gathered — the rows to delete and to
 * write back on the shards. The kernel is the same code a host runs, so results and errors are
 * the ones one host holding every row would give.
 */
import type { Executor } from "../executor.js";
import type { Json, OpDef } from "../ir/types.js";
import { PATHS } from "../ir/types.js";
import { embedded } from "../kernel/index.js";
import type { TableInfo } from "./catalog.js";
import type { Gathered } from "./gather.js";
import { argCells, literalRows } from "./wire-ops.js";

/** What an op changed in one table: keys deleted, rows written (new or changed). */
export interface TableDiff {
  readonly deletes: unknown[][];
  readonly upserts: unknown[][];
}

/** The op's result and, when it wrote, what changed per table. */
export interface LocalOutcome {
  readonly result: Json;
  readonly diffs: Map<string, TableDiff>;
  /** Tables the op created (link → stored schema), and tables it dropped. */
  readonly created: Map<string, Json>;
  readonly dropped: string[];
}

/**
 * Runs `op` on the gathered rows.
 *
 * @example
 * ```ts
 * const { result, diffs } = await runLocally(gathered, catalog, op, args, true);
 * ```
 */
export async function runLocally(
  g: Gathered,
  info: (link: string) => TableInfo | undefined,
  run: { readonly op?: Json | OpDef; readonly args?: Readonly<Record<string, Json>>; readonly request?: Parameters<ReturnType<typeof embedded>["request"]>[0] },
  writes: boolean,
  enforceReferences = true,
): Promise<LocalOutcome> {
  return withGathered(g, info, enforceReferences, async (local, tables) => {
    const session = await local.session();
    let result: Json;
    try {
      result = run.request !== undefined ? await session.request(run.request) : await session.execute(run.op!, run.args ?? {});
    } catch (e) {
      await session.rollback().catch(() => undefined);
      throw e;
    }
    const diffs = new Map<string, TableDiff>();
    const created = new Map<string, Json>();
    const dropped: string[] = [];
    if (writes) {
      const now = new Set((await session.request({ verb: "get", path: "/host/tables", key: null })) as string[]);
      for (const t of tables) if (!now.has(t)) dropped.push(t);
      for (const t of now) {
        if (tables.includes(t)) continue;
        const schema = await session.request({ verb: "get", path: `${t}/schema`, key: null });
        created.set(t, schema);
        const rows = literalRows(await session.request({ verb: "get", path: t, key: null }));
        if (rows.length > 0) diffs.set(t, { deletes: [], upserts: rows });
      }
      for (const t of tables) {
        const ti = info(t)!;
        const before = g.rows.get(t) ?? new Map<string, unknown[]>();
        let afterRows: unknown[][];
        try {
          afterRows = literalRows(await session.request({ verb: "get", path: t, key: null }));
        } catch {
          // The op dropped the table: handled as a schema change, never here.
          continue;
        }
        const deletes: unknown[][] = [];
        const upserts: unknown[][] = [];
        const seen = new Set<string>();
        for (const row of afterRows) {
          const k = JSON.stringify(row.slice(0, ti.keyCount));
          seen.add(k);
          const old = before.get(k);
          if (old === undefined || JSON.stringify(old) !== JSON.stringify(row)) upserts.push(row);
        }
        for (const [k, row] of before) if (!seen.has(k)) deletes.push(row.slice(0, ti.keyCount));
        if (deletes.length > 0 || upserts.length > 0) diffs.set(t, { deletes, upserts });
      }
    }
    await session.rollback();
    return { result, diffs, created, dropped };
  });
}

/**
 * Runs `fn` on an in-memory kernel loaded with the gathered rows (`tables`: the tables loaded, in
 * the order they were created), closed afterwards.
 *
 * @example
 * ```ts
 * const rows = await withGathered(g, info, false, (local) => local.request({ verb: "get", path: link, key: null }));
 * ```
 */
export async function withGathered<T>(
  g: Gathered,
  info: (link: string) => TableInfo | undefined,
  enforceReferences: boolean,
  fn: (local: Executor, tables: readonly string[]) => Promise<T>,
): Promise<T> {
  // Without enforcement the run only discovers which rows its references need (see gather passes).
  const local = embedded(enforceReferences ? {} : { shardMember: true });
  try {
    // Every gathered table, each after the tables it references (a schema naming a missing target
    // is refused); a target nothing was gathered from is created empty.
    const tables: string[] = [];
    const placed = new Set<string>();
    const place = (t: string): void => {
      if (placed.has(t) || info(t) === undefined) return;
      placed.add(t);
      for (const [, target] of info(t)!.references) if (target !== t) place(target);
      tables.push(t);
    };
    for (const t of g.rows.keys()) place(t);
    for (const t of g.whole) place(t);
    for (const t of tables) {
      const rows = [...(g.rows.get(t)?.values() ?? [])];
      await local.request({ verb: "put", path: t, key: null, body: { [PATHS.table]: [info(t)!.schema, argCells(rows)] } as Json });
    }
    return await fn(local, tables);
  } finally {
    await local.close();
  }
}
