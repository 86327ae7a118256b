import { describe, expect, it } from 'vitest';
import type { RestorePlan } from '../../../src/graph/restore-plan.ts';
import type { ShapeRecord } from '../../../src/registry/shape-record.ts';
import { applyLaterFindings } from '../../../src/restore/later-findings.ts';

const record = (handle: string, deps: string[] = []): ShapeRecord => ({
  stored: { handle, definition: { table: `public.${handle}`, replica: 'default' }, dependencyHandles: deps, requested: true },
  shape: { definition: { table: `public.${handle}`, replica: 'default' }, key: handle, dependencies: [] },
});

describe('applyLaterFindings: what the check after restore does to a plan', () => {
  // a <- b <- c, a <- d; e alone
  const records = [record('1-1'), record('2-2', ['1-1']), record('3-3', ['2-2']), record('4-4', ['1-1']), record('5-5')];
  const plan: RestorePlan = { keep: ['1-1', '5-5', '2-2', '4-4', '3-3'], keptNodes: [0, 4, 1, 3, 2], removals: [{ handle: '9-9', reason: 'no-storage', cause: null }], dependedOn: ['1-1', '2-2'] };
  const damaged = (handle: string, reason: 'corrupt-log' | 'corrupt-definition') => ({ handle, removal: { handle, reason, cause: null, detail: `${handle} is damaged` } });

  it('removes a damaged shape with everything depending on it, after the plan\'s own removals', () => {
    const settled = applyLaterFindings(plan, records, [damaged('2-2', 'corrupt-log')]);
    expect(settled.keep).toEqual(['1-1', '5-5', '4-4']);
    expect(settled.keptNodes).toEqual([0, 4, 3]);
    expect(settled.dependedOn).toEqual(['1-1']);
    expect(settled.removals).toEqual([
      { handle: '9-9', reason: 'no-storage', cause: null },
      { handle: '2-2', reason: 'corrupt-log', cause: null, detail: '2-2 is damaged' },
      { handle: '3-3', reason: 'dependency-removed', cause: '2-2' },
    ]);
  });

  it('goes dependencies first: a damaged shape that a damaged dependency already took is not removed twice', () => {
    const settled = applyLaterFindings(plan, records, [damaged('3-3', 'corrupt-definition'), damaged('1-1', 'corrupt-log')]);
    expect(settled.keep).toEqual(['5-5']);
    expect(settled.removals.slice(1).map((r) => [r.handle, r.reason, r.cause])).toEqual([
      ['1-1', 'corrupt-log', null],
      ['2-2', 'dependency-removed', '1-1'],
      ['4-4', 'dependency-removed', '1-1'],
      ['3-3', 'dependency-removed', '2-2'],
    ]);
  });

  it('a torn log (repaired, kept) changes nothing', () => {
    expect(applyLaterFindings(plan, records, [{ handle: '2-2', tornLog: true }])).toBe(plan);
  });
});
