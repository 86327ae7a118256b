import type { TableColumnTypes } from '../shapes/column-types.ts';
import type { Row } from '../shapes/where/evaluate.ts';

/** A column as a client learns it (Electric's `electric-schema`). */
export interface ShapeColumn {
  readonly name: string;
  /**
   * The Postgres type name (`int4`, `text`, `bool`; an array's element type, with `dims`), or
   * null when unknown (the embedded store saw no value of it yet, or values of several kinds).
   */
  readonly type: string | null;
  readonly dims?: number;
  /** Position in the primary key, for key columns. */
  readonly pkIndex?: number;
  readonly notNull?: boolean;
}

/**
 * What a table looks like: from the database catalog when following Postgres; on the embedded
 * store, its declared column types (`columnTypes`) with what its rows show of the columns not
 * declared, else inferred from the rows.
 */
export interface TableSchema {
  readonly source: 'catalog' | 'declared' | 'inferred';
  /** False only when the catalog has no such table (inferred schemas know of no absent table). */
  readonly exists: boolean;
  /** In the table's column order (catalog), the declared order then the order first seen (declared), or the order first seen (inferred). */
  readonly columns: readonly ShapeColumn[];
}

/** Where column types come from when a database is followed (the Postgres source provides one). */
export interface TableCatalog {
  /** The table's columns, or null when the database has no such table. */
  columnsOf(table: string): Promise<readonly ShapeColumn[] | null>;
}

/**
 * Column types from the values the embedded store holds (it records no declared types): a
 * column whose values are all JSON numbers is `float8` (a client reads every JSON number back
 * exactly from it), booleans `bool`, strings `text`, objects and arrays `jsonb`; a column with
 * no value yet, or values of several kinds, has no type (null).
 */
export function inferColumns(rows: Iterable<Row>, keyColumns: readonly string[]): ShapeColumn[] {
  const kinds = new Map<string, string | null | undefined>();
  for (const column of keyColumns) kinds.set(column, undefined);
  for (const row of rows) {
    for (const [column, value] of Object.entries(row)) {
      const kind = kindOf(value);
      const seen = kinds.get(column);
      if (kind === undefined) {
        if (!kinds.has(column)) kinds.set(column, undefined);
      } else if (seen === undefined) kinds.set(column, kind);
      else if (seen !== kind) kinds.set(column, null);
    }
  }
  return [...kinds].map(([name, kind]) => {
    const pkIndex = keyColumns.indexOf(name);
    return { name, type: kind ?? null, ...(pkIndex >= 0 ? { pkIndex } : {}) };
  });
}

/**
 * The embedded store's columns of a table with declared types: each declared column with its
 * declared type (an array's element type, with `dims`; `notNull` when declared), in the
 * declared order, then the columns its rows hold that were not declared, typed by their values.
 */
export function declaredColumns(types: TableColumnTypes, inferred: readonly ShapeColumn[], keyColumns: readonly string[]): ShapeColumn[] {
  const declared = Object.entries(types).map(([name, t]): ShapeColumn => {
    const pkIndex = keyColumns.indexOf(name);
    return { name, type: t.type, ...(t.dims ? { dims: t.dims } : {}), ...(pkIndex >= 0 ? { pkIndex } : {}), ...(t.notNull ? { notNull: true } : {}) };
  });
  return [...declared, ...inferred.filter((c) => !Object.hasOwn(types, c.name))];
}

/** The columns a shape's rows hold: its selected columns (key columns always kept), in table order. */
export function shapeColumns(table: readonly ShapeColumn[], keyColumns: readonly string[], selected: readonly string[] | undefined): ShapeColumn[] {
  const byName = new Map(table.map((c) => [c.name, c]));
  const names = selected ? [...keyColumns, ...selected.filter((c) => !keyColumns.includes(c))] : [...byName.keys()];
  return names.map((name) => {
    const column = byName.get(name) ?? { name, type: null };
    const pkIndex = keyColumns.indexOf(name);
    return pkIndex >= 0 ? { ...column, pkIndex } : column;
  });
}

function kindOf(value: unknown): string | undefined {
  switch (typeof value) {
    case 'number':
      return 'float8';
    case 'boolean':
      return 'bool';
    case 'string':
      return 'text';
    case 'object':
      return value === null ? undefined : 'jsonb';
    default:
      return undefined;
  }
}
