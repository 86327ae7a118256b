/**
 * Evaluates a WhereExpr against a row, with SQL three-valued logic: `null` is UNKNOWN; a row
 * qualifies only when the where clause is TRUE.
 *
 * Value semantics (rows hold JSON values; a missing column is NULL):
 * - comparisons with NULL are UNKNOWN; NOT UNKNOWN is UNKNOWN; AND/OR follow SQL's truth tables;
 * - number vs number: numeric; number (or big numeric literal) vs numeric string: exact decimal
 *   comparison (see values.ts); string vs string: by code point; boolean vs boolean: false < true;
 *   boolean vs string: the string is read as a Postgres boolean (`'t'`, `'yes'`...);
 * - any other mix (number vs non-numeric string, number vs boolean, JSON objects...) would be a type
 *   error in Postgres; here it is UNKNOWN;
 * - a non-boolean value where a boolean is expected (AND/OR/NOT argument, the where itself,
 *   IS TRUE/FALSE) is UNKNOWN;
 * - `x [NOT] IN (list)`: TRUE if x equals an item; else UNKNOWN if x or any item is NULL; else
 *   FALSE (then negated for NOT IN: `x NOT IN (1, NULL)` is UNKNOWN unless x = 1, then FALSE);
 * - `BETWEEN` is `x >= low AND x <= high` (SYMMETRIC also tries the bounds swapped);
 * - `LIKE` / `ILIKE`: both sides strings (else UNKNOWN), `%` and `_` wildcards, `\` escapes,
 *   ILIKE by Unicode simple case folding; a pattern ending in a lone `\` is UNKNOWN;
 * - `IS DISTINCT FROM`: NULL-safe, never UNKNOWN: `a IS NOT DISTINCT FROM b` is
 *   `(a IS NULL AND b IS NULL) OR (a = b) IS TRUE` (so mismatched types are distinct);
 * - `test IN (SELECT ...)`: the test column values' `linkKey` is looked up in `links(dependency)`,
 *   the dependency's current value set. A NULL test value gives UNKNOWN, so both
 *   `NULL IN (SELECT ...)` and `NULL NOT IN (SELECT ...)` are UNKNOWN (even for an empty subquery,
 *   where SQL would say FALSE / TRUE). NULLs selected by the subquery are not tracked (they have
 *   no linkKey), so `x NOT IN (SELECT ...)` is TRUE when x is not among the non-NULL values.
 */
import type { CompareOp, LikeExpr, WhereExpr } from './ast.ts';
import { linkKey } from './link-key.ts';
import type { Decimal } from './values.ts';
import { compareCodePoints, compareDecimals, decimalOfNumber, parseBooleanText, parseDecimal } from './values.ts';

/** Three-valued truth: `null` is UNKNOWN. */
export type Truth = boolean | null;

/** A dependency's current link values (keys built with linkKey): only membership is asked. */
export interface LinkSet {
  has(value: string): boolean;
}

/** Current value set of a dependency, by dependency index (a Set, or a materializer's counted map). */
export type LinkValues = (dependency: number) => LinkSet;

export type Row = Readonly<Record<string, unknown>>;

/** A big numeric literal (a `numeric: true` constant), compared exactly. */
class NumericText {
  constructor(
    readonly text: string,
    readonly decimal: Decimal,
  ) {}
}

const numericConsts = new Map<string, NumericText | null>();

function numericConst(text: string): NumericText | null {
  let v = numericConsts.get(text);
  if (v === undefined) {
    const d = parseDecimal(text);
    v = d === undefined ? null : new NumericText(text, d);
    if (numericConsts.size >= 1000) numericConsts.clear();
    numericConsts.set(text, v);
  }
  return v;
}

type Value = unknown; // null | boolean | number | string | NumericText | other JSON

/** True when the row satisfies the where clause (its value is TRUE, not FALSE nor UNKNOWN). */
export function evaluateWhere(expr: WhereExpr, row: Row, links: LinkValues): boolean {
  return truth(evaluateValue(expr, row, links)) === true;
}

/** The three-valued truth of a where clause on a row. */
export function evaluateTruth(expr: WhereExpr, row: Row, links: LinkValues): Truth {
  return truth(evaluateValue(expr, row, links));
}

function truth(v: Value): Truth {
  return typeof v === 'boolean' ? v : null;
}

function not(t: Truth): Truth {
  return t === null ? null : !t;
}

function and(a: Truth, b: Truth): Truth {
  if (a === false || b === false) return false;
  if (a === null || b === null) return null;
  return true;
}

function numericOf(v: Value): Decimal | undefined {
  if (typeof v === 'number') return decimalOfNumber(v);
  if (typeof v === 'string') return parseDecimal(v);
  if (v instanceof NumericText) return v.decimal;
  if (typeof v === 'bigint') return parseDecimal(v.toString());
  return undefined;
}

/** -1/0/1, or null when either side is NULL or the two values are not comparable. */
export function compareValues(a: unknown, b: unknown): -1 | 0 | 1 | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return a === b ? 0 : null;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  if (typeof a === 'boolean' || typeof b === 'boolean') {
    const x = typeof a === 'string' ? parseBooleanText(a) : a;
    const y = typeof b === 'string' ? parseBooleanText(b) : b;
    if (typeof x !== 'boolean' || typeof y !== 'boolean') return null;
    return x === y ? 0 : x ? 1 : -1;
  }
  const da = numericOf(a);
  const db = numericOf(b);
  if (da === undefined || db === undefined) return null;
  return compareDecimals(da, db);
}

