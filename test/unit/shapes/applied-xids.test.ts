import { describe, expect, it } from 'vitest';
import { AppliedXids, MAX_RUNS } from '../../../src/shapes/applied-xids.ts';

describe('AppliedXids', () => {
  it('tells applied from never applied below the position, as runs of consecutive xids', () => {
    const applied = new AppliedXids({ horizon: 0, runs: [] });
    for (const xid of [1, 2, 3, 10, 11, 20]) applied.add(xid);
    expect(applied.toRecord()).toEqual({ horizon: 0, runs: [[1, 3], [10, 11], [20, 20]] });
    expect([1, 3, 10, 11, 20].map((x) => applied.judge(x, 20))).toEqual(['applied', 'applied', 'applied', 'applied', 'applied']);
    expect([4, 9, 12, 19].map((x) => applied.judge(x, 20))).toEqual(['never-applied', 'never-applied', 'never-applied', 'never-applied']);
    expect(applied.judge(21, 20)).toBe('new');
  });

  it('an unknown horizon is the position it starts at: below it, older than the record', () => {
    const applied = new AppliedXids();
    expect(applied.judge(3, 5)).toBe('before-record');
    applied.startAt(5);
    applied.startAt(9); // only the first counts
    applied.add(8);
    expect([applied.judge(5, 8), applied.judge(6, 8), applied.judge(8, 8)]).toEqual(['before-record', 'never-applied', 'applied']);
  });

  it(`keeps the newest ${MAX_RUNS} runs: the oldest fold into the horizon`, () => {
    const applied = new AppliedXids({ horizon: 0, runs: [] });
    const total = MAX_RUNS * 3 + 5;
    for (let i = 1; i <= total; i++) applied.add(i * 2); // every xid its own run
    const { horizon, runs } = applied.toRecord();
    expect(runs).toHaveLength(MAX_RUNS);
    expect(horizon).toBe((total - MAX_RUNS) * 2);
    expect(runs[0]).toEqual([horizon! + 2, horizon! + 2]);
    expect(applied.judge(horizon!, total * 2)).toBe('before-record');
    expect(applied.judge(horizon! + 1, total * 2)).toBe('never-applied');
    expect(applied.judge(total * 2, total * 2)).toBe('applied');
    expect(new AppliedXids(applied.toRecord()).toRecord()).toEqual(applied.toRecord());
  });
});
