/**
 * `EncodedJson`: a route result that is already in its JSON form. A route that builds fresh
 * tuples of JSON primitives (the traverse route's distinct pages) returns them wrapped, so the
 * kernel can hand them out without the copy `toJson` makes of every result. The flag travels
 * with the value: the router and the transaction pass it through, `Kernel.executeIn` returns
 * the wrapped value as is when it is an op's result, and every other reader takes the plain value
 * (`plainValue` in kernel-value.ts), so results and errors are those of the unwrapped value.
 */

/**
 * A value that needs no encoding: fresh (nothing else holds it or its tuples) and made only of
 * JSON primitives and tuples.
 *
 * @example
 * ```ts
 * return new EncodedJson(tuples); // [[1, "ada"], [2, "bob"]], built for this result only
 * ```
 */
export class EncodedJson {
  constructor(readonly value: object) {}
}
