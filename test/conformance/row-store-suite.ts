import { columnType } from '../../src/shapes/column-types.ts';
import { describe, expect, it } from 'vitest';
import { StorageError, type ShapeStorage } from '../../src/storage/index.ts';
import type { KeyedRow, RowSelection, RowStore } from '../../src/storage/rows/row-store.ts';
import { COMPACTION_SLACK, TableStore } from '../../src/storage/rows/table-store.ts';
import { KeyColumnsChangedError } from '../../src/storage/rows/key-columns-changed-error.ts';
import { CountedLinkSet } from '../../src/live/counted-link-set.ts';
import { parseWhere } from '../../src/shapes/where/parse.ts';
import { loadSqlParser } from '../../src/shapes/where/sql-parser.ts';
import { linkKey } from '../../src/shapes/where/link-key.ts';
import { TransactionError } from '../../src/shapes/transaction.ts';

type Op = 'insert' | 'update' | 'delete';
const tx = (xid: number, changes: { op: Op; table: string; row: Record<string, unknown> }[]) => ({ xid, changes });
const insert = (xid: number, table: string, row: Record<string, unknown>) => tx(xid, [{ op: 'insert', table, row }]);

async function all(rows: AsyncIterable<KeyedRow>): Promise<string[]> {
  const keys: string[] = [];
  for await (const r of rows) keys.push(r.key);
  return keys.sort();
}

async function snapshotKeys(store: RowStore, table: string, where: string | undefined, dependencies: RowSelection['dependencies'] = []): Promise<string[]> {
  await loadSqlParser();
  return all(store.snapshot(table, { ...(where ? { where: parseWhere(where).expr } : {}), dependencies }));
}

