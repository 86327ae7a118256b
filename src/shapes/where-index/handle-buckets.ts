/**
 * key -> the shape handles filed under it. Most keys hold one shape (one shape per user, per
 * document), so a lone handle is kept as the string itself, a few in a small array, and a Set
 * only past SMALL: at 100k `user_id = k` shapes that is 100k strings instead of 100k Sets, and
 * a key two shapes share (a plain shape and a subquery shape on the same value) costs an array
 * of two (about 50 B) rather than a Set (about 140 B).
 */
export class HandleBuckets<K extends string | number = string> {
  readonly #buckets = new Map<K, string | string[] | Set<string>>();

  get size(): number {
    return this.#buckets.size;
  }

  add(key: K, handle: string): void {
    const held = this.#buckets.get(key);
    if (held === undefined) this.#buckets.set(key, handle);
    else if (typeof held === 'string') {
      if (held !== handle) this.#buckets.set(key, [held, handle]);
    } else if (Array.isArray(held)) {
      if (held.includes(handle)) return;
      if (held.length < SMALL) held.push(handle);
      else this.#buckets.set(key, new Set([...held, handle]));
    } else held.add(handle);
  }

  delete(key: K, handle: string): void {
    const held = this.#buckets.get(key);
    if (held === undefined) return;
    if (typeof held === 'string') {
      if (held === handle) this.#buckets.delete(key);
      return;
    }
    if (Array.isArray(held)) {
      const i = held.indexOf(handle);
      if (i < 0) return;
      held.splice(i, 1);
      if (held.length === 1) this.#buckets.set(key, held[0]!);
      return;
    }
    held.delete(handle);
    if (held.size === 1) this.#buckets.set(key, held.values().next().value!);
  }

  /** The handles under `key`: one handle, several, or none (no closure per lookup on the hot path). */
  get(key: K): string | readonly string[] | ReadonlySet<string> | undefined {
    return this.#buckets.get(key);
  }
}

/** Up to this many handles under a key are kept in an array (a linear search on add and delete). */
const SMALL = 8;
