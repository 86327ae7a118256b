/**
 * Keys for tuples of column values, used on both sides of a subquery link:
 * - the materializer of a dependency shape keeps a counted set of the tuples of its rows'
 *   selected columns (their canonical keys, read in the dependency table's column types);
 * - the outer shape's evaluator looks up the tuple of the sublink's test columns (read in the
 *   outer table's types) in that set (see `evaluateWhere`).
 * Each element is `canonicalKey` (sql-values.ts): equal exactly when SQL `=` is, so `'1.50'` and
 * `'1.5'` in numeric columns match and `'07'` and `'7'` in text columns do not. The tuple is the
 * JSON array of its elements, a NULL element as `null`.
 */
import type { ColumnType } from '../column-types.ts';
import type { SqlType } from './sql-types.ts';
import { canonicalKey } from './sql-values.ts';
import { decimalOfNumber, decimalKey, parseDecimal, plainDecimal } from './values.ts';

/** Canonical keys of a tuple's values, each in its column's type (none: the value's JSON type); null for NULL. */
export function linkElements(values: readonly unknown[], types?: readonly (ColumnType | SqlType | undefined)[]): (string | null)[] {
  return values.map((v, i) => canonicalKey(v, types?.[i]));
}

/** The key of a tuple of elements (NULL elements included). */
export function tupleKey(elements: readonly (string | null)[]): string {
  return JSON.stringify(elements);
}

/** The elements of a tuple key. */
export function tupleElements(key: string): (string | null)[] {
  return JSON.parse(key) as (string | null)[];
}

/** Whether a tuple key holds a NULL element. */
export function tupleHasNull(key: string): boolean {
  return tupleElements(key).includes(null);
}

/**
 * The key of a tuple of column values (one for `x IN (SELECT y ...)`, several for
 * `(a, b) IN (SELECT x, y ...)`), or null when an element is NULL: such a tuple equals nothing.
 */
export function linkKey(values: readonly unknown[], types?: readonly (ColumnType | SqlType | undefined)[]): string | null {
  const elements = linkElements(values, types);
  return elements.includes(null) ? null : tupleKey(elements);
}

/**
 * The values a tuple key stands for, for people (`values --json`) and for Postgres parameters
 * (it casts them to the column's type): numbers as JSON numbers when a double holds them exactly,
 * else as their plain decimal text (`'NaN'`, `'Infinity'` as such); NULL as null.
 */
export function decodeLinkKey(key: string): unknown[] {
  return tupleElements(key).map((code) => {
    if (code === null) return null;
    const body = code.slice(1);
    switch (code[0]) {
      case 'n': {
        const d = parseDecimal(body);
        if (d === undefined) return body;
        const n = Number(body);
        const exact = decimalOfNumber(n);
        return exact !== undefined && decimalKey(exact) === body ? n : plainDecimal(d);
      }
      case 's':
        return body;
      case 'b':
        return body === '1';
      default:
        return JSON.parse(body) as unknown;
    }
  });
}
