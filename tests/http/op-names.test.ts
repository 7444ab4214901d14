/**
 * The access log names prepared ops: by the name the client sends with the install
 * (`x-tc-op-name`, from the ORM's or the graph's shape of the op), else by the tables the
 * installed definition reaches; never by parameter values.
 */
import { afterEach, describe, expect, it } from "vitest";
import { col, connect, http, param, schema, serve, table, type ServerHandle } from "../../src/index.js";
import { raw } from "./raw.js";

const users = table("users", { id: col.u64().key(), name: col.string(64), city: col.string(32) });
const follows = table("follows", {
  follower: col.u64().key().references(() => users),
  followee: col.u64().key().references(() => users),
}).edge("follows", { from: "follower", to: "followee", inverse: "followers" });
const app = schema({ namespace: "app", tables: { users, follows } });

let host: ServerHandle | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
});

describe("access log op names", () => {
  it("shows ORM statements and traversals by their shape, without their values", async () => {
    const lines: string[] = [];
    host = await serve({ port: 0, log: (l) => lines.push(l) });
    const ex = http(host.url);
    const db = await connect(app, ex);
    await db.sync();
    await db.insertInto("users").values([{ id: 1, name: "ada", city: "secret-city" }]).execute();
    await db.selectFrom("users").where("city", "=", param("city")).execute({ city: "secret-city" });
    await db.selectFrom("users").where("city", "=", param("city")).execute({ city: "secret-city" });
    await db.graph.match("users", { id: param("me") }).out("follows").execute({ me: 1 });
    await db.session(async (s) => s.selectFrom("users").where("id", "=", 1).execute());
    await ex.close();
    const calls = lines.filter((l) => /^POST \/lib\//.test(l));
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(lines.some((l) => /^POST \/lib\/tinychain-orm\/prepared\/0\.0\.0-q\w+\/op \[select \* from app\.users where city = \$city\] 200 /.test(l))).toBe(true);
    expect(lines.some((l) => /^POST \/lib\/\S+ \[insert into app\.users \(id, name, city\) values \$rows \(1 row\)\] 200 /.test(l))).toBe(true);
    expect(lines.some((l) => /^POST \/lib\/\S+ \[match\(app\.users \{id = \$me\}\)\.out\(follows\)\] 200 /.test(l))).toBe(true);
    expect(lines.some((l) => /\[select \* from app\.users where id = \$id\] 200 /.test(l))).toBe(true); // inside a session
    expect(calls.every((l) => / \[.+\] \d{3} /.test(l))).toBe(true);
    expect(lines.join("\n")).not.toContain("secret-city");
  });

  it("derives a name from the definition when the install carries none, and cleans a given one", async () => {
    const lines: string[] = [];
    host = await serve({ port: 0, log: (l) => lines.push(l) });
    const op = { "/state/scalar/op/post": [["r", { "/state/app/t/count": [null] }]] };
    const put = (body: unknown, headers: Record<string, string> = {}) =>
      raw(host!.url, "PUT", "/lib", { headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    expect((await put({ "/lib/a/b/1.0.0": { op } })).status).toBe(204);
    expect((await put({ "/lib/a/c/1.0.0": { op } }, { "x-tc-op-name": encodeURIComponent("evil\nGET /forged 200") })).status).toBe(204);
    await raw(host.url, "POST", "/lib/a/b/1.0.0/op", { headers: { "content-type": "application/json" }, body: "{}" });
    await raw(host.url, "POST", "/lib/a/c/1.0.0/op", { headers: { "content-type": "application/json" }, body: "{}" });
    expect(lines.some((l) => l.startsWith("POST /lib/a/b/1.0.0/op [op on app/t] "))).toBe(true);
    expect(lines.some((l) => l.startsWith("POST /lib/a/c/1.0.0/op [evil GET /forged 200] "))).toBe(true);
    expect(lines.some((l) => l.startsWith("GET /forged"))).toBe(false);
  });
});
