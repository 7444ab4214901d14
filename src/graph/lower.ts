/**
 * Core lowering of a traversal plan: the same result built only from core IR forms, for hosts
 * without the `traverse` extension.
 */
import { NotImplementedError } from "../errors.js";
import type { Json } from "../ir/types.js";
import type { TraversePlan } from "../client/embedded/traverse.js";
import type { Catalog } from "./catalog.js";

/** Lowers a plan to a POST OpDef of core forms. */
export function lowerToCore(plan: TraversePlan, catalog: Catalog): Json {
  void plan;
  void catalog;
  throw new NotImplementedError("core lowering of traversals is not implemented yet");
}
