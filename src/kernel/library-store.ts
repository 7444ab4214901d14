/**
 * Where installed library versions are kept: two internal tables of the kernel's own namespace
 * (`/state/_kernel/lib`: id → canonical definition; `/state/_kernel/lib_owner`: id → the
 * principal that installed it), written in the installing transaction so that an install
 * commits, rolls back and survives a reopen like any other write. The `Kernel` publishes what
 * they hold when it opens (`loadStoredVersions`).
 */
import { BadRequestError, InternalError } from "../errors.js";
import { PATHS } from "../ir/types.js";
import { isContentAddressed, parseInstall, type LibraryVersion } from "./ops/library.js";
import type { KernelValue } from "./ops/kernel-value.js";
import { INTERNAL_NAMESPACE } from "./router.js";
import type { Database, StateTxn } from "./state/database.js";
import { tableLiteral, type TableView } from "./state/table-view.js";

const LIB_TABLE = [INTERNAL_NAMESPACE, "lib"] as const;
const LIB_SCHEMA: KernelValue = [[[["id", PATHS.value.string]], [["definition", PATHS.value.string]]], []];
/** Who installed each library version (the owner that may remove it; quotas count by owner). */
const LIB_OWNER_TABLE = [INTERNAL_NAMESPACE, "lib_owner"] as const;
const LIB_OWNER_SCHEMA: KernelValue = [[[["id", PATHS.value.string]], [["owner", PATHS.value.string]]], []];

/**
 * Writes an installed version and its owner in `txn`.
 *
 * @example
 * ```ts
 * storeVersion(scope.txn, lib.id, lib.canonical, grant.principal);
 * ```
 */
export function storeVersion(txn: StateTxn, id: string, canonical: string, owner: string): void {
  txn.request("put", LIB_TABLE, [id], [canonical]);
  txn.request("put", LIB_OWNER_TABLE, [id], [owner]);
}

/** Removes a version and its owner in `txn`. */
export function removeVersion(txn: StateTxn, id: string): void {
  txn.request("delete", LIB_TABLE, [id], undefined);
  txn.request("delete", LIB_OWNER_TABLE, [id], undefined);
}

/**
 * Creates the library tables if needed and reads every stored version with its owner, in one
 * transaction of `db`. A stored content-addressed version whose content does not match its hash
 * (installed before installs were verified) is removed.
 *
 * @example
 * ```ts
 * registry.publish(await loadStoredVersions(db));
 * ```
 */
export async function loadStoredVersions(db: Database): Promise<LibraryVersion[]> {
  const txn = db.tryBegin() ?? (await db.begin());
  const versions: LibraryVersion[] = [];
  const rowsOf = (table: readonly string[]): readonly (readonly KernelValue[])[] => {
    const view = txn.request("get", table, null, undefined);
    return txn.viewRequest(view as TableView, "get", ["rows"], null, undefined) as readonly (readonly KernelValue[])[];
  };
  try {
    txn.request("put", LIB_TABLE, null, tableLiteral(LIB_SCHEMA, []));
    txn.request("put", LIB_OWNER_TABLE, null, tableLiteral(LIB_OWNER_SCHEMA, []));
    const owners = new Map<string, string>();
    for (const row of rowsOf(LIB_OWNER_TABLE)) owners.set(row[0] as string, row[1] as string);
    for (const row of rowsOf(LIB_TABLE)) {
      const id = row[0] as string;
      let lib: LibraryVersion;
      try {
        lib = parseInstall(JSON.parse(row[1] as string));
      } catch (e) {
        if (!(e instanceof BadRequestError) || !isContentAddressed(id.split("/").pop()!)) throw e;
        removeVersion(txn, id);
        continue;
      }
      const owner = owners.get(id);
      versions.push(owner === undefined ? lib : { ...lib, owner });
    }
  } catch (e) {
    txn.rollback();
    throw new InternalError(`cannot load the installed libraries: ${(e as Error).message}`, { cause: e });
  }
  await txn.commit();
  return versions;
}
