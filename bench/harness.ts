/**
 * Shared benchmark harness: timing helpers, the `BenchRow` shape every bench module returns, and
 * the markdown table printer.
 *
 * Convention (see bench/README.md): a bench module exports
 *   `export async function run(ctx: BenchContext): Promise<BenchRow[]>`
 * and `bench/run.ts` calls it when the file exists. A module must not throw for a missing API:
 * it returns rows whose `ours` is `notBuilt()` instead (run.ts also catches anything thrown).
 *
 * Ratios are TIME ratios `ours / baseline`: below 1 means we are faster. Throughput figures
 * (rows/s) are derived from the same times, so "≥ 1.0× SQLite's rate" means ratio ≤ 1.
 */
import { performance } from "node:perf_hooks";
import type { Dataset, DatasetScale } from "./dataset.js";
import type { SqliteDb } from "./baselines/sqlite.js";

/** A timed figure: the median time of one operation, plus how it was obtained. */
export interface Measurement {
  readonly kind: "time";
  /** Median milliseconds per operation. */
  readonly ms: number;
  /** Number of timed samples (batches) the median was taken over. */
  readonly samples: number;
  /** Operations per sample (batch size). */
  readonly batch: number;
  /** Items processed by ONE operation (rows inserted, rows returned) — gives an items/s column. */
  readonly items?: number;
  /** Free text shown in the notes column (result sizes, caveats). */
  readonly note?: string;
}

/** A figure that could not be produced: API not built yet, or it failed. */
export interface Missing {
  readonly kind: "missing";
  readonly reason: string;
}

export type Figure = Measurement | Missing;

/** One comparison line: our figure against zero or more baselines (each gets its own ratio). */
export interface BenchRow {
  /** Table the row is printed in: "kernel", "orm", "graph", "graph-scaling", "http", ... */
  readonly section: string;
  /** What is measured, e.g. "point get by key". Rows with the same section+case are grouped. */
  readonly case: string;
  /** Label of our implementation, e.g. "tinychain (memory)". */
  readonly oursLabel: string;
  readonly ours: Figure;
  readonly baselines: readonly { readonly label: string; readonly figure: Figure }[];
  /** The target from the issue, e.g. "≤ 1.5× sqlite (memory)". Printed as is. */
  readonly target?: string;
}

/** What every bench module receives. Build nothing heavy here yourself: reuse what is offered. */
export interface BenchContext {
  readonly scale: DatasetScale;
  /** The main dataset (users/follows/posts) at the chosen scale; regenerate others via dataset.ts. */
  readonly data: Dataset;
  /** Deterministic sample of user ids to query (same for every implementation). */
  readonly sampleUserIds: readonly number[];
  /** A fresh temporary directory for this module (removed after the run). */
  tmpDir(name: string): string;
  /** Progress line on stderr (never stdout). */
  progress(message: string): void;
  /** Time budget knob: "small" runs use fewer samples. */
  readonly quick: boolean;
  /**
   * The dataset loaded into an in-memory better-sqlite3 database (bench/baselines/sqlite.ts
   * schema), created on first call and shared by every module. Do not write to it.
   */
  sqliteMemory(): SqliteDb;
}

export interface MeasureOptions {
  /** Warm-up time before timing, in ms (default 200; quick runs 50). */
  warmupMs?: number;
  /** Number of timed batches; the median batch is reported (default 15; quick 7). */
  samples?: number;
  /** A batch runs at least this long (ms), calibrated from the warm-up (default 20). */
  minBatchMs?: number;
  /** Items per operation, for an items/s column. */
  items?: number;
  note?: string;
}

let quickMode = process.env.BENCH_SCALE === "small";
/** Warm-up runs at least this many operations (and at least `warmupMs`)… */
const MIN_WARMUP_OPS = 2000;
/** …but never longer than this. */
const MAX_WARMUP_MS = 5000;
/** Lets run.ts switch defaults for a quick run. */
export function setQuick(quick: boolean): void {
  quickMode = quick;
}

