/**
 * Shape handles: `<definition hash>-<creation time in microseconds>`, e.g.
 * `3201838265-1765808264363524`. The hash is stable for a definition key; the time part makes a
 * re-created shape's handle differ from the removed one's, so a stale handle never points at a
 * new shape. Handles are used as directory names: isHandle() is the path-traversal guard.
 */
import { createHash } from 'node:crypto';

const HANDLE = /^\d{1,20}-\d{1,20}$/;

/** Stable hash of a definition key: the first 32 bits of its SHA-256, as unsigned decimal. */
export function definitionHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest().readUInt32BE(0).toString(10);
}

/**
 * Makes a strictly increasing microsecond clock out of `read` (which may stall or go backwards):
 * each call returns `read()`, or the previous value + 1 when `read()` has not moved past it.
 */
export function strictlyIncreasing(read: () => bigint): () => bigint {
  let last: bigint | undefined;
  return () => {
    const now = read();
    last = last === undefined || now > last ? now : last + 1n;
    return last;
  };
}

// Wall clock in microseconds with sub-millisecond resolution: Date.now() anchored once, then the
// monotonic high-resolution clock.
const originMicros = BigInt(Date.now()) * 1000n;
const originHr = process.hrtime.bigint();
const wallClockMicros = (): bigint => originMicros + (process.hrtime.bigint() - originHr) / 1000n;

/**
 * Current wall-clock time in microseconds, strictly increasing within the process (when the
 * clock has not moved since the previous call, the previous value + 1).
 */
export const monotonicMicros: () => bigint = strictlyIncreasing(wallClockMicros);

/**
 * A new handle for a definition key. Without `nowMicros` the time part is monotonicMicros()
 * (strictly increasing within the process). With `nowMicros` (an injected clock, for tests and
 * deterministic replays) that value is used as given: the caller owns its uniqueness.
 */
export function createHandle(key: string, nowMicros?: bigint): string {
  const micros = nowMicros ?? monotonicMicros();
  if (micros < 0n) throw new RangeError(`handle time must be non-negative, got ${micros}`);
  return `${definitionHash(key)}-${micros}`;
}

/** True for `<1-20 digits>-<1-20 digits>` and nothing else (no `/`, `.`, spaces, ...). */
export function isHandle(s: string): boolean {
  return typeof s === 'string' && HANDLE.test(s);
}

/** The creation time (microseconds) of a handle; throws on a string that is not a handle. */
export function handleCreatedAtMicros(handle: string): bigint {
  if (!isHandle(handle)) throw new Error(`not a shape handle: ${JSON.stringify(handle)}`);
  return BigInt(handle.slice(handle.indexOf('-') + 1));
}

/** The definition-hash part of a handle; throws on a string that is not a handle. */
export function handleHash(handle: string): string {
  if (!isHandle(handle)) throw new Error(`not a shape handle: ${JSON.stringify(handle)}`);
  return handle.slice(0, handle.indexOf('-'));
}
