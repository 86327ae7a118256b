import { describe, expect, it } from 'vitest';
import { DependencyGraph } from '../../../src/graph/index.ts';

function diamond(): DependencyGraph {
  const g = new DependencyGraph();
  g.add('base', []);
  g.add('left', ['base']);
  g.add('right', ['base']);
  g.add('top', ['left', 'right']);
  g.add('other', []);
  return g;
}

describe('DependencyGraph', () => {
  it('refuses a shape whose dependency is not in the graph', () => {
    const g = new DependencyGraph();
    expect(() => g.add('a', ['missing'])).toThrow(/depends on missing/);
    expect(g.has('a')).toBe(false);
  });

  it('cascades a removal to every dependent once, causes first', () => {
    const closure = diamond().removalClosure('base', 'removed');
    expect(closure[0]).toEqual({ handle: 'base', reason: 'removed', cause: null });
    expect(closure.map((r) => r.handle).sort()).toEqual(['base', 'left', 'right', 'top']);
    const top = closure.find((r) => r.handle === 'top')!;
    expect(['left', 'right']).toContain(top.cause);
    expect(closure.findIndex((r) => r.handle === top.cause)).toBeLessThan(closure.indexOf(top));
  });

  it('keeps a dependency that loses its last dependent', () => {
    const g = diamond();
    for (const r of g.removalClosure('top', 'removed')) g.delete(r.handle);
    expect(g.has('left')).toBe(true);
    expect(g.dependentsOf('left').size).toBe(0);
    expect(g.dependentsOf('base')).toEqual(new Set(['left', 'right']));
  });

  it('orders dependencies first and forgets deleted shapes', () => {
    const g = diamond();
    const order = g.topologicalOrder();
    expect(order.indexOf('base')).toBeLessThan(order.indexOf('left'));
    expect(order.indexOf('left')).toBeLessThan(order.indexOf('top'));
    expect(order.length).toBe(5);
    g.delete('top');
    expect(g.has('top')).toBe(false);
    expect(g.dependentsOf('left').size).toBe(0);
    expect(g.size).toBe(4);
  });

  it('keeps a dependencies-first order through random adds and cascading deletes', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed % n;
    };
    const g = new DependencyGraph();
    const deps = new Map<string, string[]>();
    for (let step = 0; step < 3_000; step++) {
      const live = [...deps.keys()];
      if (live.length > 0 && random(4) === 0) {
        for (const r of g.removalClosure(live[random(live.length)]!, 'removed')) {
          g.delete(r.handle);
          deps.delete(r.handle);
        }
        continue;
      }
      const handle = `h${step}`;
      const chosen = live.length === 0 ? [] : Array.from({ length: random(4) }, () => live[random(live.length)]!);
      g.add(handle, chosen);
      deps.set(handle, chosen);
    }
    const order = g.topologicalOrder();
    expect(new Set(order)).toEqual(new Set(deps.keys()));
    const position = new Map(order.map((h, i) => [h, i]));
    for (const [handle, ds] of deps) for (const d of ds) expect(position.get(d)!).toBeLessThan(position.get(handle)!);
  });
});
