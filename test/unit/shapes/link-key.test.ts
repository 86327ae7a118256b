import { describe, expect, it } from 'vitest';
import { linkKey } from '../../../src/shapes/where/link-key.ts';

describe('linkKey', () => {
  it('numbers and numeric strings denoting the same number share a key', () => {
    const k = linkKey([7]);
    expect(k).not.toBeNull();
    for (const v of ['7', '7.0', '7.000', '0.7e1', '70e-1', '+7', 7n, 7.0]) expect(linkKey([v])).toBe(k);
    expect(linkKey([-0])).toBe(linkKey([0]));
    expect(linkKey(['-0.00'])).toBe(linkKey([0]));
    expect(linkKey(['99999999999999999999'])).toBe(linkKey([99999999999999999999n]));
    expect(linkKey(['99999999999999999999'])).not.toBe(linkKey([1e20]));
    expect(linkKey([0.1])).toBe(linkKey(['0.1']));
  });

  it('distinguishes different values and types', () => {
    const keys = [
      linkKey([7]),
      linkKey([8]),
      linkKey(['x']),
      linkKey(['X']),
      linkKey(['7 ']), // not numeric (whitespace)
      linkKey([true]),
      linkKey(['true']),
      linkKey([false]),
      linkKey(['']),
      linkKey([{ a: 1 }]),
      linkKey([[1]]),
      linkKey([7, 8]),
      linkKey([8, 7]),
      linkKey(['7,8']),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('encodes tuples unambiguously', () => {
    expect(linkKey(['a', 'b'])).not.toBe(linkKey(['a,b']));
    expect(linkKey(['a"', 'b'])).not.toBe(linkKey(['a', '"b']));
    expect(linkKey(['1', 'x'])).toBe(linkKey([1, 'x']));
  });

  it('returns null for tuples containing NULL or missing values', () => {
    expect(linkKey([null])).toBeNull();
    expect(linkKey([undefined])).toBeNull();
    expect(linkKey([1, null])).toBeNull();
    expect(linkKey([null, 1])).toBeNull();
  });
});
