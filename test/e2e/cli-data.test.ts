import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/run-cli.ts';
import { useTempDirs } from '../helpers/temp-dir.ts';

const tempDir = useTempDirs();


const lines = (...txs: object[]) => txs.map((t) => JSON.stringify(t)).join('\n') + '\n';
const ins = (table: string, row: object) => ({ op: 'insert', table, row });

/** Replays a log the way a client would: the rows it ends with. */
function replay(entries: { op: string; key: string; row: Record<string, unknown> }[]): Map<string, Record<string, unknown>> {
  const rows = new Map<string, Record<string, unknown>>();
  for (const e of entries) {
    if (e.op === 'delete') rows.delete(e.key);
    else rows.set(e.key, e.op === 'update' ? { ...rows.get(e.key), ...e.row } : e.row);
  }
  return rows;
}

describe('apply, log, values', () => {
  it('applies a transaction file; logs replay to the rows; values are the dependency link values, sorted', async () => {
    const dir = await tempDir();
    const added = JSON.parse(
      (await cli('add', '--data-dir', dir, '--table', 'public.users', '--where', 'id IN (SELECT user_id FROM public.memberships WHERE org_id = 1)', '--json')).stdout,
    ) as { handle: string; dependencyHandles: string[] };
    const file = join(dir, '..', `${added.handle}.jsonl`);
    await writeFile(
      file,
      lines(
        { xid: 1, changes: [ins('users', { id: 3, name: 'c' }), ins('users', { id: 1, name: 'a' }), ins('users', { id: 2, name: 'b' })] },
        { xid: 2, changes: [ins('memberships', { id: 10, user_id: 3, org_id: 1 }), ins('memberships', { id: 11, user_id: 1, org_id: 1 }), ins('memberships', { id: 12, user_id: 2, org_id: 2 })] },
        { xid: 3, changes: [{ op: 'update', table: 'public.memberships', row: { id: 11, org_id: 2 } }, { op: 'update', table: 'users', row: { id: 3, name: 'C' } }] },
      ),
    );
    const applied = await cli('apply', '--data-dir', dir, '--file', file, '--json');
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ applied: 3, skipped: 0, position: 3 });

    const log = JSON.parse((await cli('log', '--data-dir', dir, '--handle', added.handle, '--json')).stdout) as { entries: { op: string; key: string; row: Record<string, unknown> }[] };
    expect(log.entries.map((e) => e.op)).toEqual(['insert', 'insert', 'update', 'delete']);
    expect([...replay(log.entries).values()]).toEqual([{ id: 3, name: 'C' }]);

    const values = JSON.parse((await cli('values', '--data-dir', dir, '--handle', added.dependencyHandles[0]!, '--json')).stdout);
    expect(values).toEqual({ values: [3], restore: expect.objectContaining({ removed: [], damagedTables: [] }) });

    // Applying the same file again changes nothing: every transaction is recognised.
    const again = JSON.parse((await cli('apply', '--data-dir', dir, '--file', file, '--json')).stdout);
    expect(again).toMatchObject({ applied: 0, skipped: 3 });
  });

  it('stops at a bad line, naming it and why; earlier transactions are kept, nothing of later ones applied', async () => {
    const dir = await tempDir();
    const added = JSON.parse((await cli('add', '--data-dir', dir, '--table', 'public.items', '--json')).stdout) as { handle: string };
    const file = join(dir, '..', `${added.handle}-bad.jsonl`);
    await writeFile(
      file,
      [
        JSON.stringify({ xid: 1, changes: [ins('items', { id: 1 })] }),
        '',
        JSON.stringify({ xid: 2, changes: [ins('items', { id: 2 }), ins('items', { name: 'no key' })] }),
        JSON.stringify({ xid: 3, changes: [ins('items', { id: 3 })] }),
      ].join('\n'),
    );
    const run = await cli('apply', '--data-dir', dir, '--file', file);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/line 3: transaction 2: changes\.1: row has no value for key column\(s\) id of public\.items/);
    const log = JSON.parse((await cli('log', '--data-dir', dir, '--handle', added.handle, '--json')).stdout) as { entries: { key: string }[] };
    expect(log.entries.map((e) => e.key)).toEqual(['[1]']);

    await writeFile(file, '{"xid": 4, "changes": [');
    const notJson = await cli('apply', '--data-dir', dir, '--file', file, '--json');
    expect(notJson.code).toBe(1);
    expect(JSON.parse(notJson.stdout).error.message).toMatch(/line 1: not JSON/);
  });

  it('uses declared key columns and refuses a values query on a shape without selected columns', async () => {
    const dir = await tempDir();
    const added = JSON.parse((await cli('add', '--data-dir', dir, '--table', 'public.m', '--columns', 'org', '--json')).stdout) as { handle: string };
    const file = join(dir, '..', `${added.handle}-keys.jsonl`);
    await writeFile(file, lines({ xid: 1, changes: [ins('m', { org: 7, usr: 1 }), ins('m', { org: 7, usr: 2 }), ins('m', { org: 5, usr: 1 })] }));
    expect((await cli('apply', '--data-dir', dir, '--file', file, '--key', 'm=org,usr')).code).toBe(0);
    expect(JSON.parse((await cli('values', '--data-dir', dir, '--handle', added.handle, '--json')).stdout)).toEqual({ values: [5, 7], restore: expect.objectContaining({ removed: [], damagedTables: [] }) });
    const plain = JSON.parse((await cli('add', '--data-dir', dir, '--table', 'public.n', '--json')).stdout) as { handle: string };
    const refused = await cli('values', '--data-dir', dir, '--handle', plain.handle);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/selects all columns/);
  });
});
