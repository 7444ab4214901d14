/**
 * Libraries defined in TypeScript (TinyChain's `tc.define` for this client): a publisher, name
 * and version, the libraries it depends on, and its routes — typed op builders (GET/PUT/POST/
 * DELETE), literal values, or forwards to a dependency's GET member. `defineLibrary` compiles
 * them to the v2 IR manifest (`{"schema": {id, version, dependencies}, "routes": [...]}`, routes
 * sorted by name, dependencies sorted: the same definition always gives the same bytes),
 * `installLibrary` installs it with one `PUT /lib`, and `lib.stub()` gives typed calls that
 * return deferred refs an executor runs (`stub.hello("World").run(db)`).
 *
 * A route may reach another library only when that library is a declared dependency: checked
 * here when the library is defined, and by the host on every call (PROFILE §5).
 */
import { BadRequestError } from "../errors.js";
import type { Runner } from "../executor.js";
import { del, get, post, put } from "../ir/build.js";
import { encode } from "../ir/encode.js";
import { OpBuilder } from "../ir/op-builder.js";
import type { IdRef, Json, OpDef, Scalar, Verb } from "../ir/types.js";
import { parseLink } from "../ir/uri.js";
import { showValue } from "../ir/show-value.js";

/** A route of a library: what its member does, and the types its stub takes and returns. */
export interface LibraryRoute<V extends Verb, K, P, R> {
  readonly verb: V;
  /** The manifest entry's content: `{opdef}`, `{value}` or `{op: {method, path}}`. */
  readonly entry: { readonly opdef: OpDef } | { readonly value: Json } | { readonly op: { readonly method: "GET"; readonly path: string } };
  /** Phantom: the key (GET/PUT/DELETE) or params (POST) type, the value type (PUT), the result type. */
  readonly _types?: { key: K; value: P; result: R };
}

type AnyRoute = LibraryRoute<Verb, unknown, unknown, unknown>;

/**
 * Route builders. The function receives an `OpBuilder` of the right verb and returns the op
 * (`b.returns(…)`); declare the types its callers see as type arguments.
 *
 * @example
 * ```ts
 * const hello = route.get<string, string>("name", (b) => b.returns(post(ref(b.key, "render"), {})));
 * const version = route.value("1.0.0");
 * ```
 */
export const route = {
  /** A GET member: `key` is bound to `keyName`. */
  get<K = unknown, R = unknown>(keyName: string, body: (b: OpBuilder) => OpDef): LibraryRoute<"get", K, never, R> {
    return { verb: "get", entry: { opdef: checkVerb(body(OpBuilder.get(keyName)), "get") } };
  },
  /** A POST member: its params are the op's free ids. */
  post<P extends Record<string, unknown> = Record<string, unknown>, R = unknown>(body: (b: OpBuilder) => OpDef): LibraryRoute<"post", P, never, R> {
    return { verb: "post", entry: { opdef: checkVerb(body(OpBuilder.post()), "post") } };
  },
  /** A PUT member: key and value bound to `keyName` and `valueName`. */
  put<K = unknown, V = unknown>(keyName: string, valueName: string, body: (b: OpBuilder) => OpDef): LibraryRoute<"put", K, V, null> {
    return { verb: "put", entry: { opdef: checkVerb(body(OpBuilder.put(keyName, valueName)), "put") } };
  },
  /** A DELETE member: its key bound to `keyName`. */
  delete<K = unknown>(keyName: string, body: (b: OpBuilder) => OpDef): LibraryRoute<"delete", K, never, null> {
    return { verb: "delete", entry: { opdef: checkVerb(body(OpBuilder.delete(keyName)), "delete") } };
  },
  /** A literal value, answered to GET. */
  value<R extends Json>(value: R): LibraryRoute<"get", null, never, R> {
    return { verb: "get", entry: { value } };
  },
  /** A GET member answering what a dependency's GET member answers (an op route). */
  forward<R>(target: Deferred<R>): LibraryRoute<"get", null, never, R> {
    if (target.verb !== "get") throw new BadRequestError(`route.forward takes a GET member, not ${target.verb.toUpperCase()} ${target.path}`);
    return { verb: "get", entry: { op: { method: "GET", path: target.path } } };
  },
};

