/**
 * Number and text primitives of the value semantics (sql-values.ts): exact decimal numbers, the
 * exact value of a double, correctly rounded float4, code-point string order, Postgres boolean input.
 *
 * A *decimal text* is an optional sign, digits with an optional fraction, an optional exponent (no
 * spaces, no `NaN` / `Infinity`, no hex). JS numbers stand for their shortest round-trip decimal
 * spelling (`0.1` is exactly 0.1), which is what the JSON text said.
 */

/** An exact decimal: value = sign * digits * 10^exp, `digits` without leading/trailing zeros. */
export interface Decimal {
  readonly sign: -1 | 0 | 1;
  readonly digits: string;
  readonly exp: number;
}

const ZERO: Decimal = { sign: 0, digits: '', exp: 0 };

const DECIMAL_TEXT = /^([+-])?(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?$/;

/** Parses a decimal literal text (see module doc); undefined when `text` is not one. */
export function parseDecimal(text: string): Decimal | undefined {
  const m = DECIMAL_TEXT.exec(text);
  if (m === null) return undefined;
  const intPart = m[2] ?? '';
  const fracPart = m[3] ?? m[4] ?? '';
  const e = m[5] === undefined ? 0 : Number(m[5]);
  if (!Number.isSafeInteger(e)) return undefined;
  let digits = intPart + fracPart;
  let exp = e - fracPart.length;
  let start = 0;
  while (start < digits.length && digits.charCodeAt(start) === 48) start++;
  digits = digits.slice(start);
  if (digits.length === 0) return ZERO;
  let end = digits.length;
  while (digits.charCodeAt(end - 1) === 48) end--;
  exp += digits.length - end;
  digits = digits.slice(0, end);
  return { sign: m[1] === '-' ? -1 : 1, digits, exp };
}

/** Exact decimal of a finite JS number (its shortest round-trip spelling). */
export function decimalOfNumber(n: number): Decimal | undefined {
  if (!Number.isFinite(n)) return undefined;
  return parseDecimal(String(n));
}

/** Canonical text of a decimal: `0`, or `[-]<digits>e<exp>`. Equal numbers <=> equal text. */
export function decimalKey(d: Decimal): string {
  if (d.sign === 0) return '0';
  return `${d.sign < 0 ? '-' : ''}${d.digits}e${d.exp}`;
}

export function compareDecimals(a: Decimal, b: Decimal): -1 | 0 | 1 {
  if (a.sign !== b.sign) return a.sign < b.sign ? -1 : 1;
  if (a.sign === 0) return 0;
  const mag = compareMagnitudes(a, b);
  return (a.sign > 0 ? mag : -mag) as -1 | 0 | 1;
}

function compareMagnitudes(a: Decimal, b: Decimal): -1 | 0 | 1 {
  // Position of the most significant digit decides first.
  const ta = a.digits.length + a.exp;
  const tb = b.digits.length + b.exp;
  if (ta !== tb) return ta < tb ? -1 : 1;
  const len = Math.max(a.digits.length, b.digits.length);
  const da = a.digits.padEnd(len, '0');
  const db = b.digits.padEnd(len, '0');
  return da === db ? 0 : da < db ? -1 : 1;
}

/** Decimal text Number() reads: `[-]<digits>e<exp>`. */
export function decimalText(d: Decimal): string {
  return d.sign === 0 ? '0' : `${d.sign < 0 ? '-' : ''}${d.digits}e${d.exp}`;
}

/** Plain decimal spelling (`-12.5`, `1200`), for people and for Postgres parameters. */
export function plainDecimal(d: Decimal): string {
  if (d.sign === 0) return '0';
  const sign = d.sign < 0 ? '-' : '';
  if (d.exp >= 0) return sign + d.digits + '0'.repeat(d.exp);
  const point = d.digits.length + d.exp;
  return point > 0 ? `${sign}${d.digits.slice(0, point)}.${d.digits.slice(point)}` : `${sign}0.${'0'.repeat(-point)}${d.digits}`;
}

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);

/** The exact decimal value of a finite double (0.1 is 0.1000000000000000055511151231257827...). */
export function exactDecimalOfDouble(x: number): Decimal {
  if (x === 0) return ZERO;
  F64[0] = Math.abs(x);
  const bits = U64[0]!;
  const biased = Number(bits >> 52n);
  let mantissa = bits & 0xfffffffffffffn;
  if (biased > 0) mantissa |= 1n << 52n;
  const e = (biased === 0 ? 1 : biased) - 1075;
  const text = e >= 0 ? (mantissa << BigInt(e)).toString() : `${(mantissa * 5n ** BigInt(-e)).toString()}e${e}`;
  return { ...parseDecimal(text)!, sign: x < 0 ? -1 : 1 };
}

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);

