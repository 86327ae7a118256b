import { describe, expect, it } from 'vitest';
import { columnType } from '../../../src/shapes/column-types.ts';
import { decodeLinkKey, linkElements, linkKey, tupleHasNull, tupleKey } from '../../../src/shapes/where/link-key.ts';
import { canonicalKey } from '../../../src/shapes/where/sql-values.ts';

const key = (value: unknown, type?: string) => canonicalKey(value, type === undefined ? undefined : columnType(type));

describe('canonicalKey', () => {
  it('numeric values that are equal in SQL share a key, whatever JavaScript type they arrive in', () => {
    for (const v of ['7', '7.0', '7.000', '0.7e1', '70e-1', 7, 7n]) expect(key(v, 'numeric')).toBe(key(7, 'int4'));
    expect(key('1.50', 'numeric')).toBe(key('1.5', 'numeric'));
    expect(key('-0.00', 'numeric')).toBe(key(0, 'int4'));
    expect(key('9007199254740993', 'int8')).toBe(key('9007199254740993', 'numeric'));
    expect(key('9007199254740993', 'int8')).not.toBe(key('9007199254740992', 'int8'));
    expect(key(-0, 'float8')).toBe(key(0, 'float8'));
    expect(key(7, 'float8')).toBe(key(7, 'int2'));
    expect(key('NaN', 'float8')).toBe(key('NaN', 'numeric'));
    expect(key('Infinity', 'float4')).toBe(key('Infinity', 'numeric'));
  });

  it('a float4 is its float4 value: 0.1 there is not the double 0.1', () => {
    expect(key(0.1, 'float4')).not.toBe(key(0.1, 'float8'));
    expect(key(0.1, 'float4')).toBe(key(Math.fround(0.1), 'float8'));
    expect(key('0.1', 'float4')).toBe(key(0.1, 'float4'));
  });

  it('text is text: two spellings of one number are two values (issue 18 class 7)', () => {
    expect(key('07', 'text')).not.toBe(key('7', 'text'));
    expect(key('7', 'varchar')).toBe(key('7', 'text'));
    // without declared types a value has its JSON type: the string '7' is not the number 7
    expect(key('7')).not.toBe(key(7));
    expect(key(7)).toBe(key(7, 'int4'));
  });

  it('distinguishes different values and types', () => {
    const keys = [key(7), key(8), key('x'), key('X'), key('7 '), key(true), key('true'), key(false), key(''), key({ a: 1 }), key([1])];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('NULL, and a value that does not fit its column type, have no key', () => {
    expect(key(null, 'int4')).toBeNull();
    expect(key(undefined)).toBeNull();
    expect(key('abc', 'int4')).toBeNull();
    expect(key(1.5, 'int4')).toBeNull();
  });
});

describe('tuple keys', () => {
  it('encode tuples unambiguously, NULL elements included', () => {
    expect(linkKey(['a', 'b'])).not.toBe(linkKey(['a,b']));
    expect(linkKey(['a"', 'b'])).not.toBe(linkKey(['a', '"b']));
    expect(linkKey([7, 8])).not.toBe(linkKey([8, 7]));
    expect(tupleKey(linkElements([1, null]))).not.toBe(tupleKey(linkElements([null, 1])));
    expect(tupleHasNull(tupleKey(linkElements(['null'])))).toBe(false);
    expect(tupleHasNull(tupleKey(linkElements([1, null])))).toBe(true);
  });

  it('linkKey is null for tuples holding NULL (they equal nothing)', () => {
    expect(linkKey([null])).toBeNull();
    expect(linkKey([undefined])).toBeNull();
    expect(linkKey([1, null])).toBeNull();
  });

  it('decode to values people and Postgres parameters read', () => {
    expect(decodeLinkKey(linkKey(['1.50'], [columnType('numeric')])!)).toEqual([1.5]);
    expect(decodeLinkKey(linkKey(['9007199254740993'], [columnType('int8')])!)).toEqual(['9007199254740993']);
    expect(decodeLinkKey(linkKey(['NaN', 'x', true], [columnType('numeric'), columnType('text'), columnType('bool')])!)).toEqual(['NaN', 'x', true]);
    expect(decodeLinkKey(tupleKey(linkElements([null, 2])))).toEqual([null, 2]);
  });
});
