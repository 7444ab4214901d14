/**
 * What an editor shows: the quick info (hover) of row types and query results is a plain object
 * literal type — no internal alias such as `RowOf<…>` or `Column<…>` — checked with the
 * TypeScript language service on the sources.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const FILE = join(root, "tests", "orm", "__hover.ts");
const SOURCE = `import { col, connect, embedded, schema, table, type Row, type Insertable } from "../../src/index.js";
const users = table("users", { id: col.u64().key(), name: col.string(64), age: col.u32().nullable() });
const posts = table("posts", { id: col.u64().key(), author: col.u64().references(() => users, { name: "author", inverse: "posts" }), lang: col.string(8) });
type User = Row<typeof users>;
type Post = Row<typeof posts>;
type NewUser = Insertable<typeof users>;
const db = await connect(schema({ namespace: "app", tables: { users, posts } }), embedded());
const picked = await db.selectFrom("users").select(["id", "name"]).execute();
const all = await db.selectFrom("posts").execute();
const friends = await db.graph.match("users", { id: 1 }).in("author").execute();
// Wrong column names, one per line (the diagnostics test reads their messages):
db.selectFrom("users").where("nmae", "=", "x");
db.selectFrom("users").select(["id", "nmae"]);
db.selectFrom("users").orderBy("nmae");
db.updateTable("users").set({ name: "x" }).where("nmae", "=", "x");
db.deleteFrom("users").whereIn("nmae", ["x"]);
db.graph.match("posts").where("lnag", "=", "en");
db.graph.match("posts").orderBy("lnag");
db.selectFrom("users").where("name", "<", 3);
const joined = await db.selectFrom("posts").innerJoin("users", "users.id", "posts.author").select(["posts.id as postId", "users.name"]).execute();
const nested = await db.selectFrom("users").select(["id"]).with("posts", (q) => q.select(["lang"])).execute();
const counted = await db.selectFrom("posts").select((eb) => ["lang", eb.fn.count("id").as("n")]).groupBy("lang").execute();
export { picked, all, friends, joined, nested, counted };
export type { User, Post, NewUser };
`;

function service(): ts.LanguageService {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    types: ["node"],
    noEmit: true,
  };
  const host: ts.LanguageServiceHost = {
    getScriptFileNames: () => [FILE],
    getScriptVersion: () => "1",
    getScriptSnapshot: (f) => {
      const text = f === FILE ? SOURCE : ts.sys.fileExists(f) ? readFileSync(f, "utf8") : undefined;
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => root,
    getCompilationSettings: () => options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (f) => f === FILE || ts.sys.fileExists(f),
    readFile: (f) => (f === FILE ? SOURCE : ts.sys.readFile(f)),
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  return ts.createLanguageService(host, ts.createDocumentRegistry());
}

describe("hover", () => {
  const ls = service();
  const hover = (needle: string): string => {
    const at = SOURCE.indexOf(needle);
    const info = ls.getQuickInfoAtPosition(FILE, at);
    return ts.displayPartsToString(info?.displayParts ?? []);
  };

  it("shows Row<typeof t> as a plain object type", { timeout: 60_000 }, () => {
    expect(hover("User = Row")).toBe("type User = {\n    id: number;\n    name: string;\n    age: number | null;\n}");
    expect(hover("Post = Row")).toBe("type Post = {\n    id: number;\n    author: number;\n    lang: string;\n}");
    expect(hover("NewUser = ")).toBe("type NewUser = {\n    id: number;\n    name: string;\n    age?: number | null | undefined;\n}");
  });

  it("names the valid columns when a column name is wrong", { timeout: 60_000 }, () => {
    const messages = ls
      .getSemanticDiagnostics(FILE)
      .map((d) => `${SOURCE.slice(0, d.start).split("\n").length}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    const users = `'"id" | "name" | "age"'`;
    // A select's columns may also be qualified by their alias (`users.id`) or renamed (`id as x`).
    const qualified = `"id" | "name" | "age" | "users.id" | "users.name" | "users.age"`;
    expect(messages).toEqual([
      `12: Argument of type '"nmae"' is not assignable to parameter of type '${qualified}'.`,
      "13: Type '\"nmae\"' is not assignable to type '\"id\" | \"name\" | \"age\" | AliasedExpression<string, unknown> | \"users.id\" | \"users.name\" | \"users.age\" | `id as ${string}` | `name as ${string}` | `age as ${string}` | `users.id as ${string}` | `users.name as ${string}` | `users.age as ${string}`'.",
      `14: Argument of type '"nmae"' is not assignable to parameter of type '${qualified} | Expression<unknown>'.`,
      `15: Argument of type '"nmae"' is not assignable to parameter of type ${users}.`,
      `16: Argument of type '"nmae"' is not assignable to parameter of type ${users}.`,
      `17: Argument of type '"lnag"' is not assignable to parameter of type '"id" | "author" | "lang"'.`,
      `18: Argument of type '"lnag"' is not assignable to parameter of type '"id" | "author" | "lang"'.`,
      "19: Argument of type 'number' is not assignable to parameter of type 'string | IdRef | Expression<string>'.",
    ]);
  });

  it("shows query results as plain object arrays", { timeout: 60_000 }, () => {
    expect(hover("picked =")).toBe("const picked: {\n    id: number;\n    name: string;\n}[]");
    expect(hover("all =")).toBe("const all: {\n    id: number;\n    author: number;\n    lang: string;\n}[]");
    const f = hover("friends =");
    expect(f).toBe("const friends: {\n    id: number;\n    author: number;\n    lang: string;\n}[]");
    expect(f).not.toMatch(/RowOf|Column<|\$\d/);
    expect(hover("joined =")).toBe("const joined: {\n    name: string;\n    postId: number;\n}[]");
    expect(hover("nested =")).toBe("const nested: {\n    id: number;\n    posts: {\n        lang: string;\n    }[];\n}[]");
    expect(hover("counted =")).toBe("const counted: {\n    lang: string;\n    n: number;\n}[]");
  });
});
