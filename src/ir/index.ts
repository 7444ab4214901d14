/**
 * `src/ir`: TinyChain IR — node types, the JSON codec, constructors, the step-by-step op builder,
 * parameters and content hashes (PROFILE §1).
 */
export * from "./types.js";
export * from "./id.js";
export { decode, decodeOpDef, decodeValue, encode, isRef, IrEncodeError, MAX_DEPTH } from "./codec.js";
