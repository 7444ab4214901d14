/**
 * One execution's context and its guards: the transaction an op runs in (`StateTxnLike`), the
 * router its link calls go through (`LinkRouter`), and the budget (`ExecLimits`: steps, `while`
 * iterations, call nesting, wall-clock time, string and tuple sizes, bytes allocated) that stops
 * a runaway op with a `BudgetExceededError`. `needsClock` tells which ops can never run long
 * enough to read the clock.
 *
 * Memory is metered where values are made: whoever builds a string, a tuple or a map (the
 * executor, a built-in, a table read, the result's encoding) first checks its size
 * (`checkString`, `checkItems`) and then charges an estimate of its bytes (`alloc`). The same
 * charge moves the clock countdown, so work proportional to the bytes made reads the clock
 * proportionally often: no single step can copy for long between two clock reads.
 */
import { BadRequestError } from "../../errors.js";
import type { OpDef, Scalar, Subject, Verb } from "../../ir/types.js";
import type { KernelValue, OpResult } from "./kernel-value.js";
import type { TableView } from "../state/table-view.js";
import { FULL_GRANT, type CheckedGrant } from "./grant.js";
import type { RouteMeter } from "./route-meter.js";

/** The part of a state transaction the executor calls (`StateTxn`, state/transaction.ts). */
export interface StateTxnLike {
  /** A request on `/state`: `path` = the segments after `state`. */
  /** `meter`: what a route that reads many rows (`query`) charges its work to (this context). */
  request(verb: Verb, path: readonly string[], key: KernelValue, value: KernelValue | undefined, meter?: RouteMeter): OpResult;
  /** A request on a view from an earlier step (`$v/limit`), path relative to the view. */
  viewRequest(
    view: TableView,
    verb: Verb,
    path: readonly string[],
    key: KernelValue,
    value: KernelValue | undefined,
  ): KernelValue;
}

/** Guards against runaway ops. */
export interface ExecLimits {
  /** Steps (plus loop iterations, and nodes compared by `eq`/`ne`) one execution may run in total. */
  readonly maxSteps: number;
  /** Iterations of one `while`. */
  readonly maxWhileIterations: number;
  /** Nesting of OpDef calls (closures, library members calling each other). */
  readonly maxDepth: number;
  /**
   * Wall-clock time one execution may take, in ms. Execution is synchronous, so a runaway op
   * would otherwise hold the event loop (and the transaction lock) for as long as it runs.
   */
  readonly maxMillis: number;
  /** Longest string (in UTF-16 code units) one op may build: `concat`, `render`. */
  readonly maxStringLength: number;
  /**
   * Most items of one tuple, or entries of one map, an op may build or read into a tuple: tuple
   * and map steps, `concat`, `slice`, accumulators, table rows read, map keys of a `for_each`.
   */
  readonly maxTupleLength: number;
  /**
   * Estimated bytes one op may allocate in total (every string, tuple and map it builds, the rows
   * it reads into tuples, and the encoding of its result), counted as they are made: garbage is
   * not given back, so this bounds the op's live memory from above.
   */
  readonly maxOpBytes: number;
  /**
   * Worst-case bytes of an op's result as JSON text: a result is written out as one string, which
   * V8 caps at 2^29 − 24 code units, so a larger one is refused before it is encoded.
   */
  readonly maxResultBytes: number;
}

/** The limits an execution runs under unless `KernelOptions.limits` overrides them. */
export const DEFAULT_LIMITS: ExecLimits = {
  maxSteps: 10_000_000,
  maxWhileIterations: 1_000_000,
  maxDepth: 200,
  maxMillis: 30_000,
  maxStringLength: 16 * 1024 * 1024,
  maxTupleLength: 1024 * 1024,
  maxOpBytes: 1024 * 1024 * 1024,
  maxResultBytes: 256 * 1024 * 1024,
};

