/**
 * `src/ir`: TinyChain IR — node types, the JSON codec (`decode.ts`, `encode.ts`), constructors, the
 * step-by-step op builder, parameters, content hashes and URIs (PROFILE §1). The file list is in
 * `src/ir/README.md`.
 */
export * from "./types.js";
export * from "./id.js";
export { isRef, MAX_DEPTH } from "./codec.js";
export { decode, decodeOpDef, decodeValue } from "./decode.js";
export { encode, IrEncodeError } from "./encode.js";
export {
  id,
  link,
  map,
  ref,
  toSubject,
  get,
  put,
  post,
  del,
  cond,
  after,
  whileLoop,
  forEach,
  opdef,
  toSteps,
  type SubjectLike,
  type MapEntries,
  type StepsLike,
} from "./build.js";
export { OpBuilder, RETURN_STEP } from "./op-builder.js";
export { param, freeIds } from "./params.js";
export { canonicalJson, jsonHash, opHash } from "./hash.js";
export { cleanOpName, nameOp, opName, OP_NAME_HEADER } from "./op-name.js";
export * from "./uri.js";
