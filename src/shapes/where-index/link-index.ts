/**
 * The inverted index behind `link` routes (`col IN (SELECT ...)`): link value -> the dependency
 * shapes whose current values hold it -> the shapes that link to them. A row's link key (the
 * same `linkKey` the evaluator looks up) then finds, in one lookup, every dependent shape it may
 * enter, whatever the number of dependencies.
 *
 * It keeps a copy of each linked dependency's values (seeded once from its materializer, then
 * moved with each move-in and move-out, inside the transaction, before the dependents are
 * routed). Until a dependency is seeded, every shape linked to it is a candidate for every row
 * (routed when in doubt, never missed). Linking the first shape of a group to a dependency, and
 * unlinking the last, costs the dependency's number of values; every other link and unlink is O(1).
 */
import { HandleBuckets } from './handle-buckets.ts';

/** The link routes of one table through one list of test columns; S: how a shape is held (its object in the where index). */
export class LinkGroup<S = string> {
  /** Dependency -> the shapes linked to it through these columns. */
  readonly shapesOf = new Map<string, Set<S>>();
  /** Link value -> the seeded dependencies (among `shapesOf`'s) that hold it. */
  readonly dependenciesOf = new HandleBuckets();
  /** Dependencies of `shapesOf` not seeded yet: their shapes are candidates for every row. */
  readonly unseeded = new Set<string>();

  constructor(readonly columns: readonly string[]) {}
}

export class LinkIndex<S = string> {
  /** A seeded dependency's current values. */
  readonly #values = new Map<string, Set<string>>();
  /** Dependency -> the groups that link shapes to it. */
  readonly #groups = new Map<string, Set<LinkGroup<S>>>();
  readonly #unseeded = new Set<string>();

  /** Linked dependencies whose values the index does not have yet. */
  unseeded(): ReadonlySet<string> {
    return this.#unseeded;
  }

  /** The values the index holds for a dependency (undefined while unseeded or unlinked). */
  valuesOf(dependency: string): ReadonlySet<string> | undefined {
    return this.#values.get(dependency);
  }

  link(group: LinkGroup<S>, dependency: string, shape: S): void {
    let shapes = group.shapesOf.get(dependency);
    if (!shapes) {
      group.shapesOf.set(dependency, (shapes = new Set()));
      let groups = this.#groups.get(dependency);
      if (!groups) {
        this.#groups.set(dependency, (groups = new Set()));
        this.#unseeded.add(dependency);
      }
      groups.add(group);
      const values = this.#values.get(dependency);
      if (values) for (const value of values) group.dependenciesOf.add(value, dependency);
      else group.unseeded.add(dependency);
    }
    shapes.add(shape);
  }

  unlink(group: LinkGroup<S>, dependency: string, shape: S): void {
    const shapes = group.shapesOf.get(dependency);
    if (!shapes?.delete(shape) || shapes.size > 0) return;
    group.shapesOf.delete(dependency);
    group.unseeded.delete(dependency);
    const values = this.#values.get(dependency);
    if (values) for (const value of values) group.dependenciesOf.delete(value, dependency);
    const groups = this.#groups.get(dependency)!;
    groups.delete(group);
    if (groups.size > 0) return;
    this.#groups.delete(dependency);
    this.#values.delete(dependency);
    this.#unseeded.delete(dependency);
  }

  /** Takes a dependency's whole current value set (a materializer's), replacing what was held. */
  seed(dependency: string, values: Iterable<string>): void {
    const groups = this.#groups.get(dependency);
    if (!groups) return;
    const old = this.#values.get(dependency);
    if (old) for (const group of groups) for (const value of old) group.dependenciesOf.delete(value, dependency);
    const held = new Set(values);
    this.#values.set(dependency, held);
    this.#unseeded.delete(dependency);
    for (const group of groups) {
      group.unseeded.delete(dependency);
      for (const value of held) group.dependenciesOf.add(value, dependency);
    }
  }

  /** A dependency's values moved (a materializer's move-ins and move-outs). */
  move(dependency: string, movedIn: Iterable<string>, movedOut: Iterable<string>): void {
    const values = this.#values.get(dependency);
    const groups = this.#groups.get(dependency);
    if (!values || !groups) return;
    for (const value of movedOut) {
      if (!values.delete(value)) continue;
      for (const group of groups) group.dependenciesOf.delete(value, dependency);
    }
    for (const value of movedIn) {
      if (values.has(value)) continue;
      values.add(value);
      for (const group of groups) group.dependenciesOf.add(value, dependency);
    }
  }

  /** Forgets a dependency's values (its materializer stopped): its shapes are candidates again until it is seeded anew. */
  unseed(dependency: string): void {
    const groups = this.#groups.get(dependency);
    const values = this.#values.get(dependency);
    if (!groups || !values) return;
    for (const group of groups) {
      for (const value of values) group.dependenciesOf.delete(value, dependency);
      group.unseeded.add(dependency);
    }
    this.#values.delete(dependency);
    this.#unseeded.add(dependency);
  }
}
