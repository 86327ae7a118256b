import { describe, expect, it } from 'vitest';
import { checkOrder } from '../../../src/machines/storage-check.actions.ts';

describe('checkOrder: what the check after restore reads, in which order', () => {
  // Kept dependencies first: a, b are depended on; c, d, e are not.
  const kept = ['a', 'c', 'b', 'd', 'e'];

  it('reads the shapes others depend on first, each part in the kept order', () => {
    expect(checkOrder(kept, new Set(), new Set(['a', 'b']))).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('leaves out what restore read, depended on or not', () => {
    expect(checkOrder(kept, new Set(['b', 'd']), new Set(['a', 'b']))).toEqual(['a', 'c', 'e']);
    expect(checkOrder(kept, new Set(['a', 'b']), new Set(['a', 'b']))).toEqual(['c', 'd', 'e']);
  });

  it('with nothing to leave out or move, is the kept list itself; with everything read, empty', () => {
    expect(checkOrder(kept, new Set(), new Set())).toBe(kept);
    expect(checkOrder(kept, new Set(kept), new Set(['a']))).toEqual([]);
  });
});
