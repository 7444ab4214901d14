/**
 * The libraries and hosts of the egress tests (TinyChain's reference example): B, served by
 * another host, greets and writes a note of its own; A depends on B, greets through it and writes
 * here and there in one transaction. `NOTES` is the notes table both hosts keep.
 */
import { parseTokenConfig } from "../../src/http/auth.js";
import { http, serve, type ServerHandle } from "../../src/http/index.js";
import type { TrustedIssuer } from "../../src/http/keyring.js";
import { RjwtActor } from "../../src/http/rjwt.js";
import { after, cond, get, post, put, ref } from "../../src/ir/build.js";
import { defineLibrary, installLibrary, route } from "../../src/library/index.js";

export const NOTES = { "/state/collection/table": [[[[["k", "/state/scalar/value/number/uint/64"]], [["v", "/state/scalar/value/string", 32]]], []], []] };

/** B: a greeting, and a write of its own (`/state/remote/notes`). */
export const b = defineLibrary({
  publisher: "example-devco",
  name: "b",
  version: "1.0.0",
  routes: {
    hello: route.get<string, string>("name", (o) => {
      const t = o.step("template", "Hello, {{name}}!");
      return o.returns(post(ref(t, "render"), { name: o.key }));
    }),
    record: route.put<number, string>("k", "v", (o) => o.returns(put("/state/remote/notes", [o.key], [o.value]))),
  },
});

/** A: depends on B; `both` writes here (`/state/local/notes`) and there, then fails when the value is "fail". */
export const a = defineLibrary({
  publisher: "acme",
  name: "a",
  version: "1.0.0",
  dependencies: [b],
  routes: {
    greet: route.get<null, string>("unused", (o) => o.returns(b.stub().hello("A").scalar)),
    both: route.put<number, string>("k", "v", (o) => {
      const here = o.step("here", put("/state/local/notes", [o.key], [o.value]));
      const there = o.step("there", after(here, b.stub().record(o.key, o.value).scalar));
      const bad = o.step("bad", post(ref(o.value, "eq"), { r: "fail" }));
      // A missing table after both writes: the whole op fails.
      return o.returns(after(there, cond(bad, get("/state/local/missing", [0]), null)));
    }),
  },
});

/** A free port's URL for a host started later (a calling host's route must name it first). */
export async function reserveUrl(): Promise<string> {
  const probe = await serve({});
  const url = probe.url.replace(/\/$/, "");
  await probe.close();
  return url;
}

/**
 * Serves B at `url` on a host that checks signed tokens and trusts `issuer` (the calling host's
 * actor `host`: with its key, or fetched from it when first needed).
 */
export async function serveB(url: string, issuer: TrustedIssuer): Promise<ServerHandle> {
  const installer = RjwtActor.generate("installer");
  const self = "http://remote-host";
  const remote = await serve({
    port: Number(new URL(url).port),
    tokens: parseTokenConfig({
      tokens: [],
      rjwt: { self: [self], actors: [{ id: "installer", publicKey: installer.publicKeyBase64() }], issuers: [issuer] },
    }),
  });
  const admin = http(remote.url, { token: installer.sign({ host: self, link: "/", mask: 0o777 }) });
  await installLibrary(admin, b);
  await admin.close();
  return remote;
}
