import { setTimeout as sleep } from 'node:timers/promises';

/** A wait that ends early, quietly, once `signal` is aborted: nothing the source started outlives its stop. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => undefined);
}
