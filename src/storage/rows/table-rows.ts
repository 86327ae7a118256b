import { linkKey } from '../../shapes/where/link-key.ts';
import type { Row } from '../../shapes/where/evaluate.ts';
import type { KeyedRow } from './row-store.ts';

/** `columns` tuple value (linkKey) -> keys of the rows holding it. */
type LinkIndex = Map<string, Set<string>>;

/**
 * One table's current rows, by key, with indexes on column tuples (built on
 * first use, then kept current by every change): the lookups of move-ins and
 * of snapshots with equality conditions read only the rows they name.
 */
export class TableRows {
  readonly rows = new Map<string, Row>();
  readonly #indexes = new Map<string, { readonly columns: readonly string[]; readonly byValue: LinkIndex }>();

  constructor(
    readonly name: string,
    readonly keyColumns: readonly string[],
  ) {}

  get(key: string): Row | undefined {
    return this.rows.get(key);
  }

  /** Sets (or, with null, deletes) a row, keeping the indexes current. */
  set(key: string, after: Row | null): void {
    const before = this.rows.get(key);
    if (after) this.rows.set(key, after);
    else this.rows.delete(key);
    for (const { columns, byValue } of this.#indexes.values()) {
      const old = before ? linkKey(columns.map((c) => before[c])) : null;
      const now = after ? linkKey(columns.map((c) => after[c])) : null;
      if (old === now) continue;
      if (old !== null) {
        const keys = byValue.get(old);
        keys?.delete(key);
        if (keys?.size === 0) byValue.delete(old);
      }
      if (now !== null) addTo(byValue, now, key);
    }
  }

  /** Rows whose `columns` tuple has one of `values` (linkKey encoding). */
  withValues(columns: readonly string[], values: Iterable<string>): KeyedRow[] {
    const index = this.#index(columns);
    const out: KeyedRow[] = [];
    for (const value of values) for (const key of index.get(value) ?? []) out.push({ key, row: this.rows.get(key)! });
    return out;
  }

  /** How many rows hold each of `values`, without reading them. */
  countWithValues(columns: readonly string[], values: Iterable<string>): number {
    const index = this.#index(columns);
    let n = 0;
    for (const value of values) n += index.get(value)?.size ?? 0;
    return n;
  }

  #index(columns: readonly string[]): LinkIndex {
    const id = JSON.stringify(columns);
    let index = this.#indexes.get(id);
    if (!index) {
      const byValue: LinkIndex = new Map();
      for (const [key, row] of this.rows) {
        const value = linkKey(columns.map((c) => row[c]));
        if (value !== null) addTo(byValue, value, key);
      }
      index = { columns: [...columns], byValue };
      this.#indexes.set(id, index);
    }
    return index.byValue;
  }
}

function addTo(index: LinkIndex, value: string, key: string): void {
  let keys = index.get(value);
  if (!keys) index.set(value, (keys = new Set()));
  keys.add(key);
}
