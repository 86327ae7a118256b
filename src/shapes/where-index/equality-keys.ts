/**
 * Hash keys for SQL equality as the evaluator judges it: a value equals a constant only if they
 * share a key. The index files a constant under all its keys and probes the key of a row's
 * value; a shared key only says "may be equal" (the shape's where clause is checked after), a
 * missing one says "cannot be equal", so the keys must never be finer than the evaluator's
 * equality.
 *
 * A row's value has one key: its canonical key in its column's type (`canonicalKey`,
 * ../where/sql-values.ts; without a declared type, in its JSON type). A constant is planned
 * without the column's type, so it is keyed as each type it could be cast to (a quoted `' 5'` as
 * the number 5 and as the text ' 5'; `0.1` as a numeric, a float4 for `f4 IN (0.1, 0.2)`, a
 * float8). NULL has none. Integers of up to 15 digits are keyed by the number itself, so the hot
 * path builds no string.
 */
import type { ConstExpr } from '../where/ast.ts';
import { castConstOnce } from '../where/constants.ts';
import { InputError } from '../where/sql-input.ts';
import type { SqlType } from '../where/sql-types.ts';
import { isNumericType } from '../where/sql-types.ts';
import { canonicalKey, keyIn } from '../where/sql-values.ts';

/** A key: a number for integers of up to 15 digits (no string built on the hot path), else a string. */
export type EqualityKey = string | number;

const SMALL = 1e15;
const FLOAT4_EXACT = 2 ** 24;
const CAST_TYPES: readonly SqlType[] = ['int2', 'int4', 'int8', 'numeric', 'float4', 'float8', 'text', 'bool', 'opaque:uuid'];

/** The key of a row's value in its column's type (none: its JSON type); null for NULL (and a value that does not fit). */
export function equalityKey(value: unknown, type?: SqlType): EqualityKey | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value < SMALL && value > -SMALL && (type === undefined || isNumericType(type))) {
    if (type !== 'float4' || (value <= FLOAT4_EXACT && value >= -FLOAT4_EXACT)) return value === 0 ? 0 : value;
  }
  const key = canonicalKey(value, type);
  return key === null ? null : compact(key);
}

/**
 * The keys of a constant of the where clause: as each type it can be cast to. An integer that
 * every numeric type holds exactly (float4's 24 bits included) and no other type takes has one
 * key, itself: found without the nine casts (they were most of what filing a shape cost at
 * restore, 100k of them).
 */
export function constKeys(expr: ConstExpr): readonly EqualityKey[] {
  const v = expr.value;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v <= FLOAT4_EXACT && v >= -FLOAT4_EXACT) return [v === 0 ? 0 : v];
  return castKeys(expr);
}

/** constKeys by casting the constant to each type (exported for the test that holds the shortcut to it). */
export function castKeys(expr: ConstExpr): readonly EqualityKey[] {
  const keys = new Set<EqualityKey>();
  for (const t of CAST_TYPES) {
    const v = castConstOnce(expr, t);
    if (v !== null && !(v instanceof InputError)) keys.add(compact(keyIn(t, v)));
  }
  return [...keys];
}

const SMALL_INTEGER = /^n(-?)(\d{1,15})e(\d{1,2})$/;

/** A canonical key as an EqualityKey: the integer itself when it has at most 15 digits. */
function compact(key: string): EqualityKey {
  const m = SMALL_INTEGER.exec(key);
  if (m === null) return key === 'n0' ? 0 : key;
  const digits = m[2]!.length + Number(m[3]);
  if (digits > 15) return key;
  const n = Number(m[2]) * 10 ** Number(m[3]);
  return m[1] === '-' ? -n : n;
}
