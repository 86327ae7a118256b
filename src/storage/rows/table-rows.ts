import { linkKey } from '../../shapes/where/link-key.ts';
import type { TableColumnTypes } from '../../shapes/column-types.ts';
import type { Row } from '../../shapes/where/evaluate.ts';
import { equalityKey, type EqualityKey } from '../../shapes/where-index/equality-keys.ts';
import { columnSqlTypes } from '../../shapes/where/sql-types.ts';
import type { KeyedRow } from './row-store.ts';

/** What an index files rows under: a column's equality keys (and NULL), or a column tuple's link key. */
export type IndexSpec = { readonly kind: 'value'; readonly column: string } | { readonly kind: 'link'; readonly columns: readonly string[] };

/** The key a value index files NULL (and absent) values under; equality keys never start with `-`. */
export const NULL_KEY = '-null';

interface Index {
  readonly keysOf: (row: Row) => readonly EqualityKey[];
  /** Index key -> keys of the rows filed under it. */
  readonly rows: Map<EqualityKey, Set<string>>;
}

/**
 * One table's current rows, by key, with indexes (built on first use, then
 * kept current by every change): a column's equality keys (the where-clause
 * index's, so a lookup is never narrower than the evaluator's `=`) for
 * snapshots, a column tuple's link key for move-ins and subquery snapshots.
 */
export class TableRows {
  readonly rows = new Map<string, Row>();
  readonly #indexes = new Map<string, Index>();
  #columnTypes: TableColumnTypes | undefined;

  constructor(
    readonly name: string,
    readonly keyColumns: readonly string[],
  ) {}

  /** The table's column types (link keys are read in them); undefined: each value's JSON type. */
  get columnTypes(): TableColumnTypes | undefined {
    return this.#columnTypes;
  }

  set columnTypes(types: TableColumnTypes | undefined) {
    this.#columnTypes = types;
    this.#indexes.clear();
  }

  get(key: string): Row | undefined {
    return this.rows.get(key);
  }

  /** Sets (or, with null, deletes) a row, keeping the indexes current. */
  set(key: string, after: Row | null): void {
    const before = this.rows.get(key);
    if (after) this.rows.set(key, after);
    else this.rows.delete(key);
    for (const index of this.#indexes.values()) {
      const old = before ? index.keysOf(before) : [];
      const now = after ? index.keysOf(after) : [];
      if (old.length === now.length && old.every((k, i) => k === now[i])) continue;
      for (const k of old) {
        const keys = index.rows.get(k);
        keys?.delete(key);
        if (keys?.size === 0) index.rows.delete(k);
      }
      for (const k of now) fileUnder(index.rows, k, key);
    }
  }

  /** Rows filed under any of `keys` in the index `spec` (a row under two of them comes twice). */
  lookup(spec: IndexSpec, keys: Iterable<EqualityKey>): KeyedRow[] {
    const index = this.#index(spec);
    const out: KeyedRow[] = [];
    for (const k of keys) for (const key of index.rows.get(k) ?? []) out.push({ key, row: this.rows.get(key)! });
    return out;
  }

  #index(spec: IndexSpec): Index {
    const id = spec.kind === 'value' ? `v${spec.column}` : `l${JSON.stringify(spec.columns)}`;
    let index = this.#indexes.get(id);
    if (!index) {
      index = { keysOf: keysOf(spec, this.#columnTypes), rows: new Map() };
      for (const [key, row] of this.rows) for (const k of index.keysOf(row)) fileUnder(index.rows, k, key);
      this.#indexes.set(id, index);
    }
    return index;
  }
}

function keysOf(spec: IndexSpec, types: TableColumnTypes | undefined): (row: Row) => readonly EqualityKey[] {
  if (spec.kind === 'value') {
    const { column } = spec;
    const type = types ? columnSqlTypes(types).get(column) : undefined;
    return (row) => {
      const value = row[column];
      if (value === null || value === undefined) return [NULL_KEY];
      const key = equalityKey(value, type);
      return key === null ? [] : [key];
    };
  }
  const columns = [...spec.columns];
  const columnTypes = columns.map((c) => types?.[c]);
  return (row) => {
    const value = linkKey(
      columns.map((c) => row[c]),
      columnTypes,
    );
    return value === null ? [] : [value];
  };
}

function fileUnder(index: Map<EqualityKey, Set<string>>, k: EqualityKey, key: string): void {
  let keys = index.get(k);
  if (!keys) index.set(k, (keys = new Set()));
  keys.add(key);
}
