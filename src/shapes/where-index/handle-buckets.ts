/**
 * key -> the shapes filed under it (their handles, or the shape objects themselves: the where
 * index's buckets hold the objects, so a lookup hands the router the shape without a lookup by
 * handle). Most keys hold one shape (one shape per user, per document), so a lone one is kept as
 * itself, a few in a small array, and a Set only past SMALL: at 100k `user_id = k` shapes that is
 * 100k pointers instead of 100k Sets, and a key two shapes share (a plain shape and a subquery
 * shape on the same value) costs an array of two (about 50 B) rather than a Set (about 140 B).
 * (V is never an array or a Set: those are how several are held.)
 */
export class HandleBuckets<K extends string | number = string, V extends string | object = string> {
  readonly #buckets = new Map<K, V | V[] | Set<V>>();

  get size(): number {
    return this.#buckets.size;
  }

  add(key: K, handle: V): void {
    const held = this.#buckets.get(key);
    if (held === undefined) this.#buckets.set(key, handle);
    else if (Array.isArray(held)) {
      if (held.includes(handle)) return;
      if (held.length < SMALL) held.push(handle);
      else this.#buckets.set(key, new Set([...held, handle]));
    } else if (held instanceof Set) held.add(handle);
    else if (held !== handle) this.#buckets.set(key, [held, handle]);
  }

  delete(key: K, handle: V): void {
    const held = this.#buckets.get(key);
    if (held === undefined) return;
    if (!Array.isArray(held) && !(held instanceof Set)) {
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

  /** Appends what is under `key` to `out` (a buffer the caller reuses: nothing allocated per lookup). */
  appendTo(key: K, out: V[]): void {
    const held = this.#buckets.get(key);
    if (held === undefined) return;
    if (Array.isArray(held) || held instanceof Set) for (const one of held as Iterable<V>) out.push(one);
    else out.push(held as V);
  }

  /** What is under `key`: one, several, or none (no closure per lookup on the hot path). */
  get(key: K): V | readonly V[] | ReadonlySet<V> | undefined {
    return this.#buckets.get(key);
  }
}

/** Up to this many under a key are kept in an array (a linear search on add and delete). */
const SMALL = 8;
