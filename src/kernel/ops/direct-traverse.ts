/**
 * The direct form of a traversal or query op, the fast path of `Kernel.executeIn`. An op that is
 * a single `GET /state/<ns>/<t>/traverse` (or `…/query`) whose key is `[plan, {name: $param |
 * value}]` — what the graph compiles every traversal to, and the ORM a relational select — runs
 * as that one request: the key is built from the arguments
 * and handed to the transaction, with no step scheduling, evaluators or route parsing per call. The request is the same one the op's step would make, so results and errors
 * are the same; any other op runs through the op executor.
 */
import { NotFoundError } from "../../errors.js";
import type { OpDef, Scalar } from "../../ir/types.js";
import { parseRoute } from "../router.js";
import { valueMap, type KernelValue, type OpResult } from "./kernel-value.js";
import type { RouteMeter } from "./route-meter.js";

/** One entry of the request's parameter map: from a parameter of the op, or a literal. */
interface DirectArg {
  readonly name: string;
  /** The op parameter it reads (`$param`), or `undefined` for a literal. */
  readonly param: string | undefined;
  readonly literal: KernelValue;
}

/** A traverse request prepared from an op. */
export interface DirectTraverse {
  /** The route under `/state`: `[ns, table, "traverse" | "query"]`. */
  readonly path: readonly string[];
  readonly plan: string;
  readonly args: readonly DirectArg[];
  /** The op's step name (for the op executor's error message on an unbound parameter). */
  readonly step: string;
}

/** What the request needs from the transaction. */
interface RequestTarget {
  request(verb: "get", path: readonly string[], key: unknown, value: undefined, meter?: RouteMeter): unknown;
}

/** The direct form of `op`, when it is a lone traverse request; else `undefined`. */
export function directTraverse(op: OpDef): DirectTraverse | undefined {
  if (op.verb !== "post" || op.steps.length !== 1) return undefined;
  const scalar = op.steps[0]![1];
  if (!isObject(scalar) || scalar.kind !== "get" || scalar.subject.kind !== "link") return undefined;
  const route = parseRoute(scalar.subject.href);
  if (route.kind !== "state" || route.path.length !== 3 || (route.path[2] !== "traverse" && route.path[2] !== "query")) return undefined;
  const key = scalar.key;
  if (!Array.isArray(key) || key.length !== 2) return undefined;
  const plan = (key as readonly Scalar[])[0]!;
  const params = (key as readonly Scalar[])[1]!;
  if (typeof plan !== "string" || !isObject(params) || params.kind !== "map") return undefined;
  const args: DirectArg[] = [];
  for (const name of Object.keys(params.entries)) {
    const v = params.entries[name]!;
    if (isObject(v)) {
      if (v.kind !== "id") return undefined;
      args.push({ name, param: v.name, literal: null });
    } else if (!Array.isArray(v)) {
      args.push({ name, param: undefined, literal: v as KernelValue });
    } else return undefined;
  }
  return { path: route.path, plan, args, step: op.steps[0]![0] };
}

/**
 * Makes the request `d` describes with the op's bound parameters; answers as the route did.
 * `meter`: what a query charges its rows to (the op's execution context).
 */
export function runDirect(txn: RequestTarget, d: DirectTraverse, params: ReadonlyMap<string, KernelValue>, meter?: RouteMeter): OpResult {
  const entries: Record<string, KernelValue> = {};
  for (let i = 0; i < d.args.length; i++) {
    const a = d.args[i]!;
    if (a.param === undefined) {
      entries[a.name] = a.literal;
      continue;
    }
    const v = params.get(a.param);
    if (v === undefined) throw new NotFoundError(`unknown id $${a.param} (referenced by step ${JSON.stringify(d.step)})`);
    entries[a.name] = v;
  }
  return txn.request("get", d.path, [d.plan, valueMap(entries)], undefined, meter) as OpResult;
}

function isObject(s: Scalar): s is Extract<Scalar, { readonly kind: string }> {
  return s !== null && typeof s === "object" && !Array.isArray(s);
}
