/**
 * Hash keys for SQL equality as the evaluator judges it (`compareValues(a, b) === 0`, see
 * `../where/evaluate.ts`): whenever a value equals a constant, the two share at least one key.
 * The index files a constant under all its keys and probes all the keys of a row's value; a
 * shared key only says "may be equal" (the shape's where clause is checked after), a missing one
 * says "cannot be equal", so the keys must never be finer than the evaluator's equality.
 *
 * A value's keys, one per way the evaluator may compare it:
 * - as a number (`n` + canonical decimal): numbers, bigints, big numeric literals, and strings
 *   that spell a decimal (`'1.50'` and `1.5` share `n15e-1`); NaN and the infinities by name;
 * - as text (`s` + the string): strings, compared by code point;
 * - as a boolean (`b1` / `b0`): booleans, and strings Postgres reads as one (`'t'`, `'yes'`);
 * - NULL, and values the evaluator never finds equal to anything (JSON objects), have none.
 */
import type { ConstExpr } from '../where/ast.ts';
import { decimalKey, decimalOfNumber, parseBooleanText, parseDecimal } from '../where/values.ts';

const NONE: readonly string[] = [];
const TRUE_KEYS: readonly string[] = ['b1'];
const FALSE_KEYS: readonly string[] = ['b0'];

/** The keys of a row's value (see the module doc). */
export function equalityKeys(value: unknown): readonly string[] {
  switch (typeof value) {
    case 'number':
      return [numberKey(value)];
    case 'string': {
      const keys = [`s${value}`];
      const decimal = parseDecimal(value);
      if (decimal !== undefined) keys.push(`n${decimalKey(decimal)}`);
      const bool = parseBooleanText(value);
      if (bool !== undefined) keys.push(bool ? 'b1' : 'b0');
      return keys;
    }
    case 'boolean':
      return value ? TRUE_KEYS : FALSE_KEYS;
    case 'bigint':
      return [`n${decimalKey(parseDecimal(value.toString())!)}`];
    default:
      return NONE;
  }
}

/** The keys of a constant of the where clause (a big numeric literal compares as its decimal). */
export function constKeys(expr: ConstExpr): readonly string[] {
  if (expr.numeric === true && typeof expr.value === 'string') {
    const decimal = parseDecimal(expr.value);
    return decimal === undefined ? NONE : [`n${decimalKey(decimal)}`];
  }
  return equalityKeys(expr.value);
}

/** The one key of a number; integers (the common key column) without the decimal parser. */
function numberKey(n: number): string {
  if (Number.isSafeInteger(n)) {
    if (n === 0) return 'n0';
    let digits = String(n < 0 ? -n : n);
    let exp = 0;
    while (digits.charCodeAt(digits.length - 1) === 48) {
      digits = digits.slice(0, -1);
      exp++;
    }
    return `n${n < 0 ? '-' : ''}${digits}e${exp}`;
  }
  const decimal = decimalOfNumber(n);
  return decimal === undefined ? `n${String(n)}` : `n${decimalKey(decimal)}`;
}
