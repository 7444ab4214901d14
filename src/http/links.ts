/**
 * Finds the resource links a JSON document refers to (op subjects, link values), so the server can
 * check a token's rights on every path an installed op or a request body may touch — not only on
 * the request path.
 */
import type { Json } from "../ir/types.js";

/** Class paths and reserved forms: types, not resources. */
const NOT_A_RESOURCE = ["/state/scalar/", "/state/collection/", "/state/chain/", "/state/media/"];
const RESOURCE_TOPS = ["/state/", "/lib/", "/class/", "/service/", "/host/", "/state", "/lib", "/class", "/service", "/host"];

function isResourcePath(s: string): boolean {
  if (!s.startsWith("/")) return false;
  if (NOT_A_RESOURCE.some((p) => s.startsWith(p))) return false;
  return RESOURCE_TOPS.some((p) => s === p || s.startsWith(p.endsWith("/") ? p : `${p}/`));
}

/**
 * Every resource path named in `doc`: object keys and strings that start with `/state`, `/lib`,
 * `/class`, `/service` or `/host` (class paths such as `/state/scalar/...` excluded), each as
 * its segments. Walks iteratively, so deep documents cannot overflow the stack.
 *
 * @example
 * ```ts
 * referencedPaths({"/state/scalar/op/post": [["n", {"/state/social/users/count": [null]}]]});
 * // [["state","social","users","count"]]
 * ```
 */
export function referencedPaths(doc: Json | undefined): string[][] {
  const found = new Map<string, string[]>();
  const add = (s: string): void => {
    if (!isResourcePath(s)) return;
    if (!found.has(s)) found.set(s, s.split("/").filter((x) => x !== ""));
  };
  const stack: unknown[] = [doc];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === "string") add(node);
    else if (Array.isArray(node)) for (const x of node) stack.push(x);
    else if (node !== null && typeof node === "object") {
      for (const [k, v] of Object.entries(node)) {
        add(k);
        stack.push(v);
      }
    }
  }
  return [...found.values()];
}
