/**
 * Well-formed strings: a string with a lone surrogate (an unpaired UTF-16 code unit in
 * U+D800..U+DFFF) cannot be kept exactly by UTF-8 — the wire's and the store's encoding turn it
 * into U+FFFD — so every layer that takes strings from users refuses one with this test: URI
 * segments, the ORM's row validation, the graph's filter values, the kernel's cell checks.
 */

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const nativeWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

/**
 * True when `s` has no lone surrogate: a string that UTF-8 (the store, the wire) keeps exactly.
 *
 * @example
 * ```ts
 * isWellFormedString("a😀b");   // true
 * isWellFormedString("a\ud800b"); // false
 * ```
 */
export function isWellFormedString(s: string): boolean {
  return nativeWellFormed ? nativeWellFormed.call(s) : !LONE_SURROGATE.test(s);
}
