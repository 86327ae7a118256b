/**
 * Constants of a where clause as Postgres types them: an integer is `int4` (or `int8` when it
 * needs 64 bits), any other number `numeric`, TRUE/FALSE `bool`, and a quoted literal or NULL is
 * `unknown` until it takes the type it is compared with (`castConst`).
 */
import type { ColumnType } from '../column-types.ts';
import type { ConstExpr } from './ast.ts';
import type { Exact } from './sql-input.ts';
import { exactToFloat, InputError, numericFits, readLiteral } from './sql-input.ts';
import type { SqlType } from './sql-types.ts';
import { comparisonType, isExactType, isFloatType, literalTarget, sqlTypeOf, sqlTypeName } from './sql-types.ts';
import { keyIn } from './sql-values.ts';
import { parseDecimal } from './values.ts';

const INT4_MAX = 2147483647;
const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

export function constType(c: ConstExpr): SqlType {
  const v = c.value;
  if (v === null) return 'unknown';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return 'numeric';
    if (v >= -INT4_MAX - 1 && v <= INT4_MAX) return 'int4';
    return fitsInt8(BigInt(v)) ? 'int8' : 'numeric';
  }
  if (c.numeric === true) return /^-?\d+$/.test(v) && fitsInt8(BigInt(v)) ? 'int8' : 'numeric';
  return 'unknown';
}

function fitsInt8(n: bigint): boolean {
  return n >= INT8_MIN && n <= INT8_MAX;
}

/** A constant's value in its own type's form (a quoted literal stays its text); null for NULL. */
export function constValue(c: ConstExpr): unknown {
  if (c.numeric === true && typeof c.value === 'string') return numericConst(c);
  return c.value;
}

const numerics = new WeakMap<ConstExpr, Exact | InputError>();

function numericConst(c: ConstExpr): Exact | InputError {
  let v = numerics.get(c);
  if (v === undefined) {
    const d = parseDecimal(c.value as string);
    v = d !== undefined && numericFits(d) ? d : new InputError(`value overflows numeric format: ${String(c.value)}`);
    numerics.set(c, v);
  }
  return v;
}

const casts = new WeakMap<ConstExpr, Map<SqlType, unknown>>();

/**
 * A constant as a value of type `to` (its comparison's type), or an InputError saying why
 * Postgres refuses the clause (`'1.50 '` as an integer, 1e400 as a double). null for NULL.
 */
export function castConst(c: ConstExpr, to: SqlType): unknown {
  if (c.value === null) return null;
  // A constant that is itself as a `to` is not cached: a cache Map per constant, made on the first
  // evaluation of each shape's clause, is what routing to 100k shapes allocated and kept per first
  // change of each shape (about 200 B, and a WeakMap entry for the collector to trace).
  if (castsToItself(c, to)) return c.value;
  let byType = casts.get(c);
  if (!byType) casts.set(c, (byType = new Map()));
  if (byType.has(to)) return byType.get(to);
  const v = castConstOnce(c, to);
  byType.set(to, v);
  return v;
}

/**
 * castConst without its cache, for a caller that casts each constant once (the where-clause
 * index keys a constant as every type when the shape is filed): cached, those nine casts (three
 * of them InputErrors, with their messages) stayed alive as long as the shape, about 950 B each.
 */
export function castConstOnce(c: ConstExpr, to: SqlType): unknown {
  if (c.value === null) return null;
  const from = constType(c);
  const v = constValue(c);
  if (v instanceof InputError) return v;
  if (from === 'unknown') return readLiteral(v as string, to);
  if (isItself(from, to)) return v;
  if (isExactType(from) && isFloatType(to)) return exactToFloat(v as Exact, to);
  return new InputError(`${sqlTypeName(from)} ${String(c.value)} cannot be cast to ${sqlTypeName(to)}`);
}

/**
 * Whether `c` as a `to` is its own value: a number or boolean of the comparison's kind, an
 * integer compared as a double (a column of no declared type: exactToFloat returns it), a quoted
 * literal compared as text (readLiteral returns it).
 */
function castsToItself(c: ConstExpr, to: SqlType): boolean {
  const v = c.value;
  if (typeof v === 'number') return to === 'float8' || isItself(constType(c), to);
  if (typeof v === 'boolean') return to === 'bool';
  return to === 'text' && c.numeric !== true;
}

/** A constant of type `from` keeps its value as a `to` (the same type, or exact numbers both). */
function isItself(from: SqlType, to: SqlType): boolean {
  return from === to || (isExactType(from) && isExactType(to));
}

/**
 * The keys (canonicalKey) a column's value may have for `column = constant` to be TRUE: one key
 * for a column of known type (the constant cast to the comparison's type), none when it can
 * never be TRUE (NULL, no such comparison); for a column without a declared type, one per JSON
 * type a value could have (`'5'` equals the number 5 and the string '5').
 */
export function constantKeys(c: ConstExpr, column?: ColumnType): string[] {
  const columnTypes: readonly SqlType[] = column ? [sqlTypeOf(column)] : ['float8', 'text', 'bool'];
  const keys: string[] = [];
  const from = constType(c);
  for (const ct of columnTypes) {
    const cmp = comparisonType(ct, from);
    if (cmp === null || (from === 'unknown' && literalTarget(ct) === null)) continue;
    const v = castConst(c, cmp);
    if (v === null || v instanceof InputError) continue;
    keys.push(keyIn(cmp, v));
  }
  return keys;
}
