/**
 * `tinychain-orm studio`: its JSON API (schema, pages, sorting, filters, traversals with their
 * subgraph and explain, read-only unless --write), and the page itself in Debian's headless
 * chromium driven by puppeteer-core: the DOM lists the tables, browsing pages/sorts/filters
 * work, a traversal shows rows and its subgraph, and screenshots of the graphs are checked by
 * their pixels (not only for existence).
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, embedded } from "../../src/index.js";
import { exited, killAll, runCli } from "../http/cli-process.js";
import { readPng, pixelStats } from "./png.js";
import { cli, seed } from "./run.js";
import { social } from "./social-schema.js";

// The page's globals, as the callbacks run by page.evaluate/waitForFunction see them (the
// project's TypeScript has no DOM library).
declare const document: { body: { dataset: Record<string, string | undefined> }; querySelector(s: string): { textContent: string | null } | null };
declare const window: unknown;
type HTMLInputElement = { value: string };

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCHEMA = join(import.meta.dirname, "social-schema.ts");
let dir: string;
let url: string;
let stop: (() => Promise<unknown>) | undefined;

async function studio(args: string[]): Promise<{ url: string; stop: () => Promise<unknown> }> {
  const p = runCli(["studio", "--port", "0", ...args]);
  const u = await p.url;
  return {
    url: u,
    stop: () => {
      p.child.kill("SIGTERM");
      return exited(p.child);
    },
  };
}

const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const r = await fetch(url + path);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};
const post = async (path: string, body: unknown, base = url): Promise<{ status: number; body: Record<string, unknown> }> => {
  const r = await fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tc-orm-studio-"));
  const data = join(dir, "data");
  await seed(data);
  const db = await connect(social, embedded({ dataDir: data }));
  await db.insertInto("users").values(Array.from({ length: 57 }, (_, i) => ({ id: 100 + i, name: `user${String(i).padStart(2, "0")}`, age: 20 + (i % 30), city: i % 2 === 0 ? "paris" : "oslo" }))).execute();
  await db.insertInto("follows").values(Array.from({ length: 5 }, (_, i) => ({ follower: 3, followee: 100 + i }))).execute();
  await db.close();
  ({ url, stop } = await studio(["--data-dir", data, "--schema", SCHEMA]));
}, 60_000);

afterAll(async () => {
  await stop?.();
  killAll();
  await rm(dir, { recursive: true, force: true });
});

describe("studio API", () => {
  it("serves the schema with row counts and relations, and cytoscape from node_modules", async () => {
    const { body } = await get("/api/schema");
    expect(body.writable).toBe(false);
    const tables = body.tables as { name: string; rows: number }[];
    expect(tables.map((t) => [t.name, t.rows])).toEqual([["follows", 7], ["posts", 1], ["users", 60]]);
    expect((body.relations as { name: string; source: string; target: string }[]).some((r) => r.name === "follows" && r.source === "users" && r.target === "users")).toBe(true);
    const js = await fetch(`${url}/vendor/cytoscape.min.js`);
    expect(js.status).toBe(200);
    expect((await js.text()).length).toBeGreaterThan(100_000);
  });

  it("pages, sorts and filters rows, with the plan", async () => {
    const page = (await get("/api/rows?table=users&offset=50&limit=25&order=id&dir=asc")).body;
    expect(page.total).toBe(60);
    expect((page.rows as { id: number }[]).map((r) => r.id)).toEqual([147, 148, 149, 150, 151, 152, 153, 154, 155, 156]);
    const sorted = (await get("/api/rows?table=users&limit=2&order=name&dir=desc")).body;
    expect((sorted.rows as { name: string }[]).map((r) => r.name)).toEqual(["user56", "user55"]);
    const filter = encodeURIComponent(JSON.stringify([["city", "=", "paris"], ["age", ">=", "40"]]));
    const filtered = (await get(`/api/rows?table=users&filter=${filter}`)).body;
    expect((filtered.rows as { city: string; age: number }[]).every((r) => r.city === "paris" && r.age >= 40)).toBe(true);
    expect(filtered.total).toBe((filtered.rows as unknown[]).length);
    expect(JSON.stringify(filtered.explain)).toContain("by_city");
    const bad = await get(`/api/rows?table=users&filter=${encodeURIComponent('[["nmae","=","x"]]')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/no column "nmae"; columns: id, name, age, city/);
  });

  it("runs traversals: rows, the subgraph of the paths, explain", async () => {
    const r = (await post("/api/traverse", { start: "users", match: [["id", "=", "1"]], steps: [{ dir: "out", rel: "follows" }, { dir: "out", rel: "follows" }, { where: ["city", "=", "paris"] }], distinct: true })).body;
    expect(r.rows).toEqual([{ id: 3, name: "cy", age: 20, city: "paris" }]);
    expect(r.explain).toMatch(/out\(follows\)/);
    const sub = r.subgraph as { nodes: { id: string }[]; edges: { source: string; target: string }[] };
    expect(sub.nodes.map((n) => n.id).sort()).toEqual(["users:[1]", "users:[2]", "users:[3]"]);
    expect(sub.edges).toHaveLength(2);
    const posts = (await post("/api/traverse", { start: "posts", steps: [{ dir: "out", rel: "author" }, { dir: "out", rel: "follows", hops: [1, 3] }], distinct: true })).body;
    expect((posts.rows as { id: number }[]).map((x) => x.id)).toEqual([2, 3, 100, 101, 102, 103, 104]);
  });

  it("is read-only unless --write; refuses other origins", async () => {
    expect((await post("/api/insert", { table: "users", row: { id: 999, name: "x", city: "y" } })).status).toBe(403);
    const cross = await fetch(`${url}/api/schema`, { headers: { origin: "http://evil.example" } });
    expect(cross.status).toBe(403);
    // A DNS-rebound name reaches the port with another Host: refused.
    const rebound = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${url}/api/schema`);
      request({ host: u.hostname, port: u.port, path: u.pathname, headers: { host: "evil.example" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on("error", reject).end();
    });
    expect(rebound).toBe(403);
    const data = join(dir, "w");
    await seed(data);
    const w = await studio(["--data-dir", data, "--write"]);
    try {
      const ins = await post("/api/insert", { table: "users", row: { id: 999, name: "x", city: "y" } }, w.url);
      expect(ins.body).toEqual({ inserted: 1 });
      const del = await post("/api/delete", { table: "users", key: { id: "999" } }, w.url);
      expect(del.body).toEqual({ deleted: 1 });
    } finally {
      await w.stop();
    }
  });
});

describe.skipIf(!existsSync(CHROMIUM) && process.env.CI === undefined)("studio in headless chromium", () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 1400 });
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(url, { waitUntil: "networkidle0" });
    await page.waitForSelector("body[data-ready=schema]");
    expect(requests.every((r) => r.startsWith(url))).toBe(true); // nothing from the network
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  const shot = async (selector: string, name: string): Promise<{ inked: number; colours: number }> => {
    const el = (await page.$(selector))!;
    const path = join(dir, `${name}.png`);
    const png = Buffer.from(await el.screenshot({ path, type: "png" }));
    return pixelStats(readPng(png));
  };

  it("lists the tables with row counts and draws the schema graph", async () => {
    const items = await page.$$eval("#table-list li", (lis) => lis.map((li) => li.textContent));
    expect(items).toEqual(["follows7", "posts1", "users60"]);
    const nodes = await page.evaluate(() => (window as unknown as { schemaGraph: { nodes(): { map(f: (n: { id(): string }) => string): string[] } } }).schemaGraph.nodes().map((n) => n.id()));
    expect(nodes.sort()).toEqual(["follows", "posts", "users"]);
    const stats = await shot("#schema-graph", "schema");
    expect(stats.inked).toBeGreaterThan(0.005); // nodes, edges and labels drawn
    expect(stats.inked).toBeLessThan(0.5);
    expect(stats.colours).toBeGreaterThan(5);
  });

  it("browses a table: pages, sorting by a header, filters", async () => {
    await page.click('#table-list li[data-table="users"]');
    await page.waitForFunction(() => document.querySelector("#page-info")?.textContent === "rows 1–25 of 60");
    await page.click("#next");
    await page.waitForFunction(() => document.querySelector("#page-info")?.textContent === "rows 26–50 of 60");
    await page.click('#rows th[data-column="name"]');
    await page.waitForFunction(() => document.querySelector('#rows th[data-column="name"]')?.textContent === "name ▲");
    await page.click('#rows th[data-column="name"]');
    await page.waitForFunction(() => document.querySelector("#rows tbody tr td:nth-child(2)")?.textContent === "user56");
    await page.select("#filter-col", "city");
    await page.type("#filter-value", "oslo");
    await page.click("#filter-add");
    await page.waitForFunction(() => /of 28$/.test(document.querySelector("#page-info")?.textContent ?? ""));
    const cities = await page.$$eval("#rows tbody tr td:nth-child(4)", (tds) => [...new Set(tds.map((td) => td.textContent))]);
    expect(cities).toEqual(["oslo"]);
    expect(await page.$eval("#rows-explain", (e) => e.textContent)).toContain("by_city");
  });

  it("runs a traversal and shows its rows, its subgraph and explain()", async () => {
    await page.select("#trav-start", "users");
    await page.select("#trav-match-col", "id");
    await page.type("#trav-match-value", "1");
    await page.select("#hop-dir", "out");
    await page.select("#hop-rel", "follows");
    await page.click("#hop-add");
    await page.select("#hop-rel", "follows");
    await page.click("#hop-add");
    await page.select("#hop-rel", "follows");
    await page.click("#hop-add");
    await page.click("#trav-distinct");
    await page.click("#trav-run");
    await page.waitForFunction(() => document.body.dataset.traversal !== undefined);
    expect(await page.evaluate(() => document.body.dataset.traversal)).toBe("5");
    const ids = await page.$$eval("#trav-rows tbody tr td:first-child", (tds) => tds.map((td) => td.textContent));
    expect(ids).toEqual(["100", "101", "102", "103", "104"]);
    expect(await page.$$eval("#trav-steps li", (lis) => lis.map((li) => li.textContent))).toEqual(["out(follows) → users".replace(/^/, "."), ".out(follows) → users", ".out(follows) → users"]);
    expect(await page.$eval("#trav-explain", (e) => e.textContent)).toMatch(/3\. out\(follows\)/);
    const graphNodes = await page.evaluate(() => (window as unknown as { travGraph: { nodes(): { length: number } } }).travGraph.nodes().length);
    expect(graphNodes).toBe(8); // 1 → 2 → 3 → 100..104
    const stats = await shot("#trav-graph", "traversal");
    expect(stats.inked).toBeGreaterThan(0.005);
    expect(stats.colours).toBeGreaterThan(3);
  });

  it("renders inspect --svg into a picture of the schema", async () => {
    // The data directory the --write test left (the studio on the other one holds its lock).
    const svg = await cli(["inspect", "--svg", "--schema", SCHEMA, "--data-dir", join(dir, "w")]);
    expect(svg.code, svg.err).toBe(0);
    const p = await browser.newPage();
    await p.setViewport({ width: 700, height: 700 });
    await p.setContent(svg.out);
    const png = Buffer.from(await (await p.$("svg"))!.screenshot({ type: "png" }));
    const stats = pixelStats(readPng(png));
    expect(stats.inked).toBeGreaterThan(0.02); // boxes, arrows and labels
    expect(stats.colours).toBeGreaterThan(5);
    await p.close();
  });

  it("shows a traversal error on the page", async () => {
    await page.click("#trav-clear");
    await page.select("#hop-rel", "follows");
    await page.$eval("#hop-max", (e) => ((e as HTMLInputElement).value = "5000"));
    await page.click("#hop-add");
    await page.click("#trav-run");
    await page.waitForFunction(() => document.body.dataset.traversal === "error");
    expect(await page.$eval("#trav-error", (e) => e.textContent)).toMatch(/1000/);
  });
});

