/**
 * Graph catalog and typed, bounded traversals compiled to one composite op.
 */
export { Catalog, buildCatalog, relationsOf, checkRelationNames, defaultEdgeInverse } from "./catalog.js";
export type { TableNode, RelationInfo, RouteStep } from "./catalog.js";
export { Graph, createGraph } from "./graph.js";
export type { GraphOptions, MatchFilter } from "./graph.js";
export { Traversal, DEFAULT_MAX_HOPS } from "./traversal.js";
export type { HopOptions, ShortestPathOptions } from "./traversal.js";
export { GraphQuery } from "./query.js";
export type { CompiledTraversal, Lowering } from "./compile.js";
export type { ParamRef, ValueOrParam } from "./plan-values.js";
export type { GraphShape, GraphRowOf, ColumnOf, OutRelation, OutTarget, InRelation, InSource, SelfRelation, PathStep, ShapeOfSchema, UntypedShape } from "./shape.js";
export { VisitBudgetError } from "../errors.js";
export { DEFAULT_VISIT_BUDGET, MAX_HOPS_LIMIT } from "../ir/traverse-plan.js";
export type { TraversePlan, CmpOp } from "../ir/traverse-plan.js";