/** The float4 next to `f` (a float4 value) towards `toward`. */
function nextFloat32(f: number, toward: number): number {
  if (f === 0) return toward > 0 ? 2 ** -149 : -(2 ** -149);
  F32[0] = f;
  I32[0] = I32[0]! + ((toward > f) === f > 0 ? 1 : -1);
  return F32[0]!;
}

/**
 * A decimal text rounded to the nearest float4 (ties to even), as strtof does: through the
 * correctly rounded double, corrected when that double is exactly halfway between two float4s
 * (rounding twice would then be wrong). Infinity when it overflows, 0 when it underflows.
 */
export function decimalToFloat32(d: Decimal): number {
  const x = Number(decimalText(d));
  const f = Math.fround(x);
  if (f === x || !Number.isFinite(f)) return f;
  const g = nextFloat32(f, x);
  if ((f + g) / 2 !== x) return f;
  const side = compareDecimals(d, exactDecimalOfDouble(x));
  if (side === 0) return f;
  return side > 0 ? Math.max(f, g) : Math.min(f, g);
}

/**
 * A numeric literal's canonical constant, typed as Postgres types it: an integer (digits only)
 * is a JS number when it fits int8 and a double holds it exactly, else its digits (flagged
 * `numeric: true`: an int8, or a numeric beyond int8); any other literal is a numeric (`1.5`,
 * `1e3`, `1.0`): a JS number when it is not integral and a double denotes it exactly, else its
 * decimal text, flagged. An integral numeric prints with a `.0` (`1e3` is `1000.0`,
 * `1.00` is `1.0`; `1e400` as such), so that it reads back as a numeric, not an integer: the
 * type decides what a quoted literal beside it in an IN list is read as. `_` separators are
 * removed and hex/octal/binary integers converted to decimal.
 */
export function numericLiteral(text: string): { value: number } | { value: string; numeric: true } {
  let t = text.replaceAll('_', '');
  const neg = t.startsWith('-');
  const body = neg || t.startsWith('+') ? t.slice(1) : t;
  if (/^0[xob]/i.test(body)) t = (neg ? '-' : '') + BigInt(body.toLowerCase()).toString();
  const d = parseDecimal(t);
  if (d === undefined) throw new Error(`not a numeric literal: ${text}`);
  const n = Number(t);
  const dn = decimalOfNumber(n);
  const exact = dn !== undefined && compareDecimals(d, dn) === 0;
  const integral = d.sign === 0 || d.exp >= 0;
  if (/^[+-]?\d+$/.test(t)) return exact && fitsInt8(d) ? { value: n === 0 ? 0 : n } : { value: plainDecimal(d), numeric: true };
  if (integral) return { value: d.digits.length + d.exp <= 30 ? `${plainDecimal(d)}.0` : decimalText(d), numeric: true };
  return exact ? { value: n } : { value: t, numeric: true };
}

const INT8_DIGITS = '9223372036854775807';

function fitsInt8(d: Decimal): boolean {
  if (d.sign === 0) return true;
  const length = d.digits.length + d.exp;
  if (length !== INT8_DIGITS.length) return length < INT8_DIGITS.length;
  const digits = d.digits.padEnd(length, '0');
  return d.sign < 0 ? digits <= '9223372036854775808' : digits <= INT8_DIGITS;
}

/**
 * Compares strings by Unicode code point (JS `<` compares UTF-16 code units, which orders
 * U+E000..U+FFFF after astral characters; code point order does not).
 */
export function compareCodePoints(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Map code units so that surrogates (astral code points) sort after all BMP code points.
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/**
 * Postgres `boolin`: `t`/`true`/`y`/`yes`/`on`/`1` and `f`/`false`/`n`/`no`/`off`/`0`,
 * case-insensitive, surrounding whitespace ignored, unique prefixes of the words accepted
 * (`tr`, `fa`, `of`). undefined when not a boolean.
 */
export function parseBooleanText(text: string): boolean | undefined {
  const s = text.trim().toLowerCase();
  if (s.length === 0) return undefined;
  const prefixOf = (word: string): boolean => word.startsWith(s);
  switch (s[0]) {
    case 't':
      return prefixOf('true') ? true : undefined;
    case 'f':
      return prefixOf('false') ? false : undefined;
    case 'y':
      return prefixOf('yes') ? true : undefined;
    case 'n':
      return prefixOf('no') ? false : undefined;
    case 'o':
      if (s.length >= 2 && prefixOf('on')) return true;
      if (s.length >= 2 && prefixOf('off')) return false;
      return undefined;
    case '1':
      return s === '1' ? true : undefined;
    case '0':
      return s === '0' ? false : undefined;
    default:
      return undefined;
  }
}
