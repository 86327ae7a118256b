import { describe, expect, it } from 'vitest';
import { CountedLinkSet } from '../../../src/live/counted-link-set.ts';
import { linkKey } from '../../../src/shapes/where/link-key.ts';
import type { LogEntry } from '../../../src/storage/storage.ts';

const ins = (key: string, row: Record<string, unknown>): LogEntry => ({ xid: 1, op: 'insert', key, row });
const upd = (key: string, row: Record<string, unknown>): LogEntry => ({ xid: 1, op: 'update', key, row });
const del = (key: string): LogEntry => ({ xid: 1, op: 'delete', key, row: {} });
const v = (...values: unknown[]) => linkKey(values)!;

describe('CountedLinkSet', () => {
  it('keeps a value until its last row leaves', () => {
    const set = new CountedLinkSet(['user_id']);
    expect(set.apply([ins('a', { user_id: 7 }), ins('b', { user_id: 7 })])).toEqual({ movedIn: [v(7)], movedOut: [] });
    expect(set.apply([del('a')])).toEqual({ movedIn: [], movedOut: [] });
    expect(set.has(v(7))).toBe(true);
    expect(set.apply([del('b')])).toEqual({ movedIn: [], movedOut: [v(7)] });
    expect(set.has(v(7))).toBe(false);
    expect(set.size).toBe(0);
  });

  it('moves a row from one value to another on update', () => {
    const set = new CountedLinkSet(['user_id']);
    set.apply([ins('a', { user_id: 1 })]);
    expect(set.apply([upd('a', { user_id: 2 })])).toEqual({ movedIn: [v(2)], movedOut: [v(1)] });
  });

  it('keeps the value of columns an update does not carry', () => {
    const set = new CountedLinkSet(['a', 'b']);
    set.apply([ins('r', { a: 1, b: 2 })]);
    expect(set.apply([upd('r', { b: 3 })])).toEqual({ movedIn: [v(1, 3)], movedOut: [v(1, 2)] });
    expect(set.apply([upd('r', { other: 'x' })])).toEqual({ movedIn: [], movedOut: [] });
    expect(set.values()).toEqual([v(1, 3)]);
  });

  it('reports no move when a value leaves and comes back in one batch', () => {
    const set = new CountedLinkSet(['x']);
    set.apply([ins('a', { x: 5 })]);
    expect(set.apply([del('a'), ins('b', { x: 5 })])).toEqual({ movedIn: [], movedOut: [] });
    expect(set.has(v(5))).toBe(true);
  });

  it('does not track NULL values and treats a re-inserted key as a replacement', () => {
    const set = new CountedLinkSet(['x']);
    expect(set.apply([ins('a', { x: null }), ins('b', {})])).toEqual({ movedIn: [], movedOut: [] });
    expect(set.size).toBe(0);
    set.apply([ins('a', { x: 1 })]);
    expect(set.apply([ins('a', { x: 2 })])).toEqual({ movedIn: [v(2)], movedOut: [v(1)] });
    expect(set.apply([del('zzz')])).toEqual({ movedIn: [], movedOut: [] });
  });
});
