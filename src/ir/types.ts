/**
 * The in-memory form of TinyChain IR (PROFILE §1). Every node is a plain, immutable object with a
 * `kind` tag, except the JSON primitives (null, boolean, number, string) and tuples (arrays), which
 * stand for themselves. `decode` builds these from JSON, `encode` turns them back into JSON.
 */

/**
 * A primitive: none, bool, number or string (JSON's own), a `bigint` (a 64-bit integer beyond
 * ±(2^53 − 1), written as the typed map `{"/state/scalar/value/number/int/64": "<digits>"}`) or a
 * `Uint8Array` (bytes, written as `{"/state/scalar/value/bytes": "<base64>"}`).
 */
export type Primitive = null | boolean | number | string | bigint | Uint8Array;

/** A link value (`{"/state/social/users": []}` on the wire). `href` is path-only or absolute. */
export interface Link {
  readonly kind: "link";
  readonly href: string;
}

/** A data map: `Id` keys only, encoded with keys sorted. */
export interface ScalarMap {
  readonly kind: "map";
  readonly entries: Readonly<Record<string, Scalar>>;
}

/** A tuple of scalars (a JSON array). */
export type ScalarTuple = readonly Scalar[];

/** `{"$name": []}`: the value named `name` in scope (a step or a parameter). */
export interface IdRef {
  readonly kind: "id";
  readonly name: string;
}

/**
 * The subject of an op call: `$name` or `$name/a/b` (a value in scope, then a route on it), or a
 * link (`/state/...`, `/lib/...`, `http://host:port/...`).
 */
export type Subject =
  | { readonly kind: "ref"; readonly name: string; readonly path: readonly string[] }
  | Link;

export type Verb = "get" | "put" | "post" | "delete";

/**
 * Op calls. `explicit` records whether the JSON used the explicit
 * `/state/scalar/ref/op/<verb>` form, so that decode→encode is byte-identical. DELETE is always
 * explicit on the wire.
 */
export interface GetRef {
  readonly kind: "get";
  readonly subject: Subject;
  readonly key: Scalar;
  readonly explicit: boolean;
}
export interface PutRef {
  readonly kind: "put";
  readonly subject: Subject;
  readonly key: Scalar;
  readonly value: Scalar;
  readonly explicit: boolean;
}
export interface PostRef {
  readonly kind: "post";
  readonly subject: Subject;
  readonly params: Readonly<Record<string, Scalar>>;
  readonly explicit: boolean;
}
export interface DeleteRef {
  readonly kind: "delete";
  readonly subject: Subject;
  readonly key: Scalar;
}
export type OpRef = GetRef | PutRef | PostRef | DeleteRef;

/** `{"/state/scalar/ref/cond": [cond, then, else]}`; `cond` must be a reference. */
export interface CondRef {
  readonly kind: "cond";
  readonly cond: Ref;
  readonly then: Scalar;
  readonly else: Scalar;
}
/** `{"/state/scalar/ref/after": [when, then]}`: resolve `when`, discard it, return `then`. */
export interface AfterRef {
  readonly kind: "after";
  readonly when: Scalar;
  readonly then: Scalar;
}
/** `{"/state/scalar/ref/while": [cond, step, state]}`; both OpDefs are called with `{state}`. */
export interface WhileRef {
  readonly kind: "while";
  readonly cond: Scalar;
  readonly step: Scalar;
  readonly state: Scalar;
}
/** `{"/state/scalar/ref/for_each": [items, op, "item_name"]}`. */
export interface ForEachRef {
  readonly kind: "for_each";
  readonly items: Scalar;
  readonly op: Scalar;
  readonly itemName: string;
}

/** Every reference form: resolving it needs the scope or the kernel. */
export type Ref = IdRef | OpRef | CondRef | AfterRef | WhileRef | ForEachRef;

/** One step of an OpDef's form: `[id, scalar]`. */
export type Step = readonly [name: string, value: Scalar];

/** The four OpDef kinds (PROFILE §1). Steps form a dataflow graph; the last step is the result. */
export interface GetOpDef {
  readonly kind: "opdef";
  readonly verb: "get";
  readonly keyName: string;
  readonly steps: readonly Step[];
}
export interface PutOpDef {
  readonly kind: "opdef";
  readonly verb: "put";
  readonly keyName: string;
  readonly valueName: string;
  readonly steps: readonly Step[];
}
export interface PostOpDef {
  readonly kind: "opdef";
  readonly verb: "post";
  readonly steps: readonly Step[];
}
export interface DeleteOpDef {
  readonly kind: "opdef";
  readonly verb: "delete";
  readonly keyName: string;
  readonly steps: readonly Step[];
}
export type OpDef = GetOpDef | PutOpDef | PostOpDef | DeleteOpDef;

/** Any IR node. */
export type Scalar = Primitive | ScalarTuple | ScalarMap | Link | Ref | OpDef;

/** Plain JSON, as `JSON.parse` returns it. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** The wire paths of the reserved forms. */
export const PATHS = {
  opdef: {
    get: "/state/scalar/op/get",
    put: "/state/scalar/op/put",
    post: "/state/scalar/op/post",
    delete: "/state/scalar/op/delete",
  },
  explicitRef: {
    get: "/state/scalar/ref/op/get",
    put: "/state/scalar/ref/op/put",
    post: "/state/scalar/ref/op/post",
    delete: "/state/scalar/ref/op/delete",
  },
  cond: "/state/scalar/ref/cond",
  after: "/state/scalar/ref/after",
  while: "/state/scalar/ref/while",
  forEach: "/state/scalar/ref/for_each",
  table: "/state/collection/table",
  value: {
    none: "/state/scalar/value/none",
    number: "/state/scalar/value/number",
    string: "/state/scalar/value/string",
    link: "/state/scalar/value/link",
    tuple: "/state/scalar/value/tuple",
    bytes: "/state/scalar/value/bytes",
    int64: "/state/scalar/value/number/int/64",
    uint64: "/state/scalar/value/number/uint/64",
  },
  /** Column dtypes (PROFILE §3), by their short names; every one starts with `prefix`. */
  dtype: {
    prefix: "/state/scalar/value/",
    bool: "/state/scalar/value/number/bool",
    i8: "/state/scalar/value/number/int/8",
    i16: "/state/scalar/value/number/int/16",
    i32: "/state/scalar/value/number/int/32",
    i64: "/state/scalar/value/number/int/64",
    u8: "/state/scalar/value/number/uint/8",
    u16: "/state/scalar/value/number/uint/16",
    u32: "/state/scalar/value/number/uint/32",
    u64: "/state/scalar/value/number/uint/64",
    f32: "/state/scalar/value/number/float/32",
    f64: "/state/scalar/value/number/float/64",
    string: "/state/scalar/value/string",
    link: "/state/scalar/value/link",
    bytes: "/state/scalar/value/bytes",
  },
  /** v1-only forms the decoder rejects, naming `cond`. */
  v1Only: ["/state/scalar/ref/if", "/state/scalar/ref/case", "/state/scalar/ref/with"],
} as const;
