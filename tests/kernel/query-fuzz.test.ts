/**
 * No plan text can crash the `query` route: valid plans with random subtrees replaced by random
 * JSON, and random parameter values, give a result or a typed 4xx error — never an internal
 * error — and the host keeps answering.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TcError } from "../../src/errors.js";
import type { Json } from "../../src/ir/types.js";
import { embedded } from "../../src/kernel/index.js";

const S = "/state/scalar/value/";
const col = (src: string, c: string): Json => ({ t: "col", src, col: c });
const VALID: Json = {
  v: 1,
  from: { table: "t", as: "t" },
  joins: [{ table: "u", as: "u", kind: "left", on: { t: "cmp", op: "=", l: col("u", "tid"), r: col("t", "id") } }],
  where: {
    t: "and",
    of: [
      { t: "like", e: col("t", "s"), pattern: { t: "value", value: { param: "p" } }, escape: "\\", negate: false },
      { t: "in", e: col("t", "n"), list: { param: "l" }, negate: true },
      { t: "between", e: col("t", "n"), low: { t: "value", value: { lit: 1 } }, high: { t: "value", value: { param: "h" } }, negate: false },
    ],
  },
  groupBy: [col("t", "s")],
  having: { t: "cmp", op: ">", l: { t: "agg", fn: "count", arg: null, distinct: false }, r: { t: "value", value: { lit: 0 } } },
  select: [
    { as: "s", expr: col("t", "s") },
    { as: "m", expr: { t: "agg", fn: "max", arg: col("u", "id"), distinct: true } },
  ],
  distinct: false,
  with: [],
  orderBy: [{ expr: col("t", "s"), desc: true }],
  limit: { param: "k" },
  offset: null,
};

/** Every path to a node of `v`. */
function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === "object") for (const k of Object.keys(v)) paths((v as Record<string, Json>)[k]!, [...at, k], out);
  return out;
}

function replaced(v: Json, path: readonly (string | number)[], by: Json): Json {
  if (path.length === 0) return by;
  const [head, ...rest] = path;
  if (Array.isArray(v)) return v.map((x, i) => (i === head ? replaced(x, rest, by) : x));
  const o = v as Record<string, Json>;
  return { ...o, [head!]: replaced(o[head as string]!, rest, by) };
}

const ALL = paths(VALID);
const small: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, 0, -1, 1.5, "", "t", "u", "s", "col", "agg", "%", "\\", [], {}, { lit: 1 }, { param: "p" }, { t: "value", value: { lit: "x" } }, col("t", "n"), col("u", "zz")),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
);

describe("query route fuzz", () => {
  it("answers every mutated plan with rows or a typed 4xx", async () => {
    const ex = embedded();
    await ex.request({ verb: "put", path: "/state/f/t", key: null, body: { "/state/collection/table": [[[[["id", `${S}number/int/64`]], [["s", `${S}string`], ["n", `${S}number/int/64`, null, { nullable: true }]]], []], [[1, "a", 1], [2, "b", null], [3, "a", 3]]] } });
    await ex.request({ verb: "put", path: "/state/f/u", key: null, body: { "/state/collection/table": [[[[["id", `${S}number/int/64`]], [["tid", `${S}number/int/64`]]], [["by_tid", ["tid"]]]], [[7, 1], [8, 3]]] } });
    const okParams = { p: "%", l: [2], h: 5, k: 10 };
    expect(await ex.request({ verb: "get", path: "/state/f/t/query", key: [JSON.stringify(VALID), okParams] })).toEqual([["a", 8]]);
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...ALL), small), { minLength: 0, maxLength: 2 }),
        fc.oneof(fc.constant({}), fc.dictionary(fc.constantFrom("p", "l", "h", "k"), small, { maxKeys: 1 })),
        async (edits, params) => {
          let plan = VALID as Json;
          for (const [path, by] of edits) {
            try {
              plan = replaced(plan, path, by);
            } catch {
              // A path that no longer exists after an earlier edit.
            }
          }
          try {
            await ex.request({ verb: "get", path: "/state/f/t/query", key: [JSON.stringify(plan), { ...okParams, ...params } as Json] });
            answered++;
          } catch (e) {
            expect(e).toBeInstanceOf(TcError);
            expect(["bad_request", "not_found"]).toContain((e as TcError).kind);
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(answered).toBeGreaterThan(0);
    expect(await ex.request({ verb: "get", path: "/state/f/t/query", key: [JSON.stringify(VALID), okParams] })).toEqual([["a", 8]]);
    await ex.close();
  });
});
