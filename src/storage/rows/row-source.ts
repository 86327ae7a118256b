import type { Row } from '../../shapes/where/evaluate.ts';

export interface KeyedRow {
  readonly key: string;
  readonly row: Row;
}

/**
 * Where move-ins find the rows that now qualify, and where the runtime finds
 * a row's previous version. The embedded TableStore is the default; a
 * database-backed source can stand in for it.
 */
export interface RowSource {
  /** The current row with this key, if any. */
  get(table: string, key: string): Row | undefined;
  /** Current rows whose `columns` tuple has one of the given link values (linkKey encoding); a database answers asynchronously. */
  rowsWithLinkValues(table: string, columns: readonly string[], values: ReadonlySet<string>): KeyedRow[] | Promise<KeyedRow[]>;
  /** Every current row of a table (a new shape's initial snapshot). */
  rows(table: string): Iterable<KeyedRow>;
}
