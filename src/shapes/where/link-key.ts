/**
 * Canonical keys for tuples of column values, used on both sides of a subquery link:
 * - the materializer of a dependency shape keeps a counted set of `linkKey(selected column values)`
 *   of its rows;
 * - the outer shape's evaluator tests `linkKey(values of the sublink's test columns)` against that
 *   set (see `evaluateWhere`).
 *
 * Encoding (each element, then the tuple as a JSON array of the element codes):
 * - numbers, bigints and numeric strings (`"7"`, `"7.0"`, `"0.7e1"`) that denote the same decimal
 *   number give the same code `n<canonical decimal>`: `7`, `"7"`, `"7.00"` and `7n` all match.
 *   Caveat: two *text* values that are different spellings of one number (`'07'`, `'7'`) also
 *   match; Postgres would compare text columns as text. We accept that to match `int8`/`numeric`
 *   values that one side serializes as strings and the other as numbers.
 * - other strings: `s<string>`; booleans: `b1` / `b0`; non-finite numbers: `n<NaN|Infinity|-Infinity>`;
 *   anything else (JSON objects/arrays): `j<JSON.stringify(value)>` (key order matters).
 * - a tuple containing NULL (or undefined, i.e. a missing column) has NO key: `linkKey` returns
 *   `null`, so it never matches (`NULL IN (...)` is never true) and the materializer skips it.
 */
import { decimalKey, decimalOfNumber, parseDecimal } from './values.ts';

function elementCode(v: unknown): string | null {
  switch (typeof v) {
    case 'number': {
      const d = decimalOfNumber(v);
      return d === undefined ? `n${String(v)}` : `n${decimalKey(d)}`;
    }
    case 'bigint':
      return `n${decimalKey(parseDecimal(v.toString())!)}`;
    case 'string': {
      const d = parseDecimal(v);
      return d === undefined ? `s${v}` : `n${decimalKey(d)}`;
    }
    case 'boolean':
      return v ? 'b1' : 'b0';
    case 'undefined':
      return null;
    default:
      if (v === null) return null;
      return `j${JSON.stringify(v)}`;
  }
}

/**
 * Canonical key of a tuple of column values (one element for `x IN (SELECT y ...)`, several for
 * `(a, b) IN (SELECT x, y ...)`), or `null` when any element is NULL/undefined.
 */
export function linkKey(values: readonly unknown[]): string | null {
  const codes: string[] = [];
  for (const v of values) {
    const c = elementCode(v);
    if (c === null) return null;
    codes.push(c);
  }
  return JSON.stringify(codes);
}

/**
 * The column values a link key stands for, for people (`values --json`). Numbers come back as
 * JSON numbers when a double holds them exactly, else as their decimal text; `'7'` and `7` share
 * one key, so both decode to 7.
 */
export function decodeLinkKey(key: string): unknown[] {
  const codes = JSON.parse(key) as string[];
  return codes.map((code) => {
    const body = code.slice(1);
    switch (code[0]) {
      case 'n': {
        const n = Number(body);
        const exact = decimalOfNumber(n);
        return exact !== undefined && decimalKey(exact) === body ? n : body;
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
