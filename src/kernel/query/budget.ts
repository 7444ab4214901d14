/**
 * What a query may spend: every row it reads (a scan, an index lookup, a join candidate) is one
 * unit of the op's step budget, charged in batches so the op's clock is read as often as for any
 * other work (`ExecContext.work`); rows and groups it keeps are charged as memory
 * (`ExecContext.alloc`). A cross join or a huge grouping thus stops with the op's
 * `BudgetExceededError` (400: `op exceeded its step budget` / `time budget` / `memory limit`)
 * instead of holding the server.
 */
import { BudgetExceededError, DEFAULT_LIMITS } from "../ops/exec-context.js";
import type { RouteMeter } from "../ops/route-meter.js";

export type { RouteMeter };

/** Rows read between two charges to the meter. */
const BATCH = 256;

/**
 * A meter for a request that runs without an execution context (internal callers): the default
 * limits' step and time budgets.
 */
export class StandaloneMeter implements RouteMeter {
  private steps = DEFAULT_LIMITS.maxSteps;
  private readonly started = performance.now();
  work(units: number): void {
    if ((this.steps -= units) < 0) throw new BudgetExceededError("maxSteps", DEFAULT_LIMITS.maxSteps, "step budget");
    if (performance.now() - this.started > DEFAULT_LIMITS.maxMillis) throw new BudgetExceededError("maxMillis", DEFAULT_LIMITS.maxMillis, "time budget");
  }
  alloc(): void {}
  tuple(n: number, what: string): void {
    if (n > DEFAULT_LIMITS.maxTupleLength) throw new BudgetExceededError("maxTupleLength", DEFAULT_LIMITS.maxTupleLength, "tuple size", `${what} would make ${n} items`);
  }
}

/**
 * Counts rows read, charging the meter every `BATCH` rows.
 *
 * @example
 * ```ts
 * const visits = new Visits(ctx);
 * for (const row of rows) visits.one();
 * visits.flush();
 * ```
 */
export class Visits {
  private pending = 0;
  constructor(readonly meter: RouteMeter) {}

  /** One row read. */
  one(): void {
    if (++this.pending >= BATCH) {
      this.meter.work(this.pending);
      this.pending = 0;
    }
  }

  /** `n` rows read at once. */
  many(n: number): void {
    this.pending += n;
    if (this.pending >= BATCH) {
      this.meter.work(this.pending);
      this.pending = 0;
    }
  }

  /** Charges what is pending. */
  flush(): void {
    if (this.pending > 0) this.meter.work(this.pending);
    this.pending = 0;
  }
}
