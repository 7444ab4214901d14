/** A counting service for the queue tests: each iteration inserts row `i` into `/state/jobs/marks` (an insert: a repeated iteration would conflict). */
import type { Json } from "../../src/ir/types.js";
import { defineService } from "../../src/service/index.js";

export const MARKS = "/state/jobs/marks";
export const MARKS_TABLE: Json = { "/state/collection/table": [[[[["i", "/state/scalar/value/number/uint/64"]], [["at", "/state/scalar/value/number/uint/64"]]], []], []] };

/** Counts from 0 to `args.to`, one row per iteration; the result is the count. */
export const countStep: Json = {
  "/state/scalar/op/post": [
    ["i", { "$state/get": { i: "i" } }],
    ["to", { "$args/get": { i: "to" } }],
    ["w", { [`${MARKS}/insert`]: [[{ $i: [] }], [{ $i: [] }]] }],
    // `after`: the insert is evaluated before the count it leads to (an unused step is never run).
    ["n", { "/state/scalar/ref/after": [{ $w: [] }, { "$i/add": { r: 1 } }] }],
    ["d", { "$n/ge": { r: { $to: [] } } }],
    ["p", { "$n/div": { r: { $to: [] } } }],
    ["_r", { state: { i: { $n: [] } }, done: { $d: [] }, result: { $n: [] }, progress: { $p: [] } }],
  ],
};
export const countInit: Json = { "/state/scalar/op/post": [["_r", { i: 0 }]] };

export const counter = defineService<{ to: number }, number>({ publisher: "acme", namespace: "jobs", name: "count", version: "1.0.0", step: countStep, init: countInit });
