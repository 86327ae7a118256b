/**
 * pgoutput messages to the runtime's changes, on real messages captured from
 * PostgreSQL 15 (test/fixtures/pgoutput/: REPLICA IDENTITY FULL on `items`,
 * with a TOASTed column; the default identity on `plain`).
 */
import type { Pgoutput } from 'pg-logical-replication';
import { describe, expect, it } from 'vitest';
import { changesOf, keysOf, relationName, type ChangeMessage } from '../../../src/sources/postgres/pgoutput-changes.ts';
import { stepMessages } from '../../fixtures/pgoutput/stream-fixture.ts';

const KEY = ['id'];

function changeMessages(step: string): ChangeMessage[] {
  return stepMessages(step).filter((m): m is ChangeMessage => m.tag === 'insert' || m.tag === 'update' || m.tag === 'delete');
}

function changes(step: string, previous?: (key: string) => Record<string, unknown> | undefined) {
  return changeMessages(step).flatMap((m) => changesOf(relationName(m.relation), m, KEY, previous));
}

describe('changesOf, full replica identity', () => {
  it('an insert is an insert of the new row, values decoded (numeric as text, jsonb parsed)', () => {
    const [first, second] = changes('insert (full identity');
    expect(first).toMatchObject({ op: 'insert', table: 'public.items', row: { id: 1, name: 'one', n: '1.50', j: { a: [1, 2] } } });
    expect((first!.row.big as string).length).toBe(12_800);
    expect(second).toEqual({ op: 'insert', table: 'public.items', row: { id: 2, name: 'two', big: null, n: '2.00', j: null } });
    expect(first!.oldRow).toBeUndefined();
  });

  it('an update carries the whole old row, and the new row keeps the TOASTed value the server did not send again', () => {
    const [update] = changes('update of a non-key column');
    expect(update!.op).toBe('update');
    expect(update!.row).toMatchObject({ id: 1, name: 'uno', n: '1.50' });
    expect(update!.oldRow).toMatchObject({ id: 1, name: 'one', n: '1.50' });
    expect((update!.row.big as string).length).toBe(12_800);
    expect(update!.row.big).toBe(update!.oldRow!.big);
  });

  it('an update of the key is a delete of the old row and an insert of the new one', () => {
    expect(changes('update of the key')).toEqual([
      { op: 'delete', table: 'public.items', row: { id: 2, name: 'two', big: null, n: '2.00', j: null }, oldRow: { id: 2, name: 'two', big: null, n: '2.00', j: null } },
      { op: 'insert', table: 'public.items', row: { id: 3, name: 'two', big: null, n: '2.00', j: null } },
    ]);
  });

  it('a delete is a delete of the whole old row', () => {
    expect(changes('delete')).toEqual([{ op: 'delete', table: 'public.items', row: { id: 3, name: 'two', big: null, n: '2.00', j: null }, oldRow: { id: 3, name: 'two', big: null, n: '2.00', j: null } }]);
  });

  it('a transaction touching one row three times: each change with the row as the one before left it', () => {
    const [insert, update, remove] = changes('one transaction');
    expect(insert).toMatchObject({ op: 'insert', row: { id: 4, n: '4.00' } });
    expect(update).toMatchObject({ op: 'update', row: { id: 4, n: '44.00' }, oldRow: { id: 4, n: '4.00' } });
    expect(remove).toMatchObject({ op: 'delete', oldRow: { id: 4, n: '44.00' } });
  });
});

describe('changesOf, default replica identity (no old row in the stream)', () => {
  it('an update of a non-key column has no old row', () => {
    const [, update] = changes('default identity');
    expect(update).toEqual({ op: 'update', table: 'public.plain', row: { id: 1, v: 2 } });
  });

  it('an update of the key: the delete names the old key, the insert takes the rest of the row from `previous`', () => {
    const previous = new Map([['[1]', { id: 1, v: 2, note: 'kept' }]]);
    const [, , remove, insert] = changes('default identity', (key) => previous.get(key));
    expect(remove).toEqual({ op: 'delete', table: 'public.plain', row: { id: 1 } });
    expect(insert).toEqual({ op: 'insert', table: 'public.plain', row: { id: 2, v: 2, note: 'kept' } });
  });

  it('a delete names the key only', () => {
    expect(changes('default identity').at(-1)).toEqual({ op: 'delete', table: 'public.plain', row: { id: 2 } });
  });
});

describe('keysOf', () => {
  it('every key a change touches, old before new, once each', () => {
    const keys = changeMessages('update of the key').map((m) => keysOf(m, KEY));
    expect(keys).toEqual([['[2]', '[3]']]);
    expect(changeMessages('default identity').map((m) => keysOf(m, KEY))).toEqual([['[1]'], ['[1]'], ['[1]', '[2]'], ['[2]']]);
  });
});

describe('the messages around the changes', () => {
  it('a relation message after a column was added describes the new column; a truncate names its relations', () => {
    const relation = stepMessages('a column added').find((m): m is Pgoutput.MessageRelation => m.tag === 'relation')!;
    expect(relation.columns.map((c) => c.name)).toEqual(['id', 'name', 'big', 'n', 'j', 'extra']);
    expect(relation.replicaIdentity).toBe('full');
    const truncate = stepMessages('truncate').find((m): m is Pgoutput.MessageTruncate => m.tag === 'truncate')!;
    expect(truncate.relations.map(relationName)).toEqual(['public.plain']);
  });

  it('a marker written outside any transaction comes between transactions, with its own position', () => {
    const messages = stepMessages('a marker outside');
    expect(messages.map((m) => m.tag)).toEqual(['message']);
    const marker = messages[0] as Pgoutput.MessageMessage;
    expect(marker.transactional).toBe(false);
    expect(Buffer.from(marker.content).toString()).toBe('marker:1');
    expect(marker.messageLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
  });
});
