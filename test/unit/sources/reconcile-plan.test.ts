/** What reconcile does: pure, from the wanted tables and the follow states. */
import { describe, expect, it } from 'vitest';
import { planReconcile } from '../../../src/sources/postgres/reconcile.ts';
import { UNPUBLISHED, type TableFollow } from '../../../src/sources/postgres/table-follow.ts';

const baseline = { oid: 1, keyColumns: ['id'], columns: [] };

describe('planReconcile', () => {
  it('unfollows what no shape reads, syncs what a shape reads and is not in step, and leaves the rest', () => {
    const states = new Map<string, TableFollow>([
      ['public.a', { state: 'synced', baseline, since: 0, applied: true }],
      ['public.b', { state: 'synced', baseline, since: 0, applied: true }],
      ['public.c', { state: 'early' }],
      ['public.d', { state: 'unfollowable', reason: 'gone' }],
      ['public.e', { state: 'failing', handles: new Set(['h']) }],
    ]);
    const plan = planReconcile(new Set(['public.a', 'public.c', 'public.d', 'public.e', 'public.new']), [...states.keys(), 'public.published-only'], (t) => states.get(t) ?? UNPUBLISHED, new Set(['public.a', 'public.published-only']));
    expect(plan.unfollow).toEqual(['public.b', 'public.published-only']);
    expect(plan.sync).toEqual(['public.c', 'public.new']);
  });

  it('a synced table the publication no longer covers is synced again', () => {
    const plan = planReconcile(new Set(['public.a']), ['public.a'], () => ({ state: 'synced', baseline, since: 0, applied: true }), new Set());
    expect(plan.sync).toEqual(['public.a']);
  });
});
