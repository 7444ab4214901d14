/**
 * The hosts of a cluster and the transactions across them. Reads go to any replica of a shard and
 * fail over to the next one when a host cannot be reached; writes go to every replica of a shard,
 * in sessions opened in one global order (shard, then host) so that two cluster clients never
 * wait on each other's hosts in a cycle.
 */
import { BadRequestError, TcError, UnavailableError } from "../errors.js";
import type { Runner, Session } from "../executor.js";
import { HttpExecutor } from "../http/client.js";
import { ClusterLayoutError, type ShardSpec } from "./layout.js";
import { heldRanges, rangesOf, rangesText } from "./ranges.js";

/** True when `e` says the host could not be reached at all (nothing ran there). */
export function unreachable(e: unknown): boolean {
  if (!(e instanceof UnavailableError)) return false;
  return / failed: /.test(e.message) || /client is closed/.test(e.message);
}

/** A transaction reached a shard before one it holds: start again joining `shards` in order. */
export class OutOfOrder extends Error {
  constructor(readonly shards: readonly number[]) {
    super("cluster: shards reached out of order");
  }
}

/** The HTTP clients of every host of the layout, one per URL. */
export class HostPool {
  readonly #clients = new Map<string, HttpExecutor>();
  constructor(
    private readonly opts: { readonly token?: string; readonly timeoutMs?: number },
  ) {}

  client(url: string): HttpExecutor {
    let c = this.#clients.get(url);
    if (c === undefined) {
      c = new HttpExecutor(url, { ...(this.opts.token !== undefined ? { token: this.opts.token } : {}), timeoutMs: this.opts.timeoutMs ?? 30_000 });
      this.#clients.set(url, c);
    }
    return c;
  }

  async close(): Promise<void> {
    const all = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(all.map((c) => c.close().catch(() => undefined)));
  }
}

/** True when a host holds several shards of `shards` (its answers then cover all of them at once). */
export function hostsShared(shards: readonly ShardSpec[]): boolean {
  const urls = shards.flatMap((s) => s.hosts);
  return new Set(urls).size !== urls.length;
}

/**
 * Runs `fn` on one replica of `shard`: the primary, then each replica in turn while the previous
 * one cannot be reached. Any other error is the answer.
 */
export async function readAnyReplica<T>(pool: HostPool, shard: ShardSpec, fn: (r: Runner, url: string) => Promise<T>): Promise<T> {
  let last: unknown;
  for (const url of shard.hosts) {
    try {
      return await fn(pool.client(url), url);
    } catch (e) {
      if (!unreachable(e)) throw e;
      last = e;
    }
  }
  throw new UnavailableError(`cluster: no host of the shard [${shard.range[0]}, ${shard.range[1]}) can be reached (${shard.hosts.join(", ")})`, { cause: last });
}

/**
 * One transaction over several hosts, under one transaction id (TinyChain's participant
 * protocol): the first host it reaches begins it and mints the id; every other host joins with
 * `?txn_id=<that id>` and a bearer token it accepts (the cluster's token, else the owner token
 * the first host answered with), pinning the id there at once (a read of its ranges) so that it
 * holds each host's lock in layout order. Reads take the first host's session of a shard; writes
 * run on every host of it. Commit commits each host in order (not two-phase: PROFILE §6.16 says
 * what a failure then leaves).
 */
export class ClusterTxn {
  /** Sessions by host URL, in the order they were begun. */
  readonly #sessions = new Map<string, Session>();
  /** Begins under way, by host URL (two gathers may reach one host at once). */
  readonly #joining = new Map<string, Promise<void>>();
  /** The id (and owner token) the first host minted: every other host joins under it. */
  #ticket: { readonly id: string; readonly token?: string } | undefined;
  #done = false;

  private constructor(private readonly shards: readonly ShardSpec[]) {}

  /** Begins sessions on every host of the shards `which` (indexes into `shards`, any order). */
  static async begin(pool: HostPool, shards: readonly ShardSpec[], which: Iterable<number>): Promise<ClusterTxn> {
    const txn = new ClusterTxn(shards);
    const picked = [...new Set(which)].sort((a, b) => a - b);
    try {
      await txn.widen(pool, picked);
    } catch (e) {
      await txn.rollback();
      throw e;
    }
    return txn;
  }

