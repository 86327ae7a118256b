/**
 * Postgres' input functions for quoted literals (`a = ' 5'`: the literal takes the column's type
 * and is read as Postgres reads it): `int2in`/`int4in`/`int8in`, `numeric_in`, `float4in`/`float8in`,
 * `boolin`, `uuid_in`; text is taken as it is. Forms that Postgres versions read differently
 * (`'1_000'`, `'0x1F'`, hexadecimal floats) are refused rather than guessed.
 *
 * Each returns the value in the evaluator's form (sql-values.ts) or an InputError saying why
 * Postgres would refuse it (the clause is then refused at `add`).
 */
import type { SqlType } from './sql-types.ts';
import { sqlTypeName } from './sql-types.ts';
import type { Decimal } from './values.ts';
import { compareDecimals, decimalText, decimalToFloat32, parseBooleanText, parseDecimal } from './values.ts';

/** Why Postgres refuses a literal; `unsupported` when Postgres versions disagree on it. */
export class InputError {
  constructor(
    readonly message: string,
    readonly unsupported = false,
  ) {}
}

/** An exact number: a finite JS number, a Decimal, or numeric's NaN / ±Infinity. */
export type Exact = number | Decimal | 'NaN' | 'Infinity' | '-Infinity';

/** C's isspace: what Postgres' input functions skip around a value. */
const SPACE = /^[ \t\n\r\v\f]*|[ \t\n\r\v\f]*$/g;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
/** Spellings later Postgres versions read as numbers (underscores, 0x/0o/0b). */
const VERSION_DEPENDENT = /_|^[+-]?0[xXoObB]/;

const INT_RANGE: Readonly<Record<'int2' | 'int4' | 'int8', readonly [bigint, bigint]>> = {
  int2: [-32768n, 32767n],
  int4: [-2147483648n, 2147483647n],
  int8: [-9223372036854775808n, 9223372036854775807n],
};

const invalid = (t: SqlType, text: string): InputError => new InputError(`invalid input syntax for type ${sqlTypeName(t)}: "${text}"`);
const outOfRange = (t: SqlType, text: string): InputError => new InputError(`value "${text}" is out of range for type ${sqlTypeName(t)}`);
const versionDependent = (t: SqlType, text: string): InputError =>
  new InputError(`the quoted ${sqlTypeName(t)} "${text}" (Postgres versions read underscores and 0x/0o/0b prefixes differently: write plain digits)`, true);

/** Reads a quoted literal as a value of type `t`. */
export function readLiteral(text: string, t: SqlType): unknown {
  switch (t) {
    case 'int2':
    case 'int4':
    case 'int8':
      return readInteger(text, t);
    case 'numeric':
      return readNumeric(text);
    case 'float4':
    case 'float8':
      return readFloat(text, t);
    case 'bool': {
      const b = parseBooleanText(text.replace(SPACE, ''));
      return b ?? invalid(t, text);
    }
    case 'text':
      return text;
    case 'opaque:uuid':
      return readUuid(text);
    default:
      return new InputError(`a quoted literal compared with a ${sqlTypeName(t)} value`, true);
  }
}

function readInteger(text: string, t: 'int2' | 'int4' | 'int8'): Exact | InputError {
  const s = text.replace(SPACE, '');
  if (!INTEGER.test(s)) return VERSION_DEPENDENT.test(s) ? versionDependent(t, text) : invalid(t, text);
  const n = BigInt(s);
  const [min, max] = INT_RANGE[t];
  if (n < min || n > max) return outOfRange(t, text);
  return Number.isSafeInteger(Number(n)) ? Number(n) : parseDecimal(n.toString())!;
}

/** numeric_in: NaN, [+-]Infinity / inf (any case), or a decimal, with spaces around. */
function readNumeric(text: string): Exact | InputError {
  const s = text.replace(SPACE, '');
  const special = specialNumber(s, false);
  if (special !== undefined) return special;
  if (!DECIMAL.test(s)) return VERSION_DEPENDENT.test(s) ? versionDependent('numeric', text) : invalid('numeric', text);
  const d = parseDecimal(s);
  if (d === undefined || !numericFits(d)) return new InputError(`value overflows numeric format: "${text}"`);
  return d;
}

/** NaN / Infinity spellings: numeric takes NaN unsigned only, floats also with a sign. */
function specialNumber(s: string, float: boolean): 'NaN' | 'Infinity' | '-Infinity' | undefined {
  const lower = s.toLowerCase();
  if (lower === 'nan' || (float && (lower === '+nan' || lower === '-nan'))) return 'NaN';
  if (lower === 'infinity' || lower === '+infinity' || lower === 'inf' || lower === '+inf') return 'Infinity';
  if (lower === '-infinity' || lower === '-inf') return '-Infinity';
  return undefined;
}

/** What numeric can hold: up to 131072 digits before the point, 16383 after. */
export function numericFits(d: Decimal): boolean {
  if (d.sign === 0) return true;
  return d.digits.length + d.exp <= 131072 && -d.exp <= 16383;
}

function readFloat(text: string, t: 'float4' | 'float8'): number | InputError {
  const s = text.replace(SPACE, '');
  const special = specialNumber(s, true);
  if (special !== undefined) return special === 'NaN' ? NaN : special === 'Infinity' ? Infinity : -Infinity;
  if (!DECIMAL.test(s)) return /^[+-]?0[xX]|_/.test(s) ? versionDependent(t, text) : invalid(t, text);
  return decimalToFloat(parseDecimal(s)!, t, text);
}

/** A decimal as float4/float8, or the error Postgres raises when it overflows or underflows to 0. */
export function decimalToFloat(d: Decimal, t: 'float4' | 'float8', shown: string): number | InputError {
  const x = t === 'float4' ? decimalToFloat32(d) : Number(decimalText(d));
  if (!Number.isFinite(x) || (x === 0 && d.sign !== 0)) return outOfRange(t, shown);
  return x;
}

/** An exact number as float8 (or float4): the nearest one; NaN and ±Infinity as themselves. */
export function exactToFloat(v: Exact, t: 'float4' | 'float8' = 'float8'): number | InputError {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (typeof v === 'number' && t === 'float8') return v;
  const d = asDecimal(v);
  return decimalToFloat(d, t, decimalText(d));
}

/** uuid_in: 32 hex digits, a hyphen allowed after any group of four, optionally in braces. */
function readUuid(text: string): string | InputError {
  let s = text;
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) return invalid('opaque:uuid', text);
    s = s.slice(1, -1);
  }
  let hex = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (/[0-9a-fA-F]/.test(ch)) hex += ch.toLowerCase();
    else if (ch === '-' && hex.length % 4 === 0 && hex.length > 0 && hex.length < 32 && s[i - 1] !== '-') continue;
    else return invalid('opaque:uuid', text);
  }
  if (hex.length !== 32 || s.endsWith('-')) return invalid('opaque:uuid', text);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Exact numbers in order: -Infinity < finite < Infinity < NaN (numeric's order). */
export function compareExact(a: Exact, b: Exact): -1 | 0 | 1 {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  const ra = specialRank(a);
  const rb = specialRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (ra !== 0) return 0;
  return compareDecimals(asDecimal(a as number | Decimal), asDecimal(b as number | Decimal));
}

function specialRank(v: Exact): number {
  return v === '-Infinity' ? -1 : v === 'Infinity' ? 1 : v === 'NaN' ? 2 : 0;
}

export function asDecimal(v: number | Decimal): Decimal {
  return typeof v === 'number' ? parseDecimal(String(v))! : v;
}
