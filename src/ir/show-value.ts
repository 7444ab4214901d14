/**
 * Values in error messages. A message about a bad value must never fail itself: `JSON.stringify`
 * throws on a bigint and on a value whose `toJSON` throws, and gives `undefined` for a symbol or a
 * function, so builders that quote what they were given use `showValue`.
 */
import { describe } from "./codec.js";

/**
 * `v` as a message shows it: its JSON text (cut at `max` characters), a bigint as `<n>n`, and a
 * short description of anything JSON cannot write.
 *
 * @example
 * ```ts
 * showValue("users");  // '"users"'
 * showValue(5n);       // "5n"
 * showValue(Symbol()); // "Symbol()"
 * ```
 */
export function showValue(v: unknown, max = 200): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "symbol") return v.toString();
  if (typeof v === "function") return "a function";
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch {
    text = undefined;
  }
  if (text === undefined) return describe(v);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
