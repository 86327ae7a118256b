import type { DependencyGraph } from '../graph/dependency-graph.ts';

/**
 * Least-recently-used order of shapes, for expiry. A dependency counts as
 * used whenever one of its dependents is, so it is always at least as recent
 * as its dependents and is never evicted before them.
 */
export class ShapeUsage {
  /** Insertion order is recency order: the first key is the least recently used. */
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

  /** After a restore: every shape as recent as its place says, dependents before their dependencies. */
  reset(dependentsFirst: Iterable<string>): void {
    this.#order.clear();
    for (const handle of dependentsFirst) this.#order.set(handle, true);
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
    for (const handle of this.#order.keys()) {
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
}
