/**
 * The compiled form of a query plan (plan-compile.ts makes it once per plan text): expression
 * closures over row arrays, the per-execution environment they read parameters and parent rows
 * from, and the value helpers every stage shares (null-aware, type-aware comparison).
 */
import { BadRequestError } from "../../errors.js";
import { compareCells, normCell, type KeyCell } from "../storage/index-keys.js";
import type { QueryAggFn } from "../../ir/query-plan.js";
import type { Visits } from "./budget.js";
import type { EqualityLookup } from "../storage/equality-lookup.js";
import type { Table } from "../storage/table-engine.js";
import type { Cell, Column, Row } from "../storage/table-schema.js";

/**
 * An evaluator: a closure compiled once per plan text, called per row with the row array of the
 * stage it belongs to — the joined rows (one per alias, `null` for a left join's missing side),
 * a group's values (group keys then aggregates), or an output row (for a distinct plan's order).
 */
export type Ev = (x: readonly unknown[]) => unknown;

/** The joined rows of one result row: one row per alias, in `from`, joins order. */
export type Slots = (Row | null)[];

/** What a value's static type is, as far as the plan says (`unknown`: a parameter or null). */
export type Kind = "number" | "string" | "bool" | "link" | "bytes" | "unknown";

/**
 * The per-execution state every closure of one compiled plan tree reads: bound parameters (by
 * index), the execution's row counter, and what it reads once (`sides`).
 */
export class Env {
  p: unknown[] = [];
  /** The running execution's row counter (its meter), for subplans run during it. */
  visits: Visits | null = null;
  /**
   * What one execution reads once and reuses (a hash join's or loop join's right side, by join):
   * emptied when the execution ends, so no compiled plan keeps a table's rows alive.
   */
  readonly sides = new Map<object, unknown>();

  /** Ends an execution: its row counter and what it read once go (the compiled plan is kept). */
  end(): void {
    this.visits = null;
    this.sides.clear();
  }
}

/** Holds the parent row of a nested plan while it runs for that parent (set before each run). */
export class OuterBox {
  slots: Slots = [];
}

/** The key form of a value for comparison and hashing: a link is its href. */
export function norm(v: unknown): KeyCell {
  if (typeof v !== "object" || v === null) return v as KeyCell;
  // A link or bytes cell as the index compares it; any other object (never a cell) as null.
  return normCell(v as Cell) ?? null;
}

/**
 * Total order on values as the contract orders them: null first, then numbers numerically,
 * strings by code point (links by href), `false < true`.
 *
 * @example
 * ```ts
 * compareValues(null, 1); // < 0
 * compareValues("a", "b"); // < 0
 * ```
 */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  return compareCells(norm(a), norm(b));
}

/** A hashable key for a tuple of values (group keys, distinct rows). */
export function tupleKey(values: readonly unknown[]): string {
  let s = "";
  for (let i = 0; i < values.length; i++) {
    const v = norm(values[i]);
    s +=
      typeof v === "string"
        ? `s${v.length}:${v}`
        : typeof v === "number"
          ? `n${v};`
          : typeof v === "bigint"
            ? `n${v.toString()};`
            : v === null
              ? "z;"
              : v
                ? "t;"
                : "f;";
  }
  return s;
}

