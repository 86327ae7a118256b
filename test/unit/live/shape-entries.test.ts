import { beforeAll, describe, expect, it } from 'vitest';
import { changeEntries, netChanges, NO_LINKS, snapshotEntries, withPgXid, type ShapeSpec } from '../../../src/live/shape-entries.ts';
import { linkKey } from '../../../src/shapes/where/link-key.ts';
import { linkSetOf } from '../../../src/shapes/where/link-set.ts';
import { loadSqlParser, parseWhere } from '../../../src/shapes/where/index.ts';
import type { LinkValues } from '../../../src/shapes/where/evaluate.ts';

beforeAll(loadSqlParser);

const spec = (where: string | undefined, extra: Partial<ShapeSpec> = {}): ShapeSpec => ({
  ...(where ? { where: parseWhere(where).expr } : {}),
  keyColumns: ['id'],
  replica: 'default',
  ...extra,
});
const noLinks = { before: NO_LINKS, after: NO_LINKS };
const set = (...values: number[]): LinkValues => () => linkSetOf(values.map((x) => linkKey([x])!));

describe('changeEntries', () => {
  it('logs an update that moves a row in or out as an insert or a delete', () => {
    const s = spec('status = 1');
    const entries = changeEntries(
      s,
      9,
      [
        { key: '[1]', oldRow: { id: 1, status: 0 }, row: { id: 1, status: 1 } },
        { key: '[2]', oldRow: { id: 2, status: 1 }, row: { id: 2, status: 0 } },
        { key: '[3]', oldRow: { id: 3, status: 0 }, row: { id: 3, status: 0 } },
        { key: '[4]', oldRow: null, row: { id: 4, status: 1 } },
        { key: '[5]', oldRow: { id: 5, status: 1 }, row: null },
      ],
      [],
      noLinks,
    );
    expect(entries).toEqual([
      { xid: 9, op: 'insert', key: '[1]', row: { id: 1, status: 1 } },
      { xid: 9, op: 'delete', key: '[2]', row: { id: 2 } },
      { xid: 9, op: 'insert', key: '[4]', row: { id: 4, status: 1 } },
      { xid: 9, op: 'delete', key: '[5]', row: { id: 5 } },
    ]);
  });

  it('logs only changed selected columns with replica default, the whole row with full', () => {
    const change = { key: '[1]', oldRow: { id: 1, a: 1, b: 2, c: 3 }, row: { id: 1, a: 1, b: 5, c: 4 } };
    expect(changeEntries(spec(undefined, { columns: ['a', 'b'] }), 1, [change], [], noLinks)).toEqual([{ xid: 1, op: 'update', key: '[1]', row: { id: 1, b: 5 } }]);
    expect(changeEntries(spec(undefined, { columns: ['a', 'b'], replica: 'full' }), 1, [change], [], noLinks)).toEqual([{ xid: 1, op: 'update', key: '[1]', row: { id: 1, a: 1, b: 5 } }]);
    // only an unselected column changed: nothing to log
    expect(changeEntries(spec(undefined, { columns: ['a'] }), 1, [change], [], noLinks)).toEqual([]);
  });

  it('moves rows in and out with the dependency values (before vs after)', () => {
    const s = spec('uid IN (SELECT user_id FROM public.m WHERE org = 1)');
    const rowA = { id: 1, uid: 10 };
    const rowB = { id: 2, uid: 20 };
    const entries = changeEntries(
      s,
      3,
      [],
      [
        { key: '[1]', row: rowA },
        { key: '[2]', row: rowB },
      ],
      { before: set(10), after: set(20) },
    );
    expect(entries).toEqual([
      { xid: 3, op: 'delete', key: '[1]', row: { id: 1 } },
      { xid: 3, op: 'insert', key: '[2]', row: rowB },
    ]);
  });

  it('evaluates a changed row against the links on its side of the transaction', () => {
    const s = spec('uid NOT IN (SELECT user_id FROM public.m WHERE org = 1)');
    // the row changed uid from 10 to 20 while 20 moved into the excluded set: it leaves the shape
    const entries = changeEntries(s, 3, [{ key: '[1]', oldRow: { id: 1, uid: 10 }, row: { id: 1, uid: 20 } }], [], { before: set(), after: set(20) });
    expect(entries).toEqual([{ xid: 3, op: 'delete', key: '[1]', row: { id: 1 } }]);
  });
});

describe('netChanges', () => {
  it("takes a row's changes together: its first old row, its last new row, in order of first appearance", () => {
    const changes = [
      { key: '[1]', oldRow: null, row: { id: 1, a: 1 } },
      { key: '[2]', oldRow: { id: 2, a: 0 }, row: { id: 2, a: 5 } },
      { key: '[1]', oldRow: { id: 1, a: 1 }, row: { id: 1, a: 2 } },
      { key: '[2]', oldRow: { id: 2, a: 5 }, row: null },
    ];
    expect(netChanges(changes)).toEqual([
      { key: '[1]', oldRow: null, row: { id: 1, a: 2 } },
      { key: '[2]', oldRow: { id: 2, a: 0 }, row: null },
    ]);
  });

  it('judges a row changed twice once: insert then update under moving links is one insert', () => {
    const s = spec('uid IN (SELECT user_id FROM public.m)');
    const entries = changeEntries(
      s,
      3,
      [
        { key: '[1]', oldRow: null, row: { id: 1, uid: 10 } },
        { key: '[1]', oldRow: { id: 1, uid: 10 }, row: { id: 1, uid: 10, x: 1 } },
      ],
      [],
      { before: set(), after: set(10) },
    );
    expect(entries).toEqual([{ xid: 3, op: 'insert', key: '[1]', row: { id: 1, uid: 10, x: 1 } }]);
  });
});

describe('snapshotEntries', () => {
  it('inserts every current row that matches, projected', () => {
    const rows = [
      { key: '[1]', row: { id: 1, uid: 10, x: 'a' } },
      { key: '[2]', row: { id: 2, uid: 30, x: 'b' } },
    ];
    const s = spec('uid IN (SELECT user_id FROM public.m WHERE org = 1)', { columns: ['uid'] });
    expect(snapshotEntries(s, 4, rows, set(10))).toEqual([{ xid: 4, op: 'insert', key: '[1]', row: { id: 1, uid: 10 } }]);
  });
});

describe('withPgXid', () => {
  it("marks every entry of a transaction with its Postgres transaction id, changing nothing else", () => {
    const entries = changeEntries(spec('status = 1'), 9, [{ key: '[1]', oldRow: null, row: { id: 1, status: 1 } }, { key: '[2]', oldRow: { id: 2, status: 1 }, row: null }], [], noLinks);
    expect(withPgXid(entries, 731)).toStrictEqual(entries.map((e) => ({ xid: e.xid, pgXid: 731, op: e.op, key: e.key, row: e.row })));
    expect(withPgXid(entries, 731).map((e) => e.op)).toEqual(['insert', 'delete']);
  });
});
