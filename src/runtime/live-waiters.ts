import { compareLogOffsets, type LogOffset } from '../shapes/log-offset.ts';
import type { RemovedShape } from './shape-reads.ts';

/** How a live wait ended. */
export type LiveWait =
  /** An entry after the offset waited from is durable; `last` is the shape's last offset now. */
  | { readonly status: 'entries'; readonly last: LogOffset }
  | { readonly status: 'timeout' }
  | { readonly status: 'aborted' }
  /** The shape was removed while waiting (by a cascade, expiry, a schema change, a caller). */
  | { readonly status: 'removed'; readonly removal: RemovedShape }
  /** The runtime stopped. */
  | { readonly status: 'stopped' };

/** One wait: settled once, by whichever comes first. Its own AbortSignal listener (`handleEvent`): no closure per wait. */
class Waiter {
  #timer: NodeJS.Timeout | undefined;
  constructor(
    readonly after: LogOffset,
    private readonly set: Set<Waiter>,
    private readonly owner: LiveWaiters,
    private readonly handle: string,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (result: LiveWait) => void,
    timeoutMs: number | undefined,
  ) {
    set.add(this);
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) this.#timer = setTimeout(Waiter.timeout, Math.max(0, timeoutMs), this);
    signal?.addEventListener('abort', this, { once: true });
  }

  static timeout(this: void, waiter: Waiter): void {
    waiter.settle({ status: 'timeout' });
  }

  handleEvent(): void {
    this.settle({ status: 'aborted' });
  }

  settle(result: LiveWait): void {
    if (!this.set.delete(this)) return;
    if (this.set.size === 0) this.owner.forget(this.handle, this.set);
    clearTimeout(this.#timer);
    this.signal?.removeEventListener('abort', this);
    this.resolve(result);
  }
}

/**
 * Live waits per shape. Each is settled once, by whichever comes first: entries past its
 * offset (one call per committed batch and shape, however many wait), the shape's removal,
 * the runtime stopping, its timeout, its AbortSignal. Settling clears its timer and listener.
 */
export class LiveWaiters {
  readonly #byHandle = new Map<string, Set<Waiter>>();
  #stopped = false;

  wait(handle: string, after: LogOffset, options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {}): Promise<LiveWait> {
    if (this.#stopped) return Promise.resolve({ status: 'stopped' });
    const { signal, timeoutMs } = options;
    if (signal?.aborted) return Promise.resolve({ status: 'aborted' });
    let set = this.#byHandle.get(handle);
    if (!set) this.#byHandle.set(handle, (set = new Set()));
    const waiters = set;
    return new Promise<LiveWait>((resolve) => void new Waiter(after, waiters, this, handle, signal, resolve, timeoutMs));
  }

  /** A shape's last wait is over. */
  forget(handle: string, set: Set<Waiter>): void {
    if (this.#byHandle.get(handle) === set) this.#byHandle.delete(handle);
  }

  /** The shape's log now ends at `last`: every wait from before it is over. */
  entriesUpTo(handle: string, last: LogOffset): void {
    // (no copy, no iterator, for a shape no one waits on: most of those a batch writes)
    const waiting = this.#byHandle.size > 0 ? this.#byHandle.get(handle) : undefined;
    if (waiting === undefined) return;
    for (const waiter of [...waiting]) {
      if (compareLogOffsets(last, waiter.after) > 0) waiter.settle({ status: 'entries', last });
    }
  }

  removed(handle: string, removal: () => RemovedShape): void {
    const waiting = [...(this.#byHandle.get(handle) ?? [])];
    if (waiting.length === 0) return;
    const result: LiveWait = { status: 'removed', removal: removal() };
    for (const waiter of waiting) waiter.settle(result);
  }

  stopped(): void {
    this.#stopped = true;
    for (const set of [...this.#byHandle.values()]) for (const waiter of [...set]) waiter.settle({ status: 'stopped' });
  }

  /** Waits now pending (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.#byHandle.values()) n += set.size;
    return n;
  }
}
