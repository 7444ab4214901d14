/** Where each host of a cluster records the hash ranges it holds (ordinary state, PROFILE §6.16). */
import type { Json } from "../ir/types.js";

/** The table of ranges on each host: one row `[lo] → [hi]` per range `[lo, hi)`. */
export const RANGES_TABLE = "/state/_cluster/ranges";

/** Its schema. */
export const RANGES_SCHEMA: Json = [[[["lo", "/state/scalar/value/number/uint/64"]], [["hi", "/state/scalar/value/number/uint/64"]]], []];
