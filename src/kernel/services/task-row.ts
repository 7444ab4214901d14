/**
 * A task of a service queue as its table row: `/state/<namespace>/<name>_tasks`, key `id`,
 * then `service, status, args, state, result, error, iterations, attempts, progress, updated`
 * (JSON values kept as JSON text; no error is stored as "", no progress as -1). Ordinary state:
 * readable with any GET, durable with the store.
 */
import { BadRequestError } from "../../errors.js";
import { PATHS, type Json } from "../../ir/types.js";
import type { KernelValue } from "../ops/kernel-value.js";

export type TaskStatus = "queued" | "running" | "done" | "failed";

export interface TaskRow {
  readonly id: string;
  readonly service: string;
  readonly status: TaskStatus;
  readonly args: Json;
  readonly state: Json;
  readonly result: Json;
  readonly error: string | null;
  readonly iterations: number;
  readonly attempts: number;
  readonly progress: number | null;
  readonly updated: number;
}

const D = PATHS.dtype;
/** The task table's schema (PROFILE §3 form). */
export const TASK_SCHEMA: KernelValue = [
  [[["id", D.string, 64]], [
    ["service", D.string, 256],
    ["status", D.string, 16],
    ["args", D.string],
    ["state", D.string],
    ["result", D.string],
    ["error", D.string],
    ["iterations", D.u64],
    ["attempts", D.u32],
    ["progress", D.f64],
    ["updated", D.f64],
  ]],
  [["by_status", ["status"]]],
];

/** The row's value cells (everything after the key). */
export function taskValues(t: TaskRow): Json[] {
  return [t.service, t.status, JSON.stringify(t.args), JSON.stringify(t.state), JSON.stringify(t.result), t.error ?? "", t.iterations, t.attempts, t.progress ?? -1, t.updated];
}

/** A stored row (`[id, …values]`) as a task. */
export function taskOf(row: readonly unknown[]): TaskRow {
  const [id, service, status, args, state, result, error, iterations, attempts, progress, updated] = row as [string, string, TaskStatus, string, string, string, string, number, number, number, number];
  const parse = (text: string, what: string): Json => {
    try {
      return JSON.parse(text) as Json;
    } catch {
      throw new BadRequestError(`task ${id}: its ${what} is not JSON`);
    }
  };
  return {
    id,
    service,
    status,
    args: parse(args, "args"),
    state: parse(state, "state"),
    result: parse(result, "result"),
    error: error === "" ? null : error,
    iterations,
    attempts,
    progress: progress < 0 ? null : progress,
    updated,
  };
}

/** What `GET <task path>` answers. */
export function taskView(t: TaskRow): Json {
  return { id: t.id, status: t.status, progress: t.progress, iterations: t.iterations, attempts: t.attempts, result: t.result, error: t.error, updated: t.updated };
}
