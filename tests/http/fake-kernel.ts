/**
 * A small stand-in for the embedded kernel, so the HTTP server's own rules (paths, bodies, auth,
 * transactions, shutdown) are tested on their own. Values live at paths under `/state`; a held
 * transaction buffers its writes until commit. Its transaction rules are a small copy of the
 * kernel's (implicit begin, `hold`, an unseen id pinned with a token, finalize). `/state/test/slow?key=<ms>` answers after a delay,
 * `/state/test/boom` throws a plain (non-TcError) error.
 */
import { BadRequestError, ConflictError, NotFoundError, TimeoutError, UnauthorizedError } from "../../src/errors.js";
import type { Json } from "../../src/ir/types.js";
import type { ExecRequest } from "../../src/executor.js";
import type { ServedKernel, ServedSession } from "../../src/http/server.js";

interface FakeSession {
  owner: string | undefined;
  started: number;
  writes: Map<string, Json | undefined>;
}

export class FakeKernel implements ServedKernel {
  readonly values = new Map<string, Json>();
  readonly libs = new Map<string, Json>();
  readonly sessions = new Map<string, FakeSession>();
  readonly expired = new Set<string>();
  readonly committed = new Set<string>();
  readonly requests: { req: ExecRequest; session: string | undefined }[] = [];
  closed = false;
  #next = 1;

  constructor(readonly budgetMs = 3000) {}

  #session(id: string, owner: string | undefined): FakeSession {
    if (this.expired.has(id)) throw new TimeoutError(`transaction ${id} exceeded its budget`);
    if (this.committed.has(id)) throw new ConflictError(`transaction ${id} was already committed`);
    const s = this.sessions.get(id);
    if (!s) throw new NotFoundError(`no transaction ${id}`);
    if (Date.now() - s.started > this.budgetMs) {
      this.sessions.delete(id);
      this.expired.add(id);
      throw new TimeoutError(`transaction ${id} exceeded its budget`);
    }
    if (s.owner !== owner) throw new UnauthorizedError("this transaction was begun by another principal");
    return s;
  }

  async request(req: ExecRequest, ref?: ServedSession): Promise<Json> {
    let session = typeof ref === "string" ? ref : ref?.id;
    const owner = typeof ref === "string" ? undefined : ref?.owner;
    if (typeof ref === "object" && session === undefined) {
      const id = `${Date.now()}-${this.#next++}`;
      if (ref.out) Object.assign(ref.out, { id, token: `fake-token-${id}` });
      if (ref.hold) {
        this.sessions.set(id, { owner, started: Date.now(), writes: new Map() });
        session = id;
      }
    } else if (session !== undefined && !this.sessions.has(session) && !this.expired.has(session) && !this.committed.has(session)) {
      if (typeof ref !== "object" || ref.token === undefined) throw new UnauthorizedError("an unseen id needs a bearer token");
      this.sessions.set(session, { owner, started: Date.now(), writes: new Map() });
    }
    this.requests.push({ req, session });
    const s = session === undefined ? undefined : this.#session(session, owner);
    if (req.path === "/state/test/slow") {
      await new Promise((r) => setTimeout(r, typeof req.key === "number" ? req.key : 100));
      return "slow done";
    }
    if (req.path === "/state/test/boom") throw new Error("internal detail that must not leak");
    if (req.path === "/lib" && req.verb === "put") {
      for (const [k, v] of Object.entries(req.body as Record<string, Json>)) this.libs.set(k, v);
      return null;
    }
    if (req.path.startsWith("/lib/")) {
      const version = req.path.split("/").slice(0, 5).join("/");
      if (!this.libs.has(version)) throw new NotFoundError(`no library at ${version}`);
      return { called: req.path, verb: req.verb, key: req.key ?? null, body: req.body ?? null };
    }
    if (!req.path.startsWith("/state/")) throw new NotFoundError(`no resource at ${req.path}`);
    const read = (p: string): Json | undefined => (s && s.writes.has(p) ? s.writes.get(p) : this.values.get(p));
    switch (req.verb) {
      case "get": {
        const v = read(req.path);
        if (v === undefined) throw new NotFoundError(`nothing at ${req.path}`);
        return v;
      }
      case "put":
        if (s) s.writes.set(req.path, req.body ?? null);
        else this.values.set(req.path, req.body ?? null);
        return null;
      case "delete":
        if (s) s.writes.set(req.path, undefined);
        else this.values.delete(req.path);
        return null;
      case "post": {
        const n = Number(read(req.path) ?? 0) + Number((req.body as { by?: number }).by ?? 1);
        if (s) s.writes.set(req.path, n);
        else this.values.set(req.path, n);
        return n;
      }
      default:
        throw new BadRequestError("bad verb");
    }
  }

  async hold(ref: { owner?: string; out?: { id?: string; token?: string } }): Promise<string> {
    const id = `${Date.now()}-${this.#next++}`;
    if (ref.out) Object.assign(ref.out, { id, token: `fake-token-${id}` });
    this.sessions.set(id, { owner: ref.owner, started: Date.now(), writes: new Map() });
    return id;
  }

  async finalize(id: string, commit: boolean, by?: { owner?: string }): Promise<void> {
    if (commit && this.committed.has(id)) return;
    const s = this.#session(id, by?.owner);
    if (commit) {
      for (const [p, v] of s.writes) {
        if (v === undefined) this.values.delete(p);
        else this.values.set(p, v);
      }
      this.committed.add(id);
    }
    this.sessions.delete(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sessions.clear();
  }
}
