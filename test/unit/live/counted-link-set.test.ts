import { describe, expect, it } from 'vitest';
import { CountedLinkSet } from '../../../src/live/counted-link-set.ts';
import { linkElements, linkKey, tupleKey } from '../../../src/shapes/where/link-key.ts';
import { columnType } from '../../../src/shapes/column-types.ts';
import type { LogEntry } from '../../../src/storage/storage.ts';

const ins = (key: string, row: Record<string, unknown>): LogEntry => ({ xid: 1, op: 'insert', key, row });
const upd = (key: string, row: Record<string, unknown>): LogEntry => ({ xid: 1, op: 'update', key, row });
const del = (key: string): LogEntry => ({ xid: 1, op: 'delete', key, row: {} });
const v = (...values: unknown[]) => linkKey(values)!;

describe('CountedLinkSet', () => {
  it('keeps a value until its last row leaves', () => {
    const set = new CountedLinkSet(['user_id']);
    expect(set.apply([ins('a', { user_id: 7 }), ins('b', { user_id: 7 })])).toEqual({ movedIn: [v(7)], movedOut: [], size: 1 });
    expect(set.apply([del('a')])).toEqual({ movedIn: [], movedOut: [], size: 1 });
    expect(set.has(v(7))).toBe(true);
    expect(set.apply([del('b')])).toEqual({ movedIn: [], movedOut: [v(7)], size: 0 });
    expect(set.has(v(7))).toBe(false);
    expect(set.size).toBe(0);
  });

  it('moves a row from one value to another on update', () => {
    const set = new CountedLinkSet(['user_id']);
    set.apply([ins('a', { user_id: 1 })]);
    expect(set.apply([upd('a', { user_id: 2 })])).toEqual({ movedIn: [v(2)], movedOut: [v(1)], size: 1 });
  });

  it('keeps the value of columns an update does not carry', () => {
    const set = new CountedLinkSet(['a', 'b']);
    set.apply([ins('r', { a: 1, b: 2 })]);
    expect(set.apply([upd('r', { b: 3 })])).toEqual({ movedIn: [v(1, 3)], movedOut: [v(1, 2)], size: 1 });
    expect(set.apply([upd('r', { other: 'x' })])).toEqual({ movedIn: [], movedOut: [], size: 1 });
    expect(set.values()).toEqual([v(1, 3)]);
  });

  it('reports no move when a value leaves and comes back in one batch', () => {
    const set = new CountedLinkSet(['x']);
    set.apply([ins('a', { x: 5 })]);
    expect(set.apply([del('a'), ins('b', { x: 5 })])).toEqual({ movedIn: [], movedOut: [], size: 1 });
    expect(set.has(v(5))).toBe(true);
  });

  it('keeps tuples holding NULL (SQL needs them) and treats a re-inserted key as a replacement', () => {
    const set = new CountedLinkSet(['x']);
    const nul = tupleKey(linkElements([null]));
    expect(set.apply([ins('a', { x: null }), ins('b', {})])).toEqual({ movedIn: [nul], movedOut: [], size: 1 });
    expect(set.compatibleCount(linkElements([5]))).toBe(1); // 5 IN (NULL): UNKNOWN
    expect(set.compatibleCount(linkElements([null]))).toBe(1); // NULL IN (non-empty): UNKNOWN
    set.apply([ins('a', { x: 1 })]);
    expect(set.apply([ins('a', { x: 2 })])).toEqual({ movedIn: [v(2)], movedOut: [v(1)], size: 2 });
    expect(set.apply([del('b')])).toEqual({ movedIn: [], movedOut: [nul], size: 1 });
    expect(set.compatibleCount(linkElements([5]))).toBe(0);
    expect(set.apply([del('zzz')])).toEqual({ movedIn: [], movedOut: [], size: 1 });
  });

  it("reads values in the dependency table's column types", () => {
    const set = new CountedLinkSet(['n'], { n: columnType('numeric') });
    set.apply([ins('a', { n: '1.50' })]);
    expect(set.has(linkKey([1.5])!)).toBe(true);
    const text = new CountedLinkSet(['t'], { t: columnType('text') });
    text.apply([ins('a', { t: '7' })]);
    expect(text.has(linkKey(['07'])!)).toBe(false);
  });

  it('counts tuples that agree but for NULLs, for row comparisons', () => {
    const set = new CountedLinkSet(['a', 'b']);
    set.apply([ins('r', { a: 1, b: null }), ins('s', { a: 2, b: 3 })]);
    expect(set.compatibleCount(linkElements([1, 9]))).toBe(1);
    expect(set.compatibleCount(linkElements([2, 3]))).toBe(1);
    expect(set.compatibleCount(linkElements([2, 4]))).toBe(0);
    expect(set.compatibleCount(linkElements([null, 3]))).toBe(2);
    expect(set.compatibleCount(linkElements([null, 4]))).toBe(1);
    set.apply([del('r')]);
    expect(set.compatibleCount(linkElements([1, 9]))).toBe(0);
    expect(set.compatibleCount(linkElements([null, 3]))).toBe(1);
  });
});
