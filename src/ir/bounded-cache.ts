/**
 * The bounded caches of compiled and validated things (plans by text, ops by shape): a Map that
 * drops its oldest entry once it holds `limit`. Insertion order is the age; a hit does not
 * refresh it (the caches hold what a client sends again and again, not a working set to track).
 */

/**
 * Sets `key` to `value` in `cache`, first dropping the oldest entry when `cache` holds `limit`;
 * returns `value`.
 *
 * @example
 * ```ts
 * const plans = new Map<string, Plan>();
 * const plan = plans.get(text) ?? remember(plans, text, parse(text), 512);
 * ```
 */
export function remember<K, V>(cache: Map<K, V>, key: K, value: V, limit: number): V {
  if (cache.size >= limit) cache.delete(cache.keys().next().value as K);
  cache.set(key, value);
  return value;
}
