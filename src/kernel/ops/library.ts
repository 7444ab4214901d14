/**
 * `/lib`: installed library versions and their members (PROFILE §5, reference §5.2).
 *
 * `PUT /lib` with `{"/lib/<publisher>/<name>/<version>": {"<member>": <OpDef or value>, …}}`
 * installs a version. Installing the same content again is a no-op; different content under an
 * existing version is 409. A member is an OpDef (called with its verb), a literal value (GET), or
 * an op route `{"method": "GET", "path": "/..."}` (GET forwards to that path with key `null`).
 *
 * The same install also accepts the v2 IR manifest, which declares dependencies —
 * `{"schema": {"id", "version", "dependencies": ["/lib/…", …]}, "routes": [{"path": "/<member>",
 * "value" | "op" | "opdef": …}]}` — and the package envelope around it (`{"schema", "artifacts":
 * [{"path": "/lib/ir", "content_type": "application/tinychain+json", "bytes": <base64 manifest>}]}`).
 * A member of a library may call another library only when that library is one of its declared
 * dependencies (not transitively): see `checkDependency`.
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
import { BadRequestError, ConflictError, ForbiddenError, MethodNotAllowedError, NotFoundError, NotImplementedError } from "../../errors.js";
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
  /** The library ids (`/lib/<p>/<n>/<v>`) its members may call, as its manifest declares them (sorted). */
  readonly dependencies: readonly string[];
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
  if (Object.prototype.hasOwnProperty.call(body, "schema")) return parseManifest(body as Record<string, unknown>);
  const keys = Object.keys(body);
  if (keys.length !== 1 || !keys[0]!.startsWith("/lib/")) {
    throw new BadRequestError(
      `a library definition has exactly one key /lib/<publisher>/<name>/<version>; found ${JSON.stringify(keys)}`,
    );
  }
  const id = keys[0]!;
  const version = libraryId(id, "the library id");
  const def = (body as Record<string, unknown>)[id];
  if (def === null || typeof def !== "object" || Array.isArray(def)) {
    throw new BadRequestError(`the members of ${id} must be an object {"<member>": <OpDef or value>}`);
  }
  const members = new Map<string, LibraryMember>();
  for (const name of Object.keys(def).sort()) {
    checkMemberName(id, name);
    members.set(name, decodeMember(id, name, (def as Record<string, unknown>)[name]));
  }
  const hash = CONTENT_ADDRESSED.exec(version)?.[1];
  if (hash !== undefined) verifyContentAddress(id, hash, def as Record<string, Json>);
  const canonical = canonicalJson(body as Json);
  return { id, version, members, canonical, bytes: Buffer.byteLength(canonical), dependencies: [] };
}

/** Checks that `id` is `/lib/<publisher>/<name>/<version>` and returns the version. */
function libraryId(id: unknown, what: string): string {
  const parsed = typeof id === "string" && id.startsWith("/lib/") ? parseLink(id) : undefined;
  if (!parsed?.component || parsed.component.route.length > 0 || parsed.component.path !== id) {
    throw new BadRequestError(`expected /lib/<publisher>/<name>/<version> as ${what}, found ${JSON.stringify(id)}`);
  }
  return parsed.component.version;
}

function checkMemberName(id: string, name: string): void {
  if (name.length === 0 || name.includes("/")) {
    throw new BadRequestError(`invalid member name ${JSON.stringify(name)} in ${id}: non-empty, without '/'`);
  }
}

const MANIFEST_TYPE = "application/tinychain+json";