function checkVerb(op: OpDef, verb: Verb): OpDef {
  if (op?.kind !== "opdef" || op.verb !== verb) throw new BadRequestError(`a ${verb.toUpperCase()} route's body must return its builder's op (b.returns(…))`);
  return op;
}

/** A call on a library member not yet run: run it with an executor, or use `scalar` as a step of another op. */
export interface Deferred<R> {
  readonly verb: Verb;
  /** The member's path, `/lib/<publisher>/<name>/<version>/<member>`. */
  readonly path: string;
  /** The call as an IR op ref (for `OpBuilder.step`). */
  readonly scalar: Scalar;
  /** Runs the call (one op, one transaction) and returns its result. */
  run(runner: Runner): Promise<R>;
}

/** The typed calls of a library's routes (inside another op, an argument may be a reference such as `b.key`). */
export type LibraryStub<Routes extends Record<string, AnyRoute>> = {
  [M in keyof Routes]: Routes[M] extends LibraryRoute<infer V, infer K, infer P, infer R>
    ? V extends "post"
      ? (params: K | { readonly [N in keyof K]: K[N] | IdRef }) => Deferred<R>
      : V extends "put"
        ? (key: K | IdRef, value: P | IdRef) => Deferred<null>
        : K extends null
          ? (key?: null) => Deferred<R>
          : (key: K | IdRef) => Deferred<R>
    : never;
};

/** A library a definition may depend on: another definition, or an installed library's id. */
export type LibraryRef = LibraryDefinition<Record<string, AnyRoute>> | string;

/** A library defined in TypeScript. */
export interface LibraryDefinition<Routes extends Record<string, AnyRoute>> {
  /** `/lib/<publisher>/<name>/<version>` */
  readonly id: string;
  readonly version: string;
  readonly dependencies: readonly string[];
  readonly routes: Routes;
  /** The IR manifest (deterministic). */
  manifest(): Json;
  /** The `PUT /lib` body: the manifest in a package envelope (`{"schema", "artifacts"}`), as v2 installs it. */
  installBody(): Json;
  /** Typed calls of the installed library. */
  stub(): LibraryStub<Routes>;
}

const SEGMENT = /^[a-z0-9][a-z0-9._-]*$/;
const VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/**
 * Defines a library.
 *
 * @example
 * ```ts
 * const greeter = defineLibrary({
 *   publisher: "acme", name: "greeter", version: "0.1.0",
 *   routes: { hello: route.get<string, string>("name", (b) => b.returns(b.key)) },
 * });
 * await installLibrary(db, greeter);
 * await greeter.stub().hello("World").run(db); // "World"
 * ```
 */
