/**
 * `RouteMeter`: what a route that reads many rows (`query`) charges its work to — the execution
 * context of the op or request it serves (`ExecContext` implements it), passed down through the
 * transaction to the route.
 */

/**
 * The part of an execution context a route charges.
 *
 * @example
 * ```ts
 * meter.work(256); // 256 rows read: the step budget and the clock
 * ```
 */
export interface RouteMeter {
  /** Counts `units` of work against the step budget and the clock. */
  work(units: number): void;
  /** Charges `bytes` of values made. */
  alloc(bytes: number): void;
  /** Refuses a tuple of `n` items past the tuple limit, and charges it. */
  tuple(n: number, what: string): void;
}
