/**
 * Found by the kill harness (seed 6002): a crash mid-way through appending a
 * journal `commit` left a torn last line. Restore treated it (rightly) as "not
 * committed" and redid the batch, but left the torn bytes in place, so the
 * redo's `prepare` was appended onto the same line. The next restore read that
 * merged line as damage in the middle of the journal, stopped there, took the
 * old `prepare` before it for the batch in doubt, and rolled every shape log
 * and the row store back to that old position: acknowledged transactions lost.
 */
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createShapeRuntime } from '../../src/runtime/index.ts';
import { encodeJournalRecord } from '../../src/storage/journal-codec.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();
const tx = (xid: number, id: number) => ({ xid, changes: [{ op: 'insert', table: 'public.users', row: { id, status: 1 } }] });

describe('journal torn by a crash mid-commit', () => {
  it('is cut back on restore, so later crashes never undo acknowledged batches', async () => {
    const dir = await tempDir();
    const first = await createShapeRuntime({ dataDir: dir });
    const shape = await first.add({ table: 'public.users', where: 'status = 1' });
    await first.applyTransaction(tx(1, 1));
    await first.applyTransaction(tx(2, 2));
    first.actor.stop(); // crash (no backup)
    await new Promise((r) => setTimeout(r, 10));
    // The crash tore the last commit: keep half of its line.
    const journal = join(dir, 'journal.jsonl');
    const text = await readFile(journal, 'utf8');
    const lastLine = text.slice(text.lastIndexOf('\n', text.length - 2) + 1);
    expect(lastLine).toBe(encodeJournalRecord({ kind: 'commit', position: 2 }));
    await truncate(journal, text.length - Math.ceil(lastLine.length / 2));

    // Restart: batch 2 is redone; then two more transactions are acknowledged; then a crash.
    const second = await createShapeRuntime({ dataDir: dir });
    expect(await second.applyTransaction(tx(3, 3))).toEqual({ xid: 3, status: 'applied' });
    expect(await second.applyTransaction(tx(4, 4))).toEqual({ xid: 4, status: 'applied' });
    second.actor.stop();
    await new Promise((r) => setTimeout(r, 10));

    const third = await createShapeRuntime({ dataDir: dir });
    await third.checkpoint();
    expect(third.position()).toBe(4);
    const keys = (await third.readLog(shape.handle)).map((e) => [e.xid, e.key]);
    expect(keys).toEqual([
      [1, '[1]'],
      [2, '[2]'],
      [3, '[3]'],
      [4, '[4]'],
    ]);
    expect(await third.applyTransaction(tx(4, 4))).toEqual({ xid: 4, status: 'skipped' });
    await third.shutdown();
  });

  it('a journal already damaged in the middle: the last whole record decides, and the damage is reported', async () => {
    const dir = await tempDir();
    const first = await createShapeRuntime({ dataDir: dir });
    const shape = await first.add({ table: 'public.users', where: 'status = 1' });
    await first.applyTransaction(tx(1, 1));
    await first.applyTransaction(tx(2, 2));
    first.actor.stop();
    await new Promise((r) => setTimeout(r, 10));
    // What the bug above left: a torn record merged with the next one, whole records after it.
    const journal = join(dir, 'journal.jsonl');
    const lines = (await readFile(journal, 'utf8')).split('\n').filter(Boolean);
    const merged = `${lines[1]!.slice(0, 12)}${lines[2]}`;
    await writeFile(journal, [lines[0], merged, ...lines.slice(3)].map((l) => `${l}\n`).join(''));

    const second = await createShapeRuntime({ dataDir: dir });
    await second.checkpoint();
    expect(second.position()).toBe(2);
    expect((await second.readLog(shape.handle)).map((e) => e.xid)).toEqual([1, 2]);
    expect(second.report.problems.some((p) => p.file.includes('journal') && /line 2/.test(p.reason))).toBe(true);
    await second.shutdown();
  });
});

describe('journal cut back to an older prepare (damage, not a crash)', () => {
  it('does not undo batches committed after it: the row store shows later transactions, so that prepare is stale', async () => {
    const dir = await tempDir();
    const first = await createShapeRuntime({ dataDir: dir });
    const shape = await first.add({ table: 'public.users', where: 'status = 1' });
    for (let xid = 1; xid <= 4; xid++) await first.applyTransaction(tx(xid, xid));
    first.actor.stop();
    await new Promise((r) => setTimeout(r, 10));
    // Keep the journal only up to (and including) the prepare of transaction 2.
    const journal = join(dir, 'journal.jsonl');
    const lines = (await readFile(journal, 'utf8')).split('\n').filter(Boolean);
    await writeFile(journal, lines.slice(0, 3).map((l) => `${l}\n`).join(''));

    const second = await createShapeRuntime({ dataDir: dir });
    await second.checkpoint();
    expect(second.position()).toBe(4);
    expect((await second.readLog(shape.handle)).map((e) => e.xid)).toEqual([1, 2, 3, 4]);
    expect(second.report.problems.some((p) => p.file.includes('journal') && /stale|lost/.test(p.reason))).toBe(true);
    await second.shutdown();
  });
});
