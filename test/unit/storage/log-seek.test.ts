import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { formatLogOffset, parseLogOffset, SNAPSHOT_END, BEFORE_ALL } from '../../../src/shapes/log-offset.ts';
import { FileStorage, type LogEntry, type StoredShape } from '../../../src/storage/index.ts';
import { encodeLogEntries } from '../../../src/storage/log-codec.ts';
import { useTempDirs } from '../../helpers/temp-dir.ts';

const tempDir = useTempDirs();
const shape: StoredShape = { handle: '111-1', definition: { table: 'public.items', replica: 'default' }, dependencyHandles: [], requested: true };
const entry = (xid: number, id: number): LogEntry => ({ xid, op: 'insert', key: `"${id}"`, row: { id, pad: 'p'.repeat(200) } });

describe('FileStorage reads a log page by seeking', () => {
  it('finds a late transaction without reading the start of the log (damage there goes unseen)', async () => {
    const s = new FileStorage(await tempDir());
    await s.createShape(shape, [entry(1, 0)]);
    const transactions: LogEntry[] = [];
    for (let xid = 2; xid < 3000; xid += 4) transactions.push(entry(xid, xid), entry(xid + 1, xid + 1));
    await s.appendLog('111-1', transactions);
    const file = s.layout.log('111-1');
    const text = await readFile(file, 'utf8');
    // Flip a byte in the second line (the first transaction): a scan would stop there as damage.
    const second = text.indexOf('\n') + 1;
    await writeFile(file, `${text.slice(0, second + 20)}X${text.slice(second + 21)}`);
    const page = await s.readLogPage('111-1', { after: parseLogOffset('2994_0')! });
    expect(page.entries.map((e) => formatLogOffset(e.offset))).toEqual(['2995_0', '2998_0', '2999_0']);
    expect(await s.logEnd('111-1')).toEqual(parseLogOffset('2999_0'));
    // Reading across the damage says so, naming the shape and the file.
    await expect(s.readLogPage('111-1', { after: SNAPSHOT_END })).rejects.toMatchObject({ code: 'corrupt', handle: '111-1', file });
  });

  it('leaves out a last line still being written', async () => {
    const s = new FileStorage(await tempDir());
    await s.createShape(shape);
    await s.appendLog('111-1', [entry(5, 1)]);
    await appendFile(s.layout.log('111-1'), encodeLogEntries([entry(6, 2)]).slice(0, 30));
    expect((await s.readLogPage('111-1', { after: SNAPSHOT_END })).entries.map((e) => e.entry)).toEqual([entry(5, 1)]);
    expect(await s.logEnd('111-1')).toEqual(parseLogOffset('5_0'));
  });

  it('reads a log written before snapshots were marked: entries of xid 0 are its snapshot, the rest transactions', async () => {
    const dir = await tempDir();
    const s = new FileStorage(dir);
    await s.createShape(shape);
    // The old format: the initial log unmarked (a shape created at position 0), then transactions.
    await writeFile(s.layout.log('111-1'), encodeLogEntries([entry(0, 1), entry(0, 2), entry(3, 3)]));
    const snapshot = await s.readLogPage('111-1', { after: BEFORE_ALL });
    expect(snapshot.entries.map((e) => formatLogOffset(e.offset))).toEqual(['0_0', '0_1']);
    expect(snapshot.next).toEqual(SNAPSHOT_END);
    expect((await s.readLogPage('111-1', { after: SNAPSHOT_END })).entries.map((e) => formatLogOffset(e.offset))).toEqual(['3_0']);
    expect((await s.readLog('111-1')).entries).toEqual([entry(0, 1), entry(0, 2), entry(3, 3)]);
  });

  it('marks the snapshot lines on disk, and readLog returns plain entries', async () => {
    const s = new FileStorage(await tempDir());
    await s.createShape(shape, [entry(4, 1)]);
    await s.appendLog('111-1', [entry(5, 2)]);
    const lines = (await readFile(s.layout.log('111-1'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l.slice(9)).snapshot)).toEqual([true, undefined]);
    expect((await s.readLog('111-1')).entries).toEqual([entry(4, 1), entry(5, 2)]);
  });
});
