import { describe, expect, it } from 'vitest';
import { HandleBuckets } from '../../../src/shapes/where-index/handle-buckets.ts';

const handlesOf = (held: string | readonly string[] | ReadonlySet<string> | undefined): string[] => (held === undefined ? [] : typeof held === 'string' ? [held] : [...held]).sort();

/** The shapes under a key of buckets holding shape objects (the where index's), by handle. */
const shapesOf = (held: Shape | readonly Shape[] | ReadonlySet<Shape> | undefined): string[] =>
  (held === undefined ? [] : Array.isArray(held) || held instanceof Set ? [...(held as Iterable<Shape>)] : [held as Shape]).map((s) => s.handle).sort();

interface Shape {
  readonly handle: string;
}

describe('HandleBuckets', () => {
  it('holds what a Set per key would, through one, a few and many handles, growing and shrinking', () => {
    const buckets = new HandleBuckets<number>();
    const objects = new HandleBuckets<number, Shape>();
    // (one object per handle: the where index files each shape's own record)
    const shapes = new Map<string, Shape>();
    const model = new Map<number, Set<string>>();
    let seed = 11;
    const random = (n: number): number => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed % n;
    };
    for (let step = 0; step < 4_000; step++) {
      const key = random(3);
      const handle = `h${random(14)}`;
      let shape = shapes.get(handle);
      if (!shape) shapes.set(handle, (shape = { handle }));
      const set = model.get(key) ?? new Set();
      if (random(2) === 0) {
        buckets.add(key, handle);
        objects.add(key, shape);
        set.add(handle);
      } else {
        buckets.delete(key, handle);
        objects.delete(key, shape);
        set.delete(handle);
      }
      if (set.size === 0) model.delete(key);
      else model.set(key, set);
      expect(handlesOf(buckets.get(key))).toEqual([...set].sort());
      expect(shapesOf(objects.get(key))).toEqual([...set].sort());
      expect(buckets.size).toBe(model.size);
      expect(objects.size).toBe(model.size);
    }
    // A lone handle is the string itself.
    const one = new HandleBuckets();
    one.add('k', 'a');
    one.add('k', 'b');
    one.delete('k', 'a');
    expect(one.get('k')).toBe('b');
    // A lone object is the object itself; an equal but distinct object is another shape.
    const a = { handle: 'a' };
    const objectsOne = new HandleBuckets<string, Shape>();
    objectsOne.add('k', a);
    objectsOne.add('k', { handle: 'a' });
    expect(shapesOf(objectsOne.get('k'))).toEqual(['a', 'a']);
    objectsOne.add('k', a);
    expect((objectsOne.get('k') as readonly Shape[]).length).toBe(2);
    objectsOne.delete('k', (objectsOne.get('k') as readonly Shape[])[1]!);
    expect(objectsOne.get('k')).toBe(a);
  });
});
