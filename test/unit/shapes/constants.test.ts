/**
 * castConst: a where clause's constant as a value of its comparison's type. A number or boolean
 * already of that kind, an integer compared as a double and a quoted literal compared as text
 * come back as themselves, without the per-constant cache (routing to many shapes made one cache
 * per constant on its first evaluation); every other cast goes through the cache and gives the
 * same answer each time; either way the answer is castConstOnce's.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConstExpr } from '../../../src/shapes/where/ast.ts';
import { castConst, castConstOnce } from '../../../src/shapes/where/constants.ts';
import { InputError } from '../../../src/shapes/where/sql-input.ts';
import type { SqlType } from '../../../src/shapes/where/sql-types.ts';

const c = (value: ConstExpr['value'], numeric?: true): ConstExpr => (numeric ? { kind: 'const', value, numeric } : { kind: 'const', value });

describe('castConst', () => {
  it('gives an integer or boolean of the comparison kind itself, as castConstOnce does', () => {
    const cases: [ConstExpr, SqlType, unknown][] = [
      [c(5), 'int4', 5],
      [c(5), 'int8', 5],
      [c(5), 'numeric', 5],
      [c(-7), 'int2', -7],
      [c(2 ** 40), 'int8', 2 ** 40],
      [c(2 ** 40), 'int4', 2 ** 40],
      [c(1.5), 'numeric', 1.5],
      [c(true), 'bool', true],
      [c(false), 'bool', false],
      [c(5), 'float8', 5],
      [c(1.5), 'float8', 1.5],
      [c('abc'), 'text', 'abc'],
      [c(''), 'text', ''],
    ];
    for (const [constant, to, expected] of cases) {
      expect(castConst(constant, to)).toBe(expected);
      expect(castConstOnce(constant, to)).toBe(expected);
    }
  });

  it('casts everything else through its cache, the same answer every time', () => {
    const five = c(5);
    const text = castConst(five, 'text');
    expect(text).toBeInstanceOf(InputError);
    expect(castConst(five, 'text')).toBe(text);
    expect(castConst(c(true), 'int4')).toBeInstanceOf(InputError);
    const literal = c('42');
    expect(castConst(literal, 'int4')).toBe(42);
    expect(castConst(literal, 'int4')).toBe(42);
    expect(castConst(literal, 'text')).toBe('42');
    expect(castConst(c(null), 'int4')).toBeNull();
    const decimal = castConst(c('1.50', true), 'numeric');
    expect(decimal).toEqual(castConstOnce(c('1.50', true), 'numeric'));
    expect(castConst(c('1.50', true), 'float8')).toBe(1.5);
  });

  it('gives the answer of castConstOnce for any constant and type, the first time and again', () => {
    const types: SqlType[] = ['int2', 'int4', 'int8', 'numeric', 'float4', 'float8', 'text', 'bool', 'unknown', 'json', 'opaque:uuid'];
    const constant = fc.oneof(
      fc.integer().map((v) => c(v)),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => c(v)),
      fc.boolean().map((v) => c(v)),
      fc.constant(c(null)),
      fc.oneof(fc.string(), fc.constantFrom('1', ' 2 ', '1.5', 'true', 'off', 'NaN', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}')).map((v) => c(v)),
      fc.constantFrom('123456789012345678901', '1e400', '0.1000000000000000000001', '-9223372036854775809').map((v) => c(v, true)),
    );
    fc.assert(
      fc.property(constant, fc.constantFrom(...types), (k, to) => {
        const once = castConstOnce(k, to);
        expect(castConst(k, to)).toEqual(once);
        expect(castConst(k, to)).toEqual(once);
      }),
      { numRuns: 2_000 },
    );
  });
});
