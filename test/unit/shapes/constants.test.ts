/**
 * castConst: a where clause's constant as a value of its comparison's type. A number or boolean
 * already of that kind comes back as itself, without the per-constant cache (routing to many
 * shapes made one cache per constant on its first evaluation); every other cast goes through the
 * cache and gives the same answer each time.
 */
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
    ];
    for (const [constant, to, expected] of cases) {
      expect(castConst(constant, to)).toBe(expected);
      expect(castConstOnce(constant, to)).toBe(expected);
    }
  });

  it('casts everything else through its cache, the same answer every time', () => {
    const five = c(5);
    expect(castConst(five, 'float8')).toBe(5);
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
});
