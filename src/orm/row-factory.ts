/**
 * Turning result tuples into row objects, for the ORM and the graph alike. Building
 * `{ [name]: cell }` in a loop stores through a computed key, which V8 handles slowly (one generic
 * store per cell, a shape transition per property); an object literal with the names written out
 * builds the finished shape at once. So for column names that are plain identifiers the factory is
 * compiled once per column list; other names, or a runtime that forbids compiling code (a strict
 * Content Security Policy), get the loop. Link cells arrive as `{"<href>": []}` and leave as their
 * href string.
 */
import type { Json } from "../ir/types.js";

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** Factories by column list (names and cell positions); bounded, as builders can make many lists. */
const FACTORIES = new Map<string, (cells: readonly unknown[]) => Record<string, unknown>>();
const MAX_FACTORIES = 1000;

type CellDecoder = (v: Json) => unknown;
type RowMaker = (cells: readonly unknown[]) => Record<string, unknown>;
/** What `compiledMaker` compiles: given the decoders (`d[i]`, column i's, or none), the row maker. */
type MakerOf = (d: readonly (CellDecoder | undefined)[]) => RowMaker;
/** Compiled code by column list, positions and decoded columns (null: it cannot be compiled); bounded like FACTORIES. */
const COMPILED = new Map<string, MakerOf | null>();
const NO_DECODERS: readonly (CellDecoder | undefined)[] = [];

/** A value as a row object holds it (a link cell, `{"<href>": []}`, becomes its href). */
function fromWire(value: Json): unknown {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0]!.startsWith("/") || /^https?:\/\//.test(keys[0]!))) return keys[0];
  }
  return value;
}

/**
 * The function that makes `{ names[0]: cells[positions[0]], … }` from a tuple (a missing cell is
 * `null`); `positions` defaults to 0, 1, 2, …. Cached by the lists' contents.
 *
 * @example
 * ```ts
 * const toUser = rowFactory(["id", "name"]);
 * toUser([7, "Ada"]); // { id: 7, name: "Ada" }
 * rowFactory(["name"], [1])([7, "Ada"]); // { name: "Ada" }
 * ```
 */
export function rowFactory(names: readonly string[], positions?: readonly number[]): (cells: readonly unknown[]) => Record<string, unknown> {
  const at = positions ?? names.map((_, i) => i);
  const id = `${names.join("\u0000")}\u0001${at.join(",")}`;
  let make = FACTORIES.get(id);
  if (make === undefined) {
    make = compiledMaker(names, at, NO_DECODERS)?.(NO_DECODERS) ?? looped(names, at);
    if (FACTORIES.size >= MAX_FACTORIES) FACTORIES.clear();
    FACTORIES.set(id, make);
  }
  return make;
}

/**
 * A tuple → row object decoder: `rowFactory`, with the cells of `links` (link columns) turned into
 * their href strings.
 *
 * @example
 * ```ts
 * rowDecoder(["id", "url"], ["url"])([1, { "/state/app/x": [] }]); // { id: 1, url: "/state/app/x" }
 * ```
 */
export function rowDecoder(
  names: readonly string[],
  links: readonly string[] | Readonly<Record<string, (v: Json) => unknown>>,
  positions?: readonly number[],
): (cells: readonly unknown[]) => Record<string, unknown> {
  // Link columns by name, or a decoder per column (`cellDecoder`: dates, JSON, bytes, bigints).
  const cols = Array.isArray(links) ? links : Object.keys(links);
  if (cols.length === 0) return rowFactory(names, positions);
  const fns = Array.isArray(links) ? cols.map(() => fromWire) : cols.map((c) => (links as Record<string, (v: Json) => unknown>)[c]!);
  // The decoders in the object literal itself: setting decoded cells afterwards through computed
  // keys cost as much as building the object (a u64 key column is decoded in every row).
  const byColumn = names.map((n) => {
    const i = cols.indexOf(n);
    return i < 0 ? undefined : fns[i]!;
  });
  const maker = cols.every((c) => names.includes(c)) ? compiledMaker(names, positions ?? names.map((_, i) => i), byColumn) : undefined;
  if (maker) return maker(byColumn);
  const make = rowFactory(names, positions);
  return (cells) => {
    const out = make(cells);
    for (let i = 0; i < cols.length; i++) out[cols[i]!] = fns[i]!(out[cols[i]!] as Json);
    return out;
  };
}

/**
 * The compiled row maker for `names` at positions `at`, in which the cell of each column with a
 * decoder in `decoders` goes through it; compiled once per column list, positions and decoded
 * columns, it takes the decoders themselves. Undefined when a name is not a plain identifier
 * (`__proto__` in a literal would set the prototype) or the runtime forbids compiling code.
 */
function compiledMaker(names: readonly string[], at: readonly number[], decoders: readonly (CellDecoder | undefined)[]): MakerOf | undefined {
  const id = `${names.join("\u0000")}\u0001${at.join(",")}\u0001${names.map((_, i) => (decoders[i] ? 1 : 0)).join("")}`;
  let maker = COMPILED.get(id);
  if (maker === undefined) {
    maker = null;
    if (names.every((n) => IDENTIFIER.test(n) && n !== "__proto__")) {
      const bind = names.map((_, i) => (decoders[i] ? `const d${i} = d[${i}];` : "")).join(" ");
      const fields = names.map((n, i) => `${JSON.stringify(n)}: ${decoders[i] ? `d${i}(c[${at[i]}] ?? null)` : `c[${at[i]}] ?? null`}`).join(", ");
      try {
        maker = new Function("d", `${bind} return (c) => ({ ${fields} });`) as MakerOf;
      } catch {
        maker = null; // a runtime that forbids compiling code
      }
    }
    if (COMPILED.size >= MAX_FACTORIES) COMPILED.clear();
    COMPILED.set(id, maker);
  }
  return maker ?? undefined;
}

function looped(names: readonly string[], at: readonly number[]): (cells: readonly unknown[]) => Record<string, unknown> {
  return (cells) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) {
      Object.defineProperty(out, names[i]!, { value: cells[at[i]!] ?? null, enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
}
