import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RequestQueue } from '../../../src/machines/request-queue.ts';

const queueOf = (items: readonly number[]): RequestQueue<number> => items.reduce((q, item) => q.push(item), RequestQueue.empty<number>());

describe('RequestQueue', () => {
  it('takes requests in the order they were added, and says what waits', () => {
    let q = RequestQueue.empty<number>();
    expect(q.length).toBe(0);
    expect(q.first).toBeUndefined();
    for (let i = 0; i < 5; i++) q = q.push(i);
    expect(q.length).toBe(5);
    expect(q.first).toBe(0);
    q = q.drop(2);
    expect(q.toArray()).toEqual([2, 3, 4]);
    expect([...q]).toEqual([2, 3, 4]);
    expect(q.some((n) => n === 3)).toBe(true);
    expect(q.some((n) => n === 1)).toBe(false);
    expect(JSON.stringify({ queue: q })).toBe('{"queue":[2,3,4]}');
  });

  it('puts failures ahead of what waits, in their order; an empty prefix is the same queue', () => {
    const q = queueOf([3, 4]);
    expect(q.pushFront([1, 2]).toArray()).toEqual([1, 2, 3, 4]);
    expect(q.pushFront([])).toBe(q);
    expect(q.toArray()).toEqual([3, 4]);
  });

  it('never changes a queue it was called on: two queues grown from one keep their own requests', () => {
    const base = RequestQueue.empty<string>().push('a').push('b');
    const left = base.push('left');
    const right = base.push('right');
    const dropped = base.drop(1).push('after-drop');
    expect(base.toArray()).toEqual(['a', 'b']);
    expect(left.toArray()).toEqual(['a', 'b', 'left']);
    expect(right.toArray()).toEqual(['a', 'b', 'right']);
    expect(dropped.toArray()).toEqual(['b', 'after-drop']);
    // The shared empty queue is never written into.
    RequestQueue.empty<string>().push('x');
    expect(RequestQueue.empty<string>().length).toBe(0);
  });

  it('drops past the end to the empty queue, and a drop of 0 keeps what waits', () => {
    const q = queueOf([1, 2, 3]);
    expect(q.drop(10).length).toBe(0);
    expect(q.drop(0).toArray()).toEqual([1, 2, 3]);
  });

  it('costs linear time for a burst: 200k requests added, then taken one at a time', () => {
    // A queue copied on each operation would copy 2 * 10^10 slots here (minutes); this runs in milliseconds.
    let q = RequestQueue.empty<number>();
    const n = 200_000;
    for (let i = 0; i < n; i++) q = q.push(i);
    let sum = 0;
    while (q.length > 0) {
      sum += q.first!;
      q = q.drop(1);
    }
    expect(sum).toBe((n * (n - 1)) / 2);
  });

  it('behaves as an array copied on every operation, over random operations on random earlier versions', () => {
    type Op = { kind: 'push'; value: number; from: number } | { kind: 'pushFront'; values: number[]; from: number } | { kind: 'drop'; count: number; from: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('push' as const), value: fc.integer(), from: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('pushFront' as const), values: fc.array(fc.integer(), { maxLength: 4 }), from: fc.nat() }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('drop' as const), count: fc.integer({ min: 0, max: 40 }), from: fc.nat() }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        // Every version stays reachable, as snapshots do; each op starts from a random one of them (mostly the latest).
        const versions: { queue: RequestQueue<number>; model: number[] }[] = [{ queue: RequestQueue.empty(), model: [] }];
        for (const o of ops) {
          const base = o.from % 3 === 0 ? versions[o.from % versions.length]! : versions.at(-1)!;
          const next =
            o.kind === 'push'
              ? { queue: base.queue.push(o.value), model: [...base.model, o.value] }
              : o.kind === 'pushFront'
                ? { queue: base.queue.pushFront(o.values), model: [...o.values, ...base.model] }
                : { queue: base.queue.drop(o.count), model: base.model.slice(o.count) };
          versions.push(next);
          for (const v of versions) {
            expect(v.queue.toArray()).toEqual(v.model);
            expect(v.queue.length).toBe(v.model.length);
            expect(v.queue.first).toBe(v.model[0]);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
