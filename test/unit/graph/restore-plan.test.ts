import { describe, expect, it } from 'vitest';
import { causeChain, planRestore, type PlanNode, type Removal } from '../../../src/graph/index.ts';

let clock = 1_000n;
/** A node whose definition key is `key` and whose subqueries ask for `depKeys`. */
function node(handle: string, key: string, deps: [handle: string, key: string][] = [], extra: Partial<PlanNode> = {}): PlanNode {
  return {
    handle,
    key,
    dependencyHandles: deps.map(([h]) => h),
    dependencyKeys: deps.map(([, k]) => k),
    createdAt: clock++,
    requested: true,
    ...extra,
  };
}

const byHandle = (removals: readonly Removal[]) => new Map(removals.map((r) => [r.handle, r]));

describe('planRestore', () => {
  it('keeps an intact graph, dependencies first', () => {
    const plan = planRestore([
      node('outer', 'K-outer', [['mid', 'K-mid']]),
      node('mid', 'K-mid', [['inner', 'K-inner']]),
      node('inner', 'K-inner'),
      node('lone', 'K-lone'),
    ]);
    expect(plan.removals).toEqual([]);
    expect(new Set(plan.keep)).toEqual(new Set(['outer', 'mid', 'inner', 'lone']));
    expect(plan.keep.indexOf('inner')).toBeLessThan(plan.keep.indexOf('mid'));
    expect(plan.keep.indexOf('mid')).toBeLessThan(plan.keep.indexOf('outer'));
  });

  it('replays the incident: a missing inner dependency removes both outer levels, with causes', () => {
    const plan = planRestore([
      node('outer', 'K-outer', [['mid', 'K-mid']]),
      node('mid', 'K-mid', [['32220858-1765808264363524', 'K-inner']]),
      node('other', 'K-other'),
    ]);
    expect(plan.keep).toEqual(['other']);
    const removed = byHandle(plan.removals);
    expect(removed.get('mid')).toMatchObject({ reason: 'missing-dependency', cause: '32220858-1765808264363524' });
    expect(removed.get('outer')).toMatchObject({ reason: 'dependency-removed', cause: 'mid' });
    expect(causeChain('outer', removed)).toEqual(['outer', 'mid', '32220858-1765808264363524']);
    // causes precede effects
    expect(plan.removals.map((r) => r.handle)).toEqual(['mid', 'outer']);
  });

  it('says dependency-removed, not missing, when the dependency was removed while loading', () => {
    const plan = planRestore([node('outer', 'K-outer', [['gone', 'K-gone']])], {
      removedWhileLoading: [{ handle: 'gone', reason: 'corrupt-definition', cause: null }],
    });
    expect(plan.removals).toEqual([
      { handle: 'gone', reason: 'corrupt-definition', cause: null },
      { handle: 'outer', reason: 'dependency-removed', cause: 'gone' },
    ]);
  });

  it('refuses a dependency handle that now names a shape with another definition', () => {
    const plan = planRestore([node('inner', 'K-other'), node('outer', 'K-outer', [['inner', 'K-inner']])]);
    expect(byHandle(plan.removals).get('outer')).toMatchObject({ reason: 'dependency-mismatch', cause: 'inner' });
    expect(plan.keep).toEqual(['inner']);
  });

  it('removes a shape whose stored handles do not match its subqueries', () => {
    const bad: PlanNode = { ...node('outer', 'K-outer', [['inner', 'K-inner']]), dependencyKeys: ['K-inner', 'K-second'] };
    const plan = planRestore([node('inner', 'K-inner'), bad]);
    expect(byHandle(plan.removals).get('outer')).toMatchObject({ reason: 'missing-dependency', cause: null });
  });

  it('removes shapes on a cycle and everything behind them, and keeps the rest', () => {
    const plan = planRestore([
      node('a', 'K-a', [['b', 'K-b']]),
      node('b', 'K-b', [['c', 'K-c']]),
      node('c', 'K-c', [['a', 'K-a']]),
      node('self', 'K-self', [['self', 'K-self']]),
      node('behind', 'K-behind', [['a', 'K-a']]),
      node('behind2', 'K-behind2', [['behind', 'K-behind']]),
      node('fine', 'K-fine'),
    ]);
    const removed = byHandle(plan.removals);
    for (const h of ['a', 'b', 'c', 'self']) expect(removed.get(h)?.reason).toBe('cycle');
    expect(removed.get('behind')).toMatchObject({ reason: 'dependency-removed', cause: 'a' });
    expect(removed.get('behind2')).toMatchObject({ reason: 'dependency-removed', cause: 'behind' });
    expect(plan.keep).toEqual(['fine']);
    const order = plan.removals.map((r) => r.handle);
    expect(order.indexOf('behind')).toBeLessThan(order.indexOf('behind2'));
  });

  it('keeps the oldest of two shapes with the same definition and removes the other with its dependents', () => {
    const old = node('d-old', 'K-d');
    const young = node('d-young', 'K-d');
    const plan = planRestore([young, node('user', 'K-user', [['d-young', 'K-d']]), old]);
    const removed = byHandle(plan.removals);
    expect(removed.get('d-young')).toMatchObject({ reason: 'duplicate', cause: 'd-old' });
    expect(removed.get('user')).toMatchObject({ reason: 'dependency-removed', cause: 'd-young' });
    expect(plan.keep).toEqual(['d-old']);
  });

  it('never lets a duplicate decision lose a valid shape through another duplicate', () => {
    // Two copies of D and two copies of E (E's subquery asks for D). The older E
    // points at the younger D: keeping "the oldest E" blindly would lose both.
    const dOld = node('d1', 'K-d');
    const eOld = node('e1', 'K-e', [['d2', 'K-d']]);
    const dYoung = node('d2', 'K-d');
    const eYoung = node('e2', 'K-e', [['d1', 'K-d']]);
    const plan = planRestore([dOld, eOld, dYoung, eYoung]);
    expect(new Set(plan.keep)).toEqual(new Set(['d1', 'e2']));
    const removed = byHandle(plan.removals);
    expect(removed.get('d2')).toMatchObject({ reason: 'duplicate', cause: 'd1' });
    expect(removed.get('e1')).toMatchObject({ reason: 'dependency-removed', cause: 'd2' });
  });

  it('prefers a valid duplicate over an older broken one', () => {
    const brokenOld = node('x1', 'K-x', [['nowhere', 'K-n']]);
    const validYoung = node('x2', 'K-x', [['n', 'K-n']]);
    const plan = planRestore([brokenOld, node('n', 'K-n'), validYoung]);
    expect(new Set(plan.keep)).toEqual(new Set(['n', 'x2']));
    expect(byHandle(plan.removals).get('x1')?.reason).toBe('missing-dependency');
  });

  it('dropDependent drops every subquery shape and the dependencies only they used', () => {
    const plan = planRestore(
      [
        node('inner', 'K-inner', [], { requested: false }),
        node('asked', 'K-asked', [], { requested: true }),
        node('orphan', 'K-orphan', [], { requested: false }),
        node('mid', 'K-mid', [['inner', 'K-inner']], { requested: false }),
        node('outer', 'K-outer', [['mid', 'K-mid'], ['asked', 'K-asked']]),
        node('plain', 'K-plain'),
      ],
      { policy: 'dropDependent' },
    );
    const removed = byHandle(plan.removals);
    expect(removed.get('outer')?.reason).toBe('policy-drop-dependent');
    expect(removed.get('mid')?.reason).toBe('policy-drop-dependent');
    expect(removed.get('inner')).toMatchObject({ reason: 'unused-dependency', cause: 'mid' });
    expect(new Set(plan.keep)).toEqual(new Set(['asked', 'orphan', 'plain']));
  });

  it('handles a chain of 100,000 without recursion limits', () => {
    const nodes: PlanNode[] = [];
    for (let i = 0; i < 100_000; i++) nodes.push(node(`h${i}`, `K${i}`, i === 0 ? [] : [[`h${i - 1}`, `K${i - 1}`]]));
    nodes.push(node('loop-a', 'K-la', [['loop-b', 'K-lb']]), node('loop-b', 'K-lb', [['loop-a', 'K-la']]));
    const plan = planRestore(nodes.reverse());
    expect(plan.keep.length).toBe(100_000);
    expect(plan.keep[0]).toBe('h0');
    expect(plan.keep[99_999]).toBe('h99999');
    expect(plan.removals.map((r) => r.reason)).toEqual(['cycle', 'cycle']);
  });

  it('removes a cycle of 200,000 shapes in linear time, each naming the next shape on the cycle', () => {
    // Finding "the next shape on my cycle" by searching the component made this k^2 (about a minute at 200k).
    const n = 200_000;
    const nodes: PlanNode[] = [];
    for (let i = 0; i < n; i++) nodes.push(node(`c${i}`, `K-c${i}`, [[`c${(i + 1) % n}`, `K-c${(i + 1) % n}`]]));
    nodes.push(node('behind', 'K-behind', [['c0', 'K-c0']]), node('fine', 'K-fine'));
    const plan = planRestore(nodes);
    const removed = byHandle(plan.removals);
    expect(plan.keep).toEqual(['fine']);
    expect(removed.size).toBe(n + 1);
    for (const i of [0, 1, 4_242, n - 1]) expect(removed.get(`c${i}`)).toMatchObject({ reason: 'cycle', cause: `c${(i + 1) % n}` });
    expect(removed.get('behind')).toMatchObject({ reason: 'dependency-removed', cause: 'c0' });
  }, 20_000);
});

describe('planRestore: the survivors others depend on', () => {
  it('names each kept shape that a kept shape depends on, once, in keep order; not one whose only dependents were removed', () => {
    const plan = planRestore([
      node('outer', 'K-outer', [['mid', 'K-mid']]),
      node('mid', 'K-mid', [['inner', 'K-inner']]),
      node('inner', 'K-inner'),
      node('twice', 'K-twice', [['inner', 'K-inner'], ['mid', 'K-mid']]),
      node('orphaned-dep', 'K-od'),
      node('broken', 'K-broken', [['orphaned-dep', 'K-od'], ['gone', 'K-gone']]),
    ]);
    expect(plan.keep).not.toContain('broken');
    expect(plan.dependedOn).toEqual(['inner', 'mid']);
  });
});
