/**
 * A session keeps the committed state of each table it writes readable (`preserveCommitted`,
 * taken before its first change to the table): whatever the first change is — here a small bulk
 * insert into a composite-key table, which the heap engine applies row by row — the committed view
 * must not hold any of the session's rows.
 */
import { describe, expect, it } from "vitest";
import { Database } from "../../src/kernel/state/database.js";
import { tableLiteral } from "../../src/kernel/state/table-view.js";

const U32 = "/state/scalar/value/number/uint/32";
const SCHEMA = [[[["a", U32], ["b", U32]], [["v", U32]]], [["by_v", ["v"]]]];
const T = ["p", "t"];
const ROWS = Array.from({ length: 300 }, (_, i) => [i, i % 7, i % 5]);

describe("the committed view of a table a session writes", () => {
  it("holds none of the rows of the session's first bulk insert", async () => {
    const db = await Database.open({});
    try {
      const setup = await db.begin();
      setup.request("put", T, null, tableLiteral(SCHEMA, ROWS));
      await setup.commit();
      const s = await db.begin();
      s.keepCommitted();
      // Few rows into a non-empty table: inserted one by one, the first one first.
      s.request("put", [...T, "insert_rows"], null, [[1000, 1, 4], [1001, 1, 4]]);
      const r = db.readCommitted()!;
      expect(r.request("get", [...T, "count"], null, undefined)).toBe(300);
      expect(r.request("get", T, [1000, 1], undefined)).toBeNull();
      expect(r.request("get", [...T, "count"], [["v", [["in", 4], ["in", 4]]]], undefined)).toBe(60);
      s.rollback();
    } finally {
      await db.close();
    }
  });
});
