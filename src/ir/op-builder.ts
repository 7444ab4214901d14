/**
 * `OpBuilder`: build a composite op step by step. Generated step names are `_0`, `_1`, … in
 * insertion order, so the same calls always give byte-identical JSON; explicit names are
 * validated `Id`s that may not start with `_` (so they can never collide with generated ones).
 */
import { BadRequestError } from "../errors.js";
import { assertId } from "./id.js";
import type { IdRef, OpDef, Scalar, Step, Verb } from "./types.js";

/** The name of the step `returns()` appends for a result that is not already the last step. */
export const RETURN_STEP = "_return";

function userName(name: string, what: string): string {
  assertId(name, what);
  if (name.startsWith("_")) {
    throw new BadRequestError(
      `invalid ${what} ${JSON.stringify(name)}: names starting with "_" are reserved for generated step names`,
    );
  }
  return name;
}

/**
 * Builds an OpDef step by step.
 *
 * @example
 * ```ts
 * const b = OpBuilder.post();
 * const n = b.step(get("/state/social/users/count", null)); // $_0
 * const op = b.returns(post(ref(n, "add"), { r: param("extra") }));
 * encode(op);
 * // {"/state/scalar/op/post": [["_0", {"/state/social/users/count": [null]}],
 * //                            ["_return", {"$_0/add": {"r": {"$extra": []}}}]]}
 * ```
 */
export class OpBuilder {
  private readonly steps: Step[] = [];
  private readonly names = new Set<string>();
  private generated = 0;

  private constructor(
    readonly verb: Verb,
    readonly keyName?: string,
    readonly valueName?: string,
  ) {}

  /** A POST op: its parameters are its free ids (see `freeIds`). */
  static post(): OpBuilder {
    return new OpBuilder("post");
  }
  /** A GET op whose key is bound to `keyName` (use `b.key` to refer to it). */
  static get(keyName: string): OpBuilder {
    return new OpBuilder("get", userName(keyName, "key name"));
  }
  /** A PUT op whose key and value are bound to `keyName` and `valueName`. */
  static put(keyName: string, valueName: string): OpBuilder {
    const k = userName(keyName, "key name");
    const v = userName(valueName, "value name");
    if (k === v) throw new BadRequestError(`the key and value names must differ (both ${JSON.stringify(k)})`);
    return new OpBuilder("put", k, v);
  }
  /** A DELETE op whose key is bound to `keyName`. */
  static delete(keyName: string): OpBuilder {
    return new OpBuilder("delete", userName(keyName, "key name"));
  }

  /** A reference to the request key (GET/PUT/DELETE). */
  get key(): IdRef {
    if (this.keyName === undefined) throw new BadRequestError("a POST op has no key; use param(name)");
    return { kind: "id", name: this.keyName };
  }
  /** A reference to the request value (PUT). */
  get value(): IdRef {
    if (this.valueName === undefined) throw new BadRequestError("only a PUT op has a value");
    return { kind: "id", name: this.valueName };
  }

  /** The number of steps so far. */
  get size(): number {
    return this.steps.length;
  }

  /**
   * Adds a step and returns a reference to it. `step(scalar)` names it `_<n>` (n counts the
   * generated names); `step("name", scalar)` uses a validated explicit name.
   */
  step(value: Scalar): IdRef;
  step(name: string, value: Scalar): IdRef;
  step(nameOrValue: Scalar, maybeValue?: Scalar): IdRef {
    let name: string;
    let value: Scalar;
    if (arguments.length >= 2) {
      if (typeof nameOrValue !== "string") throw new BadRequestError("a step name must be a string");
      name = userName(nameOrValue, "step name");
      value = maybeValue as Scalar;
    } else {
      name = `_${this.generated++}`;
      value = nameOrValue;
    }
    if (this.names.has(name)) throw new BadRequestError(`duplicate step name ${JSON.stringify(name)}`);
    if (value === undefined) throw new BadRequestError(`step ${JSON.stringify(name)} has no value`);
    this.names.add(name);
    this.steps.push([name, value]);
    return { kind: "id", name };
  }

  /**
   * Makes `value` the result and builds the op: when `value` is a reference to the last step it
   * is already the result; otherwise a final step `_return` is appended.
   */
  returns(value: Scalar): OpDef {
    const last = this.steps[this.steps.length - 1];
    const isLast =
      last !== undefined && typeof value === "object" && value !== null && !Array.isArray(value) &&
      (value as IdRef).kind === "id" && (value as IdRef).name === last[0];
    if (!isLast) {
      if (this.names.has(RETURN_STEP)) throw new BadRequestError("returns() was already called");
      this.names.add(RETURN_STEP);
      this.steps.push([RETURN_STEP, value]);
    }
    return this.build();
  }

  /** Builds the op: the last step is the result. The builder can keep going afterwards. */
  build(): OpDef {
    if (this.steps.length === 0 && (this.verb === "get" || this.verb === "post")) {
      throw new BadRequestError(`a ${this.verb.toUpperCase()} op needs at least one step (its last step is the result)`);
    }
    const steps = this.steps.map(([n, v]) => [n, v] as Step);
    switch (this.verb) {
      case "get":
        return { kind: "opdef", verb: "get", keyName: this.keyName!, steps };
      case "put":
        return { kind: "opdef", verb: "put", keyName: this.keyName!, valueName: this.valueName!, steps };
      case "delete":
        return { kind: "opdef", verb: "delete", keyName: this.keyName!, steps };
      default:
        return { kind: "opdef", verb: "post", steps };
    }
  }
}
