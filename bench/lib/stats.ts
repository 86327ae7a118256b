/**
 * Timing and statistics helpers for the benchmarks. Every figure that matters
 * is a median of several runs, and compared with a baseline measured in the
 * same process, so machine noise largely cancels out.
 */
import { performance } from 'node:perf_hooks';

const gcFn = (globalThis as { gc?: () => void }).gc;

/** True when node runs with --expose-gc (heap figures need it). */
export const HAVE_GC = typeof gcFn === 'function';

/** A few full collections, so a heap reading or a timed run does not pay for earlier garbage. */
export function fullGc(): void {
  if (!gcFn) return;
  for (let i = 0; i < 3; i++) gcFn();
}

/** Used heap after a full GC (bytes). */
export function heapAfterGc(): number {
  fullGc();
  return process.memoryUsage().heapUsed;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Milliseconds taken by `fn` (async or not). */
export async function timeAsync<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

export function timeSync<T>(fn: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

export interface MicroResult {
  /** Median milliseconds per call. */
  readonly msPerCall: number;
  /** Number of samples the median is over. */
  readonly samples: number;
  /** Calls per sample (cheap calls are batched so one sample lasts a few ms). */
  readonly callsPerSample: number;
  /** Every sample's ms per call, for the raw results. */
  readonly raw: readonly number[];
}

/**
 * Median time per call of a synchronous function: warmed up, then sampled at
 * least `minSamples` times and for at least `minTotalMs`, with a GC before each
 * sample. A call faster than `sampleMs` is repeated within a sample.
 */
export function measureSync(fn: () => unknown, options: { minSamples?: number; maxSamples?: number; minTotalMs?: number; sampleMs?: number; warmup?: number } = {}): MicroResult {
  const minSamples = options.minSamples ?? 7;
  const maxSamples = options.maxSamples ?? 50;
  const minTotalMs = options.minTotalMs ?? 300;
  const sampleMs = options.sampleMs ?? 10;
  const warmup = options.warmup ?? 3;
  // Warm-up (JIT) and calibration.
  let one = Infinity;
  for (let i = 0; i < warmup; i++) one = Math.min(one, timeSync(fn).ms);
  const callsPerSample = Math.max(1, Math.ceil(sampleMs / Math.max(one, 0.001)));
  const raw: number[] = [];
  let total = 0;
  while (raw.length < maxSamples && (raw.length < minSamples || total < minTotalMs)) {
    fullGc();
    const t0 = performance.now();
    for (let i = 0; i < callsPerSample; i++) fn();
    const ms = performance.now() - t0;
    total += ms;
    raw.push(ms / callsPerSample);
  }
  return { msPerCall: median(raw), samples: raw.length, callsPerSample, raw };
}

/** Per-key medians over several runs of the same measurement. */
export function medians<T extends Record<string, number>>(runs: readonly T[]): T {
  const out: Record<string, number> = {};
  for (const key of Object.keys(runs[0] ?? {})) out[key] = median(runs.map((r) => r[key]!).filter((v) => typeof v === 'number' && Number.isFinite(v)));
  return out as T;
}

/** The tests' seeded PRNG (mulberry32): the same seed gives the same graphs and damage on every run. */
export { rng } from '../../test/helpers/crash-workload.ts';

export function randomInt(random: () => number, n: number): number {
  return Math.floor(random() * n);
}

/** Fisher-Yates, in place. */
export function shuffle<T>(random: () => number, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** Wall-clock and CPU time (user + system, all threads of the process) of one section. */
export interface Timing {
  readonly wallMs: number;
  readonly cpuMs: number;
}

export class Stopwatch {
  readonly #wall = performance.now();
  readonly #cpu = process.cpuUsage();

  stop(): Timing {
    const cpu = process.cpuUsage(this.#cpu);
    return { wallMs: performance.now() - this.#wall, cpuMs: (cpu.user + cpu.system) / 1000 };
  }
}

export async function timed<T>(fn: () => Promise<T> | T): Promise<{ timing: Timing; value: T }> {
  const watch = new Stopwatch();
  const value = await fn();
  return { timing: watch.stop(), value };
}

export function timedSync<T>(fn: () => T): { timing: Timing; value: T } {
  const watch = new Stopwatch();
  const value = fn();
  return { timing: watch.stop(), value };
}

export function addTimings(...timings: readonly Timing[]): Timing {
  return { wallMs: timings.reduce((s, t) => s + t.wallMs, 0), cpuMs: timings.reduce((s, t) => s + t.cpuMs, 0) };
}