/** Bytes allocated per unit of the clock countdown (a tick): copying that much takes about as long. */
const BYTES_PER_TICK = 64;

/** How many ticks pass between two clock reads. */
const CLOCK_EVERY = 1024;

/** An op ran past one of its `ExecLimits`: a 400 naming the limit. */
export class BudgetExceededError extends BadRequestError {
  readonly limit: keyof ExecLimits;
  constructor(limit: keyof ExecLimits, value: number, what: string, detail?: string) {
    super(`op exceeded its ${what} limit (${limit} = ${value})${detail === undefined ? "" : `: ${detail}`}`);
    this.limit = limit;
  }
}

/**
 * Routes a call on a link (`/state/...`, `/lib/...`, `http://...`). Supplied by the kernel's
 * router; for POST, `value` is the params map.
 */
export type LinkRouter = (
  ctx: ExecContext,
  verb: Verb,
  href: string,
  key: KernelValue,
  value: KernelValue | undefined,
) => OpResult;

/** One execution: its transaction, the router for links, and the budget. */
export class ExecContext {
  stepsLeft: number;
  depth = 0;
  /** The library whose member is running (`/lib/<p>/<n>/<v>`), if any: what it may call is checked against its dependencies. */
  library: string | undefined = undefined;
  /** Estimated bytes this execution may still allocate (`maxOpBytes` at the start). */
  bytesLeft: number;
  /** When the execution started (ms, `performance.now()`), or -1 while its clock is not started. */
  private startedAt: number;
  private untilClock = CLOCK_EVERY;
  /** Slot for the executor's env of built-ins that call no closure (made once per execution). */
  budgetEnv: unknown = undefined;
  /** Bytes the result may still take as JSON while it is encoded (see `encoding`); -1 before. */
  private resultLeft = -1;
  constructor(
    readonly txn: StateTxnLike,
    readonly routeLink: LinkRouter,
    readonly limits: ExecLimits = DEFAULT_LIMITS,
    /** Whatever the kernel needs to carry along (its per-transaction state). */
    readonly scope?: unknown,
    /**
     * False to skip reading the clock: only for an op that can never reach the first time check
     * (see `needsClock`). Reading the clock is a system call, often the costliest part of a
     * small execution.
     */
    startClock = true,
    /**
     * The caller's grant: every link the execution resolves is checked against it (router.ts),
     * and `txn` is then a `GrantedTxn` checking every table and view request.
     */
    readonly grant: CheckedGrant = FULL_GRANT,
  ) {
    this.stepsLeft = limits.maxSteps;
    this.bytesLeft = limits.maxOpBytes;
    this.startedAt = startClock ? performance.now() : -1;
  }

  /** Counts one unit of work; throws `BudgetExceededError` past `maxSteps` or `maxMillis`. */
  tick(): void {
    if (--this.stepsLeft < 0) throw new BudgetExceededError("maxSteps", this.limits.maxSteps, "step budget");
    if (--this.untilClock <= 0) this.checkClock();
  }

  /**
   * Charges `bytes` of newly made values: throws `BudgetExceededError` past `maxOpBytes`, and
   * reads the clock as often as that much copying warrants.
   */
  alloc(bytes: number): void {
    if ((this.bytesLeft -= bytes) < 0) {
      throw new BudgetExceededError("maxOpBytes", this.limits.maxOpBytes, "memory", "too many bytes allocated (estimated)");
    }
    if (this.resultLeft >= 0 && (this.resultLeft -= bytes) < 0) {
      throw new BudgetExceededError("maxResultBytes", this.limits.maxResultBytes, "result size", "the result is too large to encode");
    }
    if ((this.untilClock -= bytes / BYTES_PER_TICK) <= 0) this.checkClock();
  }

  /**
   * From now on the bytes charged are the op's result being encoded: they count against
   * `maxResultBytes` too. Returns this context, the meter `toJson` charges.
   */
  encoding(): this {
    this.resultLeft = this.limits.maxResultBytes;
    return this;
  }

