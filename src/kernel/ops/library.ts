/**
 * `/lib`: installed library versions and their members (PROFILE §5, reference §5.2).
 *
 * `PUT /lib` with `{"/lib/<publisher>/<name>/<version>": {"<member>": <OpDef or value>, …}}`
 * installs a version. Installing the same content again is a no-op; different content under an
 * existing version is 409. A member is an OpDef (called with its verb), a literal value (GET), or
 * an op route `{"method": "GET", "path": "/..."}` (GET forwards to that path with key `null`).
 *
 * A version `0.0.0-q<hash>` (64 hex digits) is content-addressed: it has one member `op`, an OpDef
 * whose `opHash` is `<hash>`, and an install with other content is refused (400), so nobody can
 * take the version of someone else's prepared op first.
 *
 * Installs and removals are staged in the transaction (`LibraryTxn`), visible to later calls in
 * the same transaction, and applied to the registry only when the transaction commits. With a
 * durable store the definition is also written through the state transaction (see kernel.ts), so
 * it commits atomically with the rest of the transaction's writes. Each version records the
 * principal that installed it (its owner, the only one who may remove it), and each principal's
 * installs count against its quota (`LibraryQuota`: versions and bytes).
 */
import { BadRequestError, ConflictError, ForbiddenError, MethodNotAllowedError, NotFoundError } from "../../errors.js";
import { canonicalJson, decodeOpDef, decodeValue, opHash } from "../../ir/index.js";
import { parseLink } from "../../ir/uri.js";
import type { Json, OpDef, Verb } from "../../ir/types.js";
import type { KernelValue } from "./kernel-value.js";

/** One member of a library version. */
export type LibraryMember =
  | { readonly kind: "opdef"; readonly op: OpDef }
  | { readonly kind: "value"; readonly value: KernelValue }
  | { readonly kind: "op"; readonly path: string };

/** An installed (or staged) library version. */
export interface LibraryVersion {
  /** `/lib/<publisher>/<name>/<version>` */
  readonly id: string;
  readonly version: string;
  readonly members: ReadonlyMap<string, LibraryMember>;
  /** The canonical JSON of the definition (sorted keys): equal content ⇔ equal text. */
  readonly canonical: string;
  /** The size of the definition (bytes of `canonical`, UTF-8), counted against its owner's quota. */
  readonly bytes: number;
  /** The principal that installed it; absent for a version stored without one. */
  readonly owner?: string;
}

/** Per-principal limits on `/lib` installs. */
export interface LibraryQuota {
  /** Library versions one principal may have installed. */
  readonly maxVersions: number;
  /** Total size of their definitions (canonical JSON, bytes). */
  readonly maxBytes: number;
}

/** The quota of each principal unless `KernelOptions.libQuota` says otherwise. */
export const DEFAULT_LIBRARY_QUOTA: LibraryQuota = { maxVersions: 10_000, maxBytes: 64 * 1024 * 1024 };

/** An install would take a principal past its `/lib` quota: a 403 naming the limit. */
export class LibraryQuotaError extends ForbiddenError {
  readonly limit: keyof LibraryQuota;
  constructor(limit: keyof LibraryQuota, message: string) {
    super(message);
    this.limit = limit;
  }
}

const CONTENT_ADDRESSED = /^0\.0\.0-q([0-9a-f]{64})$/;

/**
 * True when `version` is content-addressed (`0.0.0-q<64 hex digits>`): installs verify that the
 * hash is the `opHash` of the version's `op` member, so its content is what its name says.
 *
 * @example
 * ```ts
 * isContentAddressed(`0.0.0-q${opHash(op)}`); // true
 * isContentAddressed("1.0.0");                 // false
 * ```
 */
export function isContentAddressed(version: string): boolean {
  return CONTENT_ADDRESSED.test(version);
}

/**
 * Validates and decodes an install body. Throws `BadRequestError` naming what is wrong.
 *
 * @example
 * ```ts
 * parseInstall({"/lib/acme/greeter/0.1.0": {"hello": {"/state/scalar/op/get": ["name", [["r", "hi"]]]}}});
 * ```
 */
