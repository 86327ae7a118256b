import { linkKey } from '../shapes/where/link-key.ts';
import type { LogEntry } from '../storage/storage.ts';

/** Values that appeared (move-in) and disappeared (move-out) with one batch of entries. */
export interface LinkMovement {
  readonly movedIn: readonly string[];
  readonly movedOut: readonly string[];
}

/**
 * A dependency shape's link values as a counted set: row key -> the row's
 * value (the tuple of selected columns, linkKey-encoded), value -> how many
 * rows hold it. A value leaves only with its last row. Mutable on purpose: a
 * copy per transaction would cost O(values).
 */
export class CountedLinkSet {
  /** Row key -> the row's selected column values (kept whole: an update may carry only some). */
  readonly #tupleOfRow = new Map<string, readonly unknown[]>();
  readonly #counts = new Map<string, number>();

  constructor(readonly columns: readonly string[]) {}

  get size(): number {
    return this.#counts.size;
  }

  has(value: string): boolean {
    return this.#counts.has(value);
  }

  /** Sorted, for people and for `getLinkValues`. */
  values(): string[] {
    return [...this.#counts.keys()].sort();
  }

  /** Applies log entries in order; says which values moved in or out overall. */
  apply(entries: readonly LogEntry[]): LinkMovement {
    const before = new Map<string, number>();
    const bump = (value: string | null, delta: 1 | -1): void => {
      if (value === null) return;
      const count = this.#counts.get(value) ?? 0;
      if (!before.has(value)) before.set(value, count);
      if (count + delta > 0) this.#counts.set(value, count + delta);
      else this.#counts.delete(value);
    };
    for (const entry of entries) {
      const previous = this.#tupleOfRow.get(entry.key);
      const previousValue = previous ? linkKey(previous) : null;
      if (entry.op === 'delete') {
        if (previous) bump(previousValue, -1);
        this.#tupleOfRow.delete(entry.key);
        continue;
      }
      // An update may carry only the changed columns: a column it lacks keeps its value.
      const tuple = this.columns.map((c, i) => (c in entry.row || !previous || entry.op !== 'update' ? entry.row[c] : previous[i]));
      const value = linkKey(tuple);
      this.#tupleOfRow.set(entry.key, tuple);
      if (previous && previousValue === value) continue;
      if (previous) bump(previousValue, -1);
      bump(value, 1);
    }
    const movedIn: string[] = [];
    const movedOut: string[] = [];
    for (const [value, count] of before) {
      const now = this.#counts.get(value) ?? 0;
      if (count === 0 && now > 0) movedIn.push(value);
      else if (count > 0 && now === 0) movedOut.push(value);
    }
    return { movedIn, movedOut };
  }
}
