/**
 * RJWT bearer tokens: the implementation lives in src/rjwt.ts, where the kernel (which signs the
 * tokens of the transactions it begins) and the HTTP layer (which verifies them) both reach it.
 */
export * from "../rjwt.js";