function defaults(opts: MeasureOptions): Required<Omit<MeasureOptions, "items" | "note">> {
  return {
    warmupMs: opts.warmupMs ?? (quickMode ? 100 : 300),
    samples: opts.samples ?? (quickMode ? 7 : 15),
    minBatchMs: opts.minBatchMs ?? 20,
  };
}

function warmedUp(start: number, ops: number, warmupMs: number): boolean {
  const elapsed = performance.now() - start;
  return (elapsed >= warmupMs && ops >= MIN_WARMUP_OPS) || elapsed >= MAX_WARMUP_MS;
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Keeps results alive so the JIT cannot drop the measured work. */
export let sink: unknown = undefined;
export function consume(value: unknown): void {
  sink = value;
}

/**
 * Times a synchronous operation: warm-up, calibrate a batch size, then the median of N batches.
 * `fn(i)` receives the running operation index (use it to vary keys).
 * @example
 * const m = measureSync(i => stmt.get(ids[i % ids.length]));
 */
export function measureSync(fn: (i: number) => unknown, opts: MeasureOptions = {}): Measurement {
  const { warmupMs, samples, minBatchMs } = defaults(opts);
  let i = 0;
  let warmOps = 0;
  const warmStart = performance.now();
  do {
    consume(fn(i++));
    warmOps++;
  } while (!warmedUp(warmStart, warmOps, warmupMs));
  const perOp = (performance.now() - warmStart) / warmOps;
  const batch = Math.max(1, Math.ceil(minBatchMs / Math.max(perOp, 1e-6)));
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let b = 0; b < batch; b++) consume(fn(i++));
    times.push((performance.now() - t0) / batch);
  }
  return withExtras({ kind: "time", ms: median(times), samples, batch }, opts);
}

/**
 * Times an asynchronous operation (awaited one at a time), same method as `measureSync`.
 * @example
 * const m = await measureAsync(i => executor.execute(op, { id: ids[i % ids.length] }));
 */
export async function measureAsync(
  fn: (i: number) => Promise<unknown>,
  opts: MeasureOptions = {},
): Promise<Measurement> {
  const { warmupMs, samples, minBatchMs } = defaults(opts);
  let i = 0;
  const warmStart = performance.now();
  let warmOps = 0;
  do {
    consume(await fn(i++));
    warmOps++;
  } while (!warmedUp(warmStart, warmOps, warmupMs));
  const perOp = (performance.now() - warmStart) / warmOps;
  const batch = Math.max(1, Math.ceil(minBatchMs / Math.max(perOp, 1e-6)));
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let b = 0; b < batch; b++) consume(await fn(i++));
    times.push((performance.now() - t0) / batch);
  }
  return withExtras({ kind: "time", ms: median(times), samples, batch }, opts);
}

/**
 * Times a heavy one-shot operation (bulk load, reopen) `runs` times, each with a fresh `setup`
 * (untimed) and `teardown` (untimed); reports the median.
 * @example
 * const m = await measureRuns(3, () => freshDb(), db => load(db), db => db.close(), { items: n });
 */
export async function measureRuns<S>(
  runs: number,
  setup: () => S | Promise<S>,
  fn: (state: S) => unknown | Promise<unknown>,
  teardown: (state: S) => unknown | Promise<unknown> = () => undefined,
  opts: Pick<MeasureOptions, "items" | "note"> = {},
): Promise<Measurement> {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const state = await setup();
    const t0 = performance.now();
    consume(await fn(state));
    times.push(performance.now() - t0);
    await teardown(state);
  }
  return withExtras({ kind: "time", ms: median(times), samples: runs, batch: 1 }, opts);
}

