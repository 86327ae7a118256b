import { describe, expect, it } from 'vitest';
import { BEFORE_ALL, compareLogOffsets, formatLogOffset, parseLogOffset, SNAPSHOT_END, type LogOffset } from '../../src/shapes/log-offset.ts';
import { StorageError, type LogEntry, type PositionedEntry, type ShapeStorage, type StoredShape } from '../../src/storage/index.ts';
import { rng } from '../helpers/crash-workload.ts';

const shape = (handle: string): StoredShape => ({ handle, definition: { table: 'public.items', replica: 'default' }, dependencyHandles: [], requested: true });
const insert = (xid: number, id: number): LogEntry => ({ xid, op: 'insert', key: `"${id}"`, row: { id, name: `row ${id}` } });
const at = (text: string): LogOffset => parseLogOffset(text)!;
const offsets = (entries: readonly PositionedEntry[]) => entries.map((e) => formatLogOffset(e.offset));

/** The offsets a log must have: snapshot entries 0_<k>, then per transaction <xid>_<k>. */
function expectedOffsets(snapshot: readonly LogEntry[], transactions: readonly LogEntry[]): PositionedEntry[] {
  const out: PositionedEntry[] = snapshot.map((entry, op) => ({ offset: { tx: 0, op }, entry }));
  let op = 0;
  transactions.forEach((entry, i) => {
    op = i > 0 && transactions[i - 1]!.xid === entry.xid ? op + 1 : 0;
    out.push({ offset: { tx: entry.xid, op }, entry });
  });
  return out;
}

