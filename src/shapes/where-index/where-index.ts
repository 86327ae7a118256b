/**
 * The where-clause index: per table, from a row to the shapes whose where clause it may match,
 * in time that does not grow with the number of shapes on the table (only with the number of
 * shapes found, and of shapes no index can serve). Each shape is filed under its routes
 * (routes.ts): hash buckets per column and equality key, NULL lists per column, and the link
 * index for subqueries (link-index.ts); a shape without routes is on its table's linear list and
 * a shape without a where clause on its table's list of shapes that take every row.
 *
 * `candidates` is the superset; `matching` checks each candidate's where clause on the row (the
 * residual) with the link values it is given, and so answers exactly the shapes the row matches.
 * Adding and removing a shape cost O(size of its where clause); see link-index.ts for the one
 * exception (the first and last link of a dependency).
 */
import type { WhereExpr } from '../where/ast.ts';
import { evaluateWhere, type LinkSet, type Row } from '../where/evaluate.ts';
import { linkKey } from '../where/link-key.ts';
import { equalityKey, type EqualityKey } from './equality-keys.ts';
import type { TableColumnTypes } from '../column-types.ts';
import { columnSqlTypes } from '../where/sql-types.ts';
import { HandleBuckets } from './handle-buckets.ts';
import { LinkGroup, LinkIndex } from './link-index.ts';
import { planRoutes, type RoutePlan } from './routes.ts';

/** A shape as the index knows it. */
export interface IndexedShape {
  readonly handle: string;
  /** Normalized, schema-qualified. */
  readonly table: string;
  readonly where?: WhereExpr | undefined;
  /** The handles of its subqueries' dependency shapes, in subquery order. */
  readonly dependencyHandles: readonly string[];
}

/** How a shape is found: through its routes, by checking every row, or for every row (no where clause). */
export type RouteKind = 'indexed' | 'linear' | 'every-row';

/** A dependency's current link values, or undefined when they cannot be had (then the shape is a candidate). */
export type LinkLookup = (dependencyHandle: string) => LinkSet | undefined;

/** One table's routes; each holds the shape objects themselves (a lookup finds them without a lookup by handle). */
class TableIndex<S extends IndexedShape> {
  readonly everyRow = new Set<S>();
  readonly linear = new Set<S>();
  readonly values = new Map<string, HandleBuckets<EqualityKey, S>>();
  readonly nulls = new Map<string, Set<S>>();
  readonly links = new Map<string, LinkGroup<S>>();
  size = 0;
}

const NO_LINKS = (): LinkSet => EMPTY;
const EMPTY: LinkSet = { has: () => false, compatibleCount: () => 0 };

/**
 * Where the index finds a filed shape by its handle: its own Map, or its owner's store (the
 * registry's records), which then holds each shape from before it is added until after it is
 * removed, so the index keeps nothing per shape but its routes.
 */
export interface IndexedShapes<S extends IndexedShape> {
  get(handle: string): S | undefined;
}

/** S: the objects it files and answers (the registry's records); a lookup hands back the very objects added. */
export class WhereIndex<S extends IndexedShape = IndexedShape> {
  readonly #tables = new Map<string, TableIndex<S>>();
  readonly #own: Map<string, S> | null;
  readonly #shapes: IndexedShapes<S>;
  #count = 0;
  readonly #links = new LinkIndex<S>();
  readonly #found: S[] = [];

  constructor(shapes?: IndexedShapes<S>) {
    this.#own = shapes ? null : new Map();
    this.#shapes = shapes ?? this.#own!;
  }

  get size(): number {
    return this.#count;
  }

  has(handle: string): boolean {
    return this.#shapes.get(handle) !== undefined;
  }

  routeKind(handle: string): RouteKind | undefined {
    const shape = this.#shapes.get(handle);
    if (!shape) return undefined;
    const plan = planOf(shape);
    return plan === null ? 'every-row' : plan.kind === 'linear' ? 'linear' : 'indexed';
  }

  /**
   * Files a shape under its routes. The index keeps the object it is given and nothing else
   * per shape: removal plans the same routes again from it (O(size of the clause)).
   */
  add(shape: S): void {
    if (this.#own?.has(shape.handle)) throw new Error(`shape ${shape.handle} is indexed already`);
    const plan = planOf(shape);
    if (plan?.kind === 'routes') {
      for (const route of plan.routes) {
        if (route.kind === 'link' && shape.dependencyHandles[route.dependency] === undefined) throw new Error(`shape ${shape.handle}: subquery ${route.dependency} has no dependency handle`);
      }
    }
    let table = this.#tables.get(shape.table);
    if (!table) this.#tables.set(shape.table, (table = new TableIndex<S>()));
    table.size++;
    this.#own?.set(shape.handle, shape);
    this.#count++;
    this.#file(table, shape, plan, true);
  }

  /** Forgets a shape: it is never a candidate again. Unknown handles are ignored. */
  remove(handle: string): void {
    const shape = this.#shapes.get(handle);
    if (!shape) return;
    this.#own?.delete(handle);
    this.#count--;
    const table = this.#tables.get(shape.table)!;
    this.#file(table, shape, planOf(shape), false);
    if (--table.size === 0) this.#tables.delete(shape.table);
  }

  /** Files a shape under its plan's routes, or takes it out of them; what empties goes, so a lookup never probes a column or a link group no shape uses. */
  #file(table: TableIndex<S>, shape: S, plan: RoutePlan | null, adding: boolean): void {
    if (plan === null) {
      if (adding) table.everyRow.add(shape);
      else table.everyRow.delete(shape);
      return;
    }
    if (plan.kind === 'linear') {
      if (adding) table.linear.add(shape);
      else table.linear.delete(shape);
      return;
    }
    for (const route of plan.routes) {
      if (route.kind === 'value') {
        let buckets = table.values.get(route.column);
        if (!buckets && adding) table.values.set(route.column, (buckets = new HandleBuckets<EqualityKey, S>()));
        if (!buckets) continue;
        for (const key of route.keys) {
          if (adding) buckets.add(key, shape);
          else buckets.delete(key, shape);
        }
        if (buckets.size === 0) table.values.delete(route.column);
      } else if (route.kind === 'null') {
        let set = table.nulls.get(route.column);
        if (!set && adding) table.nulls.set(route.column, (set = new Set()));
        if (!set) continue;
        if (adding) set.add(shape);
        else set.delete(shape);
        if (set.size === 0) table.nulls.delete(route.column);
      } else {
        const dependency = shape.dependencyHandles[route.dependency]!;
        const groupKey = JSON.stringify(route.columns);
        let group = table.links.get(groupKey);
        if (!group && adding) table.links.set(groupKey, (group = new LinkGroup<S>(route.columns)));
        if (!group) continue;
        if (adding) this.#links.link(group, dependency, shape);
        else this.#links.unlink(group, dependency, shape);
        if (group.shapesOf.size === 0) table.links.delete(groupKey);
      }
    }
  }