export function parseInstall(body: unknown): LibraryVersion {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new BadRequestError('expected a library definition {"/lib/<publisher>/<name>/<version>": {members}}');
  }
  const keys = Object.keys(body);
  if (keys.length !== 1 || !keys[0]!.startsWith("/lib/")) {
    throw new BadRequestError(
      `a library definition has exactly one key /lib/<publisher>/<name>/<version>; found ${JSON.stringify(keys)}`,
    );
  }
  const id = keys[0]!;
  const parsed = parseLink(id);
  if (!parsed.component || parsed.component.route.length > 0 || parsed.component.path !== id) {
    throw new BadRequestError(`expected /lib/<publisher>/<name>/<version> as the library id, found ${JSON.stringify(id)}`);
  }
  const def = (body as Record<string, unknown>)[id];
  if (def === null || typeof def !== "object" || Array.isArray(def)) {
    throw new BadRequestError(`the members of ${id} must be an object {"<member>": <OpDef or value>}`);
  }
  const members = new Map<string, LibraryMember>();
  for (const name of Object.keys(def).sort()) {
    if (name.length === 0 || name.includes("/")) {
      throw new BadRequestError(`invalid member name ${JSON.stringify(name)} in ${id}: non-empty, without '/'`);
    }
    members.set(name, decodeMember(id, name, (def as Record<string, unknown>)[name]));
  }
  const version = parsed.component.version;
  const hash = CONTENT_ADDRESSED.exec(version)?.[1];
  if (hash !== undefined) verifyContentAddress(id, hash, def as Record<string, Json>);
  const canonical = canonicalJson(body as Json);
  return { id, version, members, canonical, bytes: Buffer.byteLength(canonical) };
}

function verifyContentAddress(id: string, hash: string, def: Record<string, Json>): void {
  const names = Object.keys(def);
  if (names.length !== 1 || names[0] !== "op") {
    throw new BadRequestError(`${id} is a content-addressed version: it has exactly one member "op", found ${JSON.stringify(names)}`);
  }
  if (opHash(def.op!) !== hash) {
    throw new BadRequestError(`${id} is a content-addressed version: its hash must be the opHash of its "op" member, which is not`);
  }
}

function decodeMember(id: string, name: string, json: unknown): LibraryMember {
  if (json !== null && typeof json === "object" && !Array.isArray(json)) {
    const keys = Object.keys(json);
    if (keys.length > 0 && keys[0]!.startsWith("/state/scalar/op/")) {
      return { kind: "opdef", op: decodeOpDef(json) };
    }
    if (keys.length === 2 && keys.includes("method") && keys.includes("path")) {
      const { method, path } = json as { method: unknown; path: unknown };
      if (method !== "GET") throw new BadRequestError(`member ${id}/${name}: an op route must use method GET`);
      if (typeof path !== "string") throw new BadRequestError(`member ${id}/${name}: an op route's path must be a string`);
      parseLink(path);
      return { kind: "op", path };
    }
  }
  return { kind: "value", value: decodeValue(json) as KernelValue };
}

/** What a principal has installed. */
interface Usage {
  versions: number;
  bytes: number;
}

/** The committed library versions of one kernel, with each owner's usage. */
export class LibraryRegistry {
  private readonly versions = new Map<string, LibraryVersion>();
  private readonly usage = new Map<string, Usage>();

  /** The committed version `id`, if any. */
  get(id: string): LibraryVersion | undefined {
    return this.versions.get(id);
  }

  /** Publishes versions (after their transaction committed, or when loading a store). */
  publish(versions: Iterable<LibraryVersion>): void {
    for (const v of versions) {
      this.unpublish([v.id]);
      this.versions.set(v.id, v);
      if (v.owner === undefined) continue;
      const u = this.usage.get(v.owner) ?? { versions: 0, bytes: 0 };
      u.versions++;
      u.bytes += v.bytes;
      this.usage.set(v.owner, u);
    }
  }

  /** Removes versions (after the transaction that uninstalled them committed). */
  unpublish(ids: Iterable<string>): void {
    for (const id of ids) {
      const v = this.versions.get(id);
      if (!v) continue;
      this.versions.delete(id);
      const u = v.owner === undefined ? undefined : this.usage.get(v.owner);
      if (u) {
        u.versions--;
        u.bytes -= v.bytes;
        if (u.versions <= 0) this.usage.delete(v.owner!);
      }
    }
  }

  /** Applies a committed transaction's removals, then its installs. */
  apply(txn: LibraryTxn): void {
    this.unpublish(txn.removed);
    this.publish(txn.staged.values());
  }

  /** What `owner` has installed (committed). */
  usageOf(owner: string): Readonly<Usage> {
    return this.usage.get(owner) ?? { versions: 0, bytes: 0 };
  }

  /** Ids of every committed version, sorted. */
  ids(): string[] {
    return [...this.versions.keys()].sort();
  }

  /** A transaction's view: committed versions plus its own staged installs. */
  begin(): LibraryTxn {
    return new LibraryTxn(this);
  }
}