  #join(pool: HostPool, url: string): Promise<void> {
    if (this.#sessions.has(url)) return Promise.resolve();
    let p = this.#joining.get(url);
    if (p === undefined) {
      p = (async () => {
        if (this.#done) throw new BadRequestError("this cluster transaction is already finished");
        try {
          const session = await this.#participant(pool, url);
          if (this.#done) {
            // Rolled back while this begin was under way: the new session must not hold the host.
            await session.rollback().catch(() => undefined);
            throw new BadRequestError("this cluster transaction is already finished");
          }
          this.#sessions.set(url, session);
        } catch (e) {
          if (unreachable(e)) throw new UnavailableError(`cluster: host ${url} cannot take part in the transaction: ${(e as Error).message}`, { cause: e });
          throw e;
        }
      })();
      this.#joining.set(url, p);
      p.catch(() => this.#joining.delete(url));
    }
    return p;
  }

  /**
   * A session on `url` in this transaction: the first host begins it (and names it); any other
   * joins under its id, pinned now. A host that refuses the id (an unaccepted token, a grant
   * that may not write, an id it has already seen) fails the join with its typed error.
   */
  async #participant(pool: HostPool, url: string): Promise<Session> {
    const client = pool.client(url);
    if (this.#ticket === undefined) {
      const first = await client.session();
      this.#ticket = first.ticket();
      return first;
    }
    const joined = client.join(this.#ticket.id, this.#ticket.token);
    try {
      await heldRanges(joined);
    } catch (e) {
      await joined.rollback().catch(() => undefined);
      throw e;
    }
    return joined;
  }

  /** The transaction id every participant shares, once the first host has begun it. */
  get id(): string | undefined {
    return this.#ticket?.id;
  }

  /** The session a read of `shard` uses, its hosts joined first. */
  async readerOf(pool: HostPool, shard: number): Promise<Runner> {
    await this.widen(pool, [shard]);
    return this.reader(shard);
  }

  /** Adds the hosts of more shards (a session that reaches a shard for the first time). */
  /**
   * Joins the hosts of more shards, one after another. A transaction begun with `ordered` only
   * ever waits for a shard after every shard it holds (no two clients can then wait on each other
   * in a cycle): reaching a shard before one it holds throws `OutOfOrder`, and the caller starts
   * again with every shard it needs joined in order.
   */
  widen(pool: HostPool, which: Iterable<number>): Promise<void> {
    const picked = [...new Set(which)].sort((a, b) => a - b);
    const run = async (): Promise<void> => {
      const fresh = picked.filter((i) => !this.covers(i));
      if (fresh.length === 0) return;
      if (this.#ordered && fresh[0]! < this.#highest) throw new OutOfOrder([...this.#joined, ...fresh]);
      for (const i of fresh) {
        for (const url of this.shards[i]!.hosts) await this.#join(pool, url);
        this.#joined.add(i);
        this.#highest = Math.max(this.#highest, i);
      }
    };
    const next = this.#queue.then(run);
    this.#queue = next.catch(() => undefined);
    return next;
  }
  #queue: Promise<void> = Promise.resolve();
  readonly #joined = new Set<number>();
  #highest = -1;
  #ordered = false;

  /** Begins an empty transaction that joins shards only in ascending order (see `widen`). */
  static ordered(shards: readonly ShardSpec[]): ClusterTxn {
    const txn = new ClusterTxn(shards);
    txn.#ordered = true;
    return txn;
  }

  covers(shard: number): boolean {
    return this.shards[shard]!.hosts.every((url) => this.#sessions.has(url));
  }

  /** The session a read of `shard` uses. */
  reader(shard: number): Runner {
    const s = this.#sessions.get(this.shards[shard]!.hosts[0]!);
    if (s === undefined) throw new BadRequestError(`cluster: shard ${shard} is not part of this transaction`);
    return s;
  }

  /** Every host session of `shard` (a write runs on each). */
  writers(shard: number): { url: string; session: Session }[] {
    return this.shards[shard]!.hosts.map((url) => {
      const session = this.#sessions.get(url);
      if (session === undefined) throw new BadRequestError(`cluster: shard ${shard} is not part of this transaction`);
      return { url, session };
    });
  }

  /** Every session, in begin order. */
  all(): { url: string; session: Session }[] {
    return [...this.#sessions].map(([url, session]) => ({ url, session }));
  }

  /**
   * Commits every host in begin order. First every host is asked, inside its session, for the
   * ranges it holds: a host that cannot answer, or that holds other ranges than this client's
   * layout says (another client moved a range), rolls the whole transaction back before any host
   * commits.
   */
  async commit(): Promise<void> {
    if (this.#done) throw new BadRequestError("this cluster transaction is already finished");
    try {
      await Promise.all([...this.#sessions].map(([url, s]) => this.#checkRanges(url, s)));
    } catch (e) {
      await this.rollback();
      throw e;
    }
    this.#done = true;
    let first: unknown;
    for (const [url, s] of this.#sessions) {
      if (first !== undefined) {
        await s.rollback().catch(() => undefined);
        continue;
      }
      try {
        await s.commit();
      } catch (e) {
        first = e instanceof TcError ? e : new UnavailableError(`cluster: commit on ${url} failed: ${(e as Error).message}`, { cause: e });
      }
    }
    if (first !== undefined) throw first;
  }

  async #checkRanges(url: string, s: Session): Promise<void> {
    let have: [number, number][] | undefined;
    try {
      have = await heldRanges(s);
    } catch (e) {
      if (unreachable(e)) throw new UnavailableError(`cluster: host ${url} cannot commit: ${(e as Error).message}`, { cause: e });
      throw e;
    }
    const want = rangesOf(this.shards, url);
    if (rangesText(have ?? []) !== rangesText(want)) {
      throw new ClusterLayoutError(`cluster: host ${url} now holds other ranges than this client's layout (${rangesText(have ?? [])}, expected ${rangesText(want)}): a range was moved; connect again with the new layout`);
    }
  }

  async rollback(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    // Begins under way finish first (each then rolls its own session back).
    await Promise.allSettled([...this.#joining.values()]);
    await Promise.all([...this.#sessions.values()].map((s) => s.rollback().catch(() => undefined)));
  }

  get done(): boolean {
    return this.#done;
  }
}

/**
 * Runs the same write on every replica of a shard and checks they answer alike; a replica that
 * cannot take part fails the write (the caller rolls the whole transaction back).
 */
export async function writeAll<T>(txn: ClusterTxn, shard: number, fn: (r: Runner) => Promise<T>): Promise<T> {
  const writers = txn.writers(shard);
  const results = await Promise.allSettled(writers.map((w) => fn(w.session)));
  const failed = results.findIndex((r) => r.status === "rejected");
  if (failed >= 0) {
    const e = (results[failed] as PromiseRejectedResult).reason;
    if (unreachable(e)) throw new UnavailableError(`cluster: replica ${writers[failed]!.url} cannot take part in the write: ${(e as Error).message}`, { cause: e });
    throw e;
  }
  return (results[0] as PromiseFulfilledResult<T>).value;
}
