/**
 * Step combinators of the core lowering (docs/PROFILE.md §1–2), on the IR JSON builders of
 * src/ir/json.ts: `fold` and a computed `cond`, fresh step names, and what every lowered result
 * needs — lexicographic comparison of number tuples, a stable insertion sort, a list's membership
 * test.
 */
import { call, cond, opdef, ref, type JsonSteps } from "../../ir/json.js";
import type { Json } from "../../ir/types.js";

/**
 * `fold` over a tuple: the op gets the accumulator (a map's entries, else `state`) and the item.
 *
 * @example
 * ```ts
 * fold("rows", "row", opdef([["more", call("state", "concat", { r: [ref("row")] })]]), []);
 * ```
 */
export const fold = (items: string, itemName: string, op: Json, value: Json): Json => call(items, "fold", { item_name: itemName, op, value });

/**
 * A `cond` whose branch is computed: `then` runs only when `c` (a step name) is true.
 *
 * @example
 * ```ts
 * when("keep", [["more", call("state", "concat", { r: [ref("row")] })]], ref("state"));
 * ```
 */
export const when = (c: string, then: JsonSteps, otherwise: Json): Json => cond(ref(c), opdef(then), otherwise);

/** Fresh step names, deterministic for one lowering (inner ops never shadow what they read). */
export class Names {
  private n = 0;
  next(prefix: string): string {
    return `${prefix}_${this.n++}`;
  }
}

/**
 * Steps setting `out` to "tuple `a` < tuple `b`", both `n` numbers, compared lexicographically
 * (core `lt` compares numbers only, so a key is compared cell by cell).
 */
export function tupleLessSteps(names: Names, a: string, b: string, n: number, out: string): JsonSteps {
  if (n === 0) return [[out, false]];
  const steps: JsonSteps = [];
  let less = "";
  for (let i = n - 1; i >= 0; i--) {
    const x = names.next("x");
    const y = names.next("y");
    const lt = names.next("lt");
    steps.push([x, call(a, "get", { i })], [y, call(b, "get", { i })], [lt, call(x, "lt", { r: ref(y) })]);
    if (i === n - 1) {
      less = lt;
      continue;
    }
    const eq = names.next("eq");
    const tie = names.next("tie");
    const both = names.next("less");
    steps.push([eq, call(x, "eq", { r: ref(y) })], [tie, call(eq, "and", { r: ref(less) })], [both, call(lt, "or", { r: ref(tie) })]);
    less = both;
  }
  steps.push([out, ref(less)]);
  return steps;
}

/**
 * A stable insertion sort of the tuple `items` into `out`. `less(item, placed, result)` returns
 * steps setting `result` to "`item` sorts strictly before `placed`". Each item goes after every
 * placed item it does not sort before (a nested `fold` counts them, then `slice`/`concat`):
 * O(n²) comparisons, ties keep their order.
 */
export function insertionSortSteps(names: Names, items: string, out: string, less: (item: string, placed: string, result: string) => JsonSteps): JsonSteps {
  const item = names.next("item");
  const placed = names.next("placed");
  const isLess = names.next("isless");
  const stays = names.next("stays");
  const count = names.next("at");
  const head = names.next("head");
  const tail = names.next("tail");
  const mid = names.next("mid");
  const countOp = opdef([
    ...less(item, placed, isLess),
    [stays, call(isLess, "not")],
    ["counted", cond(ref(stays), opdef([["plus", call("state", "add", { r: 1 })]]), ref("state"))],
  ]);
  const insertOp = opdef([
    [count, fold("state", placed, countOp, 0)],
    [head, call("state", "slice", { stop: ref(count) })],
    [tail, call("state", "slice", { start: ref(count) })],
    [mid, call(head, "concat", { r: [ref(item)] })],
    ["inserted", call(mid, "concat", { r: ref(tail) })],
  ]);
  return [[out, fold(items, item, insertOp, [])]];
}

/**
 * Steps setting `out` to "some element `x` of tuple `items` has `eq(key(x), value)`" (`value` a
 * step name; `key` projects an element, e.g. to its key cells; by default the element itself).
 */
export function containsSteps(names: Names, items: string, value: string, out: string, key?: (el: string) => Json): JsonSteps {
  const x = names.next("el");
  let compared = x;
  const project: JsonSteps = [];
  if (key !== undefined) {
    compared = names.next("elk");
    project.push([compared, key(x)]);
  }
  return [
    [
      out,
      fold(
        items,
        x,
        opdef([
          ...project,
          ["same", call(compared, "eq", { r: ref(value) })],
          ["any", call("state", "or", { r: ref("same") })],
        ]),
        false,
      ),
    ],
  ];
}

/** A `key` for `containsSteps`: the first `n` cells of a tuple (a row's key, a relationship id). */
export const firstCells = (n: number) => (el: string): Json => call(el, "slice", { start: 0, stop: n });
