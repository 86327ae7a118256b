import { describe, expect, it } from 'vitest';
import { DependencyGraph } from '../../../src/graph/dependency-graph.ts';
import { ShapeUsage } from '../../../src/registry/shape-usage.ts';

/** base <- mid <- top, and a lone shape; registered as a restore does, dependencies first. */
function restored(): { graph: DependencyGraph; usage: ShapeUsage } {
  const graph = new DependencyGraph();
  graph.add('base', []);
  graph.add('mid', ['base']);
  graph.add('lone', []);
  graph.add('top', ['mid']);
  const usage = new ShapeUsage(graph);
  usage.reset();
  return { graph, usage };
}

describe('ShapeUsage', () => {
  it('after a restore, evicts in the order registered reversed: dependents before their dependencies', () => {
    const { usage } = restored();
    expect(usage.evictionCandidates(4)).toEqual(['top', 'lone', 'mid', 'base']);
    expect(usage.evictionCandidates(1)).toEqual(['top']);
  });

  it('a used shape and its dependencies become the most recent; a shape added since is used', () => {
    const { graph, usage } = restored();
    usage.touch('mid');
    expect(usage.evictionCandidates(4)).toEqual(['top', 'lone', 'mid', 'base']);
    usage.touch('top');
    // lone is the least recently used; base cannot go while mid stays.
    expect(usage.evictionCandidates(1)).toEqual(['lone']);
    expect(usage.evictionCandidates(2)).toEqual(['lone', 'top']);
    graph.add('late', ['base']);
    usage.touch('late');
    expect(usage.evictionCandidates(5)).toEqual(['lone', 'top', 'mid', 'late', 'base']);
    usage.forget('lone');
    graph.delete('lone');
    expect(usage.evictionCandidates(1)).toEqual(['top']);
  });
});