/** Reading a log by page, from any offset: what the HTTP layer serves from. */
export function logPageConformance(name: string, open: () => Promise<ShapeStorage>): void {
  describe(`${name} log pages`, () => {
    const snapshot = [insert(3, 1), insert(3, 2), insert(3, 3), insert(3, 4), insert(3, 5)];
    const tx5 = [insert(5, 6), { xid: 5, op: 'update' as const, key: '"1"', row: { id: 1, name: 'one' } }];
    const tx7 = [{ xid: 7, op: 'delete' as const, key: '"2"', row: { id: 2 } }];
    const tx9 = [insert(9, 7), insert(9, 8), insert(9, 9)];

    async function filled(): Promise<ShapeStorage> {
      const s = await open();
      await s.createShape(shape('111-1'), snapshot);
      await s.appendLog('111-1', tx5);
      await s.appendLog('111-1', [...tx7, ...tx9]);
      return s;
    }

    it('serves the snapshot as 0_<k> up to 0_inf, then each transaction as <xid>_<k>', async () => {
      const s = await filled();
      const first = await s.readLogPage('111-1', { after: BEFORE_ALL });
      expect(offsets(first.entries)).toEqual(['0_0', '0_1', '0_2', '0_3', '0_4']);
      expect(first.entries.map((e) => e.entry)).toEqual(snapshot);
      expect(first).toMatchObject({ next: SNAPSHOT_END, snapshotEnded: true });
      const log = await s.readLogPage('111-1', { after: first.next });
      expect(offsets(log.entries)).toEqual(['5_0', '5_1', '7_0', '9_0', '9_1', '9_2']);
      expect(log.entries.map((e) => e.entry)).toEqual([...tx5, ...tx7, ...tx9]);
      expect(log).toMatchObject({ next: at('9_2'), snapshotEnded: false });
      const nothing = await s.readLogPage('111-1', { after: log.next });
      expect(nothing).toEqual({ entries: [], next: at('9_2'), snapshotEnded: false });
      expect(await s.logEnd('111-1')).toEqual(at('9_2'));
    });

    it('pages the snapshot by size, and never splits a transaction', async () => {
      const s = await filled();
      const seen: string[] = [];
      let after = BEFORE_ALL;
      for (let pages = 0; pages < 10; pages++) {
        const page = await s.readLogPage('111-1', { after, maxBytes: 1 });
        expect(page.entries).toHaveLength(1); // at least one entry, never more than fits
        seen.push(...offsets(page.entries));
        after = page.next;
        if (page.snapshotEnded) break;
      }
      expect(seen).toEqual(['0_0', '0_1', '0_2', '0_3', '0_4']);
      expect(after).toEqual(SNAPSHOT_END);
      const small = await s.readLogPage('111-1', { after, maxBytes: 1 });
      expect(offsets(small.entries)).toEqual(['5_0', '5_1']); // the whole transaction
      expect(offsets((await s.readLogPage('111-1', { after: small.next, maxBytes: 1 })).entries)).toEqual(['7_0']);
    });

    it('reads from inside a transaction, from <xid>_inf, and only up to throughXid', async () => {
      const s = await filled();
      expect(offsets((await s.readLogPage('111-1', { after: at('5_0') })).entries)).toEqual(['5_1', '7_0', '9_0', '9_1', '9_2']);
      expect(offsets((await s.readLogPage('111-1', { after: at('5_inf') })).entries)).toEqual(['7_0', '9_0', '9_1', '9_2']);
      expect(offsets((await s.readLogPage('111-1', { after: at('9_0') })).entries)).toEqual(['9_1', '9_2']);
      expect(offsets((await s.readLogPage('111-1', { after: at('6_0') })).entries)).toEqual(['7_0', '9_0', '9_1', '9_2']);
      expect(offsets((await s.readLogPage('111-1', { after: SNAPSHOT_END, throughXid: 8 })).entries)).toEqual(['5_0', '5_1', '7_0']);
      expect(offsets((await s.readLogPage('111-1', { after: at('0_2') })).entries)).toEqual(['0_3', '0_4']);
      expect(await s.logEnd('111-1', 8)).toEqual(at('7_0'));
      expect(await s.logEnd('111-1', 5)).toEqual(at('5_1'));
      expect(await s.logEnd('111-1', 4)).toEqual(SNAPSHOT_END);
    });

    it('an empty snapshot ends at once; a shape with no transaction ends at 0_inf', async () => {
      const s = await open();
      await s.createShape(shape('222-2'));
      expect(await s.readLogPage('222-2', { after: BEFORE_ALL })).toEqual({ entries: [], next: SNAPSHOT_END, snapshotEnded: true });
      expect(await s.logEnd('222-2')).toEqual(SNAPSHOT_END);
      await s.createShape(shape('333-3'), [insert(0, 1)]);
      expect(await s.logEnd('333-3')).toEqual(SNAPSHOT_END);
      await s.appendLog('222-2', [insert(4, 1)]);
      expect(offsets((await s.readLogPage('222-2', { after: SNAPSHOT_END })).entries)).toEqual(['4_0']);
      expect(await s.readLogPage('222-2', { after: BEFORE_ALL })).toMatchObject({ entries: [], snapshotEnded: true });
    });

    it('gives an entry the same offset after an undone batch is written again', async () => {
      const s = await filled();
      const before = await s.readLogPage('111-1', { after: SNAPSHOT_END });
      await s.rollbackLog('111-1', 5);
      await s.appendLog('111-1', [...tx7, ...tx9]);
      expect(await s.readLogPage('111-1', { after: SNAPSHOT_END })).toEqual(before);
    });

    it('agrees with the whole log at every offset of a long random log', async () => {
      const s = await open();
      const random = rng(7);
      const initial = Array.from({ length: 40 }, (_, i) => insert(2, i));
      await s.createShape(shape('444-4'), initial);
      const appended: LogEntry[] = [];
      let xid = 2;
      for (let batch = 0; batch < 60; batch++) {
        const entries: LogEntry[] = [];
        for (let t = 0; t < 1 + Math.floor(random() * 4); t++) {
          xid += 1 + Math.floor(random() * 1000);
          for (let k = 0; k < 1 + Math.floor(random() * 5); k++) entries.push({ xid, op: 'update', key: `"${k}"`, row: { id: k, pad: 'x'.repeat(Math.floor(random() * 3000)) } });
        }
        appended.push(...entries);
        await s.appendLog('444-4', entries);
      }
      const all = expectedOffsets(initial, appended);
      expect((await s.readLog('444-4')).entries).toEqual([...initial, ...appended]);
      for (let probe = 0; probe < 40; probe++) {
        const from = Math.floor(random() * all.length);
        const after = all[from]!.offset;
        const page = await s.readLogPage('444-4', { after, maxBytes: 20_000 });
        const expected = all.filter((e) => compareLogOffsets(e.offset, after) > 0 && (after.tx > 0 || e.offset.tx === 0));
        expect(page.entries.length).toBeGreaterThan(0);
        expect(page.entries).toEqual(expected.slice(0, page.entries.length));
        const last = page.entries.at(-1)!.offset;
        const following = expected[page.entries.length];
        if (following && last.tx > 0) expect(following.offset.tx).not.toBe(last.tx); // whole transactions
      }
      expect(await s.logEnd('444-4')).toEqual(all.at(-1)!.offset);
      const middle = appended[Math.floor(appended.length / 2)]!.xid;
      expect(await s.logEnd('444-4', middle)).toEqual(all.filter((e) => e.offset.tx > 0 && e.offset.tx <= middle).at(-1)!.offset);
    });

    it('names the shape when it has no storage', async () => {
      const s = await open();
      for (const call of [() => s.readLogPage('9-9', { after: BEFORE_ALL }), () => s.logEnd('9-9')]) {
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StorageError);
        expect((error as StorageError).code).toBe('not-found');
        expect((error as StorageError).handle).toBe('9-9');
      }
    });
  });
}
