/**
 * A transaction below the position is either a redelivery (recorded as applied: skipped) or out of
 * order (never applied: refused, with its line, or skipped and counted with --skip-out-of-order),
 * never called "already applied" when it is lost (issue 14 item 2). The record survives restarts
 * (the journal keeps it through its resets); the runtime refuses out-of-order ones to any caller.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createShapeRuntime } from '../../src/runtime/index.ts';
import { MemoryStorage } from '../../src/storage/index.ts';
import { cli } from '../helpers/run-cli.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();
const line = (xid: number) => `${JSON.stringify({ xid, changes: [{ op: 'insert', table: 'public.t', row: { id: xid } }] })}\n`;

async function setUp(): Promise<{ dir: string; handle: string; file: (name: string, ...xids: number[]) => Promise<string> }> {
  const root = await tempDir();
  const dir = join(root, 'data');
  const added = JSON.parse((await cli('add', '--data-dir', dir, '--table', 'public.t', '--json')).stdout) as { handle: string };
  return { dir, handle: added.handle, file: async (name, ...xids) => {
    const path = join(root, name);
    await writeFile(path, xids.map(line).join(''));
    return path;
  } };
}

async function xidsInLog(dir: string, handle: string): Promise<string[]> {
  const log = JSON.parse((await cli('log', '--data-dir', dir, '--handle', handle, '--json')).stdout) as { entries: { key: string; xid: number }[] };
  return log.entries.map((e) => `${e.xid}`);
}

describe('apply: already applied vs out of order', () => {
  it('xid 9 after xid 10 is refused with its line, not "skipped 1 already applied"; across restarts too', async () => {
    const { dir, handle, file } = await setUp();
    expect(JSON.parse((await cli('apply', '--data-dir', dir, '--file', await file('ten.jsonl', 10), '--json')).stdout)).toMatchObject({ applied: 1, skipped: 0, outOfOrder: 0, position: 10 });
    const nine = await cli('apply', '--data-dir', dir, '--file', await file('nine.jsonl', 9));
    expect(nine.code).toBe(1);
    expect(nine.stderr).toMatch(/^shape-actors: .*nine\.jsonl: line 1: transaction 9: out of order: below the position 10 and never applied \(transactions must come in xid order\) \(0 earlier transactions applied, nothing after it; --skip-out-of-order skips such lines\)\n$/);
    expect(JSON.parse((await cli('apply', '--data-dir', dir, '--file', await file('nine.jsonl', 9), '--json')).stdout)).toMatchObject({ error: { code: 'out-of-order' } });
    // Sent again, 10 is recognised as applied (a redelivery) after each restart.
    expect(JSON.parse((await cli('apply', '--data-dir', dir, '--file', await file('again.jsonl', 10), '--json')).stdout)).toMatchObject({ applied: 0, skipped: 1, outOfOrder: 0 });
    expect(await xidsInLog(dir, handle)).toEqual(['10']);
  });

  it('in one file: a redelivered line is skipped, an out-of-order one stops the file there (earlier lines kept, later not sent) or, with --skip-out-of-order, is counted', async () => {
    const { dir, handle, file } = await setUp();
    expect((await cli('apply', '--data-dir', dir, '--file', await file('first.jsonl', 1, 2, 3))).stdout).toBe('Applied 3 transactions; position 3.\nShapes: 1 shape kept, 1 woke.\n');
    const mixed = await file('mixed.jsonl', 2, 4, 6, 5, 7);
    const stopped = await cli('apply', '--data-dir', dir, '--file', mixed, '--json');
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/mixed\.jsonl: line 4: transaction 5: out of order: below the position 6 and never applied .*\(2 earlier transactions applied, nothing after it/);
    expect(await xidsInLog(dir, handle)).toEqual(['1', '2', '3', '4', '6']);
    const skipping = JSON.parse((await cli('apply', '--data-dir', dir, '--file', mixed, '--skip-out-of-order', '--json')).stdout);
    expect(skipping).toMatchObject({ applied: 1, skipped: 3, outOfOrder: 1, position: 7 });
    expect(await xidsInLog(dir, handle)).toEqual(['1', '2', '3', '4', '6', '7']);
    const text = await cli('apply', '--data-dir', dir, '--file', mixed, '--skip-out-of-order');
    expect(text.stdout).toBe('Applied 0 transactions, skipped 4 already applied, skipped 1 out of order (never applied); position 7.\nShapes: 1 shape kept, 0 woke.\n');
    expect((await readdir(dir)).sort()).toContain('journal.jsonl');
  });

  it('the runtime refuses an out-of-order transaction to any caller, and skips a redelivered one', async () => {
    const storage = new MemoryStorage();
    const runtime = await createShapeRuntime({ storage });
    await runtime.add({ table: 'public.t' });
    const tx = (xid: number) => ({ xid, changes: [{ op: 'insert', table: 'public.t', row: { id: xid } }] });
    expect(await runtime.applyTransaction(tx(10))).toEqual({ xid: 10, status: 'applied' });
    await expect(runtime.applyTransaction(tx(9))).rejects.toMatchObject({ name: 'ShapeRuntimeError', code: 'out-of-order' });
    expect(await runtime.applyTransaction(tx(10))).toEqual({ xid: 10, status: 'skipped' });
    await runtime.shutdown();
    const again = await createShapeRuntime({ storage });
    await expect(again.applyTransaction(tx(9))).rejects.toMatchObject({ code: 'out-of-order' });
    expect(await again.applyTransaction(tx(10))).toEqual({ xid: 10, status: 'skipped' });
    await again.shutdown();
  });
});
