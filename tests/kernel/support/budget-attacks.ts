/**
 * Ops that try to exhaust a host (tests/kernel/budgets.test.ts, tests/http/healthz-load.test.ts):
 * each is a few hundred bytes of IR that, without budgets, grows a string, a tuple or a shared
 * value until memory or the event loop gives out.
 */
import type { Json } from "../../../src/ir/types.js";

const POST = "/state/scalar/op/post";
const WHILE = "/state/scalar/ref/while";
const FOR_EACH = "/state/scalar/ref/for_each";

/** A POST OpDef of `steps`. */
export const post = (...steps: [string, Json][]): Json => ({ [POST]: steps });
/** A reference to `$name`. */
export const id = (name: string): Json => ({ [`$${name}`]: [] });
/** `while` with an always-true condition: `step` runs until a budget stops it. */
const forever = (step: Json, state: Json): Json => ({ [WHILE]: [post(["c", true]), post(["s", step]), state] });

/** The attacks, by name. */
export const ATTACKS: Readonly<Record<string, Json>> = {
  /** A string doubled with `concat` until V8's string limit (2^29): "Invalid string length". */
  stringDoubling: post(["r", forever({ "$state/concat": { r: id("state") } }, "0123456789abcdef")]),
  /** A string doubled 25 times (512 MiB of characters), then returned: the encoding needs it flat. */
  stringDoublingReturned: post([
    "r",
    {
      [WHILE]: [
        post(["n", { "$state/get": { i: 0 } }], ["c", { "$n/lt": { r: 25 } }]),
        post(["n", { "$state/get": { i: 0 } }], ["s", { "$state/get": { i: 1 } }], ["r", [{ "$n/add": { r: 1 } }, { "$s/concat": { r: id("s") } }]]),
        [0, "0123456789abcdef"],
      ],
    },
  ]),
  /**
   * Six copies of a 2^24-character string of control characters: JSON escapes each as `\u0001`,
   * 600 Mi characters of text, past what one V8 string can hold (a 500 from the server's
   * `JSON.stringify`, before budgets).
   */
  escapedResult: post(
    [
      "s",
      {
        [WHILE]: [
          post(["n", { "$state/get": { i: 0 } }], ["c", { "$n/lt": { r: 24 } }]),
          post(["n", { "$state/get": { i: 0 } }], ["s", { "$state/get": { i: 1 } }], ["r", [{ "$n/add": { r: 1 } }, { "$s/concat": { r: id("s") } }]]),
          [0, "\u0001"],
        ],
      },
    ],
    ["t", { "$s/get": { i: 1 } }],
    ["r", [id("t"), id("t"), id("t"), id("t"), id("t"), id("t")]],
  ),
  /** A tuple doubled with `concat` until V8's array limit. */
  tupleDoubling: post(["r", forever({ "$state/concat": { r: id("state") } }, [0, 1, 2, 3, 4, 5, 6, 7])]),
  /**
   * A tuple holding itself twice, 40 levels deep: 40 small tuples, but 2^40 of them once
   * encoded (V8 out of memory, SIGABRT, before budgets).
   */
  sharedTuples: post([
    "r",
    {
      [WHILE]: [
        post(["n", { "$state/get": { i: 0 } }], ["c", { "$n/lt": { r: 40 } }]),
        post(["n", { "$state/get": { i: 0 } }], ["r", [{ "$n/add": { r: 1 } }, [id("state"), id("state")]]]),
        [0, 0],
      ],
    },
  ]),
  /** Two such values compared with `eq`: 2^30 comparisons, no allocation at all. */
  sharedTuplesCompared: post(
    ["grow", post(["n", { "$state/get": { i: 0 } }], ["c", { "$n/lt": { r: 30 } }])],
    ["step", post(["n", { "$state/get": { i: 0 } }], ["r", [{ "$n/add": { r: 1 } }, [id("state"), id("state")]]])],
    ["a", { [WHILE]: [id("grow"), id("step"), [0, "a"]] }],
    ["b", { [WHILE]: [id("grow"), id("step"), [0, "a"]] }],
    ["r", { "$a/eq": { r: id("b") } }],
  ),
  /** Many large tuples: a `for_each` over 2^20 items, each building a tuple of 2^20 items. */
  largeTuples: post(
    ["big", { [WHILE]: [post(["n", { "$state/len": {} }], ["c", { "$n/lt": { r: 1048576 } }]), post(["s", { "$state/concat": { r: id("state") } }]), [0]] }],
    ["r", { [FOR_EACH]: [id("big"), post(["t", { "$big/concat": { r: id("big") } }], ["r", { "$t/slice": { start: 1 } }]), "x"] }],
  ),
  /** A value nested 100,000 levels deep (`[[[…]]]`), returned: encoding it recurses that deep. */
  deepNesting: post([
    "r",
    {
      [WHILE]: [
        post(["n", { "$state/get": { i: 0 } }], ["c", { "$n/lt": { r: 100_000 } }]),
        post(["n", { "$state/get": { i: 0 } }], ["v", { "$state/get": { i: 1 } }], ["r", [{ "$n/add": { r: 1 } }, [id("v")]]]),
        [0, 0],
      ],
    },
  ]),
  /** A `while` that only counts: stopped by its iteration or time budget. */
  longWhile: post(["r", forever({ "$state/add": { r: 1 } }, 0)]),
};
