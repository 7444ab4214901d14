/**
 * Connection limits of the server (issue 15): slow and hostile clients hold no server descriptor
 * for longer than the timeouts, and a flood beyond `maxConnections` is refused while the host keeps
 * answering. The server's open connections are counted with `server.getConnections`. Timeouts are
 * short here (options of `serve()`); every wait is a bounded poll on that count, never a timed
 * assertion.
 */
import { afterEach, describe, expect, it } from "vitest";
import { connect, type Socket } from "node:net";
import { serve, type ServeOptions, type ServerHandle } from "../../src/http/index.js";
import { raw } from "./raw.js";

const servers: ServerHandle[] = [];
const sockets: Socket[] = [];
const timers: NodeJS.Timeout[] = [];
afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(opts: ServeOptions): Promise<ServerHandle> {
  const srv = await serve({ drainTimeoutMs: 100, ...opts });
  servers.push(srv);
  return srv;
}

const SHORT: ServeOptions = { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 300, socketTimeoutMs: 600 };

const openConnections = (srv: ServerHandle): Promise<number> =>
  new Promise((resolve, reject) => srv.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));

/** Polls the server's connection count until it is at most `n` (bounded: `maxMs`); returns the last count. */
async function connectionsDropTo(srv: ServerHandle, n: number, maxMs = 8000): Promise<number> {
  const until = Date.now() + maxMs;
  let count = await openConnections(srv);
  while (count > n && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    count = await openConnections(srv);
  }
  return count;
}

/** Polls the server's connection count until it is at least `n` (bounded); returns the last count. */
async function connectionsReach(srv: ServerHandle, n: number, maxMs = 5000): Promise<number> {
  const until = Date.now() + maxMs;
  let count = await openConnections(srv);
  while (count < n && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
    count = await openConnections(srv);
  }
  return count;
}

type Client = Socket & { got: number };

/**
 * A client socket, tracked for cleanup. It never reads (paused) unless `reads`; `got` counts the
 * bytes it read. (`closed`, from node:stream, turns true once it is closed.)
 */
function client(srv: ServerHandle, onConnect?: (s: Socket) => void, reads = false): Client {
  const s = connect(srv.port, "127.0.0.1") as Client;
  sockets.push(s);
  s.got = 0;
  s.on("error", () => undefined);
  if (reads) s.on("data", (d: Buffer) => (s.got += d.length));
  else s.pause();
  if (onConnect) s.once("connect", () => onConnect(s));
  return s;
}

/** Calls `fn` every `ms` for at most `times` ticks (a bounded trickle). */
function every(ms: number, times: number, fn: () => void): void {
  let n = 0;
  const t = setInterval(() => {
    if (++n > times) clearInterval(t);
    else fn();
  }, ms);
  timers.push(t);
}

const connected = (socks: Socket[]): Promise<void> =>
  Promise.all(socks.map((s) => new Promise<void>((r) => (s.readyState === "open" ? r() : s.once("connect", () => r()))))).then(() => undefined);