const EMPTY: ReadonlyMap<string, LibraryVersion> = new Map();
const NONE: ReadonlySet<string> = new Set();

/** The libraries as one transaction sees them. */
export class LibraryTxn {
  private staging: Map<string, LibraryVersion> | undefined;
  private removing: Set<string> | undefined;

  constructor(readonly registry: LibraryRegistry) {}

  /** Installs staged by this transaction, published on commit. */
  get staged(): ReadonlyMap<string, LibraryVersion> {
    return this.staging ?? EMPTY;
  }

  /** Committed versions this transaction removes, unpublished on commit. */
  get removed(): ReadonlySet<string> {
    return this.removing ?? NONE;
  }

  /** True when the transaction installed or removed something. */
  get changed(): boolean {
    return this.staged.size > 0 || this.removed.size > 0;
  }

  get(id: string): LibraryVersion | undefined {
    const staged = this.staging?.get(id);
    if (staged) return staged;
    return this.removing?.has(id) ? undefined : this.registry.get(id);
  }

  /**
   * Stages an install of `lib` (its `owner` set). Returns `false` when the same content is already
   * installed (a no-op), `true` when it is new; throws `ConflictError` when the version exists
   * with other content, `LibraryQuotaError` when it would take its owner past `quota`.
   */
  install(lib: LibraryVersion, quota: LibraryQuota = DEFAULT_LIBRARY_QUOTA): boolean {
    const existing = this.get(lib.id);
    if (existing) {
      if (existing.canonical === lib.canonical) return false;
      throw new ConflictError(
        `library ${lib.id} is already installed with different content; publish a new version instead`,
      );
    }
    if (lib.owner !== undefined) this.checkQuota(lib, quota);
    (this.staging ??= new Map()).set(lib.id, lib);
    return true;
  }

  /** Stages the removal of version `id` and returns it (404 when it is not installed). */
  remove(id: string): LibraryVersion {
    const lib = this.get(id);
    if (!lib) throw new NotFoundError(`no library ${id} is installed`);
    this.staging?.delete(id);
    if (this.registry.get(id)) (this.removing ??= new Set()).add(id);
    return lib;
  }

  private checkQuota(lib: LibraryVersion, quota: LibraryQuota): void {
    const owner = lib.owner!;
    const used = this.registry.usageOf(owner);
    let versions = used.versions + 1;
    let bytes = used.bytes + lib.bytes;
    for (const v of this.staged.values()) {
      if (v.owner === owner) {
        versions++;
        bytes += v.bytes;
      }
    }
    for (const id of this.removed) {
      const v = this.registry.get(id);
      if (v?.owner === owner) {
        versions--;
        bytes -= v.bytes;
      }
    }
    if (versions > quota.maxVersions) {
      throw new LibraryQuotaError(
        "maxVersions",
        `library quota exceeded: a principal may install at most ${quota.maxVersions} library versions (remove some with DELETE /lib/<publisher>/<name>/<version>)`,
      );
    }
    if (bytes > quota.maxBytes) {
      throw new LibraryQuotaError(
        "maxBytes",
        `library quota exceeded: a principal may install at most ${quota.maxBytes} bytes of library definitions (${lib.id} is ${lib.bytes} bytes)`,
      );
    }
  }

  /** The committed and staged version ids under `/lib/<prefix…>`, for listings. */
  ids(): string[] {
    const all = new Set(this.registry.ids());
    for (const id of this.removed) all.delete(id);
    for (const id of this.staged.keys()) all.add(id);
    return [...all].sort();
  }
}

/** Finds the member a `/lib/<p>/<n>/<v>/<member>` call names, checking the verb (404 / 405). */
export function memberFor(libs: LibraryTxn, id: string, route: readonly string[], verb: Verb): LibraryMember {
  const lib = libs.get(id);
  if (!lib) throw new NotFoundError(`no library ${id} is installed`);
  if (route.length !== 1) {
    throw new NotFoundError(`no member ${JSON.stringify(route.join("/"))} in library ${id}`);
  }
  const name = route[0]!;
  const member = lib.members.get(name);
  if (!member) {
    throw new NotFoundError(
      `library ${id} has no member ${JSON.stringify(name)} (members: ${[...lib.members.keys()].join(", ") || "none"})`,
    );
  }
  const allowed = member.kind === "opdef" ? member.op.verb : "get";
  if (verb !== allowed) {
    throw new MethodNotAllowedError(`${id}/${name} answers ${allowed.toUpperCase()}, not ${verb.toUpperCase()}`);
  }
  return member;
}
