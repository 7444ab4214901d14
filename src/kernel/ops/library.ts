/**
 * `/lib`: installed library versions and their members (PROFILE §5, reference §5.2).
 *
 * `PUT /lib` with `{"/lib/<publisher>/<name>/<version>": {"<member>": <OpDef or value>, …}}`
 * installs a version. Installing the same content again is a no-op; different content under an
 * existing version is 409. A member is an OpDef (called with its verb), a literal value (GET), or
 * an op route `{"method": "GET", "path": "/..."}` (GET forwards to that path with key `null`).
 *
 * Installs are staged in the installing transaction (`LibraryTxn`), visible to later calls in the
 * same transaction, and published to the registry only when the transaction commits. With a
 * durable store the definition is also written through the state transaction (see kernel.ts), so
 * it commits atomically with the rest of the transaction's writes.
 */
import { BadRequestError, ConflictError, MethodNotAllowedError, NotFoundError } from "../../errors.js";
import { canonicalJson, decodeOpDef, decodeValue } from "../../ir/index.js";
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
  if (!parsed.component || parsed.component.route.length > 0) {
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
  return { id, version: parsed.component.version, members, canonical: canonicalJson(body as Json) };
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

/** The committed library versions of one kernel. */
export class LibraryRegistry {
  private readonly versions = new Map<string, LibraryVersion>();

  /** The committed version `id`, if any. */
  get(id: string): LibraryVersion | undefined {
    return this.versions.get(id);
  }

  /** Publishes versions (after their transaction committed, or when loading a store). */
  publish(versions: Iterable<LibraryVersion>): void {
    for (const v of versions) this.versions.set(v.id, v);
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

/** The libraries as one transaction sees them. */
export class LibraryTxn {
  private staging: Map<string, LibraryVersion> | undefined;

  constructor(readonly registry: LibraryRegistry) {}

  /** Installs staged by this transaction, published on commit. */
  get staged(): ReadonlyMap<string, LibraryVersion> {
    return this.staging ?? EMPTY;
  }

  get(id: string): LibraryVersion | undefined {
    return this.staging?.get(id) ?? this.registry.get(id);
  }

  /**
   * Stages an install. Returns `false` when the same content is already installed (a no-op),
   * `true` when it is new; throws `ConflictError` when the version exists with other content.
   */
  install(lib: LibraryVersion): boolean {
    const existing = this.get(lib.id);
    if (existing) {
      if (existing.canonical === lib.canonical) return false;
      throw new ConflictError(
        `library ${lib.id} is already installed with different content; publish a new version instead`,
      );
    }
    (this.staging ??= new Map()).set(lib.id, lib);
    return true;
  }

  /** The committed and staged version ids under `/lib/<prefix…>`, for listings. */
  ids(): string[] {
    const all = new Set(this.registry.ids());
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
