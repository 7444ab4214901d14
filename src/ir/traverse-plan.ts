/**
 * The contract of the kernel's `traverse` extension route (see docs/PROFILE.md): the plan a graph
 * traversal compiles to, its limits, and its validation — `parsePlan` for a plan text (the route),
 * `checkPlan` for a plan object (the builder). The graph layer builds plans with these types; the
 * kernel's traverse route parses them. Neither side owns the contract, so it lives here with the
 * rest of the IR.
 */
import { remember } from "./bounded-cache.js";
import { z } from "zod";
import { BadRequestError } from "../errors.js";
import { idProblem } from "./id.js";

/** A plain value in a plan or a row: a JSON primitive, a tuple, or anything a table cell holds. */
export type PlanScalar = unknown;

/** Comparison operators of `.where()` and of start filters. */
export type CmpOp = "=" | "!=" | "<" | "<=" | ">" | ">=" | "in";
export const CMP_OPS: readonly CmpOp[] = ["=", "!=", "<", "<=", ">", ">=", "in"];

/** A literal (`{lit}`) or a parameter bound at execution (`{param}`). */
export type PlanValue = { readonly lit: PlanScalar } | { readonly param: string };

/** `col op value` on the current table. */
export interface PlanFilter {
  readonly col: string;
  readonly op: CmpOp;
  readonly value: PlanValue;
}

/** Rows of `table` whose `cols` equal the previous row's `from` columns (index-served). */
export interface PlanLookup {
  readonly table: string;
  readonly cols: readonly string[];
  readonly from: readonly string[];
}

/**
 * One way to take a relation from a row: one lookup (a foreign key, either direction) or two
 * (an edge table: source → edge rows → target rows). `relAt` says which row is the relation row
 * for trail semantics: 0 = the current row (forward foreign key: the row holding the key),
 * 1 = the first lookup's row (inverse foreign key, or the edge-table row).
 */
export interface PlanHopAlt {
  readonly lookups: readonly PlanLookup[];
  readonly relAt: 0 | 1;
  /**
   * The relation's identity (`fk:<table>.<column>` or `edge:<table>.<name>`), shared by both
   * directions: a trail uses each (relation, row) pair at most once.
   */
  readonly relation: string;
}

export interface PlanHop {
  readonly kind: "hop";
  /** For messages and explain(): the relation's name and direction. */
  readonly rel: string;
  readonly dir: "out" | "in" | "both";
  /** The table the hop starts from and ends in. */
  readonly source: string;
  readonly target: string;
  /** `both` has two alternatives (forward and inverse); their union is taken. */
  readonly alts: readonly PlanHopAlt[];
  readonly min: number;
  readonly max: number;
}
export interface PlanWhere {
  readonly kind: "where";
  readonly filter: PlanFilter;
}
export interface PlanAs {
  readonly kind: "as";
  readonly alias: string;
}
export type PlanStep = PlanHop | PlanWhere | PlanAs;

export interface OrderKey {
  readonly col: string;
  readonly desc: boolean;
}

/** What a traversal returns. */
export type PlanResult =
  | {
      readonly kind: "rows";
      readonly distinct: boolean;
      /** Columns to return, in order; `null` = all columns. */
      readonly select: readonly string[] | null;
      readonly orderBy: readonly OrderKey[];
      readonly count: boolean;
    }
  | { readonly kind: "paths"; readonly count: boolean }
  | { readonly kind: "return"; readonly fields: readonly (readonly [string, string])[]; readonly count: boolean }
  | { readonly kind: "shortest"; readonly to: readonly PlanFilter[] };

export interface TraversePlan {
  readonly v: 1;
  readonly start: { readonly table: string; readonly filters: readonly PlanFilter[] };
  readonly steps: readonly PlanStep[];
  readonly result: PlanResult;
  readonly offset: PlanValue | null;
  readonly limit: PlanValue | null;
  /** Maximum rows touched (every row a lookup returns counts once). */
  readonly budget: number;
}

/** Default visit budget: rows touched by one traversal. */
export const DEFAULT_VISIT_BUDGET = 1_000_000;
/** The largest `max` hops a plan may ask for (deeper recursion is refused, not attempted). */
export const MAX_HOPS_LIMIT = 1000;


// ---------------------------------------------------------------------------------------------
// Plan validation (plans arrive over the wire: validated once per distinct plan text; a builder
// validates each plan it makes once).

const idSchema = z.string().refine((s) => idProblem(s) === undefined, { message: "must be a valid Id" });
const valueSchema = z.union([z.object({ lit: z.unknown() }).strict(), z.object({ param: idSchema }).strict()]);
const filterSchema = z.object({ col: idSchema, op: z.enum(CMP_OPS as [CmpOp, ...CmpOp[]]), value: valueSchema }).strict();
const lookupSchema = z
  .object({ table: idSchema, cols: z.array(idSchema).min(1).max(16), from: z.array(idSchema).min(1).max(16) })
  .strict()
  .refine((l) => l.cols.length === l.from.length, { message: "cols and from must have the same length" });
