/**
 * `tinychain-orm serve` flags for sessions and connections (issue 15): `--session-idle-ms`,
 * `--lock-queue-limit`, `--max-connections` and the timeouts reach the server; bad values exit 2.
 */
import { connect, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { exited, killAll, runCli } from "./cli-process.js";
import { errorBody, raw } from "./raw.js";

const sockets: Socket[] = [];

afterAll(() => {
  for (const s of sockets) s.destroy();
  killAll();
});

const T = "/state/cli/t";
const TABLE = { "/state/collection/table": [[[[["id", "/state/scalar/value/number/uint/32"]], [["v", "/state/scalar/value/number/int/64"]]], []], []] };
const JSON_HEADERS = { "content-type": "application/json" };

describe("tinychain-orm serve: session and connection flags", () => {
  it("passes the idle timeout, the lock queue limit and maxConnections to the server", { timeout: 60_000 }, async () => {
    const { child, url: urlP } = runCli([
      "serve", "--port", "0", "--quiet", "--session-idle-ms", "200", "--lock-queue-limit", "0", "--max-connections", "4",
      "--headers-timeout-ms", "20000", "--request-timeout-ms", "20000", "--keep-alive-timeout-ms", "20000", "--socket-timeout-ms", "20000",
    ]);
    const url = await urlP;
    expect((await raw(url, "PUT", T, { headers: JSON_HEADERS, body: JSON.stringify(TABLE) })).status).toBe(200);

    // --lock-queue-limit 0: while a session holds the lock, a plain write may not wait: 503 +
    // Retry-After (a plain read does not wait at all: it reads the committed state).
    const write = () => raw(url, "PUT", `${T}?key=${encodeURIComponent("[7]")}`, { headers: JSON_HEADERS, body: "[1]" });
    let r = await raw(url, "GET", "/lib", { headers: { "x-tc-txn": "hold" } });
    expect(r.status).toBe(200);
    const id = r.headers["x-tc-txn-id"] as string;
    const owner = { authorization: `Bearer ${r.headers["x-tc-bearer-token"] as string}` };
    expect((await raw(url, "GET", `${T}/count`)).status).toBe(200);
    r = await write();
    expect(r.status).toBe(503);
    expect(errorBody(r)?.kind).toBe("temporarily_unavailable");
    expect(r.headers["retry-after"]).toBe("1");

    // --session-idle-ms 200: the idle session is rolled back; its id answers 408, the lock is free.
    let status = 503;
    for (let i = 0; i < 100 && status === 503; i++) {
      await new Promise((res) => setTimeout(res, 50));
      status = (await write()).status;
    }
    expect(status).toBe(200);
    r = await raw(url, "POST", `/lib?txn_id=${id}`, { headers: owner });
    expect(r.status).toBe(408);

    // --max-connections 4: four held connections, and a fifth is refused.
    const port = Number(new URL(url).port);
    for (let i = 0; i < 4; i++) {
      const s = connect(port, "127.0.0.1");
      s.on("error", () => undefined);
      sockets.push(s);
      s.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      await new Promise<void>((res) => s.once("data", () => res()));
    }
    await expect(raw(url, "GET", "/healthz")).rejects.toThrow();
    for (const s of sockets.splice(0)) s.destroy();
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      ok = await raw(url, "GET", "/healthz").then((x) => x.status === 200, () => false);
      if (!ok) await new Promise((res) => setTimeout(res, 50));
    }
    expect(ok).toBe(true);
    child.kill("SIGTERM");
    expect(await exited(child)).toBe(0);
  });

  it("refuses bad values with exit code 2", { timeout: 60_000 }, async () => {
    const runs = [["--max-connections", "0"], ["--session-idle-ms", "x"], ["--lock-queue-limit", "-1"], ["--socket-timeout-ms"]].map(async (flags) => {
      const { child, stderr } = runCli(["serve", "--port", "0", ...flags]);
      return { code: await exited(child), err: stderr() };
    });
    for (const { code, err } of await Promise.all(runs)) {
      expect(code).toBe(2);
      expect(err).toMatch(/usage: tinychain-orm serve/);
    }
  });
});
