/**
 * The shape log's lines: an entry of a transaction from Postgres keeps its Postgres transaction id
 * (`pgXid`, served as `txids`), and a line written before that field existed still reads, as an
 * entry without it (a data dir from before is read as it is, never rewritten).
 */
import { appendFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { encodeFramedLines } from '../../../src/storage/framed-lines.ts';
import { decodeLog, encodeLogEntries } from '../../../src/storage/log-codec.ts';
import { FileStorage, type LogEntry, type StoredShape } from '../../../src/storage/index.ts';
import { useTempDirs } from '../../helpers/temp-dir.ts';

const tempDir = useTempDirs();
const shape: StoredShape = { handle: '111-1', definition: { table: 'public.users', replica: 'default' }, dependencyHandles: [], requested: true };

describe('log codec: pgXid', () => {
  it('keeps an entry\'s pgXid through encode and decode, and adds none to an entry without one', () => {
    const entries: LogEntry[] = [
      { xid: 0, op: 'insert', key: '[1]', row: { id: 1 } },
      { xid: 2_000_000, pgXid: 4_294_967_295, op: 'update', key: '[1]', row: { id: 1, name: 'x' } },
      { xid: 2_000_000, pgXid: 4_294_967_295, op: 'delete', key: '[2]', row: { id: 2 } },
    ];
    const decoded = decodeLog(Buffer.from(encodeLogEntries(entries.slice(0, 1), { snapshot: true }) + encodeLogEntries(entries.slice(1))));
    expect(decoded.damage).toBeUndefined();
    expect(decoded.records).toStrictEqual(entries);
    expect('pgXid' in decoded.records[0]!).toBe(false);
  });

  it('reads a log line written before pgXid existed (no such field) beside one with it, whole and by page', async () => {
    const s = new FileStorage(await tempDir());
    await s.createShape(shape);
    // What the encoder wrote before: { xid, op, key, row } and nothing else.
    await appendFile(s.layout.log(shape.handle), encodeFramedLines([{ xid: 5, op: 'insert', key: '[1]', row: { id: 1 } }]));
    await s.appendLog(shape.handle, [{ xid: 9, pgXid: 731, op: 'update', key: '[1]', row: { id: 1, name: 'n' } }]);
    const whole = await s.readLog(shape.handle);
    expect(whole.damage).toBeUndefined();
    expect(whole.entries).toStrictEqual([
      { xid: 5, op: 'insert', key: '[1]', row: { id: 1 } },
      { xid: 9, pgXid: 731, op: 'update', key: '[1]', row: { id: 1, name: 'n' } },
    ]);
    const page = await s.readLogPage(shape.handle, { after: { tx: 0, op: Infinity }, maxBytes: 1 << 20 });
    expect(page.entries.map((e) => e.entry)).toStrictEqual(whole.entries);
  });

  it('takes a line whose pgXid is no number as a corrupt entry', () => {
    const decoded = decodeLog(Buffer.from(encodeFramedLines([{ xid: 5, pgXid: '731', op: 'insert', key: '[1]', row: { id: 1 } }, { xid: 6, op: 'delete', key: '[1]', row: { id: 1 } }])));
    expect(decoded.records).toEqual([]);
    expect(decoded.damage).toMatchObject({ kind: 'corrupt-entry', reason: expect.stringContaining('pgXid') });
  });
});
