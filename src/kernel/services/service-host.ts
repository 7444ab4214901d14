/**
 * The `/service` queues of a kernel (PROFILE §6.14): installs, `enqueue`, task status, and the
 * worker that runs each task's `While` loop — one iteration per transaction, each within the
 * 3-second cap — so work longer than one transaction may take has a home.
 *
 * An iteration is one session: the service's `step` op runs (its writes in the session's
 * transaction, under a wall-clock budget of `ITERATION_MS`), then the task's row is rewritten
 * with the new state, and the session commits — the step's writes and the task's progress
 * together or not at all. A kill -9 at any moment therefore leaves every task at its last
 * committed iteration: after a reopen the worker resumes from there, never losing or repeating a
 * committed iteration. An iteration that fails (over its budget, or an error) is rolled back and
 * the error is recorded on the task; it is tried again up to `MAX_ATTEMPTS` times, then the task
 * is `failed`.
 */
import { randomBytes } from "node:crypto";
import { BadRequestError, ConflictError, MethodNotAllowedError, NotFoundError, TcError } from "../../errors.js";
import type { ExecRequest } from "../../executor.js";
import type { Json, Verb } from "../../ir/types.js";
import type { ExecLimits } from "../ops/exec-context.js";
import type { CheckedGrant } from "../ops/grant.js";
import type { KernelValue } from "../ops/kernel-value.js";
import { INTERNAL_NAMESPACE } from "../router.js";
import type { Database } from "../state/database.js";
import { tableLiteral, type TableView } from "../state/table-view.js";
import { PATHS } from "../../ir/types.js";
import { parseService, serviceIdParts, type ServiceDef } from "./service-def.js";
import { TASK_SCHEMA, taskOf, taskValues, taskView, type TaskRow } from "./task-row.js";

/** The default wall-clock budget of one iteration (the transaction owner's 3-second cap). */
export const ITERATION_MS = 3000;
/** Tries of one iteration before its task fails. */
export const MAX_ATTEMPTS = 3;

/** What the host needs of its kernel: sessions, ops and requests. */
export interface ServiceKernel {
  beginSession(owner?: string): Promise<string>;
  commitSession(id: string, owner?: string): Promise<void>;
  rollbackSession(id: string, owner?: string): Promise<void>;
  execute(op: Json, args: Readonly<Record<string, Json>>, session: { id: string; owner: string } | undefined, grant: undefined, limits: Partial<ExecLimits>): Promise<Json>;
  request(req: ExecRequest, session?: { id: string; owner: string }): Promise<Json>;
}

const DEF_TABLE = [INTERNAL_NAMESPACE, "service"] as const;
const DEF_SCHEMA: KernelValue = [[[["id", PATHS.value.string]], [["definition", PATHS.value.string]]], []];

/** The services of one kernel and their worker. */
export class ServiceHost {
  private readonly defs = new Map<string, ServiceDef>();
  private working: Promise<void> | undefined;
  /** The tasks the worker runs in turn (one iteration each, then to the back while unfinished). */
  private readonly turns: { def: ServiceDef; id: string }[] = [];
  /** True once the tasks left queued or running by an earlier process are in `turns`. */
  private resumed = false;
  private again = false;
  private stopped = false;

  private constructor(
    private readonly db: Database,
    private readonly kernel: ServiceKernel,
    private readonly iterationMs: number,
  ) {}

  /** Reads the installed services (creating the definitions table if needed). */
  static async load(db: Database, kernel: ServiceKernel, iterationMs = ITERATION_MS): Promise<ServiceHost> {
    if (!(iterationMs > 0)) throw new BadRequestError(`serviceIterationMs must be positive, found ${iterationMs}`);
    const host = new ServiceHost(db, kernel, iterationMs);
    const txn = db.tryBegin() ?? (await db.begin());
    try {
      txn.request("put", DEF_TABLE, null, tableLiteral(DEF_SCHEMA, []));
      const view = txn.request("get", DEF_TABLE, null, undefined);
      const rows = txn.viewRequest(view as TableView, "get", ["rows"], null, undefined) as readonly (readonly KernelValue[])[];
      for (const row of rows) {
        const def = parseService(JSON.parse(row[1] as string));
        host.defs.set(def.id, def);
      }
    } catch (e) {
      txn.rollback();
      throw e;
    }
    await txn.commit();
    return host;
  }

