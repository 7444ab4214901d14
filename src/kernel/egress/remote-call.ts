/**
 * Outbound calls (PROFILE §6.15): default-deny egress. A call on a path this host does not serve
 * — a library version not installed here — goes to another host only through a route of the
 * kernel's configuration (`egress.routes`, `--route /lib/acme/b=http://127.0.0.1:8703`); an
 * absolute `http(s)://` target only when `egress.allow` lists its authority for that path. Every
 * other one is refused before anything is sent.
 *
 * The remote host takes part in the caller's transaction (PROFILE §4 "Transactions"): every call
 * carries the local transaction's `?txn_id=` and a bearer token this kernel signs — chained onto
 * the caller's token (or the route's, when that is an RJWT), with the owner claim
 * `[/txn/<id>, 0o300]` and a claim on exactly the path called with its verb's mode — so the
 * remote host pins the id, unseen there, to one owner on the first call and holds its
 * transaction open, and grants each call that one member and verb. An opaque (non-RJWT) route token is sent as it is. When the local transaction
 * commits (after its own writes are durable) or rolls back, each participant is finalized the
 * same way (an empty `POST` / `DELETE` to the component root first called). This is not a
 * two-phase commit: a participant that fails to commit after the local commit is reported
 * (`BadGatewayError`) but cannot undo it.
 *
 * A call does not hold the thread while it waits (call-replay.ts): the request runs again once
 * the answer is in, so this host keeps serving — its own public key included, which the remote
 * host may fetch to check the call's token. Each call is bounded by `egress.timeoutMs`.
 */
import { BadGatewayError, BadRequestError, type TcError } from "../../errors.js";
import { errorFromResponse } from "../../wire-errors.js";
import type { Json, Verb } from "../../ir/types.js";
import { decodeData, toJson, type KernelValue } from "../ops/kernel-value.js";
import { VERB_MASK } from "../../rjwt.js";
import { type CallLog, type OutboundResponse, PendingCall } from "./call-replay.js";

/** Where calls may go beyond this host. */
export interface EgressOptions {
  /** Path prefixes served by other hosts: `{"/lib/acme/b": "http://127.0.0.1:8703"}`, optionally with the bearer token to send. */
  readonly routes?: Readonly<Record<string, string | { readonly url: string; readonly token?: string }>>;
  /** Absolute targets calls may reach: an authority (`http://host:port`) and the path prefixes allowed on it. */
  readonly allow?: readonly { readonly authority: string; readonly paths: readonly string[]; readonly token?: string }[];
  /** How long one outbound call may take (ms; default 2000). */
  readonly timeoutMs?: number;
  /** The largest answer one call may bring back (bytes; default 16 MiB): a larger one is a `BadGatewayError`. */
  readonly maxResponseBytes?: number;
}

/** A resolved outbound target. */
export interface RemoteTarget {
  /** `http://host:port` */
  readonly base: string;
  /** The path on that host. */
  readonly path: string;
  readonly token: string | undefined;
}

