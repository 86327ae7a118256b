/**
 * Values as Postgres sees them: a column's value read as a value of the column's type (not of
 * the JavaScript type it arrived in), converted to the type a comparison is made in
 * (sql-types.ts), compared there, and keyed (`canonicalKey`: equal keys exactly when SQL `=` is
 * true).
 *
 * The evaluator's forms, by type:
 * - exact (`int2` `int4` `int8` `numeric`): a finite JS number (standing for its shortest decimal
 *   spelling), a Decimal (int8 and numeric arrive as decimal text when a double cannot hold
 *   them), or numeric's `'NaN'` / `'Infinity'` / `'-Infinity'`;
 * - `float4` / `float8`: a JS number (NaN and ±Infinity included; a float4 is its exact float4
 *   value, so `0.1` in a float4 column is 0.100000001490116...);
 * - `text` and opaque types: the string; `bool`: the boolean; `json`: the parsed JSON value.
 * A value that does not fit its column's type (`'abc'` in an int4 column) reads as INVALID and
 * compares as NULL; the row store refuses such rows in declared tables.
 */
import type { ColumnType } from '../column-types.ts';
import type { Exact } from './sql-input.ts';
import { compareExact, exactToFloat, InputError } from './sql-input.ts';
import type { SqlType } from './sql-types.ts';
import { comparisonType, isExactType, isFloatType, sqlTypeOf, valueSqlType } from './sql-types.ts';
import { compareCodePoints, decimalKey, decimalOfNumber, decimalToFloat32, parseDecimal } from './values.ts';

export const INVALID: unique symbol = Symbol('invalid value');

const INTEGER_TEXT = /^-?\d+$/;

/** A column's stored value (not NULL) as a value of its type, or INVALID. */
export function readValue(raw: unknown, t: SqlType): unknown {
  switch (t) {
    case 'int2':
    case 'int4':
    case 'int8':
      if (typeof raw === 'number') return Number.isInteger(raw) ? raw : INVALID;
      if (typeof raw === 'bigint' || (typeof raw === 'string' && INTEGER_TEXT.test(raw))) return exactOfInteger(String(raw));
      return INVALID;
    case 'numeric':
      if (typeof raw === 'number') return Number.isFinite(raw) ? raw : INVALID;
      if (typeof raw === 'bigint') return exactOfInteger(String(raw));
      if (typeof raw !== 'string') return INVALID;
      if (raw === 'NaN' || raw === 'Infinity' || raw === '-Infinity') return raw;
      return parseDecimal(raw) ?? INVALID;
    case 'float4':
    case 'float8': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (raw === 'NaN' || raw === 'Infinity' || raw === '-Infinity') n = Number(raw);
      else if (typeof raw === 'string') {
        const d = parseDecimal(raw);
        if (d === undefined) return INVALID;
        n = t === 'float4' ? decimalToFloat32(d) : Number(raw);
      } else return INVALID;
      return t === 'float4' ? Math.fround(n) : n;
    }
    case 'text':
      return typeof raw === 'string' ? raw : INVALID;
    case 'bool':
      return typeof raw === 'boolean' ? raw : INVALID;
    case 'json':
      return raw;
    default:
      return t.startsWith('opaque:') && typeof raw === 'string' ? raw : INVALID;
  }
}

function exactOfInteger(text: string): Exact {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : parseDecimal(text)!;
}

/** A value of type `from` as a value of `to` (the comparison's type), or INVALID when Postgres would fail. */
export function convertValue(v: unknown, from: SqlType, to: SqlType): unknown {
  if (from === to || (isExactType(from) && isExactType(to)) || (from === 'float4' && to === 'float8')) return v;
  if (isExactType(from) && isFloatType(to)) {
    const x = exactToFloat(v as Exact, to);
    return x instanceof InputError ? INVALID : x;
  }
  return INVALID;
}

/** Order of two values of type `t`: -1, 0, 1, or 2 for unequal values of a type without an order. */
export type Order = -1 | 0 | 1 | 2;

export function compareIn(t: SqlType, a: unknown, b: unknown): Order {
  if (isExactType(t)) return compareExact(a as Exact, b as Exact);
  if (isFloatType(t)) return compareFloats(a as number, b as number);
  switch (t) {
    case 'text':
      return compareCodePoints(a as string, b as string);
    case 'bool':
      return a === b ? 0 : a ? 1 : -1;
    case 'json':
      return a === b || JSON.stringify(a) === JSON.stringify(b) ? 0 : 2;
    default:
      return a === b ? 0 : 2;
  }
}

/** Postgres' float order: NaN equals NaN and sorts above everything; -0 equals 0. */
function compareFloats(a: number, b: number): -1 | 0 | 1 {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) return 0;
  const nanA = Number.isNaN(a);
  const nanB = Number.isNaN(b);
  return nanA && nanB ? 0 : nanA ? 1 : -1;
}

/**
 * The canonical key of a value of a column of type `type` (a ColumnType, a SqlType, or none: the
 * value's JSON type), or null for NULL (and for a value that does not fit the type). Two values
 * whose comparison Postgres makes exactly (every pair the runtime accepts: exact numbers with
 * exact numbers, floats with floats or with int2/int4, text with text, ...) have equal keys
 * exactly when SQL `=` is true: `'1.50'` and `'1.5'` in numeric columns, 7 in an int4 column and
 * 7.0 in a float8 one, NaN and NaN; but not `'07'` and `'7'` in text columns. A constant compared
 * with a column is keyed in the comparison's type (`constantKey`).
 *
 * Encoding: numbers `n<decimalKey>` (`n7e0`, `n-15e-1`, `nNaN`, `nInfinity`), text and opaque
 * types `s<text>`, booleans `b1` / `b0`, JSON `j<JSON text>`.
 */
export function canonicalKey(value: unknown, type?: ColumnType | SqlType): string | null {
  if (value === null || value === undefined) return null;
  const t = type === undefined ? valueSqlType(value) : typeof type === 'string' ? type : sqlTypeOf(type);
  const v = readValue(value, t);
  return v === INVALID ? null : keyIn(t, v);
}

/** The key of a value already in type `t`'s form. */
export function keyIn(t: SqlType, v: unknown): string {
  if (isExactType(t) || isFloatType(t)) {
    if (typeof v === 'number') return Number.isFinite(v) ? `n${numberKey(v)}` : `n${String(v)}`;
    if (typeof v === 'string') return `n${v}`;
    return `n${decimalKey(v as Exclude<Exact, number | string>)}`;
  }
  switch (t) {
    case 'bool':
      return v ? 'b1' : 'b0';
    case 'json':
      return `j${JSON.stringify(v)}`;
    default:
      return `s${v as string}`;
  }
}

function numberKey(n: number): string {
  if (!Number.isSafeInteger(n)) return decimalKey(decimalOfNumber(n)!);
  if (n === 0) return '0';
  let exp = 0;
  while (n % 10 === 0) {
    n /= 10;
    exp++;
  }
  return `${n}e${exp}`;
}

/** Two values in their JSON types' order, as a where clause compares them (for people); null when they do not compare. */
export function compareValues(a: unknown, b: unknown): -1 | 0 | 1 | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  const ta = valueSqlType(a);
  const tb = valueSqlType(b);
  const t = comparisonType(ta, tb);
  if (t === null) return null;
  const x = convertValue(readValue(a, ta), ta, t);
  const y = convertValue(readValue(b, tb), tb, t);
  if (x === INVALID || y === INVALID) return null;
  const order = compareIn(t, x, y);
  return order === 2 ? null : order;
}