export function defineLibrary<const Routes extends Record<string, AnyRoute>>(spec: {
  publisher: string;
  name: string;
  version: string;
  dependencies?: readonly LibraryRef[];
  routes: Routes;
}): LibraryDefinition<Routes> {
  for (const [what, v] of [["publisher", spec.publisher], ["name", spec.name]] as const) {
    if (typeof v !== "string" || !SEGMENT.test(v)) throw new BadRequestError(`defineLibrary: ${what} must be lowercase letters, digits, '.', '_' or '-', got ${showValue(v)}`);
  }
  if (typeof spec.version !== "string" || !VERSION.test(spec.version) || spec.version.startsWith("0.0.0-q")) {
    throw new BadRequestError(`defineLibrary: version must be a semantic version such as 1.2.3, got ${showValue(spec.version)}`);
  }
  const id = `/lib/${spec.publisher}/${spec.name}/${spec.version}`;
  parseLink(id);
  const deps = (spec.dependencies ?? []).map((d) => (typeof d === "string" ? libraryIdOf(d) : d.id));
  if (deps.includes(id)) throw new BadRequestError(`${id} cannot depend on itself`);
  const dependencies = [...new Set(deps)].sort();
  const names = Object.keys(spec.routes).sort();
  if (names.length === 0) throw new BadRequestError(`${id}: a library needs at least one route`);
  const routes: Json[] = [];
  for (const name of names) {
    if (name.length === 0 || name.includes("/")) throw new BadRequestError(`${id}: invalid route name ${showValue(name)}`);
    const r = spec.routes[name]!;
    const entry: Record<string, Json> = {};
    if ("opdef" in r.entry) entry.opdef = encode(r.entry.opdef);
    else if ("value" in r.entry) entry.value = r.entry.value;
    else entry.op = { method: "GET", path: r.entry.op.path };
    for (const target of libraryLinks(entry)) {
      if (target !== id && !dependencies.includes(target)) {
        throw new BadRequestError(`${id}: route ${name} calls ${target}, which is not among its dependencies (declare it in dependencies)`);
      }
    }
    routes.push({ path: `/${name}`, ...entry });
  }
  const schema = { id, version: spec.version, dependencies };
  const manifest: Json = { schema, routes };
  const text = JSON.stringify(manifest);
  const def: LibraryDefinition<Routes> = {
    id,
    version: spec.version,
    dependencies,
    routes: spec.routes,
    manifest: () => JSON.parse(text) as Json,
    installBody: () => ({
      schema,
      artifacts: [{ path: "/lib/ir", content_type: "application/tinychain+json", bytes: Buffer.from(text).toString("base64") }],
    }),
    stub: () => makeStub(id, spec.routes),
  };
  return def;
}

function libraryIdOf(text: string): string {
  const parsed = parseLink(text);
  if (parsed.root !== "lib" || !parsed.component || parsed.component.route.length > 0 || parsed.component.path !== text) {
    throw new BadRequestError(`a dependency is a library id /lib/<publisher>/<name>/<version>, got ${showValue(text)}`);
  }
  return text;
}

/** Every library id (`/lib/<p>/<n>/<v>`) a manifest entry names as a subject or a link. */
function libraryLinks(json: Json, out = new Set<string>()): Set<string> {
  const visit = (s: string): void => {
    const m = /^\/lib\/[^/]+\/[^/]+\/[^/]+/.exec(s);
    if (m) out.add(m[0]);
  };
  if (typeof json === "string") visit(json);
  else if (Array.isArray(json)) for (const x of json) libraryLinks(x, out);
  else if (json !== null && typeof json === "object") {
    for (const [k, v] of Object.entries(json)) {
      visit(k);
      libraryLinks(v as Json, out);
    }
  }
  return out;
}

function makeStub<Routes extends Record<string, AnyRoute>>(id: string, routes: Routes): LibraryStub<Routes> {
  const stub: Record<string, unknown> = {};
  for (const [name, r] of Object.entries(routes)) {
    const path = `${id}/${name}`;
    stub[name] = (a?: unknown, b?: unknown): Deferred<unknown> => {
      let scalar: Scalar;
      switch (r.verb) {
        case "post":
          scalar = post(path, (a ?? {}) as Record<string, Scalar>);
          break;
        case "put":
          scalar = put(path, a as Scalar, b as Scalar);
          break;
        case "delete":
          scalar = del(path, (a ?? null) as Scalar);
          break;
        default:
          scalar = get(path, (a ?? null) as Scalar);
      }
      return deferred(r.verb, path, scalar);
    };
  }
  return stub as LibraryStub<Routes>;
}

function deferred<R>(verb: Verb, path: string, scalar: Scalar): Deferred<R> {
  return {
    verb,
    path,
    scalar,
    async run(runner: Runner): Promise<R> {
      const b = OpBuilder.post();
      const step = b.step(scalar);
      return (await runner.execute(b.returns(step))) as R;
    },
  };
}

/**
 * Installs a library (one `PUT /lib`). Installing the same definition again is a no-op; other
 * content under the same version is a `ConflictError`.
 *
 * @example
 * ```ts
 * await installLibrary(executor, greeter);
 * ```
 */
export async function installLibrary(runner: Runner, lib: LibraryDefinition<Record<string, AnyRoute>>): Promise<void> {
  await runner.request({ verb: "put", path: "/lib", body: lib.installBody() });
}
