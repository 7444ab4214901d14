/**
 * `/service` definitions (PROFILE §6.14): a work queue installed like a library —
 * `PUT /service` with `{"/service/<publisher>/<namespace>/<name>/<version>": {"step": <POST OpDef>,
 * "init"?: <POST OpDef>}}`. `init` (params `{args}`) makes a task's first state (default: its
 * args); `step` (params `{state, args}`) runs one iteration of the task's `While` loop and answers
 * `{"state": …, "done": bool, "result"?: …, "progress"?: number}`. A task's rows live in the
 * ordinary table `/state/<namespace>/<name>_tasks`.
 */
import { BadRequestError } from "../../errors.js";
import { canonicalJson, decodeOpDef } from "../../ir/index.js";
import type { Json } from "../../ir/types.js";
import { parseLink } from "../../ir/uri.js";

/** An installed service version. */
export interface ServiceDef {
  /** `/service/<publisher>/<namespace>/<name>/<version>` */
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  readonly step: Json;
  readonly init: Json | undefined;
  /** The task table's path segments under `/state`: `[namespace, "<name>_tasks"]`. */
  readonly table: readonly [string, string];
  readonly canonical: string;
}

const SEGMENT = /^[a-z][a-z0-9_]*$/;

/** The parts of a service id, or a `BadRequestError`. */
export function serviceIdParts(id: string): { publisher: string; namespace: string; name: string; version: string } {
  const segs = id.split("/");
  if (segs.length !== 6 || segs[0] !== "" || segs[1] !== "service") {
    throw new BadRequestError(`expected /service/<publisher>/<namespace>/<name>/<version>, found ${JSON.stringify(id)}`);
  }
  parseLink(id);
  const [, , publisher, namespace, name, version] = segs as [string, string, string, string, string, string];
  if (!SEGMENT.test(namespace) || !SEGMENT.test(name) || `${name}_tasks`.length > 64) {
    throw new BadRequestError(`a service's namespace and name are lowercase words (letters, digits, _): they name the table /state/<namespace>/<name>_tasks`);
  }
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new BadRequestError(`a service version is a semantic version such as 1.0.0, found ${JSON.stringify(version)}`);
  return { publisher, namespace, name, version };
}

/**
 * Validates an install body.
 *
 * @example
 * ```ts
 * parseService({ "/service/acme/jobs/recompute/1.0.0": { step: { "/state/scalar/op/post": [...] } } });
 * ```
 */
export function parseService(body: unknown): ServiceDef {
  if (body === null || typeof body !== "object" || Array.isArray(body) || Object.keys(body).length !== 1) {
    throw new BadRequestError('a service definition is {"/service/<publisher>/<namespace>/<name>/<version>": {"step": <POST OpDef>, "init"?: <POST OpDef>}}');
  }
  const id = Object.keys(body)[0]!;
  const { namespace, name, version } = serviceIdParts(id);
  const def = (body as Record<string, unknown>)[id] as Record<string, unknown> | null;
  if (def === null || typeof def !== "object" || Array.isArray(def)) throw new BadRequestError(`${id}: its definition is {"step", "init"?}`);
  const extra = Object.keys(def).filter((k) => k !== "step" && k !== "init");
  if (extra.length > 0) throw new BadRequestError(`${id}: unknown member(s) ${JSON.stringify(extra)} (a service has step and init)`);
  for (const member of ["step", "init"] as const) {
    if (def[member] === undefined) {
      if (member === "step") throw new BadRequestError(`${id}: a service needs a step op`);
      continue;
    }
    const op = decodeOpDef(def[member]);
    if (op.verb !== "post") throw new BadRequestError(`${id}: ${member} must be a POST OpDef (its params: ${member === "step" ? "state, args" : "args"})`);
  }
  return {
    id,
    namespace,
    name,
    version,
    step: def.step as Json,
    init: def.init as Json | undefined,
    table: [namespace, `${name}_tasks`],
    canonical: canonicalJson(body as Json),
  };
}
