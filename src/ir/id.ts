/**
 * `Id` rules (reference wire-format §1.5): map keys, step names, parameter names, column names and
 * path segments. Non-empty; no whitespace or control characters; none of
 * `/ .. ~ $ \` & | = ^ { } < > ' " ? : @ # ( )`. A single `.` inside a name is allowed.
 * `__proto__`, `constructor` and `prototype` are refused too, so that no name can ever reach an
 * object's prototype chain.
 * A lone surrogate is refused (UTF-8 cannot carry it).
 */
import { BadRequestError } from "../errors.js";
import { isWellFormedString } from "./well-formed.js";

const FORBIDDEN_CHARS = /[\s\p{Cc}/~$`&|=^{}<>'"?:@#()\\]/u;
const RESERVED = new Set(["__proto__", "constructor", "prototype"]);

/** Why `name` is not a valid Id, or `undefined` when it is. */
export function idProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return "an Id must be a string";
  if (name.length === 0) return "an Id must not be empty";
  if (name.includes("..")) return "an Id must not contain '..'";
  const bad = FORBIDDEN_CHARS.exec(name);
  if (bad) return `an Id must not contain ${JSON.stringify(bad[0])}`;
  if (RESERVED.has(name)) return `${JSON.stringify(name)} is reserved`;
  // An Id names stored things (tables, columns, indexes) and travels as UTF-8, which cannot carry
  // an unpaired surrogate.
  if (!isWellFormedString(name)) return "an Id must not contain a lone surrogate (an unpaired UTF-16 code unit in U+D800..U+DFFF)";
  return undefined;
}

/** True when `name` is a valid Id. */
export function isId(name: unknown): name is string {
  return idProblem(name) === undefined;
}

/**
 * Returns `name` when it is a valid Id, else throws a `BadRequestError` naming it.
 *
 * @example
 * ```ts
 * assertId("user_id", "column name"); // "user_id"
 * assertId("a b", "column name");     // throws BadRequestError
 * ```
 */
export function assertId(name: unknown, what = "Id"): string {
  const problem = idProblem(name);
  if (problem) throw new BadRequestError(`invalid ${what} ${JSON.stringify(name)}: ${problem}`);
  return name as string;
}