function applyCompare(op: CompareOp, c: -1 | 0 | 1 | null): Truth {
  if (c === null) return null;
  switch (op) {
    case '=':
      return c === 0;
    case '<>':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

const likeCache = new Map<string, RegExp | null>();

function likeRegex(pattern: string, caseInsensitive: boolean): RegExp | null {
  const cacheKey = (caseInsensitive ? 'i' : 'c') + pattern;
  const cached = likeCache.get(cacheKey);
  if (cached !== undefined) return cached;
  let src = '^';
  const chars = Array.from(pattern);
  let re: RegExp | null = null;
  let ok = true;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '\\') {
      const next = chars[++i];
      if (next === undefined) {
        ok = false; // LIKE pattern must not end with escape character
        break;
      }
      src += escapeRegex(next);
    } else if (ch === '%') src += '[^]*';
    else if (ch === '_') src += '[^]';
    else src += escapeRegex(ch);
  }
  if (ok) re = new RegExp(`${src}$`, caseInsensitive ? 'iu' : 'u');
  if (likeCache.size >= 1000) likeCache.clear();
  likeCache.set(cacheKey, re);
  return re;
}

/**
 * A constant pattern's regex, kept with its node: thousands of `LIKE` shapes on a table (each
 * checked per change) would otherwise evict each other from the 1000-entry cache above.
 */
const constLikeCache = new WeakMap<LikeExpr, RegExp | null>();

function constLikeRegex(expr: LikeExpr, pattern: string): RegExp | null {
  let re = constLikeCache.get(expr);
  if (re === undefined) constLikeCache.set(expr, (re = likeRegex(pattern, expr.caseInsensitive)));
  return re;
}

function escapeRegex(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch;
}

function evalBetween(x: Value, low: Value, high: Value): Truth {
  return and(applyCompare('>=', compareValues(x, low)), applyCompare('<=', compareValues(x, high)));
}

/**
 * The value of any node: predicates give true/false/null, columns the row's value (undefined ->
 * null), constants their value (big numerics as an internal exact representation).
 */
function evaluateValue(expr: WhereExpr, row: Row, links: LinkValues): Value {
  switch (expr.kind) {
    case 'column': {
      const v = Object.hasOwn(row, expr.name) ? row[expr.name] : undefined;
      return v === undefined ? null : v;
    }
    case 'const':
      if (expr.numeric === true && typeof expr.value === 'string') return numericConst(expr.value);
      return expr.value;
    case 'compare':
      return applyCompare(
        expr.op,
        compareValues(evaluateValue(expr.left, row, links), evaluateValue(expr.right, row, links)),
      );
    case 'and': {
      let result: Truth = true;
      for (const a of expr.args) {
        const t = truth(evaluateValue(a, row, links));
        if (t === false) return false;
        if (t === null) result = null;
      }
      return result;
    }
    case 'or': {
      let result: Truth = false;
      for (const a of expr.args) {
        const t = truth(evaluateValue(a, row, links));
        if (t === true) return true;
        if (t === null) result = null;
      }
      return result;
    }
    case 'not':
      return not(truth(evaluateValue(expr.arg, row, links)));
    case 'inList': {
      const x = evaluateValue(expr.expr, row, links);
      let result: Truth = false;
      for (const item of expr.list) {
        const eq = applyCompare('=', compareValues(x, evaluateValue(item, row, links)));
        if (eq === true) {
          result = true;
          break;
        }
        if (eq === null) result = null;
      }
      return expr.negated ? not(result) : result;
    }
    case 'isNull': {
      const isNull = evaluateValue(expr.expr, row, links) === null;
      return expr.negated ? !isNull : isNull;
    }
    case 'isBool': {
      const v = evaluateValue(expr.expr, row, links);
      const t = expr.test === 'unknown' ? v === null : v === (expr.test === 'true');
      return expr.negated ? !t : t;
    }
    case 'between': {
      const x = evaluateValue(expr.expr, row, links);
      const low = evaluateValue(expr.low, row, links);
      const high = evaluateValue(expr.high, row, links);
      let t = evalBetween(x, low, high);
      if (expr.symmetric && t !== true) {
        const swapped = evalBetween(x, high, low);
        t = swapped === true ? true : t === null || swapped === null ? null : false;
      }
      return expr.negated ? not(t) : t;
    }
    case 'like': {
      const v = evaluateValue(expr.expr, row, links);
      const p = evaluateValue(expr.pattern, row, links);
      if (typeof v !== 'string' || typeof p !== 'string') return null;
      const re = expr.pattern.kind === 'const' ? constLikeRegex(expr, p) : likeRegex(p, expr.caseInsensitive);
      if (re === null) return null;
      const t = re.test(v);
      return expr.negated ? !t : t;
    }
    case 'distinct': {
      const a = evaluateValue(expr.left, row, links);
      const b = evaluateValue(expr.right, row, links);
      // Never UNKNOWN: NOT DISTINCT <=> both NULL, or (a = b) IS TRUE (mismatched types: distinct).
      const same = a === null || b === null ? a === b : compareValues(a, b) === 0;
      return expr.negated ? same : !same;
    }
    case 'sublink': {
      const values = expr.test.map((c) => (Object.hasOwn(row, c.name) ? row[c.name] : undefined));
      const key = linkKey(values);
      if (key === null) return null;
      return links(expr.dependency).has(key);
    }
  }
}
