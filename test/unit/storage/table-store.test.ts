import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TableStore } from '../../../src/storage/rows/table-store.ts';
import { linkKey } from '../../../src/shapes/where/link-key.ts';
import { TransactionError } from '../../../src/shapes/transaction.ts';
import { useTempDirs } from '../../helpers/temp-dir.ts';

const tempDir = useTempDirs();
const tx = (xid: number, changes: { op: 'insert' | 'update' | 'delete'; table: string; row: Record<string, unknown> }[]) => ({ xid, changes });

describe('TableStore', () => {
  it('resolves keys and previous rows, merges updates, and survives a reopen', async () => {
    const dir = await tempDir();
    const store = await TableStore.open(dir);
    const first = store.apply(tx(1, [{ op: 'insert', table: 'public.u', row: { id: 1, a: 1, b: 1 } }]));
    expect(first).toEqual([{ op: 'insert', table: 'public.u', key: '[1]', row: { id: 1, a: 1, b: 1 }, oldRow: null }]);
    const second = store.apply(tx(2, [{ op: 'update', table: 'public.u', row: { id: 1, b: 2 } }]));
    expect(second[0]).toMatchObject({ op: 'update', row: { id: 1, a: 1, b: 2 }, oldRow: { id: 1, a: 1, b: 1 } });
    store.apply(tx(3, [{ op: 'insert', table: 'public.u', row: { id: 2, a: 5 } }, { op: 'delete', table: 'public.u', row: { id: 2 } }]));
    await store.flush();
    const reopened = await TableStore.open(dir);
    expect(reopened.lastXid).toBe(3);
    expect([...reopened.rows('public.u')]).toEqual([{ key: '[1]', row: { id: 1, a: 1, b: 2 } }]);
  });

  it('refuses a transaction with a row lacking its key, applying none of it', async () => {
    const store = await TableStore.open(null);
    expect(() => store.apply(tx(1, [{ op: 'insert', table: 'public.u', row: { id: 1 } }, { op: 'insert', table: 'public.u', row: { name: 'x' } }]))).toThrow(TransactionError);
    expect([...store.rows('public.u')]).toEqual([]);
    expect(store.lastXid).toBe(0);
  });

  it('uses declared key columns and records them; a different declaration later is refused', async () => {
    const dir = await tempDir();
    const store = await TableStore.open(dir, { keyColumns: { 'public.m': ['org', 'user'] } });
    const [change] = store.apply(tx(1, [{ op: 'insert', table: 'public.m', row: { org: 1, user: 2 } }]));
    expect(change!.key).toBe('[1,2]');
    await store.flush();
    expect((await TableStore.open(dir)).keyColumnsOf('public.m')).toEqual(['org', 'user']);
    await expect(TableStore.open(dir, { keyColumns: { 'public.m': ['id'] } })).rejects.toThrow(/recorded with key columns \(org, user\)/);
  });

  it('finds rows by link value through an index kept current', async () => {
    const store = await TableStore.open(null);
    store.apply(tx(1, [{ op: 'insert', table: 'public.u', row: { id: 1, org: 7 } }, { op: 'insert', table: 'public.u', row: { id: 2, org: 8 } }]));
    const seven = new Set([linkKey([7])!]);
    expect(store.rowsWithLinkValues('public.u', ['org'], seven).map((r) => r.key)).toEqual(['[1]']);
    store.apply(tx(2, [{ op: 'update', table: 'public.u', row: { id: 2, org: 7 } }, { op: 'delete', table: 'public.u', row: { id: 1 } }]));
    expect(store.rowsWithLinkValues('public.u', ['org'], seven).map((r) => r.key)).toEqual(['[2]']);
    expect(store.rowsWithLinkValues('public.u', ['org'], new Set([linkKey(['7'])!])).map((r) => r.key)).toEqual(['[2]']);
  });

  it('cuts a torn last line on open (an append that never completed)', async () => {
    const dir = await tempDir();
    const store = await TableStore.open(dir);
    store.apply(tx(1, [{ op: 'insert', table: 'public.u', row: { id: 1 } }]));
    await store.flush();
    const file = join(dir, 'tables', 'public.u.jsonl');
    await appendFile(file, '1234abcd\t{"xid":2,"op":"ins');
    const reopened = await TableStore.open(dir);
    expect(reopened.lastXid).toBe(1);
    expect((await readFile(file, 'utf8')).endsWith('\n')).toBe(true);
  });
});
