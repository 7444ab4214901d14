/**
 * An op's arguments as the kernel binds them: execution arguments by name, and a POST body's
 * params. Names must be Ids (checked once per distinct name); values are data (`decodeData`).
 */
import { BadRequestError } from "../../errors.js";
import type { Json, OpDef } from "../../ir/types.js";
import { assertId } from "../../ir/id.js";
import { decodeData, valueMap, type KernelValue } from "./kernel-value.js";

/** Parameter names already checked (names repeat across executions; checking them is a regex). */
const CHECKED_NAMES = new Set<string>();

function paramName(name: string): string {
  if (CHECKED_NAMES.has(name)) return name;
  assertId(name, "parameter name");
  if (CHECKED_NAMES.size >= 65_536) CHECKED_NAMES.clear();
  CHECKED_NAMES.add(name);
  return name;
}

/**
 * Binds execution arguments: names must be Ids, values are data; an op's key (and a PUT's value)
 * is null when not given.
 *
 * @example
 * ```ts
 * bindArgs(op, { me: 1 }); // Map { "me" => 1, … }
 * ```
 */
export function bindArgs(op: OpDef, args: Readonly<Record<string, Json>>): Map<string, KernelValue> {
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    throw new BadRequestError("execution arguments must be an object of named values");
  }
  const params = new Map<string, KernelValue>();
  for (const name of Object.keys(args)) {
    params.set(paramName(name), decodeData(args[name]));
  }
  if (op.verb !== "post" && !params.has(op.keyName)) params.set(op.keyName, null);
  if (op.verb === "put" && !params.has(op.valueName)) params.set(op.valueName, null);
  return params;
}

/** A POST body: a map of params (absent = none). */
export function decodeParams(body: Json | undefined): KernelValue {
  if (body === undefined || body === null) return valueMap({});
  if (typeof body !== "object" || Array.isArray(body)) {
    throw new BadRequestError("a POST body must be a JSON object of params");
  }
  const entries: Record<string, KernelValue> = {};
  for (const name of Object.keys(body)) {
    entries[paramName(name)] = decodeData((body as Record<string, Json>)[name]);
  }
  return valueMap(entries);
}
