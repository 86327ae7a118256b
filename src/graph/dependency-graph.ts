import type { Removal, RemovalReason } from './removal.ts';

/**
 * One shape's place in the graph: no Set until a first dependent comes (most shapes have none).
 * A caller may keep its own data on it (the registry's records extend it), so that a shape costs
 * one object and one Map entry for both. A node is in one graph at a time.
 */
export class GraphNode {
  /** 0 without dependencies, else 1 + the deepest dependency: the order transactions flow in; -1 while in no graph. */
  depth = -1;
  dependents: Set<string> | null = null;
  constructor(readonly dependencyHandles: readonly string[]) {}
}

const NONE: readonly string[] = Object.freeze([]);
const NO_DEPENDENTS: ReadonlySet<string> = new Set();

/**
 * The live dependency graph of running shapes: handle -> dependencies and dependents. Every
 * operation is proportional to the shapes it touches, never to the number of shapes held. It
 * keeps the dependency lists it is given (read-only, never copied) and a dependents Set only
 * for a shape that has dependents: at 100k sleeping shapes a node per shape (the registry's
 * record itself), not an entry, a copied array and an empty Set (the Set alone was about 150 B).
 */
export class DependencyGraph<N extends GraphNode = GraphNode> {
  readonly #entries = new Map<string, N>();

  get size(): number {
    return this.#entries.size;
  }

  has(handle: string): boolean {
    return this.#entries.has(handle);
  }

  /** The node a shape was added with. */
  node(handle: string): N | undefined {
    return this.#entries.get(handle);
  }

  dependenciesOf(handle: string): readonly string[] {
    return this.#entries.get(handle)?.dependencyHandles ?? NONE;
  }

  depthOf(handle: string): number {
    return this.#entries.get(handle)?.depth ?? 0;
  }

  dependentsOf(handle: string): ReadonlySet<string> {
    return this.#entries.get(handle)?.dependents ?? NO_DEPENDENTS;
  }

  handles(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /**
   * Adds a shape whose dependencies are all present. Adding one that points at a
   * missing handle is a programming error, refused here rather than discovered
   * later by a consumer asking a materializer that does not exist.
   */
  add(this: DependencyGraph, handle: string, dependencies: readonly string[]): void {
    this.addNode(handle, new GraphNode(dependencies.length === 0 ? NONE : dependencies));
  }

  /** `add`, with the caller's node (its dependencyHandles are the shape's dependencies). */
  addNode(handle: string, node: N): void {
    if (this.#entries.has(handle)) throw new Error(`shape ${handle} is already in the graph`);
    if (node.depth >= 0) throw new Error(`shape ${handle}: its node is in a graph already`);
    let depth = 0;
    for (const dep of node.dependencyHandles) {
      const entry = this.#entries.get(dep);
      if (!entry) throw new Error(`shape ${handle} depends on ${dep}, which is not in the graph`);
      depth = Math.max(depth, entry.depth + 1);
    }
    node.depth = depth;
    node.dependents = null;
    this.#entries.set(handle, node);
    for (const dep of node.dependencyHandles) (this.#entries.get(dep)!.dependents ??= new Set()).add(handle);
  }

  /**
   * The removal of `handle` and, transitively, of everything that depends on it:
   * breadth first, so each removal comes after the one that caused it.
   * Does not change the graph; `delete` each handle once the removal is carried out.
   */
  removalClosure(handle: string, reason: RemovalReason, cause: string | null = null, detail?: string): Removal[] {
    if (!this.#entries.has(handle)) return [];
    const first: Removal = detail === undefined ? { handle, reason, cause } : { handle, reason, cause, detail };
    const out: Removal[] = [first];
    const seen = new Set([handle]);
    for (let head = 0; head < out.length; head++) {
      const current = out[head]!.handle;
      for (const dependent of this.#entries.get(current)!.dependents ?? NONE) {
        if (seen.has(dependent)) continue;
        seen.add(dependent);
        out.push({ handle: dependent, reason: 'dependency-removed', cause: current });
      }
    }
    return out;
  }

  /** Removes one shape; its dependents must be gone already (or go in the same closure). */
  delete(handle: string): void {
    const entry = this.#entries.get(handle);
    if (!entry) return;
    this.#entries.delete(handle);
    entry.depth = -1;
    entry.dependents = null;
    for (const dep of entry.dependencyHandles) {
      const other = this.#entries.get(dep);
      if (other?.dependents?.delete(handle) && other.dependents.size === 0) other.dependents = null;
    }
  }

  /**
   * Every handle, dependencies before dependents. Reverse it to shut down.
   * Insertion order is one: `add` refuses a shape whose dependencies are not
   * in the graph, entries are never re-inserted, and deleting keeps the
   * order of the rest. (A Kahn pass here cost a second at shutdown of 100k shapes.)
   */
  topologicalOrder(): string[] {
    return [...this.#entries.keys()];
  }
}
