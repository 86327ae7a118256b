import { describe, expect, it } from 'vitest';
import { HandleBuckets } from '../../../src/shapes/where-index/handle-buckets.ts';

const handlesOf = (held: string | readonly string[] | ReadonlySet<string> | undefined): string[] => (held === undefined ? [] : typeof held === 'string' ? [held] : [...held]).sort();

describe('HandleBuckets', () => {
  it('holds what a Set per key would, through one, a few and many handles, growing and shrinking', () => {
    const buckets = new HandleBuckets<number>();
    const model = new Map<number, Set<string>>();
    let seed = 11;
    const random = (n: number): number => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed % n;
    };
    for (let step = 0; step < 4_000; step++) {
      const key = random(3);
      const handle = `h${random(14)}`;
      const set = model.get(key) ?? new Set();
      if (random(2) === 0) {
        buckets.add(key, handle);
        set.add(handle);
      } else {
        buckets.delete(key, handle);
        set.delete(handle);
      }
      if (set.size === 0) model.delete(key);
      else model.set(key, set);
      expect(handlesOf(buckets.get(key))).toEqual([...set].sort());
      expect(buckets.size).toBe(model.size);
    }
    // A lone handle is the string itself.
    const one = new HandleBuckets();
    one.add('k', 'a');
    one.add('k', 'b');
    one.delete('k', 'a');
    expect(one.get('k')).toBe('b');
  });
});
