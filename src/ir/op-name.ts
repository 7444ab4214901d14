/**
 * Readable names of compiled ops, for logs: the ORM and the graph layer name each op they compile
 * (`select * from app.users where id = $id`, `match(app.users {id = $me}).out(follows)`), and the
 * HTTP client sends that name with the op's install (`x-tc-op-name`) so a host's access log can
 * show it instead of only the op's content hash. A name is computed only when asked for.
 */

const names = new WeakMap<object, () => string>();

/** Names `op` (lazily: `name` runs at most once, when the name is first asked for). */
export function nameOp(op: object, name: () => string): void {
  // Compiled ops are shared by every statement of the same shape: name one once.
  if (names.has(op)) return;
  let cached: string | undefined;
  names.set(op, () => (cached ??= name()));
}

/** The name of `op`, if it has one. */
export function opName(op: unknown): string | undefined {
  if (typeof op !== "object" || op === null) return undefined;
  return names.get(op)?.();
}

/** The header that carries an op's name with its install (`PUT /lib`), URI-encoded. */
export const OP_NAME_HEADER = "x-tc-op-name";

/** A name made safe for one log line: no control characters, at most `max` characters. */
export function cleanOpName(name: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const flat = name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