const AUTHORITY = /^https?:\/\/[^/\s?#]+$/;

function segmentsCover(prefix: string, path: string): boolean {
  return path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`);
}

/** One participant host of a transaction. */
interface Participant {
  readonly base: string;
  readonly txnId: string;
  readonly root: string;
  /** The token of the first call (its owner claim finalizes the participant). */
  readonly token: string | undefined;
  /** The token of each path and mode called so far (`<mask> <path>`): signed once per transaction. */
  readonly tokens: Map<string, string | undefined>;
}

/** A transaction as its outbound calls see it. */
export interface OutboundTxn {
  /** The other hosts it called, by base URL. */
  readonly participants: Map<string, Participant>;
  /** The transaction's id (minted on first need when the caller never asked for it). */
  id(): string;
  /** The call log of the request running now (call-replay.ts), made on its first call. */
  calls(): CallLog;
  /** The bearer token of a call on `path` with the claim mode `mask` (see the module docs). */
  token(path: string, mask: number, routeToken: string | undefined): string | undefined;
}

/** The egress of one kernel: its configuration, and the participants of each transaction. */
export class Egress {
  private readonly routes: { prefix: string; url: string; token: string | undefined }[];
  private readonly allow: { authority: string; paths: readonly string[]; token: string | undefined }[];
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;

  constructor(opts: EgressOptions) {
    this.routes = Object.entries(opts.routes ?? {})
      .map(([prefix, r]) => {
        const url = typeof r === "string" ? r : r.url;
        if (!prefix.startsWith("/") || prefix.length < 2) throw new BadRequestError(`egress route ${JSON.stringify(prefix)}: a route's prefix is a path such as /lib/acme/b`);
        if (!AUTHORITY.test(url)) throw new BadRequestError(`egress route ${prefix}: ${JSON.stringify(url)} is not a host link such as http://127.0.0.1:8703`);
        return { prefix: prefix.replace(/\/+$/, ""), url, token: typeof r === "string" ? undefined : r.token };
      })
      .sort((a, b) => b.prefix.length - a.prefix.length);
    this.allow = (opts.allow ?? []).map((a) => {
      if (!AUTHORITY.test(a.authority)) throw new BadRequestError(`egress allow: ${JSON.stringify(a.authority)} is not a host link such as http://10.0.0.5:8702`);
      if (!Array.isArray(a.paths) || !a.paths.every((p) => typeof p === "string" && p.startsWith("/"))) throw new BadRequestError(`egress allow ${a.authority}: paths must be path prefixes`);
      return { authority: a.authority, paths: a.paths, token: a.token };
    });
    this.timeoutMs = opts.timeoutMs ?? 2000;
    if (!(this.timeoutMs > 0)) throw new BadRequestError("egress.timeoutMs must be positive");
    this.maxResponseBytes = opts.maxResponseBytes ?? 16 * 2 ** 20;
    if (!(this.maxResponseBytes > 0)) throw new BadRequestError("egress.maxResponseBytes must be positive");
  }

  /** The route serving `path` (a path this host does not serve), if the configuration has one. */
  routed(path: string): RemoteTarget | undefined {
    const r = this.routes.find((x) => segmentsCover(x.prefix, path));
    return r ? { base: r.url, path, token: r.token } : undefined;
  }

  /** An absolute target, when `allow` lists its authority for its path. */
  allowed(href: string): RemoteTarget | undefined {
    const u = new URL(href);
    const authority = `${u.protocol}//${u.host}`;
    const path = decodeURIComponent(u.pathname);
    const a = this.allow.find((x) => x.authority === authority && x.paths.some((p) => segmentsCover(p.replace(/\/+$/, ""), path)));
    return a ? { base: authority, path, token: a.token } : undefined;
  }

  /**
   * Calls `target` inside transaction `txn` (the remote host pins its id on the first call), and
   * returns the answer as a kernel value.
   */
  call(txn: OutboundTxn, target: RemoteTarget, verb: Verb, key: KernelValue, value: KernelValue | undefined): KernelValue {
    const log = txn.calls();
    const participants = txn.participants;
    let p = participants.get(target.base);
    const mask = VERB_MASK[verb];
    // Each call's token claims just its path and verb (one signature per path and verb in the
    // transaction); the first one also finalizes the participant (its owner claim is what the
    // remote host checks then).
    const tokenKey = `${mask} ${target.path}`;
    if (!p) {
      const first = txn.token(target.path, mask, target.token);
      p = { base: target.base, txnId: txn.id(), root: componentRoot(target.path), token: first, tokens: new Map([[tokenKey, first]]) };
      participants.set(target.base, p);
    }
    const txnQuery = `txn_id=${encodeURIComponent(p.txnId)}`;
    let url = `${target.base}${target.path}?${txnQuery}`;
    let body: string | undefined;
    if (verb === "get" || verb === "delete") url += `&key=${encodeURIComponent(JSON.stringify(toJson(key)))}`;
    else if (verb === "put") {
      url += `&key=${encodeURIComponent(JSON.stringify(toJson(key)))}`;
      body = JSON.stringify(toJson(value ?? null));
    } else body = JSON.stringify(value === undefined || value === null ? {} : toJson(value));
    const method = verb.toUpperCase();
    const res = log.take(method, url, body);
    if (res === undefined) {
      let token = p.tokens.get(tokenKey);
      if (!p.tokens.has(tokenKey)) p.tokens.set(tokenKey, (token = txn.token(target.path, mask, target.token)));
      throw new PendingCall(log, async () => log.record(method, url, body, await this.send(method, url, token, body)));
    }
    if (!res.ok || res.status! < 200 || res.status! >= 300) {
      // A participant that answered an error rolled its transaction back (PROFILE §4): it is gone.
      // One that gave no answer (unreachable, too slow, too large) may hold it open: it stays, to
      // be rolled back with this transaction.
      if (res.ok) participants.delete(target.base);
      throw this.failure(target, res, `${method} ${target.path} failed`);
    }
    if (res.status === 204 || res.text === "") return null;
    return decodeData(JSON.parse(res.text!) as Json);
  }

  /** Commits (after the local commit) or rolls back every participant; the first failure, if any. */
  async finalize(participants: Map<string, Participant>, commit: boolean): Promise<TcError | undefined> {
    let failed: TcError | undefined;
    const all = [...participants.values()];
    participants.clear();
    for (const p of all) {
      const res = await this.send(commit ? "POST" : "DELETE", `${p.base}${p.root}?txn_id=${encodeURIComponent(p.txnId)}`, p.token, undefined);
      if (commit && (!res.ok || res.status! >= 300) && !failed) {
        failed = new BadGatewayError(
          `committed here, but ${p.base} did not commit its part (${res.ok ? `HTTP ${res.status}` : res.error}): the transaction is not atomic across hosts when a participant fails at commit`,
        );
      }
    }
    return failed;
  }

  /** One HTTP request under the timeout; `ok: false` when no answer came. */
  private async send(method: string, url: string, token: string | undefined, body: string | undefined): Promise<OutboundResponse> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    try {
      const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(this.timeoutMs) });
      const text = await readBounded(res, this.maxResponseBytes);
      return text === undefined ? { ok: false, error: `the answer exceeds ${this.maxResponseBytes} bytes` } : { ok: true, status: res.status, text };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    }
  }

  private failure(target: RemoteTarget, res: OutboundResponse, what: string): TcError {
    if (!res.ok) return new BadGatewayError(`${target.base}: ${what}: ${res.error}`);
    // The remote error's kind and message as the HTTP client reads them, naming the target.
    const err = errorFromResponse(res.status!, res.text ?? "");
    err.message = `${target.base}${target.path}: ${err.message}`;
    return err;
  }

}

/** A response's body as text, or `undefined` (the rest unread) once it exceeds `max` bytes. */
async function readBounded(res: Response, max: number): Promise<string | undefined> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > max || res.body === null) {
    await res.body?.cancel();
    return declared > max ? undefined : "";
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The component root a participant is finalized at: the library version, service or namespace the first call reached. */
function componentRoot(path: string): string {
  const s = path.split("/").filter(Boolean);
  if (s[0] === "lib" || s[0] === "class") return `/${s.slice(0, 4).join("/")}`;
  if (s[0] === "service") return `/${s.slice(0, 5).join("/")}`;
  if (s[0] === "state") return `/${s.slice(0, 2).join("/")}`;
  return `/${s[0] ?? "lib"}`;
}

export type { Participant };
