/**
 * The compiler's contract: what a compile returns (the op, its parameters, the generated
 * bindings, a decoder and an explanation), the options it takes, and how a named parameter is
 * checked at execution. Shared by the statement layer and every part of the compiler.
 */
import type { Json } from "../ir/types.js";
import type { ColumnMeta } from "./meta.js";
import type { Explanation } from "./planner.js";

/** What `compile()` returns: the op, its parameter names (sorted), and the generated bindings. */
export interface CompiledQuery {
  /** The POST OpDef, as IR JSON. */
  readonly op: Json;
  /** Every free id of the op (generated and named parameters), sorted. */
  readonly params: readonly string[];
  /** Values of the generated parameters (`_0`, …): pass them with the named ones to `execute`. */
  readonly bound: Readonly<Record<string, Json>>;
}

/** How a named parameter is checked at execution. */
export interface ParamUse {
  readonly column: ColumnMeta | null;
  /** `in`: a list of column values; `amount`: a non-negative integer (limit/offset). */
  readonly shape: "value" | "list" | "amount";
}

/** @internal the compiler's full output */
export interface Compiled extends CompiledQuery {
  /** Maps the op's JSON result to what `execute()` returns. */
  readonly decode: (result: Json) => unknown;
  /** Named (user) parameters and how to check them. */
  readonly userParams: ReadonlyMap<string, ParamUse>;
  readonly explain: Explanation | null;
  /** Extensions the op needs from its host (checked before it runs). */
  readonly needs?: readonly string[];
}

export interface CompileOptions {
  /** Prefix of generated parameter names (a batch gives each statement its own). */
  readonly prefix?: string;
  /** Lower multi-row inserts to core IR instead of the `insert_rows` extension. */
  readonly coreInsert?: boolean;
  /** `false`: neither read nor fill the per-shape template cache (benchmarks of a cold compile). */
  readonly cache?: boolean;
  /** Per-row filters by a core-IR `fold` instead of the `filter` route extension. */
  readonly coreFilter?: boolean;
  /** Unserved orders by a core-IR insertion sort instead of the `sort` route extension. */
  readonly coreSort?: boolean;
}

/** What a node compiler (select, insert, update/delete) returns; `compileNode` adds the bindings. */
export type CompiledBody = Omit<Compiled, "params" | "bound" | "userParams">;
