/**
 * `GET /host/tables` (PROFILE §6.10): the links of the tables a grant lets the caller read,
 * sorted; the kernel's own namespace never shows. A catalog read outside any transaction: tools
 * (the CLI's inspect, import, export, studio) list a host's tables with it.
 */
import { MethodNotAllowedError } from "../errors.js";
import type { Verb } from "../ir/types.js";
import type { CheckedGrant } from "./ops/grant.js";
import { INTERNAL_NAMESPACE } from "./router.js";

/** The path of the table list. */
export const TABLES_PATH = "/host/tables";

/** Answers `verb` on the table list, given every table's link. */
export function tableList(paths: readonly string[], verb: Verb, g: CheckedGrant): string[] {
  if (verb !== "get") throw new MethodNotAllowedError(`${TABLES_PATH} answers GET only, found ${verb.toUpperCase()}`);
  const internal = `/state/${INTERNAL_NAMESPACE}/`;
  return paths.filter((path) => {
    if (path.startsWith(internal)) return false;
    if (g.all) return true;
    try {
      g.check("get", path.slice(1).split("/"));
      return true;
    } catch {
      return false;
    }
  });
}