/** The manifest form (or its package envelope) of an install: members plus declared dependencies. */
function parseManifest(body: Record<string, unknown>): LibraryVersion {
  let manifest = body;
  if (body.artifacts !== undefined) {
    const artifacts = body.artifacts;
    if (!Array.isArray(artifacts) || artifacts.length !== 1 || Object.keys(body).length !== 2) {
      throw new BadRequestError('a library package is {"schema", "artifacts": [one artifact]}');
    }
    const a = artifacts[0] as Record<string, unknown> | null;
    if (a?.content_type === "application/wasm") throw new NotImplementedError("this host runs no WASM libraries (application/wasm artifacts)");
    if (a?.path !== "/lib/ir" || a?.content_type !== MANIFEST_TYPE || typeof a?.bytes !== "string") {
      throw new BadRequestError(`a library package's artifact is {"path": "/lib/ir", "content_type": "${MANIFEST_TYPE}", "bytes": <base64 manifest>}`);
    }
    let inner: unknown;
    try {
      inner = JSON.parse(Buffer.from(a.bytes, "base64").toString("utf8"));
    } catch {
      throw new BadRequestError("a library package's manifest bytes are not base64 JSON");
    }
    if (inner === null || typeof inner !== "object" || Array.isArray(inner)) throw new BadRequestError("a library manifest is an object {schema, routes}");
    manifest = inner as Record<string, unknown>;
    if (canonicalJson(manifest.schema as Json) !== canonicalJson(body.schema as Json)) {
      throw new BadRequestError("a library package's schema differs from its manifest's");
    }
  }
  const extra = Object.keys(manifest).filter((k) => k !== "schema" && k !== "routes" && k !== "classes");
  if (extra.length > 0) throw new BadRequestError(`a library manifest has keys schema and routes, found ${JSON.stringify(extra)}`);
  if (manifest.classes !== undefined && !(Array.isArray(manifest.classes) && manifest.classes.length === 0)) {
    throw new NotImplementedError("this host serves no /class components: a manifest's classes are not installed");
  }
  const schema = manifest.schema as Record<string, unknown> | null;
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) throw new BadRequestError("a library manifest's schema is {id, version, dependencies}");
  const id = schema.id as string;
  const version = libraryId(id, "the manifest's schema.id");
  if (schema.version !== version) {
    throw new BadRequestError(`the manifest's schema.version ${JSON.stringify(schema.version)} is not the last segment of its id ${id}`);
  }
  if (isContentAddressed(version)) throw new BadRequestError(`${id} is a content-addressed version: install it as {"${id}": {"op": <OpDef>}}`);
  const deps = schema.dependencies ?? [];
  if (!Array.isArray(deps)) throw new BadRequestError(`${id}: schema.dependencies must be an array of library ids`);
  for (const d of deps) {
    libraryId(d, `a dependency of ${id}`);
    if (d === id) throw new BadRequestError(`${id} cannot depend on itself`);
  }
  const dependencies = [...new Set(deps as string[])].sort();
  if (dependencies.length !== deps.length) throw new BadRequestError(`${id}: schema.dependencies lists a library twice`);
  const routes = manifest.routes;
  if (!Array.isArray(routes)) throw new BadRequestError(`${id}: the manifest's routes must be an array`);
  const members = new Map<string, LibraryMember>();
  for (const r of routes) {
    const route = r as Record<string, unknown> | null;
    if (route === null || typeof route !== "object" || typeof route.path !== "string" || !route.path.startsWith("/")) {
      throw new BadRequestError(`${id}: a route is {"path": "/<member>", "value" | "op" | "opdef": …}`);
    }
    const name = route.path.slice(1);
    checkMemberName(id, name);
    if (members.has(name)) throw new BadRequestError(`${id}: the route ${route.path} is listed twice`);
    const kinds = ["value", "op", "opdef"].filter((k) => k in route);
    if (kinds.length !== 1 || Object.keys(route).length !== 2) {
      throw new BadRequestError(`${id}: route ${route.path} needs exactly one of "value", "op", "opdef"`);
    }
    const member = decodeMember(id, name, route[kinds[0]!]);
    const expected = kinds[0] === "value" ? "value" : kinds[0];
    if (member.kind !== expected) throw new BadRequestError(`${id}: route ${route.path}'s ${kinds[0]} is not a valid ${kinds[0]}`);
    members.set(name, member);
  }
  const normal = { schema: { id, version, dependencies }, routes: [...members.keys()].sort().map((n) => routes.find((r) => (r as { path: string }).path === `/${n}`) as Json) };
  const canonical = canonicalJson(normal as Json);
  return { id, version, members, canonical, bytes: Buffer.byteLength(canonical), dependencies };
}

/**
 * Refuses a call from a member of library `caller` on library `callee` that `caller` does not
 * declare as a dependency (calls within one library, and calls from outside any library, pass).
 * Content-addressed versions (prepared ops) act for their caller and declare nothing.
 */
export function checkDependency(libs: LibraryTxn, caller: string | undefined, callee: string): void {
  if (caller === undefined || caller === callee) return;
  const lib = libs.get(caller);
  if (!lib || isContentAddressed(lib.version) || lib.dependencies.includes(callee)) return;
  throw new ForbiddenError(
    `library ${caller} may not call ${callee}: it is not among its declared dependencies (${lib.dependencies.join(", ") || "none"})`,
  );
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