  /** Starts (or wakes) the worker: it runs until no task is queued or running. */
  kick(): void {
    if (this.stopped) return;
    if (this.working) {
      this.again = true;
      return;
    }
    this.working = this.work().finally(() => {
      this.working = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Stops the worker after its current iteration. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.working?.catch(() => undefined);
  }

  /** Settles when the worker has nothing left to do (for tests and examples). */
  async idle(): Promise<void> {
    while (this.working) await this.working.catch(() => undefined);
  }

  /** A request on `/service…`. Service calls run in their own transactions, never in a session's. */
  async request(req: ExecRequest, grant: CheckedGrant, inSession: boolean): Promise<Json> {
    const verb = String(req.verb).toLowerCase() as Verb;
    const segs = req.path.split("/").slice(1);
    if (inSession) throw new BadRequestError(`${req.path}: service calls run in their own transactions, not inside a session`);
    if (segs.length === 1) {
      if (verb === "get") return Object.fromEntries([...this.defs.keys()].sort().map((id) => [id, true]));
      if (verb !== "put") throw new MethodNotAllowedError(`/service answers GET and PUT, not ${verb.toUpperCase()}`);
      const def = parseService(req.body);
      grant.check("put", def.id.split("/").slice(1));
      return this.install(def);
    }
    if (segs.length < 5) throw new BadRequestError(`${req.path}: a service is /service/<publisher>/<namespace>/<name>/<version>`);
    const id = `/${segs.slice(0, 5).join("/")}`;
    serviceIdParts(id);
    grant.check(verb, segs);
    const def = this.defs.get(id);
    if (!def) throw new NotFoundError(`no service ${id} is installed`);
    const rest = segs.slice(5);
    if (rest.length === 0) {
      if (verb !== "get") throw new MethodNotAllowedError(`${id} answers GET, not ${verb.toUpperCase()}`);
      return { id, version: def.version, tasks: `/state/${def.table.join("/")}` };
    }
    if (rest.length === 1 && rest[0] === "enqueue") {
      if (verb !== "post") throw new MethodNotAllowedError(`${id}/enqueue answers POST, not ${verb.toUpperCase()}`);
      const body = req.body;
      if (body === null || typeof body !== "object" || Array.isArray(body) || Object.keys(body).some((k) => k !== "args")) {
        throw new BadRequestError(`POST ${id}/enqueue takes {"args": <value>}`);
      }
      return this.enqueue(def, ((body as Record<string, Json>).args ?? null) as Json);
    }
    if (rest.length === 2 && rest[0] === "tasks") {
      if (verb !== "get") throw new MethodNotAllowedError(`a task answers GET, not ${verb.toUpperCase()}`);
      const task = await this.task(def, rest[1]!);
      if (!task) throw new NotFoundError(`no task ${rest[1]} in ${id}`);
      return taskView(task);
    }
    throw new NotFoundError(`no route ${req.path} (a service has enqueue and tasks/<id>)`);
  }

  private async install(def: ServiceDef): Promise<Json> {
    const existing = this.defs.get(def.id);
    if (existing) {
      if (existing.canonical === def.canonical) return null;
      throw new ConflictError(`service ${def.id} is already installed with a different definition; publish a new version`);
    }
    const txn = this.db.tryBegin() ?? (await this.db.begin());
    try {
      txn.request("put", DEF_TABLE, [def.id], [def.canonical]);
      txn.request("put", def.table, null, tableLiteral(TASK_SCHEMA, []));
    } catch (e) {
      txn.rollback();
      throw e;
    }
    await txn.commit();
    this.defs.set(def.id, def);
    return null;
  }

  private tablePath(def: ServiceDef): string {
    return `/state/${def.table.join("/")}`;
  }

  /** Creates a task (its first state from `init`, in the same transaction) and returns its path. */
  private async enqueue(def: ServiceDef, args: Json): Promise<string> {
    const id = `${Date.now().toString(36)}-${randomBytes(6).toString("hex")}`;
    const owner = `service:${def.id}`;
    const sid = await this.kernel.beginSession(owner);
    const session = { id: sid, owner };
    try {
      const state = def.init === undefined ? args : await this.kernel.execute(def.init, { args }, session, undefined, { maxMillis: this.iterationMs });
      const task: TaskRow = { id, service: def.id, status: "queued", args, state, result: null, error: null, iterations: 0, attempts: 0, progress: null, updated: Date.now() };
      await this.kernel.request({ verb: "put", path: this.tablePath(def), key: [id], body: taskValues(task) }, session);
      await this.kernel.commitSession(sid, owner);
    } catch (e) {
      await this.kernel.rollbackSession(sid, owner).catch(() => undefined);
      throw e;
    }
    this.turns.push({ def, id });
    this.kick();
    return `${def.id}/tasks/${id}`;
  }

  private async task(def: ServiceDef, id: string): Promise<TaskRow | undefined> {
    const row = await this.kernel.request({ verb: "get", path: this.tablePath(def), key: [id] });
    return row === null ? undefined : taskOf(row as unknown[]);
  }

  /**
   * The queued and running tasks of every service, oldest change first: read once, when the
   * worker first starts (tasks a crash or a close left behind); `enqueue` adds its own after.
   */
  private async pending(): Promise<{ def: ServiceDef; id: string }[]> {
    const found: { def: ServiceDef; task: TaskRow }[] = [];
    for (const def of this.defs.values()) {
      for (const status of ["running", "queued"]) {
        // An index range on `by_status`, answered as a table literal `{"/state/collection/table": [schema, rows]}`.
        const view = (await this.kernel.request({ verb: "get", path: this.tablePath(def), key: [["status", status]] })) as Record<string, [unknown, unknown[][]]>;
        for (const row of view[PATHS.table]![1]) found.push({ def, task: taskOf(row) });
      }
    }
    return found.sort((a, b) => a.task.updated - b.task.updated).map(({ def, task }) => ({ def, id: task.id }));
  }

  /** Runs the tasks in turn, one iteration each, until none is queued or running. */
  private async work(): Promise<void> {
    if (!this.resumed) {
      try {
        this.turns.unshift(...(await this.pending()).filter((p) => !this.turns.some((t) => t.def === p.def && t.id === p.id)));
      } catch {
        return; // the kernel is closing
      }
      this.resumed = true;
    }
    while (!this.stopped) {
      const turn = this.turns.shift();
      if (turn === undefined) return;
      let task: TaskRow | undefined;
      try {
        task = await this.task(turn.def, turn.id);
      } catch {
        return; // the kernel is closing
      }
      if (task === undefined || (task.status !== "queued" && task.status !== "running")) continue;
      const status = await this.iterate(turn.def, task);
      if (status === "queued" || status === "running") this.turns.push(turn);
    }
  }

  /** One iteration of a task's loop, in one transaction with the task's new state. */
  private async iterate(def: ServiceDef, task: TaskRow): Promise<TaskRow["status"] | undefined> {
    const owner = `service:${def.id}`;
    let sid: string | undefined;
    try {
      sid = await this.kernel.beginSession(owner);
      const session = { id: sid, owner };
      const out = await this.kernel.execute(def.step, { state: task.state, args: task.args }, session, undefined, { maxMillis: this.iterationMs });
      const step = stepResult(def, out);
      const next: TaskRow = {
        ...task,
        status: step.done ? "done" : "running",
        state: step.state,
        result: step.done ? step.result : null,
        error: null,
        iterations: task.iterations + 1,
        attempts: 0,
        progress: step.done ? 1 : (step.progress ?? task.progress),
        updated: Date.now(),
      };
      await this.kernel.request({ verb: "put", path: this.tablePath(def), key: [task.id], body: taskValues(next) }, session);
      await this.kernel.commitSession(sid, owner);
      return next.status;
    } catch (e) {
      if (sid !== undefined) await this.kernel.rollbackSession(sid, owner).catch(() => undefined);
      if (this.stopped) return undefined;
      const attempts = task.attempts + 1;
      const error = e instanceof TcError ? `${e.name} (${e.kind}): ${e.message}` : `InternalError: ${(e as Error)?.message ?? String(e)}`;
      const failed: TaskRow = { ...task, status: attempts >= MAX_ATTEMPTS ? "failed" : task.status, error, attempts, updated: Date.now() };
      await this.kernel.request({ verb: "put", path: this.tablePath(def), key: [task.id], body: taskValues(failed) }).catch(() => undefined);
      return failed.status;
    }
  }
}

/** Checks a step's answer: `{state, done, result?, progress?}`. */
function stepResult(def: ServiceDef, out: Json): { state: Json; done: boolean; result: Json; progress: number | undefined } {
  const o = out as Record<string, Json> | null;
  if (o === null || typeof o !== "object" || Array.isArray(o) || typeof o.done !== "boolean" || !("state" in o)) {
    throw new BadRequestError(`${def.id}: step must answer {"state": …, "done": true|false, "result"?: …, "progress"?: 0..1}`);
  }
  const p = o.progress;
  if (p !== undefined && p !== null && (typeof p !== "number" || !(p >= 0 && p <= 1))) throw new BadRequestError(`${def.id}: step's progress must be a number in 0..1`);
  return { state: o.state ?? null, done: o.done, result: (o.result ?? null) as Json, progress: typeof p === "number" ? p : undefined };
}
