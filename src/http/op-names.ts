/**
 * Readable names of installed ops for the access log. An install (`PUT /lib`) may carry the op's
 * name in `x-tc-op-name` (the HTTP client sends the name the ORM or the graph layer gave the op);
 * without one the name is derived from the definition: the tables it reaches
 * (`op on app/users, app/follows`). A later call of `/lib/<publisher>/<name>/<version>/…` is
 * logged with that name. Names are cleaned (one line, at most 200 characters) and the map is
 * bounded: past `max` versions it starts over.
 */
import type { IncomingHttpHeaders } from "node:http";
import { cleanOpName, OP_NAME_HEADER } from "../ir/op-name.js";
import type { Json } from "../ir/types.js";

const TABLE_LINK = /"\/state\/(?!scalar\/|collection\/)([^/"]+)\/([^/"]+)/g;

/** The tables an op definition names, as `op on ns/t, …`; `undefined` when it names none. */
export function derivedName(definition: Json): string | undefined {
  const seen = new Set<string>();
  for (const m of JSON.stringify(definition).matchAll(TABLE_LINK)) {
    seen.add(`${m[1]}/${m[2]}`);
    if (seen.size > 8) break;
  }
  return seen.size === 0 ? undefined : `op on ${[...seen].join(", ")}`;
}

/** Installed versions' names, looked up by a request path. */
export class OpNames {
  readonly #names = new Map<string, string>();
  constructor(private readonly max = 10_000) {}

  /** Records the names of the versions a successful `PUT /lib` installed. */
  installed(body: Json | undefined, headers: IncomingHttpHeaders): void {
    if (body === null || typeof body !== "object" || Array.isArray(body)) return;
    const raw = headers[OP_NAME_HEADER];
    let given: string | undefined;
    if (typeof raw === "string" && raw !== "") {
      try {
        given = cleanOpName(decodeURIComponent(raw));
      } catch {
        given = undefined; // a malformed escape: fall back to the derived name
      }
    }
    for (const [version, definition] of Object.entries(body)) {
      const name = given ?? derivedName(definition as Json);
      if (name === undefined || !version.startsWith("/lib/")) continue;
      if (this.#names.size >= this.max) this.#names.clear();
      this.#names.set(version, name);
    }
  }

  /** The name of the op a request path calls (`/lib/p/n/v/op` → the name of `/lib/p/n/v`). */
  of(path: string): string | undefined {
    if (!path.startsWith("/lib/") || this.#names.size === 0) return undefined;
    const version = path.split("/", 5).join("/");
    return this.#names.get(version);
  }
}
