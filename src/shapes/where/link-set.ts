/**
 * A dependency's link values as the evaluator asks them (see `evaluateWhere`): the distinct
 * tuples its rows select (tupleKey of their canonical keys, NULL elements included).
 */
import { tupleElements, tupleKey } from './link-key.ts';

export interface LinkSet {
  has(tuple: string): boolean;
  /** How many distinct selected tuples agree with `elements` wherever both are non-NULL (null = a NULL element). */
  compatibleCount(elements: readonly (string | null)[]): number;
}

/** Current value set of a dependency, by dependency index (a materializer's counted set, or a view of it). */
export type LinkValues = (dependency: number) => LinkSet;

type Elements = readonly (string | null)[];

/** Bit i set when element i is not NULL. */
function maskOf(elements: Elements): number {
  let mask = 0;
  for (let i = 0; i < elements.length; i++) if (elements[i] !== null) mask |= 1 << i;
  return mask;
}

function project(elements: Elements, mask: number): string {
  return tupleKey(elements.filter((_, i) => (mask & (1 << i)) !== 0));
}

/**
 * A set of distinct link tuples (tuple keys; elements may be NULL) that answers the question
 * SQL's `IN (SELECT ...)` asks when NULLs are involved: how many tuples agree with a given one
 * wherever both are non-NULL. One-column tuples answer from two lookups; wider ones from
 * projections built on first use (per null pattern of the stored tuples and of the question)
 * and kept up to date after.
 */
export class TupleIndex implements LinkSet {
  readonly #tuples = new Map<string, Elements>();
  /** Null pattern (maskOf) -> the tuples with it. */
  readonly #byMask = new Map<number, Set<string>>();
  /** `${stored mask}:${asked mask}` -> projection of the stored tuples on the asked positions -> count. */
  readonly #projections = new Map<string, Map<string, number>>();

  get size(): number {
    return this.#tuples.size;
  }

  has(key: string): boolean {
    return this.#tuples.has(key);
  }

  keys(): IterableIterator<string> {
    return this.#tuples.keys();
  }

  [Symbol.iterator](): IterableIterator<string> {
    return this.#tuples.keys();
  }

  add(key: string): void {
    if (this.#tuples.has(key)) return;
    const elements = tupleElements(key);
    this.#tuples.set(key, elements);
    if (elements.length === 1) return;
    const mask = maskOf(elements);
    let set = this.#byMask.get(mask);
    if (!set) this.#byMask.set(mask, (set = new Set()));
    set.add(key);
    this.#bump(mask, elements, 1);
  }

  delete(key: string): void {
    const elements = this.#tuples.get(key);
    if (!elements) return;
    this.#tuples.delete(key);
    if (elements.length === 1) return;
    const mask = maskOf(elements);
    const set = this.#byMask.get(mask)!;
    set.delete(key);
    if (set.size === 0) this.#byMask.delete(mask);
    this.#bump(mask, elements, -1);
  }

  /** How many tuples agree with `elements` wherever both are non-NULL (an exact match counts too). */
  compatibleCount(elements: Elements): number {
    if (elements.length === 1) {
      if (elements[0] === null) return this.#tuples.size;
      return (this.#tuples.has(tupleKey(elements)) ? 1 : 0) + (this.#tuples.has('[null]') ? 1 : 0);
    }
    const asked = maskOf(elements);
    let count = 0;
    for (const [mask, keys] of this.#byMask) {
      const common = mask & asked;
      if (common === 0) {
        count += keys.size;
        continue;
      }
      count += this.#projection(mask, common).get(project(elements, common)) ?? 0;
    }
    return count;
  }

  #projection(mask: number, common: number): Map<string, number> {
    const id = `${mask}:${common}`;
    let counts = this.#projections.get(id);
    if (!counts) {
      counts = new Map();
      for (const key of this.#byMask.get(mask) ?? []) {
        const p = project(this.#tuples.get(key)!, common);
        counts.set(p, (counts.get(p) ?? 0) + 1);
      }
      this.#projections.set(id, counts);
    }
    return counts;
  }

  #bump(mask: number, elements: Elements, delta: 1 | -1): void {
    for (const [id, counts] of this.#projections) {
      const [stored, common] = id.split(':').map(Number) as [number, number];
      if (stored !== mask) continue;
      const p = project(elements, common);
      const n = (counts.get(p) ?? 0) + delta;
      if (n > 0) counts.set(p, n);
      else counts.delete(p);
    }
  }
}

/** A link set holding these tuple keys. */
export function linkSetOf(tuples: Iterable<string>): TupleIndex {
  const set = new TupleIndex();
  for (const t of tuples) set.add(t);
  return set;
}
