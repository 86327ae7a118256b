/**
 * Rows as of a position, from what the stream delivered after it (as-of.ts), on the captured
 * transactions: the first change to a row after the position carries the row as it was then.
 */
import { describe, expect, it } from 'vitest';
import { asOfOverrides } from '../../../src/sources/postgres/as-of.ts';
import { PgSnapshot } from '../../../src/sources/postgres/snapshot.ts';
import { capturedTransactions } from '../../fixtures/pgoutput/stream-fixture.ts';

const all = capturedTransactions();
const byStep = (step: string) => all.find((t) => t.step.startsWith(step))!;
const KEY = ['id'];
/** A snapshot that sees the transactions with these Postgres xids (and every earlier one), not the later ones. */
const seeing = (...seen: { pgXid: number }[]): PgSnapshot => {
  const last = Math.max(...seen.map((t) => t.pgXid));
  return PgSnapshot.parse(`${last + 1}:${last + 1}:`);
};

describe('asOfOverrides', () => {
  const insert = byStep('insert (full identity');
  const update = byStep('update of a non-key column');
  const keyChange = byStep('update of the key');
  const remove = byStep('delete');

  it('a row inserted after the position did not exist at it', () => {
    const { rows, transactions } = asOfOverrides('public.items', KEY, insert.commitLsn - 1, seeing(insert), all);
    expect(rows.get('[1]')).toBeNull();
    expect(rows.get('[2]')).toBeNull();
    expect(transactions).toBe(1);
  });

  it('a row changed after the position is as the first change found it; later changes do not count', () => {
    const { rows } = asOfOverrides('public.items', KEY, insert.commitLsn, seeing(remove), all);
    expect(rows.get('[1]')).toMatchObject({ id: 1, name: 'one', n: '1.50' });
    // 2 became 3 (key change), then 3 was deleted: 2 was the row as inserted, 3 did not exist.
    expect(rows.get('[2]')).toEqual({ id: 2, name: 'two', big: null, n: '2.00', j: null });
    expect(rows.get('[3]')).toBeNull();
  });

  it('only transactions after the position that the snapshot saw count (the query saw nothing else)', () => {
    const { rows } = asOfOverrides('public.items', KEY, insert.commitLsn, seeing(update), all);
    expect([...rows.keys()]).toEqual(['[1]']);
    expect(asOfOverrides('public.items', KEY, remove.commitLsn, seeing(remove), all).rows.size).toBe(0);
  });

  it('another table is not looked at; a truncate is said; a change without its old row (not FULL) is refused', () => {
    expect(asOfOverrides('public.other', KEY, 0, seeing(...all), all).rows.size).toBe(0);
    const truncate = byStep('truncate');
    expect(asOfOverrides('public.plain', KEY, byStep('a column added').commitLsn, seeing(truncate), all).truncated).toBe(true);
    expect(() => asOfOverrides('public.plain', KEY, keyChange.commitLsn, seeing(truncate), all)).toThrow(/REPLICA IDENTITY is not FULL/);
  });
});