/** A 400 naming the query problem. */
export function bad(message: string): BadRequestError {
  return new BadRequestError(`query: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// The compiled plan (plan-compile.ts makes it; plan-run.ts runs it).

/** A bound on a column of `from`, evaluated per execution (a free expression). */
export interface ConstraintSpec {
  readonly column: Column;
  readonly eq: Ev | undefined;
  readonly lo: { readonly ev: Ev; readonly inclusive: boolean } | undefined;
  readonly hi: { readonly ev: Ev; readonly inclusive: boolean } | undefined;
}

/**
 * How `from`'s rows are read. `pkOrdered`: the index gives them in primary key order;
 * `sortFrom`: they are not, and are put in that order before the joins (a plain plan without
 * `orderBy`, whose result then needs no sort and may stop at its limit).
 */
export type Access =
  /** Every row, in primary key order. */
  | { readonly t: "scan" }
  /** A prepared equality lookup on `cols` (values in `cols` order). */
  | { readonly t: "lookup"; readonly values: readonly Ev[]; readonly lookup: EqualityLookup; readonly pkOrdered: boolean; readonly sortFrom: boolean }
  /**
   * `col in (…)` on a column leading an index: one equality lookup per distinct listed value
   * (`values` gives the list for this execution), the rows then put in primary key order.
   */
  | { readonly t: "in"; readonly values: Ev; readonly lookup: EqualityLookup }
  /** An index range (the engine's planner picks the index). */
  | { readonly t: "range"; readonly specs: readonly ConstraintSpec[]; readonly pkOrdered: boolean; readonly sortFrom: boolean }
  /**
   * An index serving the order keys (`orderPos`: their row positions): rows come in the plan's
   * order; read in reverse, rows tying on the keys are put back in primary key order.
   */
  | { readonly t: "ordered"; readonly specs: readonly ConstraintSpec[]; readonly order: readonly string[]; readonly reverse: boolean; readonly orderPos: readonly number[] };

/** How a join finds the right rows for a left row. */
export type JoinStrategy =
  /**
   * An index whose first column is `column`: one lookup per left row. `sortRows`: the index gives
   * the rows out of primary key order, and the plan (plain, without `orderBy`) wants them in it.
   */
  | {
      readonly t: "lookup";
      readonly key: Ev;
      readonly lookup: EqualityLookup;
      readonly index: string;
      readonly pkOrdered: boolean;
      readonly sortRows: boolean;
      /**
       * The join condition is that one equality and nothing else: every row the lookup finds
       * satisfies it (the index compares cells as `=` does; a null key finds nothing), so it is
       * not tested again.
       */
      readonly onIsKey: boolean;
      /**
       * The key is a column of an earlier alias and the table is on the heap: the lookups of all
       * the previous join's candidates may be made ahead (join.ts `prefetch`), with no effect but
       * warming the cache.
       */
      readonly prefetch: boolean;
    }
  /** No such index: the right table read once per execution into a hash table on `column`. */
  | { readonly t: "hash"; readonly key: Ev; readonly position: number }
  /** No equality: every right row, read once per execution. */
  | { readonly t: "loop" };

export interface CompiledJoin {
  readonly alias: string;
  readonly table: Table;
  readonly slot: number;
  readonly left: boolean;
  readonly on: Ev;
  readonly strategy: JoinStrategy;
}

/** An aggregate of a grouped plan: its function, argument (row stage) and distinctness. */
export interface AggSpec {
  readonly fn: QueryAggFn;
  readonly arg: Ev | null;
  readonly distinct: boolean;
}

export interface CompiledWith {
  readonly as: string;
  readonly many: boolean;
  readonly plan: CompiledPlan;
}

/** A plan compiled for one set of tables (recompiled when a table of the namespace is replaced). */
export interface CompiledPlan {
  readonly env: Env;
  /** Set by the parent plan before each run (nested plans; unused at the root). */
  readonly box: OuterBox;
  readonly from: { readonly alias: string; readonly table: Table };
  readonly access: Access;
  readonly joins: readonly CompiledJoin[];
  /** The tables, per slot (`from`, then joins). */
  readonly tables: readonly Table[];
  /** The conjuncts of `where`, by the slot after whose binding each is tested. */
  readonly whereAt: readonly (readonly Ev[])[];
  /** Grouped plans: the group key evaluators (row stage) and aggregates; `null` otherwise. */
  readonly group: { readonly keys: readonly Ev[]; readonly aggs: readonly AggSpec[]; readonly having: Ev | null } | null;
  /** Output cells (row stage, or group stage when grouped). */
  readonly select: readonly Ev[];
  readonly distinct: boolean;
  /** A plain plan's `distinctOn` expressions (row stage), or null. */
  readonly distinctOn: readonly Ev[] | null;
  /** Order keys: row stage, group stage when grouped, output stage when distinct. */
  readonly order: readonly Ev[];
  readonly desc: readonly boolean[];
  readonly limit: Ev | null;
  readonly offset: Ev | null;
  readonly withs: readonly CompiledWith[];
  /** True when rows arrive in the tiebreak order (primary keys, slot by slot). */
  readonly natural: boolean;
}
