import { describe, expect, it } from 'vitest';
import { parseTransaction } from '../../../src/shapes/transaction.ts';

const change = { op: 'insert', table: 'users', row: { id: 1 } } as const;

describe('parseTransaction: pgXid', () => {
  it("keeps a transaction's Postgres transaction id (a 32-bit xid) and adds none when it has none", () => {
    expect(parseTransaction({ xid: 2_000_000, pgXid: 4_294_967_295, changes: [change] })).toStrictEqual({ xid: 2_000_000, pgXid: 4_294_967_295, changes: [{ ...change, table: 'public.users' }] });
    expect(parseTransaction({ xid: 3, changes: [change] })).toStrictEqual({ xid: 3, changes: [{ ...change, table: 'public.users' }] });
  });

  it('refuses a pgXid that is no 32-bit transaction id', () => {
    for (const pgXid of [-1, 2 ** 32, 1.5, '731']) expect(() => parseTransaction({ xid: 3, pgXid, changes: [change] }), String(pgXid)).toThrow(/transaction 3: pgXid/);
  });
});