/** The behaviour the embedded row store has over every TableFiles backend (a storage's `tables`). */
export function rowStoreConformance(name: string, open: () => Promise<ShapeStorage>): void {
  describe(`${name} row store conformance`, () => {
    it('resolves keys and previous rows, merges updates, and survives a reopen', async () => {
      const s = await open();
      const store = await TableStore.open(s.tables);
      const first = store.apply(insert(1, 'public.u', { id: 1, a: 1, b: 1 }));
      expect(first).toEqual([{ op: 'insert', table: 'public.u', key: '[1]', row: { id: 1, a: 1, b: 1 }, oldRow: null }]);
      const second = store.apply(tx(2, [{ op: 'update', table: 'public.u', row: { id: 1, b: 2 } }]));
      expect(second[0]).toMatchObject({ op: 'update', row: { id: 1, a: 1, b: 2 }, oldRow: { id: 1, a: 1, b: 1 } });
      store.apply(tx(3, [{ op: 'insert', table: 'public.u', row: { id: 2, a: 5 } }, { op: 'delete', table: 'public.u', row: { id: 2 } }]));
      await store.flush();
      const reopened = await TableStore.open(s.tables);
      expect(reopened.position).toBe(3);
      expect([...reopened.rows('public.u')]).toEqual([{ key: '[1]', row: { id: 1, a: 1, b: 2 } }]);
      expect(reopened.problems).toEqual([]);
      expect([...(await s.tables.recordedTables())]).toEqual(['public.u']);
    });

    it('refuses a transaction with a row lacking its key, applying none of it', async () => {
      const store = await TableStore.open((await open()).tables);
      expect(() => store.apply(tx(1, [{ op: 'insert', table: 'public.u', row: { id: 1 } }, { op: 'insert', table: 'public.u', row: { name: 'x' } }]))).toThrow(TransactionError);
      expect([...store.rows('public.u')]).toEqual([]);
      expect(store.position).toBe(0);
    });

    it('uses declared key columns and records them; a different declaration later is refused', async () => {
      const s = await open();
      const store = await TableStore.open(s.tables, { keyColumns: { 'public.m': ['org', 'user'] } });
      const [change] = store.apply(insert(1, 'public.m', { org: 1, user: 2 }));
      expect(change!.key).toBe('[1,2]');
      await store.flush();
      expect((await TableStore.open(s.tables)).keyColumnsOf('public.m')).toEqual(['org', 'user']);
      const refused = TableStore.open(s.tables, { keyColumns: { 'public.m': ['id'] } });
      await expect(refused).rejects.toThrow(/recorded with key columns \(org, user\), not \(id\)/);
      await expect(refused).rejects.toMatchObject({ code: 'key-columns-changed', table: 'public.m', recorded: ['org', 'user'], declared: ['id'] });
      const reopened = await TableStore.open(s.tables);
      expect(() => reopened.declareKeyColumns('public.m', ['user', 'org'])).toThrow(KeyColumnsChangedError); // the order is the key
      reopened.declareKeyColumns('public.m', ['org', 'user']);
    });

    it('finds rows by link value through an index kept current', async () => {
      const store = await TableStore.open((await open()).tables);
      store.apply(tx(1, [{ op: 'insert', table: 'public.u', row: { id: 1, org: 7 } }, { op: 'insert', table: 'public.u', row: { id: 2, org: 8 } }]));
      const seven = new Set([linkKey([7])!]);
      const keys = async (values: ReadonlySet<string>) => (await store.rowsWithLinkValues('public.u', ['org'], values)).map((r) => r.key);
      expect(await keys(seven)).toEqual(['[1]']);
      store.apply(tx(2, [{ op: 'update', table: 'public.u', row: { id: 2, org: 7 } }, { op: 'delete', table: 'public.u', row: { id: 1 } }]));
      expect(await keys(seven)).toEqual(['[2]']);
      // the string '7' is text, not the number 7 (no declared types: values have their JSON type)
      expect(await keys(new Set([linkKey(['7'])!]))).toEqual([]);
    });

    it('keys link values in the declared column types, recorded with the table', async () => {
      const storage = await open();
      const store = await TableStore.open(storage.tables, { columnTypes: { 'public.u': { id: columnType('int4'), org: columnType('numeric') } } });
      store.apply(tx(1, [{ op: 'insert', table: 'public.u', row: { id: 1, org: '7.50' } }]));
      await store.flush();
      const reopened = await TableStore.open(storage.tables);
      expect(reopened.columnTypesOf('public.u')).toEqual({ id: { type: 'int4' }, org: { type: 'numeric' } });
      const keys = async (values: readonly unknown[]) => (await reopened.rowsWithLinkValues('public.u', ['org'], new Set(values.map((v) => linkKey([v])!)))).map((r) => r.key);
      expect(await keys([7.5])).toEqual(['[1]']);
      reopened.declareColumnTypes('public.u', { id: columnType('int4'), org: columnType('text') });
      expect(await keys([7.5])).toEqual([]);
      expect(await keys(['7.50'])).toEqual(['[1]']);
    });

    it('a snapshot reads the rows its equality, IN and subquery conditions name, and every row the where clause can match', async () => {
      const store = await TableStore.open((await open()).tables);
      store.apply(tx(1, [
        { op: 'insert', table: 'public.u', row: { id: 1, org: 7, active: true, name: 'a' } },
        { op: 'insert', table: 'public.u', row: { id: 2, org: '7', active: 't', name: 'b' } },
        { op: 'insert', table: 'public.u', row: { id: 3, org: 8, active: false, name: 'c' } },
        { op: 'insert', table: 'public.u', row: { id: 4, org: null, active: null, name: 'd' } },
      ]));
      expect(await snapshotKeys(store, 'public.u', undefined)).toEqual(['[1]', '[2]', '[3]', '[4]']);
      // Without declared types a value has its JSON type: the string '7' is text, not the number 7.
      expect(await snapshotKeys(store, 'public.u', 'org = 7')).toEqual(['[1]']);
      expect(await snapshotKeys(store, 'public.u', "org = '7'")).toEqual(['[1]', '[2]']);
      expect(await snapshotKeys(store, 'public.u', 'org IN (8, NULL) AND name = \'c\'')).toEqual(['[3]']);
      expect(await snapshotKeys(store, 'public.u', 'org = 7 OR org = 8 OR id = 1')).toEqual(['[1]', '[3]']);
      expect(await snapshotKeys(store, 'public.u', 'org = NULL')).toEqual([]);
      // A quoted literal takes each value's type: the boolean true, and the text 't'.
      expect(await snapshotKeys(store, 'public.u', "active = 't'")).toEqual(['[1]', '[2]']);
      expect(await snapshotKeys(store, 'public.u', 'org IS NULL')).toEqual(['[4]']);
      const values = new CountedLinkSet(['org']);
      values.apply([{ xid: 1, op: 'insert', key: '[9]', row: { org: 8 } }]);
      expect(await snapshotKeys(store, 'public.u', 'org IN (SELECT org FROM public.o)', [values])).toEqual(['[3]']);
    });

    it('cuts a torn last line on open (an append that never completed)', async () => {
      const s = await open();
      const store = await TableStore.open(s.tables);
      store.apply(insert(1, 'public.u', { id: 1 }));
      await store.flush();
      await s.tables.append('public.u.jsonl', '1234abcd\t{"xid":2,"op":"ins');
      const reopened = await TableStore.open(s.tables);
      expect(reopened.position).toBe(1);
      expect(reopened.problems).toEqual([expect.objectContaining({ action: 'repaired', reason: expect.stringMatching(/^line 2: .*cut back/) })]);
      expect((await s.tables.read('public.u.jsonl'))!.toString('utf8').endsWith('}\n')).toBe(true);
    });

    it('a bad line in the middle: every valid record after it kept, nothing cut, the table not trusted until the damage is cleared', async () => {
      const s = await open();
      const store = await TableStore.open(s.tables);
      for (let xid = 1; xid <= 3; xid++) store.apply(insert(xid, 'public.u', { id: xid, org: 1 }));
      await store.flush();
      const file = 'public.u.jsonl';
      const lines = (await s.tables.read(file))!.toString('utf8').split('\n');
      lines[1] = 'garbage';
      const damaged = lines.join('\n');
      await s.tables.replace(file, damaged);
      const reopened = await TableStore.open(s.tables);
      expect([...reopened.rows('public.u')].map((r) => r.key)).toEqual(['[1]', '[3]']);
      expect(reopened.position).toBe(3);
      expect(reopened.damage).toEqual([{ table: 'public.u', file: s.tables.pathOf(file), lines: [{ line: 2, reason: expect.any(String) }], kept: 2 }]);
      expect(reopened.problems).toEqual([expect.objectContaining({ action: 'kept', reason: expect.stringMatching(/line 2 unreadable.*2 valid record\(s\) kept \(none cut away\)/) })]);
      expect((await s.tables.read(file))!.toString('utf8')).toBe(damaged);
      const refused = await snapshotKeys(reopened, 'public.u', undefined).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(StorageError);
      expect((refused as StorageError).code).toBe('damaged');
      // Move-ins still answer from what was kept; new changes are applied and kept after the damage.
      expect((await reopened.rowsWithLinkValues('public.u', ['org'], new Set([linkKey([1])!]))).length).toBe(2);
      reopened.apply(insert(4, 'public.u', { id: 4, org: 1 }));
      await reopened.flush();
      await reopened.compact('batch');
      expect((await TableStore.open(s.tables)).damage).toHaveLength(1);
      await reopened.clearDamage('public.u', 'acknowledged');
      expect(reopened.damage).toEqual([]);
      expect(await snapshotKeys(reopened, 'public.u', undefined)).toEqual(['[1]', '[3]', '[4]']);
      const aside = (await s.tables.list()).filter((n) => n.startsWith(`${file}.damaged-acknowledged-`));
      expect(aside).toHaveLength(1);
      // The damaged log is kept beside, byte for byte (with what was appended after the damage).
      expect((await s.tables.read(aside[0]!))!.toString('utf8').startsWith(damaged)).toBe(true);
      const again = await TableStore.open(s.tables);
      expect(again.damage).toEqual([]);
      expect(again.problems).toEqual([]);
      expect([...again.rows('public.u')].map((r) => r.key)).toEqual(['[1]', '[3]', '[4]']);
      expect(again.position).toBe(4);
    });

    it('compaction folds a log that outgrew its rows into them; a reopen reads the same rows and position', async () => {
      const s = await open();
      const store = await TableStore.open(s.tables);
      let xid = 0;
      for (let round = 0; round < 30; round++) {
        for (let id = 1; id <= 100; id++) store.apply(tx(++xid, [{ op: 'update', table: 'public.u', row: { id, round } }]));
        await store.flush();
        await store.compact('batch');
      }
      store.apply(tx(++xid, [{ op: 'insert', table: 'public.t', row: { id: 1 } }]));
      store.apply(tx(++xid, [{ op: 'delete', table: 'public.t', row: { id: 1 } }]));
      await store.flush();
      const bytes = (await s.tables.read('public.u.jsonl'))!;
      const lines = bytes.toString('utf8').split('\n').length - 1;
      expect(lines).toBeLessThanOrEqual(2 * 100 + COMPACTION_SLACK + 1);
      const reopened = await TableStore.open(s.tables);
      expect(reopened.position).toBe(xid);
      expect([...reopened.rows('public.u')]).toEqual([...store.rows('public.u')]);
      expect([...reopened.rows('public.u')].every((r) => r.row.round === 29)).toBe(true);
      // A checkpoint (and a clean shutdown) leaves little more than the live rows for the next start.
      for (let id = 1; id <= 100; id++) store.apply(tx(++xid, [{ op: 'update', table: 'public.u', row: { id, round: 30 } }]));
      await store.flush();
      await store.compact('checkpoint');
      const after = (await s.tables.read('public.u.jsonl'))!.toString('utf8').split('\n').length - 1;
      expect(after).toBeLessThanOrEqual(100 + 100 / 8 + COMPACTION_SLACK + 1);
      expect([...(await TableStore.open(s.tables)).rows('public.u')].every((r) => r.row.round === 30)).toBe(true);
    });

    it('compaction keeps the position when the last change deleted every row', async () => {
      const s = await open();
      const store = await TableStore.open(s.tables);
      let xid = 0;
      for (let i = 0; i < COMPACTION_SLACK; i++) {
        store.apply(insert(++xid, 'public.t', { id: 1 }));
        store.apply(tx(++xid, [{ op: 'delete', table: 'public.t', row: { id: 1 } }]));
      }
      await store.flush();
      expect((await store.compact('batch')).map((c) => c.table)).toEqual(['public.t']);
      const reopened = await TableStore.open(s.tables);
      expect(reopened.position).toBe(2 * COMPACTION_SLACK);
      expect([...reopened.rows('public.t')]).toEqual([]);
    });

    it('rollback undoes the transactions after a position, on disk', async () => {
      const s = await open();
      const store = await TableStore.open(s.tables);
      for (let xid = 1; xid <= 5; xid++) store.apply(tx(xid, [{ op: 'update', table: xid % 2 ? 'public.a' : 'public.b', row: { id: 1, xid } }]));
      await store.flush();
      await store.rollback(2);
      expect(store.position).toBe(2);
      const reopened = await TableStore.open(s.tables);
      expect(reopened.position).toBe(2);
      expect(reopened.get('public.a', '[1]')).toEqual({ id: 1, xid: 1 });
      expect(reopened.get('public.b', '[1]')).toEqual({ id: 1, xid: 2 });
    });

    it('read only: reports what a restore would repair, changes nothing, refuses to flush', async () => {
      const s = await open();
      const store = await TableStore.open(s.tables);
      store.apply(insert(1, 'public.u', { id: 1 }));
      await store.flush();
      await s.tables.append('public.u.jsonl', 'torn');
      const before = (await s.tables.read('public.u.jsonl'))!;
      const ro = await TableStore.open(s.tables, { readOnly: true });
      expect(ro.problems).toEqual([expect.objectContaining({ action: 'repaired' })]);
      expect((await s.tables.read('public.u.jsonl'))!.equals(before)).toBe(true);
      ro.apply(insert(2, 'public.u', { id: 2 }));
      await expect(ro.flush()).rejects.toThrow(/read only/);
    });

    it('an unusable or missing index is rebuilt from the table logs beside it', async () => {
      const s = await open();
      const store = await TableStore.open(s.tables);
      store.apply(tx(1, [{ op: 'insert', table: 'public.u', row: { id: 1 } }, { op: 'insert', table: 'public.v', row: { id: 2 } }]));
      await store.flush();
      for (const index of ['{"format":"shape-actors/tables@1","tab', JSON.stringify({ format: 'shape-actors/tables@1', tables: { 'public.u': { file: '../journal.jsonl', keyColumns: ['id'] } } })]) {
        await s.tables.replace('tables.json', index);
        const reopened = await TableStore.open(s.tables);
        expect(reopened.problems).toEqual([expect.objectContaining({ file: s.tables.pathOf('tables.json'), action: 'repaired' })]);
        expect(reopened.tables.slice().sort()).toEqual(['public.u', 'public.v']);
        expect(reopened.position).toBe(1);
        expect(await s.tables.recordedTables()).toEqual(new Set());
      }
    });
  });
}
