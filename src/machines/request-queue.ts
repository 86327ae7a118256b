/**
 * The runtime's queue of waiting requests, as a value of the machine's context: every operation
 * returns a new queue and leaves the one it was called on as it was, so a snapshot's queue never
 * changes under it (the model tests branch from one snapshot down several paths). Taking from the
 * front and adding at the back cost O(1) amortized, so a burst of requests costs linear time: with
 * a plain array copied on each (`[...queue, request]`, `[next, ...rest]`) N requests submitted at
 * once cost O(N²): 32k transactions through `applyTransaction` at once took 321 µs each against
 * 120-150 µs for a few thousand.
 *
 * Queues share one array: a queue is the window [head, end) of it. Adding at the back writes in
 * place when the window ends where the array does (no other queue sees past its own end), else
 * copies the window first (a second queue grown from the same one). The front is dropped by moving
 * `head`; the slots before it are released by copying the window into a new array once they are
 * at least half of it (and more than a few), so a queue holds on to at most as many requests
 * already taken as it has waiting. Adding at the front (failures, evictions, a redo: rare) copies.
 */
export class RequestQueue<T> implements Iterable<T> {
  static readonly #EMPTY = new RequestQueue<never>([], 0, 0);
  /** Taken slots kept before the window is copied out (see above). */
  static readonly #RELEASE_AFTER = 32;

  readonly #items: T[];
  readonly #head: number;
  readonly #end: number;

  private constructor(items: T[], head: number, end: number) {
    this.#items = items;
    this.#head = head;
    this.#end = end;
  }

  static empty<T>(): RequestQueue<T> {
    return RequestQueue.#EMPTY as RequestQueue<T>;
  }

  get length(): number {
    return this.#end - this.#head;
  }

  /** The request that waited longest; undefined when none waits. */
  get first(): T | undefined {
    return this.#head < this.#end ? this.#items[this.#head] : undefined;
  }

  /** This queue with `item` at the back. */
  push(item: T): RequestQueue<T> {
    if (this.#end === this.#items.length && this.#items !== RequestQueue.#EMPTY.#items) {
      this.#items.push(item);
      return new RequestQueue(this.#items, this.#head, this.#end + 1);
    }
    const items = this.#items.slice(this.#head, this.#end);
    items.push(item);
    return new RequestQueue(items, 0, items.length);
  }

  /** This queue with `items` ahead of what waits, in their order. */
  pushFront(items: readonly T[]): RequestQueue<T> {
    if (items.length === 0) return this;
    const all = [...items, ...this];
    return new RequestQueue(all, 0, all.length);
  }

  /** This queue without its first `count` requests. */
  drop(count = 1): RequestQueue<T> {
    const head = Math.min(this.#head + Math.max(0, count), this.#end);
    if (head === this.#end) return RequestQueue.empty();
    if (head >= RequestQueue.#RELEASE_AFTER && 2 * head >= this.#items.length) {
      const items = this.#items.slice(head, this.#end);
      return new RequestQueue(items, 0, items.length);
    }
    return new RequestQueue(this.#items, head, this.#end);
  }

  some(predicate: (item: T) => boolean): boolean {
    for (let i = this.#head; i < this.#end; i++) if (predicate(this.#items[i]!)) return true;
    return false;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.#head; i < this.#end; i++) yield this.#items[i]!;
  }

  toArray(): T[] {
    return this.#items.slice(this.#head, this.#end);
  }

  /** What the inspector and a serialized snapshot show: the requests waiting, in order. */
  toJSON(): T[] {
    return this.toArray();
  }
}
