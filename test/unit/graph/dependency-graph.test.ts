import { describe, expect, it } from 'vitest';
import { DependencyGraph } from '../../../src/graph/index.ts';

function diamond(): DependencyGraph {
  const g = new DependencyGraph();
  g.add('base', 'K-base', []);
  g.add('left', 'K-left', ['base']);
  g.add('right', 'K-right', ['base']);
  g.add('top', 'K-top', ['left', 'right']);
  g.add('other', 'K-other', []);
  return g;
}

describe('DependencyGraph', () => {
  it('refuses a shape whose dependency is not in the graph', () => {
    const g = new DependencyGraph();
    expect(() => g.add('a', 'K-a', ['missing'])).toThrow(/depends on missing/);
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

  it('orders dependencies first and forgets deleted keys', () => {
    const g = diamond();
    const order = g.topologicalOrder();
    expect(order.indexOf('base')).toBeLessThan(order.indexOf('left'));
    expect(order.indexOf('left')).toBeLessThan(order.indexOf('top'));
    expect(order.length).toBe(5);
    expect(g.handleForKey('K-top')).toBe('top');
    g.delete('top');
    expect(g.handleForKey('K-top')).toBeUndefined();
    expect(g.size).toBe(4);
  });
});
