/**
 * `like` patterns: `%` any run, `_` one code point, an optional one-character escape making the
 * next `%`, `_` or escape character literal. Case-sensitive. A pattern compiles to an anchored
 * regular expression once per distinct pattern text (a bounded cache).
 */
import { remember } from "../../ir/bounded-cache.js";
import { bad } from "./compiled.js";

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 1024;

/**
 * The matcher of `pattern` with `escape` (one character, or null); 400 for a malformed pattern
 * (the escape character last, or before a character other than `%`, `_` or itself).
 *
 * @example
 * ```ts
 * likeMatcher("a\\_%", "\\").test("a_bc"); // true
 * likeMatcher("a\\", "\\"); // throws: the escape character ends the pattern
 * ```
 */
export function likeMatcher(pattern: string, escape: string | null): RegExp {
  const id = escape === null ? `n${pattern}` : `e${escape}${pattern}`;
  let re = cache.get(id);
  if (re !== undefined) return re;
  re = compileLike(pattern, escape);
  return remember(cache, id, re, CACHE_LIMIT);
}

/** Checks an escape string: one code point. */
export function checkEscape(escape: string | null): void {
  if (escape !== null && [...escape].length !== 1) {
    throw bad(`a like escape is one character, got ${JSON.stringify(escape)}`);
  }
}

function compileLike(pattern: string, escape: string | null): RegExp {
  checkEscape(escape);
  let src = "^";
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (escape !== null && c === escape) {
      const next = chars[i + 1];
      if (next === undefined) throw bad(`malformed like pattern ${JSON.stringify(pattern)}: the escape character ends it`);
      if (next !== "%" && next !== "_" && next !== escape) {
        throw bad(`malformed like pattern ${JSON.stringify(pattern)}: the escape character must precede %, _ or itself, not ${JSON.stringify(next)}`);
      }
      src += literal(next);
      i++;
    } else if (c === "%") src += "[^]*";
    else if (c === "_") src += "[^]";
    else src += literal(c);
  }
  return new RegExp(`${src}$`, "u");
}

function literal(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}