  /** Dependencies the link index needs the values of (`seedLinks` them; until then their dependents are always candidates). */
  dependenciesToSeed(): ReadonlySet<string> {
    return this.#links.unseeded();
  }

  seedLinks(dependency: string, values: Iterable<string>): void {
    this.#links.seed(dependency, values);
  }

  /** A dependency's values moved: call before routing its dependents. */
  moveLinks(dependency: string, movedIn: Iterable<string>, movedOut: Iterable<string>): void {
    this.#links.move(dependency, movedIn, movedOut);
  }

  /** Forgets a dependency's values (its materializer stopped). */
  unseedLinks(dependency: string): void {
    this.#links.unseed(dependency);
  }

  linkValuesOf(dependency: string): ReadonlySet<string> | undefined {
    return this.#links.valuesOf(dependency);
  }

  /**
   * Adds to `out` every shape of `table` that `row` may match (a superset: the where clauses are
   * not checked). `types`: the table's column types (none: each value's JSON type).
   */
  candidates(table: string, row: Row, out: Set<S>, types?: TableColumnTypes): void {
    const t = this.#tables.get(table);
    if (!t) return;
    for (const shape of t.everyRow) out.add(shape);
    for (const shape of this.#reach(t, row, types)) out.add(shape);
  }

  /** Adds to `out` every shape of `table` whose where clause `row` matches, with these link values. */
  matching(table: string, row: Row, links: LinkLookup, out: Set<S>, types?: TableColumnTypes): void {
    const t = this.#tables.get(table);
    if (!t) return;
    // (size checks: no iterator made per lookup for what a table does not use)
    if (t.everyRow.size > 0) for (const shape of t.everyRow) out.add(shape);
    for (const shape of this.#reach(t, row, types)) {
      if (!out.has(shape) && this.#matches(shape, row, links, types)) out.add(shape);
    }
  }

  /** The shapes of a table `row` reaches by their routes, and the linear ones (with repeats): in a buffer reused per call. */
  #reach(t: TableIndex<S>, row: Row, types: TableColumnTypes | undefined): readonly S[] {
    const sqlTypes = types && columnSqlTypes(types);
    const found = this.#found;
    found.length = 0;
    if (t.linear.size > 0) for (const shape of t.linear) found.push(shape);
    for (const [column, buckets] of t.values) {
      const key = equalityKey(valueOf(row, column), sqlTypes?.get(column));
      if (key !== null) buckets.appendTo(key, found);
    }
    if (t.nulls.size > 0) for (const [column, handles] of t.nulls) {
      const value = valueOf(row, column);
      if (value === undefined || value === null) for (const shape of handles) found.push(shape);
    }
    if (t.links.size > 0) for (const group of t.links.values()) {
      if (group.unseeded.size > 0) for (const dependency of group.unseeded) for (const shape of group.shapesOf.get(dependency)!) found.push(shape);
      const key = linkKey(
        group.columns.map((c) => valueOf(row, c)),
        group.columns.map((c) => types?.[c]),
      );
      if (key === null) continue;
      const held = group.dependenciesOf.get(key);
      if (held === undefined) continue;
      if (typeof held === 'string') for (const shape of group.shapesOf.get(held)!) found.push(shape);
      else for (const dependency of held) for (const shape of group.shapesOf.get(dependency)!) found.push(shape);
    }
    return found;
  }

  /** The residual: the shape's whole where clause on the row; a dependency without link values counts as a match. */
  #matches(shape: IndexedShape, row: Row, links: LinkLookup, types: TableColumnTypes | undefined): boolean {
    if (shape.where === undefined) return true;
    const deps = shape.dependencyHandles;
    if (deps.length === 0) return evaluateWhere(shape.where, row, NO_LINKS, types);
    const sets: LinkSet[] = [];
    for (const dep of deps) {
      const set = links(dep);
      if (set === undefined) return true;
      sets.push(set);
    }
    return evaluateWhere(shape.where, row, (i) => sets[i] ?? EMPTY, types);
  }
}

function planOf(shape: IndexedShape): RoutePlan | null {
  return shape.where === undefined ? null : planRoutes(shape.where);
}

/** A column's value as the evaluator reads it: an absent column is NULL (undefined here). */
function valueOf(row: Row, column: string): unknown {
  return Object.hasOwn(row, column) ? row[column] : undefined;
}
