/**
 * Hash keys for SQL equality as the evaluator judges it (`compareValues(a, b) === 0`, see
 * `../where/evaluate.ts`): whenever a value equals a constant, the two share at least one key.
 * The index files a constant under all its keys and probes all the keys of a row's value; a
 * shared key only says "may be equal" (the shape's where clause is checked after), a missing one
 * says "cannot be equal", so the keys must never be finer than the evaluator's equality.
 *
 * A value's keys, one per way the evaluator may compare it:
 * - as a number: numbers, bigints, big numeric literals, and strings that spell a decimal
 *   (`'1.50'` and `1.5` share `n15e-1`; integers below 10^15 are keyed by the number itself, so
 *   `7`, `'7'` and `'7.0'` share `7`); NaN and the infinities by name;
 * - as text (`s` + the string): strings, compared by code point;
 * - as a boolean (`b1` / `b0`): booleans, and strings Postgres reads as one (`'t'`, `'yes'`);
 * - NULL, and values the evaluator never finds equal to anything (JSON objects), have none.
 */
import type { ConstExpr } from '../where/ast.ts';
import { decimalKey, decimalOfNumber, parseBooleanText, parseDecimal, type Decimal } from '../where/values.ts';

/** A key: a number for integers of up to 15 digits (no string built on the hot path), else a string. */
export type EqualityKey = string | number;

const NONE: readonly EqualityKey[] = [];
const TRUE_KEYS: readonly EqualityKey[] = ['b1'];
const FALSE_KEYS: readonly EqualityKey[] = ['b0'];

/** The keys of a row's value (see the module doc). */
export function equalityKeys(value: unknown): readonly EqualityKey[] {
  switch (typeof value) {
    case 'number':
      return [numberKey(value)];
    case 'string': {
      const keys: EqualityKey[] = [`s${value}`];
      const decimal = parseDecimal(value);
      if (decimal !== undefined) keys.push(decimalKeyOf(decimal));
      const bool = parseBooleanText(value);
      if (bool !== undefined) keys.push(bool ? 'b1' : 'b0');
      return keys;
    }
    case 'boolean':
      return value ? TRUE_KEYS : FALSE_KEYS;
    case 'bigint':
      return [decimalKeyOf(parseDecimal(value.toString())!)];
    default:
      return NONE;
  }
}

/** The keys of a constant of the where clause (a big numeric literal compares as its decimal). */
export function constKeys(expr: ConstExpr): readonly EqualityKey[] {
  if (expr.numeric === true && typeof expr.value === 'string') {
    const decimal = parseDecimal(expr.value);
    return decimal === undefined ? NONE : [decimalKeyOf(decimal)];
  }
  return equalityKeys(expr.value);
}

/** The one key of a number: itself when an integer below 10^15, as every decimal of that value is keyed. */
export function numberKey(n: number): EqualityKey {
  if (Number.isSafeInteger(n) && n < SMALL && n > -SMALL) return n === 0 ? 0 : n;
  const decimal = decimalOfNumber(n);
  return decimal === undefined ? `n${String(n)}` : decimalKeyOf(decimal);
}

const SMALL = 1e15;

/** A decimal's key: the number for an integer of at most 15 digits (exact in a double), else `n` + its canonical text. */
function decimalKeyOf(d: Decimal): EqualityKey {
  if (d.sign === 0) return 0;
  if (d.exp >= 0 && d.digits.length + d.exp <= 15) return d.sign * Number(d.digits) * 10 ** d.exp;
  return `n${decimalKey(d)}`;
}
