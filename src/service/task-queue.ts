/**
 * Work queues from TypeScript (PROFILE §6.14): define a service (`step`, optional `init`, both
 * POST ops), install it, enqueue tasks and follow them — `status()`, `result()` (waits), and
 * `changes()` (an async iterator of status changes). The same calls work in process and over
 * HTTP: they are plain requests on `/service/…`.
 */
import { BadRequestError, TaskFailedError } from "../errors.js";
import type { Runner } from "../executor.js";
import { encode } from "../ir/encode.js";
import type { Json, OpDef } from "../ir/types.js";
import { showValue } from "../ir/show-value.js";

/** A task as its path answers it. */
export interface TaskStatus<R = Json> {
  readonly id: string;
  readonly status: "queued" | "running" | "done" | "failed";
  /** What the last iteration reported (0..1), 1 when done, null before any. */
  readonly progress: number | null;
  readonly iterations: number;
  /** Failed tries of the current iteration (reset by a committed one). */
  readonly attempts: number;
  readonly result: R | null;
  /** The last iteration's error, if it failed. */
  readonly error: string | null;
  /** When the task last changed (ms since the epoch). */
  readonly updated: number;
}

/** A service definition: `/service/<publisher>/<namespace>/<name>/<version>`. */
export interface ServiceDefinition<A, R> {
  readonly id: string;
  installBody(): Json;
  /** Phantom types of the task's args and result. */
  readonly _types?: { args: A; result: R };
}

/**
 * Defines a queue service. `step` (a POST op; params `state`, `args`) answers `{state, done,
 * result?, progress?}`; `init` (params `args`) makes the first state (default: the args).
 *
 * @example
 * ```ts
 * const counter = defineService<{ to: number }, number>({ publisher: "acme", namespace: "jobs", name: "count", version: "1.0.0", step });
 * await installService(db, counter);
 * const task = await queue(db, counter).enqueue({ to: 5 });
 * await task.result(); // 5
 * ```
 */
export function defineService<A = Json, R = Json>(spec: {
  publisher: string;
  namespace: string;
  name: string;
  version: string;
  step: OpDef | Json;
  init?: OpDef | Json;
}): ServiceDefinition<A, R> {
  const id = `/service/${spec.publisher}/${spec.namespace}/${spec.name}/${spec.version}`;
  const asJson = (op: OpDef | Json): Json => (op !== null && typeof op === "object" && (op as OpDef).kind === "opdef" ? encode(op as OpDef) : (op as Json));
  const def: Record<string, Json> = { step: asJson(spec.step) };
  if (spec.init !== undefined) def.init = asJson(spec.init);
  const body = { [id]: def };
  return { id, installBody: () => body };
}

/** Installs a service (one `PUT /service`; the same definition again is a no-op). */
export async function installService(runner: Runner, def: ServiceDefinition<unknown, unknown>): Promise<void> {
  await runner.request({ verb: "put", path: "/service", body: def.installBody() });
}

/** How `result()` and `changes()` poll. */
export interface PollOptions {
  /** Between two reads of the task (default 50 ms). */
  readonly intervalMs?: number;
  /** Give up after this long (default: never). */
  readonly timeoutMs?: number;
}

/** A task: its path, and ways to follow it. */
export interface TaskHandle<R> {
  readonly path: string;
  status(): Promise<TaskStatus<R>>;
  /** Waits until the task is done and returns its result; `TaskFailedError` when it failed. */
  result(options?: PollOptions): Promise<R>;
  /** Each change of the task's status, progress or iteration count, until it is done or failed. */
  changes(options?: PollOptions): AsyncIterableIterator<TaskStatus<R>>;
}

/** The tasks of a service, through `runner` (an executor: embedded or HTTP). */
export function queue<A, R>(runner: Runner, def: ServiceDefinition<A, R> | string): {
  enqueue(args: A): Promise<TaskHandle<R>>;
  task(path: string): TaskHandle<R>;
} {
  const id = typeof def === "string" ? def : def.id;
  const task = (path: string): TaskHandle<R> => {
    if (!path.startsWith(`${id}/tasks/`)) throw new BadRequestError(`${showValue(path)} is not a task of ${id}`);
    const status = async () => (await runner.request({ verb: "get", path })) as unknown as TaskStatus<R>;
    async function* changes(options: PollOptions = {}): AsyncIterableIterator<TaskStatus<R>> {
      const interval = options.intervalMs ?? 50;
      const until = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
      let last = "";
      for (;;) {
        const s = await status();
        const seen = `${s.status}|${s.progress}|${s.iterations}|${s.attempts}`;
        if (seen !== last) {
          last = seen;
          yield s;
        }
        if (s.status === "done" || s.status === "failed") return;
        if (Date.now() > until) throw new BadRequestError(`task ${path} is still ${s.status} after ${options.timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, interval));
      }
    }
    return {
      path,
      status,
      changes,
      async result(options?: PollOptions): Promise<R> {
        let final: TaskStatus<R> | undefined;
        for await (const s of changes(options)) final = s;
        if (final!.status === "failed") throw new TaskFailedError(path, final!.error ?? "unknown");
        return final!.result as R;
      },
    };
  };
  return {
    async enqueue(args: A): Promise<TaskHandle<R>> {
      const path = await runner.request({ verb: "post", path: `${id}/enqueue`, body: { args: args as Json } });
      return task(path as string);
    },
    task,
  };
}