const altSchema = z
  .object({ lookups: z.array(lookupSchema).min(1).max(2), relAt: z.union([z.literal(0), z.literal(1)]), relation: z.string().min(1).max(512) })
  .strict();
const hopSchema = z
  .object({
    kind: z.literal("hop"),
    rel: idSchema,
    dir: z.enum(["out", "in", "both"]),
    source: idSchema,
    target: idSchema,
    alts: z.array(altSchema).min(1).max(2),
    min: z.number().int().min(0).max(MAX_HOPS_LIMIT),
    max: z.number().int().min(0).max(MAX_HOPS_LIMIT),
  })
  .strict()
  .refine((h) => h.min <= h.max, { message: "hops: min must be <= max" });
const stepSchema = z.union([
  hopSchema,
  z.object({ kind: z.literal("where"), filter: filterSchema }).strict(),
  z.object({ kind: z.literal("as"), alias: idSchema }).strict(),
]);
const resultSchema = z.union([
  z
    .object({
      kind: z.literal("rows"),
      distinct: z.boolean(),
      select: z.array(idSchema).max(256).nullable(),
      orderBy: z.array(z.object({ col: idSchema, desc: z.boolean() }).strict()).max(16),
      count: z.boolean(),
    })
    .strict(),
  z.object({ kind: z.literal("paths"), count: z.boolean() }).strict(),
  z.object({ kind: z.literal("return"), fields: z.array(z.tuple([idSchema, idSchema])).min(1).max(64), count: z.boolean() }).strict(),
  z.object({ kind: z.literal("shortest"), to: z.array(filterSchema).max(64) }).strict(),
]);
const planSchema = z
  .object({
    v: z.literal(1),
    start: z.object({ table: idSchema, filters: z.array(filterSchema).max(64) }).strict(),
    steps: z.array(stepSchema).max(256),
    result: resultSchema,
    offset: valueSchema.nullable(),
    limit: valueSchema.nullable(),
    budget: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  })
  .strict();

/** Validated plans by text (the latest 512): a client sends one text per query shape. */
const PLANS = new Map<string, TraversePlan>();

/**
 * Parses and validates a plan's JSON text (as the `traverse` route receives it), once per text:
 * the plan of a text is one shared object, which nothing may change. Throws `BadRequestError`
 * naming the problem.
 *
 * @example
 * ```ts
 * const plan = parsePlan(JSON.stringify(compiled.plan));
 * ```
 */
export function parsePlan(text: unknown): TraversePlan {
  if (typeof text !== "string") throw new BadRequestError("traverse: the plan must be a JSON string");
  const hit = PLANS.get(text);
  if (hit !== undefined) return hit;
  if (text.length > 1 << 20) throw new BadRequestError("traverse: the plan is larger than 1 MiB");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BadRequestError("traverse: the plan is not valid JSON");
  }
  return remember(PLANS, text, checkPlan(json), 512);
}

/**
 * Validates a plan object (the schema, then the cross-field rules) and returns it typed. Throws
 * `BadRequestError` naming the problem, with `parsePlan`'s messages. A builder checks the plan
 * it made with this, without a JSON round trip.
 *
 * @example
 * ```ts
 * const plan = checkPlan({ v: 1, start: { table: "users", filters: [] }, steps: [], result, offset: null, limit: null, budget: 1000 });
 * ```
 */
export function checkPlan(json: unknown): TraversePlan {
  const parsed = planSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BadRequestError(`traverse: invalid plan at ${["plan", ...issue.path.map(String)].join(".")}: ${issue.message}`);
  }
  const plan = parsed.data as TraversePlan;
  checkPlanShape(plan);
  return plan;
}

/** Cross-field rules zod does not express: which results go with which steps. */
function checkPlanShape(plan: TraversePlan): void {
  const hasAs = plan.steps.some((s) => s.kind === "as");
  const r = plan.result;
  if (r.kind === "rows" && r.distinct && hasAs) {
    throw new BadRequestError("traverse: distinct() returns endpoints; as()/return() enumerate trails — use one or the other");
  }
  if (r.kind === "return") {
    const aliases = new Set(plan.steps.filter((s): s is PlanAs => s.kind === "as").map((s) => s.alias));
    for (const [, alias] of r.fields) {
      if (!aliases.has(alias)) throw new BadRequestError(`traverse: return() names alias ${alias}, which no as() binds`);
    }
  }
  if (r.kind === "shortest") {
    const hops = plan.steps.filter((s) => s.kind === "hop");
    if (plan.steps.length !== 1 || hops.length !== 1) {
      throw new BadRequestError("traverse: a shortest-path plan has exactly one hop step");
    }
  }
  const seen = new Set<string>();
  for (const s of plan.steps) {
    if (s.kind === "as") {
      if (seen.has(s.alias)) throw new BadRequestError(`traverse: alias ${s.alias} is bound twice`);
      seen.add(s.alias);
    }
    if (s.kind === "hop" && (s.min !== 1 || s.max !== 1) && s.source !== s.target) {
      throw new BadRequestError(
        `traverse: relation ${s.rel} goes from ${s.source} to ${s.target}; a variable number of hops needs a relation from a table to itself`,
      );
    }
  }
}
