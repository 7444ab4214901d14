/**
 * Turning row tuples into row objects fast. Building `{ [name]: cell }` in a loop stores through a
 * computed key, which V8 handles slowly (one generic store per cell, a shape transition per
 * property); an object literal with the names written out builds the finished shape at once. So
 * for column names that are plain identifiers the factory is compiled once per column list; other
 * names, or a runtime that forbids compiling code (a strict Content Security Policy), get the loop.
 */

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const FACTORIES = new WeakMap<readonly string[], (cells: readonly unknown[]) => Record<string, unknown>>();

/**
 * The function that makes `{ names[0]: cells[0], names[1]: cells[1], … }` from a tuple, cached per
 * `names` array (pass the same array each time).
 *
 * @example
 * ```ts
 * const toUser = rowFactory(["id", "name"]);
 * toUser([7, "Ada"]); // { id: 7, name: "Ada" }
 * ```
 */
export function rowFactory(names: readonly string[]): (cells: readonly unknown[]) => Record<string, unknown> {
  let make = FACTORIES.get(names);
  if (make === undefined) {
    make = compiled(names) ?? looped(names);
    FACTORIES.set(names, make);
  }
  return make;
}

function compiled(names: readonly string[]): ((cells: readonly unknown[]) => Record<string, unknown>) | undefined {
  // `__proto__` in a literal sets the prototype instead of making a property.
  if (!names.every((n) => IDENTIFIER.test(n) && n !== "__proto__")) return undefined;
  const fields = names.map((n, i) => `${JSON.stringify(n)}: c[${i}]`).join(", ");
  try {
    return new Function("c", `return { ${fields} };`) as (cells: readonly unknown[]) => Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function looped(names: readonly string[]): (cells: readonly unknown[]) => Record<string, unknown> {
  return (cells) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) {
      Object.defineProperty(out, names[i]!, { value: cells[i], enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
}
