/**
 * The types a where clause is judged in, and how Postgres picks them: the type two operands are
 * compared in (operator resolution, `parse_oper.c`) and the common type of an IN list
 * (`select_common_type`, `parse_coerce.c`), for the types the evaluator implements.
 *
 * - `int2` `int4` `int8` `numeric`: exact numbers; compared exactly with one another.
 * - `float4` `float8`: IEEE numbers; anything compared with a float is compared as `float8`
 *   (float4 widened exactly, numeric and int8 rounded to the nearest double), float4 with float4
 *   as `float4`. Postgres orders NaN above every number and equal to itself; -0 equals 0.
 * - `text` (also `varchar`): by code point (the C collation).
 * - `bool`.
 * - `unknown`: a quoted literal (or NULL) before it takes the type of what it is compared with.
 * - `json`: a JSON object or array in a table without declared types (equal when its JSON text is;
 *   a number there is `float8`, a string `text`, a boolean `bool`).
 * - `opaque:<type>` (`uuid`, `date`, `timestamp`, `timestamptz`, `time`, `bytea`): equal when the
 *   text Postgres prints is, compared only with the same type (and a `uuid` with a quoted literal).
 * - `unsupported:<type>`: everything else; only `IS [NOT] NULL` reads it.
 */
import type { ColumnType, TableColumnTypes } from '../column-types.ts';

export type NumericSqlType = 'int2' | 'int4' | 'int8' | 'numeric' | 'float4' | 'float8';
export type SqlType = NumericSqlType | 'text' | 'bool' | 'unknown' | 'json' | `opaque:${string}` | `unsupported:${string}`;

/** Rank in Postgres' implicit numeric casts: a type casts implicitly to every type ranked above it. */
const NUMERIC_RANK: Readonly<Record<NumericSqlType, number>> = { int2: 0, int4: 1, int8: 2, numeric: 3, float4: 4, float8: 5 };
const OPAQUE = new Set(['uuid', 'date', 'timestamp', 'timestamptz', 'time', 'bytea']);

export function isNumericType(t: SqlType): t is NumericSqlType {
  return t in NUMERIC_RANK;
}

export function isFloatType(t: SqlType): t is 'float4' | 'float8' {
  return t === 'float4' || t === 'float8';
}

export function isExactType(t: SqlType): t is 'int2' | 'int4' | 'int8' | 'numeric' {
  return isNumericType(t) && !isFloatType(t);
}

/** The type a column of this declared or catalog type is judged in. */
export function sqlTypeOf(column: ColumnType): SqlType {
  if (column.dims !== undefined && column.dims > 0) return `unsupported:${column.type}[]`;
  const t = column.base ?? column.type;
  if (t in NUMERIC_RANK || t === 'bool') return t as SqlType;
  if (t === 'text' || t === 'varchar') return column.collation && !column.collation.deterministic ? `unsupported:${t} COLLATE "${column.collation.name}"` : 'text';
  if (OPAQUE.has(t)) return `opaque:${t}`;
  return `unsupported:${t}`;
}

/**
 * The type of a value in a column without a declared type: its JSON type (a JSON number is a
 * double: `float8`, as the embedded store's inferred schema tells clients).
 */
export function valueSqlType(value: unknown): SqlType {
  switch (typeof value) {
    case 'number':
      return 'float8';
    case 'bigint':
      return 'numeric';
    case 'string':
      return 'text';
    case 'boolean':
      return 'bool';
    default:
      return value === null || value === undefined ? 'unknown' : 'json';
  }
}

const cache = new WeakMap<TableColumnTypes, ReadonlyMap<string, SqlType>>();

/** A table's columns as SqlTypes (computed once per TableColumnTypes object). */
export function columnSqlTypes(types: TableColumnTypes): ReadonlyMap<string, SqlType> {
  let out = cache.get(types);
  if (!out) cache.set(types, (out = new Map(Object.entries(types).map(([name, t]) => [name, sqlTypeOf(t)]))));
  return out;
}

/** What a quoted literal becomes when compared with `t`, or null when Postgres has no input for it here. */
export function literalTarget(t: SqlType): SqlType | null {
  if (t === 'unknown') return 'text';
  if (isNumericType(t) || t === 'text' || t === 'bool' || t === 'opaque:uuid') return t;
  return null;
}

/**
 * The type `l op r` compares in (`=`, `<`, ..., IS DISTINCT FROM, one item of an IN list), or
 * null when Postgres has no such operator (it would refuse the clause: `text = integer`).
 */
export function comparisonType(l: SqlType, r: SqlType): SqlType | null {
  if (l === 'unknown') return literalTarget(r);
  if (r === 'unknown') return literalTarget(l);
  if (isNumericType(l) && isNumericType(r)) {
    if (isFloatType(l) || isFloatType(r)) return l === 'float4' && r === 'float4' ? 'float4' : 'float8';
    return NUMERIC_RANK[l] >= NUMERIC_RANK[r] ? l : r;
  }
  if (l === r && !l.startsWith('unsupported:')) return l;
  return null;
}

function category(t: SqlType): string {
  if (isNumericType(t)) return 'N';
  return t;
}

/**
 * `select_common_type`: the type an IN list's constants (with the tested expression first) are
 * cast to, or null when there is none (Postgres then compares item by item).
 */
export function commonType(types: readonly SqlType[]): SqlType | null {
  let p: SqlType = types[0] ?? 'unknown';
  for (let i = 1; i < types.length; i++) {
    const n = types[i]!;
    if (n === 'unknown' || n === p) continue;
    if (p === 'unknown') {
      p = n;
      continue;
    }
    if (category(n) !== category(p)) return null;
    // Take the new type when the current one casts to it implicitly and not back, unless the current is preferred (float8).
    if (isNumericType(p) && isNumericType(n) && p !== 'float8' && NUMERIC_RANK[n] > NUMERIC_RANK[p]) p = n;
  }
  if (p === 'unknown') return 'text';
  return p.startsWith('unsupported:') ? null : p;
}

/** Type names as Postgres prints them in messages. */
export function sqlTypeName(t: SqlType): string {
  switch (t) {
    case 'int2':
      return 'smallint';
    case 'int4':
      return 'integer';
    case 'int8':
      return 'bigint';
    case 'float4':
      return 'real';
    case 'float8':
      return 'double precision';
    case 'bool':
      return 'boolean';
    default:
      return t.replace(/^(opaque|unsupported):/, '');
  }
}
