/**
 * A damaged data directory is reported, never a native crash: bytes of the lmdb data file are
 * flipped, zeroed or cut off at fixed places (bounded and deterministic), and each damaged copy
 * is opened and read in a child process. Every open must end in exit 0 with either exactly the
 * stored data or a `DataCorruptionError` naming the data directory and what is damaged — never a
 * signal or an abort. With the clean-close record, a change of the file's size or of its first two
 * pages (lmdb's meta pages) is caught by the record's checksum at open (an O(1) check: damage
 * elsewhere in a cleanly closed file is found by `tinychain-orm verify`, or by row checksums on
 * read); without it (the last kernel was killed) lmdb reads the file in a child first and each
 * row's checksum is checked when the row is read.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embedded } from "../../src/kernel/index.js";

const CHILD = join(import.meta.dirname, "support", "datadir-child.ts");
const PAGE = 4096;
const root = mkdtempSync(join(tmpdir(), "tc-corrupt-"));
const pristine = join(root, "pristine");
let expected = "";
let fileSize = 0;

const T = {
  "/state/collection/table": [
    [[[["id", "/state/scalar/value/number/uint/32"]], [["name", "/state/scalar/value/string", 64], ["score", "/state/scalar/value/number/float/64"]]], []],
    [],
  ],
};
const E = {
  "/state/collection/table": [
    [[[["src", "/state/scalar/value/number/uint/32"], ["dst", "/state/scalar/value/number/uint/32"]], []], []],
    [],
  ],
};

beforeAll(async () => {
  const ex = embedded({ dataDir: pristine });
  await ex.request({ verb: "put", path: "/state/app/t", key: null, body: T });
  await ex.request({ verb: "put", path: "/state/app/e", key: null, body: E });
  // several commits, enough rows for a few leaf and branch pages
  for (let c = 0; c < 4; c++) {
    const rows = Array.from({ length: 150 }, (_, i) => [c * 150 + i, `name-${c}-${i}-${"x".repeat(i % 40)}`, i / 7]);
    await ex.request({ verb: "put", path: "/state/app/t/insert_rows", key: null, body: rows });
    const edges = Array.from({ length: 150 }, (_, i) => [c * 150 + i, (i * 7) % 600]);
    await ex.request({ verb: "put", path: "/state/app/e/insert_rows", key: null, body: edges });
  }
  await ex.request({ verb: "put", path: "/state/app/t", key: [5], body: ["updated", 0.5] });
  await ex.close();
  fileSize = statSync(join(pristine, "state", "data.mdb")).size;
  const r = await readInChild([pristine]);
  expect(r.lines[0]).toMatch(/^ok /);
  expected = r.lines[0]!;
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Opens and reads each directory in one child; resolves with its lines, exit code and signal. */
function readInChild(dirs: string[]): Promise<{ lines: string[]; code: number | null; signal: string | null; stderr: string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", CHILD, "read", ...dirs], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let stderr = "";
  proc.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  proc.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve) =>
    proc.on("close", (code, signal) => resolve({ lines: out.split("\n").filter((l) => l !== ""), code, signal, stderr })),
  );
}

/** `head`: the damage changes the file's size or its first two pages (what a clean-close record covers). */
type Damage = { name: string; head?: boolean; apply(file: string): void };

function flip(offset: number): Damage {
  return {
    name: `flip byte ${offset}`,
    head: offset < 2 * PAGE,
    apply(file) {
      const buf = readFileSync(file);
      if (offset >= buf.length) return;
      buf[offset] = buf[offset]! ^ 0xff;
      writeFileSync(file, buf);
    },
  };
}
function zeroPage(page: number): Damage {
  return {
    name: `zero page ${page}`,
    head: page < 2,
    apply(file) {
      const buf = readFileSync(file);
      buf.fill(0, page * PAGE, Math.min(buf.length, (page + 1) * PAGE));
      writeFileSync(file, buf);
    },
  };
}
function cut(size: (n: number) => number, name: string): Damage {
  return { name: `truncate to ${name}`, head: true, apply: (file) => truncateSync(file, size(statSync(file).size)) };
}

