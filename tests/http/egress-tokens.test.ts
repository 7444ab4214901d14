/**
 * A served kernel calling a library on a host that checks signed tokens (PROFILE §4
 * "Transactions", §6.15): the outbound call carries the caller's transaction id and a token this
 * host signs — the owner claim `/txn/<id>` and a claim on the component root called. The remote
 * host trusts this one as an issuer (with the key this host serves at `GET /host/public_key`),
 * pins the id it has not seen to that owner, and is committed with the caller's transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { http, type ServerHandle } from "../../src/http/index.js";
import { installLibrary } from "../../src/library/index.js";
import { a, reserveUrl, serveB } from "../support/egress.js";
import type { Executor } from "../../src/executor.js";
import type { ChildProcess } from "node:child_process";
import { startServe } from "./cli-process.js";

describe("egress to a host that checks signed tokens", () => {
  let remote: ServerHandle;
  let local: { child: ChildProcess; url: string };
  let client: Executor;

  beforeAll(async () => {
    // The calling host runs in a process of its own (`serve` from the CLI); the remote one here,
    // trusting the caller's key as the caller serves it.
    const remoteUrl = await reserveUrl();
    local = await startServe(["--port", "0", "--quiet", "--route", `/lib/example-devco/b=${remoteUrl}`]);
    const key = (await (await fetch(`${local.url}/host/public_key?key=%22host%22`)).json()) as string;
    remote = await serveB(remoteUrl, { host: local.url.replace(/\/$/, ""), actor: "host", publicKey: key });
    client = http(local.url);
    await installLibrary(client, a);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    local?.child.kill("SIGTERM");
    await remote?.close();
  });

  it("the remote host verifies this host's token and commits with the caller", async () => {
    const r = await fetch(`${local.url}/lib/acme/a/1.0.0/greet`);
    const text = await r.text();
    expect(r.status, text).toBe(200);
    expect(JSON.parse(text)).toBe("Hello, A!");
    expect(r.headers.get("x-tc-txn-id")).toMatch(/-/);
    // Inside a session too: the remote participant is finalized with it.
    const s = await client.session();
    expect(await s.request({ verb: "get", path: "/lib/acme/a/1.0.0/greet", key: null })).toBe("Hello, A!");
    await s.commit();
  });

  it("without a token the remote refuses a transaction id it has not seen", async () => {
    const id = `${BigInt(Date.now()) * 1_000_000n}-1-${"c".repeat(64)}`;
    const r = await fetch(`${remote.url}/lib/example-devco/b/1.0.0/hello?txn_id=${id}&key=%22x%22`);
    expect(r.status).toBe(401);
  });
});
