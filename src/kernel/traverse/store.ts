/**
 * The store a traversal reads: read access to one namespace's tables inside one transaction.
 * The traversal algorithms see tables only through this interface; `table-store.ts` adapts the
 * table engine to it, and tests can supply a store of their own.
 */
import type { KeySlots } from "../storage/derived/key-slots.js";
import type { LinkIndex } from "../storage/derived/link-index.js";
import { bytesKey, type KeyCell } from "../storage/index-keys.js";

/** What the traversal needs to know about a table. */
export interface TraverseTableShape {
  /** All columns in row-tuple order (key columns first). */
  readonly columns: readonly string[];
  /** Number of key columns (the first `keyCount` columns). */
  readonly keyCount: number;
  /** Secondary indexes' columns (the primary index, key ++ values, is implicit). */
  readonly indexes: readonly (readonly string[])[];
  /** True when every cell the table can hold is a JSON primitive (it has no link columns). */
  readonly plainCells?: boolean;
}

/** A row tuple: key columns then value columns. */
export type TraverseRow = readonly unknown[];

/**
 * An equality lookup prepared once per traversal: pushes onto `out` every row whose columns
 * equal `values` (in index order).
 */
export type PreparedLookup = (values: readonly unknown[], out: TraverseRow[]) => void;

/** Read access to the tables of one namespace, inside one transaction. */
export interface TraverseStore {
  /** The table's shape; throws `NotFoundError` for an unknown table. */
  shape(table: string): TraverseTableShape;
  /**
   * Prepares an equality lookup on `cols`: the key (a point lookup) or a prefix of an index's
   * columns. Throws `BadRequestError` when no index serves it.
   */
  prepare(table: string, cols: readonly string[]): PreparedLookup;
  /** Every row, in key order. */
  all(table: string): readonly TraverseRow[];
  /**
   * Optional: a token for the table's current definition (the same object while its schema is
   * the same). When given, a plan's binding — shapes, column positions, prepared lookups — is
   * kept across runs and reused while every table's token is unchanged.
   */
  identity?(table: string): object;
  /**
   * Optional, with `linkIndex`: the dense key slots of a one-column-key table (see
   * storage/derived/key-slots.ts), for distinct traversals at adjacency-array speed
   * (slot-distinct.ts, slot-hops.ts).
   */
  keySlots?(table: string): KeySlots | undefined;
  /** Optional: a relation as slot lists, kept current by the table's writes (storage/derived/link-index.ts). */
  linkIndex?(table: string, fromCol: string, sourceTable: string, toCol: string, targetTable: string): LinkIndex | undefined;
}

/** A cell as an index key cell: a link by its href, bytes by their key string, anything else as it is. */
export const normCell = (v: unknown): KeyCell =>
  typeof v === "object" && v !== null ? (v instanceof Uint8Array ? bytesKey(v) : ((v as { href?: string }).href ?? null)) : (v as KeyCell);