/** Damage at fixed places: both meta pages, every page's header and body, truncations. */
function damages(): Damage[] {
  const out: Damage[] = [];
  const pages = Math.ceil(fileSize / PAGE);
  for (const off of [0, 16, 24, 40, 64, 100, 136]) out.push(flip(off), flip(PAGE + off));
  // every other page: its header (flags, lower/upper bounds) and a body byte that moves along
  for (let p = 2; p < pages; p += 2) out.push(flip(p * PAGE + 11), flip(p * PAGE + 40 + ((p * 397) % 4000)));
  for (let p = 0; p < pages; p += 5) out.push(zeroPage(p));
  out.push(cut(() => 0, "0 bytes"), cut(() => PAGE, "one page"), cut((n) => Math.floor(n / 2), "half"), cut((n) => n - PAGE, "one page less"), cut((n) => n - 1, "one byte less"));
  return out;
}

/** Makes a damaged copy per damage; `keepRecord` false removes the clean-close record. */
function damagedCopies(keepRecord: boolean): { name: string; dir: string }[] {
  // With the record, the damages it covers (the meta pages, the size) are caught at open.
  const all = damages().filter((d) => !keepRecord || d.head === true);
  return all.map((d, i) => {
    const dir = join(root, `${keepRecord ? "rec" : "norec"}-${i}`);
    cpSync(pristine, dir, { recursive: true });
    if (!keepRecord) unlinkSync(join(dir, "state", "clean-close.json"));
    d.apply(join(dir, "state", "data.mdb"));
    return { name: d.name, dir };
  });
}

async function runAll(keepRecord: boolean): Promise<{ name: string; line: string }[]> {
  const copies = damagedCopies(keepRecord);
  const results: { name: string; line: string }[] = [];
  // A few children, each opening its share of the copies in turn.
  const CHUNK = Math.ceil(copies.length / 3);
  for (let i = 0; i < copies.length; i += CHUNK) {
    const chunk = copies.slice(i, i + CHUNK);
    const r = await readInChild(chunk.map((c) => c.dir));
    // never a native crash: the child ends normally after reporting every copy
    expect({ code: r.code, signal: r.signal, last: r.lines.at(-1), stderr: r.stderr.slice(-500) }).toMatchObject({ code: 0, signal: null });
    expect(r.lines).toHaveLength(chunk.length);
    chunk.forEach((c, j) => results.push({ name: c.name, line: r.lines[j]! }));
  }
  return results;
}

describe("damaged data directories", () => {
  it("with a clean-close record: every damage is reported as DataCorruptionError naming state/data.mdb", async () => {
    const results = await runAll(true);
    for (const { name, line } of results) {
      expect(`${name}: ${line}`).toMatch(new RegExp(`^${name}: error DataCorruptionError data directory ".*rec-\\d+" is damaged: state/data\\.mdb: `));
    }
  }, 240_000);

  it("without it (after a kill): every damage gives the stored data exactly or DataCorruptionError, never a crash", async () => {
    const results = await runAll(false);
    let reported = 0;
    for (const { name, line } of results) {
      if (line.startsWith("ok ")) {
        // (compared as a boolean: the data is too long for a readable diff)
        expect(line === expected, `${name}: opened, but read different data: ${line.slice(0, 300)}…`).toBe(true);
      } else {
        expect(`${name}: ${line}`).toMatch(new RegExp(`^${name}: error DataCorruptionError data directory ".*norec-\\d+" is damaged: `));
        reported++;
      }
    }
    // damage to live pages is reported (the rest hit free pages, and the data read is exact)
    expect(reported).toBeGreaterThan(10);
  }, 240_000);
});
