/**
 * The same declaration gives byte-identical schema JSON (and metadata) in separate processes,
 * and in this one.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { twenty } from "./fixtures/twenty.js";

const run = promisify(execFile);
const script = fileURLToPath(new URL("./fixtures/print-schema.ts", import.meta.url));

describe("schema determinism", () => {
  it("has 20 tables", () => {
    expect(twenty.tableMetas).toHaveLength(20);
  });

  it("prints the same bytes in two separate Node processes and in this one", async () => {
    const once = () => run(process.execPath, ["--import", "tsx", script], { maxBuffer: 1 << 24 });
    const [a, b] = await Promise.all([once(), once()]);
    expect(a.stdout.length).toBeGreaterThan(1000);
    expect(a.stdout).toBe(b.stdout);
    const here = JSON.parse(a.stdout) as { json: unknown };
    expect(JSON.stringify(here.json)).toBe(JSON.stringify(twenty.json()));
  });

  it("derives the foreign-key indexes and relation names", () => {
    const items2 = twenty.meta("items2");
    expect(items2.foreignKeys.map((f) => [f.column, f.targetTable, f.name, f.inverse, f.index])).toEqual([
      ["owner", "accounts", "owner", "owned2", "fk_owner"],
      ["editor", "accounts", "editor", "edited2", "fk_editor"],
      ["parent", "items2", "parent", "children", "fk_parent"],
      ["prev", "items1", "prev", "next", "fk_prev"],
    ]);
    expect(items2.schemaJson[1]).toEqual([
      ["by_title2", ["title"]],
      ["fk_owner", ["owner"]],
      ["fk_editor", ["editor"]],
      ["fk_parent", ["parent"]],
      ["fk_prev", ["prev"]],
    ]);
    const accounts = twenty.meta("accounts");
    expect(accounts.schemaJson).toEqual([
      [
        [["id", "/state/scalar/value/number/uint/64"]],
        [
          ["email", "/state/scalar/value/string", 128],
          ["name", "/state/scalar/value/string", 64],
          ["born", "/state/scalar/value/number/int/32", null, { nullable: true }],
          ["home", "/state/scalar/value/link", 256, { nullable: true }],
          ["verified", "/state/scalar/value/number/bool"],
          ["score", "/state/scalar/value/number/float/64"],
        ],
      ],
      [
        ["by_name", ["name", "born"]],
        ["unique_email", ["email"]],
      ],
    ]);
    // The first key column of an edge table is served by the primary index.
    expect(twenty.meta("friends").foreignKeys.map((f) => f.index)).toEqual(["primary", "fk_b"]);
    expect(twenty.meta("friends").edges).toEqual([
      { table: "friends", name: "friend", from: "a", to: "b", fromTable: "accounts", toTable: "accounts", inverse: "friend_of" },
    ]);
    // Default inverse names: the source table when it points at the target once, else table_by_name.
    expect(twenty.meta("friends").foreignKeys.map((f) => f.inverse)).toEqual(["friends_by_a", "friends_by_b"]);
    expect(twenty.meta("audit").foreignKeys.map((f) => [f.name, f.inverse])).toEqual([["who", "audit"]]);
  });
});