  /**
   * Counts `units` of work that allocates nothing (nodes compared by `eq`): against the step
   * budget, and on the clock countdown.
   */
  work(units: number): void {
    if ((this.stepsLeft -= units) < 0) throw new BudgetExceededError("maxSteps", this.limits.maxSteps, "step budget");
    if ((this.untilClock -= units) <= 0) this.checkClock();
  }

  /** Refuses a string of `length` code units past `maxStringLength` (call before building it). */
  checkString(length: number, what: string): void {
    if (length > this.limits.maxStringLength) {
      throw new BudgetExceededError("maxStringLength", this.limits.maxStringLength, "string length", `${what} would make ${length} code units`);
    }
  }

  /** Refuses a tuple or map of `n` items past `maxTupleLength` (call before building it). */
  checkItems(n: number, what: string): void {
    if (n > this.limits.maxTupleLength) {
      throw new BudgetExceededError("maxTupleLength", this.limits.maxTupleLength, "tuple size", `${what} would make ${n} items`);
    }
  }

  /** `checkItems` then `alloc` for a tuple of `n` items. */
  tuple(n: number, what: string): void {
    if (n > this.limits.maxTupleLength) this.checkItems(n, what);
    this.alloc(48 + 8 * n); // tupleBytes (kernel-value.ts)
  }

  private checkClock(): void {
    this.untilClock = CLOCK_EVERY;
    if (this.startedAt < 0) {
      // Unreachable for ops `needsClock` calls flat; should one get here anyway, its clock
      // starts now rather than never.
      this.startedAt = performance.now();
      return;
    }
    if (performance.now() - this.startedAt > this.limits.maxMillis) {
      throw new BudgetExceededError("maxMillis", this.limits.maxMillis, "time budget");
    }
  }
}

const FLAT_OPS = new WeakMap<OpDef, boolean>();

/**
 * False when `op` can never reach the first time check of an execution (`CLOCK_EVERY` ticks):
 * fewer steps than that, and no step that can tick on its own — no `while`, `for_each`, `cond`
 * (its branches may be closures), no call on a value (`$x/...`: a built-in or a library op), no
 * link call outside `/state` (a library op). Such an execution needs no clock at all.
 *
 * @example
 * ```ts
 * needsClock(decodeOpDef({"/state/scalar/op/post": [["r", {"/state/app/users": [[1]]}]]})); // false
 * ```
 */
export function needsClock(op: OpDef): boolean {
  let flat = FLAT_OPS.get(op);
  if (flat === undefined) {
    flat = op.steps.length < CLOCK_EVERY && op.steps.every(([, s]) => flatScalar(s));
    FLAT_OPS.set(op, flat);
  }
  return !flat;
}

function flatScalar(s: Scalar): boolean {
  if (s === null || typeof s !== "object" || s instanceof Uint8Array) return true;
  if (Array.isArray(s)) return (s as readonly Scalar[]).every(flatScalar);
  const node = s as Exclude<Scalar, readonly Scalar[] | null | boolean | number | string | bigint | Uint8Array>;
  switch (node.kind) {
    case "link":
    case "opdef": // a value: it runs only when called, and calls are not flat
    case "id":
      return true;
    case "map":
      return Object.values(node.entries).every(flatScalar);
    case "get":
    case "delete":
      return stateLink(node.subject) && flatScalar(node.key);
    case "put":
      return stateLink(node.subject) && flatScalar(node.key) && flatScalar(node.value);
    case "post":
      return stateLink(node.subject) && Object.values(node.params).every(flatScalar);
    case "after":
      return flatScalar(node.when) && flatScalar(node.then);
    default:
      return false;
  }
}

/** A link under `/state`: table routes and value classes, which never run ops. */
function stateLink(subject: Subject): boolean {
  return subject.kind === "link" && subject.href.startsWith("/state/");
}