describe("slow clients hold no descriptors after the timeouts", () => {
  it("clients that send a partial request (headers or body) and never finish it are cut", { timeout: 20_000 }, async () => {
    const srv = await start(SHORT);
    const socks: Socket[] = [];
    for (let i = 0; i < 8; i++) {
      // headers that never end: a header line every 50 ms (the socket is never idle)
      socks.push(client(srv, (s) => s.write("GET /healthz HTTP/1.1\r\nHost: x\r\n")));
      // a body that never ends: 1 byte of a 100 kB body every 50 ms
      socks.push(
        client(srv, (s) =>
          s.write("PUT /state/slow/t HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n["),
        ),
      );
    }
    await connected(socks);
    expect(await connectionsReach(srv, 16)).toBe(16);
    every(50, 100, () => {
      socks.forEach((s, i) => {
        if (!s.destroyed) s.write(i % 2 === 0 ? "x-slow: 1\r\n" : "1");
      });
    });
    expect(await connectionsDropTo(srv, 0)).toBe(0);
    // the host still answers
    expect((await raw(srv.url, "GET", "/healthz")).status).toBe(200);
  });

  it("clients that keep sending requests but never read the responses are cut", { timeout: 20_000 }, async () => {
    const srv = await start(SHORT);
    const request = Buffer.from("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000));
    const socks: Socket[] = [];
    for (let i = 0; i < 6; i++) {
      socks.push(
        client(srv, (s) => {
          // pipelined requests until the kernel's buffers push back (at most 64 MB), never reading
          let sent = 0;
          const pump = (): void => {
            while (!s.destroyed && sent < 64 << 20) {
              sent += request.length;
              if (!s.write(request)) return;
            }
          };
          s.on("drain", pump);
          pump();
        }),
      );
    }
    await connected(socks);
    expect(await connectionsDropTo(srv, 0, 12_000)).toBe(0);
    expect((await raw(srv.url, "GET", "/healthz")).status).toBe(200);
  });

  it("a malformed request is answered and its socket destroyed, whether the client then goes silent or keeps sending", { timeout: 20_000 }, async () => {
    // Long timeouts: only the client-error path may close these connections.
    const srv = await start({ keepAliveTimeoutMs: 60_000, socketTimeoutMs: 60_000, requestTimeoutMs: 60_000, headersTimeoutMs: 60_000 });
    const socks: Socket[] = [];
    for (let i = 0; i < 8; i++) socks.push(client(srv, (s) => s.write("NOT HTTP AT ALL\r\n\r\n")));
    await connected(socks);
    every(50, 100, () => {
      for (const s of socks.slice(4)) if (!s.destroyed) s.write("more junk\r\n");
    });
    expect(await connectionsDropTo(srv, 0)).toBe(0);
  });

  it("idle connections are cut: fresh ones that send nothing, and keep-alive ones after a response", { timeout: 20_000 }, async () => {
    const srv = await start(SHORT);
    const socks: Client[] = [];
    for (let i = 0; i < 10; i++) socks.push(client(srv));
    for (let i = 0; i < 10; i++) socks.push(client(srv, (s) => s.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), true));
    await connected(socks);
    expect(await connectionsReach(srv, 20)).toBe(20);
    expect(await connectionsDropTo(srv, 0)).toBe(0);
    // the keep-alive clients got their answer before being cut
    expect(socks.slice(10).every((s) => s.got > 0)).toBe(true);
  });
});

describe("maxConnections", () => {
  it("a flood beyond maxConnections is refused; an existing connection still answers, and a new one once the flood is gone", { timeout: 30_000 }, async () => {
    const max = 20;
    const srv = await start({ maxConnections: max, headersTimeoutMs: 2000, requestTimeoutMs: 4000, keepAliveTimeoutMs: 20_000, socketTimeoutMs: 20_000 });
    // An existing keep-alive connection, used before, during and after the flood.
    const existing = connect(srv.port, "127.0.0.1");
    sockets.push(existing);
    existing.on("error", () => undefined);
    let answers = "";
    existing.on("data", (d: Buffer) => (answers += d.toString("latin1")));
    const healthz = async (): Promise<boolean> => {
      const before = (answers.match(/HTTP\/1\.1 200/g) ?? []).length;
      existing.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      for (let i = 0; i < 100 && (answers.match(/HTTP\/1\.1 200/g) ?? []).length === before; i++) await new Promise((r) => setTimeout(r, 20));
      return (answers.match(/HTTP\/1\.1 200/g) ?? []).length > before;
    };
    await new Promise<void>((r) => existing.once("connect", () => r()));
    expect(await healthz()).toBe(true);

    // The flood: 3× the limit, connections that send nothing.
    const flood: Client[] = [];
    for (let i = 0; i < 3 * max; i++) flood.push(client(srv, undefined, true));
    await Promise.all(flood.map((s) => new Promise<void>((r) => (s.readyState === "open" ? r() : s.once("connect", () => r()).once("close", () => r())))));
    // Refused ones are closed at once, before any timeout; the server never holds more than the limit.
    for (let i = 0; i < 100 && flood.filter((s) => s.closed).length < 2 * max; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await openConnections(srv)).toBeLessThanOrEqual(max);
    const refused = flood.filter((s) => s.closed && s.got === 0).length;
    expect(refused).toBeGreaterThanOrEqual(2 * max);
    // The existing connection is unaffected.
    expect(await healthz()).toBe(true);

    // The flood's accepted connections are cut by the headers timeout (the flooders do nothing).
    expect(await connectionsDropTo(srv, 1)).toBe(1);
    expect(await healthz()).toBe(true);
    expect((await raw(srv.url, "GET", "/healthz")).status).toBe(200);
  });

  it("options are validated", async () => {
    await expect(serve({ maxConnections: 0 })).rejects.toMatchObject({ kind: "bad_request" });
    await expect(serve({ headersTimeoutMs: -5 })).rejects.toMatchObject({ kind: "bad_request" });
    await expect(serve({ socketTimeoutMs: 1.5 })).rejects.toMatchObject({ kind: "bad_request" });
  });
});
