/**
 * key -> the shape handles filed under it. Most keys hold one shape (one shape per user, per
 * document), so a lone handle is kept as the string itself and a Set only from the second on:
 * at 100k `user_id = k` shapes that is 100k strings instead of 100k Sets.
 */
export class HandleBuckets<K extends string | number = string> {
  readonly #buckets = new Map<K, string | Set<string>>();

  get size(): number {
    return this.#buckets.size;
  }

  add(key: K, handle: string): void {
    const held = this.#buckets.get(key);
    if (held === undefined) this.#buckets.set(key, handle);
    else if (typeof held === 'string') {
      if (held !== handle) this.#buckets.set(key, new Set([held, handle]));
    } else held.add(handle);
  }

  delete(key: K, handle: string): void {
    const held = this.#buckets.get(key);
    if (held === undefined) return;
    if (typeof held === 'string') {
      if (held === handle) this.#buckets.delete(key);
      return;
    }
    held.delete(handle);
    if (held.size === 1) this.#buckets.set(key, held.values().next().value!);
  }

  /** The handles under `key`: one handle, several, or none (no closure per lookup on the hot path). */
  get(key: K): string | ReadonlySet<string> | undefined {
    return this.#buckets.get(key);
  }
}