/** One contender of `measureGroup`: sync or async, with optional items per op and a note. */
export interface Contender {
  readonly fn: (i: number) => unknown;
  /** true when `fn` returns a promise that must be awaited. */
  readonly async?: boolean;
  readonly items?: number;
  readonly note?: string;
}

/**
 * Times several implementations of the same operation INTERLEAVED: after a warm-up and batch
 * calibration for each, every sampling round runs one batch of each contender in turn, so a
 * shared, noisy machine slows them alike and the ratios stay meaningful. Reports medians.
 * A contender that throws gets a `failed` figure; the others continue.
 * @example
 * const m = await measureGroup({ ours: { fn: i => tc.execute(op, { id: i }), async: true }, sqlite: { fn: i => q.get(i) } });
 */
export async function measureGroup<K extends string>(
  contenders: Record<K, Contender | undefined>,
  opts: Omit<MeasureOptions, "items" | "note"> = {},
): Promise<Record<K, Figure>> {
  const { warmupMs, samples, minBatchMs } = defaults(opts);
  const keys = (Object.keys(contenders) as K[]).filter((k) => contenders[k] !== undefined);
  const state = new Map<K, { c: Contender; i: number; batch: number; times: number[]; error?: unknown }>();
  const runBatch = async (c: Contender, start: number, n: number): Promise<void> => {
    if (c.async) for (let b = 0; b < n; b++) consume(await (c.fn(start + b) as Promise<unknown>));
    else for (let b = 0; b < n; b++) consume(c.fn(start + b));
  };
  for (const k of keys) {
    const c = contenders[k]!;
    const s = { c, i: 0, batch: 1, times: [] as number[] } as { c: Contender; i: number; batch: number; times: number[]; error?: unknown };
    state.set(k, s);
    try {
      // Warm up until both the time and the op count are reached (the JIT needs calls, not
      // milliseconds, and a loaded machine gives few calls per ms), capped at MAX_WARMUP_MS.
      // The batch size is calibrated on the second half of the warm-up, after the JIT settled.
      const t0 = performance.now();
      let ops = 0, tHalf = t0, opsHalf = 0;
      for (;;) {
        await runBatch(c, s.i, 1);
        s.i++;
        ops++;
        const now = performance.now();
        if (ops === MIN_WARMUP_OPS >> 1) { tHalf = now; opsHalf = ops; }
        if ((now - t0 >= warmupMs && ops >= MIN_WARMUP_OPS) || now - t0 >= MAX_WARMUP_MS) break;
      }
      const perOp = opsHalf > 0 && ops > opsHalf ? (performance.now() - tHalf) / (ops - opsHalf) : (performance.now() - t0) / ops;
      s.batch = Math.max(1, Math.ceil(minBatchMs / Math.max(perOp, 1e-6)));
    } catch (error) {
      s.error = error;
    }
  }
  for (let round = 0; round < samples; round++) {
    for (const k of keys) {
      const s = state.get(k)!;
      if (s.error !== undefined) continue;
      try {
        const t0 = performance.now();
        await runBatch(s.c, s.i, s.batch);
        s.times.push((performance.now() - t0) / s.batch);
        s.i += s.batch;
      } catch (error) {
        s.error = error;
      }
    }
  }
  const out = {} as Record<K, Figure>;
  for (const k of keys) {
    const s = state.get(k)!;
    out[k] = s.error !== undefined
      ? failed(s.error)
      : withExtras({ kind: "time", ms: median(s.times), samples, batch: s.batch }, { items: s.c.items, note: s.c.note });
  }
  return out;
}

function withExtras(m: Measurement, opts: Pick<MeasureOptions, "items" | "note">): Measurement {
  return {
    ...m,
    ...(opts.items !== undefined ? { items: opts.items } : {}),
    ...(opts.note !== undefined ? { note: opts.note } : {}),
  };
}

/** A figure for an API that does not exist yet. */
export function notBuilt(what = "not built yet"): Missing {
  return { kind: "missing", reason: what };
}

