import { describe, expect, it } from 'vitest';
import { inferColumns, shapeColumns } from '../../../src/runtime/shape-columns.ts';

describe('column types on the embedded store', () => {
  it('types a column by the kind of its values, and leaves it untyped when unknown or mixed', () => {
    const rows = [
      { id: 1, name: 'a', flag: true, doc: { x: 1 }, maybe: null, mixed: 1 },
      { id: 2, name: null, flag: false, doc: [1], mixed: 'one', late: 2.5 },
    ];
    expect(inferColumns(rows, ['id'])).toEqual([
      { name: 'id', type: 'float8', pkIndex: 0 },
      { name: 'name', type: 'text' },
      { name: 'flag', type: 'bool' },
      { name: 'doc', type: 'jsonb' },
      { name: 'maybe', type: null },
      { name: 'mixed', type: null },
      { name: 'late', type: 'float8' },
    ]);
  });

  it('keeps the key columns first, then the selected ones', () => {
    const table = [{ name: 'a', type: 'text' }, { name: 'id', type: 'int4' }, { name: 'b', type: 'bool' }];
    expect(shapeColumns(table, ['id'], ['b'])).toEqual([
      { name: 'id', type: 'int4', pkIndex: 0 },
      { name: 'b', type: 'bool' },
    ]);
    expect(shapeColumns(table, ['id'], undefined)).toEqual([{ name: 'a', type: 'text' }, { name: 'id', type: 'int4', pkIndex: 0 }, { name: 'b', type: 'bool' }]);
  });
});
