import { describe, expect, it } from 'vitest';
import {
  compareCodePoints,
  compareDecimals,
  decimalKey,
  numericLiteral,
  parseBooleanText,
  parseDecimal,
} from '../../../src/shapes/where/values.ts';

const dec = (s: string) => {
  const d = parseDecimal(s);
  if (d === undefined) throw new Error(`not a decimal: ${s}`);
  return d;
};

describe('decimals', () => {
  it('normalizes spellings of one number to one key', () => {
    for (const s of ['1200', '1200.0', '1.2e3', '12e2', '0001200', '+1200', '120000e-2']) expect(decimalKey(dec(s))).toBe('12e2');
    for (const s of ['0', '-0', '0.000', '0e10', '.0']) expect(decimalKey(dec(s))).toBe('0');
    expect(decimalKey(dec('-0.05'))).toBe('-5e-2');
  });

  it('rejects non-numbers', () => {
    for (const s of ['', ' 1', '1 ', '1.2.3', 'e5', '1e', '.', '-', 'NaN', 'Infinity', '0x10', '1_000', '١']) {
      expect(parseDecimal(s)).toBeUndefined();
    }
  });

  it.each([
    ['1', '2', -1],
    ['-1', '1', -1],
    ['-2', '-1', -1],
    ['10', '9', 1],
    ['0.5', '0.49999999999999999999', 1],
    ['99999999999999999999', '100000000000000000000', -1],
    ['1e-5', '0', 1],
    ['-1e-5', '0', -1],
    ['1.10', '1.1', 0],
    ['123.456', '123.4559', 1],
  ])('compare(%s, %s) = %i', (a, b, expected) => {
    expect(compareDecimals(dec(a), dec(b))).toBe(expected);
    expect(compareDecimals(dec(b), dec(a))).toBe(-expected || 0);
  });
});

describe('numericLiteral', () => {
  it.each([
    ['1', 1],
    ['1.0', '1.0'], // a numeric (not an integer): it prints so
    ['1e3', '1000.0'],
    ['-2.50e1', '-25.0'],
    ['0.1', 0.1],
    ['-0', 0],
    ['1e21', '1000000000000000000000.0'],
    ['1000000000000000000000', '1000000000000000000000'], // beyond int8: a numeric already
    ['1.5', 1.5],
    ['9007199254740993', '9007199254740993'], // 2^53 + 1: not a double
    ['1e400', '1e400'],
    ['1_000', 1000],
    ['0x10', 16],
    ['-0x10', -16],
    ['0b101', 5],
    ['0o17', 15],
  ])('%s -> %j', (text, expected) => {
    const lit = numericLiteral(text);
    expect(lit.value).toBe(expected);
    expect('numeric' in lit).toBe(typeof expected === 'string');
    if (typeof expected === 'number') expect(Object.is(lit.value, -0)).toBe(false);
  });
});

describe('compareCodePoints', () => {
  it('orders by code point', () => {
    expect(compareCodePoints('a', 'b')).toBe(-1);
    expect(compareCodePoints('b', 'a')).toBe(1);
    expect(compareCodePoints('a', 'a')).toBe(0);
    expect(compareCodePoints('', 'a')).toBe(-1);
    expect(compareCodePoints('\uFFFF', '\u{10000}')).toBe(-1);
    expect(compareCodePoints('\uE000', '\u{1F600}')).toBe(-1);
    expect(compareCodePoints('\uD7FF', '\u{10000}')).toBe(-1);
  });
});

describe('parseBooleanText (Postgres boolin)', () => {
  it.each([
    ['t', true], ['TRUE', true], ['tr', true], [' yes ', true], ['y', true], ['on', true], ['1', true],
    ['f', false], ['False', false], ['no', false], ['n', false], ['off', false], ['of', false], ['0', false],
  ])('%j -> %s', (s, b) => {
    expect(parseBooleanText(s)).toBe(b);
  });

  it.each(['', 'o', 'tru e', 'truth', 'yess', '2', '01', 'nope'])('%j is not a boolean', (s) => {
    expect(parseBooleanText(s)).toBeUndefined();
  });
});
