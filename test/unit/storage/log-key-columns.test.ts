import { describe, expect, it } from 'vitest';
import { logKeyColumns } from '../../../src/storage/rows/log-key-columns.ts';
import { rowKey } from '../../../src/storage/rows/row-key.ts';
import type { Row } from '../../../src/shapes/where/evaluate.ts';

const keyed = (columns: readonly string[], rows: readonly Row[]) => new Map(rows.map((row) => [rowKey(row, columns)!, row]));

describe('logKeyColumns: what the rows say of the key columns an index records', () => {
  const rows = [1, 2, 3].map((i) => ({ org: i % 2, id: i, name: `n${i}`, copy: i % 2 }));

  it('agrees when the rows are stored under their recorded columns (and for a table without rows)', () => {
    expect(logKeyColumns(keyed(['id'], rows), ['id'])).toEqual({ status: 'agrees' });
    expect(logKeyColumns(new Map(), ['anything'])).toEqual({ status: 'agrees' });
  });

  it('finds the one column list, in key order, that gives every key', () => {
    expect(logKeyColumns(keyed(['id'], rows), ['name'])).toEqual({ status: 'keyed-by', columns: ['id'] });
    expect(logKeyColumns(keyed(['name', 'id'], rows), ['id', 'name'])).toEqual({ status: 'keyed-by', columns: ['name', 'id'] });
  });

  it('is unknown when several lists give the keys, or none does', () => {
    // org and copy hold the same values: (org, id) and (copy, id) both give every key.
    expect(logKeyColumns(keyed(['org', 'id'], rows), ['id'])).toEqual({ status: 'unknown' });
    expect(logKeyColumns(new Map([['[99]', { id: 1 }]]), ['id'])).toEqual({ status: 'unknown' });
    expect(logKeyColumns(new Map([['not json', { id: 1 }]]), ['id'])).toEqual({ status: 'unknown' });
  });
});
