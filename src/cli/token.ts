/**
 * `tinychain-orm token keygen` and `token issue`: an actor's Ed25519 key pair, and RJWT bearer
 * tokens it signs (src/http/rjwt.ts). A host accepts them when its token file's `"rjwt"` section
 * lists the actor (src/http/auth.ts).
 */
import { readFile, writeFile } from "node:fs/promises";
import { RjwtActor, ALL_MODES, USER_EXEC, USER_READ, USER_WRITE } from "../http/rjwt.js";
import { UsageError } from "./usage.js";

/** Parses a `--claim` value: `<link>=<mode>`, mode letters `r` `w` `x` (or an octal umask such as `0o700`). */
export function parseClaim(text: string): { link: string; mask: number } {
  const at = text.lastIndexOf("=");
  if (at <= 0) throw new UsageError(`--claim takes LINK=MODE (e.g. /state/app=rw), got ${JSON.stringify(text)}`);
  const link = text.slice(0, at);
  const mode = text.slice(at + 1);
  if (!link.startsWith("/") && !/^https?:\/\/[^/\s]+(\/\S*)?$/.test(link)) {
    throw new UsageError(`--claim: the link must be a path (/state/app) or an http(s) link, got ${JSON.stringify(link)}`);
  }
  let mask: number;
  if (/^0o[0-7]{1,3}$/.test(mode)) mask = parseInt(mode.slice(2), 8);
  else if (/^(?!.*(.).*\1)[rwx]{1,3}$/.test(mode)) {
    mask = (mode.includes("r") ? USER_READ : 0) | (mode.includes("w") ? USER_WRITE : 0) | (mode.includes("x") ? USER_EXEC : 0);
  } else throw new UsageError(`--claim: the mode is letters r, w, x (e.g. rw) or an octal umask (0o700), got ${JSON.stringify(mode)}`);
  if (mask < 0 || mask > ALL_MODES) throw new UsageError(`--claim: the mode ${mode} is out of range`);
  return { link, mask };
}

/** Writes a new private key (PKCS#8 PEM, mode 0600) for `actor`; prints the public key and the token-file entry. */
export async function runKeygen(actor: string, out: string): Promise<void> {
  const a = RjwtActor.generate(actor);
  await writeFile(out, a.privateKeyPem(), { mode: 0o600, flag: "wx" }).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(e.code === "EEXIST" ? `${out} exists: choose another --out (keys are never overwritten)` : `cannot write ${out}: ${e.code ?? e.message}`);
  });
  process.stdout.write(`${JSON.stringify({ id: actor, publicKey: a.publicKeyBase64() })}\n`);
}

/**
 * Prints a token signed by `actor`'s key: one claim, or a chain of tokens (each extending the
 * last) for several.
 */
export async function runIssue(o: { key: string; actor: string; host: string; claims: readonly string[]; ttl: number }): Promise<void> {
  if (o.claims.length === 0) throw new UsageError("token issue needs at least one --claim LINK=MODE");
  if (!/^https?:\/\/[^/\s]+$/.test(o.host)) throw new UsageError(`--host must be a host link such as http://127.0.0.1:8702, got ${JSON.stringify(o.host)}`);
  const pem = await readFile(o.key, "utf8").catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read --key ${o.key}: ${e.code ?? e.message}`);
  });
  const actor = RjwtActor.fromPrivateKeyPem(o.actor, pem);
  const [first, ...rest] = o.claims.map(parseClaim);
  let token = actor.sign({ host: o.host, ...first!, ttlSeconds: o.ttl });
  for (const c of rest) token = actor.extend(token, { host: o.host, ...c });
  process.stdout.write(`${token}\n`);
}
