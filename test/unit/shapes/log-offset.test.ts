import { describe, expect, it } from 'vitest';
import { BEFORE_ALL, compareLogOffsets, formatLogOffset, parseLogOffset, SNAPSHOT_END } from '../../../src/shapes/log-offset.ts';

describe('log offsets', () => {
  it('parses and prints Electric offsets', () => {
    expect(parseLogOffset('-1')).toEqual(BEFORE_ALL);
    expect(parseLogOffset('0_inf')).toEqual(SNAPSHOT_END);
    expect(parseLogOffset('0_3')).toEqual({ tx: 0, op: 3 });
    expect(parseLogOffset('0_03')).toEqual({ tx: 0, op: 3 });
    expect(parseLogOffset('26800584_4')).toEqual({ tx: 26800584, op: 4 });
    expect(parseLogOffset('12_inf')).toEqual({ tx: 12, op: Infinity });
    for (const text of ['-1', '0_0', '0_inf', '26800584_4', '9007199254740991_0']) expect(formatLogOffset(parseLogOffset(text)!)).toBe(text);
  });

  it('refuses what is not an offset, and numbers it cannot hold exactly', () => {
    for (const bad of ['', '10', '1_2_3', ' 1_2', '1_2 ', '-2', '-1_0', 'a_b', '1_-1', 'now', '1_', '_1', '99999999999999999_0', '9007199254740993_0']) {
      expect(parseLogOffset(bad), bad).toBeNull();
    }
  });

  it('orders offsets as (tx, op) tuples: -1 < snapshot chunks < 0_inf < transactions', () => {
    const order = ['-1', '0_0', '0_9', '0_inf', '1_0', '1_12', '1_inf', '2_0', '300_1'].map((t) => parseLogOffset(t)!);
    for (let i = 0; i < order.length; i++) {
      for (let j = 0; j < order.length; j++) expect(Math.sign(compareLogOffsets(order[i]!, order[j]!))).toBe(Math.sign(i - j));
    }
  });
});
