/**
 * IR JSON builders for the core lowering (PROFILE §1–2): POST OpDefs, references, built-in calls,
 * `cond`, `while` and `fold`, plus the few combinators every lowered result needs (lexicographic
 * comparison of number tuples, a stable insertion sort, a list's membership test).
 */
import type { Json } from "../../ir/types.js";

export type J = Json;
/** The steps of a POST OpDef, in order: `[name, scalar]`. */
export type Steps = [string, J][];

export const post = (steps: Steps): J => ({ "/state/scalar/op/post": steps as unknown as J });
export const ref = (name: string): J => ({ [`$${name}`]: [] });
/** `$subject/method` with POST params: a built-in on a value in scope. */
export const call = (subject: string, method: string, params: Record<string, J> = {}): J => ({ [`$${subject}/${method}`]: params });
/** A GET op ref on a link or `$name/path`. */
export const getOn = (subject: string, key: J): J => ({ [subject]: [key] });
/** `cond`: an OpDef branch runs only when selected (as a closure); anything else is returned as is. */
export const cond = (c: J, then: J, otherwise: J): J => ({ "/state/scalar/ref/cond": [c, then, otherwise] });
export const whileLoop = (c: J, step: J, state: J): J => ({ "/state/scalar/ref/while": [c, step, state] });
/** `fold` over a tuple: the op gets the accumulator (a map's entries, else `state`) and the item. */
export const fold = (items: string, itemName: string, op: J, value: J): J => call(items, "fold", { item_name: itemName, op, value });
/** A `cond` whose branch is computed: `then` runs only when `c` (a step name) is true. */
export const when = (c: string, then: Steps, otherwise: J): J => cond(ref(c), post(then), otherwise);

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
export function tupleLessSteps(names: Names, a: string, b: string, n: number, out: string): Steps {
  if (n === 0) return [[out, false]];
  const steps: Steps = [];
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
export function insertionSortSteps(names: Names, items: string, out: string, less: (item: string, placed: string, result: string) => Steps): Steps {
  const item = names.next("item");
  const placed = names.next("placed");
  const isLess = names.next("isless");
  const stays = names.next("stays");
  const count = names.next("at");
  const head = names.next("head");
  const tail = names.next("tail");
  const mid = names.next("mid");
  const countOp = post([
    ...less(item, placed, isLess),
    [stays, call(isLess, "not")],
    ["counted", cond(ref(stays), post([["plus", call("state", "add", { r: 1 })]]), ref("state"))],
  ]);
  const insertOp = post([
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
export function containsSteps(names: Names, items: string, value: string, out: string, key?: (el: string) => J): Steps {
  const x = names.next("el");
  let compared = x;
  const project: Steps = [];
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
        post([
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
export const firstCells = (n: number) => (el: string): J => call(el, "slice", { start: 0, stop: n });