/** A figure for an attempt that threw. */
export function failed(error: unknown): Missing {
  const msg = error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
  return { kind: "missing", reason: `failed — ${msg.replace(/\s+/g, " ").slice(0, 160)}` };
}

/** Runs `fn`, turning a throw into a `failed` figure. */
export async function attempt(fn: () => Promise<Figure> | Figure): Promise<Figure> {
  try {
    return await fn();
  } catch (error) {
    return failed(error);
  }
}

/** Attaches/extends a note on a figure (no-op for missing figures). */
export function annotate(figure: Figure, note: string): Figure {
  if (figure.kind !== "time") return figure;
  return { ...figure, note: figure.note ? `${figure.note}; ${note}` : note };
}

// ---------------------------------------------------------------- formatting

/** Human time: ns / µs / ms / s with 3 significant digits. */
export function formatTime(ms: number): string {
  if (ms < 1e-3) return `${(ms * 1e6).toPrecision(3)} ns`;
  if (ms < 1) return `${(ms * 1e3).toPrecision(3)} µs`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  return `${(ms / 1000).toPrecision(3)} s`;
}

/** Human rate with k/M suffixes. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toPrecision(3)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toPrecision(3)}k`;
  return perSecond.toPrecision(3);
}

function cell(f: Figure): string {
  if (f.kind === "missing") return `n/a (${f.reason})`;
  const rate = f.items !== undefined ? `${formatRate((f.items * 1000) / f.ms)} rows/s` : `${formatRate(1000 / f.ms)} ops/s`;
  return `${formatTime(f.ms)} (${rate})`;
}

/** `ours / baseline` as text, or "—" when either side is missing. */
export function ratioText(ours: Figure, baseline: Figure): string {
  if (ours.kind !== "time" || baseline.kind !== "time") return "—";
  const r = ours.ms / baseline.ms;
  return `${r < 0.1 ? r.toPrecision(2) : r < 10 ? r.toFixed(2) : r.toPrecision(3)}×`;
}

function esc(s: string): string {
  return s.replace(/\|/g, "\\|");
}

/**
 * Prints rows as markdown tables, one per section. One line per (case, baseline); a row without
 * baselines prints one line with only our figure.
 */
export function renderMarkdown(rows: readonly BenchRow[], sectionTitles: Record<string, string> = {}): string {
  const out: string[] = [];
  const sections = [...new Set(rows.map((r) => r.section))];
  for (const section of sections) {
    out.push(`### ${sectionTitles[section] ?? section}`, "");
    out.push("Ratio = time(ours) / time(baseline): **< 1 means ours is faster**; rates are derived from the same times.", "");
    out.push("| case | ours | ours: median | baseline | baseline: median | ratio ours/baseline | target | notes |");
    out.push("|---|---|---|---|---|---|---|---|");
    for (const row of rows.filter((r) => r.section === section)) {
      const notes = (f: Figure) => (f.kind === "time" && f.note ? f.note : "");
      const lines = row.baselines.length > 0 ? row.baselines : [undefined];
      lines.forEach((b, idx) => {
        const oursNote = idx === 0 ? notes(row.ours) : "";
        const baseNote = b ? notes(b.figure) : "";
        const noteParts = [oursNote && `ours: ${oursNote}`, baseNote && `baseline: ${baseNote}`].filter(Boolean);
        out.push(
          `| ${esc(idx === 0 ? row.case : "″")} | ${esc(idx === 0 ? row.oursLabel : "″")} | ${esc(idx === 0 ? cell(row.ours) : "″")} | ` +
            `${esc(b ? b.label : "—")} | ${esc(b ? cell(b.figure) : "—")} | ${b ? ratioText(row.ours, b.figure) : "—"} | ` +
            `${esc(idx === 0 ? row.target ?? "" : "")} | ${esc(noteParts.join("; "))} |`,
        );
      });
    }
    out.push("");
  }
  return out.join("\n");
}
