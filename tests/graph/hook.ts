/**
 * Until the transaction router carries the `traverse` hook (one line in Txn.tableRoute, see the
 * graph README), tests install it on the prototype. When the router has it, this does nothing.
 */
import { Txn } from "../../src/client/embedded/transaction.js";
import { traverseTableRoute } from "../../src/client/embedded/traverse.js";

type TxnInternals = { host: { lookup(ns: string, name: string): unknown } };

export function ensureTraverseHook(): void {
  const proto = Txn.prototype as unknown as Record<string, unknown>;
  const tableRoute = proto["tableRoute"] as (...a: unknown[]) => unknown;
  if (String(tableRoute).includes("traverse") || proto["__traverseShim"]) return;
  proto["__traverseShim"] = true;
  proto["tableRoute"] = function (this: TxnInternals, table: unknown, ns: string, name: string, verb: string, route: string, key: unknown, value: unknown) {
    if (route === "traverse") return traverseTableRoute((n) => this.host.lookup(ns, n) as never, ns, name, verb, key);
    return tableRoute.call(this, table, ns, name, verb, route, key, value);
  };
}
