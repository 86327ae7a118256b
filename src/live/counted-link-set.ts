import type { ColumnType, TableColumnTypes } from '../shapes/column-types.ts';
import { linkElements, tupleKey } from '../shapes/where/link-key.ts';
import type { LogEntry } from '../storage/storage.ts';
import { TupleIndex, type LinkSet } from '../shapes/where/link-set.ts';

/**
 * Tuples that appeared (move-in) and disappeared (move-out) with one batch of
 * entries (NULL-holding tuples included: a first NULL changes `x NOT IN`),
 * and how many distinct tuples there are after it (0: the subquery is empty).
 */
export interface LinkMovement {
  readonly movedIn: readonly string[];
  readonly movedOut: readonly string[];
  readonly size: number;
}

/**
 * A dependency shape's link values as a counted set: row key -> the row's
 * tuple of selected column values, tuple -> how many rows hold it. A tuple
 * leaves only with its last row. Tuples holding NULL are kept too: SQL's
 * `x IN (SELECT ...)` is UNKNOWN, not FALSE, when the subquery selects a
 * NULL, and FALSE for a NULL x only when it selects nothing. Mutable on
 * purpose: a copy per transaction would cost O(values).
 */
export class CountedLinkSet implements LinkSet {
  /** Row key -> the row's selected column values (kept whole: an update may carry only some). */
  readonly #tupleOfRow = new Map<string, readonly unknown[]>();
  readonly #counts = new Map<string, number>();
  readonly #tuples = new TupleIndex();
  readonly #types: readonly (ColumnType | undefined)[];

  /** `types`: the dependency table's column types (none: each value's JSON type). */
  constructor(
    readonly columns: readonly string[],
    types?: TableColumnTypes,
  ) {
    this.#types = columns.map((c) => types?.[c]);
  }

  /** Distinct tuples. */
  get size(): number {
    return this.#counts.size;
  }

  has(tuple: string): boolean {
    return this.#counts.has(tuple);
  }

  compatibleCount(elements: readonly (string | null)[]): number {
    return this.#tuples.compatibleCount(elements);
  }

  /** Sorted, for people and for `getLinkValues`. */
  values(): string[] {
    return [...this.#counts.keys()].sort();
  }

  #key(tuple: readonly unknown[]): string {
    return tupleKey(linkElements(tuple, this.#types));
  }

  /** Applies log entries in order; says which tuples moved in or out overall. */
  apply(entries: readonly LogEntry[]): LinkMovement {
    const before = new Map<string, number>();
    const bump = (value: string, delta: 1 | -1): void => {
      const count = this.#counts.get(value) ?? 0;
      if (!before.has(value)) before.set(value, count);
      if (count + delta > 0) this.#counts.set(value, count + delta);
      else this.#counts.delete(value);
      if (count === 0) this.#tuples.add(value);
      else if (count + delta === 0) this.#tuples.delete(value);
    };
    for (const entry of entries) {
      const previous = this.#tupleOfRow.get(entry.key);
      const previousValue = previous ? this.#key(previous) : null;
      if (entry.op === 'delete') {
        if (previousValue !== null) bump(previousValue, -1);
        this.#tupleOfRow.delete(entry.key);
        continue;
      }
      // An update may carry only the changed columns: a column it lacks keeps its value.
      const tuple = this.columns.map((c, i) => (c in entry.row || !previous || entry.op !== 'update' ? entry.row[c] : previous[i]));
      const value = this.#key(tuple);
      this.#tupleOfRow.set(entry.key, tuple);
      if (previousValue === value) continue;
      if (previousValue !== null) bump(previousValue, -1);
      bump(value, 1);
    }
    const movedIn: string[] = [];
    const movedOut: string[] = [];
    for (const [value, count] of before) {
      const now = this.#counts.get(value) ?? 0;
      if (count === 0 && now > 0) movedIn.push(value);
      else if (count > 0 && now === 0) movedOut.push(value);
    }
    return { movedIn, movedOut, size: this.#counts.size };
  }
}

const movedSets = new WeakMap<LinkMovement, { readonly movedIn: TupleIndex; readonly movedOut: TupleIndex }>();

/**
 * The link set as it was before a batch, from the set after it (`now`) and the
 * batch's movement: what moved in was not there, what moved out was.
 */
export function linkSetBefore(now: LinkSet, moves: LinkMovement): LinkSet {
  let sets = movedSets.get(moves);
  if (!sets) {
    const movedIn = new TupleIndex();
    const movedOut = new TupleIndex();
    for (const t of moves.movedIn) movedIn.add(t);
    for (const t of moves.movedOut) movedOut.add(t);
    movedSets.set(moves, (sets = { movedIn, movedOut }));
  }
  const { movedIn, movedOut } = sets;
  return {
    has: (tuple) => movedOut.has(tuple) || (!movedIn.has(tuple) && now.has(tuple)),
    compatibleCount: (elements) => now.compatibleCount(elements) - movedIn.compatibleCount(elements) + movedOut.compatibleCount(elements),
  };
}
