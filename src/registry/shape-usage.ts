import type { DependencyGraph } from '../graph/dependency-graph.ts';

/**
 * Least-recently-used order of shapes, for expiry. A dependency counts as
 * used whenever one of its dependents is, so it is always at least as recent
 * as its dependents and is never evicted before them.
 *
 * Only shapes used since the restore are held: the others (every shape, just
 * after a restore) are less recent than any of them, in the order the restore
 * registered them reversed (dependents first), which is the graph's order
 * reversed; a shape added since was used by its add. So a restore costs no
 * entry per shape here; a pass of evictionCandidates reads the graph's order.
 */
export class ShapeUsage {
  /** The shapes used since the restore. Insertion order is recency order: the first key is the least recently used. */
  readonly #order = new Map<string, true>();

  constructor(private readonly graph: DependencyGraph) {}

  /** Marks a shape used now, then its dependencies (transitively), so they end up more recent. */
  touch(handle: string): void {
    const seen = new Set<string>();
    const visit = (h: string): void => {
      if (seen.has(h)) return;
      seen.add(h);
      this.#order.delete(h);
      this.#order.set(h, true);
      for (const dep of this.graph.dependenciesOf(h)) visit(dep);
    };
    visit(handle);
  }

  /** After a restore: no shape used yet (each as recent as its place in the graph says, dependents before their dependencies). */
  reset(): void {
    this.#order.clear();
  }

  forget(handle: string): void {
    this.#order.delete(handle);
  }

  /**
   * Up to `count` shapes to evict, least recently used first, never one that
   * still has a dependent not also chosen (dependents go first).
   */
  evictionCandidates(count: number): string[] {
    const chosen: string[] = [];
    const chosenSet = new Set<string>();
    for (const handle of this.#leastRecentFirst()) {
      if (chosen.length >= count) break;
      const dependents = this.graph.dependentsOf(handle);
      let blocked = false;
      for (const d of dependents) if (!chosenSet.has(d)) blocked = true;
      if (blocked) continue;
      chosen.push(handle);
      chosenSet.add(handle);
    }
    return chosen;
  }

  *#leastRecentFirst(): Generator<string> {
    const unused = [...this.graph.handles()].filter((h) => !this.#order.has(h));
    for (let i = unused.length - 1; i >= 0; i--) yield unused[i]!;
    yield* this.#order.keys();
  }
}
