/**
 * OTP's restart intensity: at most `maxRestarts` restarts within `periodMs`.
 * Past that, the supervisor stops trying: here, the shape is removed.
 */
export interface RestartIntensity {
  readonly maxRestarts: number;
  readonly periodMs: number;
}

export const DEFAULT_RESTART_INTENSITY: RestartIntensity = { maxRestarts: 3, periodMs: 5_000 };

/** Restart times per actor; pure bookkeeping, the clock is passed in. */
export class RestartTracker {
  readonly #history = new Map<string, number[]>();

  constructor(readonly intensity: RestartIntensity = DEFAULT_RESTART_INTENSITY) {}

  /** Records a failure at `now`; true when one more restart is allowed. */
  allowRestart(id: string, now: number): boolean {
    const since = now - this.intensity.periodMs;
    const recent = (this.#history.get(id) ?? []).filter((t) => t > since);
    if (recent.length >= this.intensity.maxRestarts) {
      this.#history.delete(id);
      return false;
    }
    recent.push(now);
    this.#history.set(id, recent);
    return true;
  }

  forget(id: string): void {
    this.#history.delete(id);
  }
}
