/**
 * The collector's pauses on the main thread (`PerformanceObserver` 'gc' entries), summed over
 * the windows a caller marks: how much of a timed section's time the collector took. Explains a
 * per-change cost that grows with the heap (a 100k-shape runtime holds 100x the objects of a 1k
 * one, so each major collection marks 100x more); CPU time also counts V8's concurrent marking
 * threads, which no pause shows.
 */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

export class GcClock {
  readonly #entries: PerformanceEntry[] = [];
  readonly #windows: [number, number][] = [];
  readonly #observer = new PerformanceObserver((list) => void this.#entries.push(...list.getEntries()));
  #open: number | null = null;

  constructor() {
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  start(): void {
    this.#open = performance.now();
  }

  stop(): void {
    if (this.#open !== null) this.#windows.push([this.#open, performance.now()]);
    this.#open = null;
  }

  /** Milliseconds of pauses that began inside a marked window; waits for the last entries (delivered on a timer), then stops observing. */
  async pausedMs(): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 20));
    this.#observer.disconnect();
    let ms = 0;
    for (const entry of this.#entries) {
      if (this.#windows.some(([from, to]) => entry.startTime >= from && entry.startTime < to)) ms += entry.duration;
    }
    return ms;
  }
}
